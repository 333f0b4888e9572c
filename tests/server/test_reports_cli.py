"""Derived tables, `madoguchi server report` / `rebuild`, and the other management commands
(run in-process through madoguchi.cli.main)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from server_harness import fill
from sqlalchemy import Engine, select

from madoguchi.cli import main
from sync import protocol
from sync.server.admin import check_admin
from sync.server.derived import derived_rows
from sync.server.models import PaymentLog, Terminal, ZClosing
from terminal.reports import period_totals

DAY = "2026-11-26"


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["server", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_report_equals_terminal_totals_and_rebuild(make_term: Any, engine: Engine,
                                                   database_url: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    one, two = make_term("museum-01"), make_term("museum-02")
    fill(one.journal, sales=5)
    fill(two.journal, sales=3)
    for term in (one, two):
        for start in range(0, len(term.lines()), 4):  # several batches: recompute per batch
            assert term.upload(term.lines()[start:start + 4]).status_code == 200
    code, out, _ = _cli(capsys, "report", "--database", database_url, "--day", DAY, "--json")
    assert code == 0
    report = json.loads(out)
    for term in (one, two):
        entries = [e.as_dict() for e in term.journal.entries() if e.day == DAY]
        assert report["terminals"][term.terminal] == period_totals(entries)
    assert report["all"]["count"] == 5 + 3
    code, text, _ = _cli(capsys, "report", "--database", database_url, "--day", DAY)
    assert code == 0 and "全端末" in text and "museum-02" in text
    with engine.connect() as conn:
        before = derived_rows(conn)
        assert len(conn.execute(select(ZClosing.seq)).all()) == 2
        assert conn.execute(select(PaymentLog.batch_no)).scalars().all() == ["7", "7"]
    code, out, _ = _cli(capsys, "rebuild", "--database", database_url)
    assert code == 0 and "day_totals 4" in out and "z_closings 2" in out
    with engine.connect() as conn:
        assert derived_rows(conn) == before


def test_management_commands(server: str, database_url: str, engine: Engine, tmp_path: Path,
                             capsys: pytest.CaptureFixture[str],
                             monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = _cli(capsys, "init", "--database", database_url)
    assert code == 0 and "server key kept" in out
    monkeypatch.setattr("sys.stdin", io.StringIO("correct horse battery\n"))
    assert _cli(capsys, "create-admin", "--database", database_url, "--user", "root")[0] == 0
    assert check_admin(engine, "root", "correct horse battery")
    assert not check_admin(engine, "root", "wrong")
    code, out, err = _cli(capsys, "enroll-code", "--database", database_url,
                          "--facility", "f", "--terminal", "t-9", "--expires-hours", "1")
    assert code == 0 and len(out.strip()) == 19 and "single use" in err
    config = tmp_path / "museum.toml"
    config.write_text("[tax]\nrate = 10\n", "utf-8")
    code, out, _ = _cli(capsys, "publish-config", "--database", database_url,
                        "--facility", "f", "--file", str(config))
    assert code == 0 and "version 1" in out
    code, _, err = _cli(capsys, "revoke", "--database", database_url, "--terminal", "nope")
    assert code == 2 and "no enrolled terminal" in err
    with engine.connect() as conn:
        assert conn.execute(select(Terminal.terminal)).all() == []
    code, _, err = _cli(capsys, "report", "--database", database_url, "--day", "26-11-2026")
    assert code == 2


def test_run_refuses_an_uninitialised_database(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    code, _, err = _cli(capsys, "run", "--database", url, "--port", "1")
    assert code == 2 and "madoguchi server init" in err
    assert main(["server", "--database", url, "--port", "1"]) == 2  # bare 'server' = run
    assert protocol.API in protocol.head_path("x")
