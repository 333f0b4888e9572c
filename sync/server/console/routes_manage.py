"""Management: publish a config version, one-time enrollment codes (shown once), revoke a
terminal (administrators only), and the clerks of a facility (administrators, and a facility
manager for their own facility). Every change is audited."""

from __future__ import annotations

import hashlib
import tomllib
from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.engine import Connection

from sync.server import configs, enroll
from sync.server.admin import revoke
from sync.server.console import clerks
from sync.server.console.web import (
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
    require,
    require_writer,
)
from sync.server.db import ServerError
from sync.server.models import ConfigVersion, Terminal
from terminal.clerks import ROLES as CLERK_ROLES

router = APIRouter(include_in_schema=False)
MAX_PAYLOAD: Final = 512 * 1024
MAX_CODE_HOURS: Final = 24 * 14
VERSIONS_SHOWN: Final = 20


def _facilities(conn: Connection, scope: set[str] | None) -> list[str]:
    names = set(conn.execute(select(Terminal.facility).distinct()).scalars())
    names |= set(conn.execute(select(ConfigVersion.facility).distinct()).scalars())
    return sorted(names if scope is None else names & scope)


def _refused(request: Request, message: str) -> Response:
    return render(request, "error.html", {"title": "できませんでした (not done)",
                                          "message": message}, status=422)


@router.get("/console/manage", response_class=HTMLResponse)
def manage_page(request: Request) -> Response:
    user = current_admin(request)
    scope = facility_scope(user)
    with engine_of(request).begin() as conn:
        facilities = _facilities(conn, scope)
        versions = {row.facility: row for row in conn.execute(select(
            ConfigVersion.facility, ConfigVersion.version, ConfigVersion.published_at)
            .order_by(ConfigVersion.version))}
        query = select(Terminal.terminal, Terminal.facility, Terminal.revoked_at)
        if scope is not None:
            query = query.where(Terminal.facility.in_(sorted(scope)))
        terminals = conn.execute(query.order_by(Terminal.facility, Terminal.terminal)).all()
    return render(request, "manage/index.html", {
        "facilities": facilities, "versions": versions, "terminals": terminals,
        "is_admin": user.role == "admin"})


@router.get("/console/manage/facility/{facility}", response_class=HTMLResponse)
def facility_page(request: Request, facility: str) -> Response:
    user = current_admin(request)
    check_facility(user, facility)
    with engine_of(request).begin() as conn:
        if facility not in _facilities(conn, None):
            raise not_found(f"施設 {facility}")
        history = conn.execute(select(
            ConfigVersion.version, ConfigVersion.sha256, ConfigVersion.published_at)
            .where(ConfigVersion.facility == facility)
            .order_by(ConfigVersion.version.desc()).limit(VERSIONS_SHOWN)).all()
    latest = configs.latest(engine_of(request), facility)
    payload = latest["payload"] if latest else ""
    try:
        clerk_list, problem = clerks.parse_clerks(payload), None
    except clerks.ClerkError as exc:
        clerk_list, problem = [], exc.args[0]
    return render(request, "manage/facility.html", {
        "facility": facility, "latest": latest, "history": history, "clerks": clerk_list,
        "problem": problem, "clerk_roles": CLERK_ROLES, "is_admin": user.role == "admin"})


def _publish(request: Request, user: Any, facility: str, payload: str,
             action: str, detail: dict[str, Any]) -> int:
    version = configs.publish(engine_of(request), facility, payload)
    with engine_of(request).begin() as conn:
        audit(conn, user, action, {
            "facility": facility, "version": version,
            "sha256": hashlib.sha256(payload.encode("utf-8")).hexdigest(), **detail})
    return version


@router.post("/console/manage/publish")
def publish_post(request: Request, form: PostedForm) -> Response:
    user = require(request, "admin")
    check_csrf(request, form)
    facility, payload = form.get("facility", "").strip(), form.get("payload", "")
    if not facility or len(facility) > 100:
        return _refused(request, "施設IDを入力してください (give the facility id, 1-100 chars)")
    if len(payload.encode("utf-8")) > MAX_PAYLOAD:
        return _refused(request, f"設定が大きすぎます (the config is over {MAX_PAYLOAD} bytes)")
    try:
        tomllib.loads(payload)
    except tomllib.TOMLDecodeError as exc:
        return _refused(request, f"設定が TOML として読めません (the config is not valid "
                                 f"TOML: {exc}); 公開していません (not published)")
    _publish(request, user, facility, payload, "config.publish", {})
    return redirect(f"/console/manage/facility/{facility}")


@router.post("/console/manage/enroll-code", response_class=HTMLResponse)
def enroll_code_post(request: Request, form: PostedForm) -> Response:
    user = require(request, "admin")
    check_csrf(request, form)
    facility, terminal = form.get("facility", "").strip(), form.get("terminal", "").strip()
    try:
        hours = float(form.get("hours", "24"))
        if not 0 < hours <= MAX_CODE_HOURS or len(facility) > 100 or len(terminal) > 100:
            raise ValueError(hours)
        code, expires = enroll.create_code(engine_of(request), facility, terminal, hours)
    except (ValueError, ServerError):
        return _refused(request, "施設ID・端末ID・有効時間 (1〜336時間) を確認してください "
                                 f"(check the facility, terminal and hours, 0 < h <= "
                                 f"{MAX_CODE_HOURS})")
    with engine_of(request).begin() as conn:
        audit(conn, user, "enroll.code", {"facility": facility, "terminal": terminal,
                                          "expires": expires.isoformat()})
    return render(request, "manage/code.html", {
        "code": code, "expires": expires, "facility": facility, "terminal": terminal})


@router.post("/console/manage/revoke")
def revoke_post(request: Request, form: PostedForm) -> Response:
    user = require(request, "admin")
    check_csrf(request, form)
    terminal = form.get("terminal", "")
    try:
        revoke(engine_of(request), terminal)
    except ServerError as exc:
        return _refused(request, f"端末 {terminal[:100]!r} はありません ({exc})")
    with engine_of(request).begin() as conn:
        audit(conn, user, "terminal.revoke", {"terminal": terminal})
    return redirect("/console/manage")


@router.post("/console/manage/facility/{facility}/clerks")
def clerks_post(request: Request, facility: str, form: PostedForm) -> Response:
    user = require_writer(request)
    check_csrf(request, form)
    check_facility(user, facility)
    latest = configs.latest(engine_of(request), facility)
    payload = latest["payload"] if latest else ""
    action = form.get("action", "")
    clerk_id = form.get("id", "").strip()
    try:
        current = clerks.parse_clerks(payload)
        if action == "add":
            changed = clerks.add_clerk(current, clerk_id, form.get("name", ""),
                                       form.get("role", "clerk"))
        elif action == "remove":
            changed = clerks.remove_clerk(current, clerk_id)
        else:
            raise clerks.ClerkError("action は add か remove です (action: add or remove)")
        new_payload = clerks.with_clerks(payload, changed)
    except clerks.ClerkError as exc:
        return _refused(request, exc.args[0])
    _publish(request, user, facility, new_payload, f"clerk.{action}", {"clerk": clerk_id})
    return redirect(f"/console/manage/facility/{facility}")
