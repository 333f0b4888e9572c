"""The console's report pages (issue 7): レポート (revenue by accounting code, account and
tax class, per day, month or fiscal year), エクスポート (CSV and journal downloads), 検索
(the 電子帳簿保存法 search), グラフ (charts) and 保存期間 (retention settings).

Readers: admin, auditor and facility manager; a facility manager's every query is limited
to their facility (``facility_scope``), and naming another facility is a 404. Exports are
POSTs (CSRF-checked) and audited: who exported what. Retention values: admin only, audited.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, Final, cast
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from sync.server.console import charts, exports, retention
from sync.server.console.reports import (
    GROUPINGS,
    Grouping,
    Period,
    Scope,
    facilities_in_scope,
    fiscal_year_of,
    revenue_report,
    terminals_in_scope,
)
from sync.server.console.search import SearchError, SearchQuery, search
from sync.server.console.web import (
    AdminUser,
    PostedForm,
    audit,
    check_csrf,
    check_facility,
    engine_of,
    facility_scope,
    not_found,
    redirect,
    render,
    require,
)
from terminal.day import TOKYO
from terminal.ports import TENDER_KINDS
from terminal.reports import TAX_CLASS_LABELS
from terminal.tenders import TENDER_LABELS

router = APIRouter(include_in_schema=False)
READERS: Final = ("admin", "auditor", "facility_manager")
ENTRY_PATH: Final = "/console/entry/{terminal}/{seq}"  # the receipt view (routes_recon)
CSV_MEDIA: Final = {"utf-8-bom": "text/csv; charset=utf-8", "cp932": "text/csv; charset=Shift_JIS",
                    "cp932-replace": "text/csv; charset=Shift_JIS"}


def today() -> date:
    return datetime.now(TOKYO).date()


def period_from(params: Mapping[str, str]) -> Period:
    """The period of a form: ``day``, ``month`` (YYYY-MM), ``fy`` (年度) or ``first`` and
    ``last``; none: the current fiscal year. ValueError names a malformed one."""
    try:
        if params.get("day"):
            return Period.day(params["day"])
        if params.get("month"):
            return Period.month(params["month"])
        if params.get("fy"):
            return Period.fiscal_year(int(params["fy"]))
        if params.get("first") and params.get("last"):
            return Period(params["first"], params["last"])
    except ValueError as exc:
        raise ValueError(f"期間が正しくありません: {exc} (day YYYY-MM-DD, month YYYY-MM, "
                         "fiscal year YYYY)") from None
    return Period.fiscal_year(fiscal_year_of(today().isoformat()))


def _reader(request: Request) -> tuple[AdminUser, Scope]:
    user = require(request, *READERS)
    return user, facility_scope(user)


def _facility(user: AdminUser, params: Mapping[str, str]) -> str | None:
    """The facility a form names (404 outside the user's scope), or None for all."""
    facility = params.get("facility", "").strip() or None
    if facility is not None:
        check_facility(user, facility)
    return facility


def _common(conn: Any, scope: Scope, period: Period) -> dict[str, Any]:
    return {"facilities": facilities_in_scope(conn, scope), "period": period,
            "tax_labels": TAX_CLASS_LABELS, "current_fy": fiscal_year_of(period.first)}


@router.get("/console/reports", response_class=HTMLResponse)
def reports_page(request: Request) -> Response:
    user, scope = _reader(request)
    params = dict(request.query_params)
    facility = _facility(user, params)
    grouping = cast(Grouping, params.get("grouping") or "month")
    try:
        if grouping not in GROUPINGS:
            raise ValueError(f"集計単位 {grouping!r} は不明です (grouping: day, month, "
                             "fiscal_year)")
        period = period_from(params)
    except ValueError as exc:
        return render(request, "error.html", {"title": "400 入力エラー (bad input)",
                                              "message": str(exc)}, status=400)
    with engine_of(request).begin() as conn:
        report = revenue_report(conn, scope, period, grouping, facility)
        context = _common(conn, scope, period)
    return render(request, "reports/index.html", {
        **context, "report": report, "grouping": grouping, "facility": facility,
        "params": params})


# -- exports ---------------------------------------------------------------------------------
def _exports_page(request: Request, scope: Scope, error: str | None = None,
                  status: int = 200) -> Response:
    with engine_of(request).begin() as conn:
        facilities = facilities_in_scope(conn, scope)
        terminals = terminals_in_scope(conn, scope)
    return render(request, "reports/exports.html", {
        "facilities": facilities, "terminals": terminals, "encodings": exports.ENCODINGS,
        "month": today().isoformat()[:7], "day": today().isoformat(), "error": error},
        status=status)


@router.get("/console/exports", response_class=HTMLResponse)
def exports_page(request: Request) -> Response:
    return _exports_page(request, _reader(request)[1])


@router.post("/console/exports/csv")
def export_csv(request: Request, form: PostedForm) -> Response:
    user, scope = _reader(request)
    check_csrf(request, form)
    facility = _facility(user, form)
    encoding = cast(exports.Encoding, form.get("encoding", "utf-8-bom"))
    span = form.get("span", "month")
    try:
        period = period_from({span: form.get(span, "")}) if span in ("day", "month") \
            else None
        if period is None or not form.get(span):
            raise ValueError("日付または月を指定してください (give a day or a month)")
        with engine_of(request).begin() as conn:
            result = exports.export_csv(conn, scope, period, facility, encoding)
            audit(conn, user, "export.csv", {
                "first": period.first, "last": period.last, "facility": facility or "all",
                "scope": sorted(scope) if scope is not None else "all",
                "encoding": encoding, "rows": result.rows, "replaced": result.replaced})
    except (ValueError, exports.ExportError) as exc:
        return _exports_page(request, scope, str(exc), status=400)
    return Response(result.data, media_type=CSV_MEDIA[encoding], headers={
        "Content-Disposition": exports.content_disposition(result.filename),
        "Cache-Control": "no-store"})


@router.post("/console/exports/journal")
def export_journal(request: Request, form: PostedForm) -> Response:
    user, scope = _reader(request)
    check_csrf(request, form)
    terminal = form.get("terminal", "").strip()
    engine = engine_of(request)
    try:
        chunks = exports.journal_lines(engine, scope, terminal)
    except exports.ExportError:
        raise not_found(f"端末 {terminal!r} (terminal)") from None
    with engine.begin() as conn:
        audit(conn, user, "export.journal", {"terminal": terminal})
    return StreamingResponse(chunks, media_type="application/jsonl; charset=utf-8", headers={
        "Content-Disposition": exports.content_disposition(f"{terminal}.jsonl"),
        "Cache-Control": "no-store"})


# -- search ----------------------------------------------------------------------------------
@router.get("/console/search", response_class=HTMLResponse)
def search_page(request: Request) -> Response:
    user, scope = _reader(request)
    params = dict(request.query_params)
    _facility(user, params)
    error, page = None, None
    with engine_of(request).begin() as conn:
        facilities = facilities_in_scope(conn, scope)
        if params:
            try:
                page = search(conn, scope, SearchQuery.from_form(params))
            except SearchError as exc:
                error = str(exc)

    def page_link(number: int) -> str:
        return "/console/search?" + urlencode({**params, "page": str(number)})

    return render(request, "reports/search.html", {
        "facilities": facilities, "params": params, "page": page, "error": error,
        "tenders": [(k, TENDER_LABELS[k]) for k in TENDER_KINDS], "page_link": page_link,
        "entry_link": lambda hit: ENTRY_PATH.format(terminal=hit.terminal, seq=hit.seq)},
        status=400 if error else 200)


# -- charts ----------------------------------------------------------------------------------
@router.get("/console/charts", response_class=HTMLResponse)
def charts_page(request: Request) -> Response:
    _user, scope = _reader(request)
    params = dict(request.query_params)
    try:
        period = period_from(params) if params else Period.month(today().isoformat()[:7])
    except ValueError as exc:
        return render(request, "error.html", {"title": "400 入力エラー (bad input)",
                                              "message": str(exc)}, status=400)
    with engine_of(request).begin() as conn:
        data = charts.chart_data(conn, scope, period)
    return render(request, "reports/charts.html", {
        "period": period, "chart_script": charts.CHART_SCRIPT,
        "chart_json": charts.script_json(data), "data": data,
        "current_fy": fiscal_year_of(period.first),
        "shown_month": params.get("month") or ("" if "fy" in params else period.first[:7])})


# -- retention -------------------------------------------------------------------------------
@router.get("/console/retention", response_class=HTMLResponse)
def retention_page(request: Request) -> Response:
    user, _scope = _reader(request)
    params = dict(request.query_params)
    decision, error = None, None
    with engine_of(request).begin() as conn:
        settings = retention.settings(conn)
        if params.get("record_class") and params.get("record_day"):
            try:
                decision = retention.may_delete(
                    conn, params["record_class"], date.fromisoformat(params["record_day"]),
                    today())
            except (ValueError, retention.RetentionError) as exc:
                error = str(exc)
    return render(request, "reports/retention.html", {
        "settings": settings, "decision": decision, "error": error, "params": params,
        "may_change": user.role == "admin", "classes": retention.RECORD_CLASSES},
        status=400 if error else 200)


@router.post("/console/retention")
def retention_post(request: Request, form: PostedForm) -> Response:
    user = require(request, "admin")
    check_csrf(request, form)
    class_id = form.get("record_class", "")
    try:
        years = int(form.get("years", ""))
        with engine_of(request).begin() as conn:
            old, new = retention.set_years(conn, class_id, years, user.user)
            audit(conn, user, "retention.set", {"record_class": class_id, "old": old,
                                                "new": new})
    except (ValueError, retention.RetentionError) as exc:
        message = str(exc) if isinstance(exc, retention.RetentionError) else \
            "保存年数は整数で入力してください (years must be a whole number)"
        return render(request, "error.html", {"title": "400 入力エラー (bad input)",
                                              "message": message}, status=400)
    return redirect("/console/retention")
