"""Receipts as simplified qualified invoices, and their fixed-width text."""

from __future__ import annotations

from typing import Any

import pytest

from terminal.catalogue import Account, Catalogue
from terminal.documents import refund_body, sale_body, void_body
from terminal.errors import DomainError
from terminal.receipt import (
    Issuer,
    RateTotal,
    ReceiptHeader,
    build_receipt,
    render_lines,
    render_text,
    text_width,
    two_columns,
    wrap,
)
from terminal.sale import SaleLine
from terminal.tenders import Tender, cash_tender

CATALOGUE = Catalogue(
    items=(),
    accounts=(
        Account("14-01-01", "一般会計", "八戸市", "T1234567890123"),
        Account("13-01-02", "一般会計", "八戸市", "T1234567890123"),
        Account("21-05-01", "特別会計", "八戸市ミュージアム売店"),
    ),
)
HEADER = ReceiptHeader("八戸市博物館", address="八戸市根城字東構35-1", phone="0178-44-8111")
AT = "2026-11-26T09:03:00+09:00"
LINES = [
    SaleLine("ADM-G", "一般入館料", 1, 250, "std10", "14-01-01"),
    SaleLine("JUMIN", "住民票の写し", 3, 300, "exempt", "13-01-02"),
    SaleLine("CAFE", "コーヒー（持ち帰り）", 1, 450, "red8", "21-05-01"),
]
SALE: dict[str, Any] = sale_body("M-1", LINES, [cash_tender(1600, 2600)], "c1", "floor")


def receipt(body: dict[str, Any] = SALE, kind: str = "sale", **kw: Any) -> Any:
    return build_receipt(body, kind, AT, "museum-01", 3, HEADER, CATALOGUE, **kw)


def test_build_receipt_holds_the_invoice_facts() -> None:
    made = receipt()
    assert made.date == "2026年11月26日 09:03"
    assert made.issuers == (
        Issuer("八戸市", "T1234567890123"),
        Issuer("八戸市ミュージアム売店", None),
    )
    assert [i.reduced for i in made.items] == [False, False, True]
    assert made.rates == (
        RateTotal("std10", 250, 22),
        RateTotal("red8", 450, 33),
        RateTotal("exempt", 900, 0),
    )
    assert made.total == 1600
    assert made.change == 1000
    assert made.marks == ()
    assert made.title == "領収書"


def test_rate_text() -> None:
    assert RateTotal("std10", 1200, 109).text == "10%対象 ￥1,200 (内消費税 ￥109)"
    assert RateTotal("exempt", 900, 0).text == "非課税 ￥900"


def test_render_text_shows_every_required_part() -> None:
    text = render_text(receipt(addressee="八戸 太郎", purpose="入館料"))
    joined = "\n".join(text)
    for expected in (
        "領収書",
        "八戸 太郎 様",
        "2026年11月26日 09:03",
        "※コーヒー（持ち帰り）",
        "※は軽減税率対象",
        "10%対象 ￥250 (内消費税",
        "8%対象 ￥450 (内消費税 ￥33)",
        "非課税 ￥900",
        "但し 入館料 として",
        "登録番号 T1234567890123",
        "発行者 八戸市ミュージアム売店",
    ):
        assert expected in joined, expected
    assert any(line.startswith("現金") and line.endswith("￥2,600") for line in text)
    assert any(line.startswith("お釣り") and line.endswith("￥1,000") for line in text)
    assert any(line.startswith("合計") and line.endswith("￥1,600") for line in text)
    assert "再発行" not in joined and "練習" not in joined


@pytest.mark.parametrize("width", [24, 32, 42, 48])
def test_every_line_fits_the_width(width: int) -> None:
    long = SaleLine("X", "とても長い名前の品目" * 4, 12, 123456, "red8", "unknown-account")
    body = sale_body(
        "M-2", [long], [Tender("qr", long.amount, ref="q", brand="PayPay")], "c", "ceil"
    )
    for line in render_text(receipt(body, addressee="株式会社" * 10, purpose="説明" * 30), width):
        assert text_width(line) <= width, line


def test_unknown_account_falls_back_to_the_facility_without_number() -> None:
    line = SaleLine("X", "x", 1, 100, "std10", "gone")
    body = sale_body("M-3", [line], [cash_tender(100, 100)], "c", "floor")
    assert receipt(body).issuers == (Issuer("八戸市博物館", None),)


def test_reprint_and_training_marks() -> None:
    made = receipt(SALE, "training.sale", reprint=True)
    assert made.training and made.reprint and made.kind == "sale"
    assert made.marks == ("練習", "再発行")
    text = render_text(made)
    assert any("【練習】" in line for line in text)
    assert any("【再発行】" in line for line in text)
    doubles = [line.text for line in render_lines(made) if line.double]
    assert "【練習】" in doubles and "領収書" in doubles


def test_refund_and_void_are_marked() -> None:
    refund = refund_body(
        SALE, 3, "museum-01", {1: 1}, {}, [Tender("cash", 300, given=300, change=0)], "c1",
        "sup", "floor", "M-1-R",
    )  # fmt: skip
    made = receipt(refund, "refund")
    assert made.marks == ("返金",)
    assert made.title == "返金伝票"
    assert made.original_seq == 3
    assert "上記正に領収いたしました" not in render_text(made)
    void = receipt(void_body(SALE, 3, "museum-01", "c1", "sup", "M-1-V"), "void")
    assert void.marks == ("取消",) and void.total == 1600


def test_refused_kinds_and_dates() -> None:
    with pytest.raises(DomainError, match=r"no receipt for a 'cash\.in'"):
        receipt(SALE, "cash.in")
    with pytest.raises(DomainError, match="RFC 3339"):
        build_receipt(SALE, "sale", "yesterday", "t", 1, HEADER, CATALOGUE)


def test_width_helpers_count_wide_characters_as_two() -> None:
    assert text_width("ab") == 2
    assert text_width("領収書") == 6
    assert text_width("￥1,000") == 7
    assert wrap("あいうえお", 4) == ["あい", "うえ", "お"]
    assert two_columns("合計", "￥100", 12) == ["合計   ￥100"]
    assert two_columns("あいうえおかきくけこ", "￥100", 12) == [
        "あいう",
        "えおか",
        "きくけ",
        "こ     ￥100",
    ]


def test_a_refund_of_another_counters_sale_names_that_counter() -> None:
    refund = refund_body(
        SALE, 7, "museum-02", {1: 1}, {}, [Tender("cash", 300, given=300, change=0)], "c1",
        "sup", "floor", "M-2-R",
    )  # fmt: skip
    made = receipt(refund, "refund")
    assert made.original_terminal == "museum-02"
    assert "元取引 museum-02 #7" in render_text(made)
