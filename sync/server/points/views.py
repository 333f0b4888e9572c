"""Read-only points queries for the web console and ``madoguchi server points-report``.

Each takes a Connection and an optional ``facilities`` scope (None: every facility; else only
what terminals of those facilities did). Cards appear only as their tokens. The campaign-wide
figures (budget, budget left) are the same in every scope.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.engine import Connection

from sync.server.models import Terminal
from sync.server.points.campaign import get_campaign, total_granted
from sync.server.points.models import PointsAward, PointsLedgerRow, PointsQuota

Scope = set[str] | None


def _terminals(conn: Connection, facilities: Scope) -> set[str] | None:
    if facilities is None:
        return None
    return set(conn.execute(select(Terminal.terminal).where(
        Terminal.facility.in_(sorted(facilities)))).scalars())


def _in(column: Any, terminals: set[str] | None) -> ColumnElement[bool]:
    return column.in_(sorted(terminals)) if terminals is not None else and_(True)


def budget_summary(conn: Connection, facilities: Scope = None) -> dict[str, Any]:
    """Budget, granted to terminals, awarded (standing: settled, not clawed back), left to
    grant; per terminal granted, reported used and standing."""
    campaign = get_campaign(conn)
    terminals = _terminals(conn, facilities)
    standing = {str(t): int(points or 0) for t, points in conn.execute(select(
        PointsAward.terminal, func.sum(PointsAward.settled - PointsAward.clawed)).where(
        _in(PointsAward.terminal, terminals)).group_by(PointsAward.terminal))}
    quota = conn.execute(select(PointsQuota.terminal, PointsQuota.granted, PointsQuota.used)
                         .where(_in(PointsQuota.terminal, terminals))
                         .order_by(PointsQuota.terminal)).all()
    rows = {t: {"terminal": t, "granted": int(g), "used_reported": int(u), "standing": 0}
            for t, g, u in quota}
    for terminal, points in standing.items():
        rows.setdefault(terminal, {"terminal": terminal, "granted": 0, "used_reported": 0,
                                   "standing": 0})["standing"] = points
    all_granted = total_granted(conn)
    return {"budget": campaign.campaign_budget, "budget_left": campaign.campaign_budget
            - all_granted, "granted": sum(r["granted"] for r in rows.values()),
            "standing": sum(r["standing"] for r in rows.values()),
            "terminals": [rows[t] for t in sorted(rows)]}


def awards_by_facility_day(conn: Connection, start_day: str, end_day: str,
                           facilities: Scope = None) -> list[dict[str, Any]]:
    """Per facility and business day (``start_day``..``end_day`` inclusive): awards, points
    awarded, settled, corrected (taken off by the cap) and clawed back."""
    terminals = _terminals(conn, facilities)
    query = select(PointsAward.facility, PointsAward.day, func.count(),
                   func.sum(PointsAward.awarded), func.sum(PointsAward.settled),
                   func.sum(PointsAward.clawed)).where(
        PointsAward.day >= start_day, PointsAward.day <= end_day,
        _in(PointsAward.terminal, terminals)).group_by(
        PointsAward.facility, PointsAward.day).order_by(PointsAward.day, PointsAward.facility)
    return [{"facility": facility, "day": day, "awards": int(count), "awarded": int(awarded),
             "settled": int(settled), "corrected": int(awarded) - int(settled),
             "clawed_back": int(clawed)}
            for facility, day, count, awarded, settled, clawed in conn.execute(query)]


def corrections(conn: Connection, facilities: Scope = None,
                limit: int = 500) -> list[dict[str, Any]]:
    """The newest ledger ``correction`` rows (cap reductions and their re-settlings)."""
    terminals = _terminals(conn, facilities)
    query = select(PointsLedgerRow.seq, PointsLedgerRow.at, PointsLedgerRow.card,
                   PointsLedgerRow.points, PointsLedgerRow.award_terminal,
                   PointsLedgerRow.award_seq, PointsLedgerRow.reason).where(
        PointsLedgerRow.kind == "correction",
        _in(PointsLedgerRow.award_terminal, terminals)).order_by(
        PointsLedgerRow.seq.desc()).limit(limit)
    return [dict(row) for row in conn.execute(query).mappings()]


def unusual_cards(conn: Connection, threshold: int = 3, facilities: Scope = None,
                  limit: int = 500) -> list[dict[str, Any]]:
    """Cards awarded ``threshold`` times or more in one business day (the cap of one use per
    sale makes many taps a day worth a look): card, day, taps, facilities."""
    terminals = _terminals(conn, facilities)
    query = select(PointsAward.card, PointsAward.day, func.count()).where(
        _in(PointsAward.terminal, terminals)).group_by(PointsAward.card, PointsAward.day
                                                        ).having(func.count() >= threshold)
    found = sorted(((str(c), str(d), int(n)) for c, d, n in conn.execute(query)),
                   key=lambda r: (-r[2], r[1], r[0]))[:limit]
    result = []
    for card, day, taps in found:
        places = conn.execute(select(PointsAward.facility).distinct().where(
            PointsAward.card == card, PointsAward.day == day,
            _in(PointsAward.terminal, terminals))).scalars().all()
        result.append({"card": card, "day": day, "taps": int(taps),
                       "facilities": sorted(places)})
    return result


def card_history(conn: Connection, card: str, facilities: Scope = None) -> list[dict[str, Any]]:
    """The ledger rows of ``card`` in order, each with ``balance_after``. Scoped: only rows
    of terminals of those facilities (server-wide rows such as transfers, and the running
    balance, only without a scope)."""
    terminals = _terminals(conn, facilities)
    columns = (PointsLedgerRow.seq, PointsLedgerRow.at, PointsLedgerRow.kind,
               PointsLedgerRow.points, PointsLedgerRow.terminal, PointsLedgerRow.entry_seq,
               PointsLedgerRow.award_terminal, PointsLedgerRow.award_seq,
               PointsLedgerRow.ref, PointsLedgerRow.reason, PointsLedgerRow.actor)
    query = select(*columns).where(PointsLedgerRow.card == card)
    if terminals is not None:
        query = query.where(func.coalesce(PointsLedgerRow.terminal,
                                          PointsLedgerRow.award_terminal).in_(sorted(terminals)))
    rows = [dict(row) for row in conn.execute(query.order_by(PointsLedgerRow.seq)).mappings()]
    if terminals is None:  # a running balance only over the whole history
        running = 0
        for row in rows:
            running += int(row["points"])
            row["balance_after"] = running
    return rows
