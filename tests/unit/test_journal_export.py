"""Exports: header line, exact stored lines, split on \\n only."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from terminal.day import TOKYO
from terminal.errors import NotAJournal
from terminal.journal import (
    Journal,
    TerminalKey,
    TruncatedExport,
    export_journal,
    read_export,
    verify_path,
)

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=TOKYO)
TERMINAL = "hachinohe-library-03"
BODY = {"name": "行\u2028区切り\u2029段落\x85NEL\r\n", "reason": "両替", "amount": 0}


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "journal.db"
    key = TerminalKey.load_or_create(tmp_path / "terminal.key")
    with Journal.open(path, TERMINAL, key) as journal:
        journal.append("cash.float", {"amount": 20000, "clerk": "c1", "reason": "釣銭"}, T0)
        journal.append("cash.out", BODY, T0 + timedelta(minutes=1))
        journal.append("closing.z", {"count": 0}, T0 + timedelta(minutes=2))
    return path


def test_round_trip_verifies(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "exports" / "journal.jsonl"
    assert export_journal(db, out) == 3
    report = verify_path(out, key_path=tmp_path / "terminal.key")
    assert report.ok and report.entries == 3 and report.key_pinned
    assert report.last_hash == verify_path(db).last_hash
    assert sorted(p.name for p in out.parent.iterdir()) == ["journal.jsonl"]


def test_export_holds_the_exact_stored_lines(db: Path) -> None:
    buffer = io.BytesIO()
    export_journal(db, buffer)
    data = buffer.getvalue()
    assert data.endswith(b"\n") and data.count(b"\n") == 4
    header, *lines, tail = data.split(b"\n")
    assert tail == b""
    with Journal.open_readonly(db) as journal:
        assert [line.decode() for line in lines] == list(journal.lines())
        expected = json.dumps(
            {
                "format": "madoguchi-journal/1",
                "terminal": TERMINAL,
                "public_key": journal.public_key_b64,
            }
        )
    assert header.decode() == expected


def test_u2028_survives_and_readers_split_on_newline_only(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "journal.jsonl"
    export_journal(db, out)
    text = out.read_text(encoding="utf-8")
    assert "\u2028" in text and len(text.splitlines()) > 4  # why splitlines() is wrong here
    header, lines = read_export(out)
    assert header["terminal"] == TERMINAL
    entries = [json.loads(line) for line in lines]
    assert [e["seq"] for e in entries] == [1, 2, 3]
    assert entries[1]["body"] == BODY


def test_progress(db: Path) -> None:
    seen: list[int] = []
    export_journal(db, io.BytesIO(), progress=seen.append)
    assert seen == [3]


def test_read_export_truncated_last_line(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "journal.jsonl"
    export_journal(db, out)
    out.write_bytes(out.read_bytes()[:-5])
    _, lines = read_export(out)
    with pytest.raises(TruncatedExport, match="line 4 has no newline"):
        list(lines)


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"", "empty"),
        (b'{"format": "madoguchi-journal/1"', "no newline"),
        (b"hello\n", "line 1"),
        (b'{"format": "madoguchi-journal/2", "terminal": "t", "public_key": "k"}\n', "format"),
        (b'{"format": "madoguchi-journal/1", "terminal": "t"}\n', "header object"),
        (b'{"format": "madoguchi-journal/1", "terminal": "", "public_key": "k"}\n', "non-empty"),
        (b"[1]\n", "header object"),
    ],
)
def test_read_export_bad_headers(tmp_path: Path, content: bytes, why: str) -> None:
    path = tmp_path / "x.jsonl"
    path.write_bytes(content)
    with pytest.raises(NotAJournal, match=why):
        read_export(path)


def test_export_of_a_missing_journal(tmp_path: Path) -> None:
    with pytest.raises(NotAJournal):
        export_journal(tmp_path / "missing.db", tmp_path / "out.jsonl")
    assert not (tmp_path / "out.jsonl").exists()
