"""EMVCo merchant-presented QR payloads (EMV QRCPS-MPM): a pure encoder and a strict decoder.

A payload is a run of TLV objects: a 2-digit id, a 2-digit length (01-99, counted in
characters) and the value. Tag ``00`` (payload format indicator, "01") comes first; tag ``63``
(CRC) comes last and holds CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final
xor) over the UTF-8 bytes of everything before its value, including the ``"6304"`` itself, as 4
uppercase hex digits.

The decoder raises only :class:`EmvError` (a ``DeviceProtocolError``): a scanned or pasted
payload is untrusted input.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from terminal.errors import DeviceProtocolError

JPY = "392"
STATIC = "11"
DYNAMIC = "12"
_ACCOUNT_TEMPLATES = range(26, 52)  # 26-51: templates with a GUID in sub-tag 00
_NETWORK_ACCOUNTS = range(2, 26)  # 02-25: reserved for card networks, primitive values
_KNOWN = {"00", "01", "52", "53", "54", "55", "56", "57", "58", "59", "60", "61", "62", "63",
          "64"}
_REQUIRED = ("00", "52", "53", "58", "59", "60", "63")


class EmvError(DeviceProtocolError):
    """A malformed or unsupported EMV merchant-presented payload."""


@dataclass(frozen=True, slots=True)
class MerchantAccount:
    """A merchant account information template (tags 26-51): GUID (sub-tag 00) + fields."""

    guid: str
    fields: tuple[tuple[str, str], ...] = ()
    tag: str = "26"


@dataclass(frozen=True, slots=True)
class MerchantInfo:
    """A merchant's static data, from configuration (the lead wires the config)."""

    name: str  # tag 59, ASCII (EMVCo "ans"); local-script name goes in name_local
    city: str  # tag 60
    accounts: tuple[MerchantAccount, ...]
    mcc: str = "9399"  # tag 52; 9399 = government services n.e.c.
    country: str = "JP"  # tag 58
    currency: str = JPY  # tag 53, ISO 4217 numeric
    postal_code: str = ""  # tag 61
    language: str = ""  # tag 64 sub-tag 00, e.g. "JA"
    name_local: str = ""  # tag 64 sub-tag 01
    city_local: str = ""  # tag 64 sub-tag 02
    terminal_label: str = ""  # tag 62 sub-tag 07


@dataclass(frozen=True, slots=True)
class EmvPayload:
    """A decoded payload. ``amount`` is whole yen (tag 54), ``None`` when the payer enters it."""

    merchant_name: str
    merchant_city: str
    mcc: str
    currency: str
    country: str
    accounts: tuple[MerchantAccount, ...] = ()
    network_accounts: tuple[tuple[str, str], ...] = ()
    initiation: str = ""  # "11" static, "12" dynamic, "" absent
    amount: int | None = None
    postal_code: str = ""
    additional: tuple[tuple[str, str], ...] = ()  # tag 62 sub-tags, e.g. ("05", reference)
    language: tuple[tuple[str, str], ...] = ()  # tag 64 sub-tags
    extra: tuple[tuple[str, str], ...] = field(default=())  # other tags, kept for round trips

    @property
    def dynamic(self) -> bool:
        return self.initiation == DYNAMIC

    @property
    def reference_label(self) -> str:
        return dict(self.additional).get("05", "")


def crc16_ccitt_false(data: bytes) -> int:
    """CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF; check value of b"123456789" is 0x29B1."""
    crc = 0xFFFF
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ _CRC_TABLE[((crc >> 8) ^ byte) & 0xFF]
    return crc


def _crc_table() -> tuple[int, ...]:
    table = []
    for i in range(256):
        crc = i << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
        table.append(crc & 0xFFFF)
    return tuple(table)


_CRC_TABLE = _crc_table()


def crc_of(payload_without_crc_value: str) -> str:
    """4 uppercase hex digits over ``payload_without_crc_value`` (which ends in "6304")."""
    try:
        data = payload_without_crc_value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise EmvError("payload holds characters that are not valid Unicode text") from exc
    return f"{crc16_ccitt_false(data):04X}"


# --- TLV ---------------------------------------------------------------------------------


def tlv(tag: str, value: str) -> str:
    if len(tag) != 2 or not tag.isascii() or not tag.isdigit():
        raise EmvError(f"EMV tag must be 2 digits, got {tag!r}")
    if not 1 <= len(value) <= 99:
        raise EmvError(f"EMV tag {tag}: value must be 1-99 characters, got {len(value)}")
    return f"{tag}{len(value):02d}{value}"


