"""FeliCa codec: pure parsing and building of the few frames the card readers exchange.

No I/O here. Every function either returns a value or raises ``FelicaFormatError`` (a
``DeviceProtocolError``) that says which frame was wrong and how.

Frames:
- ATR (ISO/IEC 7816-3) of a contactless card seen through PC/SC; a storage card such as
  FeliCa is described by PC/SC Part 3 historical bytes ``80 4F 0C <RID A0 00 00 03 06>
  <standard> <card name, 2 bytes> <4 RFU bytes>``; card name ``00 3B`` = FeliCa.
- GET DATA (``FF CA 00 00 00``) response: UID (the IDm for FeliCa) + SW1 SW2.
- FeliCa Polling response: ``length, 01, IDm(8), PMm(8)[, system code(2)]``.
- ACR122U direct transmit of InListPassiveTarget (PN533 ``D4 4A``) for a FeliCa polling.
"""

from __future__ import annotations

from dataclasses import dataclass

from terminal.errors import DeviceProtocolError

PCSC_RID = bytes.fromhex("A000000306")
FELICA_CARD_NAME = 0x003B
WILDCARD_SYSTEM_CODE = 0xFFFF
UNKNOWN_SYSTEM_CODE = WILDCARD_SYSTEM_CODE  # reported when the reader cannot poll for it
GET_DATA_UID = bytes.fromhex("FFCA000000")
SW_OK = 0x9000

# Status words that readers give to GET DATA, with what they mean to a clerk or installer.
SW_MEANINGS: dict[int, str] = {
    0x6300: "the reader could not complete the operation (card moved away?)",
    0x6A81: "the reader does not support this function",
    0x6B00: "wrong parameters P1-P2",
    0x6CFF: "wrong length Le",
    0x6E00: "class FF not supported by this reader",
    0x6D00: "instruction not supported by this reader",
}


class FelicaFormatError(DeviceProtocolError):
    """A frame from a reader or card did not have the expected format."""


class ApduStatusError(DeviceProtocolError):
    """A reader answered an APDU with a status word other than 90 00."""

    def __init__(self, command: str, sw: int) -> None:
        self.sw = sw
        meaning = SW_MEANINGS.get(sw, "unexpected status")
        super().__init__(
            f"reader answered {sw:04X} to {command}: {meaning}; "
            "tap the card again, or check that the reader supports FeliCa over PC/SC"
        )


@dataclass(frozen=True, slots=True)
class Atr:
    """An ISO/IEC 7816-3 answer to reset, split into its parts."""

    protocols: tuple[int, ...]
    historical: bytes
    tck: int | None


@dataclass(frozen=True, slots=True)
class StorageCard:
    """The PC/SC Part 3 description of a contactless storage card."""

    standard: int
    card_name: int

    @property
    def is_felica(self) -> bool:
        return self.card_name == FELICA_CARD_NAME


@dataclass(frozen=True, slots=True)
class Polling:
    """What a FeliCa card answers to a Polling command."""

    idm: bytes
    pmm: bytes
    system_code: int | None


def _need(frame: bytes, length: int, what: str) -> None:
    if len(frame) < length:
        raise FelicaFormatError(
            f"{what} is truncated: {len(frame)} bytes, need at least {length} "
            f"({frame.hex(' ').upper() or 'empty'})"
        )


def parse_atr(atr: bytes) -> Atr:
    """Split an ATR into protocols, historical bytes and TCK (checked when present)."""
    _need(atr, 2, "ATR")
    if atr[0] not in (0x3B, 0x3F):
        raise FelicaFormatError(f"ATR starts with {atr[0]:02X}, not 3B or 3F (TS)")
    y, k = atr[1] >> 4, atr[1] & 0x0F
    pos, protocols = 2, []
    while True:
        count = bin(y).count("1")
        _need(atr, pos + count, "ATR interface bytes")
        td_at = pos + count - 1 if y & 0x8 else None
        pos += count
        if td_at is None:
            break
        y = atr[td_at] >> 4
        protocols.append(atr[td_at] & 0x0F)
    _need(atr, pos + k, "ATR historical bytes")
    historical = atr[pos : pos + k]
    pos += k
    tck: int | None = None
    if any(p != 0 for p in protocols):
        _need(atr, pos + 1, "ATR (TCK)")
        tck = atr[pos]
        check = 0
        for byte in atr[1 : pos + 1]:
            check ^= byte
        if check != 0:
            raise FelicaFormatError(f"ATR checksum TCK {tck:02X} is wrong ({atr.hex().upper()})")
        pos += 1
    if pos != len(atr):
        raise FelicaFormatError(f"ATR has {len(atr) - pos} stray bytes ({atr.hex().upper()})")
    return Atr(protocols=tuple(protocols) or (0,), historical=bytes(historical), tck=tck)


def parse_storage_card(historical: bytes) -> StorageCard | None:
    """The PC/SC Part 3 storage-card description in ATR historical bytes, or None.

    After the category indicator 80 come COMPACT-TLV objects (tag in the high nibble, length
    in the low one); PC/SC Part 3 puts its application identifier as ``4F <length> <value>``.
    """
    if len(historical) < 1 or historical[0] != 0x80:
        return None
    pos = 1
    while pos < len(historical):
        if historical[pos] == 0x4F:  # PC/SC: AID presence indicator, then a length byte
            _need(historical[pos:], 2, "ATR historical bytes (AID length)")
            tag, length, start = 0x4F, historical[pos + 1], pos + 2
        else:
            tag, length, start = historical[pos] >> 4, historical[pos] & 0x0F, pos + 1
        value = historical[start : start + length]
        if len(value) != length:
            raise FelicaFormatError(
                f"ATR historical bytes: TLV {tag:02X} says {length} bytes, "
                f"{len(value)} follow ({historical.hex().upper()})"
            )
        if tag == 0x4F and length >= 8 and value[:5] == PCSC_RID:
            return StorageCard(standard=value[5], card_name=int.from_bytes(value[6:8], "big"))
        pos = start + length
    return None


