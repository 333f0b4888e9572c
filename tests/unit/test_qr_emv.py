"""EMVCo merchant-presented payloads: a golden payload built by hand, an independent CRC,
round trips and a fuzz proving the decoder raises only EmvError."""

from __future__ import annotations

import contextlib
import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.qr.emv import (
    EmvError,
    EmvPayload,
    MerchantAccount,
    MerchantInfo,
    crc16_ccitt_false,
    decode_payload,
    emv_payload_for,
    encode_payload,
)
from terminal.errors import DeviceProtocolError


def bitwise_crc(data: bytes) -> int:
    """CRC-16/CCITT-FALSE one bit at a time, straight from the definition (independent of
    the table-driven implementation under test)."""
    crc = 0xFFFF
    for byte in data:
        for bit in range(7, -1, -1):
            top = (crc >> 15) & 1
            crc = (crc << 1) & 0xFFFF
            if top ^ ((byte >> bit) & 1):
                crc ^= 0x1021
    return crc


MERCHANT = MerchantInfo(
    name="HACHINOHE CITY", city="HACHINOHE",
    accounts=(MerchantAccount(guid="jp.or.paymentsjapan", fields=(("01", "0123456789012"),)),),
)

# Built by hand, object by object: id, 2-digit length, value.
GOLDEN_STATIC_BODY = (
    "000201"  # payload format indicator "01"
    "010211"  # point of initiation: static
    "2640"  # merchant account template, 40 characters:
    "0019jp.or.paymentsjapan"  # GUID
    "01130123456789012"  # merchant id
    "52049399"  # MCC
    "5303392"  # JPY
    "5802JP"
    "5914HACHINOHE CITY"
    "6009HACHINOHE"
    "6304"
)


def test_crc_check_value() -> None:
    assert bitwise_crc(b"123456789") == 0x29B1
    assert crc16_ccitt_false(b"123456789") == 0x29B1


@given(st.binary(max_size=300))
def test_table_crc_matches_bitwise(data: bytes) -> None:
    assert crc16_ccitt_false(data) == bitwise_crc(data)


def test_golden_static_payload() -> None:
    expected = GOLDEN_STATIC_BODY + f"{bitwise_crc(GOLDEN_STATIC_BODY.encode()):04X}"
    assert emv_payload_for(MERCHANT, None) == expected
    decoded = decode_payload(expected)
    assert decoded.initiation == "11" and not decoded.dynamic
    assert decoded.amount is None
    assert decoded.merchant_name == "HACHINOHE CITY"
    assert decoded.accounts == MERCHANT.accounts


def test_golden_dynamic_payload_with_reference() -> None:
    body = (GOLDEN_STATIC_BODY.replace("010211", "010212")
            .replace("5802JP", "54033005802JP")
            .replace("6304", "62090505S-123" + "6304"))
    expected = body + f"{bitwise_crc(body.encode()):04X}"
    assert emv_payload_for(MERCHANT, 300, reference="S-123") == expected
    decoded = decode_payload(expected)
    assert (decoded.amount, decoded.dynamic, decoded.reference_label) == (300, True, "S-123")


def test_local_script_name_goes_in_language_template() -> None:
    merchant = dataclasses.replace(MERCHANT, language="JA", name_local="八戸市",
                                   city_local="八戸")
    payload = emv_payload_for(merchant, 1200)
    assert "6419" in payload  # 0002JA + 0103八戸市 + 0202八戸 = 19 characters
    assert dict(decode_payload(payload).language) == {"00": "JA", "01": "八戸市", "02": "八戸"}


def _with_crc(body: str) -> str:
    return body + f"{bitwise_crc(body.encode()):04X}"


