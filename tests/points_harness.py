"""Helpers for the points server tests: card tokens, terminals whose real journals hold the
points entries of docs/points.md, and ingest through the real ingest path."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from server_harness import START
from sqlalchemy import Engine

from sync.server.ingest import IngestResult, ingest
from terminal.journal import Entry, Journal, TerminalKey
from terminal.points import card_token

POINTS_KEY = b"test points key"


def card(n: int) -> str:
    """A card token (the keyed hash of a made-up IDm)."""
    return card_token(POINTS_KEY, hashlib.sha256(f"idm-{n}".encode()).digest()[:8])


@dataclass
class PointsTerm:
    """A terminal journal with helpers that write the points entries."""

    terminal: str
    key: TerminalKey
    journal: Journal
    facility: str = "hachinohe-museum"
    clock: datetime = START
    receipts: int = 0
    sent: int = field(default=0)

    @classmethod
    def open(cls, directory: Path, terminal: str, facility: str = "hachinohe-museum",
             start: datetime = START) -> PointsTerm:
        key = TerminalKey.generate()
        return cls(terminal, key, Journal.open(directory / f"{terminal}.db", terminal, key),
                   facility, start)

    def _at(self, at: datetime | None) -> datetime:
        if at is None:
            self.clock += timedelta(minutes=1)
            return self.clock
        return at

    def append(self, kind: str, body: dict[str, Any], at: datetime | None = None) -> Entry:
        return self.journal.append(kind, body, self._at(at))

    def award(self, card_id: str, points: int = 200, at: datetime | None = None,
              training: bool = False) -> Entry:
        self.receipts += 1
        return self.append(("training." if training else "") + "points.award", {
            "card": card_id, "sale_seq": self.journal.last_seq, "points": points,
            "receipt_no": f"{self.terminal}-{self.receipts}", "facility": self.facility,
            "online": True}, at)

    def clawback(self, award: Entry, at: datetime | None = None,
                 award_terminal: str | None = None) -> Entry:
        body: dict[str, Any] = {
            "card": award.body["card"], "sale_seq": award.body["sale_seq"],
            "award_seq": award.seq, "points": award.body["points"], "reason": "refund",
            "by_seq": self.journal.last_seq}
        if award_terminal is not None:
            body["award_terminal"] = award_terminal
        return self.append("points.clawback", body, at)

    def payment(self, operation: str, points: int, ref: str, card_id: str | None = None,
                original_ref: str | None = None, approved: bool = True) -> Entry:
        """A points payment.pending and its payment.result (the terminal's shape)."""
        pending: dict[str, Any] = {"operation": operation, "kind": "points",
                                   "amount": points, "ref": ref, "open_seq": 0}
        if operation != "void":
            pending.update(points=points, card=card_id)
        if original_ref is not None:
            pending["original_ref"] = original_ref
        entry = self.append("payment.pending", pending)
        return self.append("payment.result", {
            "pending_seq": entry.seq, "approved": approved, "amount": points,
            "kind": "points", "ref": ref, "approval_code": "", "slip_no": "", "brand": "",
            "message": "ok" if approved else "declined"})

    def lines(self) -> list[str]:
        return list(self.journal.lines())

    def close(self) -> None:
        self.journal.close()


def ingest_lines(engine: Engine, term: PointsTerm, lines: Sequence[str]) -> IngestResult:
    with engine.begin() as conn:
        return ingest(conn, term.terminal, term.key.public_key_b64, lines)


def sync_new(engine: Engine, term: PointsTerm) -> IngestResult:
    """Upload what the terminal wrote since its last sync."""
    lines = term.lines()
    result = ingest_lines(engine, term, lines[term.sent:])
    term.sent = result.ack
    return result
