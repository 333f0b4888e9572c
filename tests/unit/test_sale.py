"""Sale lines and the cart."""

from __future__ import annotations

import dataclasses

import pytest

from terminal.catalogue import Account, Catalogue, FeeItem, Names, TimeSlot, VisitorType
from terminal.errors import DomainError
from terminal.sale import Cart, SaleLine, line_for

ADULT = FeeItem(
    code="ADM",
    names=Names("入館料", en="Admission"),
    category="museum",
    unit_price=250,
    tax_class="std10",
    accounting_code="14-01-01-01",
    account="general",
    prices={"student": 150},
)
HALL = FeeItem(
    code="HALL-AM",
    names=Names("体育館 全面"),
    category="gym",
    unit_price=3000,
    tax_class="std10",
    accounting_code="14-02",
    account="general",
    time_slot=TimeSlot("09:00", "12:00"),
)
CATALOGUE = Catalogue(
    items=(ADULT, HALL),
    accounts=(Account("general", "一般会計", "八戸市", "T1234567890123"),),
    visitor_types=(VisitorType("student", Names("高校・大学生")),),
)


def line(code: str = "A", qty: int = 1, price: int = 100, **kw: object) -> SaleLine:
    return SaleLine(code, f"品目{code}", qty, price, "std10", "general", **kw)  # type: ignore[arg-type]


def test_amount_is_qty_times_unit_price() -> None:
    assert line(qty=3, price=105).amount == 315


def test_as_body_matches_the_journal_line_shape() -> None:
    assert line(qty=2, price=300).as_body() == {
        "code": "A",
        "name": "品目A",
        "qty": 2,
        "unit_price": 300,
        "tax_class": "std10",
        "amount": 600,
        "account": "general",
    }


def test_as_body_adds_optional_fields_only_when_set() -> None:
    body = line(accounting_code="14-01", visitor_type="student", original_line=0).as_body()
    assert body["accounting_code"] == "14-01"
    assert body["visitor_type"] == "student"
    assert body["original_line"] == 0
    assert list(body)[-3:] == ["accounting_code", "visitor_type", "original_line"]


def test_from_body_round_trips() -> None:
    original = line(qty=2, accounting_code="x", visitor_type="student", original_line=3)
    assert SaleLine.from_body(original.as_body()) == original


def test_from_body_rejects_a_wrong_amount() -> None:
    body = line(qty=2).as_body()
    body["amount"] = 999
    with pytest.raises(DomainError, match="amount 999"):
        SaleLine.from_body(body)


@pytest.mark.parametrize(
    ("qty", "price"), [(0, 100), (-1, 100), (True, 100), (1, -1), (1, False), (1.0, 100)]
)
def test_invalid_quantities_and_prices_are_refused(qty: object, price: object) -> None:
    with pytest.raises(DomainError, match="line 'A'"):
        line(qty=qty, price=price)  # type: ignore[arg-type]


def test_zero_yen_line_is_allowed() -> None:
    assert line(price=0).amount == 0


def test_unknown_tax_class_is_refused() -> None:
    with pytest.raises(DomainError, match="tax class"):
        SaleLine("A", "a", 1, 1, "std5", "general")  # type: ignore[arg-type]


def test_line_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        line().qty = 5  # type: ignore[misc]


def test_line_for_general_visitor() -> None:
    made = line_for(ADULT, CATALOGUE)
    assert made == SaleLine("ADM", "入館料", 1, 250, "std10", "general", "14-01-01-01")


def test_line_for_visitor_type_names_and_prices_it() -> None:
    made = line_for(ADULT, CATALOGUE, "student", qty=2)
    assert (made.name, made.unit_price, made.qty, made.amount) == (
        "入館料（高校・大学生）",
        150,
        2,
        300,
    )
    assert made.visitor_type == "student"


def test_line_for_time_slot_appends_label() -> None:
    assert line_for(HALL, CATALOGUE).name == "体育館 全面 09:00-12:00"


def test_line_for_unknown_visitor_type_is_refused() -> None:
    with pytest.raises(DomainError, match="no price for visitor type 'senior'"):
        line_for(ADULT, CATALOGUE, "senior")


def test_cart_add_merges_same_fee_visitor_and_price() -> None:
    cart = Cart().add(line("A")).add(line("B")).add(line("A", qty=2))
    assert [(x.code, x.qty) for x in cart.lines] == [("A", 3), ("B", 1)]
    assert cart.total == 400


def test_cart_add_keeps_other_visitor_types_apart() -> None:
    cart = Cart().add(line_for(ADULT, CATALOGUE)).add(line_for(ADULT, CATALOGUE, "student"))
    assert len(cart.lines) == 2
    assert cart.total == 400


def test_cart_is_immutable_and_empty_by_default() -> None:
    empty = Cart()
    full = empty.add(line())
    assert empty.is_empty and not full.is_empty
    assert empty.total == 0


def test_set_qty_increment_decrement_remove_clear() -> None:
    cart = Cart().add(line("A")).add(line("B", price=50))
    assert cart.set_qty(0, 4).lines[0].qty == 4
    assert cart.increment(1).lines[1].qty == 2
    assert cart.increment(0).decrement(0).lines[0].qty == 1
    assert [x.code for x in cart.decrement(0).lines] == ["B"]
    assert [x.code for x in cart.set_qty(1, 0).lines] == ["A"]
    assert [x.code for x in cart.remove(0).lines] == ["B"]
    assert cart.clear() == Cart()


@pytest.mark.parametrize("index", [-1, 2, 99])
def test_bad_index_is_refused(index: int) -> None:
    cart = Cart().add(line("A")).add(line("B"))
    for op in (cart.remove, cart.increment, cart.decrement):
        with pytest.raises(DomainError, match="no cart line"):
            op(index)
    with pytest.raises(DomainError, match="no cart line"):
        cart.set_qty(index, 1)


def test_negative_quantity_is_refused() -> None:
    with pytest.raises(DomainError, match=">= 0"):
        Cart().add(line()).set_qty(0, -1)
