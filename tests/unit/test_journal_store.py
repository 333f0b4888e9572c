"""The SQLite journal: append, reopen, continuity, triggers, refusals."""

from __future__ import annotations

import base64
import hashlib
import itertools
import sqlite3
import stat
import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from terminal.day import TOKYO
from terminal.errors import JournalError, NotAJournal, WrongTerminal
from terminal.journal import CanonicalError, Entry, Journal, TerminalKey, verify_hash_sig
from terminal.journal.canonical import ENVELOPE_KEYS, canonical, entry_hash, genesis_prev
from terminal.journal.files import create_exclusive
from terminal.journal.keys import public_key_from_file

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=TOKYO)
TERMINAL = "hachinohe-museum-01"


@pytest.fixture
def key(tmp_path: Path) -> TerminalKey:
    return TerminalKey.load_or_create(tmp_path / "keys" / "terminal.key")


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "data" / "journal.db"


def fill(journal: Journal, n: int, start: int = 0) -> list[Entry]:
    return [
        journal.append("sale", {"receipt_no": f"r{i}", "total": i * 100}, T0 + timedelta(minutes=i))
        for i in range(start, start + n)
    ]


def raw(db: Path) -> sqlite3.Connection:
    return sqlite3.connect(db, isolation_level=None)


def test_append_builds_the_chain(db: Path, key: TerminalKey) -> None:
    with Journal.open(db, TERMINAL, key) as journal:
        assert journal.head() is None and journal.last_seq == 0
        first, second = fill(journal, 2)
    assert first.seq == 1 and first.prev == genesis_prev(TERMINAL)
    assert second.seq == 2 and second.prev == first.hash
    for entry in (first, second):
        assert entry.terminal == TERMINAL and entry.day == "2026-11-26"
        assert entry.hash == entry_hash(entry.as_dict())
        assert verify_hash_sig(key.public_key_b64, entry.hash, entry.sig)
        assert list(entry.as_dict()) == list(ENVELOPE_KEYS)
        assert entry.line() == canonical(entry.as_dict()).decode()
    assert first.at == "2026-11-26T09:00:00+09:00"


def test_reopen_continues_and_reads_back(db: Path, key: TerminalKey) -> None:
    with Journal.open(db, TERMINAL, key) as journal:
        written = fill(journal, 3)
    with Journal.open(db, TERMINAL, key) as journal:
        assert journal.head() == written[-1] and journal.count() == 3
        more = fill(journal, 2, start=3)
        assert more[0].prev == written[-1].hash and more[0].seq == 4
        assert list(journal.entries()) == written + more
        assert [e.seq for e in journal.entries(2, 4)] == [2, 3, 4]
        assert journal.entry(5) == more[-1]
        with pytest.raises(JournalError, match="no entry seq 9"):
            journal.entry(9)


def test_entries_stream_across_pages(db: Path, key: TerminalKey) -> None:
    with Journal.open(db, TERMINAL, key) as journal:
        journal.append_many(("cash.in", {"amount": i}, T0) for i in range(1234))
        assert [e.seq for e in journal.entries()] == list(range(1, 1235))
        assert sum(1 for _ in journal.entries(600)) == 635


def test_ids_come_from_new_id(db: Path, key: TerminalKey) -> None:
    ids = iter(["id-1", "id-2"])
    with Journal.open(db, TERMINAL, key, new_id=lambda: next(ids)) as journal:
        assert [e.id for e in fill(journal, 2)] == ["id-1", "id-2"]


def test_day_rolls_over_only_after_closing_z(db: Path, key: TerminalKey) -> None:
    next_morning = T0 + timedelta(days=1)
    with Journal.open(db, TERMINAL, key) as journal:
        journal.append("sale", {}, T0)
        assert journal.append("sale", {}, next_morning).day == "2026-11-26"
        journal.append("training.closing.z", {}, next_morning)
        assert journal.append("sale", {}, next_morning).day == "2026-11-26"
        assert journal.append("closing.z", {}, next_morning).day == "2026-11-26"
        assert journal.append("sale", {}, next_morning).day == "2026-11-27"


