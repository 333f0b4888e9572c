"""The points page (issue 6, console part): ポイント — the campaign budget and what was
granted, awarded and settled; awards per facility and business day; the cap corrections with
the award each names; cards with unusual patterns (many taps a day); one card's history by
its token; and, for administrators only, moving a lost card's balance to a new card.

Every figure comes from ``sync.server.points.views`` under the user's facility scope (a
facility manager sees only what terminals of their facility did; the campaign budget and the
budget left are campaign-wide). Cards are shown only as their masked token (first 8 hex
digits): the server never has an IDm, and a value that is not a card token is neither stored
nor echoed. A transfer is audited twice: in the console audit log (``web.audit``) and by the
ledger's own ``transfer_out``/``transfer_in`` rows naming the administrator and the reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.engine import Connection

from sync.server.console.web import (
    PostedForm,
    audit,
    check_csrf,
    engine_of,
    facility_scope,
    redirect,
    render,
    require,
)
from sync.server.db import ServerError
from sync.server.points import service, views
from terminal.day import TOKYO
from terminal.points import is_card_token

router = APIRouter(include_in_schema=False)
READERS: Final = ("admin", "auditor", "facility_manager")
PAGE: Final = "/console/points"
DEFAULT_THRESHOLD: Final = 3
THRESHOLD_RANGE: Final = (2, 1000)
ROWS_SHOWN: Final = 200  # corrections and unusual cards per page
EVER: Final = ("0000-01-01", "9999-12-31")  # every business day
KIND_LABELS: Final[dict[str, str]] = {
    "award": "付与 (award)", "clawback": "取消 (clawback)", "correction": "補正 (correction)",
    "redeem": "利用 (redeem)", "redeem_cancel": "利用取消 (redeem cancel)",
    "refund_restore": "返金戻し (refund restore)", "transfer_out": "移行元 (transfer out)",
    "transfer_in": "移行先 (transfer in)"}
BAD_CARD: Final = ("カードは64桁16進のカードトークンで指定してください。IDm は使えません "
                   "(give the card as its 64-hex-digit token, never an IDm)")


def mask_token(card: str | None) -> str:
    """A card token as the console shows it (first 8 hex digits); never anything else."""
    if card and is_card_token(card):
        return card[:8] + "…"
    return "—" if not card else "(カードトークンではない値 / not a card token)"


@dataclass(frozen=True)
class PointsQuery:
    """The page's form: the day range of the awards table, the taps-a-day threshold and
    the card whose history to show."""

    start: str
    end: str
    threshold: int
    card: str | None

    def link(self, **changes: str) -> str:
        params = {"start": self.start, "end": self.end, "threshold": str(self.threshold),
                  "card": self.card or "", **changes}
        return PAGE + "?" + urlencode({k: v for k, v in params.items() if v})


def _month_of(today: date) -> tuple[str, str]:
    first = today.replace(day=1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return first.isoformat(), last.isoformat()


def _day(text: str, fallback: str, errors: list[str], name: str) -> str:
    if not text:
        return fallback
    try:
        return date.fromisoformat(text.strip()).isoformat()
    except ValueError:
        errors.append(f"{name} は YYYY-MM-DD で入力してください ({name}: a day YYYY-MM-DD)")
        return fallback


def _threshold(text: str, errors: list[str]) -> int:
    low, high = THRESHOLD_RANGE
    try:
        value = int(text) if text else DEFAULT_THRESHOLD
        if not low <= value <= high:
            raise ValueError(value)
        return value
    except ValueError:
        errors.append(f"回数のしきい値は {low}〜{high} の整数です (the taps-a-day threshold "
                      f"is a whole number from {low} to {high})")
        return DEFAULT_THRESHOLD


def parse_query(params: Mapping[str, str], today: date) -> tuple[PointsQuery, list[str]]:
    """The form's values (defaults: this month, 3 taps) and what was wrong with it."""
    errors: list[str] = []
    first, last = _month_of(today)
    start = _day(params.get("start", ""), first, errors, "開始日 start")
    end = _day(params.get("end", ""), last, errors, "終了日 end")
    if start > end:
        errors.append("開始日が終了日より後です (the start day is after the end day)")
        start, end = first, last
    card = params.get("card", "").strip().lower() or None
    if card is not None and not is_card_token(card):
        errors.append(BAD_CARD)
        card = None  # never echoed: it may be an IDm typed by mistake
    return PointsQuery(start, end, _threshold(params.get("threshold", ""), errors), card), errors


