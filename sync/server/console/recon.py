"""Reconciliation: for each terminal-day, a three-way match of (a) the terminal's own Z
closing, (b) the totals the server derives from the stored journal and (c) the payment
terminal's end-of-day batch, plus counted against expected cash. Every disagreement becomes a
``Finding`` that says in words what differs and by how much (Japanese first, then English).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from sqlalchemy import ColumnElement, select
from sqlalchemy.engine import Connection

from sync.server import derived
from sync.server.console.models import Explanation
from sync.server.console.reports import int_field
from sync.server.console.web import yen
from sync.server.models import DayTotals, PaymentLog, Terminal, ZClosing
from terminal.reports import TAX_CLASS_LABELS
from terminal.tenders import TENDER_LABELS

PAYMENT_TERMINAL_TENDERS: Final = ("credit", "emoney", "transit_ic")
"""Tenders settled by the payment terminal (its daily batch covers them). QR codes go
through a gateway, cash and points through nobody: they are compared only when the batch
itself lists them."""
NOT_IN_BATCH: Final = ("cash", "points")
COUNT_FIELDS: Final = (("count", "販売件数", "sales count"),
                       ("refund_count", "返金件数", "refund count"),
                       ("void_count", "取消件数", "void count"))
YEN_FIELDS: Final = (("total", "純売上合計", "net total"),
                     ("cash_expected", "現金理論値", "expected cash"))
Status = Literal["ok", "discrepancy", "explained", "open"]
STATUS_LABELS: Final[dict[str, str]] = {
    "ok": "一致 (matched)", "discrepancy": "不一致 (discrepancy)",
    "explained": "説明済み (explained)", "open": "Z未実施 (no Z yet)"}


@dataclass(frozen=True)
class Finding:
    level: Literal["bad", "warn"]  # bad: a discrepancy; warn: something missing
    text: str


@dataclass
class TerminalDay:
    terminal: str
    facility: str
    day: str
    entries: int
    first_seq: int
    last_seq: int
    totals: dict[str, Any]  # derived from the journal (terminal.reports.period_totals)
    z: dict[str, Any] | None = None  # the last closing.z body of the day
    z_seq: int | None = None
    logs: list[dict[str, Any]] = field(default_factory=list)  # payment.daily_log rows
    explanations: list[dict[str, Any]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def status(self) -> Status:
        if any(f.level == "bad" for f in self.findings):
            return "explained" if self.explanations else "discrepancy"
        return "ok" if self.z is not None else "open"

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def log_totals(self) -> dict[str, Any]:
        return _sum_logs(self.logs)


# -- the comparisons (pure) ------------------------------------------------------------------

def _money(source: tuple[str, str], label: str, en: str, theirs: int, ours: int) -> Finding:
    gap = yen(abs(theirs - ours))
    return Finding("bad", f"{source[0]}の{label} {yen(theirs)} とジャーナル {yen(ours)} が "
                   f"{gap} 不一致 ({source[1]} {en} {yen(theirs)} vs journal {yen(ours)}: "
                   f"{gap} apart)")


def _tender_label(kind: str) -> tuple[str, str]:
    return f"{TENDER_LABELS.get(kind, kind)}計", f"{kind} total"  # type: ignore[call-overload]


def compare_z(z: Mapping[str, Any], totals: Mapping[str, Any]) -> list[Finding]:
    """The Z closing's fields against the journal-derived totals of the same day."""
    found: list[Finding] = []
    source = ("Z", "Z")
    for key, label, en in COUNT_FIELDS:
        theirs, ours = int_field(z.get(key)), int_field(totals.get(key))
        if theirs != ours:
            found.append(Finding("bad", f"Zの{label} {theirs}件 とジャーナル {ours}件 が "
                                 f"{abs(theirs - ours)}件 不一致 (Z {en} {theirs} vs "
                                 f"journal {ours})"))
    for key, label, en in YEN_FIELDS:
        theirs, ours = int_field(z.get(key)), int_field(totals.get(key))
        if theirs != ours:
            found.append(_money(source, label, en, theirs, ours))
    for name, labeller in (("by_tender", _tender_label), ("by_tax_class", _class_label),
                           ("tax_by_class", _tax_label)):
        mine, other = _mapping(totals.get(name)), _mapping(z.get(name))
        for key in sorted(set(mine) | set(other)):
            theirs, ours = int_field(other.get(key)), int_field(mine.get(key))
            if theirs != ours:
                found.append(_money(source, *labeller(key), theirs, ours))
    return found


