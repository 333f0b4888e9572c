"""The console's shared plumbing: who is logged in, role checks, facility scope, CSRF, page
rendering (Jinja2) and the audit log. Every console page module builds on this file.

How to add pages (helper E and anyone after): create a module in this package, e.g.
``sync/server/console/routes_reports.py``, holding a module-level ``router = APIRouter()``
whose paths are absolute (``@router.get("/console/reports")``). ``install`` (in
``__init__.py``) includes the ``router`` of every module named in ``ROUTE_MODULES`` below;
"routes_reports" is already listed (a listed module that does not exist yet is skipped).
Inside a route::

    @router.get("/console/reports", response_class=HTMLResponse)
    def reports(request: Request) -> HTMLResponse:       # plain def: runs in a thread
        user = require(request, "admin", "auditor", "facility_manager")
        scope = facility_scope(user)                      # None = every facility
        with engine_of(request).begin() as conn: ...
        return render(request, "reports/index.html", {"rows": rows})

    @router.post("/console/reports/thing")
    def do(request: Request, form: PostedForm) -> Response:  # the url-encoded body
        user = require(request, "admin")                  # writers only (auditor: 403)
        check_csrf(request, form)                         # every POST, before any work
        with engine_of(request).begin() as conn:
            audit(conn, user, "thing.done", {"what": form.get("what", "")})
        return redirect("/console/reports")

Templates extend ``base.html`` (``{% extends "base.html" %}``, blocks ``title`` and
``content``); every page gets ``user``, ``csrf`` (put ``{{ csrf_field() }}`` inside each POST
form), ``can_write`` and the nav. Filters: ``yen`` (12300 -> ¥12,300). Static files go in
``static/`` (served at ``/console/static/...``).
Anonymous visitors of a console page are redirected to /console/login; a logged-in user
without the role gets a 403 page; another facility's object is a 404 (``not_found``), so a
facility manager learns nothing about other facilities. Every new route needs its row in
the authorization matrix, tests/console/test_roles.py (MATRIX, and FORMS for a POST): that
test fails for a console route without one.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Final, Literal, cast
from urllib.parse import parse_qsl, quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.engine import Connection

from sync.server.console.models import AuditLog, ConsoleSession
from sync.server.db import utcnow
from sync.server.models import Admin

Role = Literal["admin", "auditor", "facility_manager"]
ROLES: Final[tuple[Role, ...]] = ("admin", "auditor", "facility_manager")
ROLE_LABELS: Final[dict[str, str]] = {
    "admin": "管理者 (admin)", "auditor": "監査 (auditor, read-only)",
    "facility_manager": "施設責任者 (facility manager)"}
WRITERS: Final[tuple[Role, ...]] = ("admin", "facility_manager")
ROUTE_MODULES: Final = ("routes_auth", "routes_recon", "routes_terminals", "routes_manage",
                        "routes_audit", "routes_reports", "routes_points")
PREFIX: Final = "/console"
LOGIN_PATH: Final = "/console/login"
SESSION_COOKIE: Final = "madoguchi_console"
LOGIN_CSRF_COOKIE: Final = "madoguchi_login_csrf"
CSRF_FIELD: Final = "csrf"
MAX_FORM_BYTES: Final = 1024 * 1024
HERE: Final = Path(__file__).resolve().parent
TEMPLATES: Final = HERE / "templates"
STATIC: Final = HERE / "static"
NAV: Final[tuple[tuple[str, str, str], ...]] = (
    ("/console/", "照合", "reconciliation"),
    ("/console/terminals", "端末", "terminals"),
    ("/console/reports", "レポート", "reports"),
    ("/console/exports", "エクスポート", "exports"),
    ("/console/search", "検索", "search"),
    ("/console/charts", "グラフ", "charts"),
    ("/console/manage", "管理", "management"),
    ("/console/points", "ポイント", "points"),
    ("/console/retention", "保存期間", "retention"),
    ("/console/audit", "監査ログ", "audit log"),
)
Form = dict[str, str]


@dataclass(frozen=True)
class Settings:
    """Console settings (``install(..., settings=...)``)."""

    secure_cookie: bool = False  # True behind HTTPS (the usual production setup)
    idle_minutes: int = 30  # a session unused this long is over
    max_failures: int = 5  # failed logins in a row before the account locks
    lockout_minutes: int = 15


@dataclass(frozen=True)
class AdminUser:
    """A logged-in administrator: ``facility`` is set for a facility manager only."""

    user: str
    role: Role
    facility: str | None

    @property
    def can_write(self) -> bool:
        return self.role in WRITERS


class LoginRequired(Exception):
    """No valid session: the handler redirects to the login page."""


class Forbidden(Exception):
    """Logged in, but the role may not do this: a 403 page."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(Exception):
    """Nothing here (or not in the user's facility): a 404 page."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# -- settings, engine ------------------------------------------------------------------------
def settings_of(request: Request) -> Settings:
    return cast(Settings, request.app.state.console_settings)


def engine_of(request: Request) -> Engine:
    return cast(Engine, request.app.state.engine)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# -- who is logged in ------------------------------------------------------------------------
def _load_session(request: Request) -> tuple[AdminUser, str] | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token or len(token) > 200:
        return None
    now = utcnow()
    idle = timedelta(minutes=settings_of(request).idle_minutes)
    with engine_of(request).begin() as conn:
        row = conn.execute(select(
            ConsoleSession.id, ConsoleSession.csrf, ConsoleSession.last_seen, Admin.user,
            Admin.role, Admin.facility).join(Admin, Admin.user == ConsoleSession.user).where(
            ConsoleSession.id == token_hash(token))).one_or_none()
        if row is None:
            return None
        if row.last_seen + idle <= now:
            conn.execute(delete(ConsoleSession).where(ConsoleSession.id == row.id))
            return None
        conn.execute(update(ConsoleSession).where(ConsoleSession.id == row.id)
                     .values(last_seen=now))
    role = row.role if row.role in ROLES else "auditor"  # an unknown role reads only
    return AdminUser(row.user, cast(Role, role), row.facility), row.csrf


def optional_admin(request: Request) -> AdminUser | None:
    """The logged-in administrator, or None (loaded once per request)."""
    if not hasattr(request.state, "console_user"):
        loaded = _load_session(request)
        request.state.console_user = None if loaded is None else loaded[0]
        request.state.console_csrf = None if loaded is None else loaded[1]
    return cast(AdminUser | None, request.state.console_user)


def current_admin(request: Request) -> AdminUser:
    """The logged-in administrator; anonymous: LoginRequired (-> redirect to the login)."""
    user = optional_admin(request)
    if user is None:
        raise LoginRequired()
    return user


def require(request: Request, *roles: Role) -> AdminUser:
    """The logged-in administrator if their role is one of ``roles`` (else a 403 page)."""
    user = current_admin(request)
    if user.role not in roles:
        raise Forbidden(f"この操作は {' / '.join(roles)} のみ可能です "
                        f"(your role {user.role!r} may not do this)")
    return user


def require_writer(request: Request) -> AdminUser:
    """An administrator who may change things (auditors read only)."""
    return require(request, *WRITERS)


def facility_scope(user: AdminUser) -> set[str] | None:
    """The facilities ``user`` may see: None = all; a facility manager only their own."""
    if user.role == "facility_manager":
        return {user.facility} if user.facility else set()
    return None


def check_facility(user: AdminUser, facility: str) -> None:
    """NotFound unless ``user`` may see ``facility`` (404, not 403: learn nothing)."""
    scope = facility_scope(user)
    if scope is not None and facility not in scope:
        raise NotFound(f"施設 {facility!r} は見つかりません (no facility {facility!r} here)")


def not_found(what: str) -> NotFound:
    return NotFound(f"{what} は見つかりません ({what} not found)")


# -- CSRF and forms --------------------------------------------------------------------------
async def read_form(request: Request) -> Form:
    """The url-encoded POST body as a dict (last value of a repeated name wins); a
    FastAPI dependency: ``form: Form = Depends(read_form)``."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise Forbidden("フォームが大きすぎます (form body too large)")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Forbidden("フォームが UTF-8 ではありません (form is not UTF-8)") from None
    return dict(parse_qsl(text, keep_blank_values=True, max_num_fields=1000))


