"""Enrollment, restore from the server's copy, and applying a published config."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from sync import protocol
from sync.client import ServerClient
from sync.config_apply import ConfigRefused, applied_version, fetch_and_apply
from sync.enrollment import enroll_terminal, load_server_key, load_server_url
from sync.restore import RestoreRefused, restore_journal
from terminal.day import TOKYO
from terminal.journal import Journal, TerminalKey, verify_path

TERMINAL = "hachinohe-museum-01"
FACILITY = "hachinohe-museum"


class FixedClock:
    def now(self) -> datetime:
        return datetime(2026, 11, 27, 10, 0, tzinfo=TOKYO)


def _enrolled(fake_server: Any, kiosk_config: Any) -> TerminalKey:
    assert load_server_key(kiosk_config) is None
    result = enroll_terminal(kiosk_config, fake_server.url + "/", "CODE-1")
    key = TerminalKey.load(kiosk_config.key_path)
    assert result.terminal_fingerprint == key.fingerprint
    assert result.server_fingerprint == fake_server.state.server_key.fingerprint
    return key


def test_enroll_pins_server_key(fake_server: Any, kiosk_config: Any) -> None:
    key = _enrolled(fake_server, kiosk_config)
    assert fake_server.state.keys[TERMINAL] == key.public_key_b64
    pub = kiosk_config.data_dir / "server.pub"
    assert load_server_key(kiosk_config) == fake_server.state.server_key.public_key_b64
    assert stat.S_IMODE(os.stat(pub).st_mode) == 0o644
    assert stat.S_IMODE(os.stat(kiosk_config.key_path).st_mode) == 0o600
    assert load_server_url(kiosk_config) == fake_server.url
    assert not [p for p in kiosk_config.data_dir.iterdir() if p.name.endswith(".tmp")]


def test_restore_round_trip(fake_server: Any, kiosk_config: Any, journal_maker: Any,
                            tmp_path: Path) -> None:
    key = _enrolled(fake_server, kiosk_config)
    old = tmp_path / "old.db"
    journal_maker(old, key, 2300)
    with Journal.open_readonly(old) as journal:
        lines = list(journal.lines())
    fake_server.state.lines[TERMINAL] = lines
    with ServerClient(fake_server.url, TERMINAL, key) as client:
        assert restore_journal(client, kiosk_config, key) == 2300
        with pytest.raises(RestoreRefused, match="move it aside"):
            restore_journal(client, kiosk_config, key)
    path = kiosk_config.journal_path
    with Journal.open_readonly(path) as journal:
        assert list(journal.lines()) == lines
    assert verify_path(path, public_key_b64=key.public_key_b64).ok
    with Journal.open(path, TERMINAL, key) as journal:  # the counter can carry on
        entry = journal.append("cash.in", {"amount": 1, "clerk": "c", "reason": "r"},
                               FixedClock().now())
    assert entry.seq == 2301
    assert sorted(p.name for p in path.parent.iterdir()
                  if p.name.startswith(".")) == []


def _tampered(lines: list[str]) -> list[str]:
    entry = json.loads(lines[1])
    entry["body"]["amount"] = 1_000_000
    return [lines[0], json.dumps(entry, sort_keys=True, separators=(",", ":"),
                                 ensure_ascii=False), *lines[2:]]


@pytest.mark.parametrize("how", ["tampered", "other_key", "not_canonical"])
def test_restore_refuses_a_bad_server_copy(fake_server: Any, kiosk_config: Any,
                                           journal_maker: Any, tmp_path: Path, how: str) -> None:
    key = _enrolled(fake_server, kiosk_config)
    signer = TerminalKey.generate() if how == "other_key" else key
    journal_maker(tmp_path / "old.db", signer, 5)
    with Journal.open_readonly(tmp_path / "old.db") as journal:
        lines = list(journal.lines())
    if how == "tampered":
        lines = _tampered(lines)
    elif how == "not_canonical":
        lines[2] = lines[2].replace('{"at"', '{ "at"')
    fake_server.state.lines[TERMINAL] = lines
    with ServerClient(fake_server.url, TERMINAL, key) as client, \
            pytest.raises(RestoreRefused, match="restore aborted"):
        restore_journal(client, kiosk_config, key)
    assert not kiosk_config.journal_path.exists()
    assert list(kiosk_config.data_dir.glob(".*")) == []


def _publish(fake_server: Any, version: int, payload: str, signer: TerminalKey | None = None,
             facility: str = FACILITY) -> None:
    signer = signer or fake_server.state.server_key
    digest = protocol.config_digest(facility, version, payload)
    fake_server.state.config = {
        "facility": facility, "version": version, "payload": payload,
        "sha256": hashlib.sha256(payload.encode()).hexdigest(),
        "signature": signer.sign_hash(digest), "published_at": "2026-11-27T00:00:00Z",
    }


PAYLOAD = '[fees]\nadult = 300\nnote = "大人"\n'


def test_config_applied_once(fake_server: Any, kiosk_config: Any) -> None:
    key = _enrolled(fake_server, kiosk_config)
    journal_path = kiosk_config.journal_path
    with ServerClient(fake_server.url, TERMINAL, key) as client:
        assert fetch_and_apply(client, kiosk_config, journal_path, key, FixedClock()) is None
        _publish(fake_server, 3, PAYLOAD)
        result = fetch_and_apply(client, kiosk_config, journal_path, key, FixedClock())
        assert result is not None and result.status == "applied" and result.seq == 1
        assert result.path == kiosk_config.data_dir / "config" / f"{FACILITY}-v3.toml"
        assert result.path is not None and result.path.read_text("utf-8") == PAYLOAD
        assert fetch_and_apply(client, kiosk_config, journal_path, key, FixedClock()) is None
    assert applied_version(journal_path, FACILITY) == 3
    with Journal.open_readonly(journal_path) as journal:
        body = journal.entry(1).body
    assert body == {"facility": FACILITY, "version": 3, "path": str(result.path),
                    "sha256": hashlib.sha256(PAYLOAD.encode()).hexdigest()}


@pytest.mark.parametrize("problem", ["forged", "facility", "sha256", "unpinned", "toml"])
def test_config_refused(fake_server: Any, kiosk_config: Any, problem: str) -> None:
    key = _enrolled(fake_server, kiosk_config)
    if problem == "forged":
        _publish(fake_server, 2, PAYLOAD, signer=TerminalKey.generate())
    elif problem == "facility":
        _publish(fake_server, 2, PAYLOAD, facility="hachinohe-arena")
    elif problem == "toml":
        _publish(fake_server, 2, "adult = = 3")
    else:
        _publish(fake_server, 2, PAYLOAD)
    if problem == "sha256":
        fake_server.state.config["sha256"] = "0" * 64
    if problem == "unpinned":
        (kiosk_config.data_dir / "server.pub").unlink()
    with ServerClient(fake_server.url, TERMINAL, key) as client, pytest.raises(ConfigRefused):
        fetch_and_apply(client, kiosk_config, kiosk_config.journal_path, key, FixedClock())
    assert not (kiosk_config.data_dir / "config").exists()


def test_config_deferred_while_a_sale_is_open(fake_server: Any, kiosk_config: Any) -> None:
    key = _enrolled(fake_server, kiosk_config)
    path = kiosk_config.journal_path
    clock = FixedClock()
    with Journal.open(path, TERMINAL, key) as journal:
        journal.append("sale.open", {"lines": [], "total": 0, "clerk": "c1"}, clock.now())
    _publish(fake_server, 4, PAYLOAD)
    with ServerClient(fake_server.url, TERMINAL, key) as client:
        result = fetch_and_apply(client, kiosk_config, path, key, clock)
        assert result is not None and result.status == "deferred" and result.path is None
        assert applied_version(path, FACILITY) == 0
        assert not (kiosk_config.data_dir / "config").exists()
        with Journal.open(path, TERMINAL, key) as journal:
            journal.append("sale.cancel", {"clerk": "c1"}, clock.now())
        result = fetch_and_apply(client, kiosk_config, path, key, clock)
    assert result is not None and result.status == "applied" and result.seq == 3
