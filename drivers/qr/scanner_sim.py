"""Scanner simulators that speak the real wire: bytes into a pty, input_event records into
an event file. For tests and the demo; nothing here is used on a real counter.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

import serial  # type: ignore[import-untyped]

from drivers.qr.scan_codec import EV_KEY, KEY_PRESS, KEY_RELEASE, KeyDecoder, ScanFraming
from drivers.qr.scanner import INPUT_EVENT
from terminal.errors import DeviceUnavailable

EV_SYN = 0
KEY_LEFTSHIFT = 42


class SocatPair:
    """A null-modem pair of ptys (``socat pty,raw,echo=0,link=A pty,raw,echo=0,link=B``).

    ``scanner_end`` is where the simulated scanner writes, ``host_end`` is what the driver
    opens.
    """

    def __init__(self, directory: Path | None = None) -> None:
        self._own_dir = directory is None
        self.directory = Path(tempfile.mkdtemp(prefix="qr-pty-")) if directory is None \
            else directory
        self.scanner_end = self.directory / "scanner"
        self.host_end = self.directory / "host"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 5.0) -> SocatPair:
        socat = shutil.which("socat")
        if socat is None:
            raise DeviceUnavailable("socat is not installed (apt-get install socat)")
        self._process = subprocess.Popen(
            [socat, f"pty,raw,echo=0,link={self.scanner_end}",
             f"pty,raw,echo=0,link={self.host_end}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while not (self.scanner_end.exists() and self.host_end.exists()):
            if time.monotonic() > deadline or self._process.poll() is not None:
                self.stop()
                raise DeviceUnavailable("socat did not create the pty pair")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None
        if self._own_dir:
            shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> SocatPair:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


class SerialScannerSimulator:
    """Writes what a serial 2D scanner would send, to the scanner end of a pty pair."""

    def __init__(self, path: str | Path, framing: ScanFraming | None = None) -> None:
        self.framing = framing or ScanFraming()
        self._serial = serial.Serial(str(path), timeout=1)

    def send(self, data: bytes) -> None:
        self._serial.write(data)
        self._serial.flush()

    def scan(self, code: str) -> None:
        self.send(self.framing.wrap(code))

    def close(self) -> None:
        with contextlib.suppress(serial.SerialException, OSError):
            self._serial.close()


def key_events(text: str, decoder: KeyDecoder | None = None, when: float = 0.0) -> bytes:
    """``input_event`` records a keyboard wedge would produce typing ``text``."""
    decoder = decoder or KeyDecoder()
    sec, usec = int(when), int((when % 1) * 1_000_000)
    out = bytearray()

    def emit(ev_type: int, code: int, value: int) -> None:
        out.extend(INPUT_EVENT.pack(sec, usec, ev_type, code, value))

    for char in text:
        code, shift = decoder.key_for(char)
        if shift:
            emit(EV_KEY, KEY_LEFTSHIFT, KEY_PRESS)
        emit(EV_KEY, code, KEY_PRESS)
        emit(EV_SYN, 0, 0)
        emit(EV_KEY, code, KEY_RELEASE)
        if shift:
            emit(EV_KEY, KEY_LEFTSHIFT, KEY_RELEASE)
        emit(EV_SYN, 0, 0)
    return bytes(out)


class WedgeSimulator:
    """Appends input_event records to a fake event device (a regular file or a FIFO)."""

    def __init__(self, path: str | Path, framing: ScanFraming | None = None) -> None:
        self.path = Path(path)
        self.framing = framing or ScanFraming()

    def send(self, records: bytes) -> None:
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, records)
        finally:
            os.close(fd)

    def scan(self, code: str) -> None:
        text = self.framing.wrap(code).decode("ascii")
        self.send(key_events(text))


__all__ = ["SerialScannerSimulator", "SocatPair", "WedgeSimulator", "key_events"]
