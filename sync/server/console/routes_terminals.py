"""Terminal health: last sync, the backlog the terminal last reported, clock drift, the
chain status (verified, audit pending, or its fork / gap / chain / signature / format
alarms), the devices it reported and its app version."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from sync.server.console.web import (
    check_facility,
    current_admin,
    engine_of,
    facility_scope,
    not_found,
    render,
)
from sync.server.db import utcnow
from sync.server.models import Alarm, Head, Terminal, UncheckedSignatures

router = APIRouter(include_in_schema=False)
STALE_AFTER: Final = timedelta(hours=24)  # no request for this long: shown as silent
DRIFT_WARN_SECONDS: Final = 60
ALARM_LABELS: Final[dict[str, str]] = {
    "fork": "分岐 (fork)", "gap": "欠番 (gap)", "chain": "連鎖不正 (chain)",
    "signature": "署名不正 (signature)", "format": "形式不正 (format)"}


@dataclass(frozen=True)
class Health:
    terminal: str
    facility: str
    revoked_at: datetime | None
    last_seen: datetime | None
    status_at: datetime | None
    ack: int
    pending: int | None
    drift_seconds: int | None
    app_version: str | None
    devices: dict[str, Any]
    last_error: str | None
    alarms: dict[str, int]  # kind -> count
    unchecked: int  # stored entries whose signatures the audit has not checked yet

    @property
    def chain(self) -> str:
        if self.alarms:
            return " / ".join(f"{ALARM_LABELS.get(k, k)} ×{n}" for k, n in self.alarms.items())
        return "監査待ち (audit pending)" if self.unchecked else "検証済み (verified)"

    @property
    def chain_ok(self) -> bool:
        return not self.alarms

    @property
    def silent(self) -> bool:
        return self.last_seen is None or utcnow() - self.last_seen > STALE_AFTER

    @property
    def drift_warn(self) -> bool:
        return self.drift_seconds is not None and abs(self.drift_seconds) > DRIFT_WARN_SECONDS


def _devices(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {"?": text}
    return value if isinstance(value, dict) else {"?": value}


def health(conn: Connection, scope: set[str] | None,
           terminal: str | None = None) -> list[Health]:
    query = select(*Terminal.__table__.columns, Head.ack).outerjoin(
        Head, Head.terminal == Terminal.terminal)
    if scope is not None:
        query = query.where(Terminal.facility.in_(sorted(scope)))
    if terminal is not None:
        query = query.where(Terminal.terminal == terminal)
    rows = conn.execute(query.order_by(Terminal.facility, Terminal.terminal)).all()
    alarms: dict[str, dict[str, int]] = {}
    for name, kind, count in conn.execute(select(Alarm.terminal, Alarm.kind, func.count())
                                          .group_by(Alarm.terminal, Alarm.kind)):
        alarms.setdefault(name, {})[kind] = int(count)
    unchecked = {name: count for name, count in conn.execute(select(
        UncheckedSignatures.terminal,
        func.sum(UncheckedSignatures.last_seq - UncheckedSignatures.first_seq + 1))
        .group_by(UncheckedSignatures.terminal))}
    return [_health(row, alarms, unchecked) for row in rows]


def _health(row: Any, alarms: dict[str, dict[str, int]],
            unchecked: dict[str, Any]) -> Health:
    return Health(
        terminal=row.terminal, facility=row.facility, revoked_at=row.revoked_at,
        last_seen=row.last_seen, status_at=row.status_at, ack=row.ack or 0,
        pending=row.pending, drift_seconds=row.drift_seconds, app_version=row.app_version,
        devices=_devices(row.devices), last_error=row.last_error,
        alarms=alarms.get(row.terminal, {}), unchecked=int(unchecked.get(row.terminal) or 0))


@router.get("/console/terminals", response_class=HTMLResponse)
def terminals_page(request: Request) -> Response:
    user = current_admin(request)
    with engine_of(request).begin() as conn:
        rows = health(conn, facility_scope(user))
    return render(request, "terminals/list.html", {"rows": rows})


@router.get("/console/terminals/{terminal}", response_class=HTMLResponse)
def terminal_page(request: Request, terminal: str) -> Response:
    user = current_admin(request)
    with engine_of(request).begin() as conn:
        rows = health(conn, None, terminal)
        if not rows:
            raise not_found(f"端末 {terminal}")
        check_facility(user, rows[0].facility)
        alarms = conn.execute(select(Alarm.kind, Alarm.seq, Alarm.message, Alarm.at).where(
            Alarm.terminal == terminal).order_by(Alarm.id.desc()).limit(200)).all()
    return render(request, "terminals/detail.html", {"t": rows[0], "alarms": alarms,
                                                     "alarm_labels": ALARM_LABELS})