def test_bad_bodies_are_refused_and_nothing_is_written(db: Path, key: TerminalKey) -> None:
    with Journal.open(db, TERMINAL, key) as journal:
        with pytest.raises(CanonicalError, match=r"body\.amount"):
            journal.append("sale", {"amount": 1.5}, T0)
        with pytest.raises(CanonicalError, match="kind"):
            journal.append("", {}, T0)
        with pytest.raises(ValueError, match="naive"):
            journal.append("sale", {}, datetime(2026, 11, 26, 9, 0))
        assert journal.last_seq == 0
        assert fill(journal, 1)[0].seq == 1


def test_body_is_copied_not_shared(db: Path, key: TerminalKey) -> None:
    body: dict[str, object] = {"lines": ("a", "b")}
    with Journal.open(db, TERMINAL, key) as journal:
        entry = journal.append("sale", body, T0)
    assert entry.body == {"lines": ["a", "b"]}


def test_concurrent_appends_from_threads_stay_contiguous(db: Path, key: TerminalKey) -> None:
    with Journal.open(db, TERMINAL, key) as journal:
        threads = [threading.Thread(target=fill, args=(journal, 5)) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        entries = list(journal.entries())
    assert [e.seq for e in entries] == list(range(1, 21))
    assert all(b.prev == a.hash for a, b in itertools.pairwise(entries))


def test_a_second_connection_appending_is_picked_up(db: Path, key: TerminalKey) -> None:
    with Journal.open(db, TERMINAL, key) as one, Journal.open(db, TERMINAL, key) as two:
        fill(one, 2)
        third = fill(two, 1, start=2)[0]
        fourth = fill(one, 1, start=3)[0]
    assert third.seq == 3 and fourth.seq == 4 and fourth.prev == third.hash


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE entries SET line = 'x' WHERE seq = 1",
        "DELETE FROM entries WHERE seq = 2",
        "INSERT INTO entries VALUES (5, 'new', 'sale', '2026-11-26', 'h', '{}')",
        "INSERT INTO entries VALUES (1, 'new', 'sale', '2026-11-26', 'h', '{}')",
        "INSERT OR REPLACE INTO entries VALUES (2, 'new', 'sale', '2026-11-26', 'h', '{}')",
        "REPLACE INTO entries SELECT seq, id, kind, day, hash, line FROM entries WHERE seq = 1",
        "UPDATE meta SET value = 'other' WHERE key = 'terminal'",
        "DELETE FROM meta",
        "INSERT OR REPLACE INTO meta VALUES ('public_key', 'other')",
    ],
)
def test_triggers_refuse_tampering_through_sqlite(db: Path, key: TerminalKey, sql: str) -> None:
    with Journal.open(db, TERMINAL, key) as journal:
        before = [e.line() for e in fill(journal, 3)]
    conn = raw(db)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute(sql)
    finally:
        conn.close()
    with Journal.open(db, TERMINAL, key) as journal:
        assert list(journal.lines()) == before


def test_the_next_seq_insert_is_allowed_by_the_triggers(db: Path, key: TerminalKey) -> None:
    with Journal.open(db, TERMINAL, key) as journal:
        fill(journal, 1)
    conn = raw(db)
    try:
        conn.execute("INSERT INTO entries VALUES (2, 'id2', 'sale', '2026-11-26', 'h', '{}')")
    finally:
        conn.close()


def test_new_journal_and_key_files(tmp_path: Path, db: Path, key: TerminalKey) -> None:
    with Journal.open(db, TERMINAL, key):
        pass
    assert key.path is not None and stat.S_IMODE(key.path.stat().st_mode) == 0o600
    assert key.path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert TerminalKey.load_or_create(key.path).public_key_b64 == key.public_key_b64
    assert public_key_from_file(key.path) == key.public_key_b64
    assert sorted(p.name for p in db.parent.iterdir()) == ["journal.db"]
    assert sorted(p.name for p in key.path.parent.iterdir()) == ["terminal.key"]
    conn = raw(db)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    finally:
        conn.close()
    assert meta == {
        "format": "madoguchi-journal/1",
        "terminal": TERMINAL,
        "public_key": key.public_key_b64,
    }


