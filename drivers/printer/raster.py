"""A receipt as an image, drawn with Noto Sans CJK JP: for raster printing and the UI preview.

Same layout as the Kanji-mode print (:func:`drivers.printer.document.copy_lines`): the text
sits on a grid of half-width columns, drawn with the monospaced Noto Sans Mono CJK JP so that
right-aligned amounts line up exactly as on the printer.
"""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path
from typing import Final

import qrcode  # type: ignore[import-untyped]
from PIL import Image, ImageDraw, ImageFont
from qrcode.constants import ERROR_CORRECT_M  # type: ignore[import-untyped]

from drivers.printer.document import Copy, RasterImage, copy_lines
from terminal.errors import ConfigError
from terminal.receipt import Receipt, char_width, text_width

FONT_CANDIDATES: Final = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
)
MONO_JP_INDEX: Final = 5  # in NotoSansCJK-Regular.ttc: "Noto Sans Mono CJK JP"
MARGIN: Final = 8
Font = ImageFont.FreeTypeFont


def find_font(path: str | None = None) -> str:
    """The CJK font file: ``path`` if given, else the first Noto Sans CJK found."""
    candidates = (path,) if path else FONT_CANDIDATES
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return candidate
    raise ConfigError(
        f"no CJK font at {', '.join(c for c in candidates if c)}: install Debian's "
        "fonts-noto-cjk (apt-get install fonts-noto-cjk) or set the printer's 'font' path"
    )


@lru_cache(maxsize=16)
def _font(path: str, size: int) -> Font:
    index = MONO_JP_INDEX if path.endswith(".ttc") else 0
    try:
        return ImageFont.truetype(path, size, index=index)
    except OSError as exc:
        raise ConfigError(f"cannot load font {path} (face {index}): {exc}") from exc


def default_columns(width_px: int) -> int:
    """42 columns on 80 mm paper (576 dots), 32 on 58 mm (384 dots)."""
    return 42 if width_px >= 576 else max(16, width_px // 12)


def _draw_line(
    draw: ImageDraw.ImageDraw, text: str, top: int, cell: float, font: Font, left: float
) -> None:
    col = 0
    for char in text:
        w = char_width(char)
        if char != " " and w:
            x = left + (col + w / 2) * cell
            draw.text((x, top), char, font=font, fill=0, anchor="ma")
        col += w


def _qr_image(payload: str, width_px: int) -> Image.Image:
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=4, box_size=1)
    code.add_data(payload)
    code.make(fit=True)
    modules = code.modules_count + 8
    box = max(2, min(8, int(width_px * 0.45) // modules))
    code.box_size = box
    made: Image.Image = code.make_image().get_image()
    return made.convert("L")


def _fit_logo(logo: Image.Image, width_px: int) -> Image.Image:
    image = logo.convert("RGBA")
    flat = Image.new("RGBA", image.size, (255, 255, 255, 255))
    flat.alpha_composite(image)
    grey = flat.convert("L")
    limit = width_px - 2 * MARGIN
    if grey.width > limit:
        grey = grey.resize((limit, max(1, grey.height * limit // grey.width)))
    return grey


def render_image(
    receipt: Receipt,
    width_px: int = 576,
    columns: int | None = None,
    copy: Copy = "customer",
    logo: Image.Image | None = None,
    font_path: str | None = None,
) -> Image.Image:
    """The receipt (one copy) as a greyscale image ``width_px`` wide."""
    columns = columns or default_columns(width_px)
    path = find_font(font_path)
    cell = (width_px - 2 * MARGIN) / columns
    font, big = _font(path, round(cell * 2)), _font(path, round(cell * 4))
    lines = copy_lines(receipt, columns, copy)
    line_h, big_h = round(cell * 2.6), round(cell * 5.0)
    blocks: list[Image.Image] = [] if logo is None else [_fit_logo(logo, width_px)]
    qr = _qr_image(receipt.qr_url, width_px) if receipt.qr_url else None
    height = sum(b.height + MARGIN for b in blocks) + 2 * MARGIN
    height += sum(big_h if line.double else line_h for line in lines)
    height += 0 if qr is None else qr.height + MARGIN
    page = Image.new("L", (width_px, height), 255)
    draw = ImageDraw.Draw(page)
    top = MARGIN
    for block in blocks:
        page.paste(block, ((width_px - block.width) // 2, top))
        top += block.height + MARGIN
    for line in lines:
        if line.double:
            left = (width_px - text_width(line.text) * cell * 2) / 2
            _draw_line(draw, line.text, top, cell * 2, big, left)
            top += big_h
        else:
            _draw_line(draw, line.text, top, cell, font, MARGIN)
            top += line_h
    if qr is not None:
        page.paste(qr, ((width_px - qr.width) // 2, top))
    return page


def preview_png(
    receipt: Receipt,
    width_px: int = 576,
    columns: int | None = None,
    logo: Image.Image | None = None,
    font_path: str | None = None,
) -> bytes:
    """The receipt preview for the UI, as PNG bytes."""
    buffer = io.BytesIO()
    render_image(receipt, width_px, columns, logo=logo, font_path=font_path).save(buffer, "PNG")
    return buffer.getvalue()


def to_raster(image: Image.Image, threshold: int = 160) -> RasterImage:
    """A greyscale image as GS v 0 rows: darker than ``threshold`` prints black."""
    grey = image.convert("L")
    bits = grey.point(lambda p: 255 if p < threshold else 0).convert("1")
    width_bytes = (grey.width + 7) // 8
    return RasterImage(bits.tobytes(), width_bytes, grey.height)


def load_logo(path: str) -> Image.Image:
    """The configured logo PNG, loaded once; a clear error if it is missing or not an image."""
    try:
        with Image.open(path) as opened:
            opened.load()
            return opened.copy()
    except (OSError, ValueError) as exc:
        raise ConfigError(f"printer logo {path!r} cannot be read as an image: {exc}") from exc


def logo_raster(logo: Image.Image, width_px: int) -> RasterImage:
    return to_raster(_fit_logo(logo, width_px))
