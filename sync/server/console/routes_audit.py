"""The audit log: every administrator action, newest first (administrators and auditors;
a facility manager's actions are read by them, not by the manager)."""

from __future__ import annotations

import json
from typing import Final

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select

from sync.server.console.models import AuditLog
from sync.server.console.web import engine_of, render, require

router = APIRouter(include_in_schema=False)
PAGE: Final = 100


@router.get("/console/audit", response_class=HTMLResponse)
def audit_page(request: Request, page: int = 1, action: str = "", user: str = "") -> Response:
    require(request, "admin", "auditor")
    page = max(1, min(page, 100_000))
    query = select(AuditLog.id, AuditLog.at, AuditLog.user, AuditLog.action, AuditLog.detail)
    where = []
    if action:
        where.append(AuditLog.action.startswith(action[:100], autoescape=True))
    if user:
        where.append(AuditLog.user == user[:100])
    with engine_of(request).begin() as conn:
        total = conn.execute(select(func.count()).select_from(AuditLog).where(*where)
                             ).scalar_one()
        rows = conn.execute(query.where(*where).order_by(AuditLog.id.desc())
                            .offset((page - 1) * PAGE).limit(PAGE)).all()
    entries = [{"at": r.at, "user": r.user, "action": r.action,
                "detail": json.loads(r.detail)} for r in rows]
    return render(request, "audit.html", {
        "entries": entries, "page": page, "pages": max(1, -(-total // PAGE)),
        "action": action, "who": user, "total": total})
