"""ESC/POS receipt printer and cash drawer (python-escpos connections), and a simulator.

Layers: :mod:`escpos_bytes` (pure command bytes, status parsing) -> :mod:`document`
(receipt -> Kanji-mode job) and :mod:`raster` (receipt -> image, preview PNG) ->
:mod:`printer` (the adapter over USB, serial, network, file or Dummy). :mod:`simulator`
speaks the wire protocol (TCP 9100 or a pty) and decodes it with :mod:`parser`.
"""

from drivers.printer.config import PrinterConfig
from drivers.printer.errors import CoverOpen, PaperOut, PrinterOffline
from drivers.printer.escpos_bytes import PrinterStatus
from drivers.printer.printer import EscposPrinter, PrinterDrawer, PrintReport
from drivers.printer.raster import preview_png
from drivers.printer.tools import list_printers, self_test

__all__ = [
    "CoverOpen",
    "EscposPrinter",
    "PaperOut",
    "PrintReport",
    "PrinterConfig",
    "PrinterDrawer",
    "PrinterOffline",
    "PrinterStatus",
    "list_printers",
    "preview_png",
    "self_test",
]
