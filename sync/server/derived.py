"""Derived tables, recomputed from the stored entries (never edited by hand).

``day_totals``: terminal.reports.period_totals over one terminal-day's entries;
``z_closings``: the closing.z entries; ``payment_logs``: the payment.daily_log entries.

Ingest does not compute them: in its transaction it only marks each (terminal, day) a batch
touched in ``stale_days`` (``mark_stale``). A stale pair is recomputed from its entries and
unmarked in one transaction:
- lazily, before anything reads a derived table (``refresh``: ``day_report``,
  ``derived_rows``; it waits for pairs another transaction holds, so it never reads behind);
- in the background after an ingest (``Drainer`` -> ``drain``: ``FOR UPDATE SKIP LOCKED`` on
  PostgreSQL, so several server processes share the work; SQLite transactions open with
  ``BEGIN IMMEDIATE`` and so run one at a time). A pair is locked (PostgreSQL row lock, SQLite
  write lock) from before its entries are read until it is unmarked, and ingest's mark waits
  on that lock, so a mark made while a pair is recomputed is never lost; recomputing is a
  delete and insert of the pair's rows, so doing it twice is harmless.
``rebuild`` recomputes everything. The Drainer also runs the background signature audit
(``sync.server.audit``) once uploads pause.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final, cast

from sqlalchemy import Engine, delete, func, insert, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from sync.server.audit import audit_signatures
from sync.server.models import (
    DERIVED_TABLES,
    DayTotals,
    PaymentLog,
    StaleDay,
    StoredEntry,
    ZClosing,
)
from sync.server.sql import is_postgres
from terminal.errors import DomainError
from terminal.journal.canonical import loads_strict
from terminal.reports import CLOSING_KIND, period_totals

DAILY_LOG_KIND: Final = "payment.daily_log"
TOTAL_KINDS: Final = ("sale", "refund", "void", "cash.float", "cash.in", "cash.out")
WANTED_KINDS: Final = (*TOTAL_KINDS, CLOSING_KIND, DAILY_LOG_KIND)
DRAIN_PAIRS: Final = 16  # (terminal, day) pairs recomputed per background transaction
AUDIT_IDLE_SECONDS: Final = 0.5  # the signature audit waits for a pause in the uploads...
AUDIT_MAX_DELAY_SECONDS: Final = 30.0  # ...but no longer than this after the first kick

log = logging.getLogger(__name__)
Pair = tuple[str, str]


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _totals(entries: Sequence[Mapping[str, Any]]) -> dict[str, object]:
    try:
        return period_totals(e for e in entries if e["kind"] in TOTAL_KINDS)
    except DomainError as exc:
        return {"error": f"cannot total this day: {exc}"}


def _day(conn: Connection, terminal: str, day: str, strict: bool) -> None:
    """Insert the derived rows of one terminal-day (its old rows already deleted).

    ``strict`` (rebuild): every stored line is re-read with ``loads_strict``; otherwise with
    plain ``json.loads`` (ingest checked each line canonical before storing it).
    """
    where = (StoredEntry.terminal == terminal, StoredEntry.day == day)
    count, first, last = conn.execute(
        select(func.count(), func.min(StoredEntry.seq), func.max(StoredEntry.seq)).where(*where)
    ).one()
    if not count:
        return
    # Bounded by the day's seq range: SQLite would otherwise walk the primary key (terminal,
    # seq) over the terminal's whole journal to avoid a sort.
    lines = conn.execute(select(StoredEntry.line).where(
        *where, StoredEntry.kind.in_(WANTED_KINDS), StoredEntry.seq >= first,
        StoredEntry.seq <= last).order_by(StoredEntry.seq)).scalars()
    load: Callable[[str], Any] = loads_strict if strict else json.loads
    entries = [cast(dict[str, Any], load(line)) for line in lines]
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


def _by_terminal(pairs: Iterable[Pair]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for terminal, day in sorted(set(pairs)):
        grouped.setdefault(terminal, []).append(day)
    return grouped


def mark_stale(conn: Connection, terminal: str, days: Iterable[str]) -> None:
    """Mark ``terminal``'s ``days`` stale (ingest, in its transaction). An upsert that
    updates, not DO NOTHING: on PostgreSQL it must wait for a refresh holding the row."""
    rows = [{"terminal": terminal, "day": day} for day in sorted(set(days))]
    if not rows:
        return
    dialect = postgresql if is_postgres(conn) else sqlite
    statement = dialect.insert(StaleDay).values(rows)
    conn.execute(statement.on_conflict_do_update(
        index_elements=["terminal", "day"], set_={"day": statement.excluded.day}))


def recompute(conn: Connection, pairs: Iterable[Pair], strict: bool = False) -> None:
    """Delete and rebuild the derived rows of each (terminal, day) of ``pairs``."""
    for terminal, days in _by_terminal(pairs).items():
        for table in DERIVED_TABLES:
            conn.execute(delete(table).where(table.c.terminal == terminal,
                                             table.c.day.in_(days)))
        for day in days:
            _day(conn, terminal, day, strict)


def _unmark(conn: Connection, pairs: Sequence[Pair]) -> None:
    for terminal, days in _by_terminal(pairs).items():
        conn.execute(delete(StaleDay).where(StaleDay.terminal == terminal,
                                            StaleDay.day.in_(days)))


def refresh(conn: Connection, day: str | None = None) -> int:
    """Recompute the stale pairs (of ``day``, or all) in ``conn``'s transaction, waiting
    for any another transaction holds; the number recomputed. Call before reading derived
    rows (the caller's commit keeps the work; a rollback leaves the pairs stale)."""
    query = select(StaleDay.terminal, StaleDay.day).order_by(StaleDay.terminal, StaleDay.day)
    if day is not None:
        query = query.where(StaleDay.day == day)
    pairs = [(t, d) for t, d in conn.execute(query.with_for_update())]
    if pairs:
        recompute(conn, pairs)
        _unmark(conn, pairs)
    return len(pairs)


def drain(engine: Engine, limit: int = DRAIN_PAIRS) -> int:
    """Recompute every stale pair no other transaction holds, ``limit`` pairs per
    transaction (the background step); the number recomputed."""
    done = 0
    while True:
        with engine.begin() as conn:
            query = select(StaleDay.terminal, StaleDay.day).order_by(
                StaleDay.terminal, StaleDay.day).limit(limit)
            if is_postgres(conn):
                query = query.with_for_update(skip_locked=True)
            pairs = [(t, d) for t, d in conn.execute(query)]
            if pairs:
                recompute(conn, pairs)
                _unmark(conn, pairs)
        done += len(pairs)
        if len(pairs) < limit:
            return done


class Drainer:
    """A per-process background thread that drains the stale pairs after each ``kick``
    (ingest kicks it after its commit). Kicks while it works coalesce into one more pass;
    an error is logged and left to the next kick, or to the lazy refresh of a reader.

    After a drain it audits the stored entries' signatures (``audit_signatures``) once no
    kick has come for ``audit_idle`` seconds, so the verifying (CPU, and the SQLite write
    lock) does not slow a terminal's upload; a kick interrupts it between transactions,
    unless it is overdue (``audit_max_delay`` after the first kick not yet audited), when it
    runs to the end. ``close`` does not audit: what is left stays listed for the next
    kick (of any process) or ``madoguchi server rebuild``."""

    def __init__(self, engine: Engine, audit_idle: float = AUDIT_IDLE_SECONDS,
                 audit_max_delay: float = AUDIT_MAX_DELAY_SECONDS) -> None:
        self._engine = engine
        self._audit_idle = audit_idle
        self._audit_max_delay = audit_max_delay
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._stopping = False
        self._thread: threading.Thread | None = None

    def kick(self) -> None:
        with self._lock:
            if self._stopping:
                return
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, daemon=True,
                                                name="madoguchi-derived-drain")
                self._thread.start()
        self._wake.set()

    def close(self, timeout: float = 30.0) -> None:
        """Finish the pass under way (and one for a pending kick), then stop the thread."""
        with self._lock:
            self._stopping = True
            thread = self._thread
        self._wake.set()
        if thread is not None:
            thread.join(timeout)

    def _run(self) -> None:
        audit_due: float | None = None  # when the first kick not yet audited came
        while True:
            kicked = self._wake.wait(None if audit_due is None else self._audit_idle)
            if kicked:
                self._wake.clear()
                try:
                    drain(self._engine)
                except Exception:
                    log.exception("background refresh of the derived tables failed; stale "
                                  "days stay marked (recomputed by the next one or before a "
                                  "read)")
                if audit_due is None:
                    audit_due = time.monotonic()
            if self._stopping:
                if not self._wake.is_set():
                    return
                continue
            overdue = audit_due is not None and (
                time.monotonic() - audit_due >= self._audit_max_delay)
            if audit_due is not None and (overdue or not kicked):
                audit_due = self._audit(audit_due, overdue)

    def _audit(self, due: float, overdue: bool) -> float | None:
        """Run the signature audit; ``due`` again if a kick (or close) stopped it early."""
        def stop() -> bool:
            return self._stopping or (not overdue and self._wake.is_set())

        try:
            result = audit_signatures(self._engine, should_stop=stop)
        except Exception:
            log.exception("background signature audit failed; the entries stay listed "
                          "(audited after the next upload or by 'madoguchi server rebuild')")
            return None
        return None if result.complete else due


