"""A seeded city of counters earning and spending はちのへポイント against the real server code.

``City(seed)`` builds 17 facilities with 2-3 counters each: real ``terminal.counter.Counter``s
on real journals (tmpfs), whose points service is the server's own code in process
(``server_points.InProcessPoints``) on a SQLite server database migrated once per process and
copied per run. A pool of cards visits several facilities. ``run()`` plays random steps:

- sales with or without a tapped card, some eligible (ADM) and some not (CAFE only), some paid
  partly with points (online through the service, offline within the counter's offline limit);
- refunds (cash or points, at the counter or at another counter of the facility, found with the
  server's receipt lookup: ``terminal.foreign_refund``) and voids, which claw awards back;
- syncs: the journal's new lines go through the real ingest (``ingest_batch``), then the
  counter's quota refresh (the real ``request_quota``; pending give-backs are retried);
- per counter, random offline periods: the points service unreachable and no upload;
- now and then an answer of the service is lost (an unknown outcome the counter resolves), and
  once in a while an administrator transfers a card's balance to a new card.

``finish()`` brings every counter online, retries what is pending and uploads everything; the
checks live in ``citychecks``.
"""

from __future__ import annotations

import atexit
import random
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from points.server_points import InProcessPoints
from sqlalchemy import Engine, insert

from sync.server.auth import Caller
from sync.server.db import make_engine, migrate, utcnow
from sync.server.errors import ApiError
from sync.server.ingest import ingest_batch
from sync.server.keys import ensure_server_key
from sync.server.models import Terminal
from sync.server.points import service
from sync.server.points.campaign import set_campaign
from sync.server.terminals import receipt
from terminal.catalogue import Account, Catalogue, FeeItem, Names
from terminal.clerks import Clerk, hash_pin
from terminal.counter import Counter, CounterSettings
from terminal.day import TOKYO
from terminal.errors import DomainError, PaymentDeclined
from terminal.foreign_refund import foreign_sale, refund_foreign, remaining
from terminal.journal import Journal, TerminalKey
from terminal.payments import PaymentPending
from terminal.points import PointsRules, card_token

FACILITIES = 17
BUDGET, CAP, PER_USE, CHUNK, OFFLINE_LIMIT = 20_000, 600, 200, 600, 400
RULES = PointsRules(points_per_use=PER_USE, per_person_cap=CAP, campaign_budget=BUDGET,
                    eligible_items=("ADM",), offline_redemption_limit=OFFLINE_LIMIT)
CATALOGUE = Catalogue(
    items=(
        FeeItem("ADM", Names("一般入館料"), "admission", 300, "std10", "14-01-01", "general"),
        FeeItem("CAFE", Names("コーヒー"), "cafe", 450, "red8", "21-05-01", "general"),
    ),
    accounts=(Account("general", "一般会計", "八戸市", "T1234567890123"),),
)
CLERKS = {"c1": Clerk("c1", "窓口 太郎", "clerk", hash_pin("1111")),
          "sup": Clerk("sup", "係長", "supervisor", hash_pin("9999"))}
START = datetime(2026, 11, 26, 9, 0, tzinfo=TOKYO)
SHM = Path("/dev/shm")


class CityClock:
    """One clock for the whole city: every reading is a few seconds after the last."""

    def __init__(self) -> None:
        self.at = START

    def now(self) -> datetime:
        self.at += timedelta(seconds=3)
        return self.at


@cache
def template_db() -> Path:
    """A migrated server database with a key and the small campaign (once per process)."""
    directory = Path(tempfile.mkdtemp(prefix="citysim-", dir=SHM if SHM.is_dir() else None))
    atexit.register(shutil.rmtree, directory, True)
    path = directory / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        migrate(engine)
        with engine.begin() as conn:
            ensure_server_key(conn)
            set_campaign(conn, "citysim", points_per_use=PER_USE, per_person_cap=CAP,
                         campaign_budget=BUDGET, quota_chunk=CHUNK)
    finally:
        engine.dispose()
    return path


def fresh_server(directory: Path, name: str) -> Engine:
    path = directory / f"{name}.db"
    shutil.copyfile(template_db(), path)
    return make_engine(f"sqlite:///{path}")


@dataclass
class Till:
    """One counter of the city and what the simulation remembers about it."""

    name: str
    facility: str
    key: TerminalKey
    counter: Counter
    points: InProcessPoints
    offline_steps: set[int]
    sent: int = 0
    sales: list[int] = field(default_factory=list)  # seqs of its sales
    payer: dict[int, str] = field(default_factory=dict)  # sale seq -> card that paid points

    @property
    def journal(self) -> Journal:
        return self.counter.journal


