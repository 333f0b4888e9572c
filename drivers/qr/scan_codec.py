"""Pure framing of a 2D scanner's byte stream into codes (no I/O; byte-exact tests).

A scanner sends ``[prefix] code suffix`` per scan (most are configured for a CR suffix;
some add STX/ETX or an AIM symbology identifier such as ``]Q1``). Line noise (NULs, stray
control bytes from a cable being plugged in, a partial frame from a scan interrupted at power
up) must never crash the counter: it is dropped, or reported as a ``DeviceProtocolError``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from terminal.errors import DeviceProtocolError

_AIM = re.compile(rb"\][A-Za-z][0-9A-Za-z]")
_EDGE_NOISE = bytes(range(0x20)) + b"\x7f"


class ScanNoise(DeviceProtocolError):
    """The scanner sent something that is not a readable code: ask the visitor to scan again."""


@dataclass(frozen=True, slots=True)
class ScanFraming:
    """How codes are delimited on the wire (scanner configuration, from the kiosk config)."""

    suffix: bytes = b"\r"
    prefix: bytes = b""
    require_prefix: bool = False
    strip_aim: bool = False  # strip a leading AIM symbology identifier (]Q1, ]d2 ...)
    max_length: int = 4096
    encoding: str = "utf-8"

    def __post_init__(self) -> None:
        if not self.suffix:
            raise ValueError("a scanner framing needs a non-empty suffix (terminator)")
        if self.require_prefix and not self.prefix:
            raise ValueError("require_prefix needs a prefix")

    def wrap(self, code: str) -> bytes:
        """What a scanner with this configuration sends for ``code`` (used by simulators)."""
        return self.prefix + code.encode(self.encoding) + self.suffix


class FrameSplitter:
    """Accumulates bytes and cuts complete frames at the suffix."""

    def __init__(self, framing: ScanFraming) -> None:
        self.framing = framing
        self._buffer = bytearray()

    @property
    def pending(self) -> bytes:
        return bytes(self._buffer)

    def clear(self) -> bytes:
        dropped = bytes(self._buffer)
        self._buffer.clear()
        return dropped

    def feed(self, data: bytes) -> list[bytes | ScanNoise]:
        """Add ``data``; return every complete raw frame (suffix removed), oldest first.

        A frame that outgrows ``max_length`` without a terminator is discarded and comes
        back as a ScanNoise in its place.
        """
        self._buffer.extend(data)
        frames: list[bytes | ScanNoise] = []
        suffix = self.framing.suffix
        while (end := self._buffer.find(suffix)) >= 0:
            frames.append(bytes(self._buffer[:end]))
            del self._buffer[:end + len(suffix)]
        if len(self._buffer) > self.framing.max_length:
            size = len(self.clear())
            frames.append(ScanNoise(f"no terminator after {size} bytes: discarded "
                                    "(scan again)"))
        return frames


def decode_frame(framing: ScanFraming, raw: bytes) -> str | None:
    """The code in one raw frame; ``None`` for an empty or noise-only frame.

    Leading garbage before the prefix is dropped. Raises ScanNoise for a frame that still
    holds control bytes or is not valid text.
    """
    frame = raw
    if framing.prefix:
        at = frame.rfind(framing.prefix)
        if at >= 0:
            frame = frame[at + len(framing.prefix):]
        elif framing.require_prefix:
            if not frame.strip(_EDGE_NOISE):
                return None
            raise ScanNoise(f"frame without the configured prefix ({len(raw)} bytes): "
                            "scan again")
    frame = frame.strip(_EDGE_NOISE)
    if framing.strip_aim and _AIM.match(frame):
        frame = frame[3:]
    if not frame:
        return None
    try:
        text = frame.decode(framing.encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        raise ScanNoise(f"unreadable scan ({len(raw)} bytes, not {framing.encoding}): "
                        "scan again") from exc
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in text):
        raise ScanNoise(f"unreadable scan ({len(raw)} bytes with control characters): "
                        "scan again")
    return text


# --- keyboard wedge: Linux input events -> characters (US layout) ------------------------

EV_KEY = 1
KEY_RELEASE, KEY_PRESS, KEY_REPEAT = 0, 1, 2
SHIFT_KEYS = frozenset({42, 54})  # KEY_LEFTSHIFT, KEY_RIGHTSHIFT
NOISE_BYTE = b"\x1a"  # SUB: stands for a key the keymap does not know


def _us_keymap() -> dict[int, tuple[str, str]]:
    rows = [(2, "1234567890-=", "!@#$%^&*()_+"), (16, "qwertyuiop[]", "QWERTYUIOP{}"),
            (30, "asdfghjkl;'`", 'ASDFGHJKL:"~'), (43, "\\zxcvbnm,./", "|ZXCVBNM<>?")]
    keymap = {code + i: (plain[i], shifted[i])
              for code, plain, shifted in rows for i in range(len(plain))}
    keypad = {71: "7", 72: "8", 73: "9", 74: "-", 75: "4", 76: "5", 77: "6", 78: "+",
              79: "1", 80: "2", 81: "3", 82: "0", 83: ".", 55: "*", 98: "/"}
    keymap.update({code: (ch, ch) for code, ch in keypad.items()})
    keymap.update({57: (" ", " "), 28: ("\r", "\r"), 96: ("\r", "\r"), 15: ("\t", "\t")})
    return keymap


US_KEYMAP: dict[int, tuple[str, str]] = _us_keymap()
IGNORED_KEYS = frozenset({29, 97, 56, 100, 58, 125, 126})  # ctrl, alt, caps lock, meta


class KeyDecoder:
    """Turns EV_KEY events into bytes with a (small) US keymap, tracking the shift keys."""

    def __init__(self, keymap: dict[int, tuple[str, str]] | None = None) -> None:
        self.keymap = US_KEYMAP if keymap is None else keymap
        self._shift: set[int] = set()

    def feed(self, ev_type: int, code: int, value: int) -> bytes:
        if ev_type != EV_KEY:
            return b""  # EV_SYN, EV_MSC (scan codes) ...
        if code in SHIFT_KEYS:
            if value == KEY_RELEASE:
                self._shift.discard(code)
            else:
                self._shift.add(code)
            return b""
        if value not in (KEY_PRESS, KEY_REPEAT) or code in IGNORED_KEYS:
            return b""
        pair = self.keymap.get(code)
        if pair is None:
            return NOISE_BYTE
        return pair[1 if self._shift else 0].encode("ascii")

    def key_for(self, char: str) -> tuple[int, bool]:
        """(key code, needs shift) that types ``char``; for simulators."""
        for code, (plain, shifted) in sorted(self.keymap.items()):
            if char == plain:
                return code, False
            if char == shifted:
                return code, True
        raise ValueError(f"{char!r} cannot be typed with this keymap")


__all__ = [
    "EV_KEY", "KEY_PRESS", "KEY_RELEASE", "KEY_REPEAT", "US_KEYMAP", "FrameSplitter",
    "KeyDecoder", "ScanFraming", "ScanNoise", "decode_frame",
]
