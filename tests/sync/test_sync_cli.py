"""``madoguchi enroll / sync / restore`` against the fake server (in-process)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from madoguchi.cli import main
from terminal.journal import Journal, TerminalKey

TERMINAL = "hachinohe-museum-01"


def _journal(tmp_path: Path, journal_maker: Any, count: int) -> tuple[Path, TerminalKey]:
    path = tmp_path / "counter.db"
    key = TerminalKey.load_or_create(path.with_suffix(".key"))
    journal_maker(path, key, count)
    return path, key


def test_sync_pushes_everything(fake_server: Any, tmp_path: Path, journal_maker: Any,
                                capsys: pytest.CaptureFixture[str]) -> None:
    path, key = _journal(tmp_path, journal_maker, 12)
    fake_server.state.keys[TERMINAL] = key.public_key_b64
    assert main(["sync", "--journal", str(path), "--server", fake_server.url,
                 "--batch", "5"]) == 0
    assert "sent 12, stored 12, duplicates 0, ack 12 / 12" in capsys.readouterr().out
    assert len(fake_server.state.lines[TERMINAL]) == 12
    assert main(["sync", "--journal", str(path), "--server", fake_server.url]) == 0
    assert "sent 0, stored 0, duplicates 0, ack 12 / 12" in capsys.readouterr().out


def test_sync_failures(fake_server: Any, tmp_path: Path, journal_maker: Any,
                       capsys: pytest.CaptureFixture[str]) -> None:
    path, key = _journal(tmp_path, journal_maker, 3)
    args = ["sync", "--journal", str(path), "--server", fake_server.url]
    assert main(args) == 1  # not enrolled: refused
    assert "re-enroll" in capsys.readouterr().err
    fake_server.state.keys[TERMINAL] = key.public_key_b64
    fake_server.state.fail.append((503, {}))
    assert main(args) == 1
    assert "retry later" in capsys.readouterr().err
    assert main([*args, "--terminal", "other"]) == 2
    path.with_suffix(".key").unlink()
    assert main(args) == 2
    assert "--key" in capsys.readouterr().err


def test_enroll_then_restore(fake_server: Any, kiosk_config: Any, tmp_path: Path,
                             journal_maker: Any, capsys: pytest.CaptureFixture[str]) -> None:
    import tomllib

    config_file = tmp_path / "museum.toml"
    root = Path(__file__).resolve().parents[2] / "kiosk_config" / "samples"
    text = (root / "museum-01.toml").read_text("utf-8")
    text = text.replace('catalogue = "catalogues/museum.toml"',
                        f'catalogue = "{root / "catalogues" / "museum.toml"}"')
    text += f'\n[storage]\ndata_dir = "{kiosk_config.data_dir}"\n'
    tomllib.loads(text)
    config_file.write_text(text, "utf-8")
    assert main(["enroll", "--server", fake_server.url, "--code", "CODE-1",
                 "--config", str(config_file)]) == 0
    out = capsys.readouterr().out
    assert "enrolled" in out and fake_server.state.server_key.fingerprint in out
    key = TerminalKey.load(kiosk_config.key_path)
    journal_maker(tmp_path / "old.db", key, 7)
    with Journal.open_readonly(tmp_path / "old.db") as journal:
        fake_server.state.lines[TERMINAL] = list(journal.lines())
    restore = ["restore", "--server", fake_server.url, "--config", str(config_file)]
    assert main(restore) == 0
    assert "restored" in capsys.readouterr().out
    assert main(restore) == 1
    assert "move it aside" in capsys.readouterr().err


def test_sync_warns_when_the_server_is_ahead(fake_server: Any, tmp_path: Path,
                                             journal_maker: Any,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    path, key = _journal(tmp_path, journal_maker, 4)
    fake_server.state.keys[TERMINAL] = key.public_key_b64
    with Journal.open_readonly(path) as journal:
        lines = list(journal.lines())
    fake_server.state.lines[TERMINAL] = [*lines, *lines]  # more than the journal holds
    assert main(["sync", "--journal", str(path), "--server", fake_server.url]) == 1
    assert "older copy" in capsys.readouterr().err
