"""Updates: a side-by-side release, refused while a sale is open, then switched; rollback."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

from conftest import VERSION, build_version, install_terminal, run, terminal_config

from terminal.journal import Journal, TerminalKey

JST = timezone(timedelta(hours=9))
NEXT = VERSION + ".post1"


def journal_of(root: Path) -> Journal:
    data = root / "var/lib/madoguchi"
    key = TerminalKey.load(data / "terminal.key")
    return Journal.open(data / "journal.db", "hachinohe-museum-01", key)


def test_update_waits_for_the_open_sale_then_rolls_back(wheel_dir: Path, tmp_path: Path) -> None:
    root = tmp_path / "root"
    install_terminal(root, wheel_dir, "--config", terminal_config(tmp_path / "config"))
    at = datetime(2026, 11, 26, 10, 0, tzinfo=JST)
    with journal_of(root) as journal:
        journal.append("login", {"clerk": "c1"}, at)
        opened = journal.append("sale.open", {"lines": [], "total": 250, "clerk": "c1"}, at)
    wheels = build_version(wheel_dir, tmp_path / "next", NEXT)

    refused = install_terminal(root, wheels, check=False)
    assert refused.returncode == 3, refused.stderr
    assert "a sale or payment is open" in refused.stderr
    assert os.readlink(root / "opt/madoguchi/current") == f"releases/{VERSION}"
    assert (root / "opt/madoguchi/releases" / NEXT / "bin/madoguchi").exists()  # side by side

    with journal_of(root) as journal:
        journal.append("sale.cancel", {"open_seq": opened.seq, "reason": "test", "clerk": "c1"},
                       at)
    install_terminal(root, wheels)
    current = root / "opt/madoguchi/current"
    assert os.readlink(current) == f"releases/{NEXT}"
    assert os.readlink(root / "opt/madoguchi/previous") == f"releases/{VERSION}"
    assert run(current / "bin/madoguchi", "--version").stdout.strip() == f"madoguchi {NEXT}"

    install_terminal(root, wheels, "--rollback")
    assert os.readlink(current) == f"releases/{VERSION}"
    assert os.readlink(root / "opt/madoguchi/previous") == f"releases/{NEXT}"
    assert run(current / "bin/madoguchi", "--version").stdout.strip() == f"madoguchi {VERSION}"