def csrf_token(request: Request) -> str:
    """The session's CSRF token; before login, the login form's token (double-submit
    cookie, set by the login page)."""
    if optional_admin(request) is not None:
        return cast(str, request.state.console_csrf)
    if not hasattr(request.state, "login_csrf"):
        request.state.login_csrf = request.cookies.get(LOGIN_CSRF_COOKIE) \
            or secrets.token_urlsafe(32)
    return cast(str, request.state.login_csrf)


def check_csrf(request: Request, form: Mapping[str, str]) -> None:
    """Forbidden (403) unless the form carries this session's CSRF token."""
    given = form.get(CSRF_FIELD, "")
    if optional_admin(request) is not None:
        expected = cast(str, request.state.console_csrf)
    else:
        expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not given or not expected or not hmac.compare_digest(given, expected):
        raise Forbidden("CSRF トークンがありません、または一致しません。ページを読み込み直して"
                        "ください (missing or wrong CSRF token: reload the page and retry)")


PostedForm = Annotated[Form, Depends(read_form)]
"""A route parameter type: the POST body, parsed (``form: PostedForm``)."""


# -- the audit log ---------------------------------------------------------------------------
def audit(conn: Connection, user: AdminUser | str | None, action: str,
          detail: Mapping[str, Any]) -> None:
    """Append one row to the audit log (in the caller's transaction)."""
    name = user.user if isinstance(user, AdminUser) else (user or "")
    conn.execute(insert(AuditLog).values(
        at=utcnow(), user=name[:100], action=action[:100],
        detail=json.dumps(dict(detail), ensure_ascii=False, sort_keys=True, default=str)))


