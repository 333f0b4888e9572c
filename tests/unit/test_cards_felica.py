"""The FeliCa codec, byte-exact, and fuzzed: only declared errors come out."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.cards.felica import (
    ApduStatusError,
    FelicaFormatError,
    Polling,
    StorageCard,
    build_acr122_polling,
    build_polling,
    card_from_atr,
    parse_acr122_polling,
    parse_atr,
    parse_get_data_idm,
    parse_polling,
    parse_sensf_res,
    parse_storage_card,
)
from terminal.errors import DeviceProtocolError
from terminal.points import mask_idm

FELICA_ATR = bytes.fromhex("3B8F8001804F0CA0000003061100 3B 0000000042".replace(" ", ""))
MIFARE_1K_ATR = bytes.fromhex("3B8F8001804F0CA000000306030001000000006A")
IDM = bytes.fromhex("012E4CD1A2B3C4D5")
PMM = bytes.fromhex("0120220427674EFF")
POLLING_RES = bytes.fromhex("1401") + IDM + PMM + bytes.fromhex("0003")


def test_felica_atr_parts() -> None:
    atr = parse_atr(FELICA_ATR)
    assert atr.protocols == (0, 1)
    assert atr.historical == bytes.fromhex("804F0CA0000003061100 3B 00000000".replace(" ", ""))
    assert atr.tck == 0x42
    assert card_from_atr(FELICA_ATR) == StorageCard(standard=0x11, card_name=0x003B)
    assert card_from_atr(FELICA_ATR).is_felica  # type: ignore[union-attr]


def test_mifare_atr_is_a_storage_card_but_not_felica() -> None:
    card = card_from_atr(MIFARE_1K_ATR)
    assert card == StorageCard(standard=0x03, card_name=0x0001)
    assert not card.is_felica


def test_contact_card_atr_has_no_storage_card() -> None:
    # T=0 only, no TCK; historical bytes without the 80 category indicator
    assert parse_atr(bytes.fromhex("3B0212345678")[:2] + b"\x12\x34").tck is None
    assert card_from_atr(bytes.fromhex("3B021234")) is None
    assert parse_storage_card(b"") is None
    assert parse_storage_card(bytes.fromhex("8031C0")) is None


@pytest.mark.parametrize(("atr", "message"), [
    ("", "truncated"),
    ("3B", "truncated"),
    ("3A8F", "not 3B or 3F"),
    ("3B8F8001804F0CA0000003061100", "truncated"),
    ("3B8F8001804F0CA00000030611003B0000000043", "checksum"),
    ("3B8F8001804F0CA00000030611003B000000004200", "stray"),
])
def test_bad_atrs(atr: str, message: str) -> None:
    with pytest.raises(FelicaFormatError, match=message):
        parse_atr(bytes.fromhex(atr))


def test_bad_tlv_in_historical_bytes() -> None:
    with pytest.raises(FelicaFormatError, match="says 12 bytes"):
        parse_storage_card(bytes.fromhex("804F0CA000000306"))


def test_get_data() -> None:
    assert parse_get_data_idm(IDM + b"\x90\x00") == IDM


@pytest.mark.parametrize(("response", "error", "text"), [
    ("6A81", ApduStatusError, "6A81 to GET DATA"),
    ("6300", ApduStatusError, "could not complete"),
    ("90", FelicaFormatError, "1 byte"),
    ("", FelicaFormatError, "nothing"),
    ("01020304 9000", FelicaFormatError, "4-byte UID"),
])
def test_get_data_errors(response: str, error: type[Exception], text: str) -> None:
    with pytest.raises(error, match=text):
        parse_get_data_idm(bytes.fromhex(response.replace(" ", "")))


def test_apdu_status_error_keeps_the_status_word() -> None:
    with pytest.raises(ApduStatusError) as caught:
        parse_get_data_idm(bytes.fromhex("6A81"))
    assert caught.value.sw == 0x6A81
    assert isinstance(caught.value, DeviceProtocolError)


def test_polling_command_and_response() -> None:
    assert build_polling() == bytes.fromhex("0600FFFF0100")
    assert build_polling(0x0003, 0, 3) == bytes.fromhex("0600000300 03")
    assert parse_polling(POLLING_RES) == Polling(IDM, PMM, 0x0003)
    assert parse_polling(POLLING_RES[:18].replace(b"\x14", b"\x12", 1), 0) == Polling(
        IDM, PMM, None)
    assert parse_sensf_res(POLLING_RES[1:]) == Polling(IDM, PMM, 0x0003)
    with pytest.raises(ValueError):
        build_polling(request_code=3)


@pytest.mark.parametrize(("frame", "text"), [
    (POLLING_RES[:10], "truncated"),
    (b"\x15" + POLLING_RES[1:], "says 21 bytes"),
    (POLLING_RES[:1] + b"\x07" + POLLING_RES[2:], "not 01"),
    (b"\x12" + POLLING_RES[1:18], "not 20"),
])
def test_polling_errors(frame: bytes, text: str) -> None:
    with pytest.raises(FelicaFormatError, match=text):
        parse_polling(frame)


def test_acr122_polling() -> None:
    assert build_acr122_polling() == bytes.fromhex("FF00000009 D44A0101 00FFFF0100".replace(
        " ", ""))
    answer = bytes.fromhex("D54B0101") + POLLING_RES + b"\x90\x00"
    assert parse_acr122_polling(answer) == Polling(IDM, PMM, 0x0003)
    assert parse_acr122_polling(bytes.fromhex("D54B00 9000".replace(" ", ""))) is None
    with pytest.raises(FelicaFormatError, match="not D54B"):
        parse_acr122_polling(bytes.fromhex("D5430001 9000".replace(" ", "")))
    with pytest.raises(ApduStatusError):
        parse_acr122_polling(bytes.fromhex("6A81"))


def test_mask_idm_shows_four_hex_digits() -> None:
    assert mask_idm(IDM) == "012E…"
    assert IDM.hex() not in mask_idm(IDM)


PARSERS = [parse_atr, parse_storage_card, card_from_atr, parse_get_data_idm, parse_polling,
           parse_sensf_res, parse_acr122_polling]


@pytest.mark.parametrize("parser", PARSERS, ids=lambda p: p.__name__)
@given(data=st.binary(max_size=300))
def test_fuzz_only_declared_errors(parser: object, data: bytes) -> None:
    with contextlib.suppress(DeviceProtocolError):
        parser(data)  # type: ignore[operator]


@given(st.binary(min_size=8, max_size=8), st.binary(min_size=8, max_size=8),
       st.integers(0, 0xFFFF))
def test_polling_round_trip(idm: bytes, pmm: bytes, system_code: int) -> None:
    frame = bytes([20, 1]) + idm + pmm + system_code.to_bytes(2, "big")
    assert parse_polling(frame) == Polling(idm, pmm, system_code)


@given(st.binary(max_size=40).filter(lambda h: len(h) <= 15), st.booleans())
def test_atr_round_trip(historical: bytes, t1: bool) -> None:
    body = bytes([0x80 | len(historical), 0x80, 0x01]) if t1 else bytes([len(historical)])
    atr = b"\x3b" + body + historical
    if t1:
        tck = 0
        for byte in atr[1:]:
            tck ^= byte
        atr += bytes([tck])
    parsed = parse_atr(atr)
    assert parsed.historical == historical
    assert parsed.protocols == ((0, 1) if t1 else (0,))
