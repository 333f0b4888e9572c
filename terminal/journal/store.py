"""The append-only, hash-chained, signed journal on SQLite."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Final

from terminal.day import business_day, format_at
from terminal.errors import JournalError, NotAJournal, WrongTerminal
from terminal.journal import schema
from terminal.journal.canonical import (
    ENVELOPE_KEYS,
    FORMAT,
    CanonicalError,
    canonical,
    canonical_parsed,
    genesis_prev,
    loads_strict,
)
from terminal.journal.files import fsync_dir
from terminal.journal.keys import TerminalKey, fingerprint_of

_PAGE: Final = 500


@dataclass(frozen=True, slots=True)
class Entry:
    seq: int
    id: str
    terminal: str
    kind: str
    at: str
    day: str
    body: dict[str, Any]
    prev: str
    hash: str
    sig: str

    def as_dict(self) -> dict[str, Any]:
        """The envelope: exactly the 10 keys of the format."""
        return {key: getattr(self, key) for key in ENVELOPE_KEYS}

    def line(self) -> str:
        """The canonical JSON text of the entry (what is stored and exported)."""
        return canonical(self.as_dict()).decode("utf-8")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Entry:
        if set(data) != set(ENVELOPE_KEYS):
            raise JournalError(
                f"entry keys {sorted(data)} are not the envelope {list(ENVELOPE_KEYS)}"
            )
        return cls(**{key: data[key] for key in ENVELOPE_KEYS})

    @classmethod
    def from_line(cls, line: str) -> Entry:
        data = loads_strict(line)
        if not isinstance(data, dict):
            raise JournalError(f"stored entry is not a JSON object: {line[:80]!r}")
        return cls.from_dict(data)


def _not_a_journal(path: Path, why: str) -> NotAJournal:
    return NotAJournal(
        f"{path} is not a madoguchi journal ({why}); check the path, or move the file away "
        "to let madoguchi create a new journal there"
    )


def _sniff_sqlite(path: Path) -> None:
    try:
        with path.open("rb") as f:
            head = f.read(len(schema.SQLITE_MAGIC))
    except OSError as exc:
        raise NotAJournal(f"cannot read {path}: {exc.strerror or exc}") from exc
    if not head:
        raise _not_a_journal(path, "the file is empty")
    if head != schema.SQLITE_MAGIC:
        raise _not_a_journal(path, "not an SQLite database")


def _connect(path: Path, *, readonly: bool) -> sqlite3.Connection:
    try:
        conn = sqlite3.connect(
            schema.uri(str(path), readonly=readonly),
            uri=True,
            isolation_level=None,
            check_same_thread=False,
        )
    except sqlite3.Error as exc:
        raise NotAJournal(f"cannot open {path} as SQLite: {exc}") from exc
    try:
        schema.apply_pragmas(conn, readonly=readonly)
    except sqlite3.Error as exc:
        conn.close()
        raise _not_a_journal(path, f"SQLite refused it: {exc}") from exc
    return conn


def _read_meta(conn: sqlite3.Connection, path: Path) -> dict[str, str]:
    try:
        rows = conn.execute("SELECT key, value FROM meta").fetchall()
    except sqlite3.Error as exc:
        raise _not_a_journal(path, f"no journal metadata: {exc}") from exc
    meta = {str(key): str(value) for key, value in rows}
    if meta.get("format") != FORMAT:
        raise _not_a_journal(path, f"format is {meta.get('format')!r}, expected {FORMAT!r}")
    for key in ("terminal", "public_key"):
        if key not in meta:
            raise _not_a_journal(path, f"metadata lacks {key!r}")
    return meta


def _create(path: Path, terminal: str, key: TerminalKey) -> None:
    """Build a new journal in a temporary file, then link it into place (never half-made)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".new", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        conn = _connect(tmp, readonly=False)
        try:
            meta = [("format", FORMAT), ("terminal", terminal), ("public_key", key.public_key_b64)]
            schema.create_schema(conn, meta)
        finally:
            conn.close()
        with contextlib.suppress(FileExistsError):  # lost a race: open the winner's journal
            os.link(tmp, path)
            fsync_dir(path.parent)
    finally:
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{tmp}{suffix}")


