"""The verifier agrees with every shared test vector and catches tampering of a database."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from madoguchi_testing import vectors_dir

from terminal.day import TOKYO
from terminal.errors import NotAJournal
from terminal.journal import Journal, TerminalKey, verify_entries, verify_path
from terminal.journal.canonical import canonical, entry_hash, loads_strict
from terminal.journal.keys import fingerprint_of

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=TOKYO)
TERMINAL = "hachinohe-museum-01"


VECTORS = vectors_dir()
PINNED = (VECTORS / "valid.public_key").read_text().strip()

# file -> (seq, reason) without a pinned key, and with it (None = verifies)
EXPECTED: dict[str, tuple[tuple[int | None, str] | None, tuple[int | None, str] | None]] = {
    "valid.jsonl": (None, None),
    "bad-body-edited-seq5.jsonl": ((5, "hash"), (5, "hash")),
    "bad-entry-deleted-seq7.jsonl": ((7, "seq"), (7, "seq")),
    "bad-entries-swapped-seq3-4.jsonl": ((3, "seq"), (3, "seq")),
    "bad-signature-seq9.jsonl": ((9, "signature"), (9, "signature")),
    "rekeyed-whole-journal.jsonl": (None, (None, "key")),
}


def test_every_vector_file_is_covered() -> None:
    assert sorted(p.name for p in VECTORS.glob("*.jsonl")) == sorted(EXPECTED)


@pytest.mark.parametrize("pinned", [False, True], ids=["header-key", "pinned-key"])
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_vector(name: str, pinned: bool) -> None:
    report = verify_path(VECTORS / name, PINNED if pinned else None)
    expected = EXPECTED[name][pinned]
    assert report.terminal == TERMINAL and report.key_pinned is pinned
    if expected is None:
        assert report.ok and report.finding is None and report.entries == 19, report
        assert report.last_hash == json.loads((VECTORS / name).read_text().splitlines()[-1])["hash"]
        assert ("not pinned" in report.describe()) is not pinned
    else:
        assert not report.ok and report.finding is not None
        assert (report.finding.seq, report.finding.reason) == expected, report.finding
        seq = expected[0]
        assert report.entries == (0 if seq is None else seq - 1)
    if name == "valid.jsonl":
        assert report.key_fingerprint == fingerprint_of(PINNED)


def test_deleted_entry_message() -> None:
    report = verify_path(VECTORS / "bad-entry-deleted-seq7.jsonl")
    assert report.finding is not None
    assert report.finding.message == "seq 8 found where 7 was expected"


def test_pinned_key_from_a_key_file(tmp_path: Path) -> None:
    key_file = tmp_path / "valid.public_key"
    key_file.write_text(PINNED + "\n")
    assert verify_path(VECTORS / "valid.jsonl", key_path=key_file).key_pinned
    report = verify_path(VECTORS / "rekeyed-whole-journal.jsonl", key_path=key_file)
    assert report.finding is not None and report.finding.reason == "key"
    missing = verify_path(VECTORS / "valid.jsonl", key_path=tmp_path / "none.key")
    assert missing.ok and not missing.key_pinned


def test_verify_entries_takes_dicts_and_lines_alike() -> None:
    lines = (VECTORS / "valid.jsonl").read_text(encoding="utf-8").split("\n")[1:-1]
    header = json.loads((VECTORS / "valid.jsonl").read_text().split("\n")[0])
    as_dicts = [loads_strict(line) for line in lines]
    for items in (lines, as_dicts, [line.encode() for line in lines]):
        report = verify_entries(items, TERMINAL, header["public_key"], None)  # type: ignore[arg-type]
        assert report.ok and report.entries == 19


def test_progress_is_reported() -> None:
    seen: list[int] = []
    verify_path(VECTORS / "valid.jsonl", progress=seen.append)
    assert seen[-1] == 19


# -- a database, tampered through a raw connection --------------------------------------


@pytest.fixture
def journal_db(tmp_path: Path) -> Iterator[tuple[Path, TerminalKey]]:
    key = TerminalKey.load_or_create(tmp_path / "terminal.key")
    db = tmp_path / "journal.db"
    with Journal.open(db, TERMINAL, key) as journal:
        for i in range(10):
            journal.append(
                "sale", {"receipt_no": f"r{i}", "total": 100 * i}, T0 + timedelta(minutes=i)
            )
    yield db, key


def tamper(db: Path, *statements: tuple[str, tuple[object, ...]]) -> None:
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        for trigger in (
            "entries_no_update",
            "entries_no_delete",
            "entries_next_seq",
            "meta_no_update",
        ):
            conn.execute(f"DROP TRIGGER {trigger}")
        for sql, params in statements:
            conn.execute(sql, params)
    finally:
        conn.close()


def line_of(db: Path, seq: int) -> dict[str, object]:
    with Journal.open_readonly(db) as journal:
        return journal.entry(seq).as_dict()


def store(entry: dict[str, object]) -> str:
    return canonical(entry).decode()


def finding(db: Path, key: TerminalKey, pinned: bool = True) -> tuple[int | None, str]:
    report = verify_path(db, key.public_key_b64 if pinned else None)
    assert not report.ok and report.finding is not None
    return report.finding.seq, report.finding.reason


def test_untouched_database_verifies(journal_db: tuple[Path, TerminalKey]) -> None:
    db, key = journal_db
    report = verify_path(db, key_path=key.path)
    assert report.ok and report.entries == 10 and report.key_pinned
    assert not verify_path(db).key_pinned


def test_edited_body(journal_db: tuple[Path, TerminalKey]) -> None:
    db, key = journal_db
    entry = line_of(db, 4)
    entry["body"] = {"receipt_no": "r3", "total": 1}
    tamper(db, ("UPDATE entries SET line = ? WHERE seq = 4", (store(entry),)))
    assert finding(db, key) == (4, "hash")


def test_deleted_entry(journal_db: tuple[Path, TerminalKey]) -> None:
    db, key = journal_db
    tamper(db, ("DELETE FROM entries WHERE seq = 6", ()))
    assert finding(db, key) == (6, "seq")


def test_swapped_entries(journal_db: tuple[Path, TerminalKey]) -> None:
    db, key = journal_db
    three, four = store(line_of(db, 3)), store(line_of(db, 4))
    tamper(
        db,
        ("UPDATE entries SET line = ? WHERE seq = 3", (four,)),
        ("UPDATE entries SET line = ? WHERE seq = 4", (three,)),
    )
    assert finding(db, key) == (3, "seq")


def test_inserted_entry(journal_db: tuple[Path, TerminalKey]) -> None:
    db, key = journal_db
    forger = TerminalKey.generate()
    fake = line_of(db, 5)
    fake.update(id="forged", body={"receipt_no": "x", "total": 0})
    fake["hash"] = entry_hash(fake)
    fake["sig"] = forger.sign_hash(str(fake["hash"]))
    shifts = [("UPDATE entries SET seq = seq + 1 WHERE seq = ?", (s,)) for s in range(10, 4, -1)]
    tamper(
        db,
        *shifts,
        ("INSERT INTO entries VALUES (5, 'forged', 'sale', 'd', 'h', ?)", (store(fake),)),
    )
    assert finding(db, key) == (5, "signature")
    assert finding(db, key, pinned=False) == (5, "signature")


def test_altered_signature(journal_db: tuple[Path, TerminalKey]) -> None:
    db, key = journal_db
    entry = line_of(db, 8)
    entry["sig"] = line_of(db, 7)["sig"]
    tamper(db, ("UPDATE entries SET line = ? WHERE seq = 8", (store(entry),)))
    assert finding(db, key) == (8, "signature")
    assert finding(db, key, pinned=False) == (8, "signature")


def test_resigned_with_another_key_fails_only_when_pinned(
    journal_db: tuple[Path, TerminalKey],
) -> None:
    db, key = journal_db
    forger = TerminalKey.generate()
    statements = [("UPDATE meta SET value = ? WHERE key = 'public_key'", (forger.public_key_b64,))]
    for seq in range(1, 11):
        entry = line_of(db, seq)
        entry["sig"] = forger.sign_hash(str(entry["hash"]))
        statements.append(("UPDATE entries SET line = ? WHERE seq = ?", (store(entry), seq)))
    tamper(db, *statements)
    assert finding(db, key) == (None, "key")
    assert verify_path(db, key_path=key.path).finding is not None
    unpinned = verify_path(db)
    assert unpinned.ok and not unpinned.key_pinned
    assert unpinned.key_fingerprint == forger.fingerprint


def test_not_journals(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    text = tmp_path / "text.txt"
    text.write_text("hello\n")
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE t (x)")
    conn.close()
    not_header = tmp_path / "not-header.jsonl"
    not_header.write_text('{"format": "something-else/1", "terminal": "t", "public_key": "k"}\n')
    cut_header = tmp_path / "cut.jsonl"
    cut_header.write_bytes((VECTORS / "valid.jsonl").read_bytes()[:60])
    for path in (empty, text, other, not_header, cut_header, tmp_path / "missing"):
        with pytest.raises(NotAJournal, match=str(path)):
            verify_path(path)


def test_truncated_export(tmp_path: Path) -> None:
    data = (VECTORS / "valid.jsonl").read_bytes()
    cut = tmp_path / "cut.jsonl"
    cut.write_bytes(data[: data.index(b'{"seq": 12') + 40])
    report = verify_path(cut, PINNED)
    assert report.finding is not None
    assert (report.finding.seq, report.finding.reason) == (12, "truncated")
    assert report.entries == 11
    assert "cut short" in report.describe()


def test_garbage_and_extra_keys_are_format_findings(tmp_path: Path) -> None:
    lines = (VECTORS / "valid.jsonl").read_text(encoding="utf-8").split("\n")
    for bad in (
        "not json",
        '{"seq": 3, "seq": 3}',
        json.dumps({**json.loads(lines[3]), "x": 1}),
        lines[3].replace('"seq": 3', '"seq": 3.0'),
        "",
    ):
        path = tmp_path / "bad.jsonl"
        path.write_text("\n".join([*lines[:3], bad, *lines[4:]]), encoding="utf-8")
        report = verify_path(path)
        assert report.finding is not None
        assert (report.finding.seq, report.finding.reason) == (3, "format"), bad


def test_invalid_utf8_in_an_export_is_a_finding(tmp_path: Path) -> None:
    data = (VECTORS / "valid.jsonl").read_bytes()
    path = tmp_path / "bad.jsonl"
    path.write_bytes(data.replace("一般入館料".encode(), b"\xff\xfe", 1))
    report = verify_path(path)
    assert report.finding is not None and report.finding.reason == "format"
    assert report.finding.seq == 3
