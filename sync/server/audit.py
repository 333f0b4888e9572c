"""The background signature audit: every stored entry's own signature, verified soon after
ingest (DESIGN.md "Sync").

Ingest verifies one signature per batch, the newest entry's: it covers every earlier entry of
the batch through the hash links, so their content is authenticated, but their own ``sig``
fields are not checked there. Ingest lists those entries in ``unchecked_signatures`` (a seq
range per batch); ``audit_signatures`` verifies each one with the terminal's enrolled key
(strictly: the decoded signature is 64 bytes and re-encodes to exactly the stored text),
deletes the range, and records a "signature" alarm for each entry whose stored signature
fails, once (an alarm already recorded for that entry, seq and hash is not repeated).

Run by the per-process ``derived.Drainer`` (when uploads pause, or at the latest
``AUDIT_MAX_DELAY_SECONDS`` after the first one not yet audited) and by
``madoguchi server rebuild``, which checks every stored entry (``audit_all``). Concurrency:
ranges are claimed with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (several server processes
share the work, each range audited once); SQLite transactions open with ``BEGIN IMMEDIATE``
and run one at a time. ``audit_all`` locks the table (PostgreSQL ``EXCLUSIVE``) so no
background audit runs beside it. A range is deleted in the transaction that checked it, so
auditing twice is harmless.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Engine, delete, exists, insert, select, text, update
from sqlalchemy.engine import Connection

from sync.server.db import utcnow
from sync.server.models import Alarm, StoredEntry, Terminal, UncheckedSignatures
from sync.server.sql import is_postgres
from terminal.journal.keys import verify_hash_sig

AUDIT_ENTRIES: Final = 256  # signatures verified per transaction (about 20 ms of CPU)
REBUILD_CHUNK: Final = 1000  # entries read at a time by audit_all
SIG_BYTES: Final = 64


@dataclass
class AuditResult:
    """Signatures checked, alarms recorded (new ones), and whether nothing unclaimed is
    left (False when ``audit_signatures`` was stopped early)."""

    checked: int = 0
    alarms: int = 0
    complete: bool = True

    def add(self, other: AuditResult) -> None:
        self.checked += other.checked
        self.alarms += other.alarms


def signature_ok(public_key: str | None, hash_hex: object, sig: object) -> bool:
    """True if ``sig`` is strict base64 of 64 bytes (re-encoding to exactly ``sig``) and
    the Ed25519 signature by ``public_key`` of the 32 bytes of ``hash_hex``."""
    if public_key is None or not isinstance(sig, str) or not isinstance(hash_hex, str):
        return False
    try:
        raw = base64.b64decode(sig, validate=True)
    except (binascii.Error, ValueError):
        return False
    if len(raw) != SIG_BYTES or base64.b64encode(raw).decode("ascii") != sig:
        return False
    return verify_hash_sig(public_key, hash_hex, sig)


def _public_key(conn: Connection, terminal: str) -> str | None:
    return conn.execute(select(Terminal.public_key).where(
        Terminal.terminal == terminal)).scalar_one_or_none()


def _failure(line: str, public_key: str | None) -> tuple[str | None, str] | None:
    """None if the stored line's signature verifies, else (its hash, why)."""
    try:
        value = json.loads(line)
    except ValueError:
        return None, "the stored line is not readable JSON"
    if not isinstance(value, dict):
        return None, "the stored line is not a JSON object"
    hash_hex, sig = value.get("hash"), value.get("sig")
    stored_hash = hash_hex if isinstance(hash_hex, str) and len(hash_hex) == 64 else None
    if public_key is None:
        return stored_hash, "the terminal has no enrolled key"
    if signature_ok(public_key, hash_hex, sig):
        return None
    return stored_hash, "the stored signature is not by the terminal's enrolled key"


