"""QR scanners that implement the ``QrScanner`` port: USB-CDC serial and keyboard wedge.

transport (serial port / evdev file) -> codec (``scan_codec``) -> adapter (``read``).
``read(timeout)`` returns the next code, ``None`` when nothing was scanned in time, or raises
``ScanNoise`` (a ``DeviceProtocolError``) for garbage or a partial scan; device failures are
``DeviceUnavailable``. It never lets a library exception through.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import select
import stat
import struct
import time
from collections import deque
from pathlib import Path

import serial  # type: ignore[import-untyped]

from drivers.qr.scan_codec import FrameSplitter, KeyDecoder, ScanFraming, ScanNoise, decode_frame
from terminal.errors import DeviceTimeout, DeviceUnavailable
from terminal.ports import QrScanner

INPUT_EVENT = struct.Struct("llHHi")  # struct input_event: timeval (long, long), type, code, value
EVIOCGRAB = 0x40044590  # _IOW('E', 0x90, int): exclusive grab, keys stop reaching the desktop


class FramedScanner:
    """Shared read loop: chunks from ``_read_chunk`` -> frames -> codes."""

    def __init__(self, framing: ScanFraming, inter_byte_gap: float = 0.15) -> None:
        self.framing = framing
        self.inter_byte_gap = inter_byte_gap
        self._splitter = FrameSplitter(framing)
        self._codes: deque[str | ScanNoise] = deque()  # in arrival order
        self._last_byte = 0.0

    def _read_chunk(self, timeout: float) -> bytes:
        raise NotImplementedError

    def read(self, timeout: float) -> str | None:
        deadline = time.monotonic() + max(timeout, 0.0)
        while not self._codes:
            now = time.monotonic()
            partial = self._splitter.pending
            if now >= deadline:
                if not partial:
                    return None
                if now - self._last_byte >= self.inter_byte_gap:
                    self._splitter.clear()
                    raise ScanNoise(f"partial scan ({len(partial)} bytes, no terminator): "
                                    "scan again")
            wait = min(deadline - now, 0.05) if partial else deadline - now
            chunk = self._read_chunk(max(wait, 0.001))
            if chunk:
                self._take(chunk)
        item = self._codes.popleft()
        if isinstance(item, ScanNoise):
            raise item
        return item

    def _take(self, chunk: bytes) -> None:
        now = time.monotonic()
        if self._splitter.pending and now - self._last_byte > self.inter_byte_gap:
            self._splitter.clear()  # a stale partial left between reads: line noise
        self._last_byte = now
        for raw in self._splitter.feed(chunk):
            if isinstance(raw, ScanNoise):
                self._codes.append(raw)
                continue
            try:
                code = decode_frame(self.framing, raw)
            except ScanNoise as exc:
                self._codes.append(exc)
                continue
            if code is not None:
                self._codes.append(code)

    def flush(self) -> None:
        """Forget buffered bytes and codes (between sales)."""
        self._splitter.clear()
        self._codes.clear()


class SerialQrScanner(FramedScanner):
    """A 2D scanner in USB-CDC (virtual COM port) mode, via pyserial."""

    def __init__(self, port: str, framing: ScanFraming | None = None, baudrate: int = 9600,
                 inter_byte_gap: float = 0.15) -> None:
        super().__init__(framing or ScanFraming(), inter_byte_gap)
        self.port = port
        try:
            self._serial = serial.Serial(port, baudrate=baudrate, timeout=0)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise DeviceUnavailable(f"QR scanner {port}: cannot open ({exc})") from exc

    def _read_chunk(self, timeout: float) -> bytes:
        try:
            ready, _, _ = select.select([self._serial.fileno()], [], [], timeout)
            if not ready:
                return b""
            data: bytes = self._serial.read(max(self._serial.in_waiting, 1))
            return data
        except (serial.SerialException, OSError, TypeError, ValueError) as exc:
            # pyserial raises TypeError when the port vanished under it (USB unplugged)
            raise DeviceUnavailable(f"QR scanner {self.port}: read failed ({exc})") from exc

    def flush(self) -> None:
        super().flush()
        with contextlib.suppress(serial.SerialException, OSError):
            self._serial.reset_input_buffer()

    def close(self) -> None:
        with contextlib.suppress(serial.SerialException, OSError):
            self._serial.close()


class EvdevWedgeScanner(FramedScanner):
    """A keyboard-wedge scanner read from ``/dev/input/eventN`` (raw ``input_event`` records).

    Works on a character device (grabbed exclusively so the codes do not also type into the
    UI), a FIFO or a regular file (tests, replays): at end of data it waits like ``tail -f``.
    """

    def __init__(self, path: str | Path, framing: ScanFraming | None = None,
                 grab: bool = True, inter_byte_gap: float = 0.15,
                 poll_interval: float = 0.01) -> None:
        super().__init__(framing or ScanFraming(), inter_byte_gap)
        self.path = str(path)
        self.poll_interval = poll_interval
        self._keys = KeyDecoder()
        self._partial_event = b""
        try:
            self._fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
        except OSError as exc:
            raise DeviceUnavailable(f"QR scanner {self.path}: cannot open ({exc})") from exc
        if grab and stat.S_ISCHR(os.fstat(self._fd).st_mode):
            try:
                fcntl.ioctl(self._fd, EVIOCGRAB, 1)
            except OSError as exc:
                os.close(self._fd)
                raise DeviceUnavailable(
                    f"QR scanner {self.path}: cannot grab (in use by another program? {exc})"
                ) from exc

    def _read_raw(self, timeout: float) -> bytes:
        try:
            ready, _, _ = select.select([self._fd], [], [], timeout)
            data = os.read(self._fd, INPUT_EVENT.size * 64) if ready else b""
        except BlockingIOError:
            data = b""
        except OSError as exc:
            if exc.errno == errno.ENODEV:
                raise DeviceUnavailable(f"QR scanner {self.path}: unplugged") from exc
            raise DeviceUnavailable(f"QR scanner {self.path}: read failed ({exc})") from exc
        if ready and not data:  # end of a file or FIFO without writer: wait for more
            time.sleep(min(self.poll_interval, timeout))
        return data

    def _read_chunk(self, timeout: float) -> bytes:
        data = self._partial_event + self._read_raw(timeout)
        whole = len(data) - len(data) % INPUT_EVENT.size
        self._partial_event = data[whole:]
        out = bytearray()
        for _sec, _usec, ev_type, code, value in INPUT_EVENT.iter_unpack(data[:whole]):
            out += self._keys.feed(ev_type, code, value)
        return bytes(out)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self._fd)


def self_test_scanner(scanner: QrScanner, timeout: float) -> str:
    """For ``madoguchi`` diagnostics: wait for one scan and return the code read.

    Raises DeviceTimeout when nothing was scanned in ``timeout`` seconds, ScanNoise for
    garbage, DeviceUnavailable when the scanner is gone.
    """
    code = scanner.read(timeout)
    if code is None:
        raise DeviceTimeout(f"QRコードが読み取られませんでした (no code scanned in {timeout:g} s)")
    return code


__all__ = ["INPUT_EVENT", "EvdevWedgeScanner", "FramedScanner", "SerialQrScanner",
           "self_test_scanner"]
