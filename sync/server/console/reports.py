"""Console reports: pure queries over the stored journal (issue 7).

Every function takes a SQLAlchemy ``Connection`` (inside a transaction: the day totals'
stale pairs are recomputed first, ``derived.refresh``) and ``facilities``: the caller's scope
(``None`` = every facility, a set = only those; an empty set sees nothing). Facilities come
from the ``terminals`` table (the facility a terminal was enrolled for).

Two sources, both derived from the journal only:
- the entry lines themselves (``documents``) where the day totals lack the detail: the
  accounting code (歳入科目) and account of each sale line, and the survey ratings;
- ``day_totals`` (terminal.reports.period_totals per terminal-day, as the reconciliation
  pages use) for visits, revenue per day and the tender mix.
Sales add; refunds and voids subtract (their bodies hold positive amounts); ``training.*``
kinds never count (only the exact kinds are selected, as in the derived tables).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Final, Literal, TypeVarTuple, cast

from sqlalchemy import Select, select
from sqlalchemy.engine import Connection

from sync.server import derived
from sync.server.models import DayTotals, StoredEntry, Terminal

Scope = set[str] | None
Grouping = Literal["day", "month", "fiscal_year"]
GROUPINGS: Final[tuple[Grouping, ...]] = ("day", "month", "fiscal_year")
DOCUMENT_KINDS: Final = ("sale", "refund", "void")
SIGN: Final[dict[str, int]] = {"sale": 1, "refund": -1, "void": -1}
RATING_KIND: Final = "survey.rating"
TRANSIT_IC: Final = "transit_ic"
Ts = TypeVarTuple("Ts")
NO_CODE: Final = ""  # a line recorded without an accounting code (older configs)
_STREAM_ROWS: Final = 2000


@dataclass(frozen=True, slots=True)
class Period:
    """Business days ``first`` to ``last`` (YYYY-MM-DD, both included)."""

    first: str
    last: str

    def __post_init__(self) -> None:
        for value in (self.first, self.last):
            date.fromisoformat(value)  # ValueError names the bad text
        if self.first > self.last:
            raise ValueError(f"期間の開始 {self.first} が終了 {self.last} より後です "
                             f"(period start after its end)")

    @classmethod
    def day(cls, day: str) -> Period:
        return cls(day, day)

    @classmethod
    def month(cls, month: str) -> Period:
        """``YYYY-MM``: its first to last day."""
        first = date.fromisoformat(f"{month}-01")
        following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
        return cls(first.isoformat(), (following - timedelta(days=1)).isoformat())

    @classmethod
    def fiscal_year(cls, year: int) -> Period:
        """Japanese fiscal year (年度) ``year``: April 1 to March 31 of the next year."""
        return cls(f"{year:04d}-04-01", f"{year + 1:04d}-03-31")


def fiscal_year_of(day: str) -> int:
    """The fiscal year (年度) a business day belongs to (January-March: the year before)."""
    year, month = int(day[:4]), int(day[5:7])
    return year if month >= 4 else year - 1


def period_key(day: str, grouping: Grouping) -> str:
    """The row label of ``day``: the day, ``YYYY-MM`` or ``YYYY年度``."""
    if grouping == "day":
        return day
    if grouping == "month":
        return day[:7]
    return f"{fiscal_year_of(day)}年度"


def in_scope(query: Select[*Ts], facilities: Scope) -> Select[*Ts]:
    """``query`` (which selects from ``terminals``) limited to the caller's facilities."""
    if facilities is None:
        return query
    return query.where(Terminal.facility.in_(sorted(facilities)))


@dataclass(frozen=True, slots=True)
class Document:
    """One stored sale, refund or void (``sign`` +1 or -1) and its parsed body."""

    facility: str
    terminal: str
    seq: int
    kind: str
    day: str
    at: str
    receipt_no: str | None
    body: Mapping[str, Any]

    @property
    def sign(self) -> int:
        return SIGN[self.kind]


