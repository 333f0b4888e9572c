"""Fixtures for the console report tests: a migrated server database (SQLite file or a fresh
PostgreSQL database) holding real signed journals of three terminals in two facilities,
ingested through the server's own ingest.

Each journal (``build_journal``): server_harness.fill (login, float, six vector sales, a
refund, a daily log, a Z; a sale the next day), then on that next day a transit-IC sale with
accounting codes and a name cp932 cannot encode (𠮷), its void, a free admission, two survey
ratings and a training sale (which must count nowhere).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from argon2 import PasswordHasher
from server_harness import START, fill, pg_database, prepare, running_server, sqlite_url
from sqlalchemy import Engine, insert, select

from sync.server.console import auth
from sync.server.console.models import ConsoleSession
from sync.server.console.web import SESSION_COOKIE, Settings, token_hash
from sync.server.db import make_engine, utcnow
from sync.server.ingest import ingest_batch
from sync.server.models import Admin, Terminal
from terminal.journal import Journal, TerminalKey

MUSEUM = "hachinohe-museum"
LIBRARY = "aomori-library"
TERMINALS = {"museum-01": MUSEUM, "museum-02": MUSEUM, "library-01": LIBRARY}
DAY1, DAY2 = "2026-11-26", "2026-11-27"
HARD_NAME = "𠮷野家コラボ入館券"  # 𠮷 (U+20BB7) has no cp932 code


def transit_sale(receipt_no: str) -> dict[str, Any]:
    return {
        "receipt_no": receipt_no, "clerk": "c1", "rounding": "floor", "total": 1550,
        "lines": [
            {"code": "ADM-G", "name": "一般入館料", "qty": 2, "unit_price": 500,
             "tax_class": "std10", "amount": 1000, "account": "general",
             "accounting_code": "14-01-05"},
            {"code": "COLLAB", "name": HARD_NAME, "qty": 1, "unit_price": 550,
             "tax_class": "std10", "amount": 550, "account": "general",
             "accounting_code": "14-01-06"},
        ],
        "taxes": [{"tax_class": "std10", "base": 1550, "tax": 140}],
        "tenders": [{"kind": "transit_ic", "amount": 1550, "ref": "IC1",
                     "approval_code": "1", "slip_no": "1", "brand": "Hachica"}],
    }


def free_sale(receipt_no: str) -> dict[str, Any]:
    return {
        "receipt_no": receipt_no, "clerk": "c1", "rounding": "floor", "total": 0,
        "lines": [{"code": "FREE", "name": "中学生以下入館", "qty": 2, "unit_price": 0,
                   "tax_class": "std10", "amount": 0, "account": "general",
                   "accounting_code": "14-01-05"}],
        "taxes": [{"tax_class": "std10", "base": 0, "tax": 0}],
        "tenders": [{"kind": "cash", "amount": 0, "given": 0, "change": 0}],
    }


def build_journal(path: Path, terminal: str, key: TerminalKey,
                  start: datetime = START) -> list[str]:
    with Journal.open(path, terminal, key) as journal:
        fill(journal, sales=6, start=start)
        at = start + timedelta(days=1, hours=1)

        def step() -> datetime:
            nonlocal at
            at += timedelta(minutes=1)
            return at

        ic = journal.append("sale", transit_sale(f"{terminal}-IC"), step())
        journal.append("sale", transit_sale(f"{terminal}-IC2"), step())
        voided = journal.append("sale", transit_sale(f"{terminal}-V"), step())
        journal.append("void", dict(voided.body, original_seq=voided.seq,
                                    original_terminal=terminal, approved_by="s1"), step())
        free = journal.append("sale", free_sale(f"{terminal}-F"), step())
        journal.append("survey.rating", {"sale_seq": free.seq, "score": 5}, step())
        journal.append("survey.rating", {"sale_seq": ic.seq, "score": 2}, step())
        journal.append("training.start", {"approved_by": "s1"}, step())
        journal.append("training.sale", transit_sale("T-1"), step())
        journal.append("training.survey.rating", {"sale_seq": 1, "score": 1}, step())
        journal.append("training.end", {"approved_by": "s1"}, step())
        return list(journal.lines())


@dataclass
class Seeded:
    url: str
    engine: Engine
    keys: dict[str, TerminalKey]
    lines: dict[str, list[str]]

    def entries(self, terminal: str) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines[terminal]]


def seed(url: str, tmp_path: Path) -> Seeded:
    prepare(url)
    engine = make_engine(url)
    keys = {name: TerminalKey.generate() for name in TERMINALS}
    lines: dict[str, list[str]] = {}
    with engine.begin() as conn:
        conn.execute(insert(Terminal), [
            {"terminal": name, "facility": facility, "public_key": keys[name].public_key_b64,
             "enrolled_at": utcnow()} for name, facility in TERMINALS.items()])
    for name in TERMINALS:
        lines[name] = build_journal(tmp_path / f"{name}.db", name, keys[name])
        result = ingest_batch(engine, name, keys[name].public_key_b64, lines[name])
        assert result["stored"] == len(lines[name]), result
    return Seeded(url, engine, keys, lines)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One database per test module and backend (the tests only read the journals; what
    they write — users, audit rows, retention values — they name apart)."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path_factory.mktemp("server"))
    else:
        with pg_database() as url:
            yield url


@pytest.fixture(scope="module")
def seeded(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    made = seed(database_url, tmp_path_factory.mktemp("journals"))
    yield made
    made.engine.dispose()


# -- the console over HTTP (a real uvicorn server), logged in -----------------------------
@dataclass
class Browser:
    """A logged-in console user: a requests session with the cookie, and the CSRF token."""

    base_url: str
    session: requests.Session
    csrf: str

    def get(self, path: str, **params: str) -> requests.Response:
        return self.session.get(self.base_url + path, params=params, timeout=60,
                                allow_redirects=False)

    def post(self, path: str, form: dict[str, str]) -> requests.Response:
        return self.session.post(self.base_url + path, data={"csrf": self.csrf, **form},
                                 timeout=60, allow_redirects=False)


def log_in(base_url: str, engine: Engine, user: str, role: str,
           facility: str | None = None) -> Browser:
    """Create administrator ``user`` with ``role`` (unless it exists) and log in through
    the console's own login function (the cookie is what the login page would set)."""
    password = f"pw-{user}-0123456789"
    with engine.begin() as conn:
        if conn.execute(select(Admin.user).where(Admin.user == user)).scalar() is None:
            conn.execute(insert(Admin).values(user=user, password_hash=PasswordHasher().hash(
                password), created_at=utcnow(), role=role, facility=facility))
    new = auth.login(engine, Settings(), user, password, "test")
    with engine.begin() as conn:
        csrf = conn.execute(select(ConsoleSession.csrf).where(
            ConsoleSession.id == token_hash(new.token))).scalar_one()
    session = requests.Session()
    session.cookies.set(SESSION_COOKIE, new.token)
    return Browser(base_url, session, csrf)


@pytest.fixture(scope="module")
def console_url(seeded: Seeded) -> Iterator[str]:
    """The API with the console, over the seeded database; yields the base URL."""
    with running_server(seeded.url) as base_url:
        yield base_url
