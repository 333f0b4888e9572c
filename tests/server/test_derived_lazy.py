"""Derived rows out of the ingest transaction: ingest marks (terminal, day) pairs stale; a
read recomputes them first (lazy refresh), the background drain recomputes them after the
response; either way the rows equal a full rebuild. Concurrent drains (PostgreSQL, SKIP
LOCKED) recompute each pair once and never insert a derived row twice."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from server_harness import START, Term, fill, pg_database, prepare
from sqlalchemy import Engine, select

from sync.server import derived
from sync.server.db import make_engine
from sync.server.errors import ApiError
from sync.server.ingest import ingest_batch
from sync.server.models import DayTotals, StaleDay, ZClosing
from terminal.journal import Journal, TerminalKey


def _lines(tmp_path: Path, terminal: str, key: TerminalKey, days: int = 3) -> list[str]:
    with Journal.open(tmp_path / f"{terminal}.db", terminal, key) as journal:
        for day in range(days):
            fill(journal, sales=4, start=START + timedelta(days=2 * day))
        return list(journal.lines())


def _days(terminal: str, lines: list[str]) -> set[tuple[str, str]]:
    return {(terminal, json.loads(line)["day"]) for line in lines}


def _stale(engine: Engine) -> set[tuple[str, str]]:
    with engine.connect() as conn:
        return {(t, d) for t, d in conn.execute(select(StaleDay.terminal, StaleDay.day))}


def _rebuilt(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    with engine.begin() as conn:
        derived.rebuild(conn)
        return derived.derived_rows(conn)


@pytest.fixture
def db(database_url: str) -> Any:
    prepare(database_url)
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def test_ingest_only_marks_stale_days(db: Engine, tmp_path: Path) -> None:
    key = TerminalKey.generate()
    lines = _lines(tmp_path, "museum-01", key)
    ingest_batch(db, "museum-01", key.public_key_b64, lines[:5])
    assert _stale(db) == _days("museum-01", lines[:5]) == {("museum-01", "2026-11-26")}
    with db.connect() as conn:  # nothing derived inside the ingest transaction
        assert conn.execute(select(DayTotals.day)).all() == []
    ingest_batch(db, "museum-01", key.public_key_b64, lines)
    days = _days("museum-01", lines)
    assert len(days) > 3 and _stale(db) == days
    spaced = lines[-1].replace('"seq":', '"seq": ')
    with pytest.raises(ApiError):  # a refused batch marks nothing
        ingest_batch(db, "museum-02", TerminalKey.generate().public_key_b64, [spaced])
    assert _stale(db) == days


def test_lazy_refresh_before_a_report_equals_a_rebuild(db: Engine, tmp_path: Path) -> None:
    keys = {name: TerminalKey.generate() for name in ("museum-01", "museum-02")}
    for name, key in keys.items():
        lines = _lines(tmp_path, name, key)
        for start in range(0, len(lines), 5):
            ingest_batch(db, name, key.public_key_b64, lines[start:start + 5])
    day = sorted(_days("museum-01", lines))[2][1]
    with db.begin() as conn:
        report = derived.day_report(conn, day)
    assert set(report["terminals"]) == set(keys) and report["all"]["count"] > 0
    # only the pairs of that day were recomputed
    assert _stale(db) and not any(d == day for _, d in _stale(db))
    with db.begin() as conn:
        kept = derived.derived_rows(conn)  # recomputes the rest first
    assert _stale(db) == set()
    assert kept == _rebuilt(db)


def test_drain_then_more_ingest(db: Engine, tmp_path: Path) -> None:
    key = TerminalKey.generate()
    lines = _lines(tmp_path, "museum-01", key)
    ingest_batch(db, "museum-01", key.public_key_b64, lines[:5])
    assert derived.drain(db) == 1 and _stale(db) == set()
    ingest_batch(db, "museum-01", key.public_key_b64, lines[5:])  # the same day again, more
    stale = _stale(db)
    assert ("museum-01", "2026-11-26") in stale and stale == _days("museum-01", lines[5:])
    assert derived.drain(db, limit=2) == len(stale)
    assert _stale(db) == set()
    with db.connect() as conn:
        drained = derived.derived_rows(conn)
    assert drained == _rebuilt(db)


def test_journal_ints_beyond_int32(db: Engine, tmp_path: Path) -> None:
    key = TerminalKey.generate()
    with Journal.open(tmp_path / "j.db", "museum-01", key) as journal:
        journal.append("closing.z", {"total": 2**40, "grand_total": 2**52}, START)
        journal.append("payment.daily_log", {"count": 1, "total": 2**40}, START)
        lines = list(journal.lines())
    assert ingest_batch(db, "museum-01", key.public_key_b64, lines)["stored"] == 2
    assert derived.drain(db) == 1
    with db.connect() as conn:
        assert conn.execute(select(ZClosing.total, ZClosing.grand_total)).one() == (
            2**40, 2**52)


def test_background_drain_after_an_upload(make_term: Any, engine: Engine) -> None:
    term: Term = make_term("museum-01")
    fill(term.journal, sales=5)
    assert term.upload(term.lines()).status_code == 200
    deadline = time.monotonic() + 15
    while _stale(engine) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _stale(engine) == set()
    with engine.connect() as conn:  # already there: read without the lazy refresh
        assert len(conn.execute(select(DayTotals.day)).all()) == 2
        kept = derived.derived_rows(conn)
    assert kept == _rebuilt(engine)


def test_concurrent_drains_and_ingest_on_postgresql(tmp_path: Path) -> None:
    """Four drainers (separate engines: as separate processes), a reader refreshing and an
    ingest at once: no derived row inserted twice (that would be an IntegrityError), each
    pair recomputed once per mark, and the end equals a rebuild."""
    with pg_database() as url:
        prepare(url)
        engines = [make_engine(url) for _ in range(6)]
        try:
            terminals = [f"museum-{n:02}" for n in range(8)]
            keys = {name: TerminalKey.generate() for name in terminals}
            lines = {name: _lines(tmp_path, name, keys[name], days=4) for name in terminals}
            half = {name: len(lines[name]) // 2 for name in terminals}
            for name in terminals:
                ingest_batch(engines[0], name, keys[name].public_key_b64,
                             lines[name][:half[name]])
            assert _stale(engines[0])
            errors: list[BaseException] = []
            counts: list[int] = []
            go = threading.Barrier(6)

            def drainer(engine: Engine) -> None:
                try:
                    go.wait()
                    for _ in range(20):
                        counts.append(derived.drain(engine, limit=3))
                except BaseException as exc:
                    errors.append(exc)

            def reader(engine: Engine) -> None:
                try:
                    go.wait()
                    for _ in range(10):
                        with engine.begin() as conn:
                            derived.derived_rows(conn)
                except BaseException as exc:
                    errors.append(exc)

            def uploader(engine: Engine) -> None:
                try:
                    go.wait()
                    for name in terminals:
                        rest = lines[name][half[name]:]
                        for start in range(0, len(rest), 4):
                            ingest_batch(engine, name, keys[name].public_key_b64,
                                         rest[start:start + 4])
                except BaseException as exc:
                    errors.append(exc)

            threads = [threading.Thread(target=drainer, args=(e,)) for e in engines[:4]]
            threads.append(threading.Thread(target=reader, args=(engines[4],)))
            threads.append(threading.Thread(target=uploader, args=(engines[5],)))
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=120)
            assert errors == []
            assert sum(counts) >= 1
            with engines[0].begin() as conn:
                kept = derived.derived_rows(conn)
            assert _stale(engines[0]) == set()
            assert kept == _rebuilt(engines[0])
            assert len(kept["z_closings"]) == 8 * 4
        finally:
            for engine in engines:
                engine.dispose()


def test_concurrent_drains_recompute_each_pair_once(tmp_path: Path) -> None:
    with pg_database() as url:
        prepare(url)
        engines = [make_engine(url) for _ in range(4)]
        try:
            for n in range(10):
                key = TerminalKey.generate()
                ingest_batch(engines[0], f"t-{n}", key.public_key_b64,
                             _lines(tmp_path, f"t-{n}", key))
            marked = len(_stale(engines[0]))
            counts: list[int] = []
            go = threading.Barrier(4)

            def drainer(engine: Engine) -> None:
                go.wait()
                counts.append(derived.drain(engine, limit=2))

            threads = [threading.Thread(target=drainer, args=(e,)) for e in engines]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=120)
            assert len(counts) == 4 and sum(counts) == marked
            assert _stale(engines[0]) == set()
            with engines[0].connect() as conn:
                kept = derived.derived_rows(conn)
            assert kept == _rebuilt(engines[0])
        finally:
            for engine in engines:
                engine.dispose()
