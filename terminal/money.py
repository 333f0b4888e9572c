"""Yen amounts and Japanese consumption tax, computed once per rate per receipt.

Money is always ``int`` yen. Prices are tax-inclusive (内税); the tax contained in a
tax-inclusive base ``b`` at rate ``r`` percent is b*r/(100+r), rounded by the deployment's mode.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Literal, get_args

TaxClass = Literal["std10", "red8", "exempt", "outside"]
RoundingMode = Literal["floor", "ceil", "half_up"]

TAX_CLASSES: Final[tuple[TaxClass, ...]] = get_args(TaxClass)
"""Every tax class, in the order receipts and journal bodies list them."""
ROUNDING_MODES: Final[tuple[RoundingMode, ...]] = get_args(RoundingMode)

TAX_RATE_PERCENT: Final[dict[TaxClass, int]] = {
    "std10": 10,
    "red8": 8,
    "exempt": 0,
    "outside": 0,
}


def tax_included(base: int, rate_percent: int, mode: RoundingMode) -> int:
    """The tax contained in the tax-inclusive amount ``base`` (integers only)."""
    if rate_percent == 0:
        return 0
    numerator = base * rate_percent
    denominator = 100 + rate_percent
    if mode == "floor":
        return numerator // denominator
    if mode == "ceil":
        return -(-numerator // denominator)
    if mode == "half_up":
        return (2 * numerator + denominator) // (2 * denominator)
    raise ValueError(f"unknown rounding mode {mode!r}; valid: {', '.join(ROUNDING_MODES)}")


@dataclass(frozen=True, slots=True)
class TaxLine:
    """One receipt's tax for one class: ``base`` is the tax-inclusive total (対象額)."""

    tax_class: TaxClass
    base: int
    tax: int

    def as_body(self) -> dict[str, object]:
        return {"tax_class": self.tax_class, "base": self.base, "tax": self.tax}


def taxes_by_class(
    amounts: Iterable[tuple[TaxClass, int]], mode: RoundingMode
) -> tuple[TaxLine, ...]:
    """Group line amounts by tax class and compute each class's tax once.

    One ``TaxLine`` per class present (a 0-yen line still makes its class present), in the
    order std10, red8, exempt, outside.
    """
    bases: dict[TaxClass, int] = {}
    for tax_class, amount in amounts:
        if tax_class not in TAX_RATE_PERCENT:
            raise ValueError(f"unknown tax class {tax_class!r}; valid: {', '.join(TAX_CLASSES)}")
        bases[tax_class] = bases.get(tax_class, 0) + amount
    return tuple(
        TaxLine(c, bases[c], tax_included(bases[c], TAX_RATE_PERCENT[c], mode))
        for c in TAX_CLASSES
        if c in bases
    )


def format_yen(amount: int) -> str:
    """``1234`` -> ``"￥1,234"`` (fullwidth yen sign: "¥" is not in cp932)."""
    sign = "-" if amount < 0 else ""
    return f"{sign}￥{abs(amount):,}"