@dataclass
class Stats:
    terminals: int = 0
    offline_periods: int = 0
    sales: int = 0
    redemptions: int = 0
    offline_redemptions: int = 0
    refunds: int = 0
    foreign_refunds: int = 0
    voids: int = 0
    syncs: int = 0
    lost_answers: int = 0
    quota_short: int = 0  # eligible tapped sales this terminal's quota could not fully award
    transfers: int = 0
    max_granted: int = 0


class City:
    """One seeded run (see the module docstring)."""

    def __init__(self, seed: int, directory: Path, steps_per_till: int = 5,
                 cards: int = 40) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.directory = directory
        self.clock = CityClock()
        self.engine = fresh_server(directory, "server")
        self.stats = Stats()
        key = f"citysim {seed}".encode()
        self.cards = [card_token(key, n.to_bytes(8, "big")) for n in range(cards)]
        self.tills = [self._till(f"f{f:02d}", n) for f in range(FACILITIES)
                      for n in range(self.rng.randint(2, 3))]
        self.steps = steps_per_till * len(self.tills)
        for till in self.tills:
            till.offline_steps = self._offline_periods()
        self.stats.terminals = len(self.tills)

    def _till(self, facility: str, n: int) -> Till:
        name = f"{facility}-{n + 1:02d}"
        key = TerminalKey.generate()
        journal = Journal.open(self.directory / f"{name}.db", name, key)
        points = InProcessPoints(self.engine, name, self._granted)
        counter = Counter(journal, CATALOGUE, CounterSettings(
            name, tenders=("cash", "points"), facility=facility), CLERKS, self.clock,
            points=points, points_rules=RULES)
        counter.record("login", {"clerk": "c1"})  # Counter.login's entry, without the
        # argon2 PIN check (a sixth of a second each: the whole run's time otherwise)
        with self.engine.begin() as conn:  # enrolled: the receipt lookup knows its facility
            conn.execute(insert(Terminal).values(terminal=name, facility=facility,
                                                 public_key=key.public_key_b64,
                                                 enrolled_at=utcnow()))
        return Till(name, facility, key, counter, points, set())

    def _granted(self, total: int) -> None:
        self.stats.max_granted = max(self.stats.max_granted, total)

    def _offline_periods(self) -> set[int]:
        steps: set[int] = set()
        for _ in range(self.rng.choice((0, 1, 1, 2))):
            start = self.rng.randrange(self.steps)
            steps.update(range(start, min(self.steps, start + self.rng.randint(3, 40))))
            self.stats.offline_periods += 1
        return steps

    # -- the run --------------------------------------------------------------------------
    def run(self) -> None:
        for till in self.tills:
            self.sync(till)
        transfer_at = self.rng.randrange(self.steps) if self.rng.random() < 0.3 else -1
        for step in range(self.steps):
            till = self.rng.choice(self.tills)
            till.points.offline = step in till.offline_steps
            till.points.drop_next = self.rng.random() < 0.03
            self.stats.lost_answers += till.points.drop_next
            self.act(till)
            till.points.drop_next = False
            if step == transfer_at:
                self.transfer()
        self.finish()

    def act(self, till: Till) -> None:
        roll = self.rng.random()
        try:
            if roll < 0.62:
                self.sale(till)
            elif roll < 0.72:
                self.refund(till)
            elif roll < 0.79:
                self.void(till)
            elif roll < 0.86:
                self.foreign_refund(till)
            elif not till.points.offline:
                self.sync(till)
        except (DomainError, PaymentDeclined):
            if till.counter.state.open_sale is not None:
                till.counter.cancel_sale("citysim: declined")

    def sync(self, till: Till) -> None:
        """Upload the new lines (real ingest), then the counter's quota refresh."""
        if till.points.offline:
            return
        lines = list(till.journal.lines(till.sent + 1))
        if lines:
            till.sent = int(ingest_batch(self.engine, till.name, till.key.public_key_b64,
                                         lines)["ack"])
        till.counter.refresh_points_quota()
        self.stats.syncs += 1

    def sale(self, till: Till) -> None:
        counter, rng = till.counter, self.rng
        if rng.random() < 0.8:
            counter.add_item("ADM", qty=rng.randint(1, 2))
        if rng.random() < 0.4 or counter.cart.is_empty:
            counter.add_item("CAFE")
        card = rng.choice(self.cards) if rng.random() < 0.85 else None
        tap = counter.tap_points_card(card) if card is not None else None
        if tap is not None and counter.cart.lines[0].code == "ADM" and \
                counter.state.points.quota_left < PER_USE:
            self.stats.quota_short += 1
        counter.begin_payment()
        payer = None
        if tap is not None and card is not None and rng.random() < 0.3:
            payer = self._redeem(till, card, tap.balance)
        try:
            sale = counter.pay_cash(counter.payment().remaining)
        except PaymentPending:
            counter.payments.resolve_pending()
            sale = counter.pay_cash(counter.payment().remaining)
        till.sales.append(sale.seq)
        if payer is not None:
            till.payer[sale.seq] = payer
        self.stats.sales += 1

    def _redeem(self, till: Till, card: str, balance: int | None) -> str | None:
        counter = till.counter
        due = counter.payment().remaining // 2
        offline = balance is None
        points = min(due, self.rng.choice((100, 200, 400))) if offline else min(due, balance or 0)
        if points <= 0:
            return None
        try:
            counter.pay_with_points(card, points)
        except (DomainError, PaymentDeclined):
            return None
        except PaymentPending:
            counter.payments.resolve_pending()
            return None
        self.stats.redemptions += 1
        self.stats.offline_redemptions += offline
        return card

    def _quantities(self, left: dict[int, int]) -> dict[int, int]:
        open_lines = [i for i, qty in left.items() if qty > 0]
        if not open_lines:
            raise DomainError("nothing left to refund")
        chosen = {i: self.rng.randint(1, left[i]) for i in open_lines if self.rng.random() < 0.7}
        return chosen or {open_lines[0]: left[open_lines[0]]}

    def refund(self, till: Till) -> None:
        if not till.sales:
            return
        seq = self.rng.choice(till.sales)
        counter = till.counter
        lines = counter.journal.entry(seq).body["lines"]
        taken = counter.refunded_quantities(seq)
        quantities = self._quantities({i: int(line["qty"]) - taken.get(i, 0)
                                       for i, line in enumerate(lines)})
        kind = "points" if seq in till.payer and self.rng.random() < 0.7 else "cash"
        try:
            counter.refund(seq, quantities, "sup", kind)
        except DomainError:
            counter.refund(seq, quantities, "sup", "cash")
        self.stats.refunds += 1

    def void(self, till: Till) -> None:
        if not till.sales:
            return
        seq = self.rng.choice(till.sales[-6:])
        till.counter.void(seq, "sup")
        self.stats.voids += 1

    def foreign_refund(self, till: Till) -> None:
        """A refund at ``till`` of a sale of another counter of its facility (looked up on
        the server, so online only)."""
        others = [t for t in self.tills if t.facility == till.facility and t is not till
                  and t.sales]
        if till.points.offline or not others:
            return
        other = self.rng.choice(others)
        seq = self.rng.choice(other.sales)
        receipt_no = str(other.journal.entry(seq).body["receipt_no"])
        caller = Caller(till.name, till.facility, till.key.public_key_b64)
        try:
            answer = receipt(self.engine, caller, till.facility, receipt_no)
        except ApiError:
            return  # not uploaded yet
        found = foreign_sale(till.counter, answer)
        quantities = self._quantities(remaining(till.counter, found.original,
                                                found.server_refunds))
        card = other.payer.get(seq)
        args: dict[str, Any] = {"tender_kind": "points", "card": card} \
            if card is not None and self.rng.random() < 0.7 else {}
        try:
            refund_foreign(till.counter, found.original, found.server_refunds, quantities,
                           "sup", **args)
        except (DomainError, PaymentDeclined):
            refund_foreign(till.counter, found.original, found.server_refunds, quantities,
                           "sup")
        self.stats.foreign_refunds += 1

    def transfer(self) -> None:
        """An administrator moves a lost card's balance to a new card."""
        with self.engine.begin() as conn:
            balances = {c: service.balance(conn, c) for c in self.cards}
            lost = max(balances, key=lambda c: balances[c])
            if balances[lost] <= 0:
                return
            new = card_token(f"citysim {self.seed} new".encode(), b"replaced")
            service.transfer(conn, lost, new, "admin", "citysim: card lost")
        self.cards = [new if c == lost else c for c in self.cards]
        self.stats.transfers += 1

    def finish(self) -> None:
        """Every counter online: resolve what is pending and upload everything."""
        for till in self.tills:
            till.points.offline = False
            if till.counter.state.open_sale is not None:
                till.counter.payments.resolve_pending()
                till.counter.cancel_sale("citysim: end of day")
        for till in self.tills:
            self.sync(till)
            if till.sent < till.journal.last_seq:  # the give-back results it just journaled
                self.sync(till)
        for till in self.tills:
            assert not till.counter.state.points.give_backs, (till.name, "give-back pending")
            assert till.sent == till.journal.last_seq, (till.name, "not all uploaded")

    def close(self) -> None:
        for till in self.tills:
            till.journal.close()
        self.engine.dispose()
