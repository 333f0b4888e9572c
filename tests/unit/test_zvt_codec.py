"""ZVT codec: golden frames, CRC vectors, BMP/TLV/BCD fields, and fuzzed decoders."""

from __future__ import annotations

import binascii
import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.zvt import messages as m
from drivers.zvt.brands import BRANDS, brand_for
from drivers.zvt.codec import (
    Apdu,
    FrameReader,
    ZvtCrcError,
    ZvtProtocolError,
    bcd_decode,
    bcd_encode,
    crc16_kermit,
    decode_apdu,
    decode_bmps,
    decode_tlv,
    encode_apdu,
    encode_bmps,
    encode_tlv,
    frame,
    unframe,
)
from terminal.errors import DeviceProtocolError

H = bytes.fromhex


def _rev(value: int, bits: int) -> int:
    return int(f"{value:0{bits}b}"[::-1], 2)


def kermit_via_stdlib(data: bytes) -> int:
    """An independent CRC-16/KERMIT: the reflected form of binascii's CRC-CCITT (XMODEM)."""
    return _rev(binascii.crc_hqx(bytes(_rev(b, 8) for b in data), 0), 16)


def test_crc16_kermit_check_value() -> None:
    assert crc16_kermit(b"123456789") == 0x2189
    assert crc16_kermit(b"") == 0


@given(st.binary(max_size=300))
def test_crc16_kermit_agrees_with_an_independent_implementation(data: bytes) -> None:
    assert crc16_kermit(data) == kermit_via_stdlib(data)


def test_golden_ack_frame() -> None:
    # The ECR's positive acknowledgement 80 00 00 as framed in the ZVT serial examples.
    assert frame(H("800000")) == H("1002 800000 1003 F51F")


def test_golden_registration_frame() -> None:
    apdu = encode_apdu(m.registration("000000"))
    assert apdu == H("0600 06 000000 0E 0392")
    assert frame(apdu) == H("1002 0600060000000E0392 1003 33AC")


def test_golden_authorization() -> None:
    apdu = encode_apdu(m.authorization(1200, "T-1-1", hint=0xD1))
    assert apdu == H("0601 15 04000000001200 490392 8AD1 3CF0F0F5") + b"T-1-1"
    assert frame(apdu)[-4:] == H("1003 6722")


def test_dle_is_doubled_and_crc_covers_unstuffed_data_plus_etx() -> None:
    raw = frame(H("101003"))
    assert raw == H("1002 10101010 03 1003") + crc16_kermit(H("10100303")).to_bytes(2, "little")
    assert unframe(raw) == H("101003")


def test_bad_crc_and_bad_stuffing_are_protocol_errors() -> None:
    good = frame(H("800000"))
    with pytest.raises(ZvtCrcError):
        unframe(good[:-1] + bytes([good[-1] ^ 1]))
    with pytest.raises(ZvtProtocolError, match="stuffing"):
        unframe(H("1002 80 1041 1003 0000"))
    with pytest.raises(ZvtProtocolError, match="incomplete"):
        unframe(good[:-2])


def test_frame_reader_skips_noise_and_resyncs() -> None:
    reader = FrameReader()
    out = [reader.feed(b) for b in H("06 15 FF") + frame(H("060F00"))]
    assert [o for o in out if o is not None] == [H("060F00")]


def test_apdu_lengths() -> None:
    assert encode_apdu(Apdu(0x80, 0x00)) == H("800000")
    long = Apdu(0x06, 0xD3, bytes(300))
    raw = encode_apdu(long)
    assert raw[:5] == H("06D3 FF 2C01")
    assert decode_apdu(raw) == long
    assert decode_apdu(encode_apdu(Apdu(0x06, 0xD3, bytes(255)))).data == bytes(255)
    assert encode_apdu(Apdu(1, 2, bytes(254)))[2] == 254
    with pytest.raises(ZvtProtocolError):
        decode_apdu(H("060F05 0102"))


def test_bcd() -> None:
    assert bcd_encode(1200, 6) == H("000000001200")
    assert bcd_decode(H("000000001200")) == 1200
    with pytest.raises(ZvtProtocolError):
        bcd_decode(H("0A"))
    with pytest.raises(ZvtProtocolError):
        bcd_encode(10**12, 6)


