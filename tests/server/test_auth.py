"""Request authentication: signatures, replay, clock window, revocation, drift."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from server_harness import Term
from sqlalchemy import Engine, select

from sync import protocol
from sync.server.admin import revoke
from sync.server.models import Terminal
from terminal.journal.keys import TerminalKey


def test_missing_and_wrong_signature(term: Term) -> None:
    path = protocol.head_path(term.terminal)
    response = term.session.get(term.base_url + path, timeout=30)
    assert response.status_code == 401 and "missing header" in response.json()["message"]
    response = term.request("GET", path, key=TerminalKey.generate())
    assert response.status_code == 401 and "bad request signature" in response.json()["message"]
    headers = protocol.sign_request(term.key, term.terminal, "GET", path, b"")
    headers[protocol.HEADER_SIGNATURE] = headers[protocol.HEADER_SIGNATURE][::-1]
    assert term.session.get(term.base_url + path, headers=headers, timeout=30).status_code == 401
    # signed for another path (moved request)
    headers = protocol.sign_request(term.key, term.terminal, "GET",
                                    protocol.config_path(term.terminal), b"")
    assert term.session.get(term.base_url + path, headers=headers, timeout=30).status_code == 401


def test_unknown_terminal(make_term: Any) -> None:
    stranger = make_term("stranger-01", enroll=False)
    response = stranger.request("GET", protocol.head_path("stranger-01"))
    assert response.status_code == 401 and "unknown terminal" in response.json()["message"]


def test_replayed_request(term: Term) -> None:
    path = protocol.head_path(term.terminal)
    assert term.request("GET", path, nonce="n-1").status_code == 200
    response = term.request("GET", path, nonce="n-1")
    assert response.status_code == 401 and "already used" in response.json()["message"]


def test_timestamp_outside_window(term: Term) -> None:
    path = protocol.head_path(term.terminal)
    old = datetime.now(UTC) - timedelta(seconds=protocol.CLOCK_WINDOW_SECONDS + 120)
    headers = protocol.sign_request(term.key, term.terminal, "GET", path, b"", now=old)
    response = term.session.get(term.base_url + path, headers=headers, timeout=30)
    assert response.status_code == 401 and "window" in response.json()["message"]


def test_revoked_terminal(term: Term, engine: Engine) -> None:
    path = protocol.head_path(term.terminal)
    assert term.request("GET", path).status_code == 200
    revoke(engine, term.terminal)
    response = term.request("GET", path)
    assert response.status_code == 403 and response.json()["error"] == "revoked"


def test_drift_and_status_recorded(term: Term, engine: Engine) -> None:
    clock = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    body = b'{"app_version": "0.1.0", "pending": 3, "devices": {"printer": "ok"}, ' \
           b'"last_error": null}'
    response = term.request("POST", protocol.status_path(term.terminal), body,
                            {protocol.HEADER_CLOCK: clock})
    assert response.status_code == 204, response.text
    with engine.connect() as conn:
        row = conn.execute(select(Terminal.drift_seconds, Terminal.app_version,
                                  Terminal.pending, Terminal.devices)).one()
    assert 290 <= (row.drift_seconds or 0) <= 310
    assert (row.app_version, row.pending, row.devices) == ("0.1.0", 3, '{"printer": "ok"}')
    bad = term.request("POST", protocol.status_path(term.terminal), b'{"pending": "x"}')
    assert bad.status_code == 422
