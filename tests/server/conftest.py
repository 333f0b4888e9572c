"""Fixtures for the central-server tests: both backends (SQLite file, fresh PostgreSQL
database), a real uvicorn server, enrolled terminals with real journals."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from server_harness import (
    FACILITY,
    Term,
    enroll_terminal,
    fill,
    pg_database,
    running_server,
    sqlite_url,
)
from sqlalchemy import Engine

from sync.server.db import make_engine
from terminal.journal import Journal, TerminalKey


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield sqlite_url(tmp_path)
    else:
        with pg_database() as url:
            yield url


@pytest.fixture
def server(database_url: str) -> Iterator[str]:
    with running_server(database_url) as base_url:
        yield base_url


@pytest.fixture
def engine(database_url: str, server: str) -> Iterator[Engine]:
    db = make_engine(database_url)
    yield db
    db.dispose()


@pytest.fixture
def make_term(server: str, database_url: str, tmp_path: Path) -> Iterator[Any]:
    made: list[Term] = []

    def make(terminal: str = "hachinohe-museum-01", facility: str = FACILITY,
             enroll: bool = True) -> Term:
        key = TerminalKey.generate()
        journal = Journal.open(tmp_path / f"{terminal}.db", terminal, key)
        server_key = enroll_terminal(server, database_url, facility, terminal, key) \
            if enroll else ""
        term = Term(server, terminal, key, journal, server_key, requests.Session())
        made.append(term)
        return term

    yield make
    for term in made:
        term.journal.close()
        term.session.close()


@pytest.fixture
def term(make_term: Any) -> Term:
    made: Term = make_term()
    fill(made.journal)
    return made
