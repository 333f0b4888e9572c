"""The receipt as a simplified qualified invoice (適格簡易請求書), and its plain-text form.

Built from a journal body (``sale``, ``refund``, ``void`` or their ``training.`` forms), so a
reprint shows exactly what was recorded.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final, cast

from terminal.catalogue import Catalogue
from terminal.errors import DomainError
from terminal.money import TAX_RATE_PERCENT, TaxClass, format_yen
from terminal.ports import ReceiptLine, TenderKind
from terminal.tenders import TENDER_LABELS

REDUCED_MARK: Final = "※"
REDUCED_LEGEND: Final = "※は軽減税率対象"
TRAINING_PREFIX: Final = "training."
KIND_MARKS: Final[dict[str, str]] = {"refund": "返金", "void": "取消"}
KIND_TITLES: Final[dict[str, str]] = {"refund": "返金伝票", "void": "取消伝票"}
RATE_LABELS: Final[dict[TaxClass, str]] = {
    "std10": "10%対象",
    "red8": "8%対象",
    "exempt": "非課税",
    "outside": "不課税",
}


@dataclass(frozen=True, slots=True)
class ReceiptHeader:
    facility_name: str
    title: str = "領収書"
    address: str = ""
    phone: str = ""
    footer: str = ""


@dataclass(frozen=True, slots=True)
class Issuer:
    name: str
    registration_no: str | None = None


@dataclass(frozen=True, slots=True)
class AwardNote:
    """はちのへポイント earned by the sale: the card shown at most masked (``mask_idm``, known
    only at tap time; ``****`` otherwise), never its IDm."""

    points: int
    online: bool
    card: str = "****"

    @property
    def lines(self) -> tuple[str, str]:
        later = "" if self.online else " (オフライン: 後日反映)"
        return f"はちのへポイント カード {self.card}", f"付与ポイント {self.points:,}{later}"


@dataclass(frozen=True, slots=True)
class ReceiptItem:
    name: str
    qty: int
    unit_price: int
    amount: int
    reduced: bool


@dataclass(frozen=True, slots=True)
class RateTotal:
    tax_class: TaxClass
    base: int
    tax: int

    @property
    def text(self) -> str:
        """``"10%対象 ￥1,200 (内消費税 ￥109)"``; exempt and outside show no tax."""
        label = RATE_LABELS[self.tax_class]
        if TAX_RATE_PERCENT[self.tax_class] == 0:
            return f"{label} {format_yen(self.base)}"
        return f"{label} {format_yen(self.base)} (内消費税 {format_yen(self.tax)})"


@dataclass(frozen=True, slots=True)
class ReceiptTender:
    kind: TenderKind
    amount: int
    given: int | None = None
    change: int | None = None
    brand: str = ""
    slip_no: str = ""

    @property
    def label(self) -> str:
        label = TENDER_LABELS.get(self.kind, self.kind)
        return f"{label}({self.brand})" if self.brand else label


@dataclass(frozen=True, slots=True)
class Receipt:
    header: ReceiptHeader
    kind: str  # sale, refund or void (without the training prefix)
    at: str
    date: str  # "2026年11月26日 09:03"
    terminal: str
    seq: int
    receipt_no: str
    clerk: str
    issuers: tuple[Issuer, ...]
    items: tuple[ReceiptItem, ...]
    total: int
    rates: tuple[RateTotal, ...]
    tenders: tuple[ReceiptTender, ...]
    change: int
    addressee: str = ""
    purpose: str = ""
    reprint: bool = False
    training: bool = False
    qr_url: str | None = None
    original_seq: int | None = None
    original_terminal: str | None = None  # a refund may be of another counter's sale
    points_award: AwardNote | None = None

    @property
    def title(self) -> str:
        """The header's title (領収書) on a sale; 返金伝票 / 取消伝票 otherwise."""
        return KIND_TITLES.get(self.kind, self.header.title)

    @property
    def has_reduced(self) -> bool:
        return any(item.reduced for item in self.items)

    @property
    def marks(self) -> tuple[str, ...]:
        """Marks shown in large type: 練習, 再発行, 返金 / 取消."""
        marks = []
        if self.training:
            marks.append("練習")
        if self.reprint:
            marks.append("再発行")
        if self.kind in KIND_MARKS:
            marks.append(KIND_MARKS[self.kind])
        return tuple(marks)


