"""Z closing, X reports and their text, derived from the journal test vectors."""

from __future__ import annotations

from typing import Any, cast

import pytest
from madoguchi_testing import vector_entries

from terminal.documents import sale_body, void_body
from terminal.errors import DomainError
from terminal.reports import (
    format_report,
    last_closing,
    open_period,
    period_totals,
    x_report,
    z_body,
)
from terminal.sale import SaleLine
from terminal.tenders import Tender, cash_tender

TERMINAL = "hachinohe-museum-01"
DESIGN_FIELDS = [
    "first_seq",
    "last_seq",
    "count",
    "refund_count",
    "void_count",
    "total",
    "by_tender",
    "by_tax_class",
    "tax_by_class",
    "grand_total",
    "cash_expected",
    "cash_counted",
]


ENTRIES = vector_entries()
Z = ENTRIES[18]


def envelope(seq: int, kind: str, body: dict[str, object], day: str = "2026-11-27") -> Any:
    return {"seq": seq, "kind": kind, "terminal": TERMINAL, "day": day, "body": body}


def sale(seq: int, code: str, qty: int, price: int, **kw: str) -> Any:
    line = SaleLine(code, code, qty, price, "std10", "g")
    body = sale_body(f"N-{seq}", [line], [cash_tender(qty * price, qty * price)], "c1", "floor")
    return envelope(seq, kw.get("kind", "sale"), body)


def test_z_body_reproduces_the_vector_closing() -> None:
    assert Z["kind"] == "closing.z"
    body = z_body(ENTRIES[:18], 0, 20050)
    assert {k: body[k] for k in DESIGN_FIELDS} == Z["body"]
    assert list(body)[: len(DESIGN_FIELDS)] == list(Z["body"])
    for key in ("by_tender", "by_tax_class", "tax_by_class"):
        assert list(cast(dict[str, int], body[key])) == list(Z["body"][key]), (
            key
        )  # first-appearance order


def test_z_body_extras_by_item_and_visits() -> None:
    body = z_body(ENTRIES[:18], 0, None)
    assert body["by_item"] == {
        "ADM-G": {"qty": 10, "amount": 2500},
        "JUMIN": {"qty": 13, "amount": 3900},
        "CAFE": {"qty": 9, "amount": 4050},
        "FREE": {"qty": 6, "amount": 0},
        "ADM-S": {"qty": 14, "amount": 2100},
    }
    assert body["visits"] == 52
    assert body["cash_counted"] is None


def test_z_body_adds_the_previous_grand_total() -> None:
    assert z_body(ENTRIES[:18], 1000, 0)["grand_total"] == 13550


def test_z_body_refuses_empty_or_closed_entries() -> None:
    with pytest.raises(DomainError, match="nothing to close"):
        z_body([], 0, None)
    with pytest.raises(DomainError, match="closing at seq 19"):
        z_body(ENTRIES, 0, None)
    with pytest.raises(DomainError, match="cash counted"):
        z_body(ENTRIES[:18], 0, -1)


def test_training_entries_count_in_nothing() -> None:
    base = period_totals(ENTRIES[:18])
    training = [
        sale(40, "T", 2, 500, kind="training.sale"),
        envelope(41, "training.cash.in", {"amount": 999, "clerk": "c1", "reason": "x"}),
    ]
    assert period_totals([*ENTRIES[:18], *training]) == base


def test_voids_and_cash_movements_are_netted() -> None:
    first = sale(20, "A", 2, 500)
    void = envelope(21, "void", void_body(first["body"], 20, TERMINAL, "c1", "s", "V"))
    cash_in = envelope(22, "cash.in", {"amount": 3000, "clerk": "c1", "reason": "釣銭補充"})
    card = sale_body(
        "N-23", [SaleLine("B", "B", 1, 100, "red8", "g")], [Tender("credit", 100, ref="x")], "c1",
        "floor",
    )  # fmt: skip
    totals = period_totals([first, void, cash_in, envelope(23, "sale", card)])
    assert (totals["count"], totals["void_count"], totals["refund_count"]) == (2, 1, 0)
    assert totals["total"] == 100
    assert totals["by_tender"] == {"cash": 0, "credit": 100}
    assert totals["by_tax_class"] == {"std10": 0, "red8": 100}
    assert totals["tax_by_class"] == {"std10": 0, "red8": 7}
    assert totals["cash_expected"] == 3000
    assert totals["by_item"] == {"A": {"qty": 0, "amount": 0}, "B": {"qty": 1, "amount": 100}}
    assert totals["visits"] == 1


def test_last_closing_and_open_period() -> None:
    assert last_closing(ENTRIES[:18]) is None
    assert last_closing(ENTRIES) is Z
    assert open_period(ENTRIES) == []
    later = [*ENTRIES, sale(20, "A", 1, 300)]
    assert [e["seq"] for e in open_period(later)] == [20]
    assert len(open_period(ENTRIES[:18])) == 18


def test_x_report_of_the_open_period_runs_the_grand_total_on() -> None:
    report = x_report([*ENTRIES, sale(20, "A", 1, 300), sale(21, "A", 2, 300)])
    assert (report["first_seq"], report["last_seq"]) == (20, 21)
    assert report["total"] == 900
    assert report["grand_total"] == 12550 + 900
    assert report["day"] == "2026-11-27"
    assert report["cash_counted"] is None


def test_x_report_of_an_empty_open_period() -> None:
    report = x_report(ENTRIES)
    assert (report["count"], report["total"], report["first_seq"], report["day"]) == (
        0,
        0,
        None,
        None,
    )
    assert report["grand_total"] == 12550


def test_x_report_of_a_closed_day_matches_its_z() -> None:
    later = [*ENTRIES, sale(20, "A", 1, 300)]
    report = x_report(later, day="2026-11-26")
    assert report["day"] == "2026-11-26"
    assert {k: report[k] for k in DESIGN_FIELDS} == {**Z["body"], "cash_counted": None}


def test_format_report_renders_japanese_with_english_labels() -> None:
    text = format_report(z_body(ENTRIES[:18], 0, 20000), "日計 (Z)")
    lines = text.splitlines()
    assert lines[0] == "日計 (Z)"
    assert "  現金 (cash)  ￥5,050" in lines
    assert "  交通系IC (transit_ic)  ￥5,400" in lines
    assert "合計 (total)  ￥12,550" in lines
    assert "  10%対象 (std10)  ￥415" in lines
    assert "現金理論残高 (cash expected)  ￥20,050" in lines
    assert "過不足 (difference)  -￥50" in lines
    assert "範囲 (seq)  1-18" in lines
