"""From journal entries to the points ledger: the ingest hook, re-settling and rebuild.

``apply_entries`` runs inside ingest's transaction on the entries a batch newly stored (so a
re-sent entry, a duplicate, is never applied twice; a refused batch applies nothing). It reads

- ``points.award`` -> a fact row, an ``award`` ledger row (+points), then the card is
  re-settled (``correction`` rows for what the cap takes off, for this and later awards);
- ``points.clawback`` -> a fact row naming the award (``award_terminal``, default the
  clawback's own terminal, and ``award_seq``); re-settling reverses the award's settled part
  (``clawback`` rows), whenever the award arrives;
- approved points ``payment.result`` (its ``payment.pending`` gives card, points, operation):
  sale -> ``redeem``, void -> ``redeem_cancel`` of ``original_ref``, refund ->
  ``refund_restore``; each only if the API did not already put it in the ledger (redemptions
  made offline arrive this way);
- ``points.quota`` -> the grant is marked as journaled (an alarm if the server never made it).

Training entries (``training.*``) never match. Every ledger row that applies a fact once
carries a ``dedupe`` key, so applying the same facts again (``rebuild``) appends nothing;
re-settling appends only differences against what the ledger holds.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection

from sync.server.db import utcnow
from sync.server.models import Alarm, StoredEntry
from sync.server.points import settle
from sync.server.points.campaign import get_campaign
from sync.server.points.ledger import Row, append, has_dedupe, lock_head
from sync.server.points.models import (
    PointsAward,
    PointsClawback,
    PointsGrant,
    PointsLedgerRow,
    PointsPayment,
    PointsRequest,
)
from sync.server.points.service import refunded
from sync.server.points.settle import AwardFact, AwardKey, Settled
from sync.server.sql import insert_ignore
from terminal.points import is_card_token

AWARD: Final = "points.award"
CLAWBACK: Final = "points.clawback"
QUOTA: Final = "points.quota"
RESULT: Final = "payment.result"
KINDS: Final = frozenset({AWARD, CLAWBACK, QUOTA, RESULT})
PAYMENT_OPS: Final = frozenset({"sale", "void", "refund"})


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass
class Facts:
    """The points facts of some entries, and the problems found (an alarm each)."""

    awards: list[dict[str, Any]] = field(default_factory=list)
    clawbacks: list[dict[str, Any]] = field(default_factory=list)
    payments: list[dict[str, Any]] = field(default_factory=list)
    quotas: list[dict[str, Any]] = field(default_factory=list)
    problems: list[tuple[str, int, str]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.awards or self.clawbacks or self.payments or self.quotas
                    or self.problems)


def _award(entry: Mapping[str, Any], facts: Facts) -> None:
    body, terminal, seq = entry["body"], entry["terminal"], entry["seq"]
    points, card = _int(body.get("points")), body.get("card")
    if points is None or points <= 0 or not isinstance(card, str) or not is_card_token(card):
        facts.problems.append((terminal, seq, "points.award without a card token and points "
                                              ">= 1: not counted"))
        return
    try:
        order_at = settle.order_key(entry["at"])
    except ValueError as exc:
        facts.problems.append((terminal, seq, f"points.award: {exc}: not counted"))
        return
    receipt = body.get("receipt_no")
    facts.awards.append({
        "terminal": terminal, "seq": seq, "card": card, "at": entry["at"][:40],
        "order_at": order_at, "day": entry["day"], "facility": str(body.get("facility", ""))[:100],
        "receipt_no": None if receipt is None else str(receipt)[:100],
        "online": body.get("online") is True, "awarded": points, "settled": 0, "clawed": 0})


def _clawback(entry: Mapping[str, Any], facts: Facts) -> None:
    body, terminal, seq = entry["body"], entry["terminal"], entry["seq"]
    award_seq, card = _int(body.get("award_seq")), body.get("card")
    award_terminal = body.get("award_terminal", terminal)
    if award_seq is None or not isinstance(card, str) or not isinstance(award_terminal, str):
        facts.problems.append((terminal, seq, "points.clawback without award_seq and card: "
                                              "not counted"))
        return
    facts.clawbacks.append({
        "terminal": terminal, "seq": seq, "award_terminal": award_terminal[:100],
        "award_seq": award_seq, "card": card[:64], "points": _int(body.get("points")) or 0,
        "reason": str(body.get("reason", ""))[:20], "at": entry["at"][:40]})


def _payment(entry: Mapping[str, Any], pending: Mapping[str, Any] | None,
             facts: Facts) -> None:
    body, terminal, seq = entry["body"], entry["terminal"], entry["seq"]
    if body.get("approved") is not True:
        return
    source = {**(pending or {}), **{k: v for k, v in body.items() if v not in ("", None)}}
    op = (pending or {}).get("operation", body.get("operation"))
    points = _int(source.get("points"))
    ref = source.get("ref")
    if op not in PAYMENT_OPS or not isinstance(ref, str) or (op != "void" and not points):
        facts.problems.append((terminal, seq, "approved points payment.result whose "
                                              "payment.pending gives no operation, ref or "
                                              "points: not counted"))
        return
    card = source.get("card")
    original = source.get("original_ref")
    facts.payments.append({
        "terminal": terminal, "seq": seq, "op": op, "ref": ref[:200],
        "original_ref": original[:200] if isinstance(original, str) else None,
        "card": card if isinstance(card, str) and is_card_token(card) else None,
        "points": points or 0, "at": entry["at"][:40]})


def _pending_bodies(conn: Connection, terminal: str, seqs: set[int],
                    batch: Mapping[int, Mapping[str, Any]]) -> dict[int, dict[str, Any]]:
    found = {s: dict(batch[s]["body"]) for s in seqs if s in batch}
    missing = sorted(seqs - set(found))
    if missing:
        for seq, line in conn.execute(select(StoredEntry.seq, StoredEntry.line).where(
                StoredEntry.terminal == terminal, StoredEntry.seq.in_(missing))):
            found[int(seq)] = dict(json.loads(line)["body"])
    return found


def extract(conn: Connection, terminal: str, entries: Sequence[Mapping[str, Any]]) -> Facts:
    """The points facts of ``entries`` (one terminal's, seq order)."""
    facts = Facts()
    results = [e for e in entries if e["kind"] == RESULT and e["body"].get("kind") == "points"
               and e["body"].get("approved") is True]
    pending_seqs = {s for e in results if (s := _int(e["body"].get("pending_seq")))}
    pending = _pending_bodies(conn, terminal, pending_seqs, {e["seq"]: e for e in entries}) \
        if pending_seqs else {}
    for entry in entries:
        kind = entry["kind"]
        if kind == AWARD:
            _award(entry, facts)
        elif kind == CLAWBACK:
            _clawback(entry, facts)
        elif kind == QUOTA:
            facts.quotas.append({"terminal": terminal, "seq": entry["seq"],
                                 "grant_id": entry["body"].get("grant_id"),
                                 "granted": _int(entry["body"].get("granted"))})
        elif kind == RESULT and entry["body"].get("kind") == "points":
            seq = _int(entry["body"].get("pending_seq"))
            _payment(entry, pending.get(seq) if seq else None, facts)
    return facts


def apply_entries(conn: Connection, terminal: str, entries: Sequence[Mapping[str, Any]]) -> None:
    """The ingest hook: apply the points facts of newly stored ``entries`` (envelope dicts of
    ``terminal``, seq order) in the caller's transaction. Cheap when there are none."""
    relevant = [e for e in entries if e["kind"] in KINDS]
    if not relevant:
        return
    facts = extract(conn, terminal, relevant)
    if facts:
        lock_head(conn)
        apply_facts(conn, facts)


def apply_facts(conn: Connection, facts: Facts, settle_now: bool = True) -> set[str]:
    """Store the facts and their ledger rows; re-settle their cards (or return them)."""
    for table, rows in ((PointsAward, facts.awards), (PointsClawback, facts.clawbacks),
                        (PointsPayment, facts.payments)):
        if rows:
            conn.execute(insert_ignore(conn, table.__table__, ["terminal", "seq"]), rows)
    append(conn, [Row(card=a["card"], kind="award", points=a["awarded"],
                      reason=f"points.award {a['facility']} {a['receipt_no'] or ''}".strip(),
                      actor=a["terminal"], terminal=a["terminal"], entry_seq=a["seq"],
                      award_terminal=a["terminal"], award_seq=a["seq"],
                      dedupe=f"award:{a['terminal']}:{a['seq']}")
                  for a in _new_awards(conn, facts.awards)])
    _apply_payments(conn, facts.payments)
    _acknowledge_quotas(conn, facts.quotas)
    cards = {a["card"] for a in facts.awards} | _cards_of_awards(
        conn, {(c["award_terminal"], c["award_seq"]) for c in facts.clawbacks})
    if settle_now:
        resettle(conn, cards)
    now = utcnow()
    for terminal, seq, message in facts.problems:
        conn.execute(insert(Alarm).values(terminal=terminal, kind="points", seq=seq,
                                          stored_hash=None, offered_hash=None,
                                          message=message, at=now))
    return cards


def _new_awards(conn: Connection, awards: list[dict[str, Any]]) -> list[dict[str, Any]]:
    keys = {f"award:{a['terminal']}:{a['seq']}": a for a in awards}
    done = has_dedupe(conn, list(keys))
    return [a for key, a in keys.items() if key not in done]


def _cards_of_awards(conn: Connection, keys: set[AwardKey]) -> set[str]:
    cards: set[str] = set()
    for terminal, seq in keys:
        card = conn.execute(select(PointsAward.card).where(
            PointsAward.terminal == terminal, PointsAward.seq == seq)).scalar()
        if card is not None:
            cards.add(card)
    return cards


def _redeem_rows(conn: Connection, refs: Iterable[str]) -> dict[str, tuple[str, int]]:
    keys = [f"redeem:{ref}" for ref in set(refs)]
    if not keys:
        return {}
    rows = conn.execute(select(PointsLedgerRow.ref, PointsLedgerRow.card,
                               PointsLedgerRow.points).where(PointsLedgerRow.dedupe.in_(keys)))
    return {str(ref): (card, -int(points)) for ref, card, points in rows}


class _Payments:
    """Applies journaled points payments the ledger lacks (in seq order, one batch)."""

    def __init__(self, conn: Connection, payments: list[dict[str, Any]]) -> None:
        self.conn = conn
        refs = [p["ref"] for p in payments] + [p["original_ref"] for p in payments
                                               if p["original_ref"]]
        self.redeemed = _redeem_rows(conn, refs)
        self.done = has_dedupe(conn, [f"{k}:{p['ref']}" for p in payments
                                      for k in ("redeem", "refund_restore")]
                               + [f"redeem_cancel:{p['original_ref']}" for p in payments
                                  if p["original_ref"]])
        self.rows: list[Row] = []

    def _add(self, p: Mapping[str, Any], card: str, kind: str, points: int, ref: str,
             reason: str) -> None:
        dedupe = f"{kind}:{ref}"
        self.rows.append(Row(card=card, kind=kind, points=points, ref=ref, reason=reason,
                             dedupe=dedupe, terminal=p["terminal"], entry_seq=p["seq"],
                             actor=p["terminal"]))
        self.done.add(dedupe)

    def _left(self, original_ref: str) -> int:
        """What the redemption may still give back (0 once cancelled)."""
        if f"redeem_cancel:{original_ref}" in self.done:
            return 0
        return self.redeemed[original_ref][1] - refunded(self.conn, original_ref)

    def apply(self, p: Mapping[str, Any]) -> None:
        original = p["original_ref"] or ""
        if p["op"] == "sale" and p["card"] and f"redeem:{p['ref']}" not in self.done:
            self._add(p, p["card"], "redeem", -p["points"], p["ref"],
                      "journal: redeemed (not recorded by the API)")
            self.redeemed[p["ref"]] = (p["card"], p["points"])
            _record_request(self.conn, p, "redeem")
        elif p["op"] == "void" and original in self.redeemed and \
                f"redeem_cancel:{original}" not in self.done:
            back = self._left(original)
            self._add(p, self.redeemed[original][0], "redeem_cancel", back, original,
                      "journal: redemption voided")
            self.conn.execute(update(PointsRequest).where(PointsRequest.ref == original)
                              .values(cancelled=True))
        elif p["op"] == "refund" and f"refund_restore:{p['ref']}" not in self.done:
            known = original in self.redeemed
            card = self.redeemed[original][0] if known else p["card"]
            back = min(p["points"], self._left(original)) if known else p["points"]
            if card and back > 0:
                self._add(p, card, "refund_restore", back, p["ref"],
                          "journal: points tender refunded")
                _record_request(self.conn, {**p, "card": card, "points": back}, "refund")


def _apply_payments(conn: Connection, payments: list[dict[str, Any]]) -> None:
    applier = _Payments(conn, payments)
    for payment in payments:
        applier.apply(payment)
    append(conn, applier.rows)


def _record_request(conn: Connection, p: Mapping[str, Any], op: str) -> None:
    conn.execute(insert_ignore(conn, PointsRequest.__table__, ["ref"]).values(
        ref=p["ref"], op=op, terminal=p["terminal"], card=p["card"], points=p["points"],
        approved=True, cancelled=False, message="journaled", original_ref=p["original_ref"],
        source="journal", at=p["at"]))


def _acknowledge_quotas(conn: Connection, quotas: list[dict[str, Any]]) -> None:
    now = utcnow()
    for quota in quotas:
        grant = conn.execute(select(PointsGrant.granted).where(
            PointsGrant.grant_id == str(quota["grant_id"]),
            PointsGrant.terminal == quota["terminal"])).scalar()
        if grant is None or int(grant) != quota["granted"]:
            conn.execute(insert(Alarm).values(
                terminal=quota["terminal"], kind="points", seq=quota["seq"], stored_hash=None,
                offered_hash=None, at=now,
                message=f"points.quota {quota['grant_id']!r} granted {quota['granted']} is "
                        "not a grant this server made to the terminal"))
            continue
        conn.execute(update(PointsGrant).where(PointsGrant.grant_id == str(quota["grant_id"]))
                     .values(journal_seq=quota["seq"]))


def _recorded(conn: Connection, cards: Sequence[str]) -> dict[AwardKey, Settled]:
    """What the ledger holds per award of ``cards``: settled (award + corrections) and
    clawed (minus the clawback rows)."""
    sums: dict[AwardKey, list[int]] = {}
    query = select(PointsLedgerRow.award_terminal, PointsLedgerRow.award_seq,
                   PointsLedgerRow.kind, func.sum(PointsLedgerRow.points)).where(
        PointsLedgerRow.card.in_(cards), PointsLedgerRow.award_seq.is_not(None)).group_by(
        PointsLedgerRow.award_terminal, PointsLedgerRow.award_seq, PointsLedgerRow.kind)
    for terminal, seq, kind, total in conn.execute(query):
        entry = sums.setdefault((str(terminal), int(seq or 0)), [0, 0])
        if kind == "clawback":
            entry[1] -= int(total)
        else:
            entry[0] += int(total)
    return {key: Settled(v[0], v[1]) for key, v in sums.items()}


def resettle(conn: Connection, cards: Iterable[str], reason: str = "cap") -> int:
    """Settle the awards of ``cards`` and append the ledger differences (``correction`` and
    ``clawback`` rows naming the award); the number of rows appended. The caller holds the
    ledger head lock."""
    card_list = sorted(set(cards))
    appended = 0
    cap = get_campaign(conn).per_person_cap
    for start in range(0, len(card_list), 200):
        chunk = card_list[start:start + 200]
        stored = conn.execute(select(PointsAward).where(PointsAward.card.in_(chunk))).all()
        awards = [AwardFact(r.terminal, r.seq, r.card, r.order_at, r.awarded) for r in stored]
        cached = {(r.terminal, r.seq): Settled(r.settled, r.clawed) for r in stored}
        keys = {a.key for a in awards}
        clawed = {(str(t), int(s)) for t, s in conn.execute(
            select(PointsClawback.award_terminal, PointsClawback.award_seq).where(
                PointsClawback.card.in_(chunk) | PointsClawback.award_seq.in_(
                    [k[1] for k in keys])))} & keys
        target = settle.settle_all(awards, clawed, cap)
        diffs = settle.ledger_targets(target, _recorded(conn, chunk))
        card_of = {a.key: a.card for a in awards}
        rows: list[Row] = []
        for key, (correction, clawback) in sorted(diffs.items()):
            if correction:
                rows.append(Row(card=card_of[key], kind="correction", points=correction,
                                reason=f"{reason}: settled {target[key].settled}",
                                actor="server", award_terminal=key[0], award_seq=key[1]))
            if clawback:
                rows.append(Row(card=card_of[key], kind="clawback", points=clawback,
                                reason=f"clawed back {target[key].clawed}",
                                actor="server", award_terminal=key[0], award_seq=key[1]))
        appended += len(append(conn, rows))
        for key in [k for k in target if target[k] != cached.get(k)]:
            conn.execute(update(PointsAward).where(
                PointsAward.terminal == key[0], PointsAward.seq == key[1]).values(
                settled=target[key].settled, clawed=target[key].clawed))
    return appended