def figures(conn: Connection, scope: set[str] | None) -> dict[str, Any]:
    """The budget block: campaign figures from ``views.budget_summary`` and the all-time
    award totals (``views.awards_by_facility_day`` over every day), both scoped."""
    summary = views.budget_summary(conn, scope)
    days = views.awards_by_facility_day(conn, *EVER, facilities=scope)
    totals = {name: sum(int(row[name]) for row in days)
              for name in ("awarded", "corrected", "settled", "clawed_back")}
    return {"budget": summary["budget"], "granted": summary["granted"], **totals,
            "standing": summary["standing"], "budget_left": summary["budget_left"],
            "terminals": summary["terminals"]}


def gather(conn: Connection, scope: set[str] | None, query: PointsQuery) -> dict[str, Any]:
    """Everything the page shows, each query under ``scope``."""
    return {
        "figures": figures(conn, scope),
        "days": views.awards_by_facility_day(conn, query.start, query.end, scope),
        "corrections": views.corrections(conn, scope, limit=ROWS_SHOWN),
        "unusual": views.unusual_cards(conn, query.threshold, scope, limit=ROWS_SHOWN),
        "history": views.card_history(conn, query.card, scope) if query.card else None,
    }


def _day_totals(days: list[dict[str, Any]]) -> dict[str, int]:
    return {name: sum(int(row[name]) for row in days)
            for name in ("awards", "awarded", "settled", "corrected", "clawed_back")}


def _points_text(text: str) -> str:
    """The "transferred" notice's number (digits and commas only, else nothing)."""
    return text if 0 < len(text) <= 20 and all(c.isdigit() or c == "," for c in text) else ""


@router.get(PAGE, response_class=HTMLResponse)
def points_page(request: Request) -> Response:
    user = require(request, *READERS)
    scope = facility_scope(user)
    params = dict(request.query_params)
    query, errors = parse_query(params, datetime.now(TOKYO).date())
    with engine_of(request).begin() as conn:
        data = gather(conn, scope, query)
    return render(request, "points/index.html", {
        **data, "query": query, "errors": errors, "day_totals": _day_totals(data["days"]),
        "scoped": scope is not None, "is_admin": user.role == "admin",
        "mask": mask_token, "kind_labels": KIND_LABELS,
        "transferred": _points_text(params.get("transferred", ""))},
        status=400 if errors else 200)


@router.post("/console/points/transfer")
def transfer_post(request: Request, form: PostedForm) -> Response:
    """Move a lost card's whole balance to a new card (administrators only, audited)."""
    user = require(request, "admin")
    check_csrf(request, form)
    from_card = form.get("from_card", "").strip().lower()
    to_card = form.get("to_card", "").strip().lower()
    reason = form.get("reason", "").strip()
    detail = {"from": mask_token(from_card), "to": mask_token(to_card), "reason": reason[:500]}
    engine = engine_of(request)
    try:
        with engine.begin() as conn:
            moved = service.transfer(conn, from_card, to_card, user.user, reason)
            audit(conn, user, "points.transfer", {
                **detail, "transfer": moved["transfer"], "points": moved["points"],
                "ledger_seqs": moved["ledger_seqs"]})
    except ServerError as exc:
        with engine.begin() as conn:
            audit(conn, user, "points.transfer.refused", {**detail, "why": str(exc)[:300]})
        return render(request, "error.html", {
            "title": "移行できませんでした (transfer not done)",
            "message": f"{exc} — 何も変更していません (nothing was changed)"}, status=422)
    return redirect(PAGE + "?" + urlencode({"card": to_card,
                                            "transferred": f"{moved['points']:,}"}))
