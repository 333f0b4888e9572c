"""An ESC/POS byte-stream decoder: what a printer would print, as text lines and events.

Fed incrementally (a command split across reads waits for the rest). Text inside
``FS &`` ... ``FS .`` is cp932 (Kanji mode, as selected by FS C 1); outside it is ASCII.
Used by the printer simulator and by tests to read printed receipts back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from PIL import Image

ESC, GS, FS, DLE, LF, CR = 0x1B, 0x1D, 0x1C, 0x10, 0x0A, 0x0D

# ESC/GS/FS commands with a fixed number of parameter bytes after the command byte.
FIXED: Final[dict[tuple[int, int], int]] = {
    (ESC, ord("@")): 0, (ESC, ord("a")): 1, (ESC, ord("E")): 1, (ESC, ord("!")): 1,
    (ESC, ord("d")): 1, (ESC, ord("t")): 1, (ESC, ord("p")): 3, (ESC, ord("-")): 1,
    (ESC, ord("2")): 0, (ESC, ord("3")): 1, (ESC, ord("M")): 1, (ESC, ord("G")): 1,
    (ESC, ord("J")): 1, (ESC, ord("R")): 1, (ESC, ord("{")): 1, (ESC, ord("c")): 2,
    (GS, ord("!")): 1, (GS, ord("B")): 1, (GS, ord("h")): 1, (GS, ord("w")): 1,
    (GS, ord("H")): 1, (GS, ord("f")): 1, (GS, ord("L")): 2, (GS, ord("W")): 2,
    (FS, ord("C")): 1, (FS, ord("&")): 0, (FS, ord(".")): 0, (FS, ord("!")): 1,
    (FS, ord("-")): 1, (FS, ord("S")): 2, (FS, ord("W")): 1,
}  # fmt: skip


class Incomplete(Exception):
    """The buffer ends inside a command."""


@dataclass
class Page:
    """What printed between two cuts."""

    lines: list[str] = field(default_factory=list)
    double: list[str] = field(default_factory=list)
    qr: list[str] = field(default_factory=list)
    images: list[Image.Image] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def raster(self) -> Image.Image | None:
        """Every raster block of the page stacked into one image (None without images)."""
        if not self.images:
            return None
        width = max(i.width for i in self.images)
        out = Image.new("L", (width, sum(i.height for i in self.images)), 255)
        top = 0
        for image in self.images:
            out.paste(image, (0, top))
            top += image.height
        return out


@dataclass
class Printout:
    """Everything decoded so far: finished pages (cut), the current page, events."""

    pages: list[Page] = field(default_factory=list)
    current: Page = field(default_factory=Page)
    drawer_kicks: list[tuple[int, int, int]] = field(default_factory=list)
    status_queries: list[int] = field(default_factory=list)
    unknown: list[bytes] = field(default_factory=list)
    kanji_code: int | None = None

    @property
    def all_pages(self) -> list[Page]:
        current = self.current
        touched = current.lines or current.qr or current.images
        return [*self.pages, current] if touched else list(self.pages)

    @property
    def lines(self) -> list[str]:
        return [line for page in self.all_pages for line in page.lines]


class EscposParser:
    """Decode an ESC/POS stream; ``on_status(n)`` answers DLE EOT n, ``on_cut(page)`` fires."""

    def __init__(
        self,
        on_status: Callable[[int], None] | None = None,
        on_cut: Callable[[Page], None] | None = None,
    ) -> None:
        self.printout = Printout()
        self._buffer = bytearray()
        self._text = bytearray()
        self._decoded = ""
        self._kanji = False
        self._double = False
        self._on_status = on_status
        self._on_cut = on_cut

    def feed(self, data: bytes) -> None:
        self._buffer += data
        pos = 0
        try:
            while pos < len(self._buffer):
                pos = self._step(pos)
        except Incomplete:
            pass
        del self._buffer[:pos]

    def flush(self) -> Printout:
        """End of stream: pending text counts as a printed line."""
        if self._text or self._decoded:
            self._end_line()
        return self.printout

    def _need(self, pos: int, count: int) -> bytes:
        if pos + count > len(self._buffer):
            raise Incomplete
        return bytes(self._buffer[pos : pos + count])

    def _step(self, pos: int) -> int:
        byte = self._buffer[pos]
        if byte == LF:
            self._end_line()
            return pos + 1
        if byte == CR:
            return pos + 1
        if byte == DLE:
            return self._realtime(pos)
        if byte in (ESC, GS, FS):
            return self._command(pos)
        self._text.append(byte)
        return pos + 1

    def _realtime(self, pos: int) -> int:
        head = self._need(pos, 3)
        if head[1] == 0x04:
            self.printout.status_queries.append(head[2])
            if self._on_status is not None:
                self._on_status(head[2])
            return pos + 3
        self.printout.unknown.append(head)
        return pos + 3

    def _command(self, pos: int) -> int:
        prefix, code = self._need(pos, 2)
        if (prefix, code) in FIXED:
            size = 2 + FIXED[(prefix, code)]
            self._apply(self._need(pos, size))
            return pos + size
        if prefix == GS and code == ord("V"):
            return self._cut(pos)
        if prefix == GS and code in (ord("("), ord("8")):
            return self._block(pos)
        if prefix == GS and code == ord("v"):
            return self._raster(pos)
        self.printout.unknown.append(bytes([prefix, code]))
        return pos + 2

    def _apply(self, command: bytes) -> None:
        key = command[:2]
        if key in (b"\x1c&", b"\x1c."):
            self._decode_run()
            self._kanji = key == b"\x1c&"
        elif key == b"\x1cC":
            self.printout.kanji_code = command[2]
        elif key == b"\x1d!":
            self._double = command[2] != 0
        elif key == b"\x1bp":
            self.printout.drawer_kicks.append((command[2], command[3], command[4]))
        elif key == b"\x1b@":
            self._kanji, self._double = False, False

    def _cut(self, pos: int) -> int:
        mode = self._need(pos, 3)[2]
        size = 4 if mode in (65, 66, 97, 98, 103, 104) else 3
        self._need(pos, size)
        if self._text or self._decoded:
            self._end_line()
        page, self.printout.current = self.printout.current, Page()
        self.printout.pages.append(page)
        if self._on_cut is not None:
            self._on_cut(page)
        return pos + size

    def _block(self, pos: int) -> int:
        head = self._need(pos, 5)
        length = int.from_bytes(head[3:5], "little")
        body = self._need(pos, 5 + length)[5:]
        if head[2] == ord("k") and body[:3] == b"1P0":  # QR: store the symbol data
            self.printout.current.qr.append(body[3:].decode("utf-8"))
        return pos + 5 + length

    def _raster(self, pos: int) -> int:
        head = self._need(pos, 8)
        width_bytes = int.from_bytes(head[4:6], "little")
        height = int.from_bytes(head[6:8], "little")
        rows = self._need(pos, 8 + width_bytes * height)[8:]
        bits = Image.frombytes("1", (width_bytes * 8, height), rows)
        # In the GS v 0 data 1 is a black dot; in a PIL "1" image 1 is white.
        image = bits.convert("L").point(lambda p: 255 - p)
        self.printout.current.images.append(image)
        return pos + 8 + width_bytes * height

    def _decode_run(self) -> None:
        """Text so far in the current mode: cp932 in Kanji mode; else ASCII and, from the
        katakana code table (ESC t 1), half-width kana 0xA1-0xDF; anything else is U+FFFD."""
        raw, self._text = bytes(self._text), bytearray()
        if self._kanji:
            self._decoded += raw.decode("cp932", errors="replace")
            return
        for byte in raw:
            single = byte < 0x80 or 0xA1 <= byte <= 0xDF
            self._decoded += bytes([byte]).decode("cp932") if single else "\ufffd"

    def _end_line(self) -> None:
        self._decode_run()
        text, self._decoded = self._decoded, ""
        self.printout.current.lines.append(text)
        if self._double:
            self.printout.current.double.append(text)


def decode(data: bytes) -> Printout:
    """Decode a complete ESC/POS stream (a file sink, a Dummy's output)."""
    parser = EscposParser()
    parser.feed(data)
    return parser.flush()