def documents(conn: Connection, facilities: Scope, period: Period, *,
              facility: str | None = None, terminal: str | None = None,
              kinds: tuple[str, ...] = DOCUMENT_KINDS) -> Iterator[Document]:
    """The stored entries of ``kinds`` in ``period``, by day, terminal and seq (streamed)."""
    query = (select(Terminal.facility, StoredEntry.terminal, StoredEntry.seq, StoredEntry.kind,
                    StoredEntry.day, StoredEntry.at, StoredEntry.receipt_no, StoredEntry.line)
             .join(Terminal, Terminal.terminal == StoredEntry.terminal)
             .where(StoredEntry.kind.in_(kinds), StoredEntry.day >= period.first,
                    StoredEntry.day <= period.last)
             .order_by(StoredEntry.day, StoredEntry.terminal, StoredEntry.seq))
    if facility is not None:
        query = query.where(Terminal.facility == facility)
    if terminal is not None:
        query = query.where(StoredEntry.terminal == terminal)
    result = conn.execute(in_scope(query, facilities).execution_options(
        yield_per=_STREAM_ROWS))
    try:
        for row in result:
            body = json.loads(row.line)["body"]
            yield Document(row.facility, row.terminal, row.seq, row.kind, row.day, row.at,
                           row.receipt_no, body)
    finally:  # a consumer that stops early (an export error) must not leave a server cursor
        result.close()