@pytest.mark.parametrize(("payload", "why"), [
    (GOLDEN_STATIC_BODY + "0000", "CRC mismatch"),
    (GOLDEN_STATIC_BODY[:-4], "must end with the CRC"),
    (_with_crc(GOLDEN_STATIC_BODY[6:]), "must start with"),
    (_with_crc(GOLDEN_STATIC_BODY.replace("5802JP", "")), "required tags missing: 58"),
    (_with_crc(GOLDEN_STATIC_BODY.replace("6009HACHINOHE", "6019HACHINOHE")), "declares"),
    (_with_crc(GOLDEN_STATIC_BODY.replace("010211", "010213")), "point of initiation"),
    (_with_crc(GOLDEN_STATIC_BODY.replace("5802JP", "5802JP5802JP")), "duplicate"),
    (_with_crc(GOLDEN_STATIC_BODY.replace("0019jp.or.paymentsjapan", "0219jp.or.paymentsjapan")),
     "no GUID"),
    (_with_crc(GOLDEN_STATIC_BODY.replace("5802JP", "5406300.505802JP")), "whole units"),
    (_with_crc(GOLDEN_STATIC_BODY.replace("6304", "6304" + "0000" + "6304")), "duplicate tags 63"),
])
def test_decoder_rejects(payload: str, why: str) -> None:
    with pytest.raises(EmvError, match=why):
        decode_payload(payload)


def test_lowercase_crc_is_accepted() -> None:
    payload = emv_payload_for(MERCHANT, 500)
    assert decode_payload(payload[:-4] + payload[-4:].lower()).amount == 500


def test_encoder_refuses_what_the_decoder_would() -> None:
    with pytest.raises(EmvError, match="positive"):
        emv_payload_for(MERCHANT, 0)
    with pytest.raises(EmvError, match="ASCII"):
        emv_payload_for(dataclasses.replace(MERCHANT, name="八戸市"), None)
    with pytest.raises(EmvError, match="1-99"):
        emv_payload_for(dataclasses.replace(MERCHANT, name="X" * 100), None)
    with pytest.raises(EmvError, match="26-51"):
        emv_payload_for(dataclasses.replace(
            MERCHANT, accounts=(MerchantAccount(guid="g", tag="52"),)), None)
    assert issubclass(EmvError, DeviceProtocolError)


ascii_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1,
                     max_size=20)
sub_tags = st.integers(1, 99).map(lambda n: f"{n:02d}")
templates = st.dictionaries(sub_tags, st.text(min_size=1, max_size=20), max_size=3).map(
    lambda d: tuple(sorted(d.items())))
accounts = st.lists(
    st.builds(MerchantAccount, guid=ascii_text,
              fields=st.dictionaries(sub_tags, ascii_text, max_size=2).map(
                  lambda d: tuple(sorted(d.items()))),
              tag=st.integers(26, 51).map(str)),
    min_size=1, max_size=3, unique_by=lambda a: a.tag,
).map(lambda items: tuple(sorted(items, key=lambda a: a.tag)))
payloads = st.builds(
    EmvPayload,
    merchant_name=ascii_text, merchant_city=ascii_text,
    mcc=st.from_regex(r"\A[0-9]{4}\Z"), currency=st.from_regex(r"\A[0-9]{3}\Z"),
    country=st.from_regex(r"\A[A-Z]{2}\Z"), accounts=accounts,
    initiation=st.sampled_from(["", "11", "12"]),
    amount=st.none() | st.integers(0, 10**12),
    postal_code=st.just("") | ascii_text, additional=templates, language=templates,
)


@settings(max_examples=200)
@given(payloads)
def test_round_trip(payload: EmvPayload) -> None:
    text = encode_payload(payload)
    assert decode_payload(text) == payload
    assert encode_payload(decode_payload(text)) == text


@settings(max_examples=300)
@given(st.text(max_size=200))
def test_fuzz_text_raises_only_emv_error(text: str) -> None:
    with contextlib.suppress(EmvError):
        decode_payload(text)


@settings(max_examples=300)
@given(payloads, st.data())
def test_fuzz_mutated_payloads_with_valid_crc(payload: EmvPayload, data: st.DataObject) -> None:
    body = encode_payload(payload)[:-8]
    at = data.draw(st.integers(0, len(body) - 1))
    replacement = data.draw(st.text(min_size=0, max_size=3))
    mutated = body[:at] + replacement + body[at + 1:] + "6304"
    try:
        mutated = mutated + f"{crc16_ccitt_false(mutated.encode('utf-8')):04X}"
        decode_payload(mutated)
    except EmvError:
        pass


@given(st.text(st.characters(codec=None, categories=["Cs", "Lo", "Nd"]), max_size=50))
def test_fuzz_surrogates(text: str) -> None:
    with contextlib.suppress(EmvError):
        decode_payload(text + "6304ABCD")