def rebuild(conn: Connection) -> dict[str, int]:
    """Recompute every derived table from the entries; the row counts. On PostgreSQL,
    ingest marks and background refreshes wait until this transaction ends."""
    if is_postgres(conn):
        conn.execute(text(f"LOCK TABLE {StaleDay.__tablename__} IN EXCLUSIVE MODE"))
    for table in DERIVED_TABLES:
        conn.execute(delete(table))
    conn.execute(delete(StaleDay))
    pairs = conn.execute(select(StoredEntry.terminal, StoredEntry.day).distinct()).all()
    for terminal, day in sorted(pairs):
        _day(conn, terminal, day, strict=True)
    counts = {"entries": conn.execute(select(func.count()).select_from(StoredEntry)).scalar_one()}
    for table in DERIVED_TABLES:
        counts[table.name] = conn.execute(select(func.count()).select_from(table)).scalar_one()
    return counts


def derived_rows(conn: Connection) -> dict[str, list[tuple[Any, ...]]]:
    """Every derived row, sorted (to compare a rebuild with what ingest kept); stale pairs
    are recomputed first."""
    refresh(conn)
    return {
        table.name: sorted(tuple(row) for row in conn.execute(select(table)))
        for table in DERIVED_TABLES
    }


def day_report(conn: Connection, day: str) -> dict[str, Any]:
    """Per terminal totals of ``day`` (from day_totals, its stale pairs recomputed first)
    and their sum over all terminals."""
    refresh(conn, day)
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
