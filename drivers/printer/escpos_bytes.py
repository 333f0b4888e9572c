"""ESC/POS command bytes and status parsing (pure: no I/O, byte-exact testable).

Japanese text goes out in Kanji mode: ``FS C 1`` selects Shift_JIS once per job, then each
line with non-ASCII text is wrapped in ``FS &`` (Kanji on) ... ``FS .`` (Kanji off) and
encoded as cp932. python-escpos cannot do this (it sends kanji as GB18030).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from terminal.errors import DeviceProtocolError

ESC: Final = b"\x1b"
GS: Final = b"\x1d"
FS: Final = b"\x1c"
DLE: Final = b"\x10"
EOT: Final = b"\x04"
LF: Final = b"\n"

INIT: Final = ESC + b"@"
KANJI_SHIFT_JIS: Final = FS + b"C\x01"  # FS C 1: Kanji code system = Shift_JIS
KANJI_ON: Final = FS + b"&"
KANJI_OFF: Final = FS + b"."
CODE_TABLE_KATAKANA: Final = ESC + b"t\x01"  # half-width kana (0xA1-0xDF) in SJIS mode
REPLACEMENT: Final = "〓"  # 0x81AC in cp932 (geta mark), the usual stand-in

Align = Literal["left", "center", "right"]
ALIGN_CODES: Final[dict[str, int]] = {"left": 0, "center": 1, "right": 2}

# Characters that look alike but only the second one exists in cp932 (JIS X 0208 mapping
# differences: Unicode's JIS and Microsoft's cp932 disagree on these).
CP932_EQUIVALENTS: Final[dict[str, str]] = {
    "¥": "￥",
    "〜": "～",  # U+301C wave dash -> U+FF5E fullwidth tilde
    "‖": "∥",  # U+2016 -> U+2225
    "−": "－",  # U+2212 minus -> U+FF0D
    "—": "―",  # U+2014 em dash -> U+2015
    "¢": "￠",
    "£": "￡",
    "¬": "￢",
}


@dataclass(frozen=True, slots=True)
class Encoded:
    """cp932 bytes of a text, and the characters that had to be replaced by 〓."""

    data: bytes
    replaced: tuple[str, ...] = ()


def encode_cp932(text: str) -> Encoded:
    """``text`` as cp932; ``¥`` becomes ``￥`` and unencodable characters become ``〓``."""
    out = bytearray()
    replaced: list[str] = []
    for char in text:
        char = CP932_EQUIVALENTS.get(char, char)
        try:
            out += char.encode("cp932")
        except UnicodeEncodeError:
            out += REPLACEMENT.encode("cp932")
            replaced.append(char)
    return Encoded(bytes(out), tuple(replaced))


def kanji_text(text: str) -> Encoded:
    """One run of text: plain ASCII as is, anything else inside ``FS &`` ... ``FS .``."""
    if text.isascii():
        return Encoded(text.encode("ascii"))
    encoded = encode_cp932(text)
    return Encoded(KANJI_ON + encoded.data + KANJI_OFF, encoded.replaced)


def align(where: Align) -> bytes:
    """ESC a n: 0 left, 1 centre, 2 right."""
    return ESC + b"a" + bytes([ALIGN_CODES[where]])


def char_size(width: int = 1, height: int = 1) -> bytes:
    """GS ! n: character size 1-8 times (applies to ANK and Kanji)."""
    if not (1 <= width <= 8 and 1 <= height <= 8):
        raise ValueError(f"character size {width}x{height} out of range 1-8")
    return GS + b"!" + bytes([(width - 1) << 4 | (height - 1)])


def bold(on: bool) -> bytes:
    """ESC E n: emphasised."""
    return ESC + b"E" + (b"\x01" if on else b"\x00")


def feed(lines: int) -> bytes:
    """ESC d n: print and feed ``n`` lines."""
    if not 0 <= lines <= 255:
        raise ValueError(f"feed of {lines} lines out of range 0-255")
    return ESC + b"d" + bytes([lines])


def cut(partial: bool = False, feed_lines: int = 3) -> bytes:
    """GS V 65/66 n: feed ``n`` lines to the cutter, then a full (65) or partial (66) cut."""
    if not 0 <= feed_lines <= 255:
        raise ValueError(f"cut feed of {feed_lines} out of range 0-255")
    return GS + b"V" + bytes([66 if partial else 65, feed_lines])


def drawer_kick(pin: int = 0, on_ms: int = 50, off_ms: int = 500) -> bytes:
    """ESC p m t1 t2: pulse drawer pin ``m`` (0 = pin 2, 1 = pin 5), times in units of 2 ms.

    The defaults give the customary ``ESC p 0 25 250``.
    """
    if pin not in (0, 1):
        raise ValueError(f"drawer pin {pin} must be 0 (pin 2) or 1 (pin 5)")
    t1, t2 = on_ms // 2, off_ms // 2
    if not (0 <= t1 <= 255 and 0 <= t2 <= 255):
        raise ValueError(f"drawer pulse {on_ms}/{off_ms} ms out of range 0-510 ms")
    return ESC + b"p" + bytes([pin, t1, t2])


def _qr_function(fn: int, data: bytes) -> bytes:
    size = len(data) + 2
    return GS + b"(k" + bytes([size & 0xFF, size >> 8, 49, fn]) + data


QR_LEVELS: Final[dict[str, int]] = {"L": 48, "M": 49, "Q": 50, "H": 51}


def qr_code(payload: str, module_size: int = 6, level: str = "M") -> bytes:
    """Native QR: GS ( k model 2, module size, error level, store the data, print it."""
    if not 1 <= module_size <= 16:
        raise ValueError(f"QR module size {module_size} out of range 1-16")
    data = payload.encode("utf-8")
    if not 0 < len(data) <= 7089:
        raise ValueError(f"QR payload of {len(data)} bytes; 1-7089 bytes fit")
    return b"".join(
        (
            _qr_function(65, b"\x32\x00"),  # fn 165: model 2
            _qr_function(67, bytes([module_size])),  # fn 167: module size
            _qr_function(69, bytes([QR_LEVELS[level]])),  # fn 169: error correction
            _qr_function(80, b"0" + data),  # fn 180: store in the symbol area
            _qr_function(81, b"0"),  # fn 181: print the stored symbol
        )
    )


def raster_image(rows: bytes, width_bytes: int, height: int) -> bytes:
    """GS v 0 m xL xH yL yH d...: one raster bit image (1 = black dot, MSB leftmost)."""
    if len(rows) != width_bytes * height:
        raise ValueError(f"raster data {len(rows)} bytes != {width_bytes} x {height}")
    if not (0 < width_bytes < 0x10000 and 0 < height < 0x10000):
        raise ValueError(f"raster size {width_bytes * 8}x{height} dots out of range")
    header = GS + b"v0\x00" + width_bytes.to_bytes(2, "little") + height.to_bytes(2, "little")
    return header + rows


def raster_fragments(rows: bytes, width_bytes: int, height: int, max_rows: int = 960) -> bytes:
    """A tall image as several ``GS v 0`` blocks of at most ``max_rows`` rows each."""
    out = bytearray()
    for top in range(0, height, max_rows):
        n = min(max_rows, height - top)
        out += raster_image(rows[top * width_bytes : (top + n) * width_bytes], width_bytes, n)
    return bytes(out)


# --- real-time status (DLE EOT n) -----------------------------------------------------------

STATUS_PRINTER: Final = 1
STATUS_OFFLINE_CAUSE: Final = 2
STATUS_ERROR_CAUSE: Final = 3
STATUS_PAPER: Final = 4


def status_query(n: int) -> bytes:
    """DLE EOT n: ask for real-time status ``n`` (1 printer, 2 offline cause, 3 error, 4 paper)."""
    if n not in (1, 2, 3, 4):
        raise ValueError(f"DLE EOT {n}: status type must be 1-4")
    return DLE + EOT + bytes([n])


@dataclass(frozen=True, slots=True)
class PrinterStatus:
    """The printer as it answered DLE EOT 1, 2 and 4.

    ``known`` is False on a write-only connection (a plain file, the Dummy): nothing was asked.
    """

    online: bool
    cover_open: bool = False
    paper_out: bool = False
    paper_near_end: bool = False
    error: bool = False
    known: bool = True

    @property
    def ready(self) -> bool:
        return self.online and not (self.cover_open or self.paper_out or self.error)

    def describe(self) -> str:
        if not self.known:
            return "status unknown (write-only connection)"
        problems = [
            text
            for flag, text in (
                (self.cover_open, "cover open"),
                (self.paper_out, "paper out"),
                (self.error, "error"),
                (not self.online, "offline"),
                (self.paper_near_end, "paper near end"),
            )
            if flag
        ]
        return ", ".join(problems) if problems else "online, paper ok"


UNKNOWN_STATUS: Final = PrinterStatus(online=True, known=False)


def _check_fixed_bits(n: int, value: int) -> None:
    # Every DLE EOT answer has bit 0 = 0, bit 1 = 1, bit 4 = 1, bit 7 = 0.
    if value & 0b1001_0011 != 0b0001_0010:
        raise DeviceProtocolError(
            f"printer answered DLE EOT {n} with 0x{value:02X}, not an ESC/POS status byte "
            "(fixed bits 1 and 4 set, 0 and 7 clear); is this an ESC/POS printer?"
        )


def parse_status(printer: int, offline_cause: int, paper: int) -> PrinterStatus:
    """Decode the answers to DLE EOT 1 (printer), 2 (offline cause) and 4 (paper sensor).

    1: bit 3 offline. 2: bit 2 cover open, bit 5 stopped by paper end, bit 6 error.
    4: bits 2-3 roll paper near end, bits 5-6 roll paper end.
    """
    for n, value in ((1, printer), (2, offline_cause), (4, paper)):
        _check_fixed_bits(n, value)
    paper_out = bool(paper & 0x60) or bool(offline_cause & 0x20)
    return PrinterStatus(
        online=not printer & 0x08,
        cover_open=bool(offline_cause & 0x04),
        paper_out=paper_out,
        paper_near_end=bool(paper & 0x0C),
        error=bool(offline_cause & 0x40),
    )


def status_bytes(status: PrinterStatus) -> dict[int, int]:
    """The inverse of :func:`parse_status`: what a printer in ``status`` answers to DLE EOT n."""
    base = 0x12
    offline = status.cover_open or status.paper_out or status.error or not status.online
    return {
        STATUS_PRINTER: base | (0x08 if offline else 0),
        STATUS_OFFLINE_CAUSE: base
        | (0x04 if status.cover_open else 0)
        | (0x20 if status.paper_out else 0)
        | (0x40 if status.error else 0),
        STATUS_ERROR_CAUSE: base,
        STATUS_PAPER: base
        | (0x60 if status.paper_out else 0)
        | (0x0C if status.paper_near_end else 0),
    }
