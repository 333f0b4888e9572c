"""The merchant-presented QR through the QR gateway, for the payment screen.

"QR表示" asks the counter for a dynamic code (``Counter.show_qr``, on a worker), shows it on
the customer display, and polls ``Counter.poll_qr`` every ``qr_poll_interval_s`` seconds (a
QTimer on the GUI thread queues each poll on the runner, so the gateway is never asked from the
GUI thread) until the code is paid, declined or cancelled. The code waiting for payment is read
from the counter's state, so a code left by a crash can still be cancelled.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from terminal.errors import DomainError, PaymentDeclined
from ui.qt import QObject, QTimer

if TYPE_CHECKING:
    from ui.screens.payment import PaymentScreen


class QrFlow(QObject):
    """Show, poll and cancel the gateway's dynamic code of the open sale."""

    def __init__(self, screen: PaymentScreen) -> None:
        super().__init__(screen)
        self.screen = screen
        self.session = screen.session
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.poll)
        self.polling = False  # a poll is queued or running
        self.confirming = False  # the clerk asked: say so when it is not paid yet

    @property
    def enabled(self) -> bool:
        """Whether QR codes go through the gateway (else the static code and the terminal)."""
        return self.session.counter.qr_gateway is not None

    def waiting(self) -> str | None:
        """The ref of the code shown for the open sale that is waiting for payment."""
        return self.session.counter.qr_codes.waiting()

    def show(self, amount: int | None) -> None:
        counter = self.session.counter

        def job() -> tuple[str, bytes, int]:
            ref, text = counter.show_qr(amount)
            body = counter.qr_codes.pending(ref)[1]
            from drivers.qr.render import render_png  # qrcode + Pillow: loaded when needed

            return ref, render_png(text, box_size=10), int(body["amount"])

        def done(result: object) -> None:
            assert isinstance(result, tuple)
            _ref, png, shown = result
            self.session.update_customer(mode="qr", qr_png=png, remaining=shown)
            self.session.info("pay.qr_waiting")
            self.timer.start(max(50, int(self.session.context.qr_poll_interval_s * 1000)))
            self.screen.refresh()

        self.session.run(job, done, self.screen._failed, name="show_qr")

    def confirm(self) -> None:
        """The clerk's "QR入金確認": ask the gateway now."""
        self.confirming = True
        self.poll()

    def poll(self) -> None:
        ref = self.waiting()
        if ref is None:
            self.stop()
            return
        if self.polling or self.session.runner.busy:
            return  # the next tick asks again
        counter = self.session.counter
        self.polling = True

        def job() -> object:
            tender = counter.poll_qr(ref)
            if tender is None:
                return None
            payment = counter.payment()
            return counter.complete_sale(payment) if payment.is_settled else tender

        self.session.run(job, self._polled, self._poll_failed, name="poll_qr")

    def _polled(self, result: object) -> None:
        self.polling = False
        if result is None:
            if self.confirming:
                self.session.info("pay.qr_not_yet")
            self.confirming = False
            return
        self.confirming = False
        self.stop()
        self.screen._paid(result)

    def _poll_failed(self, exc: BaseException) -> None:
        self.polling = self.confirming = False
        if isinstance(exc, PaymentDeclined | DomainError):  # declined, expired, or gone
            self.stop()
            self.screen._failed(exc)
        else:  # the gateway did not answer this time: keep asking, say so once
            self.session.fail(exc)

    def stop(self) -> None:
        self.timer.stop()

    def cancel(self) -> None:
        """Withdraw the waiting code at the gateway (nothing stays charged for it)."""
        ref = self.waiting()
        if ref is None:
            return
        self.stop()
        counter = self.session.counter

        def done(_entry: object) -> None:
            self.session.info("pay.qr_cancelled")
            self.screen.refresh()
            self.screen._show_due()

        self.session.run(lambda: counter.cancel_qr(ref), done, self.screen._failed,
                         name="cancel_qr")
