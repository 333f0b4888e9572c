"""Console logins: sessions, wrong passwords, lockout, logout, idle expiry, CSRF on every
POST route, cookie flags, and the audit rows each of them writes."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import requests
from console.console_seed import (
    PASSWORD,
    ConsoleServer,
    concrete,
    console_routes,
    csrf_of,
    try_login,
)
from sqlalchemy import delete, select, update

from sync.server import console as console_package
from sync.server.admin import create_admin
from sync.server.console.models import AuditLog, ConsoleSession
from sync.server.console.web import token_hash
from sync.server.db import utcnow
from sync.server.models import Admin


def _audit(server: ConsoleServer, user: str) -> list[tuple[str, dict[str, object]]]:
    with server.engine.connect() as conn:
        rows = conn.execute(select(AuditLog.action, AuditLog.detail).where(
            AuditLog.user == user).order_by(AuditLog.id)).all()
    return [(action, json.loads(detail)) for action, detail in rows]


def test_login_page_then_session_then_logout(console: ConsoleServer) -> None:
    session = requests.Session()
    assert console.get(session, "/console/").headers["location"] == "/console/login"
    response = try_login(session, console.base_url, "admin", PASSWORD)
    assert response.status_code == 303 and response.headers["location"] == "/console/"
    cookie = response.headers["set-cookie"]
    assert "madoguchi_console=" in cookie and "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
    assert "Secure" not in cookie  # plain HTTP in the tests; MADOGUCHI_CONSOLE_SECURE_COOKIE
    page = console.get(session, "/console/")
    assert page.status_code == 200 and "admin" in page.text and "ログアウト" in page.text
    out = session.post(console.base_url + "/console/logout",
                       data={"csrf": csrf_of(page.text)}, allow_redirects=False, timeout=30)
    assert out.status_code == 303 and out.headers["location"] == "/console/login"
    assert console.get(session, "/console/").status_code == 303
    actions = [action for action, _ in _audit(console, "admin")]
    assert "login.ok" in actions and actions[-1] == "logout"


def test_wrong_password_and_unknown_user_look_the_same(console: ConsoleServer) -> None:
    wrong = try_login(requests.Session(), console.base_url, "auditor", "nope-nope")
    unknown = try_login(requests.Session(), console.base_url, "nobody-here", "nope-nope")
    assert wrong.status_code == unknown.status_code == 401
    assert "wrong user name or password" in wrong.text
    assert "wrong user name or password" in unknown.text
    assert ("login.fail", {"reason": "unknown user", "client": "127.0.0.1"}) in \
        _audit(console, "nobody-here")
    fails = [d for a, d in _audit(console, "auditor") if a == "login.fail"]
    assert fails and fails[-1]["reason"] == "wrong password"
    # a good login resets the failure count
    assert try_login(requests.Session(), console.base_url, "auditor", PASSWORD).status_code \
        == 303
    with console.engine.connect() as conn:
        assert conn.execute(select(Admin.failed).where(Admin.user == "auditor")).scalar() == 0


def test_lockout_after_five_failures(console: ConsoleServer) -> None:
    create_admin(console.engine, "locky", PASSWORD, role="auditor")
    for attempt in range(1, 5):
        response = try_login(requests.Session(), console.base_url, "locky", f"bad-{attempt}")
        assert response.status_code == 401 and "wrong user name" in response.text
    fifth = try_login(requests.Session(), console.base_url, "locky", "bad-5")
    assert fifth.status_code == 401 and "locked until" in fifth.text
    # now even the right password is refused
    right = try_login(requests.Session(), console.base_url, "locky", PASSWORD)
    assert right.status_code == 401 and "locked until" in right.text
    with console.engine.connect() as conn:
        until = conn.execute(select(Admin.locked_until).where(Admin.user == "locky")).scalar()
    assert until is not None
    assert timedelta(minutes=14) < until - utcnow() <= timedelta(minutes=15)
    actions = [action for action, _ in _audit(console, "locky")]
    assert actions == ["login.fail"] * 5 + ["lockout", "login.locked"]
    # the lock ends after its 15 minutes (moved into the past here)
    with console.engine.begin() as conn:
        conn.execute(update(Admin).where(Admin.user == "locky")
                     .values(locked_until=utcnow() - timedelta(seconds=1)))
    assert try_login(requests.Session(), console.base_url, "locky", PASSWORD).status_code \
        == 303


def test_idle_session_expires(console: ConsoleServer) -> None:
    session = console.session("auditor")
    assert console.get(session, "/console/").status_code == 200
    with console.engine.begin() as conn:
        conn.execute(update(ConsoleSession).where(ConsoleSession.user == "auditor").values(
            last_seen=utcnow() - timedelta(minutes=31)))
    response = console.get(session, "/console/")
    assert response.status_code == 303 and response.headers["location"] == "/console/login"
    token = session.cookies.get("madoguchi_console", path="/console")
    assert token
    with console.engine.connect() as conn:
        left = conn.execute(select(ConsoleSession.id).where(
            ConsoleSession.id == token_hash(token))).all()
    assert left == []  # the expired session is gone, not just ignored


def test_a_forged_cookie_is_anonymous(console: ConsoleServer) -> None:
    session = requests.Session()
    session.cookies.set("madoguchi_console", "forged-token", path="/console")
    assert console.get(session, "/console/").status_code == 303


@pytest.mark.parametrize("token", [None, "", "wrong-token"])
def test_csrf_refused_on_every_post_route(console: ConsoleServer, token: str | None) -> None:
    posts = sorted(path for method, path in console_routes(console.engine,
                                                           console.database_url)
                   if method == "POST")
    assert "/console/logout" in posts and "/console/day/{day}/{terminal}/explain" in posts
    session = console.session("admin")
    with console.engine.connect() as conn:
        before = conn.execute(select(AuditLog.id).order_by(AuditLog.id.desc())).first()
    for path in posts:
        data = {} if token is None else {"csrf": token}
        response = session.post(console.base_url + concrete(path), data={
            **data, "comment": "x", "facility": "f", "terminal": "t", "payload": "",
            "action": "add", "id": "c9", "name": "n", "role": "clerk"},
            allow_redirects=False, timeout=30)
        assert response.status_code == 403, (path, response.status_code)
        assert "CSRF" in response.text, path
    assert console.get(session, "/console/").status_code == 200  # still logged in
    with console.engine.connect() as conn:
        after = conn.execute(select(AuditLog.id).order_by(AuditLog.id.desc())).first()
    assert after == before  # nothing was done, so nothing audited


def test_login_form_needs_its_csrf_token(console: ConsoleServer) -> None:
    session = requests.Session()
    session.get(console.base_url + "/console/login", timeout=30)  # sets the cookie
    response = session.post(console.base_url + "/console/login", data={
        "user": "admin", "password": PASSWORD, "csrf": "not-the-cookie"},
        allow_redirects=False, timeout=30)
    assert response.status_code == 403
    fresh = requests.post(console.base_url + "/console/login", data={
        "user": "admin", "password": PASSWORD}, allow_redirects=False, timeout=30)
    assert fresh.status_code == 403


def test_secure_cookie_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(console_package.SECURE_COOKIE_ENV, "1")
    assert console_package._settings().secure_cookie is True
    monkeypatch.setenv(console_package.SECURE_COOKIE_ENV, "0")
    assert console_package._settings().secure_cookie is False


def test_logout_of_one_session_keeps_the_others(console: ConsoleServer) -> None:
    first, second = console.session("manager"), console.session("manager")
    page = console.get(first, "/console/")
    first.post(console.base_url + "/console/logout", data={"csrf": csrf_of(page.text)},
               allow_redirects=False, timeout=30)
    assert console.get(first, "/console/").status_code == 303
    assert console.get(second, "/console/").status_code == 200
    with console.engine.begin() as conn:
        conn.execute(delete(ConsoleSession).where(ConsoleSession.user == "manager"))
    assert console.get(second, "/console/").status_code == 303