class Journal:
    """One terminal's journal. Thread-safe; ``append`` returns only after the commit."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        path: Path,
        meta: Mapping[str, str],
        key: TerminalKey | None,
        new_id: Callable[[], str],
    ) -> None:
        self._conn = conn
        self.path = path
        self.terminal = meta["terminal"]
        self.public_key_b64 = meta["public_key"]
        self._key = key
        self._new_id = new_id
        self._lock = threading.RLock()
        self._head: Entry | None = None
        self._head = self._load_head()

    @classmethod
    def open(
        cls,
        path: Path,
        terminal: str,
        key: TerminalKey,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> Journal:
        """Open the journal at ``path`` for appending, creating it if missing."""
        if not path.exists():
            _create(path, terminal, key)
        _sniff_sqlite(path)
        conn = _connect(path, readonly=False)
        try:
            meta = _read_meta(conn, path)
            if meta["terminal"] != terminal:
                raise WrongTerminal(
                    f"{path} is the journal of terminal {meta['terminal']!r}, not {terminal!r}; "
                    "check terminal_id in the kiosk config or the journal path"
                )
            if meta["public_key"] != key.public_key_b64:
                raise JournalError(
                    f"{path} was created with key {fingerprint_of(meta['public_key'])} but "
                    f"the key file {key.path} is {key.fingerprint}; restore the original key "
                    "file (never re-key a journal in place)"
                )
            return cls(conn, path, meta, key, new_id)
        except BaseException:
            conn.close()
            raise

    @classmethod
    def open_readonly(cls, path: Path) -> Journal:
        """Open for reading only (verify, export, reports): no key needed."""
        if not path.exists():
            raise NotAJournal(f"{path} does not exist; check the journal path")
        _sniff_sqlite(path)
        conn = _connect(path, readonly=True)
        try:
            meta = _read_meta(conn, path)
            return cls(conn, path, meta, None, lambda: "")
        except BaseException:
            conn.close()
            raise

    # -- reading ---------------------------------------------------------------------------

    def _load_head(self) -> Entry | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT line FROM entries ORDER BY seq DESC LIMIT 1"
            ).fetchone()
        return None if row is None else Entry.from_line(row[0])

    def head(self) -> Entry | None:
        with self._lock:
            return self._head

    @property
    def last_seq(self) -> int:
        head = self.head()
        return 0 if head is None else head.seq

    def count(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0])

    def lines(self, from_seq: int = 1, to_seq: int | None = None) -> Iterator[str]:
        """The stored lines (exact text) in seq order, streamed page by page."""
        last = (1 << 62) if to_seq is None else to_seq
        after = from_seq - 1
        while True:
            with self._lock:
                rows = self._conn.execute(
                    "SELECT seq, line FROM entries WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?",
                    (after, last, _PAGE),
                ).fetchall()
            for seq, line in rows:
                yield line
                after = seq
            if len(rows) < _PAGE:
                return

    def entries(self, from_seq: int = 1, to_seq: int | None = None) -> Iterator[Entry]:
        for line in self.lines(from_seq, to_seq):
            yield Entry.from_line(line)

    def entry(self, seq: int) -> Entry:
        with self._lock:
            row = self._conn.execute("SELECT line FROM entries WHERE seq = ?", (seq,)).fetchone()
        if row is None:
            raise JournalError(f"{self.path} has no entry seq {seq} (last is {self.last_seq})")
        return Entry.from_line(row[0])

    # -- writing ---------------------------------------------------------------------------

    def append(self, kind: str, body: Mapping[str, object], at: datetime) -> Entry:
        """Append one entry durably (hash, sign, commit) and return it."""
        return self.append_many([(kind, body, at)])[0]

    def append_many(
        self, items: Iterable[tuple[str, Mapping[str, object], datetime]]
    ) -> list[Entry]:
        """Append several entries in ONE transaction (all or none); return after the commit."""
        key = self._key
        if key is None:
            raise JournalError(f"{self.path} is open read-only; use Journal.open to append")
        todo = list(items)
        with self._lock:
            try:
                return self._write(key, todo)
            except sqlite3.IntegrityError:
                # The seq trigger refused: another connection appended since we cached the
                # head. Nothing was written; re-read the head and seal again, once.
                if schema.max_seq(self._conn) == self.last_seq:
                    raise JournalError(
                        f"{self.path} refused seq {self.last_seq + 1}: its triggers are not "
                        "the journal's; run 'madoguchi journal verify' on it"
                    ) from None
                self._head = self._load_head()
                return self._write(key, todo)

    def _write(
        self, key: TerminalKey, items: list[tuple[str, Mapping[str, object], datetime]]
    ) -> list[Entry]:
        head = self._head
        rows: list[tuple[int, str, str, str, str, str]] = []
        entries: list[Entry] = []
        for kind, body, at in items:
            entry, line = self._seal(head, key, kind, body, at)
            rows.append((entry.seq, entry.id, entry.kind, entry.day, entry.hash, line))
            entries.append(entry)
            head = entry
        if not rows:
            return []
        try:
            schema.write_entries(self._conn, rows)
        except sqlite3.IntegrityError:
            raise
        except sqlite3.Error as exc:
            raise JournalError(
                f"could not append seq {rows[0][0]} to {self.path}: {exc}; nothing was "
                "written — check disk space and permissions, then retry"
            ) from exc
        self._head = head
        return entries

    def _seal(
        self,
        head: Entry | None,
        key: TerminalKey,
        kind: str,
        body: Mapping[str, object],
        at: datetime,
    ) -> tuple[Entry, str]:
        if not isinstance(kind, str) or not kind:
            raise CanonicalError(f"entry kind {kind!r} must be a non-empty string")
        if not isinstance(body, Mapping):
            raise CanonicalError(f"body of a {kind!r} entry must be a mapping, not {body!r}")
        unsigned: dict[str, object] = {
            "seq": 1 if head is None else head.seq + 1,
            "id": self._new_id(),
            "terminal": self.terminal,
            "kind": kind,
            "at": format_at(at),
            "day": business_day(None, None, at)
            if head is None
            else business_day(head.kind, head.day, at),
            "body": dict(body),
            "prev": genesis_prev(self.terminal) if head is None else head.hash,
        }
        digest = hashlib.sha256(canonical(unsigned)).hexdigest()
        unsigned["hash"] = digest
        unsigned["sig"] = key.sign_hash(digest)
        line = canonical_parsed(unsigned).decode("utf-8")  # checked just above
        # our own canonical text: the plain parser gives independent copies of the body
        return Entry(**json.loads(line)), line

    # -- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Journal({self.path}, terminal={self.terminal!r}, last_seq={self.last_seq})"
