"""``madoguchi simulate``: realistic random business days through the counter's service layer.

Deterministic for a seed: a simulated clock, UUIDs and device answers drawn from the seed.
With ``--cards N`` a pool of N simulated Hachica cards (IDms drawn from the seed, named by
their keyed hash) is tapped during a share of the sales and earns はちのへポイント through the
simulated points service (with a quota, synced like the server would: awards reach it from
the journal while it is reachable); ``--offline-share`` makes it unreachable for that share of
the sales, so awards run on the terminal's quota alone.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from drivers.points_sim import PointsSimulator
from terminal.clerks import Clerk, hash_pin
from terminal.counter import Counter
from terminal.errors import ConfigError, DomainError, PaymentDeclined
from terminal.journal import Entry
from terminal.points import card_token, mask_idm
from terminal.ports import PAYMENT_TERMINAL_KINDS, TenderKind
from terminal.sale import Cart, line_for

if TYPE_CHECKING:
    from argparse import Namespace

    from kiosk_config.schema import KioskConfig

SIM_CLERKS = (("c1", "clerk", "1111"), ("c2", "clerk", "2222"), ("sup1", "supervisor", "9999"))
TAP_SHARE = 0.6
"""Share of the sales during which a visitor taps a Hachica (with ``--cards``)."""
REDEEM_SHARE = 0.15
"""Share of the tapped sales where the visitor also spends points (online, with a balance)."""
SYNC_EVERY = 25
"""Sales between two simulated syncs (quota refresh, awards reaching the service)."""


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
                 progress: Callable[[int], None] | None = None,
                 points: PointsRun | None = None) -> None:
        self.progress = progress
        self.points = points
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
        if self.points is not None:
            self.points.sync()
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
        if self.points is not None:
            self.points.sync()
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
        tapped = self.points.tap() if self.points is not None else None
        c.begin_payment()
        self._traced(None)
        if tapped is not None and self.points is not None:
            self.points.maybe_redeem(tapped)
        self.pay(c.payment().remaining)
        self.summary.sales += 1
        if self.points is not None:
            self.points.after_sale(self.summary.sales)
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


@dataclass
class PointsSummary:
    awards: int = 0
    awarded: int = 0
    offline_awards: int = 0
    redemptions: int = 0
    redeemed: int = 0

    def text(self, counter: Counter) -> str:
        ledger = counter.state.points
        return (f"points: {self.awards} awards, {self.awarded:,} points "
                f"({self.offline_awards} offline), {self.redemptions} redemptions "
                f"({self.redeemed:,} points); journal: {len(ledger.clawed_back)} clawbacks, "
                f"quota {ledger.quota_granted:,} granted, {ledger.quota_left:,} left")


class PointsRun:
    """Simulated Hachica cards tapped at the counter, and the points service they reach."""

    def __init__(self, counter: Counter, service: PointsSimulator, points_key: bytes,
                 cards: int, offline_share: float, seed: int) -> None:
        self.counter, self.service = counter, service
        self.rng = random.Random(f"points-{seed}")  # apart: --cards 0 runs stay as they were
        idms = [self.rng.getrandbits(64).to_bytes(8, "big") for _ in range(cards)]
        # Only the token and the masked IDm leave here: the raw IDm is never journaled.
        self.cards = [(card_token(points_key, idm), mask_idm(idm)) for idm in idms]
        self.offline_share = offline_share
        self.summary = PointsSummary()
        self.synced_seq = 0

    def sync(self) -> None:
        """What the server would do at a sync: take the journal's awards, grant quota."""
        if self.service.offline:
            return
        entries = self.counter.journal.entries(self.synced_seq + 1)
        self.service.ingest(e.as_dict() for e in entries)
        self.synced_seq = self.counter.journal.last_seq
        self.counter.refresh_points_quota()

    def tap(self) -> str | None:
        """Maybe a visitor taps a card during this sale: its token, else None."""
        self.service.offline = self.rng.random() < self.offline_share
        if not self.cards or self.rng.random() >= TAP_SHARE:
            return None
        card, masked = self.rng.choice(self.cards)
        self.counter.tap_points_card(card, masked)
        return card

    def maybe_redeem(self, card: str) -> None:
        """Sometimes spend points on half of what is due (online, with a balance)."""
        c = self.counter
        if self.service.offline or self.rng.random() >= REDEEM_SHARE:
            return
        balance = self.service.balance(card)
        points = min(balance, c.payment().remaining // 2 // c.points_rules.yen_per_point)
        if points <= 0:
            return
        try:
            c.pay_with_points(card, points)
        except PaymentDeclined:
            return
        self.summary.redemptions += 1
        self.summary.redeemed += points

    def after_sale(self, sales: int) -> None:
        head = self.counter.journal.head()
        if head is not None and head.kind == "points.award":
            self.summary.awards += 1
            self.summary.awarded += int(head.body["points"])
            self.summary.offline_awards += 0 if head.body["online"] else 1
        if sales % SYNC_EVERY == 0:
            self.sync()


def points_run_for(args: Namespace, config: KioskConfig, counter: Counter,
                   journal_path: Path) -> PointsRun | None:
    """The simulated cards and points service for ``--cards`` (None without cards); the
    service's ledger lives beside the journal."""
    cards, share = int(getattr(args, "cards", 0)), float(getattr(args, "offline_share", 0.0))
    if cards < 0 or not 0.0 <= share <= 1.0:
        raise ConfigError("--cards must be >= 0 and --offline-share from 0 to 1")
    rules = config.points
    if cards == 0:
        return None
    if rules is None or not rules.enabled:
        raise ConfigError(f"--cards: {config.source.name} has no enabled [points] table "
                          "(はちのへポイント is off at this counter)")
    # A simulation's own key, drawn from the seed like the cards: runs stay reproducible and
    # never use (or reveal tokens under) a real counter's points key.
    key = hashlib.sha256(f"madoguchi simulate points key {args.seed}".encode()).digest()
    service = PointsSimulator(ledger_path=journal_path.with_suffix(".points.jsonl"),
                              per_person_cap=rules.per_person_cap, budget=rules.campaign_budget)
    counter.points = service
    return PointsRun(counter, service, key, cards, share, int(args.seed))


def split_sales(total: int, days: int) -> list[int]:
    base, extra = divmod(total, days)
    return [base + (1 if i < extra else 0) for i in range(days)]


def journal_key_path(journal: Path) -> Path:
    """A simulated terminal keeps its key beside its journal (outside the database)."""
    return journal.with_suffix(".key")
