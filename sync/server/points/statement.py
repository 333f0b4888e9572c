"""The settled statement, the ledger's balances, their reconciliation, and ``rebuild``.

``points_statement`` is computed from the facts read from journal entries (and the cap)
only: replaying every journal into a fresh server, in any order, gives the identical
statement. The ledger also holds what only the server did: transfers between cards, and
redemptions approved through the API whose ``payment.result`` has not arrived yet. So once
every journal has arrived and no redemption is in flight,
``ledger_balances()[card] == statement["cards"][card]["balance"] + transfers_of(card)``,
and at every moment the ledger's rows per award equal the statement's settled and clawed
parts (``check``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.engine import Connection

from sync.server.models import StoredEntry
from sync.server.points import settle
from sync.server.points.campaign import get_campaign
from sync.server.points.journal import KINDS, apply_facts, extract, resettle
from sync.server.points.ledger import lock_head
from sync.server.points.models import (
    PointsAward,
    PointsClawback,
    PointsLedgerRow,
    PointsPayment,
)
from sync.server.points.settle import AwardFact, PaymentFact

TRANSFER_KINDS = ("transfer_out", "transfer_in")


def _facts(conn: Connection) -> tuple[list[AwardFact], set[settle.AwardKey], list[PaymentFact]]:
    awards = [AwardFact(r.terminal, r.seq, r.card, r.order_at, r.awarded)
              for r in conn.execute(select(PointsAward.terminal, PointsAward.seq,
                                           PointsAward.card, PointsAward.order_at,
                                           PointsAward.awarded))]
    clawed = {(str(t), int(s)) for t, s in conn.execute(
        select(PointsClawback.award_terminal, PointsClawback.award_seq))}
    payments = [PaymentFact(r.terminal, r.seq, r.op, r.ref, r.original_ref, r.card, r.points)
                for r in conn.execute(select(PointsPayment))]
    return awards, clawed & {a.key for a in awards}, payments


def points_statement(conn: Connection) -> dict[str, Any]:
    """The canonical settled statement (``settle.statement``): per award terminal, seq, card,
    awarded, settled, corrected, clawed_back; per card balance, standing, redeemed, restored;
    totals; the cap. A function of the journal entries (and the cap) only."""
    awards, clawed, payments = _facts(conn)
    return settle.statement(awards, clawed, payments, get_campaign(conn).per_person_cap)


def ledger_balances(conn: Connection) -> dict[str, int]:
    """Per card: the sum of its ledger rows (what it may spend now)."""
    rows = conn.execute(select(PointsLedgerRow.card, func.sum(PointsLedgerRow.points))
                        .group_by(PointsLedgerRow.card))
    return {str(card): int(total) for card, total in rows}


def transfers(conn: Connection) -> dict[str, int]:
    """Per card: the net points administrators moved to (+) or from (-) it."""
    rows = conn.execute(select(PointsLedgerRow.card, func.sum(PointsLedgerRow.points))
                        .where(PointsLedgerRow.kind.in_(TRANSFER_KINDS))
                        .group_by(PointsLedgerRow.card))
    return {str(card): int(total) for card, total in rows}


def check(conn: Connection, statement: Mapping[str, Any] | None = None) -> list[str]:
    """Where the ledger's rows per award differ from the statement (empty: they agree)."""
    statement = statement or points_statement(conn)
    recorded: dict[tuple[str, int], list[int]] = {}
    query = select(PointsLedgerRow.award_terminal, PointsLedgerRow.award_seq,
                   PointsLedgerRow.kind, func.sum(PointsLedgerRow.points)).where(
        PointsLedgerRow.award_seq.is_not(None)).group_by(
        PointsLedgerRow.award_terminal, PointsLedgerRow.award_seq, PointsLedgerRow.kind)
    for terminal, seq, kind, total in conn.execute(query):
        sums = recorded.setdefault((str(terminal), int(seq or 0)), [0, 0])
        sums[1 if kind == "clawback" else 0] += int(total)
    problems = []
    for award in statement["awards"]:
        key = (award["terminal"], award["seq"])
        have = recorded.pop(key, [0, 0])
        if have != [award["settled"], -award["clawed_back"]]:
            problems.append(f"award {key}: ledger settled {have[0]}, clawed {-have[1]}; "
                            f"statement {award['settled']}, {award['clawed_back']}")
    problems.extend(f"award {key}: in the ledger, not in the statement" for key in recorded)
    return problems


def rebuild(conn: Connection) -> dict[str, int]:
    """Re-read the points facts from every stored entry, apply what the ledger lacks and
    re-settle every card (the ledger only grows: differences are appended). Counts."""
    lock_head(conn)
    for table in (PointsAward, PointsClawback, PointsPayment):
        conn.execute(delete(table))
    before = conn.execute(select(func.count()).select_from(PointsLedgerRow)).scalar_one()
    by_terminal: dict[str, list[dict[str, Any]]] = {}
    for terminal, line in conn.execute(
            select(StoredEntry.terminal, StoredEntry.line).where(StoredEntry.kind.in_(KINDS))
            .order_by(StoredEntry.terminal, StoredEntry.seq)):
        by_terminal.setdefault(str(terminal), []).append(json.loads(line))
    for terminal, entries in by_terminal.items():
        facts = extract(conn, terminal, entries)
        facts.quotas, facts.problems = [], []  # acknowledged and alarmed at ingest already
        apply_facts(conn, facts, settle_now=False)
    cards = conn.execute(select(PointsAward.card).distinct()).scalars().all()
    resettle(conn, cards, reason="rebuild")
    after = conn.execute(select(func.count()).select_from(PointsLedgerRow)).scalar_one()
    count = {table.__tablename__: conn.execute(select(func.count()).select_from(table))
             .scalar_one() for table in (PointsAward, PointsClawback, PointsPayment)}
    return {**count, "ledger_rows": int(after), "ledger_rows_appended": int(after - before)}