def test_bmps_llvar_and_tlv() -> None:
    data = encode_bmps([(0x27, b"\x00"), (0x8B, b"VISA\x00"), (0x3C, b"ref"),
                        (0x06, encode_tlv([(0xDF60, b"credit=5")]))])
    assert data == H("2700 8BF0F5") + b"VISA\x00" + H("3CF0F0F3") + b"ref" + H("06 0B DF6008") \
        + b"credit=5"
    assert decode_bmps(data)[1] == (0x8B, b"VISA\x00")
    assert decode_tlv(H("DF6001 41 1F1001 42")) == ((0xDF60, b"A"), (0x1F10, b"B"))
    with pytest.raises(ZvtProtocolError, match="unknown BMP"):
        decode_bmps(H("FF00"))


def test_card_data_is_dropped_at_the_codec_boundary() -> None:
    data = encode_bmps([(0x22, H("411111EEEEEE1111")), (0x0E, H("2712")), (0x04, bcd_encode(5, 6))])
    assert decode_bmps(data) == ((0x04, bcd_encode(5, 6)),)
    status = m.parse_status(data)
    assert "4111" not in repr(status) and status.amount == 5


def test_parse_status_golden() -> None:
    data = (H("2700 04000000001200 0B000042 870007 8A0A 3B") + b"123456\0\0"
            + H("8BF0F5") + b"VISA\0" + H("3CF0F0F3") + b"A-1" + H("2952500001"))
    s = m.parse_status(data)
    assert (s.result_code, s.amount, s.trace_no, s.receipt_no) == (0, 1200, 42, 7)
    assert (s.approval_code, s.card_type, s.card_name, s.ref) == ("123456", 0x0A, "VISA", "A-1")
    assert s.terminal_id == "52500001"


def test_totals_container_roundtrip() -> None:
    container = m.totals_container({"credit": 1000, "emoney": -300}, 2)
    s = m.parse_status(encode_bmps([(0x27, b"\0"), (0x88, bcd_encode(3, 3)),
                                    (0x06, container)]))
    assert s.totals == {"credit": 1000, "emoney": -300} and s.count == 2 and s.turnover_no == 3


def test_texts_and_brands() -> None:
    assert "カードを挿入/タッチしてください" in m.intermediate_text(b"\x0a")
    assert "0x99" in m.intermediate_text(b"\x99")
    assert "busy" in m.result_text(m.RC_BUSY)
    assert brand_for(0xE0) is not None and brand_for(0xE0).kind == "transit_ic"  # type: ignore[union-attr]
    assert brand_for(None, "waon") is not None
    assert {b.kind for b in BRANDS} == {"credit", "transit_ic", "emoney", "qr"}


# -- fuzz: only our declared protocol error may come out of a decoder ---------------------
def _only_protocol_errors(decoder: object, data: bytes) -> None:
    try:
        decoder(data)  # type: ignore[operator]
    except ZvtProtocolError as exc:
        assert isinstance(exc, DeviceProtocolError)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_fuzz_decoders_raise_only_protocol_errors(data: bytes) -> None:
    for decoder in (unframe, decode_apdu, decode_bmps, decode_tlv, m.parse_status,
                    m.intermediate_text):
        _only_protocol_errors(decoder, data)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([0x10, 0x02, 0x03, 0x06, 0x15, 0x00, 0xFF]), max_size=40))
def test_fuzz_frame_reader_on_control_bytes(data: list[int]) -> None:
    reader = FrameReader()
    for byte in data:
        with contextlib.suppress(ZvtProtocolError):
            reader.feed(byte)


@given(st.binary(max_size=400))
def test_frame_roundtrip(payload: bytes) -> None:
    assert unframe(frame(payload)) == payload


@given(st.integers(0, 255), st.integers(0, 255), st.binary(max_size=600))
def test_apdu_roundtrip(cls: int, instr: int, data: bytes) -> None:
    apdu = Apdu(cls, instr, data)
    assert decode_apdu(encode_apdu(apdu)) == apdu
