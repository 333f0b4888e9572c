"""Our ESC/POS against independent implementations: python-escpos's own command builders and
status helpers, and socat as a raw TCP 9100 sink (the setup python-escpos documents)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
from escpos.constants import QR_ECLEVEL_M  # type: ignore[import-untyped]
from escpos.printer import Dummy, Network  # type: ignore[import-untyped]
from PIL import Image

from drivers.printer import EscposPrinter, PrinterOffline
from drivers.printer import escpos_bytes as cmd
from drivers.printer.parser import decode
from drivers.printer.raster import to_raster
from drivers.printer.simulator import NetworkPrinterSimulator
from terminal.ports import ReceiptLine

URL = "https://madoguchi.example.jp/r/hachinohe-museum-01/3/b937219ad8f26be0"


def test_native_qr_bytes_match_python_escpos() -> None:
    dummy = Dummy()
    dummy.qr(URL, ec=QR_ECLEVEL_M, size=6, native=True)
    assert cmd.qr_code(URL, module_size=6, level="M") == dummy.output


def test_raster_bytes_match_python_escpos_image() -> None:
    image = Image.new("L", (40, 24), 255)
    for x in range(40):
        image.putpixel((x, x % 24), 0)
    ours = to_raster(image)
    dummy = Dummy()
    dummy.image(image, impl="bitImageRaster")
    assert cmd.raster_image(ours.rows, ours.width_bytes, ours.height) == dummy.output


def test_drawer_kick_is_python_escpos_pin2_with_the_customary_pulse() -> None:
    dummy = Dummy()
    dummy.cashdraw(2)  # ESC p 0 50 50: 100 ms on, 100 ms off
    assert cmd.drawer_kick()[:3] == dummy.output[:3] == b"\x1bp\x00"
    assert cmd.drawer_kick(on_ms=100, off_ms=100) == dummy.output


@pytest.mark.parametrize(
    ("paper_out", "near_end", "expected"), [(False, False, 2), (False, True, 1), (True, False, 0)]
)
def test_python_escpos_reads_the_simulator_status(
    paper_out: bool, near_end: bool, expected: int
) -> None:
    with NetworkPrinterSimulator(port=0) as sim:
        sim.state.paper_out, sim.state.paper_near_end = paper_out, near_end
        peer = Network(sim.host, port=sim.port, timeout=2)
        try:
            assert peer.paper_status() == expected
            assert peer.is_online() is not paper_out
        finally:
            peer.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.skipif(shutil.which("socat") is None, reason="needs socat (apt-get install socat)")
def test_socat_sink_receives_a_whole_job(tmp_path: Path) -> None:
    sink, port = tmp_path / "job.bin", _free_port()
    listen = f"TCP4-LISTEN:{port},bind=127.0.0.1,reuseaddr"
    socat = subprocess.Popen(["socat", "-u", listen, f"OPEN:{sink},creat"])
    printer = EscposPrinter.from_config({"connection": "network", "host": "127.0.0.1",
                                         "port": port, "check_status": False})  # fmt: skip
    lines = [ReceiptLine("領収書", double=True), ReceiptLine("合計 ￥1,600")]
    try:
        deadline = time.monotonic() + 5
        while True:  # until socat listens
            try:
                printer.print_lines(lines, URL)
                break
            except PrinterOffline:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        socat.wait(5)  # one session: socat ends when the printer closes the connection
    finally:
        if socat.poll() is None:
            socat.kill()
            socat.wait()
    page = decode(sink.read_bytes()).pages[0]
    assert "合計 ￥1,600" in page.lines and page.double == ["領収書"] and page.qr == [URL]
