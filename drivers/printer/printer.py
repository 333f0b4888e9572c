"""The printer adapter: receipts, drawer and status over a python-escpos connection.

Every job is built completely first (encoding problems surface before a byte is sent),
the printer's status is checked, the job goes out in one write, and the status is checked
again. A printer that is offline, out of paper or open raises a :class:`DeviceError`
subclass with what to do; the counter keeps the sale and offers a reprint.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import serial  # type: ignore[import-untyped]
from escpos.exceptions import Error as EscposError  # type: ignore[import-untyped]
from PIL import Image

from drivers.printer import escpos_bytes as cmd
from drivers.printer.config import FileConnection, PrinterConfig, build_connection
from drivers.printer.document import Copy, Job, kanji_job, lines_job, raster_job
from drivers.printer.errors import CoverOpen, PaperOut, PrinterOffline
from drivers.printer.escpos_bytes import UNKNOWN_STATUS, PrinterStatus
from drivers.printer.raster import load_logo, logo_raster, render_image, to_raster
from terminal.errors import DeviceProtocolError, DeviceTimeout
from terminal.ports import ReceiptLine
from terminal.receipt import Receipt

log = logging.getLogger(__name__)
T = TypeVar("T")
LINK_ERRORS = (OSError, EscposError, serial.SerialException)
RETRY = "reprint the receipt from the sale (the sale itself is recorded)"


@dataclass(frozen=True, slots=True)
class PrintReport:
    """What a print did: copies, bytes sent, characters printed as 〓, status after."""

    copies: int
    size: int
    replaced: tuple[str, ...]
    status: PrinterStatus


def raise_for_status(status: PrinterStatus, where: str, after: bool = False) -> None:
    """Raise the error matching ``status`` (nothing when the printer is ready)."""
    lost = "the receipt may be incomplete; " if after else "nothing was printed; "
    if status.cover_open:
        raise CoverOpen(f"{where}: cover open; {lost}close the cover, then {RETRY}")
    if status.paper_out:
        raise PaperOut(f"{where}: paper out; {lost}load a new roll, then {RETRY}")
    if status.error:
        raise PrinterOffline(
            f"{where}: printer error (cutter jam or overheating?); {lost}"
            f"switch the printer off and on, then {RETRY}"
        )
    if not status.online:
        raise PrinterOffline(f"{where}: printer offline; {lost}check it, then {RETRY}")


class EscposPrinter:
    """Prints receipts (Kanji mode or raster), kicks the drawer and reads status."""

    def __init__(self, config: PrinterConfig, connection: Any = None) -> None:
        self.config = config
        self.connection = build_connection(config) if connection is None else connection
        self._logo: Image.Image | None = load_logo(config.logo) if config.logo else None
        self._lock = threading.Lock()
        self.where = config.describe()

    @classmethod
    def from_config(cls, raw: Mapping[str, Any]) -> EscposPrinter:
        return cls(PrinterConfig.from_dict(raw))

    # --- jobs --------------------------------------------------------------------------------

    def build_job(self, receipt: Receipt, copies: Sequence[Copy] | None = None) -> Job:
        """The complete job for ``receipt`` in this printer's mode (nothing is sent)."""
        cfg = self.config
        copies = tuple(copies or cfg.copies)
        if cfg.mode == "raster":
            pages = [
                to_raster(
                    render_image(receipt, cfg.width_px, cfg.columns, c, self._logo, cfg.font)
                )
                for c in copies
            ]
            return raster_job(pages)
        logo = logo_raster(self._logo, cfg.width_px) if self._logo is not None else None
        return kanji_job(receipt, cfg.columns, copies, logo, cfg.qr_size)

    def print_receipt(self, receipt: Receipt, copies: Sequence[Copy] | None = None) -> PrintReport:
        """Print ``receipt`` (each of ``copies``, default from the config) in one write."""
        job = self.build_job(receipt, copies)
        if job.replaced:
            log.warning(
                "receipt %s#%s: %s not in cp932, printed as 〓",
                receipt.terminal, receipt.seq, "".join(job.replaced),
            )  # fmt: skip
        status = self._run(lambda conn: self._send_checked(conn, job.data))
        return PrintReport(len(copies or self.config.copies), len(job.data), job.replaced, status)

    def print_lines(self, lines: list[ReceiptLine], qr: str | None) -> None:
        """The current ``terminal.ports.Printer`` port: already rendered lines."""
        job = lines_job(lines, qr, self.config.columns)
        self._run(lambda conn: self._send_checked(conn, job.data))

    def open_drawer(self) -> None:
        """Kick the cash drawer (ESC p 0 25 250) through the printer's DK port."""
        self._run(lambda conn: self._send(conn, cmd.drawer_kick()))

    def status(self) -> PrinterStatus:
        """Real-time status (DLE EOT 1, 2, 4); ``known=False`` on write-only connections."""
        return self._run(self._query)

    def close(self) -> None:
        with self._lock:
            self.connection.close()

    # --- transport ---------------------------------------------------------------------------

    def _run(self, action: Callable[[Any], T]) -> T:
        with self._lock:
            try:
                self.connection.open()
            except LINK_ERRORS as exc:
                raise PrinterOffline(
                    f"cannot reach the {self.where}: {_flat(exc)}; check power, cable and "
                    f"network, then {RETRY}"
                ) from exc
            try:
                return action(self.connection)
            finally:
                self.connection.close()

    def _send_checked(self, conn: Any, data: bytes) -> PrinterStatus:
        raise_for_status(self._query(conn), self.where)
        self._send(conn, data)
        after = self._query(conn)
        raise_for_status(after, self.where, after=True)
        return after

    def _send(self, conn: Any, data: bytes) -> None:
        try:
            conn._raw(data)
        except LINK_ERRORS as exc:
            raise PrinterOffline(
                f"sending to the {self.where} failed: {exc}; the receipt may be incomplete; "
                f"check the printer, then {RETRY}"
            ) from exc

    def _query(self, conn: Any) -> PrinterStatus:
        if not self.config.check_status:
            return UNKNOWN_STATUS
        self._drain(conn)
        answers = []
        for n in (cmd.STATUS_PRINTER, cmd.STATUS_OFFLINE_CAUSE, cmd.STATUS_PAPER):
            self._send(conn, cmd.status_query(n))
            try:
                data = self._read(conn)
            except NotImplementedError:
                return UNKNOWN_STATUS
            except (TimeoutError, serial.SerialTimeoutException) as exc:
                raise self._timeout(n) from exc
            except LINK_ERRORS as exc:
                raise PrinterOffline(f"reading status from the {self.where}: {exc}") from exc
            if not data:
                raise self._timeout(n)
            answers.append(data[-1])
        try:
            return cmd.parse_status(*answers)
        except DeviceProtocolError as exc:
            raise DeviceProtocolError(f"{self.where}: {exc}") from exc

    def _timeout(self, n: int) -> DeviceTimeout:
        return DeviceTimeout(
            f"the {self.where} did not answer status query DLE EOT {n} within "
            f"{self.config.timeout} s; is it switched on? (set check_status = false for "
            "printers that cannot answer)"
        )

    def _drain(self, conn: Any) -> None:
        """Drop answers that arrived late for an earlier query (they would be misread)."""
        device = conn.device
        try:
            if isinstance(device, socket.socket):
                device.setblocking(False)
                with contextlib.suppress(BlockingIOError):
                    while device.recv(64):
                        pass
            elif isinstance(device, serial.Serial):
                device.reset_input_buffer()
            elif isinstance(conn, FileConnection):
                conn.drain()
        except LINK_ERRORS as exc:
            raise PrinterOffline(f"the link to the {self.where} failed: {exc}") from exc
        finally:
            if isinstance(device, socket.socket):
                device.setblocking(True)

    def _read(self, conn: Any) -> bytes:
        device = conn.device
        if isinstance(device, socket.socket):
            device.settimeout(self.config.timeout)
            return device.recv(16)
        if isinstance(device, serial.Serial):
            device.timeout = self.config.timeout
            return bytes(device.read(1))
        return bytes(conn._read())


class PrinterDrawer:
    """The ``terminal.ports.CashDrawer`` port: a drawer on the printer's DK port."""

    def __init__(self, printer: EscposPrinter) -> None:
        self._printer = printer

    def open(self) -> None:
        self._printer.open_drawer()


def _flat(exc: BaseException) -> str:
    """An exception's text on one line (python-escpos puts newlines in its messages)."""
    return " ".join(str(exc).split())
