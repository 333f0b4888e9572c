"""One printer contract, run over every wire: the network simulator through python-escpos
``Network``, and a pty-backed simulator through the ``file`` and ``serial`` connections."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import zxingcpp
from madoguchi_testing import shared_dir

from drivers.printer import CoverOpen, EscposPrinter, PaperOut, PrinterOffline
from drivers.printer.escpos_bytes import PrinterStatus, status_query
from drivers.printer.parser import Page
from drivers.printer.simulator import (
    NetworkPrinterSimulator,
    PrinterSimulator,
    PtyPrinterSimulator,
)
from terminal.catalogue import Account, Catalogue
from terminal.errors import DeviceError
from terminal.receipt import Receipt, ReceiptHeader, build_receipt

VECTORS = shared_dir() / "vectors" / "journal" / "valid.jsonl"
CATALOGUE = Catalogue(
    items=(),
    accounts=(
        Account("14-01-01", "一般会計", "八戸市", "T1234567890123"),
        Account("13-01-02", "一般会計", "八戸市", "T1234567890123"),
        Account("21-05-01", "特別会計", "八戸市ミュージアム売店"),
    ),
)
URL = "https://madoguchi.example.jp/r/hachinohe-museum-01/3/b937219ad8f26be0"
STATUS_QUERIES = status_query(1) + status_query(2) + status_query(4)


def receipt(**kw: Any) -> Receipt:
    lines = VECTORS.read_text("utf-8").split("\n")[1:]
    e = next(json.loads(x) for x in lines if '"seq": 3,' in x)
    return build_receipt(e["body"], e["kind"], e["at"], e["terminal"], e["seq"],
                         ReceiptHeader("八戸市博物館"), CATALOGUE, qr_url=URL, **kw)  # fmt: skip


@dataclass
class Rig:
    sim: PrinterSimulator
    config: dict[str, Any]

    def printer(self, **extra: Any) -> EscposPrinter:
        return EscposPrinter.from_config({**self.config, "timeout": 2, **extra})


@pytest.fixture(params=["network", "file-pty", "serial-pty"])
def rig(request: pytest.FixtureRequest) -> Iterator[Rig]:
    if request.param == "network":
        with NetworkPrinterSimulator(port=0) as net:
            yield Rig(net, {"connection": "network", "host": net.host, "port": net.port})
        return
    with PtyPrinterSimulator() as pty:
        kind = "file" if request.param == "file-pty" else "serial"
        yield Rig(pty, {"connection": kind, "path": pty.path, "baudrate": 115200})


def test_prints_the_whole_receipt(rig: Rig) -> None:
    report = rig.printer().print_receipt(receipt(reprint=True))
    assert report.status == PrinterStatus(online=True)
    [page] = rig.sim.wait_pages(1)
    assert "登録番号 T1234567890123" in page.text
    assert "10%対象 ￥250 (内消費税 ￥22)" in page.text
    assert page.double[0] == "【再発行】"
    assert page.qr == [URL]


def test_customer_and_store_copies(rig: Rig) -> None:
    rig.printer(copies=["customer", "store"]).print_receipt(receipt())
    customer, store = rig.sim.wait_pages(2)
    assert "【控え】" in store.double and "【控え】" not in customer.double


def test_status_ready(rig: Rig) -> None:
    assert rig.printer().status() == PrinterStatus(online=True)
    rig.sim.state.paper_near_end = True
    assert rig.printer().status().paper_near_end


def test_paper_out_raises_and_prints_nothing(rig: Rig) -> None:
    rig.sim.state.paper_out = True
    with pytest.raises(PaperOut, match="paper out; nothing was printed; load a new roll"):
        rig.printer().print_receipt(receipt())
    assert rig.sim.wait_received(len(STATUS_QUERIES)) == STATUS_QUERIES  # no print data sent
    assert rig.sim.pages == [] and rig.sim.rejected_bytes == 0
    assert isinstance(rig.printer().status(), PrinterStatus)


def test_cover_open_raises(rig: Rig) -> None:
    rig.sim.state.cover_open = True
    printer = rig.printer()
    assert printer.status().cover_open
    with pytest.raises(CoverOpen, match="close the cover"):
        printer.print_receipt(receipt())
    assert rig.sim.pages == []


def test_paper_running_out_during_the_job_is_reported(rig: Rig) -> None:
    def run_out(page: Page) -> None:
        rig.sim.state.paper_out = True

    rig.sim.on_page = run_out
    with pytest.raises(PaperOut, match="may be incomplete"):
        rig.printer().print_receipt(receipt())
    assert len(rig.sim.pages) == 1


def test_paper_near_end_still_prints(rig: Rig) -> None:
    rig.sim.state.paper_near_end = True
    report = rig.printer().print_receipt(receipt())
    assert report.status.paper_near_end and len(rig.sim.wait_pages(1)) == 1


def test_drawer_kick(rig: Rig) -> None:
    rig.printer().open_drawer()
    rig.sim.wait_received(5)
    assert rig.sim.printout.drawer_kicks == [(0, 25, 250)]


def test_unencodable_character(rig: Rig) -> None:
    report = rig.printer().print_receipt(receipt(addressee="𠮷田"))
    assert report.replaced == ("𠮷",)
    assert "〓田 様" in rig.sim.wait_pages(1)[0].lines


def test_raster_mode_on_the_wire(rig: Rig) -> None:
    rig.printer(mode="raster", paper="58mm").print_receipt(receipt())
    [page] = rig.sim.wait_pages(1)
    image = page.raster()
    assert image is not None and image.width == 384
    assert [found.text for found in zxingcpp.read_barcodes(image)] == [URL]


def test_errors_are_device_errors(rig: Rig) -> None:
    rig.sim.state.online = False
    with pytest.raises(PrinterOffline, match="offline") as caught:
        rig.printer().print_receipt(receipt())
    assert isinstance(caught.value, DeviceError)


def test_a_late_status_answer_is_not_misread(rig: Rig) -> None:
    rig.sim.state.paper_near_end = True
    printer = rig.printer()
    printer.connection.open()
    try:
        printer.connection._raw(status_query(4))  # an answer nobody reads...
        rig.sim.wait_received(3)
        time.sleep(0.05)
    finally:
        printer.connection.close()
    # ...unless the connection is still open; either way the next status is right.
    rig.sim.state.paper_near_end = False
    assert printer.status() == PrinterStatus(online=True)