def test_key_creation_never_overwrites(tmp_path: Path, key: TerminalKey) -> None:
    assert key.path is not None
    before = key.path.read_bytes()
    assert not create_exclusive(key.path, b"other")
    assert key.path.read_bytes() == before
    assert sorted(p.name for p in key.path.parent.iterdir()) == ["terminal.key"]


def test_key_fingerprint_and_raw_key_file(tmp_path: Path, key: TerminalKey) -> None:
    digest = hashlib.sha256(base64.b64decode(key.public_key_b64)).hexdigest()
    assert key.fingerprint == "SHA256:" + digest[:16]
    raw_file = tmp_path / "raw.key"
    raw_file.write_bytes(bytes(range(32)))
    assert TerminalKey.load(raw_file).sign_hash("00" * 32)
    bad = tmp_path / "bad.key"
    bad.write_text("not a key")
    with pytest.raises(JournalError, match="not an Ed25519 private key"):
        TerminalKey.load(bad)
    with pytest.raises(JournalError, match="cannot read"):
        TerminalKey.load(tmp_path / "missing.key")


def test_wrong_terminal_names_both(db: Path, key: TerminalKey) -> None:
    with Journal.open(db, TERMINAL, key):
        pass
    with pytest.raises(WrongTerminal, match=r"hachinohe-museum-01.*hachinohe-gym-02"):
        Journal.open(db, "hachinohe-gym-02", key)


def test_another_key_is_refused(db: Path, key: TerminalKey) -> None:
    with Journal.open(db, TERMINAL, key):
        pass
    other = TerminalKey.generate()
    with pytest.raises(JournalError, match=f"{key.fingerprint}.*{other.fingerprint}"):
        Journal.open(db, TERMINAL, other)


def _not_journals(tmp_path: Path) -> list[Path]:
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    text = tmp_path / "notes.txt"
    text.write_text("これはジャーナルではない\n")
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    wrong_format = tmp_path / "old.db"
    conn = sqlite3.connect(wrong_format)
    conn.execute("CREATE TABLE meta (key TEXT, value TEXT)")
    conn.execute("INSERT INTO meta VALUES ('format', 'madoguchi-journal/0')")
    conn.commit()
    conn.close()
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"SQLite format 3\x00" + b"\xff" * 200)
    return [empty, text, other, wrong_format, corrupt]


def test_not_a_journal(tmp_path: Path, key: TerminalKey) -> None:
    for path in _not_journals(tmp_path):
        size = path.stat().st_size
        with pytest.raises(NotAJournal, match=str(path)):
            Journal.open(path, TERMINAL, key)
        with pytest.raises(NotAJournal, match=str(path)):
            Journal.open_readonly(path)
        assert path.stat().st_size == size  # left untouched
    with pytest.raises(NotAJournal, match="does not exist"):
        Journal.open_readonly(tmp_path / "missing.db")


def test_readonly_reads_but_never_appends(db: Path, key: TerminalKey) -> None:
    with Journal.open(db, TERMINAL, key) as journal:
        written = fill(journal, 2)
        with Journal.open_readonly(db) as reader:
            assert reader.terminal == TERMINAL and reader.public_key_b64 == key.public_key_b64
            assert list(reader.entries()) == written
            with pytest.raises(JournalError, match="read-only"):
                reader.append("sale", {}, T0)


def test_paths_with_uri_characters(tmp_path: Path, key: TerminalKey) -> None:
    odd = tmp_path / "a b?c#d%20" / "journal.db"
    with Journal.open(odd, TERMINAL, key) as journal:
        fill(journal, 1)
    with Journal.open_readonly(odd) as reader:
        assert reader.count() == 1
