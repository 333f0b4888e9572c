"""Test harness for the central server: fresh databases, a real uvicorn server in a thread,
and terminal enrollment. Shared by the server and sync-client suites.

PostgreSQL must answer at postgresql+psycopg://postgres@127.0.0.1:5432/test: tests that need
it FAIL (never skip) when it does not.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import requests
import uvicorn
from madoguchi_testing import shared_dir
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from madoguchi.local_server import prepare_database
from sync import protocol
from sync.server.app import create_app
from sync.server.db import make_engine
from sync.server.enroll import create_code
from terminal.day import TOKYO
from terminal.journal import Journal, TerminalKey

FACILITY = "hachinohe-museum"
OTHER_FACILITY = "aomori-library"
START = datetime(2026, 11, 26, 9, 0, tzinfo=TOKYO)
VECTORS = shared_dir() / "vectors" / "journal"


def _vector_sales() -> list[dict[str, Any]]:
    bodies = []
    for line in (VECTORS / "valid.jsonl").read_text("utf-8").splitlines()[1:]:
        entry = json.loads(line)
        if entry["kind"] == "sale":
            bodies.append(entry["body"])
    return bodies


SALES = _vector_sales()


PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PG_BASE = "postgresql+psycopg://postgres@127.0.0.1:5432"


@contextmanager
def pg_database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database (dropped at exit); yields its URL."""
    # NullPool: a pooled admin connection would be dead after a PostgreSQL restart and make
    # the DROP DATABASE at exit fail
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool,
                          connect_args={"connect_timeout": 5})
    name = f"mdg_{secrets.token_hex(6)}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        raise RuntimeError(
            f"PostgreSQL is not reachable at {PG_ADMIN_URL} ({type(exc).__name__}: "
            f"{str(exc).strip().splitlines()[0] if str(exc).strip() else exc!r}); start it "
            "(CI: 'make postgres' or the service container) — the server tests need it"
        ) from exc
    try:
        yield f"{PG_BASE}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'server.db'}"


def prepare(database_url: str) -> str:
    """Migrate ``database_url`` and make sure it has a server key; the server public key."""
    return prepare_database(database_url)


@contextmanager
def running_server(database_url: str, *, prepare_db: bool = True) -> Iterator[str]:
    """Migrate, then serve the API on 127.0.0.1 (a free port) in a daemon thread; yields
    the base URL (http://127.0.0.1:PORT). Stops the server at exit. ``prepare_db=False``:
    neither migrate nor wait for a healthy database (to test a database that is down)."""
    if prepare_db:
        prepare(database_url)
    app = create_app(database_url)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                            lifespan="on", ws="none", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="madoguchi-test-server", daemon=True)
    thread.start()
    try:
        base_url = _wait_started(server, thread, healthy=prepare_db)
        yield base_url
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        if thread.is_alive():
            raise RuntimeError("the test server did not stop within 15 s")


def _wait_started(server: uvicorn.Server, thread: threading.Thread, healthy: bool) -> str:
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start (see the log above)")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    base_url = f"http://127.0.0.1:{port}"
    with requests.Session() as session:
        while True:
            try:
                status = session.get(f"{base_url}/healthz", timeout=15).status_code
                if status == 200 or not healthy:
                    return base_url
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{base_url}/healthz did not answer 200 within 15 s")
            time.sleep(0.05)


def enrollment_code(database_url: str, facility: str, terminal: str,
                    hours: float = 24) -> str:
    """A one-time code made through the server's Python API."""
    engine = make_engine(database_url)
    try:
        return create_code(engine, facility, terminal, hours)[0]
    finally:
        engine.dispose()


def enroll_terminal(base_url: str, database_url: str, facility: str, terminal: str,
                    key: TerminalKey) -> str:
    """Enroll ``terminal`` with ``key``; the server public key (base64)."""
    code = enrollment_code(database_url, facility, terminal)
    response = requests.post(base_url + protocol.enroll_path(), json={
        "code": code, "terminal": terminal, "facility": facility,
        "public_key": key.public_key_b64,
    }, timeout=30)
    response.raise_for_status()
    server_key: str = response.json()["server_public_key"]
    return server_key


# -- terminals with real journals, for the server tests ----------------------------------
@dataclass
class Term:
    """An enrolled terminal: its id, key, journal and a signed HTTP client."""

    base_url: str
    terminal: str
    key: TerminalKey
    journal: Journal
    server_key: str
    session: requests.Session

    def request(self, method: str, path: str, body: bytes = b"",
                headers: dict[str, str] | None = None, *, as_terminal: str | None = None,
                key: TerminalKey | None = None, nonce: str | None = None) -> requests.Response:
        signed = protocol.sign_request(key or self.key, as_terminal or self.terminal,
                                       method, path, body, nonce=nonce)
        return self.session.request(method, self.base_url + path, data=body,
                                    headers={**signed, **(headers or {})}, timeout=60)

    def upload(self, lines: list[str], **kwargs: Any) -> requests.Response:
        body = json.dumps({"entries": lines}, ensure_ascii=False).encode("utf-8")
        return self.request("POST", protocol.entries_path(self.terminal), body,
                            {"Content-Type": "application/json"}, **kwargs)

    def lines(self) -> list[str]:
        return list(self.journal.lines())


def fill(journal: Journal, sales: int = 6, start: datetime = START,
         receipt_prefix: str | None = None) -> None:
    """login, cash.float, ``sales`` sales (cycling the vector bodies), a refund of the first
    sale, a payment.daily_log and a closing.z; then a sale on the next day."""
    at = start
    prefix = receipt_prefix or journal.terminal

    def step() -> datetime:
        nonlocal at
        at += timedelta(minutes=1)
        return at

    journal.append("login", {"clerk": "c1"}, step())
    journal.append("cash.float", {"amount": 20000, "clerk": "c1", "reason": "float"}, step())
    first = None
    for n in range(sales):
        body = dict(SALES[n % len(SALES)], receipt_no=f"{prefix}-{n + 1}")
        entry = journal.append("sale", body, step())
        first = first or entry
    assert first is not None
    refund = dict(first.body, original_seq=first.seq, original_terminal=journal.terminal,
                  approved_by="s1", receipt_no=f"{prefix}-R1")
    journal.append("refund", refund, step())
    journal.append("payment.daily_log", {"batch_no": 7, "count": 2, "total": 900,
                                         "by_tender": {"qr": 900}}, step())
    journal.append("closing.z", {"first_seq": 1, "last_seq": journal.last_seq, "total": 0,
                                 "grand_total": 0}, step())
    journal.append("sale", dict(SALES[0], receipt_no=f"{prefix}-next"),
                   at + timedelta(days=1))
