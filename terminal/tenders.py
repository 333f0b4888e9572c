"""Tenders (how a total is paid) and the payment being collected at the counter.

Only cash can overpay: its ``change`` carries the overpayment. Every other tender pays at most
what is still due, so the tenders' ``amount`` always sums to the total.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, cast

from terminal.errors import DomainError
from terminal.ports import TENDER_KINDS, TenderKind

TENDER_LABELS: Final[dict[TenderKind, str]] = {
    "cash": "現金",
    "transit_ic": "交通系IC",
    "emoney": "電子マネー",
    "credit": "クレジット",
    "qr": "QRコード決済",
    "points": "ポイント",
}
"""Japanese labels of the tender kinds, for receipts and reports."""


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True, slots=True)
class Tender:
    """One means of payment and the part of the total it pays (``amount``)."""

    kind: TenderKind
    amount: int
    given: int | None = None  # cash only: what the visitor handed over
    change: int | None = None  # cash only: given - amount
    ref: str = ""
    approval_code: str = ""
    slip_no: str = ""
    brand: str = ""

    def __post_init__(self) -> None:
        if self.kind not in TENDER_KINDS:
            raise DomainError(
                f"unknown tender kind {self.kind!r}; valid: {', '.join(TENDER_KINDS)}"
            )
        if not _is_int(self.amount) or self.amount < 0:
            raise DomainError(
                f"{self.kind} tender: amount must be whole yen >= 0, got {self.amount!r}"
            )
        if self.kind == "cash":
            self._check_cash()
        elif self.given is not None or self.change is not None:
            raise DomainError(
                f"{self.kind} tender: given/change are for cash only; leave them unset"
            )

    def _check_cash(self) -> None:
        given, change = self.given, self.change
        if given is None or change is None:
            raise DomainError("cash tender: given and change are required (use cash_tender)")
        if not _is_int(given) or not _is_int(change) or given < 0 or change < 0:
            raise DomainError(
                f"cash tender: given and change must be whole yen >= 0, "
                f"got given={given!r} change={change!r}"
            )
        if given - change != self.amount:
            raise DomainError(
                f"cash tender: given {given} - change {change} must equal amount {self.amount}"
            )

    def as_body(self) -> dict[str, object]:
        body: dict[str, object] = {"kind": self.kind, "amount": self.amount}
        if self.kind == "cash":
            body["given"] = self.given
            body["change"] = self.change
            return body
        body["ref"] = self.ref
        if self.approval_code:
            body["approval_code"] = self.approval_code
            body["slip_no"] = self.slip_no
            body["brand"] = self.brand
        return body

    @classmethod
    def from_body(cls, body: Mapping[str, object]) -> Tender:
        """Read a tender back from a journal body (the inverse of :meth:`as_body`)."""
        try:
            kind = cast(TenderKind, body["kind"])
            amount = cast(int, body["amount"])
        except KeyError as exc:
            raise DomainError(f"journal tender {dict(body)!r} lacks the field {exc}") from exc
        return cls(
            kind=kind,
            amount=amount,
            given=cast("int | None", body.get("given")),
            change=cast("int | None", body.get("change")),
            ref=str(body.get("ref", "")),
            approval_code=str(body.get("approval_code", "")),
            slip_no=str(body.get("slip_no", "")),
            brand=str(body.get("brand", "")),
        )


def cash_tender(remaining: int, given: int) -> Tender:
    """Cash handed over against ``remaining`` yen due: pays at most that, the rest is change."""
    if not _is_int(given) or given < 0:
        raise DomainError(f"cash given must be whole yen >= 0, got {given!r}")
    if not _is_int(remaining) or remaining < 0:
        raise DomainError(f"amount due must be whole yen >= 0, got {remaining!r}")
    amount = min(given, remaining)
    return Tender("cash", amount, given=given, change=given - amount)


@dataclass(frozen=True, slots=True)
class Payment:
    """The tenders collected so far against ``total``."""

    total: int
    tenders: tuple[Tender, ...] = ()

    def __post_init__(self) -> None:
        if not _is_int(self.total) or self.total < 0:
            raise DomainError(f"payment total must be whole yen >= 0, got {self.total!r}")

    @property
    def paid(self) -> int:
        return sum(t.amount for t in self.tenders)

    @property
    def remaining(self) -> int:
        return self.total - self.paid

    @property
    def is_settled(self) -> bool:
        return self.paid == self.total

    @property
    def change(self) -> int:
        return sum(t.change or 0 for t in self.tenders if t.kind == "cash")

    def add(self, tender: Tender) -> Payment:
        """Add ``tender``; raise :class:`DomainError` if it breaks a payment rule."""
        remaining = self.remaining
        if self.total == 0 and not self.tenders and tender.amount == 0:
            return Payment(self.total, (tender,))  # a free sale settled by one 0-yen tender
        if remaining <= 0:
            raise DomainError(
                f"payment of {self.total} yen is already settled; "
                f"no further {tender.kind} tender is accepted"
            )
        if tender.amount <= 0:
            raise DomainError(
                f"{tender.kind} tender of {tender.amount} yen pays nothing; "
                f"{remaining} yen is still due"
            )
        if tender.amount > remaining:
            raise DomainError(
                f"{tender.kind} tender of {tender.amount} yen is above the amount due "
                f"({remaining} yen); overpayment only in cash (given above the amount, "
                f"with change)"
            )
        if tender.kind == "cash" and (tender.change or 0) > 0 and tender.amount != remaining:
            raise DomainError(
                f"cash tender gives {tender.change} yen change but pays only {tender.amount} "
                f"of the {remaining} yen due; change is only given on the last tender"
            )
        return Payment(self.total, (*self.tenders, tender))


def settle_check(total: int, tenders: Sequence[Tender]) -> Payment:
    """Replay ``tenders`` against ``total``; raise :class:`DomainError` unless they settle it."""
    payment = Payment(total)
    for tender in tenders:
        payment = payment.add(tender)
    if not payment.is_settled:
        raise DomainError(
            f"tenders pay {payment.paid} yen of a {total} yen total; "
            f"{payment.remaining} yen is still due"
        )
    return payment
