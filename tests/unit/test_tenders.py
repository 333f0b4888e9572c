"""Tenders and payments: only cash overpays, and tenders always sum to the total."""

from __future__ import annotations

import pytest

from terminal.errors import DomainError
from terminal.tenders import Payment, Tender, cash_tender, settle_check


def card(amount: int, kind: str = "credit", **kw: str) -> Tender:
    return Tender(kind, amount, ref="R1", **kw)  # type: ignore[arg-type]


def test_cash_tender_gives_change() -> None:
    assert cash_tender(1600, 2600) == Tender("cash", 1600, given=2600, change=1000)


def test_cash_tender_below_due_pays_part() -> None:
    assert cash_tender(1600, 1000) == Tender("cash", 1000, given=1000, change=0)


def test_cash_tender_rejects_negative_given() -> None:
    with pytest.raises(DomainError, match="cash given"):
        cash_tender(100, -1)


def test_cash_body() -> None:
    assert cash_tender(750, 1750).as_body() == {
        "kind": "cash",
        "amount": 750,
        "given": 1750,
        "change": 1000,
    }


def test_card_body_with_and_without_approval() -> None:
    assert card(750, "qr").as_body() == {"kind": "qr", "amount": 750, "ref": "R1"}
    full = card(750, "qr", approval_code="000456", slip_no="00001", brand="VISA")
    assert full.as_body() == {
        "kind": "qr",
        "amount": 750,
        "ref": "R1",
        "approval_code": "000456",
        "slip_no": "00001",
        "brand": "VISA",
    }


def test_from_body_round_trips() -> None:
    for tender in (cash_tender(100, 500), card(10, approval_code="1", slip_no="2", brand="J")):
        assert Tender.from_body(tender.as_body()) == tender


@pytest.mark.parametrize(
    ("given", "change", "amount"), [(None, None, 100), (500, 300, 100), (100, -1, 101)]
)
def test_cash_must_balance(given: int | None, change: int | None, amount: int) -> None:
    with pytest.raises(DomainError, match="cash tender"):
        Tender("cash", amount, given=given, change=change)


def test_non_cash_with_given_is_refused() -> None:
    with pytest.raises(DomainError, match="cash only"):
        Tender("credit", 100, given=100, change=0)


def test_unknown_kind_and_negative_amount_are_refused() -> None:
    with pytest.raises(DomainError, match="unknown tender kind"):
        Tender("cheque", 100)  # type: ignore[arg-type]
    with pytest.raises(DomainError, match="amount"):
        card(-5)


def test_split_payment_card_then_cash_with_change() -> None:
    payment = Payment(900).add(card(450, "transit_ic"))
    assert (payment.paid, payment.remaining, payment.is_settled) == (450, 450, False)
    payment = payment.add(cash_tender(payment.remaining, 1000))
    assert payment.is_settled
    assert payment.change == 550
    assert payment.remaining == 0


def test_non_cash_overpayment_is_refused() -> None:
    with pytest.raises(DomainError, match=r"above the amount due.*overpayment only in cash"):
        Payment(500).add(card(501))


def test_cash_amount_above_due_is_refused() -> None:
    with pytest.raises(DomainError, match="above the amount due"):
        Payment(500).add(Tender("cash", 600, given=600, change=0))


def test_zero_tender_on_a_due_amount_is_refused() -> None:
    with pytest.raises(DomainError, match="pays nothing"):
        Payment(500).add(card(0))


def test_adding_to_a_settled_payment_is_refused() -> None:
    paid = Payment(500).add(card(500))
    with pytest.raises(DomainError, match="already settled"):
        paid.add(cash_tender(0, 100))


def test_free_sale_settled_by_one_zero_tender_of_any_kind() -> None:
    payment = Payment(0).add(card(0))
    assert payment.is_settled
    with pytest.raises(DomainError, match="already settled"):
        payment.add(card(0))
    assert Payment(0).is_settled  # no tender at all is fine too


def test_change_only_on_the_settling_cash_tender() -> None:
    with pytest.raises(DomainError, match="change is only given on the last tender"):
        Payment(500).add(Tender("cash", 100, given=200, change=100))


def test_settle_check() -> None:
    tenders = [card(450, "transit_ic"), cash_tender(450, 450)]
    assert settle_check(900, tenders).is_settled
    with pytest.raises(DomainError, match="450 yen is still due"):
        settle_check(900, tenders[:1])
    with pytest.raises(DomainError, match="above the amount due"):
        settle_check(400, tenders)
