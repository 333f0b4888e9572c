"""ZVT wire codec: pure functions, no I/O.

Sources: ECR-Interface ZVT-Protocol (PA00P015/PA00P016), as used by public ZVT libraries.
- APDU = CLASS INSTR LEN DATA; LEN is one byte, or FF + two bytes little-endian when the
  data is 255 bytes or longer.
- Serial frame = DLE STX data DLE ETX CRC-lo CRC-hi; every DLE (0x10) inside the data is sent
  twice. The CRC is CRC-16/KERMIT (CCITT polynomial, reflected, init 0) over the *unstuffed*
  data followed by the ETX byte, transmitted low byte first.
- BMPs (bitmaps) are one tag byte followed by a fixed-length value, an LL/LLL-var value (length
  as "Fx Fy [Fz]" decimal digits) or, for BMP 06, a BER-TLV container.

Card data is dropped here: PAN (BMP 22), track data (23, 24, 2D), expiry (0E) and CVV (3A)
never leave ``decode_bmps``, so they cannot reach a result, a log or the journal.
"""

from __future__ import annotations

from dataclasses import dataclass

from terminal.errors import DeviceProtocolError

DLE, STX, ETX, ACK, NAK = 0x10, 0x02, 0x03, 0x06, 0x15
MAX_DATA = 0xFFFF


class ZvtProtocolError(DeviceProtocolError):
    """Bytes from the payment terminal do not follow the ZVT protocol."""


class ZvtCrcError(ZvtProtocolError):
    """A serial frame arrived with a wrong CRC (the receiver answers NAK)."""


# -- CRC ----------------------------------------------------------------------------------
def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_TABLE = _crc_table()


def crc16_kermit(data: bytes) -> int:
    """CRC-16/KERMIT (poly 0x1021 reflected = 0x8408, init 0, no final xor)."""
    crc = 0
    for byte in data:
        crc = (crc >> 8) ^ _TABLE[(crc ^ byte) & 0xFF]
    return crc


# -- serial framing -----------------------------------------------------------------------
def frame(payload: bytes) -> bytes:
    """DLE STX payload (DLE doubled) DLE ETX CRC (low byte first)."""
    crc = crc16_kermit(payload + bytes([ETX]))
    stuffed = payload.replace(bytes([DLE]), bytes([DLE, DLE]))
    return bytes([DLE, STX]) + stuffed + bytes([DLE, ETX]) + crc.to_bytes(2, "little")


class FrameReader:
    """Incremental serial frame decoder: feed bytes one at a time.

    Bytes outside a frame (stray ACK/NAK, line noise) are skipped. ``feed`` returns the
    payload when a frame is complete, raises ``ZvtCrcError`` on a wrong CRC and
    ``ZvtProtocolError`` on a broken frame; either way it is ready for the next frame.
    """

    def __init__(self) -> None:
        self._state = "hunt"
        self._buf = bytearray()
        self._crc = bytearray()

    @property
    def in_frame(self) -> bool:
        return self._state not in ("hunt",)

    def reset(self) -> None:
        self._state, self._buf, self._crc = "hunt", bytearray(), bytearray()

    def feed(self, byte: int) -> bytes | None:
        state = self._state
        if state == "hunt":
            self._state = "start" if byte == DLE else "hunt"
        elif state == "start":
            self._state = "data" if byte == STX else ("start" if byte == DLE else "hunt")
        elif state == "data":
            if byte == DLE:
                self._state = "escape"
            else:
                self._append(byte)
        elif state == "escape":
            self._escape(byte)
        else:
            return self._crc_byte(byte)
        return None

    def _append(self, byte: int) -> None:
        if len(self._buf) > MAX_DATA + 5:
            self.reset()
            raise ZvtProtocolError("ZVT frame longer than any APDU (no DLE ETX seen)")
        self._buf.append(byte)

    def _escape(self, byte: int) -> None:
        if byte == DLE:
            self._append(DLE)
            self._state = "data"
        elif byte == ETX:
            self._state = "crc"
        elif byte == STX:  # a new frame started: the old one was cut off
            self._buf = bytearray()
            self._state = "data"
        else:
            self.reset()
            raise ZvtProtocolError(f"ZVT frame has DLE followed by 0x{byte:02X} (bad stuffing)")
        return None

    def _crc_byte(self, byte: int) -> bytes | None:
        self._crc.append(byte)
        if len(self._crc) < 2:
            return None
        payload, got = bytes(self._buf), int.from_bytes(self._crc, "little")
        self.reset()
        want = crc16_kermit(payload + bytes([ETX]))
        if got != want:
            raise ZvtCrcError(f"ZVT frame CRC 0x{got:04X} != computed 0x{want:04X}")
        return payload


