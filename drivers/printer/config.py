"""Printer configuration (a small dict from the kiosk config) and its python-escpos connection.

``{"connection": "network", "host": "192.168.0.50", "port": 9100, "mode": "kanji",
"paper": "80mm", "copies": ["customer", "store"], "logo": "/etc/madoguchi/logo.png"}``;
``connection`` is one of usb, serial, network, file, dummy.
"""

from __future__ import annotations

import os
import select
import socket
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal, cast

from escpos.exceptions import DeviceNotFoundError  # type: ignore[import-untyped]
from escpos.printer import Dummy, File, Network, Serial, Usb  # type: ignore[import-untyped]

from drivers.printer.document import PAPER_COLUMNS, PAPER_DOTS, Copy
from terminal.errors import ConfigError

Mode = Literal["kanji", "raster"]
CONNECTIONS: Final = ("usb", "serial", "network", "file", "dummy")
KEYS: Final = {
    "connection", "mode", "paper", "columns", "width_px", "copies", "logo", "font", "qr_size",
    "timeout", "host", "port", "path", "baudrate", "dsrdtr", "vendor_id", "product_id",
    "in_ep", "out_ep", "check_status",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class PrinterConfig:
    connection: str = "dummy"
    mode: Mode = "kanji"
    paper: str = "80mm"
    columns: int = 42
    width_px: int = 576
    copies: tuple[Copy, ...] = ("customer",)
    logo: str | None = None
    font: str | None = None
    qr_size: int = 6
    timeout: float = 3.0
    check_status: bool = True
    options: Mapping[str, Any] = field(default_factory=dict)  # connection parameters

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> PrinterConfig:
        return _parse(raw)

    def describe(self) -> str:
        """Where the printer is, for error messages: ``network printer 10.0.0.5:9100``."""
        o = self.options
        where = {
            "usb": f"{o.get('vendor_id', 0):04x}:{o.get('product_id', 0):04x}",
            "serial": f"{o.get('path')} @ {o.get('baudrate', 9600)} baud",
            "network": f"{o.get('host')}:{o.get('port', 9100)}",
            "file": str(o.get("path")),
            "dummy": "(in memory)",
        }[self.connection]
        return f"{self.connection} printer {where}"


def _fail(what: str) -> ConfigError:
    return ConfigError(f"printer config: {what}")


def _int(raw: Mapping[str, Any], key: str, default: int) -> int:
    value = raw.get(key, default)
    if isinstance(value, str):
        try:
            return int(value, 0)  # "0x04b8" for USB ids
        except ValueError:
            pass
    if not isinstance(value, int) or isinstance(value, bool):
        raise _fail(f"{key} must be an integer, got {value!r}")
    return value


def _copies(raw: Mapping[str, Any]) -> tuple[Copy, ...]:
    copies = raw.get("copies", ["customer"])
    if not isinstance(copies, list | tuple) or not copies:
        raise _fail(f"copies must be a non-empty list of 'customer'/'store', got {copies!r}")
    for copy in copies:
        if copy not in ("customer", "store"):
            raise _fail(f"copies: {copy!r} is neither 'customer' nor 'store'")
    return tuple(cast(Copy, c) for c in copies)


def _options(connection: str, raw: Mapping[str, Any]) -> dict[str, Any]:
    required = {"network": ("host",), "file": ("path",), "serial": ("path",),
                "usb": ("vendor_id", "product_id")}.get(connection, ())  # fmt: skip
    for key in required:
        if key not in raw:
            raise _fail(f"a {connection} printer needs {key!r}")
    options: dict[str, Any] = {k: raw[k] for k in ("host", "path") if k in raw}
    for key, default in (("port", 9100), ("baudrate", 9600), ("vendor_id", 0),
                         ("product_id", 0), ("in_ep", 0x82), ("out_ep", 0x01)):  # fmt: skip
        if key in raw:
            options[key] = _int(raw, key, default)
    if "dsrdtr" in raw:
        options["dsrdtr"] = bool(raw["dsrdtr"])
    return options


def _parse(raw: Mapping[str, Any]) -> PrinterConfig:
    unknown = set(raw) - KEYS
    if unknown:
        raise _fail(f"unknown keys {sorted(unknown)}; known: {sorted(KEYS)}")
    connection = raw.get("connection", "dummy")
    if connection not in CONNECTIONS:
        raise _fail(f"connection {connection!r} is not one of {', '.join(CONNECTIONS)}")
    mode, paper = raw.get("mode", "kanji"), raw.get("paper", "80mm")
    if mode not in ("kanji", "raster"):
        raise _fail(f"mode {mode!r} must be 'kanji' (Shift_JIS text) or 'raster' (image)")
    if paper not in PAPER_COLUMNS:
        raise _fail(f"paper {paper!r} must be one of {', '.join(PAPER_COLUMNS)}")
    columns = _int(raw, "columns", PAPER_COLUMNS[paper])
    if not 16 <= columns <= 64:
        raise _fail(f"columns {columns} out of range 16-64")
    timeout = raw.get("timeout", 3.0)
    if not isinstance(timeout, int | float) or timeout <= 0:
        raise _fail(f"timeout must be a positive number of seconds, got {timeout!r}")
    return PrinterConfig(
        connection=connection,
        mode=mode,
        paper=paper,
        columns=columns,
        width_px=_int(raw, "width_px", PAPER_DOTS[paper]),
        copies=_copies(raw),
        logo=raw.get("logo"),
        font=raw.get("font"),
        qr_size=_int(raw, "qr_size", 6),
        timeout=float(timeout),
        check_status=bool(raw.get("check_status", True)),
        options=_options(connection, raw),
    )


class FileConnection(File):  # type: ignore[misc]
    """python-escpos ``File``, but a character device (/dev/usb/lp0, a pty) is opened
    read-write so status can be read back; a regular file is appended to, never truncated."""

    def __init__(self, devfile: str, timeout: float) -> None:
        super().__init__(devfile)
        self.read_timeout = timeout
        self._fd: int | None = None

    def open(self, raise_not_found: bool = True) -> None:
        try:
            is_device = os.path.exists(self.devfile) and stat.S_ISCHR(
                os.stat(self.devfile).st_mode
            )
            if is_device:
                self._fd = os.open(self.devfile, os.O_RDWR | os.O_NOCTTY)
                device: Any = os.fdopen(self._fd, "r+b", buffering=0)
            else:
                self._fd = None
                device = open(self.devfile, "ab")  # noqa: SIM115 (closed in close())
        except OSError as exc:
            self.device = None
            raise DeviceNotFoundError(f"cannot open {self.devfile}: {exc}") from exc
        self.device = device

    def _raw(self, msg: bytes) -> None:
        device: Any = self.device
        view = memoryview(msg)
        while view:
            written = device.write(view)
            view = view[written or 0 :]
        device.flush()

    def drain(self) -> None:
        """Drop bytes already waiting (late status answers)."""
        while self._fd is not None and select.select([self._fd], [], [], 0)[0]:
            if not os.read(self._fd, 64):
                return

    def _read(self) -> bytes:
        if self._fd is None:
            raise NotImplementedError("a regular file cannot answer status queries")
        ready, _, _ = select.select([self._fd], [], [], self.read_timeout)
        return os.read(self._fd, 16) if ready else b""


class NetworkConnection(Network):  # type: ignore[misc]
    """python-escpos ``Network``, but a failed connect closes its socket (3.1 leaks it)."""

    def open(self, raise_not_found: bool = True) -> None:
        if self._device:
            self.close()
        try:
            device: Any = socket.create_connection((self.host, self.port), self.timeout)
        except OSError as exc:
            self.device = None
            raise DeviceNotFoundError(f"cannot connect to {self.host}:{self.port}: {exc}") from exc
        self.device = device


def build_connection(config: PrinterConfig) -> Any:
    """The python-escpos connection object (not opened yet)."""
    o = config.options
    if config.connection == "network":
        return NetworkConnection(o["host"], port=o.get("port", 9100), timeout=config.timeout)
    if config.connection == "serial":
        return Serial(o["path"], baudrate=o.get("baudrate", 9600), timeout=config.timeout,
                      dsrdtr=o.get("dsrdtr", True))  # fmt: skip
    if config.connection == "file":
        return FileConnection(o["path"], config.timeout)
    if config.connection == "usb":
        return Usb(o["vendor_id"], o["product_id"], timeout=int(config.timeout * 1000),
                   in_ep=o.get("in_ep", 0x82), out_ep=o.get("out_ep", 0x01))  # fmt: skip
    return Dummy()
