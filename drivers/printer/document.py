"""A receipt as a print job: Receipt -> print operations -> ESC/POS bytes (pure).

The layout is :func:`terminal.receipt.render_lines` (the same text the screen shows), at 42
columns on 80 mm paper or 32 on 58 mm. Kanji mode: Shift_JIS selected once per job, each
Japanese line in ``FS &`` ... ``FS .``. Marks (練習, 再発行, 控え) and the title print double size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

from drivers.printer import escpos_bytes as cmd
from terminal.ports import ReceiptLine
from terminal.receipt import Receipt, render_lines, text_width

Copy = Literal["customer", "store"]
STORE_MARK: Final = "【控え】"
PAPER_COLUMNS: Final[dict[str, int]] = {"80mm": 42, "58mm": 32}
PAPER_DOTS: Final[dict[str, int]] = {"80mm": 576, "58mm": 384}


@dataclass(frozen=True, slots=True)
class RasterImage:
    """A 1-bit image packed for GS v 0: rows of ``width_bytes``, 1 = black, MSB leftmost."""

    rows: bytes
    width_bytes: int
    height: int


@dataclass(frozen=True, slots=True)
class Text:
    text: str
    double: bool = False


@dataclass(frozen=True, slots=True)
class Qr:
    payload: str


@dataclass(frozen=True, slots=True)
class Image:
    image: RasterImage


@dataclass(frozen=True, slots=True)
class Cut:
    pass


Op = Text | Qr | Image | Cut


@dataclass(frozen=True, slots=True)
class Job:
    """The whole job, sent in one write; ``replaced`` lists characters printed as 〓."""

    data: bytes
    replaced: tuple[str, ...] = ()


def copy_lines(receipt: Receipt, columns: int, copy: Copy = "customer") -> list[ReceiptLine]:
    """The receipt's lines; the store copy is marked 【控え】 at the top and the bottom."""
    lines = render_lines(receipt, columns)
    if copy == "store":
        mark = ReceiptLine(STORE_MARK, double=True)
        lines = [mark, *lines, mark]
    return lines


def receipt_ops(
    receipt: Receipt,
    columns: int,
    copies: Sequence[Copy] = ("customer",),
    logo: RasterImage | None = None,
) -> list[Op]:
    """Print operations for every copy of ``receipt``: logo, lines, QR code, cut."""
    ops: list[Op] = []
    for copy in copies:
        if logo is not None:
            ops.append(Image(logo))
        ops += [Text(line.text, line.double) for line in copy_lines(receipt, columns, copy)]
        if receipt.qr_url:
            ops.append(Qr(receipt.qr_url))
        ops.append(Cut())
    return ops


def _text_bytes(op: Text, columns: int) -> cmd.Encoded:
    if not op.text:
        return cmd.Encoded(cmd.LF)
    # A double-size line takes twice the columns; one that would wrap prints normal size.
    double = op.double and text_width(op.text) * 2 <= columns
    encoded = cmd.kanji_text(op.text)
    if not op.double:
        return cmd.Encoded(encoded.data + cmd.LF, encoded.replaced)
    size = cmd.char_size(2, 2) if double else cmd.bold(True)
    reset = cmd.char_size(1, 1) if double else cmd.bold(False)
    data = cmd.align("center") + size + encoded.data + cmd.LF + reset + cmd.align("left")
    return cmd.Encoded(data, encoded.replaced)


def encode_ops(ops: Sequence[Op], columns: int, qr_module: int = 6, cut_feed: int = 3) -> Job:
    """ESC/POS bytes of ``ops`` in Kanji mode, preceded by ESC @ and FS C 1."""
    out = bytearray(cmd.INIT + cmd.CODE_TABLE_KATAKANA + cmd.KANJI_SHIFT_JIS)
    replaced: list[str] = []
    for op in ops:
        if isinstance(op, Text):
            encoded = _text_bytes(op, columns)
            out += encoded.data
            replaced += encoded.replaced
        elif isinstance(op, Qr):
            out += cmd.align("center") + cmd.qr_code(op.payload, qr_module) + cmd.LF
            out += cmd.align("left")
        elif isinstance(op, Image):
            image = op.image
            out += cmd.align("center")
            out += cmd.raster_fragments(image.rows, image.width_bytes, image.height)
            out += cmd.align("left")
        else:
            out += cmd.cut(feed_lines=cut_feed)
    return Job(bytes(out), tuple(dict.fromkeys(replaced)))


def kanji_job(
    receipt: Receipt,
    columns: int = 42,
    copies: Sequence[Copy] = ("customer",),
    logo: RasterImage | None = None,
    qr_module: int = 6,
) -> Job:
    """The complete Kanji-mode job for ``receipt`` (every copy, each ending in a cut)."""
    return encode_ops(receipt_ops(receipt, columns, copies, logo), columns, qr_module)


def raster_job(pages: Sequence[RasterImage], cut_feed: int = 3) -> Job:
    """A raster-mode job: each page (one per copy) as GS v 0 blocks, then a cut."""
    out = bytearray(cmd.INIT)
    for page in pages:
        out += cmd.raster_fragments(page.rows, page.width_bytes, page.height)
        out += cmd.cut(feed_lines=cut_feed)
    return Job(bytes(out))


def lines_job(lines: Sequence[ReceiptLine], qr: str | None, columns: int = 42) -> Job:
    """A job from already rendered lines (the current ``terminal.ports.Printer`` port)."""
    ops: list[Op] = [Text(line.text, line.double) for line in lines]
    if qr:
        ops.append(Qr(qr))
    ops.append(Cut())
    return encode_ops(ops, columns)