def parse_tlv(text: str, where: str = "payload") -> list[tuple[str, str]]:
    """Split ``text`` into (tag, value) pairs; every byte must belong to exactly one object."""
    items: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        head = text[pos:pos + 4]
        if len(head) < 4 or not head.isascii() or not head.isdigit():
            raise EmvError(f"{where}: bad TLV header {head!r} at offset {pos}")
        tag, length = head[:2], int(head[2:])
        if length == 0:
            raise EmvError(f"{where}: tag {tag} has length 00 at offset {pos}")
        value = text[pos + 4:pos + 4 + length]
        if len(value) != length:
            raise EmvError(f"{where}: tag {tag} declares {length} characters, "
                           f"only {len(value)} remain")
        items.append((tag, value))
        pos += 4 + length
    tags = [tag for tag, _ in items]
    duplicates = sorted({tag for tag in tags if tags.count(tag) > 1})
    if duplicates:
        raise EmvError(f"{where}: duplicate tags {', '.join(duplicates)}")
    return items


# --- encoding ----------------------------------------------------------------------------


def _template(pairs: tuple[tuple[str, str], ...] | list[tuple[str, str]]) -> str:
    return "".join(tlv(tag, value) for tag, value in sorted(pairs))


def _account_value(account: MerchantAccount) -> str:
    tag = account.tag
    if not (tag.isascii() and tag.isdigit() and int(tag) in _ACCOUNT_TEMPLATES):
        raise EmvError(f"merchant account template tag must be 26-51, got {account.tag!r}")
    if any(sub == "00" for sub, _ in account.fields):
        raise EmvError("merchant account sub-tag 00 is the GUID: pass it as guid")
    return _template([("00", account.guid), *account.fields])


def encode_payload(payload: EmvPayload) -> str:
    """Build the payload string, tags in ascending order, CRC last."""
    _check_encodable(payload)
    objects: list[tuple[str, str]] = [("00", "01")]
    if payload.initiation:
        objects.append(("01", payload.initiation))
    objects.extend(payload.network_accounts)
    objects.extend((a.tag, _account_value(a)) for a in payload.accounts)
    objects += [("52", payload.mcc), ("53", payload.currency)]
    if payload.amount is not None:
        objects.append(("54", str(payload.amount)))
    objects += [("58", payload.country), ("59", payload.merchant_name),
                ("60", payload.merchant_city)]
    if payload.postal_code:
        objects.append(("61", payload.postal_code))
    if payload.additional:
        objects.append(("62", _template(payload.additional)))
    if payload.language:
        objects.append(("64", _template(payload.language)))
    objects.extend(payload.extra)
    body = "".join(tlv(tag, value) for tag, value in sorted(objects)) + "6304"
    return body + crc_of(body)


def _check_encodable(payload: EmvPayload) -> None:
    if not payload.accounts and not payload.network_accounts:
        raise EmvError("an EMV payload needs at least one merchant account (tags 02-51)")
    if payload.amount is not None and payload.amount < 0:
        raise EmvError(f"amount must not be negative, got {payload.amount}")
    for tag, _ in payload.extra:
        if tag in _KNOWN or _is_account(tag):
            raise EmvError(f"tag {tag} has its own field; it cannot go in extra")
    for name in ("merchant_name", "merchant_city"):
        value = getattr(payload, name)
        if not (value.isascii() and value.isprintable()):
            raise EmvError(f"{name} must be printable ASCII; put local script in tag 64")


def emv_payload_for(merchant: MerchantInfo, amount: int | None,
                    reference: str = "") -> str:
    """The payload a counter shows: static (``amount=None``) or dynamic for ``amount`` yen.

    ``reference`` goes in tag 62 sub-tag 05 (reference label) so a payment can be matched
    to its sale.
    """
    if amount is not None and amount <= 0:
        raise EmvError(f"a dynamic code needs a positive amount, got {amount}")
    additional = []
    if reference:
        additional.append(("05", reference))
    if merchant.terminal_label:
        additional.append(("07", merchant.terminal_label))
    language = [(tag, value) for tag, value in (("00", merchant.language),
                ("01", merchant.name_local), ("02", merchant.city_local)) if value]
    return encode_payload(EmvPayload(
        merchant_name=merchant.name, merchant_city=merchant.city, mcc=merchant.mcc,
        currency=merchant.currency, country=merchant.country, accounts=merchant.accounts,
        initiation=STATIC if amount is None else DYNAMIC, amount=amount,
        postal_code=merchant.postal_code, additional=tuple(additional),
        language=tuple(language),
    ))


