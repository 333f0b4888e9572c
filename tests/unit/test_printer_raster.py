"""The receipt as an image: the UI preview PNG and the raster print mode."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
import zxingcpp
from madoguchi_testing import shared_dir
from PIL import Image

from drivers.printer import EscposPrinter, preview_png
from drivers.printer.parser import decode
from drivers.printer.raster import find_font, render_image
from terminal.catalogue import Account, Catalogue
from terminal.errors import ConfigError
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


def vector_receipt(**kw: Any) -> Receipt:
    lines = VECTORS.read_text("utf-8").split("\n")[1:]
    e = next(json.loads(x) for x in lines if '"seq": 3,' in x)
    assert URL.endswith(f"/{e['terminal']}/{e['seq']}/{e['hash'][:16]}")
    kw.setdefault("qr_url", URL)
    header = ReceiptHeader("八戸市博物館")
    return build_receipt(e["body"], e["kind"], e["at"], e["terminal"], e["seq"], header,
                         CATALOGUE, **kw)  # fmt: skip


def qr_texts(image: Image.Image) -> list[str]:
    return [found.text for found in zxingcpp.read_barcodes(image)]


@pytest.mark.parametrize("width_px", [576, 384])
def test_preview_png_has_the_width_and_the_verification_qr(width_px: int) -> None:
    png = preview_png(vector_receipt(reprint=True), width_px=width_px)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(png))
    assert image.width == width_px
    assert 900 < image.height < 2000
    assert qr_texts(image) == [URL]


def test_preview_without_qr_has_none() -> None:
    image = Image.open(io.BytesIO(preview_png(vector_receipt(qr_url=None))))
    assert qr_texts(image) == []


def test_store_copy_image_is_taller() -> None:
    customer = render_image(vector_receipt())
    store = render_image(vector_receipt(), copy="store")
    assert store.height > customer.height


def test_logo_goes_on_top() -> None:
    logo = Image.new("RGBA", (1000, 100), (0, 0, 0, 255))
    image = render_image(vector_receipt(), logo=logo)
    assert image.getpixel((288, 20)) == 0  # scaled to fit the width, black
    assert image.height > render_image(vector_receipt()).height


def test_raster_mode_prints_the_same_qr() -> None:
    printer = EscposPrinter.from_config({"connection": "dummy", "mode": "raster",
                                         "copies": ["customer", "store"]})  # fmt: skip
    report = printer.print_receipt(vector_receipt())
    assert report.copies == 2 and report.replaced == ()
    printout = decode(printer.connection.output)
    assert len(printout.pages) == 2
    for page in printout.pages:
        assert page.lines == [] and page.qr == []  # nothing but the image
        image = page.raster()
        assert image is not None and image.width == 576
        assert qr_texts(image) == [URL]


def test_missing_font_is_a_clear_config_error() -> None:
    with pytest.raises(ConfigError, match="fonts-noto-cjk"):
        find_font("/nonexistent/font.ttc")
