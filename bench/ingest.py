"""Server ingest vs a raw INSERT ... ON CONFLICT DO NOTHING, and `sync` end to end.

1. A 100,000-entry backlog ingested through the server's own ingest (parse, canonical check,
   chain links, one signature per batch, stale-day marks for the derived totals) on SQLite and
   on PostgreSQL, against the raw limit in the same run. Target >= 0.3. The raw limit is the
   cost of storing those same rows (built by ingest's own row function, prepared in advance)
   in the same layout and nothing else: an executemany INSERT ... ON CONFLICT DO NOTHING per
   batch transaction into a table made from ``entries`` itself (same columns, primary key and
   secondary indexes), in a fresh database of the same kind. Derived rows are not part of
   ingest (it marks stale days; they are recomputed in the background or before a read):
   the time to recompute them all afterwards is printed apart ("refresh").
2. `sync` of a 30-day backlog (~50,000 entries) end to end over HTTP (uploader -> uvicorn ->
   ingest, derived refresh in the server's background thread) against the server's own rate
   for the same backlog in the same run: ingest plus the refresh of the derived rows
   afterwards (the work the server does for it either way). Target >= 0.5.

    python bench/ingest.py [--entries N] [--sync-entries N] [--skip-postgres] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from server_harness import SALES, pg_database, prepare, running_server  # noqa: E402
from sqlalchemy import MetaData, Table  # noqa: E402

from sync.client import ServerClient  # noqa: E402
from sync.server.db import make_engine  # noqa: E402
from sync.server.derived import drain  # noqa: E402
from sync.server.enroll import create_code, enroll  # noqa: E402
from sync.server.ingest import _row, ingest_batch, parse_line  # noqa: E402
from sync.server.models import NAMING, StoredEntry  # noqa: E402
from sync.server.sql import insert_ignore  # noqa: E402
from sync.uploader import Uploader  # noqa: E402
from terminal.day import TOKYO  # noqa: E402
from terminal.journal import Journal, TerminalKey  # noqa: E402

TERMINAL = "bench-museum-01"
FACILITY = "bench-facility"
BATCH = 1000


def backlog_items(n: int, days: int) -> Iterator[tuple[str, dict[str, Any], datetime]]:
    """login, float, sales..., closing.z per business day, spread over ``days`` days."""
    per_day = max(4, n // days)
    at = datetime(2026, 10, 1, 9, 0, tzinfo=TOKYO)
    made = 0
    day = 0
    while made < n:
        start = at
        yield "login", {"clerk": "c1"}, at
        made += 1
        for i in range(min(per_day, n - made) - 1):
            at += timedelta(seconds=10)
            body = dict(SALES[i % len(SALES)], receipt_no=f"{TERMINAL}-{made}")
            yield "sale", body, at
            made += 1
        if made < n:
            yield "closing.z", {"first_seq": 1, "last_seq": 1, "total": 0, "grand_total": 0}, at
            made += 1
        day += 1
        at = start.replace(hour=9) + timedelta(days=1)


def make_backlog(path: Path, key: TerminalKey, n: int, days: int) -> list[str]:
    with Journal.open(path, TERMINAL, key) as journal:
        chunk: list[tuple[str, dict[str, Any], datetime]] = []
        for item in backlog_items(n, days):
            chunk.append(item)
            if len(chunk) == 5000:
                journal.append_many(chunk)
                chunk = []
        if chunk:
            journal.append_many(chunk)
        return list(journal.lines())


def enrolled(url: str, key: TerminalKey) -> None:
    prepare(url)
    engine = make_engine(url)
    try:
        code, _ = create_code(engine, FACILITY, TERMINAL)
        enroll(engine, "bench", {"code": code, "terminal": TERMINAL, "facility": FACILITY,
                                 "public_key": key.public_key_b64})
    finally:
        engine.dispose()


def ours(url: str, key: TerminalKey, lines: list[str],
         refresh: dict[str, float] | None = None) -> float:
    """Server ingest, entries/s; ``refresh`` gets the seconds and days of recomputing the
    derived rows of everything stored, afterwards (not part of the rate)."""
    enrolled(url, key)
    engine = make_engine(url)
    try:
        t0 = time.perf_counter()
        for i in range(0, len(lines), BATCH):
            result = ingest_batch(engine, TERMINAL, key.public_key_b64, lines[i:i + BATCH])
            assert result["stored"] == len(lines[i:i + BATCH]), result
        rate = len(lines) / (time.perf_counter() - t0)
        if refresh is not None:
            t1 = time.perf_counter()
            refresh["days"] = drain(engine)
            refresh["seconds"] = time.perf_counter() - t1
        return rate
    finally:
        engine.dispose()


def raw_table() -> Table:
    """A copy of the real ``entries`` table (columns, primary key, secondary indexes)."""
    entries = cast(Table, StoredEntry.__table__)
    table = entries.to_metadata(MetaData(naming_convention=NAMING), name="raw_entries")
    assert {tuple(c.name for c in ix.columns) for ix in table.indexes} == {
        tuple(c.name for c in ix.columns) for ix in entries.indexes}
    return table


def raw(url: str, lines: list[str]) -> float:
    """The raw limit: the same rows, prepared in advance, executemany'd with ON CONFLICT
    into a table of the same shape as ``entries`` (see the module docstring)."""
    table = raw_table()
    now = datetime.now(UTC)
    rows = [_row(TERMINAL, parse_line(line, i), now) for i, line in enumerate(lines)]
    engine = make_engine(url)
    try:
        table.metadata.create_all(engine)
        t0 = time.perf_counter()
        for i in range(0, len(rows), BATCH):
            with engine.begin() as conn:
                conn.execute(insert_ignore(conn, table, ["terminal", "seq"]), rows[i:i + BATCH])
        return len(rows) / (time.perf_counter() - t0)
    finally:
        engine.dispose()


def sync_rate(url: str, key: TerminalKey, journal: Path, total: int) -> float:
    enrolled(url, key)
    with running_server(url, prepare_db=False) as base_url:
        client = ServerClient(base_url, TERMINAL, key, timeout=120)
        try:
            t0 = time.perf_counter()
            outcome = Uploader(journal, client, batch_size=BATCH).push_once()
            elapsed = time.perf_counter() - t0
        finally:
            client.close()
    assert outcome.complete and outcome.ack == total, outcome
    return total / elapsed


Database = Callable[[], AbstractContextManager[str]]


def databases(tmp: Path, postgres: bool) -> list[tuple[str, Database]]:
    counter = iter(range(1000))
    result: list[tuple[str, Database]] = [
        ("sqlite", lambda: nullcontext(f"sqlite:///{tmp}/bench-{next(counter)}.db"))]
    if postgres:
        result.append(("postgresql", pg_database))
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--sync-entries", type=int, default=50_000)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        key = TerminalKey.load_or_create(tmp / "bench.key")
        lines = make_backlog(tmp / "backlog.db", key, args.entries, days=60)
        for name, database in databases(tmp, not args.skip_postgres):
            refresh: dict[str, float] = {}
            with database() as url_ours:
                ours_rate = ours(url_ours, key, lines, refresh)
            with database() as url_raw:
                raw_rate = raw(url_raw, lines)
            results[f"ingest_{name}"] = {"ours": ours_rate, "raw": raw_rate,
                                         "ratio": ours_rate / raw_rate, "target": 0.3,
                                         "refresh": refresh}
        sync_journal = tmp / "sync.db"
        sync_lines = make_backlog(sync_journal, key, args.sync_entries, days=30)
        with nullcontext(f"sqlite:///{tmp}/ingest-only.db") as url:
            sync_refresh: dict[str, float] = {}
            ingest_rate = ours(url, key, sync_lines, sync_refresh)
        # the server's whole work for the backlog: ingest, then its derived refresh (which
        # the server runs in the background while `sync` goes on)
        server_rate = len(sync_lines) / (len(sync_lines) / ingest_rate
                                         + sync_refresh["seconds"])
        with nullcontext(f"sqlite:///{tmp}/sync.db-server") as url:
            end_to_end = sync_rate(url, key, sync_journal, len(sync_lines))
        results["sync_sqlite"] = {"ours": end_to_end, "raw": server_rate,
                                  "ratio": end_to_end / server_rate, "target": 0.5,
                                  "seconds": len(sync_lines) / end_to_end,
                                  "ingest_only": ingest_rate}
    if args.json:
        print(json.dumps(results, indent=2))
    failed = False
    for name, r in results.items():
        failed |= r["ratio"] < r["target"]
        what = "entries/s" if name.startswith("ingest") else \
            "entries/s (vs server ingest + derived refresh)"
        raw_name = "raw (same rows, entries' layout)" if name.startswith("ingest") else "raw"
        print(f"{name}: ours {r['ours']:,.0f} {what} {raw_name} {r['raw']:,.0f} "
              f"ratio {r['ratio']:.2f} (target >= {r['target']})")
        if "refresh" in r:
            print(f"  refresh afterwards (apart): {r['refresh']['days']:.0f} stale days "
                  f"recomputed in {r['refresh']['seconds']:.2f} s")
    summary = "; ".join(f"{k} {v['ratio']:.2f}" for k, v in results.items())
    print(f"ingest: {summary} (targets: ingest >= 0.3, sync >= 0.5)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
