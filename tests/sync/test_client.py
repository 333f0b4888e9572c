"""ServerClient: signed requests and error translation at the boundary."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from sync import protocol
from sync.client import (
    ForkDetected,
    ServerClient,
    ServerRefused,
    ServerUnavailable,
    enroll,
)
from terminal.errors import MadoguchiError
from terminal.journal import TerminalKey

TERMINAL = "hachinohe-museum-01"


def _client(server: Any, key: TerminalKey) -> ServerClient:
    server.state.keys[TERMINAL] = key.public_key_b64
    return ServerClient(server.url, TERMINAL, key, timeout=5)


def test_requests_are_signed_and_carry_the_clock(fake_server: Any, key: TerminalKey) -> None:
    with _client(fake_server, key) as client:
        assert client.head() == 0
        client.fetch_entries(1, 10)
    for rec in fake_server.state.requests:
        assert rec.headers[protocol.HEADER_TERMINAL] == TERMINAL
        assert protocol.check_request_signature(
            key.public_key_b64, rec.headers, rec.method, rec.path, rec.body)
        assert not protocol.check_request_signature(
            key.public_key_b64, rec.headers, rec.method, rec.path + "x", rec.body)
        assert "T" in rec.headers[protocol.HEADER_CLOCK]
    assert fake_server.state.requests[1].path.endswith("?from_seq=1&limit=10")


def test_push_and_fetch(fake_server: Any, key: TerminalKey, tmp_path: Any,
                        journal_maker: Any) -> None:
    from terminal.journal import Journal

    journal_maker(tmp_path / "j.db", key, 5)
    with Journal.open_readonly(tmp_path / "j.db") as journal:
        lines = list(journal.lines())
    with _client(fake_server, key) as client:
        result = client.push(lines)
        assert (result.ack, result.stored, result.duplicates, result.gap) == (5, 5, 0, None)
        again = client.push(lines[2:])
        assert (again.ack, again.stored, again.duplicates) == (5, 0, 3)
        assert client.fetch_entries(2, 2) == (lines[1:3], 5)
        assert client.fetch_config() is None
        client.post_status("0.1.0", 0, {"printer": "ok"}, None)
    assert fake_server.state.status_posts[0]["devices"] == {"printer": "ok"}


@pytest.mark.parametrize(("status", "exc"), [
    (500, ServerUnavailable), (503, ServerUnavailable), (429, ServerUnavailable),
    (401, ServerRefused), (403, ServerRefused), (422, ServerRefused), (409, ForkDetected),
])
def test_status_translation(fake_server: Any, key: TerminalKey, status: int,
                            exc: type[Exception]) -> None:
    fake_server.state.fail.append((status, {"Retry-After": "7"}))
    with _client(fake_server, key) as client, pytest.raises(exc) as info:
        client.head()
    assert isinstance(info.value, MadoguchiError)
    if exc is ServerUnavailable:
        assert info.value.retry_after == 7.0  # type: ignore[attr-defined]
    if exc is ServerRefused:
        assert info.value.status == status  # type: ignore[attr-defined]


def test_wrong_key_is_refused(fake_server: Any, key: TerminalKey) -> None:
    fake_server.state.keys[TERMINAL] = TerminalKey.generate().public_key_b64
    with ServerClient(fake_server.url, TERMINAL, key) as client, \
            pytest.raises(ServerRefused, match="認証"):
        client.head()


def test_unreachable_server() -> None:
    with ServerClient("http://127.0.0.1:9", TERMINAL, TerminalKey.generate(),
                      timeout=2) as client, \
            pytest.raises(ServerUnavailable, match="server unreachable") as info:
        client.head()
    assert info.value.retry_after is None


def test_garbage_response_is_retryable(fake_server: Any, key: TerminalKey) -> None:
    session = requests.Session()

    class Garbage(requests.adapters.HTTPAdapter):
        def send(self, request: Any, *args: Any, **kwargs: Any) -> requests.Response:
            response = requests.Response()
            response.status_code = 200
            response._content = b"<html>captive portal</html>"
            response.request = request
            return response

    session.mount("http://", Garbage())
    with session, ServerClient(fake_server.url, TERMINAL, key, session=session) as client, \
            pytest.raises(ServerUnavailable, match="malformed"):
        client.head()


def test_enroll(fake_server: Any, key: TerminalKey) -> None:
    server_key = enroll(fake_server.url, "CODE-1", TERMINAL, "hachinohe-museum",
                        key.public_key_b64)
    assert server_key == fake_server.state.server_key.public_key_b64
    with pytest.raises(ServerRefused, match="HTTP 403"):
        enroll(fake_server.url, "CODE-1", TERMINAL, "hachinohe-museum", key.public_key_b64)