# -- rendering -------------------------------------------------------------------------------
def yen(amount: int) -> str:
    """12300 -> "¥12,300" (-500 -> "-¥500")."""
    return f"-¥{-amount:,}" if amount < 0 else f"¥{amount:,}"


def _yen(value: object) -> str:
    return yen(value) if isinstance(value, int) and not isinstance(value, bool) \
        else "—" if value is None else str(value)


def _local_time(value: object) -> str:
    if isinstance(value, datetime):
        from terminal.day import TOKYO

        return value.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M:%S")
    return "—" if value is None else str(value)


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["yen"] = _yen
    env.policies["json.dumps_kwargs"] = {"sort_keys": True, "ensure_ascii": False}
    env.filters["jst"] = _local_time
    env.filters["urlpart"] = lambda value: quote(str(value), safe="")
    return env


ENV: Final = _environment()


def render(request: Request, template: str, context: Mapping[str, Any],
           status: int = 200) -> HTMLResponse:
    """The page ``template`` (in templates/) with ``context`` and the common variables."""
    user = optional_admin(request)
    token = csrf_token(request)

    def csrf_field() -> Markup:
        return Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, token)

    page = ENV.get_template(template).render({
        "request": request, "user": user, "csrf": token, "csrf_field": csrf_field,
        "can_write": bool(user and user.can_write), "nav": NAV, "path": request.url.path,
        "role_labels": ROLE_LABELS, **context})
    response = HTMLResponse(page, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    if user is None and request.cookies.get(LOGIN_CSRF_COOKIE) != token:
        response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict",
                            secure=settings_of(request).secure_cookie, path=PREFIX)
    return response


def redirect(url: str) -> RedirectResponse:
    """303 See Other (after a POST, the browser GETs ``url``)."""
    return RedirectResponse(url, status_code=303)
