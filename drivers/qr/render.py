"""Render a payload as a QR code image (``qrcode`` + Pillow)."""

from __future__ import annotations

import io

import qrcode  # type: ignore[import-untyped]
from PIL import Image
from qrcode.image.pil import PilImage  # type: ignore[import-untyped]

from terminal.errors import DeviceProtocolError


def render_image(payload: str, box_size: int = 8, border: int = 4) -> Image.Image:
    """A black-on-white QR code, error correction M, version chosen to fit ``payload``."""
    if not payload:
        raise DeviceProtocolError("cannot render an empty QR payload")
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M,
                         box_size=box_size, border=border)
    code.add_data(payload.encode("utf-8"))
    try:
        code.make(fit=True)
    except (qrcode.exceptions.DataOverflowError, ValueError) as exc:  # ValueError: version 41
        raise DeviceProtocolError(
            f"QR payload too long to render ({len(payload)} characters)") from exc
    image: Image.Image = code.make_image(image_factory=PilImage).get_image()
    return image


def render_png(payload: str, box_size: int = 8, border: int = 4) -> bytes:
    """PNG bytes of :func:`render_image`."""
    buffer = io.BytesIO()
    render_image(payload, box_size, border).save(buffer, format="PNG")
    return buffer.getvalue()


__all__ = ["render_image", "render_png"]