def _class_label(tax_class: str) -> tuple[str, str]:
    return f"{TAX_CLASS_LABELS.get(tax_class, tax_class)}計", f"{tax_class} amount"


def _tax_label(tax_class: str) -> tuple[str, str]:
    return f"{TAX_CLASS_LABELS.get(tax_class, tax_class)}消費税", f"{tax_class} tax"


def _mapping(value: object) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


def _sum_logs(logs: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {"count": 0, "total": 0, "by_tender": {}}
    for log in logs:
        result["count"] += int_field(log.get("count"))
        result["total"] += int_field(log.get("total"))
        for kind, amount in _mapping(log.get("by_tender")).items():
            result["by_tender"][kind] = result["by_tender"].get(kind, 0) + int_field(amount)
    return result


def compare_batch(logs: Sequence[Mapping[str, Any]], totals: Mapping[str, Any]) -> list[Finding]:
    """The payment terminal's daily batch(es) against the journal's card, e-money and
    transit tenders (and any other tender the batch lists)."""
    journal = _mapping(totals.get("by_tender"))
    if not logs:
        paid = {k: journal[k] for k in PAYMENT_TERMINAL_TENDERS if int_field(journal.get(k))}
        if not paid:
            return []
        return [Finding("warn", "決済端末の日計 (payment.daily_log) がありません "
                        "(no end-of-day batch from the payment terminal; journal: "
                        + ", ".join(f"{k} {yen(v)}" for k, v in paid.items()) + ")")]
    batch = _sum_logs(logs)
    kinds = sorted((set(PAYMENT_TERMINAL_TENDERS) | set(batch["by_tender"]))
                   - set(NOT_IN_BATCH))
    source = ("決済端末日計", "payment terminal batch")
    found = [_money(source, *_tender_label(kind), int_field(batch["by_tender"].get(kind)),
                    int_field(journal.get(kind)))
             for kind in kinds
             if int_field(batch["by_tender"].get(kind)) != int_field(journal.get(kind))]
    ours = sum(int_field(journal.get(kind)) for kind in kinds)
    if batch["total"] != ours:
        found.append(_money(source, "合計", "total", batch["total"], ours))
    return found


def compare_cash(z: Mapping[str, Any]) -> list[Finding]:
    """Counted cash against expected cash, both as the Z recorded them."""
    counted, expected = z.get("cash_counted"), int_field(z.get("cash_expected"))
    if counted is None:
        return [Finding("warn", "現金が計数されていません (cash was not counted at the Z)")]
    gap = int_field(counted) - expected
    if gap == 0:
        return []
    word, en = ("過剰", "over") if gap > 0 else ("不足", "short")
    return [Finding("bad", f"現金 実査 {yen(int_field(counted))} と理論値 {yen(expected)} が "
                    f"{yen(abs(gap))} {word} (cash counted {yen(int_field(counted))} vs expected "
                    f"{yen(expected)}: {yen(abs(gap))} {en})")]


def compare_range(z: Mapping[str, Any], z_seq: int, first_seq: int) -> list[Finding]:
    """The Z must cover the day's entries from its first up to the one before itself."""
    z_first, z_last = z.get("first_seq"), z.get("last_seq")
    if z_first == first_seq and z_last == z_seq - 1:
        return []
    return [Finding("bad", f"Zの範囲 seq {z_first}–{z_last} とジャーナルの範囲 seq "
                    f"{first_seq}–{z_seq - 1} が不一致 (the Z covers seq {z_first}–{z_last}, "
                    f"the journal's day seq {first_seq}–{z_seq - 1})")]


def findings(day: TerminalDay) -> list[Finding]:
    """Every discrepancy (and missing piece) of one terminal-day."""
    if "error" in day.totals:
        return [Finding("bad", f"ジャーナルを集計できません (cannot total the journal): "
                        f"{day.totals['error']}")]
    found: list[Finding] = []
    if day.z is None or day.z_seq is None:
        found.append(Finding("warn", "Z締めがまだありません (no Z closing for this day yet)"))
    else:
        found += compare_range(day.z, day.z_seq, day.first_seq)
        found += compare_z(day.z, day.totals)
        found += compare_cash(day.z)
    found += compare_batch(day.logs, day.totals)
    return found


# -- loading ---------------------------------------------------------------------------------
def load(conn: Connection, scope: set[str] | None, *, day: str | None = None,
         month: str | None = None, terminal: str | None = None) -> list[TerminalDay]:
    """The terminal-days of ``day`` (YYYY-MM-DD) or ``month`` (YYYY-MM), in the facilities
    of ``scope`` (None = all), optionally of one ``terminal``, with their findings."""
    derived.refresh(conn, day)
    where: list[ColumnElement[bool]] = []
    if scope is not None:
        where.append(Terminal.facility.in_(sorted(scope)))
    if terminal is not None:
        where.append(Terminal.terminal == terminal)
    if day is not None:
        where.append(DayTotals.day == day)
    if month is not None:
        where.append(DayTotals.day.like(f"{month}-%"))
    rows = conn.execute(select(
        DayTotals.terminal, DayTotals.day, DayTotals.entries, DayTotals.first_seq,
        DayTotals.last_seq, DayTotals.totals, Terminal.facility).join(
        Terminal, Terminal.terminal == DayTotals.terminal).where(
        *where).order_by(
        DayTotals.day, Terminal.facility, DayTotals.terminal)).all()
    result = {(r.terminal, r.day): TerminalDay(
        r.terminal, r.facility, r.day, r.entries, r.first_seq, r.last_seq,
        json.loads(r.totals)) for r in rows}
    if result:
        _attach(conn, result)
    for terminal_day in result.values():
        terminal_day.findings = findings(terminal_day)
    return list(result.values())


def _attach(conn: Connection, days: dict[tuple[str, str], TerminalDay]) -> None:
    """The Zs, batches and explanations of ``days``."""
    terminals = sorted({t for t, _ in days})
    day_names = sorted({d for _, d in days})
    for row in conn.execute(select(ZClosing.terminal, ZClosing.day, ZClosing.seq,
                                   ZClosing.body).where(
            ZClosing.terminal.in_(terminals), ZClosing.day.in_(day_names))
            .order_by(ZClosing.seq)):
        if (row.terminal, row.day) in days:
            target = days[(row.terminal, row.day)]
            target.z, target.z_seq = json.loads(row.body), row.seq
    for log in conn.execute(select(
            PaymentLog.terminal, PaymentLog.day, PaymentLog.seq, PaymentLog.batch_no,
            PaymentLog.count, PaymentLog.total, PaymentLog.by_tender).where(
            PaymentLog.terminal.in_(terminals), PaymentLog.day.in_(day_names))
            .order_by(PaymentLog.seq)):
        if (log.terminal, log.day) in days:
            days[(log.terminal, log.day)].logs.append({
                "seq": log.seq, "batch_no": log.batch_no, "count": log.count,
                "total": log.total, "by_tender": json.loads(log.by_tender)})
    for note in conn.execute(select(
            Explanation.terminal, Explanation.day, Explanation.user, Explanation.comment,
            Explanation.at).where(
            Explanation.terminal.in_(terminals), Explanation.day.in_(day_names))
            .order_by(Explanation.at, Explanation.id)):
        if (note.terminal, note.day) in days:
            days[(note.terminal, note.day)].explanations.append({
                "user": note.user, "comment": note.comment, "at": note.at})


@dataclass
class FacilityDay:
    """One facility's terminal-days of one day, with their sum."""

    facility: str
    day: str
    terminals: list[TerminalDay]

    @property
    def totals(self) -> dict[str, Any]:
        return derived.sum_totals(t.totals for t in self.terminals if "error" not in t.totals)

    @property
    def discrepancies(self) -> int:
        return sum(1 for t in self.terminals if t.status == "discrepancy")

    @property
    def explained(self) -> int:
        return sum(1 for t in self.terminals if t.status == "explained")


def by_facility(days: Iterable[TerminalDay]) -> list[FacilityDay]:
    grouped: dict[tuple[str, str], list[TerminalDay]] = {}
    for day in days:
        grouped.setdefault((day.day, day.facility), []).append(day)
    return [FacilityDay(facility, day, terminals)
            for (day, facility), terminals in sorted(grouped.items())]
