"""Totals derived from journal entries: the Z closing body, X reports and their text form.

Entries are envelope dicts (``seq``, ``kind``, ``day``, ``terminal``, ``body``). Sales add,
refunds and voids subtract; ``training.*`` entries count in nothing. Dict keys appear in the
order they first occur in the journal, and a key present once stays (possibly at 0).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Final, cast

from terminal.errors import DomainError
from terminal.money import TAX_CLASSES, format_yen
from terminal.tenders import TENDER_LABELS

CLOSING_KIND: Final = "closing.z"
TRAINING_PREFIX: Final = "training."
_SIGN: Final[dict[str, int]] = {"sale": 1, "refund": -1, "void": -1}
_CASH_SIGN: Final[dict[str, int]] = {"cash.float": 1, "cash.in": 1, "cash.out": -1}

TAX_CLASS_LABELS: Final[dict[str, str]] = {
    "std10": "10%対象",
    "red8": "8%対象(軽減)",
    "exempt": "非課税",
    "outside": "不課税",
}

Entry = Mapping[str, object]


def _body(entry: Entry) -> Mapping[str, object]:
    body = entry.get("body")
    if not isinstance(body, Mapping):
        raise DomainError(f"journal entry seq {entry.get('seq')!r} has no body object")
    return cast(Mapping[str, object], body)


def _int(body: Mapping[str, object], key: str, seq: object) -> int:
    value = body.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise DomainError(f"journal entry seq {seq!r}: {key} must be an int, got {value!r}")
    return value


def _items(body: Mapping[str, object], key: str) -> list[Mapping[str, object]]:
    value = body.get(key, [])
    if not isinstance(value, list):
        raise DomainError(f"journal body field {key} must be a list, got {value!r}")
    return [cast(Mapping[str, object], item) for item in value]


def _add(totals: dict[str, int], key: object, amount: int) -> None:
    totals[str(key)] = totals.get(str(key), 0) + amount


def last_closing(entries: Iterable[Entry]) -> Entry | None:
    """The last ``closing.z`` entry, or None before the first closing."""
    found: Entry | None = None
    for entry in entries:
        if entry.get("kind") == CLOSING_KIND:
            found = entry
    return found


def open_period(entries: Iterable[Entry]) -> list[Entry]:
    """The entries after the last ``closing.z`` (all of them before the first closing)."""
    period: list[Entry] = []
    for entry in entries:
        if entry.get("kind") == CLOSING_KIND:
            period = []
        else:
            period.append(entry)
    return period


def _document(totals: dict[str, object], entry: Entry, sign: int) -> None:
    body, seq = _body(entry), entry.get("seq")
    by_tender = cast(dict[str, int], totals["by_tender"])
    by_tax_class = cast(dict[str, int], totals["by_tax_class"])
    tax_by_class = cast(dict[str, int], totals["tax_by_class"])
    by_item = cast(dict[str, dict[str, int]], totals["by_item"])
    totals["total"] = cast(int, totals["total"]) + sign * _int(body, "total", seq)
    for line in _items(body, "lines"):
        qty, amount = _int(line, "qty", seq), _int(line, "amount", seq)
        _add(by_tax_class, line.get("tax_class"), sign * amount)
        item = by_item.setdefault(str(line.get("code")), {"qty": 0, "amount": 0})
        item["qty"] += sign * qty
        item["amount"] += sign * amount
        totals["visits"] = cast(int, totals["visits"]) + sign * qty
    for tax in _items(body, "taxes"):
        _add(tax_by_class, tax.get("tax_class"), sign * _int(tax, "tax", seq))
    for tender in _items(body, "tenders"):
        amount = sign * _int(tender, "amount", seq)
        _add(by_tender, tender.get("kind"), amount)
        if tender.get("kind") == "cash":
            totals["cash_expected"] = cast(int, totals["cash_expected"]) + amount


def period_totals(entries: Iterable[Entry]) -> dict[str, object]:
    """The closing fields over ``entries`` (net: sales minus refunds and voids)."""
    totals: dict[str, object] = {
        "count": 0,
        "refund_count": 0,
        "void_count": 0,
        "total": 0,
        "by_tender": {},
        "by_tax_class": {},
        "tax_by_class": {},
        "cash_expected": 0,
        "by_item": {},
        "visits": 0,
    }
    counter = {"sale": "count", "refund": "refund_count", "void": "void_count"}
    for entry in entries:
        kind = str(entry.get("kind", ""))
        if kind in _SIGN:
            totals[counter[kind]] = cast(int, totals[counter[kind]]) + 1
            _document(totals, entry, _SIGN[kind])
        elif kind in _CASH_SIGN:
            amount = _int(_body(entry), "amount", entry.get("seq"))
            totals["cash_expected"] = cast(int, totals["cash_expected"]) + _CASH_SIGN[kind] * amount
    return totals


def _report(
    entries: Sequence[Entry], previous_grand_total: int, cash_counted: int | None
) -> dict[str, object]:
    totals = period_totals(entries)
    seqs = [cast(int, e.get("seq")) for e in entries]
    return {
        "first_seq": min(seqs) if seqs else None,
        "last_seq": max(seqs) if seqs else None,
        "count": totals["count"],
        "refund_count": totals["refund_count"],
        "void_count": totals["void_count"],
        "total": totals["total"],
        "by_tender": totals["by_tender"],
        "by_tax_class": totals["by_tax_class"],
        "tax_by_class": totals["tax_by_class"],
        "grand_total": previous_grand_total + cast(int, totals["total"]),
        "cash_expected": totals["cash_expected"],
        "cash_counted": cash_counted,
        "by_item": totals["by_item"],
        "visits": totals["visits"],
    }


def z_body(
    entries_since_last_z: Sequence[Entry], previous_grand_total: int, cash_counted: int | None
) -> dict[str, object]:
    """The ``closing.z`` body over every entry since the previous closing."""
    for entry in entries_since_last_z:
        if entry.get("kind") == CLOSING_KIND:
            raise DomainError(
                f"entries given to the Z closing include a closing at seq {entry.get('seq')}; "
                f"pass only the entries after the last closing"
            )
    if not entries_since_last_z:
        raise DomainError("nothing to close: no entry since the last Z closing")
    if cash_counted is not None and (
        isinstance(cash_counted, bool) or not isinstance(cash_counted, int) or cash_counted < 0
    ):
        raise DomainError(f"cash counted must be whole yen >= 0 or None, got {cash_counted!r}")
    return _report(entries_since_last_z, previous_grand_total, cash_counted)


def _grand_total_before(entries: Sequence[Entry], index: int) -> int:
    closing = last_closing(entries[:index])
    if closing is None:
        return 0
    return _int(_body(closing), "grand_total", closing.get("seq"))


def x_report(entries: Sequence[Entry], day: str | None = None) -> dict[str, object]:
    """A read-only report of the open period, or of business day ``day``."""
    if day is None:
        period = open_period(entries)
        start = len(entries) - len(period)
    else:
        indexes = [
            i
            for i, e in enumerate(entries)
            if e.get("day") == day and e.get("kind") != CLOSING_KIND
        ]
        period = [entries[i] for i in indexes]
        start = indexes[0] if indexes else len(entries)
    report = _report(period, _grand_total_before(entries, start), None)
    report_day = day if day is not None else (period[0].get("day") if period else None)
    return {"day": report_day, **report}


def _yen_map(lines: list[str], title: str, values: object, labels: Mapping[str, str]) -> None:
    mapping = cast(Mapping[str, int], values or {})
    if not mapping:
        return
    lines.append(title)
    # The labels' order (cash first, std10 first), then anything unexpected.
    order = [k for k in labels if k in mapping] + [k for k in mapping if k not in labels]
    for key in order:
        lines.append(f"  {labels.get(key, key)} ({key})  {format_yen(mapping[key])}")


def format_report(report: Mapping[str, object], title: str) -> str:
    """A plain-text rendering of a Z or X report (Japanese, English in parentheses)."""
    lines = [title]
    if report.get("day"):
        lines.append(f"営業日 (day)  {report['day']}")
    if report.get("first_seq") is not None:
        lines.append(f"範囲 (seq)  {report['first_seq']}-{report['last_seq']}")
    lines.append(f"売上件数 (sales)  {report.get('count', 0)}")
    lines.append(f"返金件数 (refunds)  {report.get('refund_count', 0)}")
    lines.append(f"取消件数 (voids)  {report.get('void_count', 0)}")
    lines.append(f"合計 (total)  {format_yen(cast(int, report.get('total', 0)))}")
    if "visits" in report:
        lines.append(f"利用者数 (visits)  {report['visits']}")
    tender_labels = cast(Mapping[str, str], TENDER_LABELS)
    _yen_map(lines, "支払方法別 (by tender)", report.get("by_tender"), tender_labels)
    class_labels: dict[str, str] = {c: TAX_CLASS_LABELS[c] for c in TAX_CLASSES}
    _yen_map(lines, "税区分別 (by tax class)", report.get("by_tax_class"), class_labels)
    _yen_map(lines, "内消費税 (tax)", report.get("tax_by_class"), class_labels)
    items = cast(Mapping[str, Mapping[str, int]], report.get("by_item") or {})
    if items:
        lines.append("品目別 (by item)")
        for code, item in items.items():
            lines.append(f"  {code}  x{item['qty']}  {format_yen(item['amount'])}")
    lines.append(f"累計 (grand total)  {format_yen(cast(int, report.get('grand_total', 0)))}")
    expected = cast(int, report.get("cash_expected", 0))
    lines.append(f"現金理論残高 (cash expected)  {format_yen(expected)}")
    counted = report.get("cash_counted")
    if isinstance(counted, int):
        lines.append(f"現金実査 (cash counted)  {format_yen(counted)}")
        lines.append(f"過不足 (difference)  {format_yen(counted - expected)}")
    return "\n".join(lines) + "\n"
