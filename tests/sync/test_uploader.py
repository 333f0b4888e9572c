"""Uploader: batching, resumption from partial acks, backoff, halting, status."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sync.client import ForkDetected, PushResult, ServerClient, ServerRefused, ServerUnavailable
from sync.uploader import Uploader
from terminal.journal import TerminalKey

TERMINAL = "hachinohe-museum-01"
MOMENT = datetime(2026, 11, 26, 1, 2, 3, tzinfo=UTC)


def _setup(fake_server: Any, key: TerminalKey, tmp_path: Path, journal_maker: Any,
           count: int) -> tuple[Path, ServerClient]:
    path = tmp_path / "journal.db"
    journal_maker(path, key, count)
    fake_server.state.keys[TERMINAL] = key.public_key_b64
    return path, ServerClient(fake_server.url, TERMINAL, key)


def test_batches_and_partial_acks(fake_server: Any, key: TerminalKey, tmp_path: Path,
                                  journal_maker: Any) -> None:
    path, client = _setup(fake_server, key, tmp_path, journal_maker, 23)
    fake_server.state.max_store = 4  # the server acks less than it was sent
    seen: list[tuple[int, int]] = []
    with client:
        uploader = Uploader(path, client, batch_size=10, clock=lambda: MOMENT)
        assert uploader.last_success() is None
        outcome = uploader.push_once(lambda done, total: seen.append((done, total)))
    assert outcome.complete and outcome.ack == 23 and outcome.stored == 23
    assert seen[0] == (0, 23) and seen[-1] == (23, 23)
    assert [s for s, _ in seen] == sorted(s for s, _ in seen)
    pushes = [r for r in fake_server.state.requests if r.method == "POST"]
    assert len(pushes) == 6  # 4+4+4+4+4+3 stored, resent from each ack+1
    assert fake_server.state.lines[TERMINAL] == _lines(path)
    assert (uploader.pending(), uploader.last_success(), uploader.last_error()) == (
        0, MOMENT, None)


def _lines(path: Path) -> list[str]:
    from terminal.journal import Journal

    with Journal.open_readonly(path) as journal:
        return list(journal.lines())


def test_resume_uses_known_ack_and_gap(fake_server: Any, key: TerminalKey, tmp_path: Path,
                                       journal_maker: Any) -> None:
    path, client = _setup(fake_server, key, tmp_path, journal_maker, 8)
    with client:
        uploader = Uploader(path, client, batch_size=5)
        uploader.push_once()
        heads = sum(r.path.endswith("/head") for r in fake_server.state.requests)
        journal_maker(path, key, 4)
        # the server lost its last entries (restored from a backup): it reports a gap
        del fake_server.state.lines[TERMINAL][5:]
        outcome = uploader.push_once()
    assert outcome.ack == 12 and outcome.complete
    assert sum(r.path.endswith("/head") for r in fake_server.state.requests) == heads == 1
    assert fake_server.state.lines[TERMINAL] == _lines(path)


def test_resend_is_idempotent(fake_server: Any, key: TerminalKey, tmp_path: Path,
                              journal_maker: Any) -> None:
    path, client = _setup(fake_server, key, tmp_path, journal_maker, 6)
    with client:
        Uploader(path, client).push_once()
        again = client.push(_lines(path))
    assert (again.ack, again.stored, again.duplicates) == (6, 0, 6)


def test_fork_raises_and_halts(fake_server: Any, key: TerminalKey, tmp_path: Path,
                               journal_maker: Any) -> None:
    path, client = _setup(fake_server, key, tmp_path, journal_maker, 0)
    with client:
        uploader = Uploader(path, client, poll_interval=0.01)
        uploader.push_once()  # learns ack 0
        journal_maker(path, key, 3)
        # meanwhile a clone of this terminal wrote a different history to the server
        other = tmp_path / "other.db"
        journal_maker(other, key, 2, body=lambda i: {"amount": 999, "clerk": "x", "reason": "y"})
        fake_server.state.lines[TERMINAL] = _lines(other)
        with pytest.raises(ForkDetected) as info:
            uploader.push_once()
        assert info.value.seq == 1
        uploader.run_forever(threading.Event())  # returns: halted for good
    assert uploader.halted
    assert "改ざん" in (uploader.last_error() or "") and "fork" in (uploader.last_error() or "")


class ScriptedClient:
    """Raises the scripted errors from head(), then acks everything."""

    def __init__(self, errors: list[Exception]) -> None:
        self.errors = errors
        self.stored = 0

    def head(self) -> int:
        if self.errors:
            raise self.errors.pop(0)
        return self.stored

    def push(self, lines: Sequence[str]) -> PushResult:
        self.stored += len(lines)
        return PushResult(self.stored, len(lines), 0, None)


class MaxRandom(random.Random):
    def uniform(self, a: float, b: float) -> float:
        return b


def test_backoff_schedule(tmp_path: Path, key: TerminalKey, journal_maker: Any) -> None:
    path = tmp_path / "j.db"
    journal_maker(path, key, 2)
    errors: list[Exception] = [ServerUnavailable("down") for _ in range(11)]
    errors.insert(3, ServerUnavailable("busy", retry_after=50))
    client = ScriptedClient(errors)
    stop = threading.Event()
    delays: list[float] = []

    def sleep(seconds: float) -> None:
        delays.append(seconds)
        if client.stored:
            stop.set()

    uploader = Uploader(path, client, rng=MaxRandom(), sleep=sleep, poll_interval=2.0)
    uploader.run_forever(stop)
    assert delays == [1, 2, 4, 50, 16, 32, 64, 128, 256, 300, 300, 300, 2.0]
    assert uploader.pending() == 0 and uploader.last_error() is None


def test_backoff_full_jitter_bounds() -> None:
    uploader = Uploader(Path("unused.db"), ScriptedClient([]), rng=random.Random(7))
    for attempt in range(20):
        ceiling = min(300.0, 2.0 ** attempt)
        samples = [uploader.backoff_delay(attempt) for _ in range(50)]
        assert all(0 <= s <= ceiling for s in samples)
        assert len(set(samples)) > 1  # jittered
    assert uploader.backoff_delay(0, retry_after=20) >= 20
    assert uploader.backoff_delay(0, retry_after=10_000) == 300


def test_unavailable_status_in_japanese(tmp_path: Path, key: TerminalKey,
                                        journal_maker: Any) -> None:
    path = tmp_path / "j.db"
    journal_maker(path, key, 5)
    with ServerClient("http://127.0.0.1:9", TERMINAL, key, timeout=2) as client:
        uploader = Uploader(path, client)
        with pytest.raises(ServerUnavailable):
            uploader.push_once()
        stop = threading.Event()
        uploader._sleep = lambda _s: stop.set()
        uploader.run_forever(stop)
    assert not uploader.halted
    assert (uploader.last_error() or "").startswith("サーバーに接続できません (server unreachable)")
    assert uploader.pending() == 5


def test_refusal_halts_background_thread(fake_server: Any, key: TerminalKey, tmp_path: Path,
                                         journal_maker: Any) -> None:
    path, client = _setup(fake_server, key, tmp_path, journal_maker, 3)
    fake_server.state.fail.append((403, {}))
    with client:
        uploader = Uploader(path, client, poll_interval=0.01)
        uploader.start()
        _wait(lambda: uploader.halted)
        uploader.stop()
    assert "revoked" in (uploader.last_error() or "")
    assert isinstance(ServerRefused("x"), Exception)


def test_background_thread_pushes_new_entries(fake_server: Any, key: TerminalKey,
                                              tmp_path: Path, journal_maker: Any) -> None:
    path, client = _setup(fake_server, key, tmp_path, journal_maker, 3)
    with client:
        uploader = Uploader(path, client, poll_interval=30)
        uploader.start()
        try:
            _wait(lambda: uploader.ack == 3)
            journal_maker(path, key, 2)
            uploader.notify()  # no 30 s poll wait
            _wait(lambda: uploader.ack == 5)
        finally:
            uploader.stop()
    assert uploader.pending() == 0 and uploader.last_success() is not None


def test_selling_does_not_wait_for_the_uploader(fake_server: Any, key: TerminalKey,
                                                tmp_path: Path, journal_maker: Any) -> None:
    """A push in progress (server slow) holds no journal lock: the counter appends freely."""
    from terminal.journal import Journal

    path, client = _setup(fake_server, key, tmp_path, journal_maker, 50)
    gate = threading.Event()

    class SlowClient:
        def head(self) -> int:
            return client.head()

        def push(self, lines: Sequence[str]) -> PushResult:
            gate.wait(5)
            return client.push(lines)

    with client, Journal.open(path, TERMINAL, key) as journal:
        uploader = Uploader(path, SlowClient(), batch_size=10)
        worker = threading.Thread(target=uploader.push_once)
        worker.start()
        started = time.monotonic()
        from datetime import timedelta

        from terminal.day import TOKYO

        journal.append("cash.in", {"amount": 1, "clerk": "c1", "reason": "x"},
                       datetime(2026, 11, 26, 12, tzinfo=TOKYO) + timedelta(seconds=1))
        assert time.monotonic() - started < 1
        gate.set()
        worker.join(10)
    assert uploader.ack == 50 and uploader.pending() == 0


def _wait(condition: Any, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)
