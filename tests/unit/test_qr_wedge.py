"""Keyboard-wedge scanner read from a fake event device (input_event records in a file/FIFO)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from drivers.qr import self_test_scanner
from drivers.qr.scan_codec import EV_KEY, ScanFraming, ScanNoise
from drivers.qr.scanner import INPUT_EVENT, EvdevWedgeScanner
from drivers.qr.scanner_sim import WedgeSimulator, key_events
from terminal.errors import DeviceTimeout, DeviceUnavailable

CPM_CODE = "281234567890123456"  # an 18-digit customer-presented code


@pytest.fixture
def event_file(tmp_path: Path) -> Path:
    path = tmp_path / "event7"
    path.write_bytes(b"")
    return path


def test_codes_typed_into_an_event_file(event_file: Path) -> None:
    sim = WedgeSimulator(event_file)
    sim.scan(CPM_CODE)
    scanner = EvdevWedgeScanner(event_file)
    try:
        assert scanner.read(1.0) == CPM_CODE
        sim.scan("Mixed-Case_Code/42?")
        assert scanner.read(1.0) == "Mixed-Case_Code/42?"
        assert scanner.read(0.05) is None
    finally:
        scanner.close()


def test_record_split_across_writes(event_file: Path) -> None:
    records = key_events("AB\r")
    cut = INPUT_EVENT.size * 3 + 5
    sim = WedgeSimulator(event_file)
    scanner = EvdevWedgeScanner(event_file)
    sim.send(records[:cut])
    rest = threading.Timer(0.05, sim.send, args=(records[cut:],))
    rest.start()
    try:
        assert scanner.read(1.0) == "AB"
    finally:
        rest.join()
        scanner.close()


def test_partial_scan_then_timeout_is_a_clear_error(event_file: Path) -> None:
    sim = WedgeSimulator(event_file)
    scanner = EvdevWedgeScanner(event_file, inter_byte_gap=0.05)
    try:
        sim.send(key_events("12345"))  # no Enter: the scan was interrupted
        with pytest.raises(ScanNoise, match="partial"):
            scanner.read(0.2)
        sim.scan(CPM_CODE)
        assert scanner.read(1.0) == CPM_CODE  # the partial did not stick to the next code
    finally:
        scanner.close()


def test_unknown_keys_make_a_noisy_scan(event_file: Path) -> None:
    sim = WedgeSimulator(event_file)
    noise = INPUT_EVENT.pack(0, 0, EV_KEY, 240, 1)  # KEY_UNKNOWN
    sim.send(key_events("12") + noise + key_events("34\r") + key_events("OK\r"))
    scanner = EvdevWedgeScanner(event_file)
    try:
        with pytest.raises(ScanNoise):
            scanner.read(1.0)
        assert scanner.read(1.0) == "OK"
    finally:
        scanner.close()


def test_prefix_framing_over_the_wedge(event_file: Path) -> None:
    framing = ScanFraming(prefix=b"#", suffix=b"\r", require_prefix=True)
    WedgeSimulator(event_file, framing).scan("A1")
    scanner = EvdevWedgeScanner(event_file, framing)
    try:
        assert scanner.read(1.0) == "A1"
    finally:
        scanner.close()


def test_fifo_with_a_live_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "event-fifo"
    os.mkfifo(fifo)
    scanner = EvdevWedgeScanner(fifo)

    def type_later() -> None:
        time.sleep(0.1)
        WedgeSimulator(fifo).scan(CPM_CODE)

    writer = threading.Thread(target=type_later)
    writer.start()
    try:
        assert self_test_scanner(scanner, 2.0) == CPM_CODE
        with pytest.raises(DeviceTimeout, match="no code scanned"):
            self_test_scanner(scanner, 0.1)
    finally:
        writer.join()
        scanner.close()


def test_missing_device_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(DeviceUnavailable, match="cannot open"):
        EvdevWedgeScanner(tmp_path / "nope")
