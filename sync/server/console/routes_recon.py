"""Reconciliation pages: a day (facility x terminal, with the three-way match), a month
(per facility per day), one terminal-day (its findings, batches, entries, explanations) and
one entry as its receipt. 'Mark explained' records a comment on a terminal-day."""

from __future__ import annotations

import re
from typing import Final

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import insert, select

from sync.server import derived
from sync.server.console import entries, recon
from sync.server.console.models import Explanation
from sync.server.console.web import (
    NotFound,
    PostedForm,
    audit,
    check_csrf,
    check_facility,
    current_admin,
    engine_of,
    facility_scope,
    not_found,
    redirect,
    render,
    require_writer,
)
from sync.server.db import utcnow
from sync.server.models import DayTotals, Terminal
from terminal.money import TAX_CLASSES
from terminal.tenders import TENDER_LABELS

router = APIRouter(include_in_schema=False)
DAY: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
MONTH: Final = re.compile(r"\d{4}-\d{2}")
MAX_COMMENT: Final = 2000
RECENT_DAYS: Final = 31


def _checked(pattern: re.Pattern[str], value: str, what: str) -> str:
    if not pattern.fullmatch(value):
        raise NotFound(f"{what} {value[:40]!r} は日付ではありません (not a date: use "
                       f"{'YYYY-MM-DD' if pattern is DAY else 'YYYY-MM'})")
    return value


def _recent_days(request: Request, scope: set[str] | None) -> list[str]:
    query = select(DayTotals.day).join(Terminal, Terminal.terminal == DayTotals.terminal)
    if scope is not None:
        query = query.where(Terminal.facility.in_(sorted(scope)))
    with engine_of(request).begin() as conn:
        days = conn.execute(query.distinct().order_by(DayTotals.day.desc())
                            .limit(RECENT_DAYS)).scalars().all()
    return list(days)


def _labels() -> dict[str, object]:
    return {"tender_labels": TENDER_LABELS, "tax_classes": TAX_CLASSES,
            "status_labels": recon.STATUS_LABELS}


@router.get("/console/", response_class=HTMLResponse)
def day_page(request: Request, day: str | None = None) -> Response:
    user = current_admin(request)
    scope = facility_scope(user)
    recent = _recent_days(request, scope)
    chosen = _checked(DAY, day, "day") if day else (recent[0] if recent else None)
    facilities: list[recon.FacilityDay] = []
    if chosen is not None:
        with engine_of(request).begin() as conn:
            facilities = recon.by_facility(recon.load(conn, scope, day=chosen))
    overall = derived.sum_totals(f.totals for f in facilities)
    return render(request, "recon/day.html", {
        "day": chosen, "recent": recent, "facilities": facilities, "overall": overall,
        **_labels()})


@router.get("/console/month", response_class=HTMLResponse)
def month_page(request: Request, month: str | None = None) -> Response:
    user = current_admin(request)
    scope = facility_scope(user)
    recent = _recent_days(request, scope)
    chosen = _checked(MONTH, month, "month") if month else (recent[0][:7] if recent else None)
    facilities: list[recon.FacilityDay] = []
    if chosen is not None:
        with engine_of(request).begin() as conn:
            facilities = recon.by_facility(recon.load(conn, scope, month=chosen))
    months = sorted({d[:7] for d in recent}, reverse=True)
    return render(request, "recon/month.html", {
        "month": chosen, "months": months, "rows": facilities, **_labels()})


def _terminal_day(request: Request, day: str, terminal: str) -> recon.TerminalDay:
    user = current_admin(request)
    _checked(DAY, day, "day")
    with engine_of(request).begin() as conn:
        found = recon.load(conn, facility_scope(user), day=day, terminal=terminal)
    if not found:
        raise not_found(f"端末 {terminal} の {day}")
    return found[0]


@router.get("/console/day/{day}/{terminal}", response_class=HTMLResponse)
def terminal_day_page(request: Request, day: str, terminal: str) -> Response:
    found = _terminal_day(request, day, terminal)
    with engine_of(request).begin() as conn:
        rows = entries.day_entries(conn, terminal, day)
    return render(request, "recon/terminal_day.html", {
        "td": found, "entries": rows, "comment_max": MAX_COMMENT, **_labels()})


@router.post("/console/day/{day}/{terminal}/explain")
def explain_post(request: Request, day: str, terminal: str, form: PostedForm) -> Response:
    user = require_writer(request)
    check_csrf(request, form)
    found = _terminal_day(request, day, terminal)
    comment = form.get("comment", "").strip()
    if not comment:
        return render(request, "error.html", {
            "title": "説明を入力してください (write an explanation)",
            "message": "コメントが空です (the comment is empty): 不一致の理由を書いてください "
                       "(say why the totals differ)"}, status=422)
    with engine_of(request).begin() as conn:
        conn.execute(insert(Explanation).values(
            terminal=terminal, facility=found.facility, day=day, user=user.user,
            comment=comment[:MAX_COMMENT], at=utcnow()))
        audit(conn, user, "explanation", {
            "terminal": terminal, "day": day, "comment": comment[:MAX_COMMENT],
            "findings": [f.text for f in found.findings if f.level == "bad"]})
    return redirect(f"/console/day/{day}/{terminal}")


@router.get("/console/entry/{terminal}/{seq}", response_class=HTMLResponse)
def entry_page(request: Request, terminal: str, seq: int) -> Response:
    user = current_admin(request)
    with engine_of(request).begin() as conn:
        view = entries.load_entry(conn, terminal, seq) if 1 <= seq < 2**31 else None
    if view is None:
        raise not_found(f"端末 {terminal} の seq {seq}")
    check_facility(user, view.facility)
    return render(request, "recon/entry.html", {"e": view, **_labels()})
