"""The sync adversary, server side: kill -9 of the central server mid-ingest, and a restart of
PostgreSQL itself, while a terminal's Uploader pushes a journal of thousands of entries.

The server runs as real processes on a fresh PostgreSQL database: forked per start from
``server_zygote.py`` (uvicorn on ``create_app``; the server stack is imported once, so a
restart costs a fraction of a second) or, in the PostgreSQL restart run, as ``madoguchi
server run`` itself. The test SIGKILLs it while a batch is in flight, starts it again on the
same port, and the Uploader (its real retry path: ``push_once`` after ``ServerUnavailable``)
carries on. At the end the server holds exactly the journal's lines, byte for byte, and its
day totals equal the terminal's own, to the yen.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fault_proxy import FaultProxy
from server_harness import FACILITY, SALES, START, enroll_terminal, pg_database, prepare
from server_processes import (
    CliServer,
    ForkedServers,
    Servers,
    restart_postgresql,
    wait_postgresql,
)
from sqlalchemy import Engine, func, select

from sync.client import PushResult, ServerClient, ServerUnavailable
from sync.server.db import make_engine
from sync.server.derived import day_report
from sync.server.models import StoredEntry
from sync.uploader import Uploader
from terminal.journal import Journal, TerminalKey
from terminal.reports import period_totals

KILLS = int(os.environ.get("MADOGUCHI_SERVER_KILLS", "22"))
TIMEOUT = 60.0


# -- the journal -----------------------------------------------------------------------------
def day_entries(day: int, first_seq: int, sales: int) -> Iterator[tuple[str, dict[str, Any],
                                                                       datetime]]:
    """One business day: login, float, ``sales`` sales, a refund of the first, cash out,
    the payment terminal's daily log and the Z."""
    at = START + timedelta(days=day)
    prefix = f"K{day}"
    yield "login", {"clerk": "c1"}, at
    yield "cash.float", {"amount": 20000, "clerk": "c1", "reason": "釣銭準備金"}, at
    for n in range(sales):
        at += timedelta(seconds=50)
        yield "sale", dict(SALES[n % len(SALES)], receipt_no=f"{prefix}-{n + 1}"), at
    first = dict(SALES[0], receipt_no=f"{prefix}-1")
    yield "refund", dict(first, original_seq=first_seq + 2, original_terminal="",
                         approved_by="s1", receipt_no=f"{prefix}-1-R"), at
    yield "cash.out", {"amount": 1000, "clerk": "c1", "reason": "両替"}, at
    yield "payment.daily_log", {"batch_no": day + 1, "count": 0, "total": 0,
                                "by_tender": {}}, at
    last = first_seq + sales + 4
    yield "closing.z", {"first_seq": first_seq, "last_seq": last, "total": 0,
                        "grand_total": 0}, at


def write_journal(path: Path, terminal: str, key: TerminalKey, days: int, sales: int) -> int:
    """A journal of ``days`` closed business days; its number of entries."""
    with Journal.open(path, terminal, key) as journal:
        for day in range(days):
            seq = journal.last_seq + 1
            journal.append_many(
                (kind, dict(body, original_terminal=terminal) if kind == "refund" else body, at)
                for kind, body, at in day_entries(day, seq, sales))
        return journal.last_seq


# -- the terminal ----------------------------------------------------------------------------
class CountingClient:
    """The real ServerClient, counting pushes and failures and showing a batch in flight."""

    def __init__(self, client: ServerClient) -> None:
        self.client = client
        self.in_flight = threading.Event()
        self.pushes = self.failed = self.answered = 0

    def head(self) -> int:
        ack = self.client.head()
        self.answered = max(self.answered, ack)
        return ack

    def push(self, lines: Sequence[str]) -> PushResult:
        self.pushes += 1
        self.in_flight.set()
        try:
            result = self.client.push(lines)
            self.answered = max(self.answered, result.ack)
            return result
        except ServerUnavailable:
            self.failed += 1
            raise
        finally:
            self.in_flight.clear()


