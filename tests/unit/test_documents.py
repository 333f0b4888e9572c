"""Sale, refund and void bodies, checked against the journal test vectors."""

from __future__ import annotations

import json
from typing import Any, cast

import pytest
from madoguchi_testing import vector_entries

from terminal.documents import (
    check_void,
    refund_body,
    refunded_quantities,
    sale_body,
    void_body,
)
from terminal.errors import ApprovalRequired, DomainError
from terminal.sale import SaleLine
from terminal.tenders import Tender, cash_tender

TERMINAL = "hachinohe-museum-01"


ENTRIES = vector_entries()
SALES = [e for e in ENTRIES if e["kind"] == "sale"]


def by_seq(seq: int) -> dict[str, Any]:
    return next(e for e in ENTRIES if e["seq"] == seq)


def canonical(x: object) -> str:
    return json.dumps(x, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def test_vectors_hold_twelve_sales() -> None:
    assert len(SALES) == 12


@pytest.mark.parametrize("entry", SALES, ids=lambda e: f"seq{e['seq']}")
def test_sale_body_rebuilds_every_vector_sale(entry: dict[str, Any]) -> None:
    body = entry["body"]
    rebuilt = sale_body(
        body["receipt_no"],
        [SaleLine.from_body(line) for line in body["lines"]],
        [Tender.from_body(t) for t in body["tenders"]],
        body["clerk"],
        body["rounding"],
    )
    assert rebuilt == body
    assert list(rebuilt) == list(body)  # same key order, too
    assert canonical(rebuilt) == canonical(body)


def test_sale_body_computes_taxes_once_per_class() -> None:
    lines = [SaleLine(f"X{i}", "x", 1, 105, "std10", "g") for i in range(3)]
    body = sale_body("R-1", lines, [cash_tender(315, 1000)], "c1", "floor")
    assert body["taxes"] == [{"tax_class": "std10", "base": 315, "tax": 28}]
    assert body["total"] == 315


def test_sale_body_refuses_unsettled_or_empty_sales() -> None:
    line = SaleLine("A", "a", 1, 500, "std10", "g")
    with pytest.raises(DomainError, match="still due"):
        sale_body("R-1", [line], [cash_tender(500, 100)], "c1", "floor")
    with pytest.raises(DomainError, match="no lines"):
        sale_body("R-1", [], [], "c1", "floor")
    with pytest.raises(DomainError, match="no clerk"):
        sale_body("R-1", [line], [cash_tender(500, 500)], "", "floor")
    with pytest.raises(DomainError, match="rounding"):
        sale_body("R-1", [line], [cash_tender(500, 500)], "c1", "round")  # type: ignore[arg-type]


def test_refund_body_rebuilds_the_vector_refund() -> None:
    expected = by_seq(16)["body"]
    body = refund_body(
        by_seq(7)["body"], 7, TERMINAL, {0: 1}, {}, [Tender("cash", 300, given=300, change=0)],
        "c1", "sup1", "floor", "hachinohe-museum-01-4-R",
    )  # fmt: skip
    lines = cast(list[dict[str, object]], body["lines"])
    assert [line.pop("original_line") for line in lines] == [0]
    assert body == expected
    assert list(body) == list(expected)


def refund(
    quantities: dict[int, int], already: dict[int, int] | None = None, approved_by: str = "sup1"
) -> dict[str, object]:
    original = by_seq(9)["body"]  # ADM-G x3 250, ADM-S x3 150, CAFE x2 450 (red8)
    lines = original["lines"]
    total = sum(lines[i]["unit_price"] * q for i, q in quantities.items() if i < len(lines))
    tenders = [Tender("cash", total, given=total, change=0)] if total else []
    return refund_body(
        original, 9, TERMINAL, quantities, already or {}, tenders, "c1", approved_by,
        "floor", "R-9-R",
    )  # fmt: skip


def test_partial_refund_taxes_the_refunded_lines_alone() -> None:
    body = refund({2: 1, 1: 2})
    assert [(x["code"], x["qty"], x["original_line"]) for x in body["lines"]] == [  # type: ignore[attr-defined]
        ("ADM-S", 2, 1),
        ("CAFE", 1, 2),
    ]
    assert body["total"] == 750
    assert body["taxes"] == [
        {"tax_class": "std10", "base": 300, "tax": 27},
        {"tax_class": "red8", "base": 450, "tax": 33},
    ]
    assert (body["original_seq"], body["original_terminal"], body["approved_by"]) == (
        9,
        TERMINAL,
        "sup1",
    )


def test_refund_above_what_is_left_names_the_line() -> None:
    with pytest.raises(
        DomainError, match=r"refund line 2 \(コーヒー（持ち帰り）\): 2 asked but only 1"
    ):
        refund({2: 2}, already={2: 1})
    with pytest.raises(DomainError, match="no line 3"):
        refund({3: 1})
    with pytest.raises(DomainError, match="nothing to refund"):
        refund({})
    with pytest.raises(DomainError, match="nothing to refund"):
        refund({0: 0})


def test_refund_needs_approval_and_matching_tenders() -> None:
    with pytest.raises(ApprovalRequired):
        refund({0: 1}, approved_by="")
    with pytest.raises(DomainError, match="above the amount due"):
        refund_body(
            by_seq(9)["body"], 9, TERMINAL, {0: 1}, {}, [Tender("cash", 500, given=500, change=0)],
            "c1", "sup1", "floor", "R",
        )  # fmt: skip


def test_void_body_takes_back_everything_with_original_tenders() -> None:
    original = by_seq(13)["body"]  # transit_ic 450 + cash 450
    body = void_body(original, 13, TERMINAL, "c1", "sup1", "R-13-V")
    assert body["total"] == original["total"]
    assert body["taxes"] == original["taxes"]
    assert [x["original_line"] for x in body["lines"]] == [0, 1]  # type: ignore[attr-defined]
    cash_back = {"kind": "cash", "amount": 450, "given": 450, "change": 0}
    assert body["tenders"] == [original["tenders"][0], cash_back]
    assert body["approved_by"] == "sup1"
    with pytest.raises(ApprovalRequired):
        void_body(original, 13, TERMINAL, "c1", "", "R-13-V")


def test_void_of_cash_with_change_returns_the_amount_only() -> None:
    body = void_body(by_seq(3)["body"], 3, TERMINAL, "c1", "sup1", "V")
    assert body["tenders"] == [{"kind": "cash", "amount": 1600, "given": 1600, "change": 0}]


def envelope(seq: int, kind: str, body: dict[str, object]) -> dict[str, object]:
    return {"seq": seq, "kind": kind, "terminal": TERMINAL, "day": "2026-11-26", "body": body}


def test_refunded_quantities_sums_refunds_and_voids() -> None:
    first = envelope(30, "refund", refund({2: 1, 1: 2}))
    second = envelope(31, "refund", refund({2: 1}))
    training = envelope(32, "training.refund", refund({0: 3}))
    other = envelope(33, "refund", {**refund({0: 1}), "original_seq": 8})
    entries = [first, second, training, other]
    assert refunded_quantities(entries, TERMINAL, 9) == {1: 2, 2: 2}
    void = envelope(34, "void", void_body(by_seq(9)["body"], 9, TERMINAL, "c1", "s", "V"))
    assert refunded_quantities([void], TERMINAL, 9) == {0: 3, 1: 3, 2: 2}
    assert refunded_quantities([], TERMINAL, 9) == {}


def test_refunded_quantities_matches_old_lines_without_original_line() -> None:
    assert refunded_quantities(ENTRIES, TERMINAL, 7) == {0: 1}
    with pytest.raises(DomainError, match="pass the original sale body"):
        refunded_quantities([by_seq(16)], TERMINAL, 7)
    assert refunded_quantities([by_seq(16)], TERMINAL, 7, original=by_seq(7)["body"]) == {0: 1}


def test_check_void_accepts_an_open_sale() -> None:
    assert check_void(ENTRIES[:18], 13, TERMINAL) == by_seq(13)["body"]


def test_check_void_refuses_closed_refunded_voided_or_unknown() -> None:
    with pytest.raises(DomainError, match="not a sale of the current business period"):
        check_void(ENTRIES, 13, TERMINAL)  # after the Z at seq 19
    with pytest.raises(DomainError, match="has a refund"):
        check_void(ENTRIES[:18], 7, TERMINAL)
    with pytest.raises(DomainError, match="not a sale"):
        check_void(ENTRIES[:18], 6, TERMINAL)  # a survey.rating
    with pytest.raises(DomainError, match="not a sale"):
        check_void(ENTRIES[:18], 13, "another-terminal")
    void = envelope(20, "void", void_body(by_seq(13)["body"], 13, TERMINAL, "c1", "s", "V"))
    with pytest.raises(DomainError, match="already voided"):
        check_void([*ENTRIES[:18], void], 13, TERMINAL)
