"""Byte-exact framing of scanner output: prefix/suffix, noise, partial frames."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.qr.scan_codec import (
    EV_KEY,
    FrameSplitter,
    KeyDecoder,
    ScanFraming,
    ScanNoise,
    decode_frame,
)
from terminal.errors import DeviceProtocolError

CR = ScanFraming()
STX_ETX = ScanFraming(prefix=b"\x02", suffix=b"\x03", require_prefix=True)


def frames(splitter: FrameSplitter, chunk: bytes) -> list[bytes]:
    out = []
    for raw in splitter.feed(chunk):
        if isinstance(raw, ScanNoise):
            raise raw
        out.append(raw)
    return out


def codes(framing: ScanFraming, *chunks: bytes) -> list[str | None]:
    splitter = FrameSplitter(framing)
    return [decode_frame(framing, raw) for chunk in chunks for raw in frames(splitter, chunk)]


def test_cr_terminated_codes_in_arbitrary_chunks() -> None:
    assert codes(CR, b"2812", b"34567890123456\r28", b"99\r") == ["281234567890123456", "2899"]


def test_prefix_is_stripped_and_leading_garbage_dropped() -> None:
    assert codes(STX_ETX, b"\xff\x00noise\x02HELLO\x03") == ["HELLO"]


def test_required_prefix_missing_is_noise() -> None:
    with pytest.raises(ScanNoise, match="prefix"):
        codes(STX_ETX, b"HELLO\x03")
    assert issubclass(ScanNoise, DeviceProtocolError)


def test_crlf_and_empty_frames_are_ignored() -> None:
    assert codes(CR, b"\r\n\r\nABC\r\n") == [None, None, "ABC"]


def test_aim_symbology_identifier_is_stripped_when_configured() -> None:
    framing = ScanFraming(strip_aim=True)
    assert codes(framing, b"]Q1000201ABC\r") == ["000201ABC"]
    assert codes(CR, b"]Q1000201ABC\r") == ["]Q1000201ABC"]


def test_interior_control_bytes_and_bad_utf8_are_noise() -> None:
    with pytest.raises(ScanNoise, match="control"):
        codes(CR, b"12\x0034\r")
    with pytest.raises(ScanNoise, match="utf-8"):
        codes(CR, b"\xff\xfe\xfd\r")


def test_utf8_codes_pass_through() -> None:
    assert codes(CR, "八戸市ABC\r".encode()) == ["八戸市ABC"]


def test_overlong_frame_is_discarded() -> None:
    framing = ScanFraming(max_length=16)
    splitter = FrameSplitter(framing)
    [noise] = splitter.feed(b"x" * 17)
    assert isinstance(noise, ScanNoise) and "no terminator" in str(noise)
    assert splitter.pending == b""
    assert [decode_frame(framing, f) for f in frames(splitter, b"OK\r")] == ["OK"]


def test_multi_byte_suffix() -> None:
    framing = ScanFraming(suffix=b"\r\n")
    assert codes(framing, b"A\r", b"\nB\r\n") == ["A", "B"]


def test_wrap_is_what_the_scanner_sends() -> None:
    assert STX_ETX.wrap("X1") == b"\x02X1\x03"
    with pytest.raises(ValueError):
        ScanFraming(suffix=b"")


@given(st.lists(st.binary(max_size=40), max_size=10))
def test_noise_never_escapes_as_anything_but_scan_noise(chunks: list[bytes]) -> None:
    for framing in (CR, STX_ETX, ScanFraming(strip_aim=True, max_length=64)):
        splitter = FrameSplitter(framing)
        for chunk in chunks:
            try:
                for raw in frames(splitter, chunk):
                    result = decode_frame(framing, raw)
                    assert result is None or result
            except ScanNoise:
                pass


def test_key_decoder_us_layout_with_shift() -> None:
    decoder = KeyDecoder()
    out = b""
    # "aB1!" + Enter: a, shift+b, 1, shift+1, enter; releases and EV_SYN produce nothing
    for event in [(EV_KEY, 30, 1), (EV_KEY, 30, 0), (0, 0, 0), (EV_KEY, 42, 1), (EV_KEY, 48, 1),
                  (EV_KEY, 48, 0), (EV_KEY, 42, 0), (EV_KEY, 2, 1), (EV_KEY, 54, 1),
                  (EV_KEY, 2, 1), (EV_KEY, 54, 0), (EV_KEY, 28, 1), (4, 4, 458792)]:
        out += decoder.feed(*event)
    assert out == b"aB1!\r"


def test_key_decoder_marks_unknown_keys_as_noise() -> None:
    assert KeyDecoder().feed(EV_KEY, 240, 1) == b"\x1a"
    assert KeyDecoder().feed(EV_KEY, 29, 1) == b""  # ctrl is ignored


def test_key_for_round_trips_every_printable_ascii() -> None:
    decoder = KeyDecoder()
    for char in map(chr, range(0x20, 0x7F)):
        code, shift = decoder.key_for(char)
        fresh = KeyDecoder()
        if shift:
            fresh.feed(EV_KEY, 42, 1)
        assert fresh.feed(EV_KEY, code, 1) == char.encode()
