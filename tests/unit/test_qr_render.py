"""QR rendering round trip through an independent decoder (zxing-cpp)."""

from __future__ import annotations

import io

import pytest
import zxingcpp
from PIL import Image

from drivers.qr import MerchantAccount, MerchantInfo, emv_payload_for, render_png
from drivers.qr.emv import decode_payload
from drivers.qr.render import render_image
from terminal.errors import DeviceProtocolError

MERCHANT = MerchantInfo(
    name="HACHINOHE CITY HALL", city="HACHINOHE", postal_code="0318686",
    accounts=(MerchantAccount(guid="jp.or.paymentsjapan",
                              fields=(("01", "0000000000001"), ("11", "0001"))),),
    terminal_label="MADO-01",
)


def read_png(png: bytes) -> list[str]:
    return [barcode.text for barcode in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]


@pytest.mark.parametrize("amount", [None, 1, 350, 12_345_678])
def test_emv_payload_survives_render_and_scan(amount: int | None) -> None:
    payload = emv_payload_for(MERCHANT, amount, reference="" if amount is None else "S-42-1")
    png = render_png(payload)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert read_png(png) == [payload]
    assert decode_payload(read_png(png)[0]).amount == amount


def test_render_image_is_a_pil_image_and_small_payloads_fit() -> None:
    image = render_image("https://qr.paypay.example/04-1", box_size=4, border=4)
    assert image.size[0] == image.size[1] >= 21 * 4
    assert read_png(render_png("https://qr.paypay.example/04-1")) == [
        "https://qr.paypay.example/04-1"]


def test_render_refuses_empty_and_oversized() -> None:
    with pytest.raises(DeviceProtocolError, match="empty"):
        render_png("")
    with pytest.raises(DeviceProtocolError, match="too long"):
        render_png("X" * 5000)
