"""A database that does not answer gives 503 with Retry-After (never 500)."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from server_harness import Term, enroll_terminal, fill, pg_database, running_server
from sqlalchemy import create_engine, text

from sync import protocol
from terminal.journal import Journal, TerminalKey


def _assert_503(base_url: str) -> None:
    health = requests.get(base_url + "/healthz", timeout=30)
    assert health.status_code == 503
    path = protocol.entries_path("t-1")
    body = b'{"entries": []}'
    headers = protocol.sign_request(TerminalKey.generate(), "t-1", "POST", path, body)
    response = requests.post(base_url + path, data=body, headers=headers, timeout=30)
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"].isdigit()
    assert "retry" in response.json()["message"]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_unreachable_database(backend: str, tmp_path: Path) -> None:
    url = (f"sqlite:///{tmp_path / 'missing-dir' / 'server.db'}" if backend == "sqlite"
           else "postgresql+psycopg://postgres@127.0.0.1:1/nowhere")
    with running_server(url, prepare_db=False) as base_url:
        _assert_503(base_url)


def test_postgresql_dropped_while_serving(tmp_path: Path) -> None:
    key = TerminalKey.generate()
    with pg_database() as url, running_server(url) as base_url, \
            Journal.open(tmp_path / "j.db", "t-1", key) as journal, requests.Session() as http:
        enroll_terminal(base_url, url, "f", "t-1", key)
        fill(journal, sales=2)
        term = Term(base_url, "t-1", key, journal, "", http)
        assert term.upload(term.lines()[:2]).status_code == 200
        admin = create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/test",
                              isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
        finally:
            admin.dispose()
        response = term.upload(term.lines()[2:4])
        assert response.status_code == 503 and "Retry-After" in response.headers
        _assert_503(base_url)
