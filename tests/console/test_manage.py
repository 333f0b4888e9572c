"""Management pages (publish a config, enrollment codes, revoke, clerks) and terminal
health (status report, drift, chain status); each change is audited. Plus the
``create-admin --role/--facility`` command."""

from __future__ import annotations

import io
import json
import re
import tomllib

import pytest
from console.console_seed import MUSEUM, ConsoleServer
from sqlalchemy import insert, select, update

from madoguchi.cli import main
from sync.server.admin import create_admin
from sync.server.configs import latest
from sync.server.console import clerks
from sync.server.console.models import AuditLog
from sync.server.db import ServerError, utcnow
from sync.server.enroll import hash_code
from sync.server.models import Admin, Alarm, EnrollCode, Terminal

CONFIG = '[facility]\nname = "はっちミュージアム"\n\n[tax]\nrounding = "floor"\n'


def _last_audit(server: ConsoleServer, action: str) -> dict[str, object]:
    with server.engine.connect() as conn:
        detail = conn.execute(select(AuditLog.detail).where(AuditLog.action == action)
                              .order_by(AuditLog.id.desc())).scalars().first()
    assert detail is not None, f"no {action} in the audit log"
    found: dict[str, object] = json.loads(detail)
    return found


def test_publish_and_clerks(console: ConsoleServer) -> None:
    admin = console.session("admin")
    done = console.post(admin, "/console/manage/publish",
                        {"facility": MUSEUM, "payload": CONFIG}, csrf_from="/console/manage")
    assert done.status_code == 303
    first = latest(console.engine, MUSEUM)
    assert first is not None and first["payload"] == CONFIG
    assert _last_audit(console, "config.publish")["version"] == first["version"]
    refused = console.post(admin, "/console/manage/publish",
                           {"facility": MUSEUM, "payload": "[broken"})
    assert refused.status_code == 422 and "TOML" in refused.text
    # a facility manager adds and removes clerks of their own facility
    manager = console.session("manager")
    page = f"/console/manage/facility/{MUSEUM}"
    for clerk_id, name in (("c1", "八戸 花子"), ("c2", 'O"Brien \\ 二郎')):
        response = console.post(manager, page + "/clerks", {
            "action": "add", "id": clerk_id, "name": name, "role": "clerk"}, csrf_from=page)
        assert response.status_code == 303, response.text
    payload = latest(console.engine, MUSEUM)
    assert payload is not None and payload["version"] == first["version"] + 2
    parsed = tomllib.loads(payload["payload"])
    assert parsed["facility"] == {"name": "はっちミュージアム"}
    assert parsed["clerks"] == [{"id": "c1", "name": "八戸 花子", "role": "clerk"},
                                {"id": "c2", "name": 'O"Brien \\ 二郎', "role": "clerk"}]
    assert _last_audit(console, "clerk.add")["clerk"] == "c2"
    assert "八戸 花子" in console.get(manager, page).text
    duplicate = console.post(manager, page + "/clerks", {
        "action": "add", "id": "c1", "name": "x", "role": "clerk"}, csrf_from=page)
    assert duplicate.status_code == 422
    assert console.post(manager, page + "/clerks", {"action": "remove", "id": "c1"},
                        csrf_from=page).status_code == 303
    after = latest(console.engine, MUSEUM)
    assert after is not None
    assert [c.id for c in clerks.parse_clerks(after["payload"])] == ["c2"]
    assert _last_audit(console, "clerk.remove")["clerk"] == "c1"


def test_enrollment_code_is_shown_once_and_revoke(console: ConsoleServer) -> None:
    admin = console.session("admin")
    page = console.post(admin, "/console/manage/enroll-code", {
        "facility": MUSEUM, "terminal": "museum-03", "hours": "2"},
        csrf_from="/console/manage")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    code = re.search(r'id="code">([A-Z2-7-]+)<', page.text)
    assert code
    with console.engine.connect() as conn:
        stored = conn.execute(select(EnrollCode.terminal).where(
            EnrollCode.code_hash == hash_code(code.group(1)))).scalar()
    assert stored == "museum-03"
    audited = _last_audit(console, "enroll.code")
    assert audited["terminal"] == "museum-03" and code.group(1) not in json.dumps(audited)
    gone = console.post(admin, "/console/manage/revoke", {"terminal": "library-01"},
                        csrf_from="/console/manage")
    assert gone.status_code == 303
    with console.engine.connect() as conn:
        assert conn.execute(select(Terminal.revoked_at).where(
            Terminal.terminal == "library-01")).scalar() is not None
    assert _last_audit(console, "terminal.revoke") == {"terminal": "library-01"}
    with console.engine.begin() as conn:  # give it back to the other tests
        conn.execute(update(Terminal).where(Terminal.terminal == "library-01")
                     .values(revoked_at=None))


def test_terminal_health(console: ConsoleServer) -> None:
    with console.engine.begin() as conn:
        conn.execute(update(Terminal).where(Terminal.terminal == "museum-01").values(
            last_seen=utcnow(), pending=7, drift_seconds=-95, app_version="0.1.0",
            devices=json.dumps({"printer": "ok", "drawer": "paper low"}), status_at=utcnow()))
        conn.execute(insert(Alarm).values(
            terminal="museum-02", kind="fork", seq=4, stored_hash="a" * 64,
            offered_hash="b" * 64, message="fork at seq 4", at=utcnow()))
    admin = console.session("admin")
    page = console.get(admin, "/console/terminals").text
    row = re.search(r'data-terminal="museum-01">(.*?)</tr>', page, re.S)
    assert row
    text = re.sub(r"<[^>]+>", " ", row.group(1))
    assert re.search(r"\b7\b", text) and "-95 s" in text and "0.1.0" in text
    assert "drawer: paper low" in text
    assert "検証済み (verified)" in text or "監査待ち (audit pending)" in text
    bad = re.search(r'data-terminal="museum-02">(.*?)</tr>', page, re.S)
    assert bad and "分岐 (fork) ×1" in bad.group(1)
    detail = console.get(admin, "/console/terminals/museum-02").text
    assert "fork at seq 4" in detail


def test_create_admin_roles(console: ConsoleServer, capsys: pytest.CaptureFixture[str],
                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("correct horse battery\n"))
    assert main(["server", "create-admin", "--database", console.database_url, "--user",
                 "fm2", "--role", "facility_manager", "--facility", MUSEUM]) == 0
    assert "facility_manager" in capsys.readouterr().out
    with console.engine.connect() as conn:
        row = conn.execute(select(Admin.role, Admin.facility).where(Admin.user == "fm2")).one()
    assert tuple(row) == ("facility_manager", MUSEUM)
    with pytest.raises(ServerError, match="--facility is required"):
        create_admin(console.engine, "fm3", "pw-pw-pw-pw", role="facility_manager")
    with pytest.raises(ServerError, match="not one of"):
        create_admin(console.engine, "x", "pw-pw-pw-pw", role="root")