def unframe(raw: bytes) -> bytes:
    """Decode exactly one complete serial frame (used by tests and tools)."""
    reader = FrameReader()
    for i, byte in enumerate(raw):
        payload = reader.feed(byte)
        if payload is not None:
            if i != len(raw) - 1:
                raise ZvtProtocolError(f"{len(raw) - i - 1} bytes after the ZVT frame")
            return payload
    raise ZvtProtocolError("incomplete ZVT frame (no DLE ETX CRC)")


# -- APDU ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Apdu:
    cls: int
    instr: int
    data: bytes = b""

    @property
    def command(self) -> tuple[int, int]:
        return (self.cls, self.instr)

    def __str__(self) -> str:  # never the data: it may hold card details
        return f"{self.cls:02X} {self.instr:02X} ({len(self.data)} bytes)"


def encode_apdu(apdu: Apdu) -> bytes:
    n = len(apdu.data)
    if n > MAX_DATA:
        raise ZvtProtocolError(f"APDU data of {n} bytes exceeds the ZVT limit of {MAX_DATA}")
    head = bytes([apdu.cls, apdu.instr])
    length = bytes([n]) if n < 0xFF else bytes([0xFF]) + n.to_bytes(2, "little")
    return head + length + apdu.data


def apdu_lengths(head: bytes) -> tuple[int, int]:
    """From the first 3 bytes: (header length, data length still to read if known).

    When the third byte is FF the header is 5 bytes; call again with all 5."""
    if len(head) < 3:
        raise ZvtProtocolError("APDU shorter than its 3-byte header")
    if head[2] != 0xFF:
        return 3, head[2]
    if len(head) < 5:
        return 5, -1
    return 5, int.from_bytes(head[3:5], "little")


def decode_apdu(raw: bytes) -> Apdu:
    header, n = apdu_lengths(raw)
    if n < 0:
        raise ZvtProtocolError("APDU with extended length is shorter than 5 bytes")
    data = raw[header:]
    if len(data) != n:
        raise ZvtProtocolError(f"APDU says {n} data bytes but carries {len(data)}")
    return Apdu(raw[0], raw[1], bytes(data))


# -- BCD and variable lengths -------------------------------------------------------------
def bcd_encode(value: int, size: int) -> bytes:
    digits = f"{value:0{size * 2}d}"
    if value < 0 or len(digits) != size * 2:
        raise ZvtProtocolError(f"{value} does not fit {size} BCD bytes")
    return bytes.fromhex(digits)


def bcd_decode(raw: bytes) -> int:
    text = raw.hex()
    if not text.isdigit():
        raise ZvtProtocolError(f"not BCD: {text.upper()}")
    return int(text)


def var_prefix(length: int, digits: int) -> bytes:
    text = f"{length:0{digits}d}"
    if len(text) != digits:
        raise ZvtProtocolError(f"{length} bytes do not fit an {'L' * digits}-var field")
    return bytes(0xF0 | int(d) for d in text)


def _var_length(data: bytes, pos: int, digits: int) -> int:
    prefix = data[pos:pos + digits]
    if len(prefix) != digits or any(b & 0xF0 != 0xF0 or b & 0x0F > 9 for b in prefix):
        raise ZvtProtocolError(f"bad {'L' * digits}-var length {prefix.hex().upper()}")
    return int("".join(str(b & 0x0F) for b in prefix))


def ber_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    if n <= 0xFF:
        return bytes([0x81, n])
    if n <= 0xFFFF:
        return bytes([0x82]) + n.to_bytes(2, "big")
    raise ZvtProtocolError(f"TLV value of {n} bytes is too long")


def _read_ber_length(data: bytes, pos: int) -> tuple[int, int]:
    if pos >= len(data):
        raise ZvtProtocolError("TLV length missing")
    first = data[pos]
    if first < 0x80:
        return first, pos + 1
    count = first & 0x7F
    if count not in (1, 2) or pos + 1 + count > len(data):
        raise ZvtProtocolError(f"bad TLV length byte 0x{first:02X}")
    return int.from_bytes(data[pos + 1:pos + 1 + count], "big"), pos + 1 + count


# -- BER-TLV (BMP 06 container) -----------------------------------------------------------
def _read_tag(data: bytes, pos: int) -> tuple[int, int]:
    start, tag = pos, data[pos]
    pos += 1
    if tag & 0x1F == 0x1F:  # multi-byte tag: continue while bit 8 is set
        while True:
            if pos >= len(data) or pos - start >= 4:
                raise ZvtProtocolError("TLV tag runs past the container (or is over 4 bytes)")
            tag = (tag << 8) | data[pos]
            pos += 1
            if not data[pos - 1] & 0x80:
                break
    return tag, pos


