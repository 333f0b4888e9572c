"""Devices seen from the UI: card reader, QR scanner and status pollers on worker threads.

The payment terminal's live prompts reach the screens through the ``prompt`` callback the
payment screen passes to ``Counter.pay_by_terminal`` (``Session.prompt.emit``)."""

from __future__ import annotations

from collections.abc import Callable

from terminal.ports import CardRemovedEvent, CardTapped
from ui.qt import QApplication, QObject
from ui.session import Session
from ui.workers import Poller

POLL_TIMEOUT_S = 0.2


def status_of(printer: object) -> str:
    """ok, warn or error from a PrinterStatus-like object."""
    if not getattr(printer, "known", True):
        return "ok"
    if not getattr(printer, "online", True) or getattr(printer, "paper_out", False) \
            or getattr(printer, "cover_open", False):
        return "error"
    return "warn" if getattr(printer, "paper_near_end", False) else "ok"


class Devices(QObject):
    """Starts the card reader, QR scanner and status pollers; stops them at shutdown."""

    def __init__(self, session: Session, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.pollers: list[Poller] = []
        ctx = session.context
        counter = session.counter
        session.device_status.emit("terminal", "ok" if counter.payment_terminal else "off", "")
        reader, scanner = ctx.card_reader, ctx.qr_scanner
        if reader is not None:
            self._poll("reader", lambda: reader.poll(POLL_TIMEOUT_S), self._card)
        if scanner is not None:
            self._poll("scanner", lambda: scanner.read(POLL_TIMEOUT_S), self._scan)
        if ctx.printer is not None or ctx.uploader is not None:
            poller = Poller(self._status, interval_s=ctx.status_interval_s, parent=self)
            poller.value.connect(self._statuses)
            self.pollers.append(poller)
        self.session.device_status.emit("reader", "ok" if reader is not None else "off", "")

    def _poll(self, device: str, read: Callable[[], object],
              slot: Callable[[object], None]) -> None:
        poller = Poller(read, parent=self)
        poller.value.connect(slot)
        status = "reader" if device == "reader" else ""
        if status:
            poller.fault.connect(lambda _e: self.session.device_status.emit(status, "error", ""))
            poller.healthy.connect(lambda: self.session.device_status.emit(status, "ok", ""))
        self.pollers.append(poller)

    def start(self) -> None:
        for poller in self.pollers:
            poller.start()

    def stop(self) -> None:
        for poller in self.pollers:
            poller.requestInterruption()
        for poller in self.pollers:
            poller.wait(5000)

    def _card(self, event: object) -> None:
        if isinstance(event, CardTapped):
            QApplication.beep()
            self.session.device_status.emit("reader", "ok", "")
            self.session.info("feedback.card")
        elif isinstance(event, CardRemovedEvent):
            self.session.device_status.emit("reader", "ok", "")
        self.session.card_event.emit(event)

    def _scan(self, code: object) -> None:
        QApplication.beep()
        self.session.qr_scanned.emit(str(code))

    def _status(self) -> dict[str, tuple[str, str]]:
        """Runs on the poller's thread: device status queries may block."""
        ctx, out = self.session.context, {}
        if ctx.printer is not None:
            try:
                out["printer"] = (status_of(ctx.printer.status()), "")
            except Exception:  # any failure to answer means: check the printer
                out["printer"] = ("error", "")
        if ctx.uploader is not None:
            pending = ctx.uploader.pending()
            state = "warn" if ctx.uploader.last_error() else "ok"
            out["network"] = (state, str(pending))
        return out

    def _statuses(self, value: object) -> None:
        assert isinstance(value, dict)
        for device, (state, detail) in value.items():
            self.session.device_status.emit(device, state, detail)
