"""The sync client end to end against the real server, on SQLite and on PostgreSQL:
enroll, push a simulated journal (resend idempotent), fork alarm, restore, config apply."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from server_harness import enrollment_code, pg_database, running_server, sqlite_url

from kiosk_config.loader import load_config
from madoguchi.cli import main
from sync.client import ForkDetected, ServerClient
from sync.config_apply import applied_version, fetch_and_apply
from sync.enrollment import enroll_terminal
from sync.restore import restore_journal
from sync.uploader import Uploader
from terminal.day import TOKYO
from terminal.journal import Journal, TerminalKey, verify_path

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "kiosk_config" / "samples" / "museum-01.toml"
TERMINAL = "hachinohe-museum-01"
FACILITY = "hachinohe-museum"
PAYLOAD = '[fees]\nadult = 300\nnote = "企画展"\n'


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """A journal made by ``madoguchi simulate`` (30 sales), and its lines."""
    path = tmp_path_factory.mktemp("sim") / "museum.db"
    subprocess.run(
        [sys.executable, "-m", "madoguchi", "simulate", "--config", str(SAMPLE.relative_to(ROOT)),
         "--journal", str(path), "--sales", "30", "--seed", "1"],
        cwd=ROOT, check=True, capture_output=True, timeout=120,
    )
    with Journal.open_readonly(path) as journal:
        return path, list(journal.lines())


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(database URL, base URL of a live server on it)."""
    if request.param == "sqlite":
        url = sqlite_url(tmp_path)
        with running_server(url) as base_url:
            yield url, base_url
    else:
        with pg_database() as url, running_server(url) as base_url:
            yield url, base_url


def test_end_to_end(backend: tuple[str, str], simulated: tuple[Path, list[str]],
                    tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    database_url, base_url = backend
    sim_path, lines = simulated
    counter = tmp_path / "counter"
    counter.mkdir()
    journal_path = counter / "museum.db"
    shutil.copy(sim_path, journal_path)
    shutil.copy(sim_path.with_suffix(".key"), counter / "terminal.key")
    config = dataclasses.replace(load_config(SAMPLE), data_dir=counter,
                                 journal_path=journal_path, key_path=counter / "terminal.key")

    # enroll with a one-time code: the server key is pinned
    result = enroll_terminal(config, base_url, enrollment_code(database_url, FACILITY, TERMINAL))
    key = TerminalKey.load(config.key_path)
    assert result.terminal_fingerprint == key.fingerprint

    # push in small batches, then once more through the CLI: nothing left to send
    with ServerClient(base_url, TERMINAL, key) as client:
        outcome = Uploader(journal_path, client, batch_size=37).push_once()
        assert outcome.complete and outcome.stored == len(lines) and outcome.ack == len(lines)
        assert main(["sync", "--journal", str(journal_path), "--server", base_url,
                     "--key", str(config.key_path)]) == 0
        assert f"sent 0, stored 0, duplicates 0, ack {len(lines)}" in capsys.readouterr().out
        again = client.push(lines[:50])  # resending is harmless
        assert (again.ack, again.stored, again.duplicates) == (len(lines), 0, 50)
        client.post_status("0.1.0", 0, {"printer": "ok"}, None)
        _receipt_lookup(client, lines)
        _fork_alarm(client, key, tmp_path)
        _restore_and_apply_config(client, config, key, lines, database_url)


def _receipt_lookup(client: ServerClient, lines: list[str]) -> None:
    import json

    sale = next(json.loads(line) for line in lines if json.loads(line)["kind"] == "sale")
    found = client.lookup_receipt(FACILITY, sale["body"]["receipt_no"])
    assert found is not None and found["seq"] == sale["seq"]
    assert client.lookup_receipt(FACILITY, "no-such-receipt") is None


def _fork_alarm(client: ServerClient, key: TerminalKey, tmp_path: Path) -> None:
    """A different entry at a stored seq (same terminal and key): 409, a tamper alarm."""
    from datetime import datetime

    with Journal.open(tmp_path / "clone.db", TERMINAL, key) as clone:
        clone.append("cash.in", {"amount": 1, "clerk": "x", "reason": "clone"},
                     datetime(2026, 11, 26, 9, tzinfo=TOKYO))
        forged = list(clone.lines())
    with pytest.raises(ForkDetected) as info:
        client.push(forged)
    assert info.value.seq == 1


def _restore_and_apply_config(client: ServerClient, config: Any, key: TerminalKey,
                              lines: list[str], database_url: str) -> None:
    journal_path = config.journal_path
    journal_path.rename(journal_path.with_suffix(".old"))
    assert restore_journal(client, config, key) == len(lines)
    with Journal.open_readonly(journal_path) as journal:
        assert list(journal.lines()) == lines
    assert verify_path(journal_path, public_key_b64=key.public_key_b64).ok

    from sync.server.configs import publish
    from sync.server.db import make_engine

    engine = make_engine(database_url)
    try:
        version = publish(engine, FACILITY, PAYLOAD)
    finally:
        engine.dispose()

    class Clock:
        def now(self) -> Any:
            from datetime import datetime

            return datetime.now(TOKYO)

    applied = fetch_and_apply(client, config, journal_path, key, Clock())
    assert applied is not None and applied.status == "applied" and applied.version == version
    assert applied_version(journal_path, FACILITY) == version
    assert applied.path is not None and applied.path.read_text("utf-8") == PAYLOAD
    outcome = Uploader(journal_path, client).push_once()  # the config.applied entry too
    assert outcome.complete and outcome.ack == len(lines) + 1 and outcome.stored == 1
