"""The catalogue section: [[accounts]], [[categories]], [[visitor_types]] and [[fees]].

The tables live inline in a terminal config or in a shared facility catalogue file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final, cast

from kiosk_config._fields import Table, describe, is_int
from terminal.catalogue import (
    DEFAULT_VISITOR_TYPE,
    REGISTRATION_NO,
    Account,
    Catalogue,
    Category,
    FeeItem,
    Names,
    TimeSlot,
    VisitorType,
)
from terminal.money import TAX_CLASSES, TaxClass

CATALOGUE_KEYS: Final = ("accounts", "categories", "visitor_types", "fees")
NAME_KEYS: Final = ("name_ja", "name_en", "name_zh", "name_ko")
FEE_KEYS: Final = (
    "code",
    *NAME_KEYS,
    "category",
    "price",
    "tax_class",
    "accounting_code",
    "account",
    "prices",
    "slot",
)
ACCOUNT_KEYS: Final = ("id", "name", "issuer", "registration_no")
LABEL_KEYS: Final = ("id", *NAME_KEYS)

ID_PATTERN: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
ID_VALID: Final = "letters, digits, '_', '.', '-' (1-64, starting with a letter or digit)"
SLOT_PATTERN: Final = re.compile(
    r"^([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-4]):([0-5][0-9])$"
)
SLOT_VALID: Final = 'a time range "HH:MM-HH:MM" with start before end, e.g. "09:00-12:00"'
PRICE_VALID: Final = "an integer >= 0 (yen, tax-inclusive)"
MAX_PRICE: Final = 99_999_999


def read_catalogue(root: Table) -> Catalogue:
    """Read the catalogue tables of ``root``; problems go to ``root.problems``."""
    accounts = [_account(t) for t in _tables(root, "accounts", "id")]
    categories = [_category(t) for t in _tables(root, "categories", "id")]
    visitor_types = [_visitor_type(t) for t in _tables(root, "visitor_types", "id")]
    known = _Known(
        accounts=tuple(a.id for a in accounts),
        categories=tuple(c.id for c in categories),
        visitor_types=(DEFAULT_VISITOR_TYPE, *(v.id for v in visitor_types)),
    )
    fees = [_fee(t, known) for t in _tables(root, "fees", "code")]
    if root.data.get("fees", []) == []:
        root.problem("fees", "no fees: the catalogue is empty", "at least one [[fees]] table")
    if root.data.get("accounts", []) == []:
        root.problem(
            "accounts", "no accounts", "at least one [[accounts]] table (id, name, issuer)"
        )
    return Catalogue(tuple(fees), tuple(accounts), tuple(categories), tuple(visitor_types))


def _tables(root: Table, name: str, id_key: str) -> list[Table]:
    """The [[name]] tables, reporting repeated ids."""
    tables = root.array(name, f"[[{name}]] tables")
    seen: dict[object, str] = {}
    for table in tables:
        value = table.data.get(id_key)
        if not isinstance(value, str):
            continue
        if value in seen:
            table.problem(
                id_key,
                f"duplicate {id_key} {value!r} (also at {seen[value]})",
                f"a {id_key} used once in [[{name}]]",
            )
        else:
            seen[value] = table.path
    return tables


class _Known:
    def __init__(
        self, accounts: tuple[str, ...], categories: tuple[str, ...], visitor_types: tuple[str, ...]
    ) -> None:
        self.accounts = accounts
        self.categories = categories
        self.visitor_types = visitor_types


def _ident(t: Table, name: str, what: str) -> str:
    value = t.text(name, f"{what}: {ID_VALID}", required=True)
    if value and not ID_PATTERN.fullmatch(value):
        t.problem(name, f"{describe(value)} is not a valid {what}", ID_VALID)
    return value


def _names(t: Table) -> Names:
    ja = t.text("name_ja", "the Japanese name (text)", required=True)
    en, zh, ko = (t.text(k, "text") for k in NAME_KEYS[1:])
    return Names(ja, en, zh, ko)


def _account(t: Table) -> Account:
    t.check_keys(ACCOUNT_KEYS)
    account_id = _ident(t, "id", "account id")
    name = t.text("name", "the account's name, e.g. 一般会計", required=True)
    issuer = t.text("issuer", "the issuer printed on receipts, e.g. 八戸市", required=True)
    reg = t.optional_text("registration_no", '"T" + 13 digits, e.g. "T1234567890123"')
    if reg is not None and not REGISTRATION_NO.fullmatch(reg):
        t.problem(
            "registration_no",
            f"{describe(reg)} is not an invoice registration number",
            '"T" + 13 digits, e.g. "T1234567890123" (omit the key when not registered)',
        )
        reg = None
    return Account(account_id, name, issuer, reg)


def _category(t: Table) -> Category:
    t.check_keys(LABEL_KEYS)
    return Category(_ident(t, "id", "category id"), _names(t))


def _visitor_type(t: Table) -> VisitorType:
    t.check_keys(LABEL_KEYS)
    return VisitorType(_ident(t, "id", "visitor type id"), _names(t))


def _fee(t: Table, known: _Known) -> FeeItem:
    t.check_keys(FEE_KEYS)
    code = _ident(t, "code", "fee code")
    names = _names(t)
    category = _reference(t, "category", known.categories, "[[categories]]")
    price = t.integer("price", PRICE_VALID, default=0, maximum=MAX_PRICE, required=True)
    tax_class = cast(TaxClass, t.choice("tax_class", TAX_CLASSES, default="exempt", required=True))
    accounting_code = t.text(
        "accounting_code", '歳入科目 code (text), e.g. "14-01-01"', required=True
    )
    account = _reference(t, "account", known.accounts, "[[accounts]]")
    prices = _prices(t, known.visitor_types)
    return FeeItem(
        code, names, category, price, tax_class, accounting_code, account, prices, _slot(t)
    )


def _reference(t: Table, name: str, ids: tuple[str, ...], where: str) -> str:
    valid = f"the id of one of the {where} tables: " + (", ".join(ids) or "(none defined)")
    value = t.text(name, valid, required=True)
    if value and isinstance(t.data.get(name), str) and value not in ids:
        t.problem(name, f"unknown {name} {value!r}", valid)
    return value


def _prices(t: Table, visitor_types: tuple[str, ...]) -> Mapping[str, int]:
    valid = "a table of visitor type = price, e.g. { student = 150 }"
    table = t.sub("prices", valid)
    if table is None:
        return {}
    prices: dict[str, int] = {}
    for key, value in table.data.items():
        if key not in visitor_types:
            table.problem(
                str(key),
                f"unknown visitor type {key!r}",
                "one of the [[visitor_types]] ids: " + ", ".join(visitor_types),
            )
        elif not is_int(value):
            table.problem(str(key), f"{describe(value)} is not an integer", PRICE_VALID)
        else:
            prices[str(key)] = table.integer(str(key), PRICE_VALID, default=0, maximum=MAX_PRICE)
    return prices


def _slot(t: Table) -> TimeSlot | None:
    value = t.optional_text("slot", SLOT_VALID)
    if value is None or not isinstance(t.data.get("slot"), str):
        return None
    match = SLOT_PATTERN.fullmatch(value)
    if match is None:
        t.problem("slot", f"{describe(value)} is not a time range", SLOT_VALID)
        return None
    start, end = value.split("-")
    if start >= end:
        t.problem("slot", f"{describe(value)} ends before it starts", SLOT_VALID)
        return None
    return TimeSlot(start, end)
