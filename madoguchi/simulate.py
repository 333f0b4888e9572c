"""``madoguchi simulate``: realistic random business days through the counter's service layer.

Deterministic for a seed: a simulated clock, UUIDs and device answers drawn from the seed.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TextIO

from terminal.clerks import Clerk, hash_pin
from terminal.counter import Counter
from terminal.errors import DomainError, PaymentDeclined
from terminal.journal import Entry
from terminal.ports import PAYMENT_TERMINAL_KINDS, TenderKind
from terminal.sale import Cart, line_for

SIM_CLERKS = (("c1", "clerk", "1111"), ("c2", "clerk", "2222"), ("sup1", "supervisor", "9999"))


class SimClock:
    """A clock that only moves when the simulation moves it."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def now(self) -> datetime:
        return self.current

    def advance(self, seconds: int) -> None:
        self.current += timedelta(seconds=seconds)


def sim_clerks() -> dict[str, Clerk]:
    return {cid: Clerk(cid, cid, role, hash_pin(pin)) for cid, role, pin in SIM_CLERKS}  # type: ignore[arg-type]


class SeededIds:
    """UUIDs drawn from a seed; ``reseed`` keeps a resumed journal's ids unique."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.rng = random.Random(f"ids-{seed}")

    def reseed(self, last_seq: int) -> None:
        if last_seq:
            self.rng = random.Random(f"ids-{self.seed}-{last_seq}")

    def __call__(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))


@dataclass
class Summary:
    sales: int = 0
    refunds: int = 0
    voids: int = 0
    declines: int = 0
    closings: int = 0
    by_tender: dict[str, int] = field(default_factory=dict)

    def text(self, counter: Counter) -> str:
        tenders = ", ".join(f"{k} ¥{v:,}" for k, v in sorted(self.by_tender.items()))
        return (
            f"simulated {self.sales} sales, {self.refunds} refunds, {self.voids} voids, "
            f"{self.declines} declines, {self.closings} Z closings; tenders: {tenders}; "
            f"journal has {counter.journal.last_seq} entries"
        )


class Simulation:
    def __init__(self, counter: Counter, clock: SimClock, rng: random.Random,
                 trace: TextIO | None = None,
                 progress: Callable[[int], None] | None = None) -> None:
        self.progress = progress
        self.counter = counter
        self.clock = clock
        self.rng = rng
        self.trace = trace
        self.summary = Summary()
        self.pins = {cid: pin for cid, _, pin in SIM_CLERKS}

    def _traced(self, entry: Entry | None) -> None:
        if self.trace is not None:
            head = self.counter.journal.head()
            if head is not None:
                print(f"committed {head.seq} {head.hash}", file=self.trace, flush=True)

    def tick(self, low: int = 30, high: int = 300) -> None:
        self.clock.advance(self.rng.randint(low, high))

    def recover(self) -> None:
        """Finish what a crashed run left open: resolve pending payments, cancel the sale."""
        c = self.counter
        if c.state.open_sale is not None:
            c.payments.resolve_pending()
            if c.state.clerk is None:
                self.login(c.state.open_sale.clerk)
            c.cancel_sale("simulation restarted")
            self._traced(None)

    def login(self, clerk_id: str) -> None:
        if self.counter.state.clerk != clerk_id:
            self.counter.login(clerk_id, self.pins[clerk_id])
            self._traced(None)

    def run_day(self, sales: int, close: bool) -> None:
        c = self.counter
        self.login(self.rng.choice(("c1", "c2")))
        if not any(e["kind"] == "cash.float" for e in c.state.period):
            c.cash_movement("cash.float", 20000, "釣銭準備金")
            self._traced(None)
        for _ in range(sales):
            self.tick()
            self.one_event()
        if close:
            self.close()

    def one_event(self) -> None:
        roll = self.rng.random()
        if roll < 0.05 and self.summary.sales:
            self.refund()
        elif roll < 0.08 and self.summary.sales:
            self.void()
        elif roll < 0.10:
            self.counter.cash_movement("cash.out", 1000 * self.rng.randint(1, 3), "両替")
            self._traced(None)
        self.sale()

    def sale(self) -> None:
        c = self.counter
        cart = Cart()
        for _ in range(self.rng.randint(1, 3)):
            item = self.rng.choice(c.catalogue.items)
            visitor = self.rng.choice(item.visitor_types())
            cart = cart.add(line_for(item, c.catalogue, visitor, self.rng.randint(1, 4)))
        c.set_cart(cart)
        c.begin_payment()
        self._traced(None)
        self.pay(cart.total)
        self.summary.sales += 1
        if self.progress is not None and self.summary.sales % 100 == 0:
            self.progress(self.summary.sales)
        if self.rng.random() < 0.3:
            head = c.journal.head()
            assert head is not None
            c.rate(head.seq, self.rng.randint(1, 5))
            self._traced(None)

    def pay(self, total: int) -> None:
        c = self.counter
        kinds = [k for k in c.settings.tenders if k in (*PAYMENT_TERMINAL_KINDS, "qr")]
        roll = self.rng.random()
        if total > 0 and kinds and roll < 0.55:
            kind: TenderKind = self.rng.choice(kinds)
            part = total if roll < 0.45 or total < 2 else self.rng.randint(1, total - 1)
            try:
                tender = c.pay_by_terminal(kind, part)
                self.summary.by_tender[kind] = self.summary.by_tender.get(kind, 0) + tender.amount
            except PaymentDeclined:
                self.summary.declines += 1
            self._traced(None)
        remaining = c.payment().remaining
        if remaining == 0 and total > 0:
            entry = c.complete_sale(c.payment())
        else:
            given = remaining + self.rng.choice((0, 0, 0, 1000 - remaining % 1000, 5000, 10000))
            entry = c.pay_cash(given)
            self.summary.by_tender["cash"] = self.summary.by_tender.get("cash", 0) + remaining
        self._traced(entry)

    def _recent_sales(self) -> list[int]:
        return [int(e["seq"]) for e in self.counter.state.period if e["kind"] == "sale"]

    def refund(self) -> None:
        c = self.counter
        seqs = self._recent_sales()
        if not seqs:
            return
        seq = self.rng.choice(seqs)
        original = c.journal.entry(seq).body
        done = c.refunded_quantities(seq)
        left = {i: int(line["qty"]) - done.get(i, 0) for i, line in enumerate(original["lines"])}
        left = {i: q for i, q in left.items() if q > 0}
        if not left:
            return
        i = self.rng.choice(sorted(left))
        approver = c.approve("sup1", self.pins["sup1"])
        try:
            c.refund(seq, {i: self.rng.randint(1, left[i])}, approver)
            self.summary.refunds += 1
        except DomainError:
            return
        self._traced(None)

    def void(self) -> None:
        c = self.counter
        seqs = [s for s in self._recent_sales() if (c.settings.terminal, s)
                not in c.state.refunds_by_original]
        if not seqs:
            return
        approver = c.approve("sup1", self.pins["sup1"])
        c.void(seqs[-1], approver)
        self.summary.voids += 1
        self._traced(None)

    def close(self) -> None:
        c = self.counter
        if c.payment_terminal is not None:
            c.daily_log()
            self._traced(None)
        expected = int(c.x_report()["cash_expected"])
        c.close_day(expected)
        self.summary.closings += 1
        self._traced(None)
        c.logout()
        self._traced(None)
        # The next business day starts the next morning at 09:00 local time.
        now = self.clock.now()
        nxt = (now + timedelta(days=1)).replace(hour=9, minute=0, second=0)
        self.clock.current = nxt


def split_sales(total: int, days: int) -> list[int]:
    base, extra = divmod(total, days)
    return [base + (1 if i < extra else 0) for i in range(days)]


def journal_key_path(journal: Path) -> Path:
    """A simulated terminal keeps its key beside its journal (outside the database)."""
    return journal.with_suffix(".key")
