"""A serial (USB-CDC) 2D scanner over a real pty pair made by socat."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator

import pytest

from drivers.qr import self_test_scanner
from drivers.qr.scan_codec import ScanFraming, ScanNoise
from drivers.qr.scanner import SerialQrScanner
from drivers.qr.scanner_sim import SerialScannerSimulator, SocatPair
from terminal.errors import DeviceTimeout, DeviceUnavailable

pytestmark = pytest.mark.skipif(shutil.which("socat") is None, reason="socat not installed")

CPM_CODE = "281234567890123456"
STX = ScanFraming(prefix=b"\x02", suffix=b"\x03", require_prefix=True)


@pytest.fixture
def pair() -> Iterator[SocatPair]:
    with SocatPair() as pty_pair:
        yield pty_pair


def connect(pair: SocatPair, framing: ScanFraming | None = None,
            gap: float = 0.05) -> tuple[SerialQrScanner, SerialScannerSimulator]:
    # open the driver side first: pyserial flushes input on open
    scanner = SerialQrScanner(str(pair.host_end), framing, inter_byte_gap=gap)
    return scanner, SerialScannerSimulator(pair.scanner_end, framing)


def test_cr_terminated_scans(pair: SocatPair) -> None:
    scanner, sim = connect(pair)
    try:
        sim.scan(CPM_CODE)
        sim.scan("0002010102")
        assert scanner.read(2.0) == CPM_CODE
        assert scanner.read(2.0) == "0002010102"
        assert scanner.read(0.05) is None
    finally:
        scanner.close()
        sim.close()


def test_prefix_suffix_and_leading_noise(pair: SocatPair) -> None:
    scanner, sim = connect(pair, STX)
    try:
        sim.send(b"\x00\xff\xfe")  # line noise when the scanner powers up
        sim.scan("PAY-1")
        assert scanner.read(2.0) == "PAY-1"
        sim.send(b"NOPREFIX\x03")
        with pytest.raises(ScanNoise, match="prefix"):
            scanner.read(2.0)
        sim.scan("PAY-2")
        assert scanner.read(2.0) == "PAY-2"
    finally:
        scanner.close()
        sim.close()


def test_garbage_is_a_protocol_error_not_a_crash(pair: SocatPair) -> None:
    scanner, sim = connect(pair)
    try:
        sim.send(b"\x81\x82\x83\xfe\r" + b"12\x0734\r")
        with pytest.raises(ScanNoise, match="utf-8"):
            scanner.read(2.0)
        with pytest.raises(ScanNoise, match="control"):
            scanner.read(2.0)
        sim.scan(CPM_CODE)
        assert scanner.read(2.0) == CPM_CODE
    finally:
        scanner.close()
        sim.close()


def test_partial_then_timeout(pair: SocatPair) -> None:
    scanner, sim = connect(pair)
    try:
        sim.send(b"28123456")  # the scan was cut off: no terminator
        with pytest.raises(ScanNoise, match="partial"):
            scanner.read(0.3)
        sim.scan(CPM_CODE)
        assert scanner.read(2.0) == CPM_CODE
    finally:
        scanner.close()
        sim.close()


def test_slow_scanner_bytes_trickle_in(pair: SocatPair) -> None:
    scanner, sim = connect(pair, gap=0.3)
    data = ScanFraming().wrap(CPM_CODE)

    def trickle() -> None:
        for i in range(0, len(data), 4):
            sim.send(data[i:i + 4])
            threading.Event().wait(0.05)

    writer = threading.Thread(target=trickle)
    writer.start()
    try:
        assert self_test_scanner(scanner, 0.1) == CPM_CODE  # still arriving at the deadline
    finally:
        writer.join()
        scanner.close()
        sim.close()


def test_nothing_scanned(pair: SocatPair) -> None:
    scanner, sim = connect(pair)
    try:
        assert scanner.read(0.1) is None
        with pytest.raises(DeviceTimeout):
            self_test_scanner(scanner, 0.1)
    finally:
        scanner.close()
        sim.close()


def test_missing_port_is_unavailable(pair: SocatPair) -> None:
    with pytest.raises(DeviceUnavailable, match="cannot open"):
        SerialQrScanner(str(pair.directory / "nope"))


def test_unplugged_scanner_is_unavailable() -> None:
    pair = SocatPair().start()
    scanner, sim = connect(pair)
    sim.close()
    pair.stop()
    try:
        with pytest.raises(DeviceUnavailable, match="read failed"):
            scanner.read(1.0)
    finally:
        scanner.close()
