"""Ingest a batch of journal lines for one terminal (DESIGN.md "Sync").

In one transaction, with the terminal's head row locked (PostgreSQL ``FOR UPDATE``; SQLite
writers are serialised by ``BEGIN IMMEDIATE``): each line must be exactly canonical, of this
terminal; a seq at or below the ack must be the stored line (a duplicate) or the batch is a
FORK (409); seq ack+1 must link to the stored head and hash correctly (else 422 "chain");
a seq beyond ack+1 is a GAP: what came before is stored, nothing after. One signature check
per batch: the newest new entry's signature covers all earlier ones through the hash links;
their own signatures are listed in ``unchecked_signatures`` (one range row per batch) and
verified soon after, in the background (``sync.server.audit``: a "signature" alarm each).
The derived tables are not computed here: the (terminal, day) pairs the batch touched are
marked stale (``sync.server.derived``).
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, NamedTuple, cast

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.engine import Connection

from sync.server import derived
from sync.server.db import utcnow
from sync.server.errors import ApiError
from sync.server.models import Alarm, Head, StoredEntry, UncheckedSignatures
from sync.server.points import journal as points_journal
from sync.server.sql import insert_ignore
from terminal.journal.canonical import (
    ENVELOPE_KEYS,
    CanonicalError,
    check_canonical_line,
    genesis_prev,
    hash_of_canonical_line,
    loads_strict,
    parse_canonical_line,
)
from terminal.journal.keys import verify_hash_sig

_ENVELOPE: Final = frozenset(ENVELOPE_KEYS)
_STR_FIELDS: Final = ("id", "terminal", "kind", "at", "day", "prev", "hash", "sig")
_HEX64: Final = re.compile(r"[0-9a-f]{64}")
_DAY: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
RECEIPT_KINDS: Final = frozenset({"sale", "refund", "void"})
MAX_SEQ: Final = 2**31 - 1  # the INTEGER columns' range


@dataclass
class IngestResult:
    ack: int
    stored: int = 0
    duplicates: int = 0
    gap: dict[str, int] | None = None


@dataclass(eq=False)
class Refusal(Exception):
    """The whole batch is refused (nothing stored); ``alarm`` is recorded apart."""

    status: int
    error: str
    seq: int | None
    message: str
    alarm: dict[str, Any] | None = field(default=None)


class Parsed(NamedTuple):
    line: str
    value: dict[str, Any]
    seq: int


def _format(index: int, seq: int | None, why: str) -> Refusal:
    where = f"line {index + 1}" + (f" (seq {seq})" if seq is not None else "")
    return Refusal(422, "format", seq, f"{where}: {why}")


def parse_line(line: str, index: int) -> Parsed:
    """One uploaded line as an envelope dict, or Refusal "format"."""
    try:
        value = parse_canonical_line(line)
    except CanonicalError as exc:
        raise _format(index, None, f"not a strict journal JSON value: {exc}") from None
    if not isinstance(value, dict):
        raise _format(index, None, "not a JSON object")
    seq = value.get("seq")
    seq = seq if isinstance(seq, int) and not isinstance(seq, bool) else None
    if set(value) != _ENVELOPE:
        raise _format(index, seq, f"keys {sorted(value)} are not the envelope "
                                  f"{list(ENVELOPE_KEYS)}")
    if seq is None or not 1 <= seq <= MAX_SEQ:
        raise _format(index, None, f"seq {value.get('seq')!r} is not an int from 1 to {MAX_SEQ}")
    bad = [key for key in _STR_FIELDS if not isinstance(value[key], str)]
    if bad or not isinstance(value["body"], dict):
        raise _format(index, seq, f"wrong field types ({', '.join(bad) or 'body'})")
    if not _DAY.fullmatch(value["day"]) or not _HEX64.fullmatch(value["hash"]):
        raise _format(index, seq, "day is not YYYY-MM-DD or hash is not 64 hex digits")
    try:
        check_canonical_line(line, value)
    except CanonicalError as exc:
        raise _format(index, seq, f"not canonical: {exc}") from None
    return Parsed(line, value, seq)


def _try_parse(line: str, index: int) -> Parsed | Refusal:
    try:
        return parse_line(line, index)
    except Refusal as refusal:
        return refusal


def _lock_head(conn: Connection, terminal: str) -> tuple[int, str | None]:
    query = select(Head.ack, Head.head_hash).where(Head.terminal == terminal).with_for_update()
    row = conn.execute(query).one_or_none()
    if row is None:
        conn.execute(insert_ignore(conn, Head.__table__, ["terminal"])
                     .values(terminal=terminal, ack=0, head_hash=None))
        row = conn.execute(query).one()
    return int(row.ack), row.head_hash


def _stored_lines(conn: Connection, terminal: str, seqs: set[int]) -> dict[int, str]:
    if not seqs:
        return {}
    rows = conn.execute(select(StoredEntry.seq, StoredEntry.line).where(
        StoredEntry.terminal == terminal, StoredEntry.seq.in_(sorted(seqs))))
    return {int(seq): line for seq, line in rows}


def _fork(terminal: str, parsed: Parsed, stored: str, ack: int) -> Refusal:
    try:
        stored_hash = str(cast(dict[str, Any], loads_strict(stored)).get("hash"))
    except (CanonicalError, AttributeError):
        stored_hash = "(unreadable)"
    offered = str(parsed.value["hash"])
    same = " (same hash, different text)" if stored_hash == offered else ""
    message = (f"FORK at seq {parsed.seq} of {terminal}: the server stored hash "
               f"{stored_hash[:16]}… but this batch offers {offered[:16]}…{same}; nothing "
               "from this batch was stored; the terminal's journal diverged from what it "
               "uploaded before: stop and call the administrator")
    return Refusal(409, "fork", parsed.seq, message,
                   {"kind": "fork", "seq": parsed.seq, "stored_hash": stored_hash,
                    "offered_hash": offered, "message": message})


def _chain(terminal: str, parsed: Parsed, prev_hash: str) -> None:
    value = parsed.value
    if value["prev"] != prev_hash:
        why = (f"prev {value['prev'][:16]}… does not link to the stored head "
               f"{prev_hash[:16]}… of {terminal}")
    elif hash_of_canonical_line(parsed.line, value) != value["hash"]:
        why = "hash does not match the entry's content (edited after sealing?)"
    else:
        return
    message = f"seq {parsed.seq}: {why}; nothing from this batch was stored"
    raise Refusal(422, "chain", parsed.seq, message,
                  {"kind": "chain", "seq": parsed.seq, "stored_hash": prev_hash,
                   "offered_hash": value["hash"], "message": message})


def _check_signatures(public_key: str, new: Sequence[Parsed]) -> None:
    if not new or verify_hash_sig(public_key, new[-1].value["hash"], new[-1].value["sig"]):
        return
    bad = next((p for p in new if not verify_hash_sig(public_key, p.value["hash"],
                                                        p.value["sig"])), new[-1])
    message = (f"seq {bad.seq}: signature is not by the terminal's enrolled key; nothing from "
               "this batch was stored")
    raise Refusal(422, "signature", bad.seq, message,
                  {"kind": "signature", "seq": bad.seq, "stored_hash": None,
                   "offered_hash": bad.value["hash"], "message": message})


def _row(terminal: str, parsed: Parsed, now: datetime) -> dict[str, Any]:
    value, body = parsed.value, parsed.value["body"]
    kind = value["kind"]
    receipt = body.get("receipt_no") if kind in RECEIPT_KINDS else None
    original_seq = body.get("original_seq") if kind in ("refund", "void") else None
    original_terminal = body.get("original_terminal") if original_seq is not None else None
    return {
        "terminal": terminal, "seq": parsed.seq, "kind": kind[:100], "day": value["day"],
        "at": value["at"][:40], "hash": value["hash"], "line": parsed.line,
        "receipt_no": str(receipt)[:100] if isinstance(receipt, str | int) else None,
        "original_terminal": str(original_terminal)[:100] if original_terminal else None,
        "original_seq": original_seq if isinstance(original_seq, int)
        and 0 < original_seq <= MAX_SEQ else None,
        "received_at": now,
    }


@contextmanager
def _no_gc() -> Iterator[None]:
    """The cyclic garbage collector off while a batch is parsed: parsing allocates many
    containers but no cycles (refcounting frees them), and the collector's passes over the
    growing batch cost about a fifth of the parse. Re-enabled by whoever disabled it."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _walk(conn: Connection, terminal: str, lines: Sequence[str], ack: int,
          head_hash: str | None, result: IngestResult) -> list[Parsed]:
    """The new contiguous entries of the batch (checks every line up to a gap)."""
    with _no_gc():
        parsed = [_try_parse(line, i) for i, line in enumerate(lines)]
    stored = _stored_lines(conn, terminal, {
        p.seq for p in parsed if isinstance(p, Parsed) and p.seq <= ack})
    prev_hash = head_hash or genesis_prev(terminal)
    new: list[Parsed] = []
    batch: dict[int, str] = {}
    for index, item in enumerate(parsed):
        if isinstance(item, Refusal):
            raise item  # reached before any gap: the batch is refused
        if item.value["terminal"] != terminal:
            raise _format(index, item.seq, f"entry of terminal {item.value['terminal']!r} "
                          f"uploaded to {terminal!r}: a terminal can write only its own journal")
        if item.seq <= ack:
            known = stored.get(item.seq) or batch.get(item.seq, "")
            if known != item.line:
                raise _fork(terminal, item, known, result.ack)
            result.duplicates += 1
            continue
        if item.seq > ack + 1:
            result.gap = {"expected": ack + 1, "found": item.seq}
            break
        _chain(terminal, item, prev_hash)
        new.append(item)
        batch[item.seq] = item.line
        ack, prev_hash = item.seq, item.value["hash"]
    return new