def _alarm_once(conn: Connection, terminal: str, seq: int, stored_hash: str | None,
                why: str, now: datetime) -> bool:
    """Record a "signature" alarm for this stored entry unless one is already recorded."""
    same = (Alarm.terminal == terminal, Alarm.kind == "signature", Alarm.seq == seq,
            Alarm.stored_hash.is_(None) if stored_hash is None
            else Alarm.stored_hash == stored_hash)
    if conn.execute(select(exists().where(*same))).scalar():
        return False
    message = (f"seq {seq} of {terminal}: {why} (signature audit of the stored entries). "
               "Its content is covered by the hash chain up to a newer entry whose signature "
               "verified, but this stored copy's own signature fails: the upload or the "
               "database was altered, or the terminal was re-enrolled with another key; "
               "call the administrator")
    conn.execute(insert(Alarm).values(
        terminal=terminal, kind="signature", seq=seq, stored_hash=stored_hash,
        offered_hash=None, message=message, at=now))
    return True


def _check(conn: Connection, terminal: str, public_key: str | None,
           rows: Iterable[Sequence[Any]], now: datetime) -> AuditResult:
    result = AuditResult()
    for seq, line in rows:
        result.checked += 1
        failure = _failure(line, public_key)
        if failure is not None and _alarm_once(conn, terminal, int(seq), *failure, now):
            result.alarms += 1
    return result


def audit_once(conn: Connection, limit: int = AUDIT_ENTRIES,
               now: datetime | None = None) -> tuple[AuditResult, bool]:
    """Audit up to ``limit`` listed entries in ``conn``'s transaction (ranges no other
    transaction holds); the result and whether the limit was reached (more may be left)."""
    now = now or utcnow()
    table = UncheckedSignatures
    query = select(table.terminal, table.first_seq, table.last_seq).order_by(
        table.terminal, table.first_seq).limit(limit)
    if is_postgres(conn):
        query = query.with_for_update(skip_locked=True)
    result = AuditResult()
    budget = limit
    keys: dict[str, str | None] = {}
    for terminal, first, last in conn.execute(query).all():
        if budget <= 0:
            break
        end = min(last, first + budget - 1)
        if terminal not in keys:
            keys[terminal] = _public_key(conn, terminal)
        rows = conn.execute(select(StoredEntry.seq, StoredEntry.line).where(
            StoredEntry.terminal == terminal, StoredEntry.seq >= first,
            StoredEntry.seq <= end).order_by(StoredEntry.seq)).all()
        result.add(_check(conn, terminal, keys[terminal], rows, now))
        budget -= end - first + 1
        where = (table.terminal == terminal, table.first_seq == first)
        if end >= last:
            conn.execute(delete(table).where(*where))
        else:
            conn.execute(update(table).where(*where).values(first_seq=end + 1))
    return result, budget <= 0


def audit_signatures(engine: Engine, limit: int = AUDIT_ENTRIES,
                     should_stop: Callable[[], bool] | None = None) -> AuditResult:
    """Audit every listed entry no other transaction holds, ``limit`` per transaction
    (``should_stop`` is asked between transactions); the totals."""
    total = AuditResult()
    while True:
        with engine.begin() as conn:
            result, more = audit_once(conn, limit)
        total.add(result)
        if not more:
            return total
        if should_stop is not None and should_stop():
            total.complete = False
            return total


def audit_all(conn: Connection, now: datetime | None = None) -> AuditResult:
    """Verify every stored entry's signature (``madoguchi server rebuild``) and clear the
    list; a "signature" alarm for each failure not already alarmed."""
    now = now or utcnow()
    if is_postgres(conn):
        conn.execute(text(f"LOCK TABLE {UncheckedSignatures.__tablename__} IN EXCLUSIVE MODE"))
    conn.execute(delete(UncheckedSignatures))
    result = AuditResult()
    terminals = conn.execute(select(StoredEntry.terminal).distinct()).scalars().all()
    for terminal in sorted(terminals):
        public_key = _public_key(conn, terminal)
        after = 0
        while True:
            rows = conn.execute(select(StoredEntry.seq, StoredEntry.line).where(
                StoredEntry.terminal == terminal, StoredEntry.seq > after).order_by(
                StoredEntry.seq).limit(REBUILD_CHUNK)).all()
            if not rows:
                break
            result.add(_check(conn, terminal, public_key, rows, now))
            after = int(rows[-1][0])
    return result
