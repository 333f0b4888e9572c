"""``madoguchi status`` and ``madoguchi support-bundle`` (secrets removed)."""

from __future__ import annotations

import json
import tarfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from conftest import terminal_config

from madoguchi.cli import main
from madoguchi.support_cli import scrub
from terminal.journal import Journal, TerminalKey

JST = timezone(timedelta(hours=9))
IDM = "012E4CD3A1B2C3D4"


@pytest.fixture
def counter(tmp_path: Path) -> Path:
    """A terminal config whose data folder holds a journal with an open sale."""
    config = terminal_config(tmp_path / "etc")
    data = tmp_path / "data"
    config.write_text(config.read_text("utf-8").replace(
        'data_dir = "/var/lib/madoguchi"', f'data_dir = "{data}"'), "utf-8")
    data.mkdir()
    key = TerminalKey.load_or_create(data / "terminal.key")
    at = datetime(2026, 11, 26, 10, 0, tzinfo=JST)
    with Journal.open(data / "journal.db", "hachinohe-museum-01", key) as journal:
        journal.append("login", {"clerk": "c1"}, at)
        journal.append("sale.open", {"lines": [], "total": 250, "clerk": "c1"}, at)
        journal.append("payment.pending", {"kind": "credit", "amount": 250, "ref": "r1"}, at)
    return config


def test_status_reports_the_open_sale(counter: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "--config", str(counter), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["entries"] == 3 and status["head_seq"] == 3
    assert status["open_sale"] is True and status["open_sale_seq"] == 2
    assert status["pending_payments"] == 1 and status["idle"] is False
    assert main(["status", "--config", str(counter), "--require-idle"]) == 1
    assert "sale open" in capsys.readouterr().out


def test_status_paths_under_a_root(counter: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "--config", str(counter), "--paths", "--root", "/srv/img"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("data_dir=/srv/img/") and lines[1].endswith("/journal.db")


def test_scrub_removes_secrets() -> None:
    pem = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----"
    text = scrub(f"key {pem}\npassword = \"hunter22\"\n--code ABCD-1234 "
                 f"url=postgresql://admin:s3cret@db/x\nAuthorization: Bearer abcdefghijkl\n"
                 f"tapped IDm {IDM} hash {'ab' * 32}\n{{\"enroll_code\": \"XYZ\"}}")
    for secret in ("MC4CAQAw", "hunter22", "ABCD-1234", "s3cret", "abcdefghijkl", IDM, "XYZ"):
        assert secret not in text
    assert "012E…" in text and "ab" * 32 in text  # hashes stay, the IDm is masked
    assert "-----BEGIN PRIVATE KEY----- <redacted>" in text


def test_support_bundle(counter: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "bundle.tar.gz"
    assert main(["support-bundle", "--config", str(counter), "-o", str(out), "--no-logs"]) == 0
    assert out.stat().st_mode & 0o777 == 0o600
    with tarfile.open(out) as tar:
        names = tar.getnames()
        files = {}
        for n in names:
            member = tar.extractfile(n)
            assert member is not None
            files[n.removeprefix("madoguchi-support/")] = member.read().decode("utf-8")
    assert {"versions.json", "devices.txt", "journal.json", "config.toml"} <= set(files)
    versions = json.loads(files["versions.json"])
    assert versions["madoguchi"] and versions["python"] and "qt" in versions
    journal = json.loads(files["journal.json"])
    assert journal["entries"] == 3 and journal["head_seq"] == 3 and journal["open_sale"]
    assert journal["verify"]["ok"] is True and journal["verify"]["key_pinned"] is True
    key_pem = (tmp_path / "data/terminal.key").read_text("utf-8")
    body = key_pem.splitlines()[1]
    everything = "\n".join(files.values())
    assert body not in everything and "PRIVATE KEY-----\n" not in everything
