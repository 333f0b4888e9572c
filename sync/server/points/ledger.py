"""The points ledger: append-only rows, hash-chained and signed with the server key.

Each row's ``hash`` is SHA-256 of the canonical JSON (``terminal.journal.canonical``: sorted
keys, no spaces, UTF-8) of its fields and ``prev_hash`` (the previous row's hash; the first
row's is ``GENESIS``); ``signature`` is the server's Ed25519 signature of that hash (the key of
``sync.server.keys``, the one terminals pin). Rows are appended only under ``lock_head``
(``points_ledger_head``: one row, ``FOR UPDATE`` on PostgreSQL, SQLite writers serialised), so
the server-wide ``seq`` is gapless. ``verify`` walks the whole chain.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from sync.server.keys import KEY_ID, server_key
from sync.server.models import ServerKey
from sync.server.points.models import PointsLedgerHead, PointsLedgerRow
from terminal.journal.canonical import canonical
from terminal.journal.keys import TerminalKey, verify_hash_sig

GENESIS: Final = hashlib.sha256(b"madoguchi-points-ledger/1 genesis").hexdigest()
HEAD_ID: Final = 1
KINDS: Final = frozenset({"award", "clawback", "correction", "redeem", "redeem_cancel",
                          "refund_restore", "transfer_out", "transfer_in"})
HASHED_FIELDS: Final = ("seq", "card", "kind", "points", "terminal", "entry_seq",
                        "award_terminal", "award_seq", "ref", "reason", "actor", "at",
                        "dedupe", "prev_hash")


def now_text() -> str:
    """The server time as ledger rows carry it: UTC, microseconds, ``Z``."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True, slots=True)
class Row:
    """A row to append (``seq``, hashes and signature are filled in by ``append``)."""

    card: str
    kind: str
    points: int
    reason: str
    actor: str
    terminal: str | None = None
    entry_seq: int | None = None
    award_terminal: str | None = None
    award_seq: int | None = None
    ref: str | None = None
    dedupe: str | None = None


def row_hash(fields: Mapping[str, Any]) -> str:
    """The hash of a row: over its HASHED_FIELDS, canonical JSON."""
    return hashlib.sha256(canonical({name: fields[name] for name in HASHED_FIELDS})).hexdigest()


def lock_head(conn: Connection) -> tuple[int, str]:
    """Lock the ledger head (every points mutation starts here); (seq, hash)."""
    row = conn.execute(select(PointsLedgerHead.seq, PointsLedgerHead.hash)
                       .where(PointsLedgerHead.id == HEAD_ID).with_for_update()).one_or_none()
    if row is None:  # the migration creates it; a lost row would otherwise stop every write
        conn.execute(insert(PointsLedgerHead).values(id=HEAD_ID, seq=0, hash=GENESIS))
        return 0, GENESIS
    return int(row.seq), str(row.hash)


_KEYS: dict[str, TerminalKey] = {}  # private PEM -> the parsed key (parsed once per process)


def _signer(conn: Connection) -> TerminalKey:
    pem = conn.execute(select(ServerKey.private_pem).where(ServerKey.id == KEY_ID)).scalar()
    if pem is None:
        return server_key(conn)  # says what is missing and what to do
    key = _KEYS.get(pem)
    if key is None:
        key = _KEYS[pem] = TerminalKey.from_pem(pem.encode("ascii"))
    return key


def append(conn: Connection, rows: Sequence[Row]) -> list[int]:
    """Append ``rows`` in order (the caller holds ``lock_head`` in this transaction); their
    seqs. A row whose ``dedupe`` is already in the ledger is a bug of the caller: the unique
    constraint refuses it and the transaction rolls back."""
    if not rows:
        return []
    for row in rows:
        if row.kind not in KINDS:
            raise ValueError(f"unknown ledger row kind {row.kind!r}")
    seq, prev = lock_head(conn)
    key = _signer(conn)
    at = now_text()
    values: list[dict[str, Any]] = []
    for row in rows:
        seq += 1
        fields: dict[str, Any] = {
            "seq": seq, "card": row.card, "kind": row.kind, "points": int(row.points),
            "terminal": row.terminal, "entry_seq": row.entry_seq,
            "award_terminal": row.award_terminal, "award_seq": row.award_seq,
            "ref": row.ref, "reason": row.reason, "actor": row.actor, "at": at,
            "dedupe": row.dedupe, "prev_hash": prev,
        }
        digest = row_hash(fields)
        values.append({**fields, "hash": digest, "signature": key.sign_hash(digest)})
        prev = digest
    conn.execute(insert(PointsLedgerRow), values)
    conn.execute(update(PointsLedgerHead).where(PointsLedgerHead.id == HEAD_ID)
                 .values(seq=seq, hash=prev))
    return [int(v["seq"]) for v in values]


def has_dedupe(conn: Connection, keys: Sequence[str]) -> set[str]:
    """Which of ``keys`` the ledger already holds."""
    found: set[str] = set()
    for start in range(0, len(keys), 500):
        chunk = list(keys[start:start + 500])
        found.update(str(k) for k in conn.execute(select(PointsLedgerRow.dedupe).where(
            PointsLedgerRow.dedupe.in_(chunk))).scalars())
    return found


@dataclass
class Verification:
    """What ``verify`` found: rows checked, per kind counts and the problems (empty: good)."""

    rows: int = 0
    kinds: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(conn: Connection, public_key_b64: str | None = None,
           max_problems: int = 100) -> Verification:
    """Walk the ledger: seqs gapless from 1, each ``prev_hash`` the previous ``hash``, each
    hash over the row's fields, each signature by the server key, the head at the last row."""
    public = public_key_b64 or _signer(conn).public_key_b64
    result = Verification()
    expected_seq, prev = 1, GENESIS
    columns = [getattr(PointsLedgerRow, name) for name in (*HASHED_FIELDS, "hash", "signature")]
    for row in conn.execute(select(*columns).order_by(PointsLedgerRow.seq)).mappings():
        seq = int(row["seq"])
        result.rows += 1
        result.kinds[row["kind"]] = result.kinds.get(row["kind"], 0) + 1
        where = f"ledger row {seq}"
        if seq != expected_seq:
            result.problems.append(f"{where}: expected seq {expected_seq} (rows missing)")
        if row["prev_hash"] != prev:
            result.problems.append(f"{where}: prev_hash does not link to the row before")
        if row_hash(dict(row)) != row["hash"]:
            result.problems.append(f"{where}: hash does not match its content (edited?)")
        if not verify_hash_sig(public, row["hash"], row["signature"]):
            result.problems.append(f"{where}: signature is not by the server key")
        expected_seq, prev = seq + 1, row["hash"]
        if len(result.problems) >= max_problems:
            return result
    head = conn.execute(select(PointsLedgerHead.seq, PointsLedgerHead.hash)
                        .where(PointsLedgerHead.id == HEAD_ID)).one_or_none()
    if head is not None and (int(head.seq), head.hash) != (expected_seq - 1, prev):
        result.problems.append(f"ledger head (seq {head.seq}) is not the last row "
                               f"(seq {expected_seq - 1}): rows removed or head edited")
    return result
