"""The printer port this driver offers (proposed to replace ``terminal.ports.Printer``).

Proposed for ``terminal/ports.py``: ``ReceiptPrinter`` and ``PrinterStatus``; and for
``terminal/errors.py``: ``PrinterOffline``, ``PaperOut``, ``CoverOpen``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from drivers.printer.document import Copy
from drivers.printer.escpos_bytes import PrinterStatus
from drivers.printer.printer import PrintReport
from terminal.receipt import Receipt


class ReceiptPrinter(Protocol):
    """Prints a whole receipt or raises a ``DeviceError`` (never half a receipt silently)."""

    def print_receipt(
        self, receipt: Receipt, copies: Sequence[Copy] | None = None
    ) -> PrintReport: ...

    def status(self) -> PrinterStatus: ...

    def open_drawer(self) -> None: ...
