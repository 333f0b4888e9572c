"""Search the stored sales, refunds and voids by the 電子帳簿保存法 conditions: business-day
range, amount range (the document's ``total``, as recorded: refunds and voids positive),
facility, tender kind and receipt number; paginated and limited to the caller's scope.

Amount and tender are matched inside the stored JSON text by the database (SQLite
``json_extract``/``json_each``, PostgreSQL ``jsonb``), so a page costs one counted query and
one page query whatever the range; only the page's rows are parsed in Python.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Final, TypeVarTuple

from sqlalchemy import BigInteger, ColumnElement, Select, case, cast, exists, func, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection

from sync.server.console.exports import tender_summary
from sync.server.console.reports import DOCUMENT_KINDS, Scope, in_scope
from sync.server.models import StoredEntry, Terminal
from sync.server.sql import is_postgres
from terminal.errors import MadoguchiError
from terminal.ports import TENDER_KINDS

Ts = TypeVarTuple("Ts")
PER_PAGE: Final = 50
MAX_PER_PAGE: Final = 200


class SearchError(MadoguchiError):
    """A search condition is malformed (the message names it)."""


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """Every condition is optional; ``first``/``last`` are business days (inclusive)."""

    first: str | None = None
    last: str | None = None
    min_amount: int | None = None
    max_amount: int | None = None
    facility: str | None = None
    tender: str | None = None
    receipt_no: str | None = None
    kind: str | None = None
    page: int = 1
    per_page: int = PER_PAGE

    @classmethod
    def from_form(cls, form: Mapping[str, str]) -> SearchQuery:
        """From query parameters (blank = no condition); SearchError names a bad one."""
        def text(name: str) -> str | None:
            value = form.get(name, "").strip()
            return value or None

        def number(name: str, label: str, minimum: int) -> int | None:
            value = text(name)
            if value is None:
                return None
            try:
                parsed = int(value.replace(",", ""))
            except ValueError:
                raise SearchError(f"{label} は整数で入力してください ({name} must be a whole "
                                  f"number, got {value!r})") from None
            if parsed < minimum:
                raise SearchError(f"{label} は {minimum} 以上です ({name} must be >= "
                                  f"{minimum})")
            return parsed

        query = cls(first=text("first"), last=text("last"),
                    min_amount=number("min_amount", "金額(下限)", 0),
                    max_amount=number("max_amount", "金額(上限)", 0),
                    facility=text("facility"), tender=text("tender"),
                    receipt_no=text("receipt_no"), kind=text("kind"),
                    page=number("page", "ページ", 1) or 1,
                    per_page=min(number("per_page", "件数", 1) or PER_PAGE, MAX_PER_PAGE))
        query.check()
        return query

    def check(self) -> None:
        for name, value in (("first", self.first), ("last", self.last)):
            if value is not None:
                try:
                    date.fromisoformat(value)
                except ValueError:
                    raise SearchError(f"日付 {value!r} は YYYY-MM-DD で入力してください "
                                      f"({name} must be YYYY-MM-DD)") from None
        if self.tender is not None and self.tender not in TENDER_KINDS:
            raise SearchError(f"支払方法 {self.tender!r} は不明です (unknown tender; one of "
                              f"{', '.join(TENDER_KINDS)})")
        if self.kind is not None and self.kind not in DOCUMENT_KINDS:
            raise SearchError(f"種別 {self.kind!r} は不明です (kind must be one of "
                              f"{', '.join(DOCUMENT_KINDS)})")


@dataclass(frozen=True, slots=True)
class SearchHit:
    facility: str
    terminal: str
    seq: int
    kind: str
    day: str
    at: str
    receipt_no: str | None
    total: int | None
    tenders: str


@dataclass(frozen=True, slots=True)
class SearchPage:
    hits: tuple[SearchHit, ...]
    total: int  # matching documents over all pages
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _amount(conn: Connection) -> ColumnElement[Any]:
    """The body's ``total`` as a number (NULL when it is not one)."""
    if is_postgres(conn):
        total = cast(StoredEntry.line, JSONB)["body"]["total"]
        return case((func.jsonb_typeof(total) == "number",
                     cast(total.astext, BigInteger)), else_=None)
    return func.json_extract(StoredEntry.line, "$.body.total")


def _paid_with(conn: Connection, tender: str) -> ColumnElement[bool]:
    if is_postgres(conn):
        tenders = cast(StoredEntry.line, JSONB)["body"]["tenders"]
        return tenders.contains([{"kind": tender}])
    each = func.json_each(StoredEntry.line, "$.body.tenders").table_valued("value")
    return exists(select(1).select_from(each)
                  .where(func.json_extract(each.c.value, "$.kind") == tender))


def _where(conn: Connection, query: Select[*Ts], q: SearchQuery) -> Select[*Ts]:
    kinds = (q.kind,) if q.kind else DOCUMENT_KINDS
    query = query.where(StoredEntry.kind.in_(kinds))
    if q.first:
        query = query.where(StoredEntry.day >= q.first)
    if q.last:
        query = query.where(StoredEntry.day <= q.last)
    if q.facility:
        query = query.where(Terminal.facility == q.facility)
    if q.receipt_no:
        query = query.where(StoredEntry.receipt_no == q.receipt_no)
    if q.min_amount is not None:
        query = query.where(_amount(conn) >= q.min_amount)
    if q.max_amount is not None:
        query = query.where(_amount(conn) <= q.max_amount)
    if q.tender:
        query = query.where(_paid_with(conn, q.tender))
    return query


def search(conn: Connection, facilities: Scope, q: SearchQuery) -> SearchPage:
    """One page of the documents matching ``q`` in scope, by day, terminal and seq."""
    q.check()
    base = select(Terminal.facility, StoredEntry.terminal, StoredEntry.seq, StoredEntry.kind,
                  StoredEntry.day, StoredEntry.at, StoredEntry.receipt_no, StoredEntry.line
                  ).join(Terminal, Terminal.terminal == StoredEntry.terminal)
    query = _where(conn, in_scope(base, facilities), q)
    count = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = conn.execute(query.order_by(StoredEntry.day, StoredEntry.terminal, StoredEntry.seq)
                        .limit(q.per_page).offset((q.page - 1) * q.per_page)).all()
    hits = []
    for row in rows:
        body = json.loads(row.line)["body"]
        total = body.get("total")
        hits.append(SearchHit(
            row.facility, row.terminal, row.seq, row.kind, row.day, row.at, row.receipt_no,
            total if isinstance(total, int) and not isinstance(total, bool) else None,
            tender_summary(body)))
    return SearchPage(tuple(hits), int(count), q.page, q.per_page)
