"""Server ingest vs a raw INSERT ... ON CONFLICT DO NOTHING, and `sync` end to end.

1. A 100,000-entry backlog ingested through the server's own ingest (parse, canonical check,
   chain links, one signature per batch, derived totals) on SQLite and on PostgreSQL, against
   a raw executemany of the same rows into a same-shaped table in the same run. Target >= 0.3.
2. `sync` of a 30-day backlog (~50,000 entries) end to end over HTTP (uploader -> uvicorn ->
   ingest) against the server's own ingest rate of the same backlog in the same run.
   Target >= 0.5.

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
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from server_harness import SALES, pg_database, prepare, running_server  # noqa: E402
from sqlalchemy import Column, Integer, MetaData, String, Table, Text  # noqa: E402

from sync.client import ServerClient  # noqa: E402
from sync.server.db import make_engine  # noqa: E402
from sync.server.enroll import create_code, enroll  # noqa: E402
from sync.server.ingest import ingest_batch  # noqa: E402
from sync.server.sql import insert_ignore  # noqa: E402
from sync.uploader import Uploader  # noqa: E402
from terminal.day import TOKYO  # noqa: E402
from terminal.journal import Journal, TerminalKey  # noqa: E402
from terminal.journal.canonical import loads_strict  # noqa: E402

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


def ours(url: str, key: TerminalKey, lines: list[str]) -> float:
    enrolled(url, key)
    engine = make_engine(url)
    try:
        t0 = time.perf_counter()
        for i in range(0, len(lines), BATCH):
            result = ingest_batch(engine, TERMINAL, key.public_key_b64, lines[i:i + BATCH])
            assert result["stored"] == len(lines[i:i + BATCH]), result
        return len(lines) / (time.perf_counter() - t0)
    finally:
        engine.dispose()


def raw(url: str, lines: list[str]) -> float:
    """The raw limit: the same rows, prepared in advance, executemany'd with ON CONFLICT."""
    meta = MetaData()
    table = Table("raw_entries", meta, Column("terminal", String(100), primary_key=True),
                  Column("seq", Integer, primary_key=True, autoincrement=False),
                  Column("kind", String(100)), Column("day", String(10)),
                  Column("at", String(40)), Column("hash", String(64)), Column("line", Text),
                  Column("received_at", String(40)))
    now = datetime.now(UTC).isoformat()
    rows = []
    for line in lines:
        v = loads_strict(line)
        assert isinstance(v, dict)
        rows.append({"terminal": TERMINAL, "seq": v["seq"], "kind": v["kind"], "day": v["day"],
                     "at": v["at"], "hash": v["hash"], "line": line, "received_at": now})
    engine = make_engine(url)
    try:
        meta.create_all(engine)
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
            with database() as url_ours:
                ours_rate = ours(url_ours, key, lines)
            with database() as url_raw:
                raw_rate = raw(url_raw, lines)
            results[f"ingest_{name}"] = {"ours": ours_rate, "raw": raw_rate,
                                         "ratio": ours_rate / raw_rate, "target": 0.3}
        sync_journal = tmp / "sync.db"
        sync_lines = make_backlog(sync_journal, key, args.sync_entries, days=30)
        with nullcontext(f"sqlite:///{tmp}/ingest-only.db") as url:
            server_rate = ours(url, key, sync_lines)
        with nullcontext(f"sqlite:///{tmp}/sync.db-server") as url:
            end_to_end = sync_rate(url, key, sync_journal, len(sync_lines))
        results["sync_sqlite"] = {"ours": end_to_end, "raw": server_rate,
                                  "ratio": end_to_end / server_rate, "target": 0.5,
                                  "seconds": len(sync_lines) / end_to_end}
    if args.json:
        print(json.dumps(results, indent=2))
    failed = False
    for name, r in results.items():
        failed |= r["ratio"] < r["target"]
        what = "entries/s" if name.startswith("ingest") else "entries/s (vs server ingest)"
        print(f"{name}: ours {r['ours']:,.0f} {what} raw {r['raw']:,.0f} "
              f"ratio {r['ratio']:.2f} (target >= {r['target']})")
    summary = "; ".join(f"{k} {v['ratio']:.2f}" for k, v in results.items())
    print(f"ingest: {summary} (targets: ingest >= 0.3, sync >= 0.5)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