def int_field(value: object) -> int:
    """An int field of a stored body; anything else counts 0 (ingest checked the format,
    not every body field; the day totals report such a day as an error)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _items(body: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    value = body.get(key)
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


# -- revenue by accounting code (歳入科目) and account, and tax per class ------------------
@dataclass(frozen=True, slots=True)
class CodeTotal:
    period: str
    accounting_code: str
    account: str
    qty: int
    amount: int


@dataclass(frozen=True, slots=True)
class AccountTotal:
    period: str
    account: str
    amount: int


@dataclass(frozen=True, slots=True)
class TaxTotal:
    """``base``: the tax-inclusive amount of the class (対象額); ``tax``: its tax."""

    period: str
    tax_class: str
    base: int
    tax: int


@dataclass(frozen=True, slots=True)
class RevenueReport:
    grouping: Grouping
    period: Period
    codes: tuple[CodeTotal, ...]
    accounts: tuple[AccountTotal, ...]
    taxes: tuple[TaxTotal, ...]
    total: int
    documents: int


TAX_ORDER: Final = ("std10", "red8", "exempt", "outside")


def _tax_sort(item: tuple[tuple[str, str], Any]) -> tuple[str, int, str]:
    (period, tax_class), _ = item
    rank = TAX_ORDER.index(tax_class) if tax_class in TAX_ORDER else len(TAX_ORDER)
    return period, rank, tax_class


def revenue_report(conn: Connection, facilities: Scope, period: Period,
                   grouping: Grouping = "month", facility: str | None = None) -> RevenueReport:
    """Net revenue per (period, accounting code, account) and per account, tax per class."""
    codes: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    taxes: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    total = count = 0
    for doc in documents(conn, facilities, period, facility=facility):
        key, sign = period_key(doc.day, grouping), doc.sign
        count += 1
        total += sign * int_field(doc.body.get("total"))
        for line in _items(doc.body, "lines"):
            code = str(line.get("accounting_code", NO_CODE))
            cell = codes[(key, code, str(line.get("account", "")))]
            cell[0] += sign * int_field(line.get("qty"))
            cell[1] += sign * int_field(line.get("amount"))
        for tax in _items(doc.body, "taxes"):
            cell = taxes[(key, str(tax.get("tax_class")))]
            cell[0] += sign * int_field(tax.get("base"))
            cell[1] += sign * int_field(tax.get("tax"))
    accounts: dict[tuple[str, str], int] = defaultdict(int)
    for (key, _code, account), (_qty, amount) in codes.items():
        accounts[(key, account)] += amount
    return RevenueReport(
        grouping, period,
        tuple(CodeTotal(p, c, a, q, m) for (p, c, a), (q, m) in sorted(codes.items())),
        tuple(AccountTotal(p, a, m) for (p, a), m in sorted(accounts.items())),
        tuple(TaxTotal(p, c, b, t) for (p, c), (b, t) in sorted(taxes.items(), key=_tax_sort)),
        total, count)


# -- from the day totals: visits, revenue per facility, tender mix -------------------------
@dataclass(frozen=True, slots=True)
class DayTotal:
    facility: str
    terminal: str
    day: str
    totals: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class TotalsError:
    """A terminal-day whose entries could not be totalled (shown as a warning)."""

    facility: str
    terminal: str
    day: str
    message: str


def day_totals(conn: Connection, facilities: Scope, period: Period
               ) -> tuple[list[DayTotal], list[TotalsError]]:
    """The derived day totals in scope (stale pairs recomputed first), and the errors."""
    derived.refresh(conn)
    query = in_scope(
        select(Terminal.facility, DayTotals.terminal, DayTotals.day, DayTotals.totals)
        .join(Terminal, Terminal.terminal == DayTotals.terminal)
        .where(DayTotals.day >= period.first, DayTotals.day <= period.last)
        .order_by(DayTotals.day, DayTotals.terminal), facilities)
    rows: list[DayTotal] = []
    errors: list[TotalsError] = []
    for facility, terminal, day, text in conn.execute(query):
        totals = cast(dict[str, Any], json.loads(text))
        if "error" in totals:
            errors.append(TotalsError(facility, terminal, day, str(totals["error"])))
        else:
            rows.append(DayTotal(facility, terminal, day, totals))
    return rows, errors


@dataclass(frozen=True, slots=True)
class VisitRow:
    """``sales`` counts every sale entry, 0-yen admissions included; ``visits`` = sales -
    voids (a voided sale did not happen; a refund does not undo a visit); ``persons``: net
    quantity sold (the day totals' ``visits``: admissions x people)."""

    period: str
    facility: str
    sales: int
    refunds: int
    voids: int
    visits: int
    persons: int


def visits(conn: Connection, facilities: Scope, period: Period,
           grouping: Grouping = "day") -> list[VisitRow]:
    cells: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for row in day_totals(conn, facilities, period)[0]:
        cell = cells[(period_key(row.day, grouping), row.facility)]
        for index, key in enumerate(("count", "refund_count", "void_count", "visits")):
            cell[index] += int_field(row.totals.get(key))
    return [VisitRow(p, f, s, r, v, s - v, n)
            for (p, f), (s, r, v, n) in sorted(cells.items())]


@dataclass(frozen=True, slots=True)
class RevenuePoint:
    period: str
    facility: str
    total: int


def revenue_by_facility(conn: Connection, facilities: Scope, period: Period,
                        grouping: Grouping = "day") -> list[RevenuePoint]:
    """Net revenue per (period, facility), from the day totals."""
    cells: dict[tuple[str, str], int] = defaultdict(int)
    for row in day_totals(conn, facilities, period)[0]:
        cells[(period_key(row.day, grouping), row.facility)] += int_field(row.totals.get("total"))
    return [RevenuePoint(p, f, t) for (p, f), t in sorted(cells.items())]


@dataclass(frozen=True, slots=True)
class TenderMix:
    """Net amounts per tender kind, per facility and over all; ``transit_ic_share``: the
    part of the net total paid with transit IC (Hachica...), 0.0 when the total is 0."""

    by_facility: Mapping[str, Mapping[str, int]]
    overall: Mapping[str, int]
    total: int
    transit_ic_share: float


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def tender_mix(conn: Connection, facilities: Scope, period: Period) -> TenderMix:
    by_facility: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    overall: dict[str, int] = defaultdict(int)
    for row in day_totals(conn, facilities, period)[0]:
        tenders = row.totals.get("by_tender")
        for kind, amount in (tenders.items() if isinstance(tenders, dict) else ()):
            by_facility[row.facility][kind] += int_field(amount)
            overall[kind] += int_field(amount)
    total = sum(overall.values())
    return TenderMix({f: dict(t) for f, t in sorted(by_facility.items())}, dict(overall),
                     total, _share(overall.get(TRANSIT_IC, 0), total))


# -- satisfaction (survey.rating) -----------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RatingRow:
    """Ratings 1-5 of one facility: ``distribution[i]`` counts score i+1."""

    facility: str
    count: int
    average: float
    distribution: tuple[int, int, int, int, int]


def satisfaction(conn: Connection, facilities: Scope, period: Period) -> list[RatingRow]:
    """The visitors' one-tap ratings per facility (scores outside 1-5 are ignored)."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0] * 5)
    for doc in documents(conn, facilities, period, kinds=(RATING_KIND,)):
        score = int_field(doc.body.get("score"))
        if 1 <= score <= 5:
            counts[doc.facility][score - 1] += 1
    rows = []
    for facility, dist in sorted(counts.items()):
        count = sum(dist)
        average = sum((i + 1) * n for i, n in enumerate(dist)) / count
        rows.append(RatingRow(facility, count, round(average, 2),
                              (dist[0], dist[1], dist[2], dist[3], dist[4])))
    return rows


def facilities_in_scope(conn: Connection, facilities: Scope) -> list[str]:
    """The facilities with an enrolled terminal, limited to the scope (form choices)."""
    query = in_scope(select(Terminal.facility).distinct().order_by(Terminal.facility),
                     facilities)
    return [str(f) for f in conn.execute(query).scalars()]


def terminals_in_scope(conn: Connection, facilities: Scope) -> list[tuple[str, str]]:
    """(terminal, facility) pairs in scope, by facility then terminal."""
    query = in_scope(select(Terminal.terminal, Terminal.facility)
                     .order_by(Terminal.facility, Terminal.terminal), facilities)
    return [(str(t), str(f)) for t, f in conn.execute(query)]