@dataclass
class Pusher:
    """The Uploader in a thread, retrying until the server acknowledged the whole journal;
    after some failures the terminal restarts too: a new Uploader asks the server's head."""

    make: Callable[[], Uploader]
    rng: random.Random
    done: threading.Event = field(default_factory=threading.Event)
    errors: list[BaseException] = field(default_factory=list)
    restarts: int = 0

    def __post_init__(self) -> None:
        self.uploader = self.make()

    def loop(self) -> None:
        while not self.done.is_set():
            try:
                if self.uploader.push_once().complete:
                    break
            except ServerUnavailable:
                time.sleep(0.05)  # the uploader's own backoff, shortened for the test
                if self.rng.random() < 0.1:
                    self.uploader, self.restarts = self.make(), self.restarts + 1
            except BaseException as exc:
                self.errors.append(exc)
                break
        self.done.set()

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.loop, name="uploader", daemon=True)
        thread.start()
        return thread


@dataclass
class Tally:
    kills: int = 0
    mid_ingest: int = 0
    pg_restarts: int = 0
    pg_mid_upload: int = 0  # restarts while a batch was in flight
    pushes: int = 0
    retried: int = 0
    stored_unanswered: int = 0  # kills after a batch's commit, before its answer
    uploader_restarts: int = 0
    days: int = 0


def check_server(database_url: str, journal_path: Path) -> int:
    """Stored lines byte-identical to the journal, day totals equal: the number of days."""
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
            seqs = [seq for seq, _line in stored]
            assert seqs == list(range(1, len(lines) + 1)), "lost or duplicated entries"
            assert [line for _seq, line in stored] == lines, "stored lines differ"
            days = sorted({str(e["day"]) for e in entries})
            for day in days:
                ours = period_totals([e for e in entries if e["day"] == day])
                theirs = day_report(conn, day)["terminals"][terminal]
                assert json.loads(json.dumps(ours)) == theirs, f"{terminal} {day}"
            return len(days)
    finally:
        engine.dispose()


@dataclass
class Setup:
    database_url: str
    servers: Servers
    journal_path: Path
    terminal: str
    key: TerminalKey
    last_seq: int


def upload_with_kills(setup: Setup, kills: int, rng: random.Random, batch: int,
                      via_proxy: bool = False, pg_restart_at: float | None = None) -> Tally:
    """Push the journal while killing the server ``kills`` times with a batch in flight
    (and restarting PostgreSQL once at ``pg_restart_at`` of the upload)."""
    tally = Tally()
    proxy = quiet_proxy(setup.servers.base_url, rng.randint(0, 10**6)) if via_proxy else None
    url = proxy.__enter__().url if proxy is not None else setup.servers.base_url
    client = CountingClient(ServerClient(url, setup.terminal, setup.key, timeout=10))
    pusher = Pusher(lambda: Uploader(setup.journal_path, client, batch_size=batch, rng=rng),
                    random.Random(rng.random()))
    engine = make_engine(setup.database_url)
    thread = pusher.start()
    try:
        for n in range(kills):
            if pg_restart_at is not None and not tally.pg_restarts \
                    and n >= kills * pg_restart_at:
                tally.pg_mid_upload += wait_in_flight(client, pusher)
                restart_postgresql()
                tally.pg_restarts += 1
            if not kill_cycle(setup, (client, pusher, engine), tally, rng):
                break
        thread.join(timeout=TIMEOUT * 4)
        assert not thread.is_alive(), "the upload did not finish"
        assert not pusher.errors, pusher.errors
    finally:
        pusher.done.set()
        client.client.close()
        engine.dispose()
        if proxy is not None:
            proxy.__exit__(None, None, None)
    assert pusher.uploader.ack == setup.last_seq
    tally.pushes, tally.retried = client.pushes, client.failed
    tally.uploader_restarts = pusher.restarts
    return tally


def kill_cycle(setup: Setup, upload: tuple[CountingClient, Pusher, Engine], tally: Tally,
               rng: random.Random) -> bool:
    """Kill the server with a batch in flight, see whether it had stored more than it
    answered, start it again (False: the upload finished before a batch was in flight)."""
    client, pusher, engine = upload
    if not wait_in_flight(client, pusher):
        return False
    time.sleep(rng.uniform(0.0, 0.06))
    tally.mid_ingest += client.in_flight.is_set()
    setup.servers.kill()
    tally.kills += 1
    deadline = time.monotonic() + TIMEOUT
    while client.in_flight.is_set():  # the batch's answer, if any, arrives or never will
        assert time.monotonic() < deadline, "a push hangs after the server was killed"
        time.sleep(0.005)
    with engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(StoredEntry)
                              .where(StoredEntry.terminal == setup.terminal)).scalar_one()
    tally.stored_unanswered += stored > client.answered
    time.sleep(rng.uniform(0.0, 0.1))  # the uploader meets a dead server meanwhile
    setup.servers.start()
    return True