def card_from_atr(atr: bytes) -> StorageCard | None:
    """Parse an ATR and return its storage-card description (None for other cards)."""
    return parse_storage_card(parse_atr(atr).historical)


def parse_apdu_response(response: bytes, command: str) -> bytes:
    """The data of an APDU response; raises ``ApduStatusError`` unless SW is 90 00."""
    if len(response) < 2:
        raise FelicaFormatError(
            f"reader answered {command} with {len(response)} byte(s) "
            f"({response.hex().upper() or 'nothing'}), need at least SW1 SW2"
        )
    sw = int.from_bytes(response[-2:], "big")
    if sw != SW_OK:
        raise ApduStatusError(command, sw)
    return bytes(response[:-2])


def parse_get_data_idm(response: bytes) -> bytes:
    """The IDm from a GET DATA (``FF CA 00 00 00``) response to a FeliCa card."""
    data = parse_apdu_response(response, "GET DATA (FF CA 00 00 00)")
    if len(data) != 8:
        raise FelicaFormatError(
            f"GET DATA gave a {len(data)}-byte UID; a FeliCa IDm has 8 bytes "
            "(is this card FeliCa?)"
        )
    return data


def build_polling(system_code: int = WILDCARD_SYSTEM_CODE, request_code: int = 1,
                  time_slots: int = 0) -> bytes:
    """A FeliCa Polling command with its length byte: ``06 00 SC SC RC TSN``."""
    if not 0 <= system_code <= 0xFFFF or not 0 <= request_code <= 2 or time_slots not in (
        0, 1, 3, 7, 15
    ):
        raise ValueError("system code 0..FFFF, request code 0..2, time slots 0/1/3/7/15")
    body = b"\x00" + system_code.to_bytes(2, "big") + bytes([request_code, time_slots])
    return bytes([len(body) + 1]) + body


def parse_polling(frame: bytes, request_code: int = 1) -> Polling:
    """Parse a Polling response ``length 01 IDm PMm [request data]`` (length byte included)."""
    _need(frame, 18, "FeliCa polling response")
    if frame[0] != len(frame):
        raise FelicaFormatError(
            f"FeliCa polling response says {frame[0]} bytes but has {len(frame)}"
        )
    if frame[1] != 0x01:
        raise FelicaFormatError(f"FeliCa polling response code is {frame[1]:02X}, not 01")
    system_code: int | None = None
    if request_code == 1:
        if len(frame) != 20:
            raise FelicaFormatError(
                f"FeliCa polling response with system code has {len(frame)} bytes, not 20"
            )
        system_code = int.from_bytes(frame[18:20], "big")
    elif len(frame) not in (18, 20):
        raise FelicaFormatError(f"FeliCa polling response has {len(frame)} bytes")
    return Polling(idm=bytes(frame[2:10]), pmm=bytes(frame[10:18]), system_code=system_code)


def parse_sensf_res(sensf_res: bytes, request_code: int = 1) -> Polling:
    """Parse nfcpy's ``sensf_res`` (a polling response without its length byte)."""
    return parse_polling(bytes([(len(sensf_res) + 1) & 0xFF]) + sensf_res, request_code)


# ACR122U (PN533 behind PC/SC): FF 00 00 00 Lc + InListPassiveTarget(MaxTg=1, 212 kbps F).
ACR122_DIRECT = bytes.fromhex("FF000000")
INLIST_FELICA_212 = bytes.fromhex("D44A0101")


def build_acr122_polling(system_code: int = WILDCARD_SYSTEM_CODE) -> bytes:
    """The ACR122U pseudo-APDU that makes the reader send a FeliCa Polling (request code 1)."""
    payload = INLIST_FELICA_212 + build_polling(system_code, 1)[1:]
    return ACR122_DIRECT + bytes([len(payload)]) + payload


def parse_acr122_polling(response: bytes) -> Polling | None:
    """Parse ``D5 4B NbTg [Tg <polling response>] 90 00``; None when no card answered."""
    data = parse_apdu_response(response, "ACR122U InListPassiveTarget")
    _need(data, 3, "InListPassiveTarget response")
    if data[:2] != b"\xd5\x4b":
        raise FelicaFormatError(
            f"InListPassiveTarget response starts {data[:2].hex().upper()}, not D54B"
        )
    if data[2] == 0:
        return None
    _need(data, 5, "InListPassiveTarget target data")
    return parse_polling(data[4:], request_code=1)


__all__ = [
    "FELICA_CARD_NAME",
    "GET_DATA_UID",
    "INLIST_FELICA_212",
    "PCSC_RID",
    "UNKNOWN_SYSTEM_CODE",
    "ApduStatusError",
    "Atr",
    "FelicaFormatError",
    "Polling",
    "StorageCard",
    "build_acr122_polling",
    "build_polling",
    "card_from_atr",
    "parse_acr122_polling",
    "parse_apdu_response",
    "parse_atr",
    "parse_get_data_idm",
    "parse_polling",
    "parse_sensf_res",
    "parse_storage_card",
]
