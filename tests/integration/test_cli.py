"""The operator CLI end to end, as a subprocess, on the sample configuration."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from madoguchi_testing import SAMPLES, run_cli, shared_dir

from terminal.journal import Journal

COMMANDS = ["config", "simulate", "journal", "report", "clerk"]
VECTORS = shared_dir() / "vectors" / "journal"
PINNED = (VECTORS / "valid.public_key").read_text().strip()


def test_help_lists_every_command() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    for command in COMMANDS:
        assert command in result.stdout
    for sub in (["config", "check"], ["simulate"], ["journal", "verify"], ["journal", "export"],
                ["report"], ["clerk", "add"]):
        assert run_cli(*sub, "--help").returncode == 0, sub


@pytest.mark.parametrize(
    ("name", "pinned", "code", "seq"),
    [
        ("valid.jsonl", False, 0, None),
        ("valid.jsonl", True, 0, None),
        ("bad-body-edited-seq5.jsonl", False, 1, 5),
        ("bad-body-edited-seq5.jsonl", True, 1, 5),
        ("bad-entry-deleted-seq7.jsonl", False, 1, 7),
        ("bad-entries-swapped-seq3-4.jsonl", True, 1, 3),
        ("bad-signature-seq9.jsonl", False, 1, 9),
        ("bad-signature-seq9.jsonl", True, 1, 9),
        ("rekeyed-whole-journal.jsonl", False, 0, None),
        ("rekeyed-whole-journal.jsonl", True, 1, None),
    ],
)
def test_verify_agrees_with_every_vector(name: str, pinned: bool, code: int,
                                         seq: int | None) -> None:
    args = ["journal", "verify", str(VECTORS / name), "--json"]
    if pinned:
        args += ["--public-key", PINNED]
    result = run_cli(*args)
    assert result.returncode == code, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["first_bad_seq"] == seq
    assert report["key_pinned"] is pinned
    if not pinned:
        plain = run_cli("journal", "verify", str(VECTORS / name))
        assert "not pinned" in plain.stdout


def _simulate(journal: Path, seed: int = 3, sales: int = 40, days: int = 2,
              config: str = "museum-01.toml") -> None:
    result = run_cli("simulate", "--config", str(SAMPLES / config), "--journal", str(journal),
                     "--sales", str(sales), "--days", str(days), "--seed", str(seed))
    assert result.returncode == 0, result.stderr
    assert "simulated" in result.stdout


def _entries(journal: Path) -> list[dict[str, object]]:
    with Journal.open_readonly(journal) as j:
        return [e.as_dict() for e in j.entries()]


def test_simulate_is_deterministic_and_verifies(tmp_path: Path) -> None:
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    _simulate(a)
    _simulate(b)
    ea, eb = _entries(a), _entries(b)
    strip = ("prev", "hash", "sig")  # the keys differ: each journal has its own terminal key
    assert [{k: v for k, v in e.items() if k not in strip} for e in ea] == \
           [{k: v for k, v in e.items() if k not in strip} for e in eb]
    kinds = {e["kind"] for e in ea}
    assert {"login", "cash.float", "sale.open", "sale", "closing.z", "payment.pending"} <= kinds
    assert "logout" not in kinds  # a Z closing ends the session itself
    assert sum(1 for e in ea if e["kind"] == "closing.z") == 2
    verified = run_cli("journal", "verify", str(a))
    assert verified.returncode == 0, verified.stdout
    assert "key pinned" in verified.stdout


def test_simulate_refuses_another_terminals_journal(tmp_path: Path) -> None:
    journal = tmp_path / "j.db"
    _simulate(journal, sales=3, days=1)
    other = sorted(p.name for p in SAMPLES.glob("*.toml") if p.name != "museum-01.toml")[0]
    result = run_cli("simulate", "--config", str(SAMPLES / other), "--journal", str(journal),
                     "--sales", "1")
    assert result.returncode == 2
    assert "terminal" in result.stderr


def test_export_round_trip_and_reports(tmp_path: Path) -> None:
    journal = tmp_path / "j.db"
    _simulate(journal, sales=30, days=1)
    export = tmp_path / "j.jsonl"
    assert run_cli("journal", "export", str(journal), "-o", str(export)).returncode == 0
    header = json.loads(export.read_text("utf-8").split("\n")[0])
    assert header["format"] == "madoguchi-journal/1"
    pinned = run_cli("journal", "verify", str(export), "--public-key", header["public_key"])
    assert pinned.returncode == 0, pinned.stdout
    z = run_cli("report", "z", "--journal", str(journal), "--json")
    assert z.returncode == 0, z.stderr
    zbody = json.loads(z.stdout)
    for key in ("first_seq", "last_seq", "count", "refund_count", "void_count", "total",
                "by_tender", "by_tax_class", "tax_by_class", "grand_total", "cash_expected",
                "cash_counted"):
        assert key in zbody
    assert zbody["cash_counted"] == zbody["cash_expected"]
    assert sum(zbody["by_tender"].values()) == zbody["total"]
    x = run_cli("report", "x", "--journal", str(export), "--day", zbody["day"], "--json")
    assert x.returncode == 0, x.stderr
    assert json.loads(x.stdout)["total"] == zbody["total"]
    text = run_cli("report", "z", "--journal", str(journal))
    assert "￥" in text.stdout


def test_not_a_journal_is_exit_2(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.db"
    bogus.write_text("hello\n", "utf-8")
    result = run_cli("journal", "verify", str(bogus))
    assert result.returncode == 2
    assert "bogus.db" in result.stderr


def _copy_samples(tmp_path: Path) -> Path:
    copy = tmp_path / "samples"
    shutil.copytree(SAMPLES, copy, ignore=shutil.ignore_patterns("data"))
    return copy


def test_config_check(tmp_path: Path) -> None:
    ok = run_cli("config", "check", str(SAMPLES))
    assert ok.returncode == 0, ok.stderr
    copy = _copy_samples(tmp_path)
    bad = copy / "bad.toml"
    bad.write_text("bogus_key = 1\n" + (copy / "museum-01.toml").read_text("utf-8"), "utf-8")
    result = run_cli("config", "check", str(bad))
    assert result.returncode == 2
    assert "bogus_key" in result.stderr


def test_clerk_add_reads_pin_from_stdin(tmp_path: Path) -> None:
    config = _copy_samples(tmp_path) / "museum-01.toml"
    result = run_cli("clerk", "add", "--config", str(config), "--id", "c9", "--role",
                     "supervisor", stdin="4321\n")
    assert result.returncode == 0, result.stderr
    stored = list(tmp_path.rglob("clerks.*"))
    assert stored and "4321" not in stored[0].read_text("utf-8")
    assert "$argon2id$" in stored[0].read_text("utf-8")
    assert oct(stored[0].stat().st_mode & 0o777) == "0o600"
    assert run_cli("clerk", "add", "--config", str(config), "--id", "c8", "--role", "clerk",
                   stdin="12\n").returncode != 0
