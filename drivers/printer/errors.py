"""Printer errors: what the printer reported, and what the clerk should do.

They subclass the core's ``DeviceUnavailable`` so the counter can catch ``DeviceError``
without importing drivers (proposed: move these three into ``terminal/errors.py``).
"""

from __future__ import annotations

from terminal.errors import DeviceUnavailable


class PrinterOffline(DeviceUnavailable):
    """The printer is unreachable, offline or in error: nothing (more) was printed."""


class PaperOut(PrinterOffline):
    """The roll is empty: load paper, then reprint."""


class CoverOpen(PrinterOffline):
    """The printer cover is open: close it, then reprint."""
