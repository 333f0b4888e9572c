"""Consumption tax against an independent reference built on fractions.Fraction."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from terminal.money import (
    TaxClass,
    TaxLine,
    format_yen,
    tax_included,
    taxes_by_class,
)

MODES = ("floor", "ceil", "half_up")
RATES: dict[str, int] = {"std10": 10, "red8": 8, "exempt": 0, "outside": 0}
ORDER = ["std10", "red8", "exempt", "outside"]

yen = st.integers(min_value=0, max_value=10**12)
classes = st.sampled_from(ORDER)
modes = st.sampled_from(MODES)


def reference_tax(base: int, rate: int, mode: str) -> int:
    exact = Fraction(base) * Fraction(rate, 100) / (1 + Fraction(rate, 100))
    if mode == "floor":
        return math.floor(exact)
    if mode == "ceil":
        return math.ceil(exact)
    whole = math.floor(exact)  # half_up: .5 goes up
    return whole + 1 if exact - whole >= Fraction(1, 2) else whole


def reference_taxes(amounts: list[tuple[str, int]], mode: str) -> list[tuple[str, int, int]]:
    out = []
    for tax_class in ORDER:
        mine = [a for c, a in amounts if c == tax_class]
        if mine:
            base = sum(mine)
            out.append((tax_class, base, reference_tax(base, RATES[tax_class], mode)))
    return out


def test_design_example_three_lines_of_105_yen() -> None:
    result = taxes_by_class([("std10", 105)] * 3, "floor")
    assert result == (TaxLine("std10", 315, 28),)
    per_line = 3 * tax_included(105, 10, "floor")
    assert per_line == 27  # what per-line rounding would (wrongly) give


@pytest.mark.parametrize(
    ("base", "rate", "mode", "tax"),
    [
        (1100, 10, "floor", 100),
        (1100, 10, "ceil", 100),
        (1100, 10, "half_up", 100),
        (250, 10, "floor", 22),  # 22.72..
        (250, 10, "ceil", 23),
        (250, 10, "half_up", 23),
        (450, 8, "floor", 33),  # 33.33..
        (450, 8, "ceil", 34),
        (450, 8, "half_up", 33),
        (11, 10, "half_up", 1),  # exactly 1.0
        (231, 10, "half_up", 21),  # exactly 21.0
        (165, 10, "half_up", 15),  # exactly 15.0
        (55, 10, "floor", 5),
        (27, 8, "half_up", 2),  # exactly 2.0
        (81, 8, "half_up", 6),  # exactly 6.0
        (0, 10, "ceil", 0),
        (900, 0, "ceil", 0),
    ],
)
def test_known_values(base: int, rate: int, mode: str, tax: int) -> None:
    assert tax_included(base, rate, mode) == tax  # type: ignore[arg-type]
    assert reference_tax(base, rate, mode) == tax


def test_half_up_rounds_exact_halves_up() -> None:
    # 10% of an inclusive base: b*10/110 = b/11, never exactly .5; at 8% b*8/108 = 2b/27,
    # never .5 either. Use the formula directly at a rate where halves occur: 100%.
    assert tax_included(1, 100, "half_up") == 1  # 0.5 -> 1
    assert tax_included(3, 100, "half_up") == 2  # 1.5 -> 2
    assert tax_included(3, 100, "floor") == 1


@given(base=yen, rate=st.sampled_from([0, 5, 8, 10, 100]), mode=modes)
def test_tax_included_matches_reference(base: int, rate: int, mode: str) -> None:
    assert tax_included(base, rate, mode) == reference_tax(base, rate, mode)  # type: ignore[arg-type]


@given(base=yen)
def test_modes_are_ordered(base: int) -> None:
    low = tax_included(base, 10, "floor")
    mid = tax_included(base, 10, "half_up")
    high = tax_included(base, 10, "ceil")
    assert low <= mid <= high <= low + 1
    assert 0 <= high <= base


@given(amounts=st.lists(st.tuples(classes, st.integers(0, 10**7)), max_size=30), mode=modes)
def test_taxes_by_class_matches_reference(amounts: list[tuple[TaxClass, int]], mode: str) -> None:
    result = taxes_by_class(amounts, mode)  # type: ignore[arg-type]
    assert [(t.tax_class, t.base, t.tax) for t in result] == reference_taxes(amounts, mode)  # type: ignore[arg-type]


@given(amounts=st.lists(st.tuples(classes, st.integers(0, 10**6)), min_size=1, max_size=20))
def test_classes_follow_the_fixed_order_and_zero_rates_pay_nothing(
    amounts: list[tuple[TaxClass, int]],
) -> None:
    result = taxes_by_class(reversed(amounts), "ceil")
    present = [t.tax_class for t in result]
    assert present == [c for c in ORDER if c in {c for c, _ in amounts}]
    for line in result:
        if line.tax_class in ("exempt", "outside"):
            assert line.tax == 0
    assert sum(t.base for t in result) == sum(a for _, a in amounts)


@given(n=st.integers(1, 50), price=st.integers(0, 5000), mode=modes)
def test_tax_once_per_rate_is_at_least_per_line_floor(n: int, price: int, mode: str) -> None:
    once = taxes_by_class([("std10", price)] * n, mode)[0].tax  # type: ignore[arg-type]
    assert once == reference_tax(n * price, 10, mode)
    if mode == "floor":
        assert once >= n * reference_tax(price, 10, "floor")


def test_zero_yen_lines_make_their_class_present() -> None:
    assert taxes_by_class([("std10", 0), ("exempt", 900)], "floor") == (
        TaxLine("std10", 0, 0),
        TaxLine("exempt", 900, 0),
    )
    assert taxes_by_class([], "floor") == ()


def test_unknown_class_or_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown tax class"):
        taxes_by_class([("std5", 100)], "floor")  # type: ignore[list-item]
    with pytest.raises(ValueError, match="unknown rounding mode"):
        tax_included(100, 10, "bankers")  # type: ignore[arg-type]


def test_tax_line_body_and_yen_format() -> None:
    assert TaxLine("red8", 450, 33).as_body() == {"tax_class": "red8", "base": 450, "tax": 33}
    assert format_yen(1234567) == "￥1,234,567"
    assert format_yen(-50) == "-￥50"
    assert format_yen(0) == "￥0"