def encode_tlv(items: list[tuple[int, bytes]]) -> bytes:
    out = bytearray()
    for tag, value in items:
        out += tag.to_bytes(max(1, (tag.bit_length() + 7) // 8), "big")
        out += ber_length(len(value)) + value
    return bytes(out)


def decode_tlv(data: bytes) -> tuple[tuple[int, bytes], ...]:
    """Flat BER-TLV decode (constructed values are returned as raw bytes)."""
    items, pos = [], 0
    while pos < len(data):
        tag, pos = _read_tag(data, pos)
        length, pos = _read_ber_length(data, pos)
        if pos + length > len(data):
            raise ZvtProtocolError(f"TLV tag {tag:X} says {length} bytes, container ends first")
        items.append((tag, data[pos:pos + length]))
        pos += length
    return tuple(items)


# -- BMPs ---------------------------------------------------------------------------------
# Lengths from the spec's "summary of utilised BMPs": an int is a fixed length, "LL"/"LLL"
# a variable length with 2/3 F-digits, "TLV" a BER-length container.
BMP_FORMATS: dict[int, int | str] = {
    0x01: 1, 0x02: 1, 0x03: 1, 0x04: 6, 0x05: 1, 0x06: "TLV", 0x0B: 3, 0x0C: 3, 0x0D: 2,
    0x0E: 2, 0x17: 2, 0x19: 1, 0x22: "LL", 0x23: "LL", 0x24: "LLL", 0x27: 1, 0x29: 4,
    0x2A: 15, 0x2D: "LL", 0x37: 3, 0x3A: 2, 0x3B: 8, 0x3C: "LLL", 0x3D: 3, 0x49: 2,
    0x4C: "LL", 0x60: "LLL", 0x87: 2, 0x88: 3, 0x8A: 1, 0x8B: "LL", 0x8C: 1, 0x92: "LLL",
    0x9A: "LLL", 0xA0: 1, 0xA7: "LL", 0xAF: "LLL", 0xBA: 5, 0xD0: 1, 0xD1: "LL", 0xD2: 1,
    0xD3: 1, 0xE0: 1, 0xE1: "LL", 0xE2: "LL", 0xE3: "LL", 0xE4: "LL", 0xE5: "LL",
    0xE6: "LL", 0xE7: "LL", 0xE8: 1, 0xE9: 1, 0xEA: 1, 0xEB: 8, 0xF0: 1, 0xF1: "LL",
}
# Card data that must never be stored, logged or put into a result.
SENSITIVE_BMPS = frozenset({0x0E, 0x22, 0x23, 0x24, 0x2D, 0x3A})


def encode_bmp(tag: int, value: bytes) -> bytes:
    fmt = BMP_FORMATS.get(tag)
    if fmt is None:
        raise ZvtProtocolError(f"unknown BMP 0x{tag:02X}")
    if isinstance(fmt, int):
        if len(value) != fmt:
            raise ZvtProtocolError(f"BMP 0x{tag:02X} takes {fmt} bytes, got {len(value)}")
        return bytes([tag]) + value
    if fmt == "TLV":
        return bytes([tag]) + ber_length(len(value)) + value
    return bytes([tag]) + var_prefix(len(value), len(fmt)) + value


def encode_bmps(fields: list[tuple[int, bytes]]) -> bytes:
    return b"".join(encode_bmp(tag, value) for tag, value in fields)


def _bmp_span(data: bytes, pos: int, tag: int) -> tuple[int, int]:
    """(value start, value end) of the BMP whose tag byte is at ``pos - 1``."""
    fmt = BMP_FORMATS.get(tag)
    if fmt is None:
        raise ZvtProtocolError(f"unknown BMP 0x{tag:02X} at offset {pos - 1}: its length is "
                               "not known, so the rest of the message cannot be read")
    if isinstance(fmt, int):
        start, length = pos, fmt
    elif fmt == "TLV":
        length, start = _read_ber_length(data, pos)
    else:
        length, start = _var_length(data, pos, len(fmt)), pos + len(fmt)
    if start + length > len(data):
        raise ZvtProtocolError(f"BMP 0x{tag:02X} runs past the end of the message")
    return start, start + length


def decode_bmps(data: bytes) -> tuple[tuple[int, bytes], ...]:
    """Decode a BMP sequence; card data (PAN, tracks, expiry, CVV) is dropped here."""
    fields, pos = [], 0
    while pos < len(data):
        tag = data[pos]
        start, end = _bmp_span(data, pos + 1, tag)
        if tag not in SENSITIVE_BMPS:
            fields.append((tag, data[start:end]))
        pos = end
    return tuple(fields)
