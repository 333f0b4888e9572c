"""One terminal-day's stored entries (the drill-down table) and one entry as its paper
receipt, with the checks of its hash, chain link and signature."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.engine import Connection

from sync import protocol
from sync.server.audit import signature_ok
from sync.server.models import Alarm, StoredEntry, Terminal
from terminal.catalogue import Catalogue
from terminal.errors import DomainError, JournalError
from terminal.journal.canonical import genesis_prev, hash_of_canonical_line
from terminal.receipt import ReceiptHeader, build_receipt, render_text

DOCUMENT_KINDS: Final = ("sale", "refund", "void")
AMOUNT_FIELDS: Final = ("total", "amount")


@dataclass(frozen=True)
class EntryRow:
    seq: int
    at: str
    kind: str
    receipt_no: str | None
    amount: int | None
    tenders: str


def _amount(body: dict[str, Any]) -> int | None:
    for name in AMOUNT_FIELDS:
        value = body.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def _tenders(body: dict[str, Any]) -> str:
    tenders = body.get("tenders")
    if isinstance(tenders, list):
        return ", ".join(f"{t.get('kind')} {t.get('amount')}" for t in tenders
                         if isinstance(t, dict))
    by_tender = body.get("by_tender")
    if isinstance(by_tender, dict):
        return ", ".join(f"{kind} {amount}" for kind, amount in by_tender.items())
    return ""


def day_entries(conn: Connection, terminal: str, day: str) -> list[EntryRow]:
    rows = conn.execute(select(StoredEntry.seq, StoredEntry.at, StoredEntry.kind,
                               StoredEntry.receipt_no, StoredEntry.line).where(
        StoredEntry.terminal == terminal, StoredEntry.day == day).order_by(StoredEntry.seq))
    result = []
    for row in rows:
        body = json.loads(row.line).get("body", {})
        body = body if isinstance(body, dict) else {}
        result.append(EntryRow(row.seq, row.at, row.kind, row.receipt_no, _amount(body),
                               _tenders(body)))
    return result


@dataclass(frozen=True)
class EntryView:
    terminal: str
    facility: str
    seq: int
    day: str
    kind: str
    at: str
    hash: str
    entry: dict[str, Any]
    hash_ok: bool
    link_ok: bool | None  # None: the previous entry is not stored (a gap)
    signature_ok: bool
    alarms: list[str]
    receipt: list[str] | None  # the paper receipt's text lines (sale, refund, void)
    verify_path: str  # the public receipt page (the QR code's URL path)

    @property
    def verified(self) -> bool:
        return self.hash_ok and self.link_ok is True and self.signature_ok and not self.alarms


def _receipt(entry: dict[str, Any], facility: str, verify_path: str) -> list[str] | None:
    kind = str(entry.get("kind"))
    if kind.removeprefix("training.") not in DOCUMENT_KINDS:
        return None
    try:
        receipt = build_receipt(entry["body"], kind, str(entry["at"]), str(entry["terminal"]),
                                int(entry["seq"]), ReceiptHeader(facility), Catalogue((), ()),
                                qr_url=verify_path)
        return render_text(receipt)
    except (DomainError, KeyError, TypeError, ValueError) as exc:
        return [f"(レシートを組み立てられません / cannot build the receipt: {exc})"]


def load_entry(conn: Connection, terminal: str, seq: int) -> EntryView | None:
    row = conn.execute(select(StoredEntry.line, StoredEntry.day, StoredEntry.hash,
                              Terminal.facility, Terminal.public_key).join(
        Terminal, Terminal.terminal == StoredEntry.terminal).where(
        StoredEntry.terminal == terminal, StoredEntry.seq == seq)).one_or_none()
    if row is None:
        return None
    entry = json.loads(row.line)
    try:
        hash_ok = hash_of_canonical_line(row.line, entry) == entry.get("hash") == row.hash
    except (JournalError, ValueError):
        hash_ok = False
    previous = genesis_prev(terminal) if seq == 1 else conn.execute(
        select(StoredEntry.hash).where(StoredEntry.terminal == terminal,
                                       StoredEntry.seq == seq - 1)).scalar_one_or_none()
    alarms = conn.execute(select(Alarm.message).where(
        Alarm.terminal == terminal, Alarm.seq == seq).order_by(Alarm.id)).scalars().all()
    verify_path = protocol.receipt_page_path(terminal, seq, row.hash[:16])
    return EntryView(
        terminal=terminal, facility=row.facility, seq=seq, day=row.day,
        kind=str(entry.get("kind")), at=str(entry.get("at")), hash=row.hash, entry=entry,
        hash_ok=hash_ok, link_ok=None if previous is None else entry.get("prev") == previous,
        signature_ok=signature_ok(row.public_key, entry.get("hash"), entry.get("sig")),
        alarms=list(alarms), receipt=_receipt(entry, row.facility, verify_path),
        verify_path=verify_path)
