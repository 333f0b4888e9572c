"""Derived tables, recomputed from the stored entries (never edited by hand).

``day_totals``: terminal.reports.period_totals over one terminal-day's entries;
``z_closings``: the closing.z entries; ``payment_logs``: the payment.daily_log entries.
Ingest recomputes every (terminal, day) a batch touched, in the batch's transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final, cast

from sqlalchemy import delete, func, insert, select
from sqlalchemy.engine import Connection

from sync.server.models import DERIVED_TABLES, DayTotals, PaymentLog, StoredEntry, ZClosing
from terminal.errors import DomainError
from terminal.journal.canonical import loads_strict
from terminal.reports import CLOSING_KIND, period_totals

DAILY_LOG_KIND: Final = "payment.daily_log"
TOTAL_KINDS: Final = ("sale", "refund", "void", "cash.float", "cash.in", "cash.out")
WANTED_KINDS: Final = (*TOTAL_KINDS, CLOSING_KIND, DAILY_LOG_KIND)


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _totals(entries: Sequence[Mapping[str, Any]]) -> dict[str, object]:
    try:
        return period_totals(e for e in entries if e["kind"] in TOTAL_KINDS)
    except DomainError as exc:
        return {"error": f"cannot total this day: {exc}"}


def _day(conn: Connection, terminal: str, day: str,
         new: Sequence[Mapping[str, Any]] = ()) -> None:
    """Insert the derived rows of one terminal-day (its old rows already deleted).

    ``new``: entries of this day just stored by ingest (in seq order, above every stored seq
    of the day), already parsed; the day's earlier lines are read back and parsed with plain
    ``json.loads`` (ingest checked them canonical). Without ``new`` (rebuild), every stored
    line of the day is re-read with ``loads_strict``.
    """
    where = (StoredEntry.terminal == terminal, StoredEntry.day == day)
    count, first, last = conn.execute(
        select(func.count(), func.min(StoredEntry.seq), func.max(StoredEntry.seq)).where(*where)
    ).one()
    if not count:
        return
    # Bounded by the day's seq range: SQLite would otherwise walk the primary key (terminal,
    # seq) over the terminal's whole journal to avoid a sort.
    query = select(StoredEntry.line).where(
        *where, StoredEntry.kind.in_(WANTED_KINDS), StoredEntry.seq >= first
    ).order_by(StoredEntry.seq)
    if new:
        before = new[0]["seq"]
        lines = conn.execute(query.where(StoredEntry.seq < before)).scalars() \
            if first < before else ()
        entries: list[Mapping[str, Any]] = [json.loads(line) for line in lines]
        entries.extend(e for e in new if e["kind"] in WANTED_KINDS)
    else:
        lines = conn.execute(query.where(StoredEntry.seq <= last)).scalars()
        entries = [cast(dict[str, Any], loads_strict(line)) for line in lines]
    conn.execute(insert(DayTotals).values(
        terminal=terminal, day=day, entries=count, first_seq=first, last_seq=last,
        totals=_dumps(_totals(entries))))
    closings: list[dict[str, Any]] = []
    logs: list[dict[str, Any]] = []
    for entry in entries:
        body = entry["body"]
        if entry["kind"] == CLOSING_KIND:
            closings.append({
                "terminal": terminal, "seq": entry["seq"], "day": day, "body": _dumps(body),
                "total": _int_or_none(body.get("total")),
                "grand_total": _int_or_none(body.get("grand_total"))})
        elif entry["kind"] == DAILY_LOG_KIND:
            batch = body.get("batch_no")
            logs.append({
                "terminal": terminal, "seq": entry["seq"], "day": day,
                "batch_no": None if batch is None else str(batch)[:100],
                "count": _int_or_none(body.get("count")),
                "total": _int_or_none(body.get("total")),
                "by_tender": _dumps(body.get("by_tender", {}))})
    if closings:
        conn.execute(insert(ZClosing), closings)
    if logs:
        conn.execute(insert(PaymentLog), logs)


def recompute(conn: Connection, terminal: str, days: Iterable[str],
              new: Sequence[Mapping[str, Any]] = ()) -> None:
    """Delete and rebuild the derived rows of ``terminal`` for each of ``days``.

    ``new``: the entries ingest has just stored (in seq order, the newest of ``terminal``),
    parsed: they are not read back (see ``_day``).
    """
    days = sorted(set(days))
    if not days:
        return
    for table in DERIVED_TABLES:
        conn.execute(delete(table).where(table.c.terminal == terminal, table.c.day.in_(days)))
    by_day: dict[str, list[Mapping[str, Any]]] = {}
    for entry in new:
        by_day.setdefault(entry["day"], []).append(entry)
    for day in days:
        _day(conn, terminal, day, by_day.get(day, ()))


def rebuild(conn: Connection) -> dict[str, int]:
    """Recompute every derived table from the entries; the row counts."""
    for table in DERIVED_TABLES:
        conn.execute(delete(table))
    pairs = conn.execute(select(StoredEntry.terminal, StoredEntry.day).distinct()).all()
    for terminal, day in sorted(pairs):
        _day(conn, terminal, day)
    counts = {"entries": conn.execute(select(func.count()).select_from(StoredEntry)).scalar_one()}
    for table in DERIVED_TABLES:
        counts[table.name] = conn.execute(select(func.count()).select_from(table)).scalar_one()
    return counts


def derived_rows(conn: Connection) -> dict[str, list[tuple[Any, ...]]]:
    """Every derived row, sorted (to compare a rebuild with what ingest kept)."""
    return {
        table.name: sorted(tuple(row) for row in conn.execute(select(table)))
        for table in DERIVED_TABLES
    }


def day_report(conn: Connection, day: str) -> dict[str, Any]:
    """Per terminal totals of ``day`` (from day_totals) and their sum over all terminals."""
    rows = conn.execute(select(DayTotals.terminal, DayTotals.totals)
                        .where(DayTotals.day == day).order_by(DayTotals.terminal)).all()
    terminals = {terminal: json.loads(text) for terminal, text in rows}
    return {"day": day, "terminals": terminals, "all": sum_totals(terminals.values())}


def sum_totals(many: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for totals in many:
        for key, value in totals.items():
            if isinstance(value, int):
                result[key] = result.get(key, 0) + value
            elif isinstance(value, dict):
                _merge(result.setdefault(key, {}), value)
    return result


def _merge(into: dict[str, Any], value: Mapping[str, Any]) -> None:
    for key, item in value.items():
        if isinstance(item, dict):
            _merge(into.setdefault(key, {}), item)
        elif isinstance(item, int):
            into[key] = into.get(key, 0) + item
