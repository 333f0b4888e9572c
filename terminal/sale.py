"""Sale lines and the cart a clerk fills at the counter (pure values, int yen)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import cast

from terminal.catalogue import DEFAULT_VISITOR_TYPE, Catalogue, FeeItem
from terminal.errors import DomainError
from terminal.money import TAX_CLASSES, TaxClass


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True, slots=True)
class SaleLine:
    """One line of a sale, refund or void: ``qty`` x tax-inclusive ``unit_price`` yen."""

    code: str
    name: str
    qty: int
    unit_price: int
    tax_class: TaxClass
    account: str
    accounting_code: str = ""
    visitor_type: str = DEFAULT_VISITOR_TYPE
    original_line: int | None = None  # index into the original sale's lines (refund, void)

    def __post_init__(self) -> None:
        where = f"line {self.code!r}"
        if not _is_int(self.qty) or self.qty < 1:
            raise DomainError(f"{where}: quantity must be a whole number >= 1, got {self.qty!r}")
        if not _is_int(self.unit_price) or self.unit_price < 0:
            raise DomainError(
                f"{where}: unit price must be whole yen >= 0, got {self.unit_price!r}"
            )
        if self.tax_class not in TAX_CLASSES:
            raise DomainError(
                f"{where}: unknown tax class {self.tax_class!r}; valid: {', '.join(TAX_CLASSES)}"
            )
        if self.original_line is not None and (
            not _is_int(self.original_line) or self.original_line < 0
        ):
            raise DomainError(
                f"{where}: original_line must be an index >= 0, got {self.original_line!r}"
            )

    @property
    def amount(self) -> int:
        return self.qty * self.unit_price

    def as_body(self) -> dict[str, object]:
        """The journal form; optional fields appear only when they carry information."""
        body: dict[str, object] = {
            "code": self.code,
            "name": self.name,
            "qty": self.qty,
            "unit_price": self.unit_price,
            "tax_class": self.tax_class,
            "amount": self.amount,
            "account": self.account,
        }
        if self.accounting_code:
            body["accounting_code"] = self.accounting_code
        if self.visitor_type != DEFAULT_VISITOR_TYPE:
            body["visitor_type"] = self.visitor_type
        if self.original_line is not None:
            body["original_line"] = self.original_line
        return body

    @classmethod
    def from_body(cls, body: Mapping[str, object]) -> SaleLine:
        """Read a line back from a journal body (the inverse of :meth:`as_body`)."""
        try:
            original = body.get("original_line")
            line = cls(
                code=str(body["code"]),
                name=str(body["name"]),
                qty=cast(int, body["qty"]),
                unit_price=cast(int, body["unit_price"]),
                tax_class=cast(TaxClass, body["tax_class"]),
                account=str(body["account"]),
                accounting_code=str(body.get("accounting_code", "")),
                visitor_type=str(body.get("visitor_type", DEFAULT_VISITOR_TYPE)),
                original_line=cast("int | None", original),
            )
        except KeyError as exc:
            raise DomainError(f"journal line {dict(body)!r} lacks the field {exc}") from exc
        if "amount" in body and body["amount"] != line.amount:
            raise DomainError(
                f"journal line {line.code!r}: amount {body['amount']!r} is not "
                f"qty x unit_price = {line.amount}"
            )
        return line


def line_for(
    item: FeeItem,
    catalogue: Catalogue,
    visitor_type: str = DEFAULT_VISITOR_TYPE,
    qty: int = 1,
) -> SaleLine:
    """A sale line for ``qty`` of ``item`` at the price of ``visitor_type``."""
    price = item.price_for(visitor_type)
    name = item.names.ja
    if visitor_type != DEFAULT_VISITOR_TYPE:
        name += f"（{catalogue.visitor_type(visitor_type).names.ja}）"
    if item.time_slot is not None:
        name += f" {item.time_slot.label}"
    return SaleLine(
        code=item.code,
        name=name,
        qty=qty,
        unit_price=price,
        tax_class=item.tax_class,
        account=item.account,
        accounting_code=item.accounting_code,
        visitor_type=visitor_type,
    )


@dataclass(frozen=True, slots=True)
class Cart:
    """The lines being rung up; every change returns a new cart."""

    lines: tuple[SaleLine, ...] = ()

    @property
    def total(self) -> int:
        return sum(line.amount for line in self.lines)

    @property
    def is_empty(self) -> bool:
        return not self.lines

    def _check_index(self, index: int) -> None:
        if not _is_int(index) or not 0 <= index < len(self.lines):
            raise DomainError(
                f"no cart line {index!r}: the cart has {len(self.lines)} line(s), "
                f"valid indexes are 0..{len(self.lines) - 1}"
            )

    def add(self, line: SaleLine) -> Cart:
        """Add ``line``, merging it into a line of the same fee, visitor type and price."""
        for i, existing in enumerate(self.lines):
            if (
                existing.code == line.code
                and existing.visitor_type == line.visitor_type
                and existing.unit_price == line.unit_price
                and existing.original_line == line.original_line
            ):
                merged = replace(existing, qty=existing.qty + line.qty)
                return Cart((*self.lines[:i], merged, *self.lines[i + 1 :]))
        return Cart((*self.lines, line))

    def set_qty(self, index: int, qty: int) -> Cart:
        """Set the quantity of line ``index``; 0 removes the line."""
        self._check_index(index)
        if not _is_int(qty) or qty < 0:
            raise DomainError(
                f"cart line {index}: quantity must be a whole number >= 0 (0 removes the line), "
                f"got {qty!r}"
            )
        if qty == 0:
            return self.remove(index)
        line = replace(self.lines[index], qty=qty)
        return Cart((*self.lines[:index], line, *self.lines[index + 1 :]))

    def increment(self, index: int) -> Cart:
        self._check_index(index)
        return self.set_qty(index, self.lines[index].qty + 1)

    def decrement(self, index: int) -> Cart:
        """One less of line ``index``; a line at quantity 1 is removed."""
        self._check_index(index)
        return self.set_qty(index, self.lines[index].qty - 1)

    def remove(self, index: int) -> Cart:
        self._check_index(index)
        return Cart((*self.lines[:index], *self.lines[index + 1 :]))

    def clear(self) -> Cart:
        return Cart()
