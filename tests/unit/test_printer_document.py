"""Receipt -> ESC/POS bytes, read back through the simulator's decoder."""

from __future__ import annotations

import json
from typing import Any

import pytest
from madoguchi_testing import shared_dir
from PIL import Image

from drivers.printer import escpos_bytes as cmd
from drivers.printer.document import RasterImage, kanji_job, lines_job
from drivers.printer.parser import EscposParser, decode
from drivers.printer.raster import to_raster
from terminal.catalogue import Account, Catalogue
from terminal.ports import ReceiptLine
from terminal.receipt import Receipt, ReceiptHeader, build_receipt

VECTORS = shared_dir() / "vectors" / "journal" / "valid.jsonl"
CATALOGUE = Catalogue(
    items=(),
    accounts=(
        Account("14-01-01", "一般会計", "八戸市", "T1234567890123"),
        Account("13-01-02", "一般会計", "八戸市", "T1234567890123"),
        Account("21-05-01", "特別会計", "八戸市ミュージアム売店"),
    ),
)
SERVER = "https://madoguchi.example.jp"


def entry(seq: int = 3) -> dict[str, Any]:
    for line in VECTORS.read_text("utf-8").split("\n")[1:]:
        if line and (found := json.loads(line))["seq"] == seq:
            return dict(found)
    raise LookupError(seq)


def vector_receipt(**kw: Any) -> Receipt:
    e = entry()
    url = f"{SERVER}/r/{e['terminal']}/{e['seq']}/{e['hash'][:16]}"
    header = ReceiptHeader("八戸市博物館", address="八戸市根城字東構35-1")
    return build_receipt(
        e["body"], kw.pop("kind", e["kind"]), e["at"], e["terminal"], e["seq"], header,
        CATALOGUE, qr_url=url, **kw,
    )  # fmt: skip


def test_sale_decodes_to_the_invoice_fields() -> None:
    receipt = vector_receipt(addressee="山田太郎", purpose="入館料")
    job = kanji_job(receipt, columns=42)
    assert job.data.startswith(cmd.INIT + cmd.CODE_TABLE_KATAKANA + cmd.KANJI_SHIFT_JIS)
    printout = decode(job.data)
    assert printout.kanji_code == 1
    [page] = printout.pages
    text = page.text
    assert "発行者 八戸市" in text
    assert "登録番号 T1234567890123" in text
    assert "発行者 八戸市ミュージアム売店" in text
    assert "10%対象 ￥250 (内消費税 ￥22)" in text
    assert "8%対象 ￥450 (内消費税 ￥33)" in text
    assert "非課税 ￥900" in text
    assert any(line.startswith("※コーヒー（持ち帰り）") for line in page.lines)
    assert not any(line.startswith("※一般入館料") for line in page.lines)
    assert "山田太郎 様" in text
    assert "但し 入館料 として" in text
    assert "再発行" not in text and "練習" not in text
    assert page.double == ["領収書"]
    assert page.qr == [f"{SERVER}/r/hachinohe-museum-01/3/b937219ad8f26be0"]
    assert all(len(line.encode("cp932")) <= 42 for line in page.lines)


def test_reprint_and_training_are_marked_in_double_size() -> None:
    page = decode(kanji_job(vector_receipt(reprint=True)).data).pages[0]
    assert page.double == ["【再発行】", "領収書", "【再発行】"]
    page = decode(kanji_job(vector_receipt(kind="training.sale")).data).pages[0]
    assert "【練習】" in page.double


def test_customer_and_store_copies_each_cut() -> None:
    job = kanji_job(vector_receipt(), columns=32, copies=("customer", "store"))
    printout = decode(job.data)
    assert len(printout.pages) == 2
    customer, store = printout.pages
    assert "【控え】" not in customer.double
    assert store.double[0] == store.double[-1] == "【控え】"
    assert customer.qr == store.qr
    assert all(len(line.encode("cp932")) <= 32 for line in store.lines)
    assert job.data.count(cmd.cut()) == 2


def test_unencodable_character_prints_geta_and_is_reported() -> None:
    receipt = vector_receipt(addressee="𠮷田 様方")
    job = kanji_job(receipt)
    assert job.replaced == ("𠮷",)
    assert "〓田 様方 様" in decode(job.data).pages[0].lines


def test_long_double_line_falls_back_to_bold() -> None:
    job = lines_job([ReceiptLine("とても長いタイトルの領収書です", double=True)], None, 32)
    assert cmd.char_size(2, 2) not in job.data
    assert cmd.bold(True) in job.data


def test_logo_is_printed_as_raster_before_the_text() -> None:
    logo = Image.new("L", (64, 16), 0)
    raster = to_raster(logo)
    assert raster == RasterImage(b"\xff" * 8 * 16, 8, 16)
    job = kanji_job(vector_receipt(), logo=raster)
    assert job.data.index(b"\x1dv0") < job.data.index(cmd.KANJI_ON)
    [image] = decode(job.data).pages[0].images
    assert image.size == (64, 16) and image.getpixel((0, 0)) == 0


def test_parser_waits_for_split_commands() -> None:
    data = kanji_job(vector_receipt()).data
    answered: list[int] = []
    parser = EscposParser(on_status=answered.append)
    for i in range(0, len(data), 7):
        parser.feed(data[i : i + 7])
    parser.feed(cmd.status_query(4)[:2])
    assert answered == []
    parser.feed(cmd.status_query(4)[2:])
    assert answered == [4]
    assert parser.flush().pages[0].lines == decode(data).pages[0].lines


def test_text_outside_kanji_mode_is_not_read_as_cp932() -> None:
    # python-escpos sends kanji as GB18030 without Kanji mode: the decoder shows the damage.
    [line] = decode(cmd.INIT + "領収".encode("gb18030") + b"\n").lines
    assert "領" not in line and "\ufffd" in line


@pytest.mark.parametrize("width", [32, 42])
def test_lines_job_matches_the_current_port(width: int) -> None:
    lines = [ReceiptLine("領収書", double=True), ReceiptLine("合計 ￥100")]
    page = decode(lines_job(lines, "https://x/r/t/1/abc", width).data).pages[0]
    assert [t for t in page.lines if t] == ["領収書", "合計 ￥100"] and page.qr == ["https://x/r/t/1/abc"]
