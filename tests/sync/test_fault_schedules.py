"""Sync through a seeded fault-injection proxy: drops, duplicates, delays, late replays,
resets and 5xx — the server ends up with exactly the terminal's journal and totals.

Each schedule is one terminal with its own journal, uploaded through a proxy seeded with the
schedule number; a failing schedule is replayed by its seed alone.
"""

from __future__ import annotations

import json
import os
import random
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from fault_proxy import FaultProxy
from server_harness import FACILITY, enroll_terminal, fill, pg_database, running_server, sqlite_url
from sqlalchemy import select

from sync.client import ServerClient, ServerUnavailable
from sync.server.db import make_engine
from sync.server.derived import day_report
from sync.server.models import StoredEntry
from sync.uploader import Uploader
from terminal.journal import Journal, TerminalKey
from terminal.reports import period_totals

SCHEDULES = int(os.environ.get("MADOGUCHI_FAULT_SCHEDULES", "200"))
MAX_ATTEMPTS = 400


def upload_through_faults(base_url: str, journal_path: Path, terminal: str, key: TerminalKey,
                          seed: int, faults: Counter[str]) -> int:
    """Push until the server acknowledges everything; the number of attempts it took."""
    rng = random.Random(seed)
    with FaultProxy(base_url, seed, fault_rate=rng.uniform(0.2, 0.6)) as proxy:
        client = ServerClient(proxy.url, terminal, key, timeout=5)
        uploader = Uploader(journal_path, client, batch_size=rng.choice((1, 2, 3, 5, 500)),
                            rng=rng, sleep=lambda _s: None)
        try:
            for attempt in range(1, MAX_ATTEMPTS + 1):
                try:
                    if uploader.push_once().complete:
                        faults.update(proxy.counts)
                        return attempt
                except ServerUnavailable:
                    continue
        finally:
            client.close()
    raise AssertionError(f"schedule {seed}: not fully acknowledged after {MAX_ATTEMPTS} pushes")


def check_server_matches(database_url: str, journal_path: Path) -> None:
    with Journal.open_readonly(journal_path) as journal:
        lines = list(journal.lines())
        entries = [e.as_dict() for e in journal.entries()]
        terminal = journal.terminal
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            stored = conn.execute(select(StoredEntry.seq, StoredEntry.line)
                                  .where(StoredEntry.terminal == terminal)
                                  .order_by(StoredEntry.seq)).all()
            assert [line for _seq, line in stored] == lines  # 0 losses, 0 duplicates, exact bytes
            for day in sorted({str(e["day"]) for e in entries}):
                ours = period_totals([e for e in entries if e["day"] == day])
                theirs = day_report(conn, day)["terminals"][terminal]
                assert json.loads(json.dumps(ours)) == theirs, f"{terminal} {day}"
    finally:
        engine.dispose()


def run_schedules(database_url: str, tmp_path: Path, seeds: range) -> None:
    faults: Counter[str] = Counter()
    attempts = 0
    with running_server(database_url) as base_url:
        for seed in seeds:
            terminal = f"fault-{seed:04d}"
            key = TerminalKey.load_or_create(tmp_path / f"{terminal}.key")
            journal_path = tmp_path / f"{terminal}.db"
            with Journal.open(journal_path, terminal, key) as journal:
                fill(journal, sales=random.Random(seed).randint(2, 8))
            enroll_terminal(base_url, database_url, FACILITY, terminal, key)
            attempts += upload_through_faults(base_url, journal_path, terminal, key, seed,
                                              faults)
            check_server_matches(database_url, journal_path)
    injected = sum(n for fault, n in faults.items() if fault != "pass")
    assert injected > len(seeds)  # the proxy really did get in the way
    print(f"\nfault schedules: {len(seeds)}, pushes: {attempts}, faults: {dict(faults)}, "
          "duplicates: 0, losses: 0")


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[str]:
    yield sqlite_url(tmp_path)


def test_fault_schedules_sqlite(sqlite_db: str, tmp_path: Path) -> None:
    run_schedules(sqlite_db, tmp_path, range(SCHEDULES))


def test_fault_schedules_postgresql(tmp_path: Path) -> None:
    with pg_database() as url:
        run_schedules(url, tmp_path, range(1000, 1000 + SCHEDULES // 4))
