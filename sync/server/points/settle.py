"""Deterministic cap resolution and the settled statement (docs/points.md), pure functions.

A card's awards are ordered by (entry time in UTC, terminal, seq); the earliest stand. An
award settles at ``min(awarded, cap - standing)`` (never below 0), where ``standing`` is the
settled points of the earlier awards that were not clawed back: a clawed-back award earned
nothing, so it leaves its room under the cap to the later ones, and its settled part is what
the clawback reverses. ``corrected = awarded - settled`` is what the cap took off.

Everything here is a function of the facts (the journal entries) and the cap alone, so the
statement does not depend on the order in which the entries arrived.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

AwardKey = tuple[str, int]  # (terminal, seq) of the points.award entry


@dataclass(frozen=True, slots=True)
class AwardFact:
    terminal: str
    seq: int
    card: str
    order_at: str  # the entry's time in UTC (order_key)
    awarded: int

    @property
    def key(self) -> AwardKey:
        return (self.terminal, self.seq)


@dataclass(frozen=True, slots=True)
class PaymentFact:
    """An approved points payment.result: op sale / void / refund."""

    terminal: str
    seq: int
    op: str
    ref: str
    original_ref: str | None
    card: str | None
    points: int


@dataclass(frozen=True, slots=True)
class Settled:
    settled: int
    clawed: int


def order_key(at: str) -> str:
    """An entry time (RFC 3339 with offset) as a sortable UTC text; ValueError if not one."""
    moment = datetime.fromisoformat(at.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"entry time {at!r} has no UTC offset")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def settle_card(awards: Iterable[AwardFact], clawed: set[AwardKey],
                cap: int) -> dict[AwardKey, Settled]:
    """Settle one card's awards under ``cap``; ``clawed``: the awards clawed back."""
    standing = 0
    result: dict[AwardKey, Settled] = {}
    for award in sorted(awards, key=lambda a: (a.order_at, a.terminal, a.seq)):
        settled = max(0, min(award.awarded, cap - standing))
        if award.key in clawed:
            result[award.key] = Settled(settled, settled)
        else:
            result[award.key] = Settled(settled, 0)
            standing += settled
    return result


def settle_all(awards: Iterable[AwardFact], clawed: set[AwardKey],
               cap: int) -> dict[AwardKey, Settled]:
    by_card: dict[str, list[AwardFact]] = {}
    for award in awards:
        by_card.setdefault(award.card, []).append(award)
    result: dict[AwardKey, Settled] = {}
    for card_awards in by_card.values():
        result.update(settle_card(card_awards, clawed, cap))
    return result


def payment_deltas(payments: Iterable[PaymentFact]) -> dict[str, dict[str, int]]:
    """Per card: ``redeemed`` (journaled redemptions) and ``restored``. What comes back of a
    redemption is all of it when it was voided, else its refunds, never more than it spent
    (whatever the order of the void and the refunds); a refund of a redemption no journal
    shows restores its points as journaled."""
    facts = sorted(payments, key=lambda p: (p.terminal, p.seq))
    redeems = {p.ref: p for p in facts if p.op == "sale" and p.card}
    voided = {p.original_ref for p in facts if p.op == "void" and p.original_ref in redeems}
    refunded: dict[str, int] = {}
    cards: dict[str, dict[str, int]] = {}

    def add(card: str, name: str, points: int) -> None:
        cards.setdefault(card, {"redeemed": 0, "restored": 0})[name] += points

    for fact in facts:
        if fact.op != "refund":
            continue
        if fact.original_ref in redeems:
            refunded[fact.original_ref] = refunded.get(fact.original_ref, 0) + fact.points
        elif fact.card:
            add(fact.card, "restored", fact.points)
    for ref, sale in redeems.items():
        add(str(sale.card), "redeemed", sale.points)
        back = sale.points if ref in voided else min(sale.points, refunded.get(ref, 0))
        if back:
            add(str(sale.card), "restored", back)
    return cards


def statement(awards: Iterable[AwardFact], clawed: set[AwardKey],
              payments: Iterable[PaymentFact], cap: int) -> dict[str, Any]:
    """The canonical settled statement: per award (terminal, seq order) awarded, settled,
    corrected, clawed_back; per card balance, standing (settled and not clawed back),
    redeemed, restored; and the totals. Plain JSON values."""
    award_list = list(awards)
    settled = settle_all(award_list, clawed, cap)
    cards: dict[str, dict[str, int]] = {}

    def card_row(card: str) -> dict[str, int]:
        return cards.setdefault(card, {"balance": 0, "standing": 0, "redeemed": 0,
                                       "restored": 0})

    rows: list[dict[str, Any]] = []
    for award in sorted(award_list, key=lambda a: a.key):
        result = settled[award.key]
        rows.append({"terminal": award.terminal, "seq": award.seq, "card": award.card,
                     "awarded": award.awarded, "settled": result.settled,
                     "corrected": award.awarded - result.settled,
                     "clawed_back": result.clawed})
        card_row(award.card)["standing"] += result.settled - result.clawed
    for card, deltas in payment_deltas(payments).items():
        row = card_row(card)
        row["redeemed"] += deltas["redeemed"]
        row["restored"] += deltas["restored"]
    for row in cards.values():
        row["balance"] = row["standing"] - row["redeemed"] + row["restored"]
    totals = {name: sum(r[name] for r in rows)
              for name in ("awarded", "settled", "corrected", "clawed_back")}
    return {"cap": cap, "awards": rows, "cards": dict(sorted(cards.items())),
            "totals": totals}


def ledger_targets(settled: Mapping[AwardKey, Settled],
                   recorded: Mapping[AwardKey, Settled]) -> dict[AwardKey, tuple[int, int]]:
    """The difference rows that bring the ledger (``recorded``) to ``settled``: per award
    (correction points, clawback points), non-zero only."""
    result: dict[AwardKey, tuple[int, int]] = {}
    for key, target in settled.items():
        now = recorded.get(key, Settled(0, 0))
        correction = target.settled - now.settled
        clawback = -(target.clawed - now.clawed)
        if correction or clawback:
            result[key] = (correction, clawback)
    return result
