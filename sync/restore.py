"""Restoring a replaced counter's journal from the server's copy.

The server keeps the exact canonical lines it received. They are fetched from seq 1, checked
as one chain with the terminal's OWN key pinned (the server cannot forge an entry), and only
then written into a new journal built with the journal's own schema, pragmas and write path,
in a temporary file linked into place atomically (never a half-made journal, never over
another one).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final, Protocol

from kiosk_config.schema import KioskConfig
from sync.client import SyncError
from sync.protocol import MAX_BATCH_ENTRIES
from terminal.journal import schema
from terminal.journal.canonical import FORMAT, CanonicalError, canonical_parsed, loads_strict
from terminal.journal.files import fsync_dir
from terminal.journal.keys import TerminalKey
from terminal.journal.verify import verify_entries

_WRITE_CHUNK: Final = 5000

Row = tuple[int, str, str, str, str, str]


class RestoreRefused(SyncError):
    """The restore cannot go ahead (a journal exists, or the server's copy fails its checks)."""


class EntrySource(Protocol):
    def fetch_entries(self, from_seq: int, limit: int) -> tuple[list[str], int]: ...


def fetch_all(client: EntrySource, page: int = MAX_BATCH_ENTRIES,
              progress: Callable[[int, int], None] | None = None) -> list[str]:
    """Every line the server holds for the terminal, from seq 1, page by page."""
    lines: list[str] = []
    while True:
        batch, ack = client.fetch_entries(len(lines) + 1, page)
        lines.extend(batch)
        if progress is not None:
            progress(len(lines), ack)
        if not batch or len(lines) >= ack:
            return lines


def _rows(lines: Sequence[str]) -> list[Row]:
    """The journal rows of verified lines; each line must already be canonical text."""
    rows: list[Row] = []
    for line in lines:
        try:
            entry = loads_strict(line)
            exact = canonical_parsed(entry).decode("utf-8") == line
        except CanonicalError as exc:
            raise RestoreRefused(f"サーバーの行が不正です (a server line is not journal JSON): "
                                 f"{exc}") from exc
        if not exact or not isinstance(entry, dict):
            raise RestoreRefused(
                f"サーバーの seq {len(rows) + 1} が正準形ではありません (a server line is not "
                "canonical JSON text); 復元を中止しました (restore aborted)"
            )
        rows.append((entry["seq"], entry["id"], entry["kind"], entry["day"], entry["hash"], line))
    return rows


def import_lines(path: Path, terminal: str, key: TerminalKey, lines: Sequence[str]) -> None:
    """Build a journal at ``path`` (which must not exist) from verified canonical lines,
    with the journal's schema, pragmas and write path; atomically (temp file, then link)."""
    rows = _rows(lines)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".restore", dir=path.parent)
    os.close(fd)  # an empty file: SQLite makes it a new database
    try:
        conn = sqlite3.connect(schema.uri(tmp_name), uri=True, isolation_level=None)
        try:
            schema.apply_pragmas(conn)
            meta = [("format", FORMAT), ("terminal", terminal), ("public_key", key.public_key_b64)]
            schema.create_schema(conn, meta)
            for start in range(0, len(rows), _WRITE_CHUNK):
                schema.write_entries(conn, rows[start:start + _WRITE_CHUNK])
            if schema.max_seq(conn) != len(rows):
                raise RestoreRefused(
                    "復元したジャーナルの件数が合いません (restored count differs)")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
        try:
            os.link(tmp_name, path)  # like os.replace, atomic, but never over another file
        except FileExistsError as exc:
            raise RestoreRefused(
                f"{path} が復元中に作成されました (a journal appeared during the restore)"
            ) from exc
        fsync_dir(path.parent)
    finally:
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{tmp_name}{suffix}")


def restore_journal(client: EntrySource, config: KioskConfig, key: TerminalKey,
                    progress: Callable[[int, int], None] | None = None) -> int:
    """Rebuild ``config.journal_path`` from the server's copy; return the entry count."""
    path = config.journal_path
    if path.exists():
        raise RestoreRefused(
            f"{path} に既にジャーナルがあります (a journal already exists): 上書きしません。"
            "退避してから再実行してください (move it aside, then run restore again)"
        )
    lines = fetch_all(client, progress=progress)
    if not lines:
        raise RestoreRefused(
            f"サーバーに端末 {config.terminal_id} のエントリがありません "
            "(the server holds no entries for this terminal); nothing to restore"
        )
    report = verify_entries(lines, config.terminal_id, key.public_key_b64, key.public_key_b64)
    if not report.ok:
        raise RestoreRefused(
            "サーバーのコピーを検証できません (the server's copy fails verification with the "
            f"terminal's own key): {report.describe()}; 復元を中止しました (restore aborted)"
        )
    import_lines(path, config.terminal_id, key, lines)
    return len(lines)
