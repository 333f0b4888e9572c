"""Byte-exact ESC/POS command builders, cp932 encoding and status parsing."""

from __future__ import annotations

import pytest

from drivers.printer import escpos_bytes as cmd
from drivers.printer.escpos_bytes import PrinterStatus, parse_status, status_bytes
from terminal.errors import DeviceProtocolError


def test_init_and_kanji_mode_bytes() -> None:
    assert cmd.INIT == b"\x1b\x40"
    assert cmd.KANJI_SHIFT_JIS == b"\x1c\x43\x01"
    assert cmd.KANJI_ON == b"\x1c\x26"
    assert cmd.KANJI_OFF == b"\x1c\x2e"


def test_kanji_text_wraps_cp932_in_fs_and_fs_dot() -> None:
    encoded = cmd.kanji_text("領収書 ￥1,200")
    assert encoded.data == b"\x1c&" + "領収書 ￥1,200".encode("cp932") + b"\x1c."
    assert encoded.data[2:8] == b"\x97\xcc\x8e\xfb\x8f\x91"  # 領収書 in Shift_JIS
    assert encoded.replaced == ()


def test_ascii_text_goes_out_as_is() -> None:
    assert cmd.kanji_text("No. M-1") == cmd.Encoded(b"No. M-1")


def test_yen_sign_becomes_fullwidth_yen() -> None:
    assert cmd.encode_cp932("¥500").data == b"\x81\x8f500"  # ￥ = 0x818F
    assert cmd.encode_cp932("〜−").data == "～－".encode("cp932")


def test_unencodable_characters_become_geta_and_are_reported() -> None:
    encoded = cmd.encode_cp932("𠮷野家 😀")
    assert encoded.data == b"\x81\xac" + "野家 ".encode("cp932") + b"\x81\xac"
    assert encoded.replaced == ("𠮷", "😀")


def test_alignment_size_bold_feed() -> None:
    assert cmd.align("left") == b"\x1ba\x00"
    assert cmd.align("center") == b"\x1ba\x01"
    assert cmd.align("right") == b"\x1ba\x02"
    assert cmd.char_size(2, 2) == b"\x1d!\x11"
    assert cmd.char_size(1, 1) == b"\x1d!\x00"
    assert cmd.char_size(1, 2) == b"\x1d!\x01"
    assert cmd.bold(True) == b"\x1bE\x01"
    assert cmd.feed(3) == b"\x1bd\x03"
    with pytest.raises(ValueError, match="out of range"):
        cmd.char_size(9, 1)


def test_cut_bytes() -> None:
    assert cmd.cut() == b"\x1dV\x41\x03"
    assert cmd.cut(partial=True, feed_lines=0) == b"\x1dV\x42\x00"


def test_drawer_kick_is_esc_p_0_25_250() -> None:
    assert cmd.drawer_kick() == b"\x1bp\x00\x19\xfa"
    assert cmd.drawer_kick(pin=1, on_ms=100, off_ms=200) == b"\x1bp\x01\x32\x64"
    with pytest.raises(ValueError, match="pin"):
        cmd.drawer_kick(pin=2)


def test_qr_code_bytes() -> None:
    assert cmd.qr_code("abc", module_size=6) == (
        b"\x1d(k\x04\x00\x31\x41\x32\x00"  # model 2
        b"\x1d(k\x03\x00\x31\x43\x06"  # module size 6
        b"\x1d(k\x03\x00\x31\x45\x31"  # error correction M
        b"\x1d(k\x06\x00\x31\x50\x30abc"  # store 3 bytes (+3)
        b"\x1d(k\x03\x00\x31\x51\x30"  # print
    )


def test_qr_code_length_is_little_endian() -> None:
    payload = "x" * 300
    store = cmd.qr_code(payload).split(b"\x1d(k")[4]
    assert store[:2] == (303).to_bytes(2, "little") == b"\x2f\x01"
    with pytest.raises(ValueError, match="payload"):
        cmd.qr_code("")


def test_raster_image_header_and_fragments() -> None:
    rows = bytes([0xFF, 0x00]) * 3
    assert cmd.raster_image(rows, 2, 3) == b"\x1dv0\x00\x02\x00\x03\x00" + rows
    split = cmd.raster_fragments(rows, 2, 3, max_rows=2)
    assert split == cmd.raster_image(rows[:4], 2, 2) + cmd.raster_image(rows[4:], 2, 1)
    with pytest.raises(ValueError, match="raster data"):
        cmd.raster_image(rows, 2, 2)


def test_status_query_bytes() -> None:
    assert [cmd.status_query(n) for n in (1, 2, 4)] == [b"\x10\x04\x01", b"\x10\x04\x02",
                                                         b"\x10\x04\x04"]  # fmt: skip
    with pytest.raises(ValueError):
        cmd.status_query(5)


def test_parse_status_ready() -> None:
    assert parse_status(0x12, 0x12, 0x12) == PrinterStatus(online=True)
    assert parse_status(0x12, 0x12, 0x12).ready


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ((0x1A, 0x16, 0x12), PrinterStatus(online=False, cover_open=True)),
        ((0x1A, 0x32, 0x72), PrinterStatus(online=False, paper_out=True)),
        ((0x12, 0x12, 0x1E), PrinterStatus(online=True, paper_near_end=True)),
        ((0x1A, 0x52, 0x12), PrinterStatus(online=False, error=True)),
        ((0x1A, 0x12, 0x12), PrinterStatus(online=False)),
    ],
)
def test_parse_status_flags(answers: tuple[int, int, int], expected: PrinterStatus) -> None:
    assert parse_status(*answers) == expected


def test_parse_status_rejects_bytes_that_are_not_status() -> None:
    with pytest.raises(DeviceProtocolError, match="DLE EOT 4 with 0x41"):
        parse_status(0x12, 0x12, 0x41)


def test_status_bytes_round_trip() -> None:
    for status in (
        PrinterStatus(online=True),
        PrinterStatus(online=False, cover_open=True),
        PrinterStatus(online=False, paper_out=True, paper_near_end=True),
    ):
        answers = status_bytes(status)
        assert parse_status(answers[1], answers[2], answers[4]) == status


def test_status_describe() -> None:
    assert PrinterStatus(online=True).describe() == "online, paper ok"
    assert "paper out" in PrinterStatus(online=False, paper_out=True).describe()
    assert "unknown" in cmd.UNKNOWN_STATUS.describe()
