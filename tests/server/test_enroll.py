"""Enrollment: single use (also under a race), expiry, mismatch, rate limit."""

from __future__ import annotations

import threading
from typing import Any

import requests
from server_harness import enrollment_code
from sqlalchemy import Engine, update

from sync import protocol
from sync.server.models import EnrollCode, Head
from terminal.journal.keys import TerminalKey

FACILITY = "hachinohe-museum"


def _enroll(server: str, code: str, terminal: str = "t-01",
            facility: str = FACILITY) -> requests.Response:
    return requests.post(server + protocol.enroll_path(), json={
        "code": code, "terminal": terminal, "facility": facility,
        "public_key": TerminalKey.generate().public_key_b64}, timeout=30)


def test_code_is_single_use(server: str, database_url: str, engine: Engine) -> None:
    code = enrollment_code(database_url, FACILITY, "t-01")
    first = _enroll(server, code.lower().replace("-", ""))  # typed loosely: still the code
    assert first.status_code == 200, first.text
    assert set(first.json()) == {"terminal", "facility", "server_public_key"}
    again = _enroll(server, code)
    assert again.status_code == 403 and "already used" in again.json()["message"]


def test_concurrent_uses_exactly_one_wins(server: str, database_url: str,
                                          engine: Engine) -> None:
    code = enrollment_code(database_url, FACILITY, "t-01")
    results: list[int] = []
    barrier = threading.Barrier(4)

    def use() -> None:
        barrier.wait()
        results.append(_enroll(server, code).status_code)

    threads = [threading.Thread(target=use) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [200, 403, 403, 403]


def test_expired_and_mismatched_codes(server: str, database_url: str, engine: Engine) -> None:
    code = enrollment_code(database_url, FACILITY, "t-01")
    response = _enroll(server, code, terminal="t-02")
    assert response.status_code == 403 and "issued for terminal" in response.json()["message"]
    with engine.begin() as conn:
        conn.execute(update(EnrollCode).values(expires_at=EnrollCode.created_at))
    response = _enroll(server, code)
    assert response.status_code == 403 and "expired" in response.json()["message"]


def test_failed_attempts_are_rate_limited(server: str, database_url: str,
                                          engine: Engine) -> None:
    for _ in range(10):
        assert _enroll(server, "WRONG-CODE").status_code == 403
    good = enrollment_code(database_url, FACILITY, "t-01")
    response = _enroll(server, good)
    assert response.status_code == 429 and "Retry-After" in response.headers


def test_malformed_enroll_request(server: str, engine: Any) -> None:
    response = requests.post(server + protocol.enroll_path(), data=b"{", timeout=30)
    assert response.status_code == 422
    response = requests.post(server + protocol.enroll_path(), json={
        "code": "x", "terminal": "t", "facility": "f", "public_key": "not a key"}, timeout=30)
    assert response.status_code == 422 and "public key" in response.json()["message"]


def test_a_terminal_with_a_journal_keeps_its_key(server: str, database_url: str,
                                                 engine: Engine) -> None:
    key = TerminalKey.generate()

    def enroll_with(k: TerminalKey) -> requests.Response:
        return requests.post(server + protocol.enroll_path(), json={
            "code": enrollment_code(database_url, FACILITY, "t-keys"), "terminal": "t-keys",
            "facility": FACILITY, "public_key": k.public_key_b64}, timeout=30)

    assert enroll_with(key).status_code == 200
    assert enroll_with(TerminalKey.generate()).status_code == 200  # no journal yet: re-keyed
    assert enroll_with(key).status_code == 200
    with engine.begin() as conn:  # as if the server held 3 of its entries
        conn.execute(update(Head).where(Head.terminal == "t-keys").values(ack=3))
    refused = enroll_with(TerminalKey.generate())
    assert refused.status_code == 409, refused.text
    assert "restore that key" in refused.json()["message"]
    assert enroll_with(key).status_code == 200  # the restored key of a replaced counter