def _format_date(at: str) -> str:
    try:
        moment = datetime.fromisoformat(at)
    except ValueError as exc:
        raise DomainError(
            f"receipt time {at!r} is not RFC 3339 (e.g. 2026-11-26T09:03:00+09:00)"
        ) from exc
    return f"{moment.year}年{moment.month:02d}月{moment.day:02d}日 {moment:%H:%M}"


def _list(body: Mapping[str, object], key: str) -> list[Mapping[str, object]]:
    value = body.get(key)
    if not isinstance(value, list):
        raise DomainError(f"receipt body lacks the list {key!r}; is it a sale, refund or void?")
    return [cast(Mapping[str, object], item) for item in value]


def _issuers(
    lines: list[Mapping[str, object]], catalogue: Catalogue, fallback: str
) -> tuple[Issuer, ...]:
    issuers: dict[Issuer, None] = {}
    for line in lines:
        try:
            account = catalogue.account(str(line.get("account")))
        except DomainError:
            issuers[Issuer(fallback)] = None  # account gone from the config: no invoice number
            continue
        issuers[Issuer(account.issuer, account.registration_no)] = None
    return tuple(issuers)


def _tender(raw: Mapping[str, object]) -> ReceiptTender:
    return ReceiptTender(
        kind=cast(TenderKind, raw.get("kind")),
        amount=cast(int, raw.get("amount")),
        given=cast("int | None", raw.get("given")),
        change=cast("int | None", raw.get("change")),
        brand=str(raw.get("brand", "")),
        slip_no=str(raw.get("slip_no", "")),
    )


def _item(line: Mapping[str, object]) -> ReceiptItem:
    return ReceiptItem(
        name=str(line.get("name")),
        qty=cast(int, line.get("qty")),
        unit_price=cast(int, line.get("unit_price")),
        amount=cast(int, line.get("amount")),
        reduced=line.get("tax_class") == "red8",
    )


def build_receipt(
    body: Mapping[str, object],
    kind: str,
    at: str,
    terminal: str,
    seq: int,
    header: ReceiptHeader,
    catalogue: Catalogue,
    addressee: str = "",
    purpose: str = "",
    reprint: bool = False,
    training: bool = False,
    qr_url: str | None = None,
    points_award: AwardNote | None = None,
) -> Receipt:
    """The receipt of journal entry ``terminal#seq`` of ``kind`` with ``body``."""
    if kind.startswith(TRAINING_PREFIX):
        kind, training = kind[len(TRAINING_PREFIX) :], True
    if kind not in ("sale", "refund", "void"):
        raise DomainError(f"no receipt for a {kind!r} entry; only sale, refund and void")
    lines, tenders = _list(body, "lines"), _list(body, "tenders")
    items = tuple(_item(line) for line in lines)
    rates = tuple(
        RateTotal(
            cast(TaxClass, t.get("tax_class")), cast(int, t.get("base")), cast(int, t.get("tax"))
        )
        for t in _list(body, "taxes")
    )
    receipt_tenders = tuple(_tender(t) for t in tenders)
    original = body.get("original_seq")
    return Receipt(
        header=header,
        kind=kind,
        at=at,
        date=_format_date(at),
        terminal=terminal,
        seq=seq,
        receipt_no=str(body.get("receipt_no", "")),
        clerk=str(body.get("clerk", "")),
        issuers=_issuers(lines, catalogue, header.facility_name),
        items=items,
        total=cast(int, body.get("total")),
        rates=rates,
        tenders=receipt_tenders,
        change=sum(t.change or 0 for t in receipt_tenders if t.kind == "cash"),
        addressee=addressee,
        purpose=purpose,
        reprint=reprint,
        training=training,
        qr_url=qr_url,
        original_seq=original if isinstance(original, int) else None,
        original_terminal=_opt_str(body.get("original_terminal")),
        points_award=points_award if kind == "sale" else None,
    )


def _opt_str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


# --- plain text ------------------------------------------------------------------------------


def char_width(char: str) -> int:
    """Columns of one character: East Asian wide, fullwidth and ambiguous count 2 (cp932)."""
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F", "A") else 1


def text_width(text: str) -> int:
    return sum(char_width(c) for c in text)


