"""In-process stand-ins for the payment ports, used by ``madoguchi simulate``.

These are NOT wire-level simulators (those come with the devices issue and speak ZVT); they
answer through the port directly. They keep their own ledger, optionally in an append-only
file, so that like a real terminal they remember a transaction after the counter crashed and
can answer ``last_result`` for a pending payment.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from drivers.ledger_file import append_record, read_records
from terminal.errors import DomainError
from terminal.ports import DailyLog, PaymentResult, TenderKind

BRANDS: dict[str, tuple[str, ...]] = {
    "credit": ("VISA", "Mastercard", "JCB", "American Express"),
    "transit_ic": ("Suica",),
    "emoney": ("iD", "QUICPay", "WAON", "nanaco", "Edy"),
    "qr": ("PayPay", "au PAY", "d払い", "楽天ペイ"),
}


class InProcessPaymentTerminal:
    """Approves (or, at ``decline_rate``, declines) and remembers every transaction."""

    def __init__(self, rng: random.Random, decline_rate: float = 0.0,
                 ledger_path: Path | None = None) -> None:
        self._rng = rng
        self._decline_rate = decline_rate
        self._ledger_path = ledger_path
        self._results: dict[str, PaymentResult] = {}
        self._batch: list[PaymentResult] = []
        self._batch_no = 0
        self._slip = 0
        if ledger_path is not None and ledger_path.exists():
            self._load(ledger_path)

    def _load(self, path: Path) -> None:
        for record in read_records(path):  # a torn last line never completed
            if record.get("op") == "batch":
                self._batch = []
                self._batch_no = int(record["batch_no"])
                continue
            result = PaymentResult(**record["result"])
            self._results[result.ref] = result
            self._slip = max(self._slip, int(result.slip_no or 0))
            if result.approved:
                self._batch.append(self._signed(record["op"], result))

    @staticmethod
    def _signed(op: str, result: PaymentResult) -> PaymentResult:
        if op == "sale":
            return result
        return PaymentResult(**{**asdict(result), "amount": -result.amount})

    def _remember(self, op: str, result: PaymentResult) -> PaymentResult:
        self._results[result.ref] = result
        if result.approved:
            self._batch.append(self._signed(op, result))
        if self._ledger_path is not None:
            append_record(self._ledger_path, {"op": op, "result": asdict(result)})
        return result

    def _answer(self, op: str, amount: int, kind: TenderKind, ref: str) -> PaymentResult:
        if ref in self._results:  # the same request again: answer, never charge twice
            return self._results[ref]
        self._slip += 1
        approved = op != "sale" or self._rng.random() >= self._decline_rate
        result = PaymentResult(
            approved=approved, amount=amount, kind=kind, ref=ref,
            approval_code=f"{self._rng.randrange(10**6):06d}" if approved else "",
            slip_no=f"{self._slip:05d}", brand=self._rng.choice(BRANDS.get(kind, ("",))),
            message="" if approved else "カードが使えません (card declined)",
        )
        return self._remember(op, result)

    def authorize_sale(self, amount: int, kind: TenderKind, ref: str,
                       prompt: Callable[[str], None]) -> PaymentResult:
        prompt("カードをタッチしてください (tap or insert the card)")
        return self._answer("sale", amount, kind, ref)

    def void(self, slip_no: str, amount: int, kind: TenderKind) -> PaymentResult:
        originals = [r for r in self._results.values() if r.slip_no == slip_no and r.approved]
        if not originals:
            raise DomainError(f"no approved transaction with slip {slip_no}")
        # Same ref convention as the counter's pending entry, so a lost answer can be asked for.
        return self._answer("void", amount, kind, f"{originals[0].ref}-V")

    def refund(self, amount: int, kind: TenderKind, ref: str) -> PaymentResult:
        return self._answer("refund", amount, kind, ref)

    def last_result(self, ref: str) -> PaymentResult | None:
        return self._results.get(ref)

    def daily_log(self) -> DailyLog:
        by_tender: dict[str, int] = {}
        for result in self._batch:
            by_tender[result.kind] = by_tender.get(result.kind, 0) + result.amount
        self._batch_no += 1
        log = DailyLog(f"{self._batch_no:04d}", len(self._batch),
                       sum(r.amount for r in self._batch), by_tender)
        self._batch = []
        if self._ledger_path is not None:
            append_record(self._ledger_path, {"op": "batch", "batch_no": self._batch_no})
        return log