def quiet_proxy(target: str, seed: int) -> FaultProxy:
    """The fault proxy, without a traceback for each request it cannot forward to a
    killed server (the client sees the connection drop, as it should)."""
    proxy = FaultProxy(target, seed, fault_rate=0.3)
    proxy.server.handle_error = lambda *_args: None  # type: ignore[method-assign]
    return proxy


def wait_in_flight(client: CountingClient, pusher: Pusher) -> bool:
    """Wait until a batch is on its way (False: the upload finished first)."""
    while not pusher.done.is_set():
        if client.in_flight.wait(0.05):
            return True
    return False


def enrolled(database_url: str, servers: Servers, folder: Path, terminal: str, days: int,
             sales: int) -> Setup:
    """A journal of ``days`` x ``sales`` sales, its terminal enrolled at a running server."""
    key = TerminalKey.load_or_create(folder / "terminal.key")
    journal_path = folder / "journal.db"
    last_seq = write_journal(journal_path, terminal, key, days, sales)
    servers.start()
    enroll_terminal(servers.base_url, database_url, FACILITY, terminal, key)
    return Setup(database_url, servers, journal_path, terminal, key, last_seq)


def finish(setup: Setup, tally: Tally, started: float) -> None:
    tally.days = check_server(setup.database_url, setup.journal_path)
    print(f"\nserver kill -9: {tally.kills} kills ({tally.mid_ingest} with a batch in flight), "
          f"PostgreSQL restarts {tally.pg_restarts}; {setup.last_seq} entries over "
          f"{tally.days} days, {tally.pushes} batches sent, {tally.retried} failed and retried, "
          f"{tally.stored_unanswered} kills after a commit before its answer, uploader "
          f"restarts {tally.uploader_restarts}; "
          f"lost 0, duplicated 0; {time.monotonic() - started:.1f} s")


def run_kill_suite(tmp_path: Path, kills: int, seed: int, via_proxy: bool = False,
                   days: int = 6) -> None:
    started = time.monotonic()
    rng = random.Random(seed)
    with pg_database() as url:
        prepare(url)
        servers = ForkedServers(url, tmp_path / "server.log")
        try:
            setup = enrolled(url, servers, tmp_path, f"kill-{seed}", days=days, sales=500)
            tally = upload_with_kills(setup, kills, rng, batch=rng.choice((40, 60)),
                                      via_proxy=via_proxy)
        finally:
            servers.close()
        assert tally.kills >= kills and tally.mid_ingest >= kills * 0.6, tally
        finish(setup, tally, started)


def test_server_killed_mid_ingest(tmp_path: Path) -> None:
    run_kill_suite(tmp_path, KILLS, seed=4242)


def test_server_killed_mid_ingest_through_fault_proxy(tmp_path: Path) -> None:
    run_kill_suite(tmp_path, 8, seed=4343, via_proxy=True, days=2)


def test_server_kill_and_postgresql_restart(tmp_path: Path) -> None:
    """``madoguchi server run`` killed mid-ingest, and PostgreSQL restarted under a running
    upload (other suites using PostgreSQL at that moment see it go away for a few seconds)."""
    started = time.monotonic()
    rng = random.Random(4545)
    with pg_database() as url:
        prepare(url)
        servers = CliServer(url, tmp_path / "server.log")
        try:
            setup = enrolled(url, servers, tmp_path, "kill-pg", days=6, sales=500)
            tally = upload_with_kills(setup, 3, rng, batch=10, pg_restart_at=0.5)
        finally:
            servers.close()
            wait_postgresql()  # back up before pg_database drops the database
        assert tally.kills == 3 and tally.pg_restarts == tally.pg_mid_upload == 1, tally
        finish(setup, tally, started)


@pytest.mark.slow
def test_server_killed_many_times(tmp_path: Path) -> None:
    run_kill_suite(tmp_path, 120, seed=4444, days=20)
