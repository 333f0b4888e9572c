"""The fee catalogue: what a counter sells, at which price, under which tax class and account."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from terminal.errors import DomainError
from terminal.money import TaxClass

LANGUAGES = ("ja", "en", "zh", "ko")
DEFAULT_VISITOR_TYPE = "general"
REGISTRATION_NO = re.compile(r"^T[0-9]{13}$")


@dataclass(frozen=True, slots=True)
class Names:
    """A label in every customer language; ``ja`` is required, others fall back to it."""

    ja: str
    en: str = ""
    zh: str = ""
    ko: str = ""

    def get(self, lang: str) -> str:
        value = getattr(self, lang, "") if lang in LANGUAGES else ""
        return str(value) or self.ja


@dataclass(frozen=True, slots=True)
class Account:
    """A city account (一般会計, 特別会計...): the issuer on the receipt and its invoice number."""

    id: str
    name: str
    issuer: str
    registration_no: str | None = None  # "T" + 13 digits when the account is registered

    @property
    def registered(self) -> bool:
        return self.registration_no is not None


@dataclass(frozen=True, slots=True)
class VisitorType:
    id: str  # general, student, senior, child, group...
    names: Names


@dataclass(frozen=True, slots=True)
class TimeSlot:
    """A usage period such as a gymnasium hall 9-12 ("09:00"-"12:00", local time)."""

    start: str
    end: str

    @property
    def label(self) -> str:
        return f"{self.start}-{self.end}"


@dataclass(frozen=True, slots=True)
class FeeItem:
    code: str
    names: Names
    category: str
    unit_price: int  # the general (default) price, tax-inclusive yen; 0 allowed
    tax_class: TaxClass
    accounting_code: str  # 歳入科目
    account: str  # Account.id
    prices: Mapping[str, int] = field(default_factory=dict)  # visitor type -> price
    time_slot: TimeSlot | None = None

    def price_for(self, visitor_type: str = DEFAULT_VISITOR_TYPE) -> int:
        if visitor_type == DEFAULT_VISITOR_TYPE:
            return self.prices.get(visitor_type, self.unit_price)
        if visitor_type not in self.prices:
            offered = ", ".join(sorted({DEFAULT_VISITOR_TYPE, *self.prices}))
            raise DomainError(
                f"fee {self.code} has no price for visitor type {visitor_type!r}; "
                f"offered: {offered}"
            )
        return self.prices[visitor_type]

    def visitor_types(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys([DEFAULT_VISITOR_TYPE, *self.prices]))


@dataclass(frozen=True, slots=True)
class Category:
    id: str
    names: Names


@dataclass(frozen=True, slots=True)
class Catalogue:
    items: tuple[FeeItem, ...]
    accounts: tuple[Account, ...]
    categories: tuple[Category, ...] = ()
    visitor_types: tuple[VisitorType, ...] = ()

    def item(self, code: str) -> FeeItem:
        for item in self.items:
            if item.code == code:
                return item
        raise DomainError(f"unknown fee code {code!r}: not in this counter's catalogue")

    def account(self, account_id: str) -> Account:
        for account in self.accounts:
            if account.id == account_id:
                return account
        raise DomainError(f"unknown account {account_id!r}")

    def visitor_type(self, visitor_type_id: str) -> VisitorType:
        for vt in self.visitor_types:
            if vt.id == visitor_type_id:
                return vt
        return VisitorType(visitor_type_id, Names(visitor_type_id))

    def in_category(self, category_id: str) -> tuple[FeeItem, ...]:
        return tuple(i for i in self.items if i.category == category_id)