def wrap(text: str, width: int) -> list[str]:
    """Split ``text`` into lines of at most ``width`` columns (an empty text gives one line)."""
    lines, current, used = [], "", 0
    for char in text:
        w = char_width(char)
        if used + w > width and current:
            lines.append(current)
            current, used = "", 0
        current += char
        used += w
    lines.append(current)
    return lines


def two_columns(left: str, right: str, width: int) -> list[str]:
    """``left`` and ``right`` on one line, right-aligned; ``left`` wraps when too long."""
    right_w = text_width(right)
    head = wrap(left, max(1, width - right_w - 1))
    last = head[-1]
    gap = width - text_width(last) - right_w
    if gap < 1:
        return [*head, " " * max(0, width - right_w) + right]
    return [*head[:-1], last + " " * gap + right]


def center(text: str, width: int) -> list[str]:
    return [" " * max(0, (width - text_width(part)) // 2) + part for part in wrap(text, width)]


def _head(receipt: Receipt, width: int) -> list[str]:
    out: list[str] = []
    for mark in receipt.marks:
        out += center(f"【{mark}】", width)
    out += center(receipt.title, width)
    if receipt.addressee:
        out += wrap(f"{receipt.addressee} 様", width)
    out += center(receipt.header.facility_name, width)
    for extra in (receipt.header.address, receipt.header.phone):
        if extra:
            out += center(extra, width)
    out.append(receipt.date)
    out += wrap(f"No. {receipt.receipt_no}", width)
    if receipt.original_seq is not None:
        origin = receipt.original_terminal or receipt.terminal
        out += wrap(f"元取引 {origin} #{receipt.original_seq}", width)
    out.append("-" * width)
    return out


def _body_lines(receipt: Receipt, width: int) -> list[str]:
    out: list[str] = []
    for item in receipt.items:
        name = f"{REDUCED_MARK}{item.name}" if item.reduced else item.name
        if item.qty == 1:
            out += two_columns(name, format_yen(item.amount), width)
        else:
            out += wrap(name, width)
            out += two_columns(
                f"  {format_yen(item.unit_price)} x {item.qty}", format_yen(item.amount), width
            )
    out.append("-" * width)
    out += two_columns("合計", format_yen(receipt.total), width)
    for rate in receipt.rates:
        out += wrap(rate.text, width)
    for tender in receipt.tenders:
        shown = (
            tender.given if tender.kind == "cash" and tender.given is not None else tender.amount
        )
        out += two_columns(tender.label, format_yen(shown), width)
    if any(t.kind == "cash" for t in receipt.tenders):
        out += two_columns("お釣り", format_yen(receipt.change), width)
    return out


def _tail(receipt: Receipt, width: int) -> list[str]:
    out: list[str] = []
    if receipt.has_reduced:
        out += wrap(REDUCED_LEGEND, width)
    if receipt.purpose:
        out += wrap(f"但し {receipt.purpose} として", width)
    if receipt.kind == "sale":
        out += wrap("上記正に領収いたしました", width)
    if receipt.points_award is not None:
        for text in receipt.points_award.lines:
            out += wrap(text, width)
    out.append("-" * width)
    for issuer in receipt.issuers:
        out += wrap(f"発行者 {issuer.name}", width)
        if issuer.registration_no:
            out += wrap(f"登録番号 {issuer.registration_no}", width)
    out += wrap(f"端末 {receipt.terminal} #{receipt.seq} 担当 {receipt.clerk}", width)
    if receipt.header.footer:
        out += wrap(receipt.header.footer, width)
    for mark in receipt.marks:
        out += center(f"【{mark}】", width)
    return out


def render_text(receipt: Receipt, width: int = 32) -> list[str]:
    """The receipt as plain text lines of at most ``width`` half-width columns."""
    if width < 16:
        raise DomainError(f"receipt width {width} is too narrow; use at least 16 columns")
    return _head(receipt, width) + _body_lines(receipt, width) + _tail(receipt, width)


def render_lines(receipt: Receipt, width: int = 32) -> list[ReceiptLine]:
    """:func:`render_text` as printer lines; marks and the title print double size.

    Double-size lines are stripped of their centring: the printer driver centres them.
    """
    emphasised = {f"【{m}】" for m in receipt.marks} | {receipt.title}
    return [
        ReceiptLine(t.strip(), double=True) if t.strip() in emphasised else ReceiptLine(t)
        for t in render_text(receipt, width)
    ]