# --- decoding ----------------------------------------------------------------------------


def _is_account(tag: str) -> bool:
    return tag.isdigit() and (int(tag) in _ACCOUNT_TEMPLATES or int(tag) in _NETWORK_ACCOUNTS)


def _check_crc(text: str) -> None:
    if len(text) < 8 or text[-8:-4] != "6304":
        raise EmvError("payload must end with the CRC object 6304XXXX")
    given = text[-4:]
    if len(given) != 4 or any(c not in "0123456789ABCDEFabcdef" for c in given):
        raise EmvError(f"CRC must be 4 hex digits, got {given!r}")
    expected = crc_of(text[:-4])
    if given.upper() != expected:
        raise EmvError(f"CRC mismatch: payload says {given}, computed {expected}")


def _decode_account(tag: str, value: str) -> MerchantAccount:
    fields = parse_tlv(value, f"merchant account template {tag}")
    guid = dict(fields).get("00")
    if guid is None:
        raise EmvError(f"merchant account template {tag} has no GUID (sub-tag 00)")
    return MerchantAccount(guid=guid, tag=tag,
                           fields=tuple(sorted(p for p in fields if p[0] != "00")))


def _decode_amount(value: str, currency: str) -> int:
    if not (value.isascii() and value.isdigit()):
        raise EmvError(f"amount {value!r}: currency {currency} takes whole units (digits only)")
    return int(value)


def _check_header(items: list[tuple[str, str]]) -> dict[str, str]:
    if not items or items[0] != ("00", "01"):
        raise EmvError("payload must start with payload format indicator 000201")
    if items[-1][0] != "63":
        raise EmvError("the CRC (tag 63) must be the last object")
    tags = dict(items)
    missing = [tag for tag in _REQUIRED if tag not in tags]
    if missing:
        raise EmvError(f"required tags missing: {', '.join(missing)}")
    if not any(_is_account(tag) for tag in tags):
        raise EmvError("no merchant account information (tags 02-51)")
    if tags.get("01", STATIC) not in (STATIC, DYNAMIC):
        raise EmvError(f"point of initiation must be 11 or 12, got {tags['01']!r}")
    if not (len(tags["52"]) == 4 and tags["52"].isascii() and tags["52"].isdigit()):
        raise EmvError(f"merchant category code must be 4 digits, got {tags['52']!r}")
    if not (len(tags["53"]) == 3 and tags["53"].isascii() and tags["53"].isdigit()):
        raise EmvError(f"currency must be ISO 4217 numeric (3 digits), got {tags['53']!r}")
    if len(tags["58"]) != 2:
        raise EmvError(f"country must be 2 letters, got {tags['58']!r}")
    return tags


def decode_payload(text: str) -> EmvPayload:
    """Parse and validate a payload (lengths, CRC, required tags); raise EmvError if bad."""
    if not isinstance(text, str):
        raise EmvError(f"payload must be text, got {type(text).__name__}")
    _check_crc(text)
    items = parse_tlv(text)
    tags = _check_header(items)
    currency = tags["53"]
    return EmvPayload(
        merchant_name=tags["59"], merchant_city=tags["60"], mcc=tags["52"],
        currency=currency, country=tags["58"],
        accounts=tuple(_decode_account(t, v) for t, v in items
                       if t.isdigit() and int(t) in _ACCOUNT_TEMPLATES),
        network_accounts=tuple((t, v) for t, v in items
                               if t.isdigit() and int(t) in _NETWORK_ACCOUNTS),
        initiation=tags.get("01", ""),
        amount=_decode_amount(tags["54"], currency) if "54" in tags else None,
        postal_code=tags.get("61", ""),
        additional=tuple(sorted(parse_tlv(tags["62"], "additional data (62)")))
        if "62" in tags else (),
        language=tuple(sorted(parse_tlv(tags["64"], "language template (64)")))
        if "64" in tags else (),
        extra=tuple(sorted((t, v) for t, v in items
                           if t not in _KNOWN and not _is_account(t))),
    )


__all__ = [
    "DYNAMIC", "JPY", "STATIC", "EmvError", "EmvPayload", "MerchantAccount", "MerchantInfo",
    "crc16_ccitt_false", "crc_of", "decode_payload", "emv_payload_for", "encode_payload",
    "parse_tlv", "tlv",
]
