"""The journal's storage: schema, pragmas and the one write path.

Kept in one module, free of the sqlite3 module's specifics, so that the power-loss suite can
run exactly this schema, these pragmas and this write path on APSW (whose connections also
have ``execute``). Connections must be in autocommit mode (sqlite3 ``isolation_level=None``):
transactions are explicit.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any, Final, Protocol
from urllib.parse import quote

SQLITE_MAGIC: Final = b"SQLite format 3\x00"

PRAGMAS: Final[tuple[str, ...]] = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA busy_timeout=5000",
    "PRAGMA recursive_triggers=ON",
    # Move recovered WAL content into the database before the first write of this boot, so
    # the next commit restarts the WAL at offset 0 with new salts. Without it, the first
    # commit after a power cut can rewrite the torn tail sector of the last acknowledged
    # commit and, on a second cut, lose it (found by tests/crash/test_power_loss.py).
    "PRAGMA wal_checkpoint(PASSIVE)",
)
"""Run on every read-write connection (the URI also carries ``psow=0``)."""

READONLY_PRAGMAS: Final[tuple[str, ...]] = ("PRAGMA busy_timeout=5000",)

_REFUSE = "SELECT RAISE(ABORT, 'madoguchi journal is append-only: {what} refused')"

SCHEMA_SQL: Final = f"""
CREATE TABLE meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) STRICT;
CREATE TABLE entries (
    seq  INTEGER PRIMARY KEY NOT NULL,
    id   TEXT NOT NULL,
    kind TEXT NOT NULL,
    day  TEXT NOT NULL,
    hash TEXT NOT NULL,
    line TEXT NOT NULL
) STRICT;
CREATE TRIGGER entries_no_update BEFORE UPDATE ON entries
BEGIN {_REFUSE.format(what="UPDATE of an entry")}; END;
CREATE TRIGGER entries_no_delete BEFORE DELETE ON entries
BEGIN {_REFUSE.format(what="DELETE of an entry")}; END;
CREATE TRIGGER entries_next_seq BEFORE INSERT ON entries
WHEN NEW.seq IS NOT (SELECT COALESCE(MAX(seq), 0) + 1 FROM entries)
BEGIN {_REFUSE.format(what="INSERT that is not the next seq")}; END;
CREATE TRIGGER meta_no_update BEFORE UPDATE ON meta
BEGIN {_REFUSE.format(what="UPDATE of meta")}; END;
CREATE TRIGGER meta_no_delete BEFORE DELETE ON meta
BEGIN {_REFUSE.format(what="DELETE of meta")}; END;
CREATE TRIGGER meta_write_once BEFORE INSERT ON meta
WHEN EXISTS (SELECT 1 FROM meta WHERE key = NEW.key)
BEGIN {_REFUSE.format(what="rewrite of meta")}; END;
"""
"""Triggers refuse UPDATE, DELETE and any INSERT whose seq is not (max seq)+1: INSERT OR
REPLACE at a stored seq is refused before it can delete anything (seq is the only unique
key, so REPLACE has nothing else to delete). Meta is write-once. No secondary indexes: each
commit writes one table page (entries are found by seq; days are seq ranges)."""

INSERT_META_SQL: Final = "INSERT INTO meta(key, value) VALUES (?, ?)"
INSERT_ENTRY_SQL: Final = (
    "INSERT INTO entries(seq, id, kind, day, hash, line) VALUES (?, ?, ?, ?, ?, ?)"
)
MAX_SEQ_SQL: Final = "SELECT COALESCE(MAX(seq), 0) FROM entries"


class Executor(Protocol):
    """What the write path needs of a connection (sqlite3 and APSW both have it)."""

    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Any: ...


def uri(path: str, *, readonly: bool = False) -> str:
    """The SQLite URI for the journal at ``path`` (``psow=0``; ``mode=ro`` when read-only)."""
    query = "mode=ro&psow=0" if readonly else "psow=0"
    return f"file:{quote(path)}?{query}"


def apply_pragmas(conn: Executor, *, readonly: bool = False) -> None:
    for pragma in READONLY_PRAGMAS if readonly else PRAGMAS:
        conn.execute(pragma)


def create_schema(conn: Executor, meta: Sequence[tuple[str, str]]) -> None:
    """Create the tables, triggers and write-once meta rows in one transaction."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        for statement in SCHEMA_SQL.split(";\n"):
            if statement.strip():
                conn.execute(statement)
        for row in meta:
            conn.execute(INSERT_META_SQL, row)
        conn.execute("COMMIT")
    except BaseException:
        _rollback(conn)
        raise


def write_entries(conn: Executor, rows: Sequence[tuple[int, str, str, str, str, str]]) -> None:
    """Insert rows ``(seq, id, kind, day, hash, line)`` in ONE transaction and commit.

    Returns only after COMMIT returned: with WAL + synchronous=FULL the entries are durable.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        for row in rows:
            conn.execute(INSERT_ENTRY_SQL, row)
        conn.execute("COMMIT")
    except BaseException:
        _rollback(conn)
        raise


def _rollback(conn: Executor) -> None:
    """Roll back, keeping the original error if SQLite already ended the transaction."""
    with contextlib.suppress(Exception):
        conn.execute("ROLLBACK")


def max_seq(conn: Executor) -> int:
    row = conn.execute(MAX_SEQ_SQL).fetchone()
    return int(row[0])
