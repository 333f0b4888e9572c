"""installer/bin/madoguchi-backup: a consistent, verified copy of the journal with its key."""

from __future__ import annotations

import os
import stat
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from conftest import INSTALLER, run, terminal_config

from terminal.journal import Journal, TerminalKey

JST = timezone(timedelta(hours=9))


def test_backup_copies_verifies_and_rotates(tmp_path: Path) -> None:
    config = terminal_config(tmp_path / "etc")
    data = tmp_path / "data"
    config.write_text(config.read_text("utf-8").replace(
        'data_dir = "/var/lib/madoguchi"', f'data_dir = "{data}"'), "utf-8")
    data.mkdir(mode=0o700)
    key = TerminalKey.load_or_create(data / "terminal.key")
    (data / "points.key").write_bytes(os.urandom(32))
    at = datetime(2026, 11, 26, 10, 0, tzinfo=JST)
    journal = Journal.open(data / "journal.db", "hachinohe-museum-01", key)
    for n in range(20):
        journal.append("cash.in", {"amount": n, "clerk": "c1", "reason": "test"}, at)
    backups = tmp_path / "backups"
    backups.mkdir()
    conf = tmp_path / "backup.conf"
    conf.write_text(f"BACKUP_DIR={backups}\nCONFIG={config}\nKEEP=1\n", "utf-8")
    env = {**os.environ, "MADOGUCHI_HOME": str(Path(sys.executable).parent.parent)}
    try:  # the journal stays open for writing, as on a running counter
        run("bash", INSTALLER / "bin/madoguchi-backup", conf, env=env)
        journal.append("cash.in", {"amount": 99, "clerk": "c1", "reason": "test"}, at)
        run("sleep", "1")  # a new time stamp, the folder name
        out = run("bash", INSTALLER / "bin/madoguchi-backup", conf, env=env).stdout
    finally:
        journal.close()
    (copy,) = backups.iterdir()  # KEEP=1: the older one is gone
    assert "21 entries intact" in out
    assert sorted(p.name for p in copy.iterdir()) == [
        "SOURCE", "journal.db", "points.key", "terminal.key", "verify.txt"]
    for name in ("journal.db", "terminal.key", "points.key"):
        assert stat.S_IMODE((copy / name).stat().st_mode) == 0o600
    assert (copy / "terminal.key").read_bytes() == (data / "terminal.key").read_bytes()
    with Journal.open_readonly(copy / "journal.db") as restored:
        assert restored.count() == 21
