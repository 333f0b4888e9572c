"""The printer adapter over python-escpos connections: config, errors, drawer, self test."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.printer import (
    EscposPrinter,
    PrinterConfig,
    PrinterDrawer,
    PrinterOffline,
    list_printers,
    self_test,
)
from drivers.printer.escpos_bytes import UNKNOWN_STATUS, drawer_kick
from drivers.printer.parser import decode
from terminal.errors import ConfigError, DeviceProtocolError, DeviceTimeout
from terminal.ports import ReceiptLine


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"connection": "bluetooth"}, "not one of usb, serial, network, file, dummy"),
        ({"connection": "network"}, "needs 'host'"),
        ({"connection": "usb", "vendor_id": 1208}, "needs 'product_id'"),
        ({"mode": "pdf"}, "'kanji'"),
        ({"paper": "112mm"}, "80mm, 58mm"),
        ({"colour": "red"}, "unknown keys"),
        ({"copies": ["customer", "office"]}, "'office'"),
        ({"connection": "network", "host": "h", "port": "ninety"}, "port must be an integer"),
        ({"timeout": 0}, "positive"),
    ],
)
def test_config_errors_say_what_to_fix(raw: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        PrinterConfig.from_dict(raw)


def test_config_defaults_follow_the_paper() -> None:
    narrow = PrinterConfig.from_dict({"paper": "58mm"})
    assert (narrow.columns, narrow.width_px) == (32, 384)
    usb = PrinterConfig.from_dict({"connection": "usb", "vendor_id": "0x04b8",
                                   "product_id": 0x0E15})  # fmt: skip
    assert usb.describe() == "usb printer 04b8:0e15"


def test_drawer_kick_bytes_on_the_wire() -> None:
    printer = EscposPrinter.from_config({"connection": "dummy"})
    PrinterDrawer(printer).open()
    assert printer.connection.output == drawer_kick() == b"\x1bp\x00\x19\xfa"


def test_print_lines_serves_the_current_port() -> None:
    printer = EscposPrinter.from_config({"connection": "dummy"})
    printer.print_lines([ReceiptLine("合計 ￥100")], "https://x/r/t/1/ab")
    page = decode(printer.connection.output).pages[0]
    assert "合計 ￥100" in page.lines and page.qr == ["https://x/r/t/1/ab"]


def test_self_test_prints_japanese_and_reports() -> None:
    printer = EscposPrinter.from_config({"connection": "dummy"})
    report = self_test(printer)
    assert "kanji mode, 42 columns" in report and "status unknown" in report
    text = decode(printer.connection.output).pages[0].text
    assert "漢字ひらがなカタカナ" in text and "ﾊﾝｶｸｶﾅ" in text and "【練習】" in text


def test_list_printers_is_a_list() -> None:
    assert all(name.startswith("usb:") for name in list_printers())


def test_missing_logo_fails_at_startup() -> None:
    with pytest.raises(ConfigError, match="logo"):
        EscposPrinter.from_config({"logo": "/nonexistent/logo.png"})


def test_regular_file_is_appended_and_status_unknown(tmp_path: Path) -> None:
    sink = tmp_path / "receipts.bin"
    printer = EscposPrinter.from_config({"connection": "file", "path": str(sink)})
    printer.print_lines([ReceiptLine("一")], None)
    printer.print_lines([ReceiptLine("二")], None)
    assert printer.status() == UNKNOWN_STATUS
    assert [p.lines for p in decode(sink.read_bytes()).pages] == [["一"], ["二"]]


def test_unreachable_printer_is_offline_with_advice() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    printer = EscposPrinter.from_config({"connection": "network", "host": "127.0.0.1",
                                         "port": port, "timeout": 1})  # fmt: skip
    with pytest.raises(PrinterOffline, match=r"cannot reach the network printer .*reprint"):
        printer.print_lines([ReceiptLine("x")], None)


@pytest.fixture
def mute_printer() -> Iterator[tuple[int, list[bytes]]]:
    """A TCP peer that accepts and answers every byte with ``answer`` (or nothing)."""
    server = socket.create_server(("127.0.0.1", 0))
    answers: list[bytes] = []
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.05)
        while not stop.is_set():
            try:
                client, _ = server.accept()
            except TimeoutError:
                continue
            with client:
                client.settimeout(0.05)
                while not stop.is_set():
                    try:
                        data = client.recv(64)
                    except TimeoutError:
                        continue
                    if not data:
                        break
                    if answers:
                        client.sendall(answers[0] * data.count(b"\x10\x04"))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], answers
    stop.set()
    thread.join()
    server.close()


def test_silent_printer_times_out(mute_printer: tuple[int, list[bytes]]) -> None:
    port, _ = mute_printer
    printer = EscposPrinter.from_config({"connection": "network", "host": "127.0.0.1",
                                         "port": port, "timeout": 0.2})  # fmt: skip
    with pytest.raises(DeviceTimeout, match="did not answer status query DLE EOT 1"):
        printer.status()


def test_garbage_status_is_a_protocol_error(mute_printer: tuple[int, list[bytes]]) -> None:
    port, answers = mute_printer
    answers.append(b"A")
    printer = EscposPrinter.from_config({"connection": "network", "host": "127.0.0.1",
                                         "port": port, "timeout": 0.5})  # fmt: skip
    with pytest.raises(DeviceProtocolError, match="not an ESC/POS status byte"):
        printer.status()