def ingest(conn: Connection, terminal: str, public_key: str, lines: Sequence[str],
           now: datetime | None = None) -> IngestResult:
    """Store what ``lines`` add to ``terminal``'s journal; raise Refusal (roll back!)."""
    now = now or utcnow()
    ack, head_hash = _lock_head(conn, terminal)
    result = IngestResult(ack=ack)
    new = _walk(conn, terminal, lines, ack, head_hash, result)
    _check_signatures(public_key, new)
    if new:
        conn.execute(insert_ignore(conn, StoredEntry.__table__, ["terminal", "seq"]),
                     [_row(terminal, p, now) for p in new])
        result.ack, result.stored = new[-1].seq, len(new)
        conn.execute(update(Head).where(Head.terminal == terminal)
                     .values(ack=result.ack, head_hash=new[-1].value["hash"]))
        if len(new) > 1:  # the newest was verified above; the audit checks the rest
            conn.execute(insert(UncheckedSignatures).values(
                terminal=terminal, first_seq=new[0].seq, last_seq=new[-2].seq))
        points_journal.apply_entries(conn, terminal, [p.value for p in new])
        derived.mark_stale(conn, terminal, {p.value["day"] for p in new})
    if result.gap is not None:
        record_alarm(conn, terminal, {
            "kind": "gap", "seq": result.gap["found"], "stored_hash": None,
            "offered_hash": None,
            "message": f"gap: expected seq {result.gap['expected']}, found "
                       f"{result.gap['found']}; stored up to {result.ack}",
        }, now)
    return result


def record_alarm(conn: Connection, terminal: str, alarm: Mapping[str, Any],
                 now: datetime) -> None:
    conn.execute(insert(Alarm).values(terminal=terminal, at=now, **alarm))


def ingest_batch(engine: Engine, terminal: str, public_key: str,
                 lines: Sequence[str]) -> dict[str, Any]:
    """Run ``ingest`` in its own transaction; the response only after the commit. A refusal
    rolls everything back, then its alarm is recorded in a transaction of its own."""
    try:
        with engine.begin() as conn:
            result = ingest(conn, terminal, public_key, lines)
    except Refusal as refusal:
        with engine.begin() as conn:
            ack = _lock_head(conn, terminal)[0]
            if refusal.alarm is not None:
                record_alarm(conn, terminal, refusal.alarm, utcnow())
        raise ApiError(refusal.status, refusal.error, refusal.message,
                       seq=refusal.seq, ack=ack) from None
    return {"ack": result.ack, "stored": result.stored, "duplicates": result.duplicates,
            "gap": result.gap}
