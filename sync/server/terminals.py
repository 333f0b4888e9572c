"""What an authenticated terminal may read or report: its head, its own stored lines (for
restore), its status, and receipts of its facility."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine, select, update

from sync import protocol
from sync.server.auth import Caller
from sync.server.db import utcnow
from sync.server.errors import ApiError
from sync.server.models import Head, StoredEntry, Terminal
from sync.server.sql import storable


def server_time() -> str:
    return utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")


def head(engine: Engine, terminal: str) -> dict[str, Any]:
    with engine.begin() as conn:
        row = conn.execute(select(Head.ack, Head.head_hash)
                           .where(Head.terminal == terminal)).one_or_none()
    ack, head_hash = (0, None) if row is None else (row.ack, row.head_hash)
    return {"ack": ack, "head_hash": head_hash, "server_time": server_time()}


def _int_param(query: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    text = query.get(name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise ApiError(422, "format", f"query parameter {name}={text[:20]!r} must be an int "
                       f"from {low} to {high}")
    return value


def entries(engine: Engine, terminal: str, query: Mapping[str, str]) -> dict[str, Any]:
    from_seq = _int_param(query, "from_seq", 1, 1, 2**31 - 1)
    limit = _int_param(query, "limit", protocol.MAX_BATCH_ENTRIES, 1,
                       protocol.MAX_BATCH_ENTRIES)
    with engine.begin() as conn:
        ack = conn.execute(select(Head.ack).where(Head.terminal == terminal)).scalar() or 0
        lines = conn.execute(select(StoredEntry.line).where(
            StoredEntry.terminal == terminal, StoredEntry.seq >= from_seq,
            StoredEntry.seq <= ack).order_by(StoredEntry.seq).limit(limit)).scalars().all()
    return {"entries": list(lines), "ack": ack}


def _opt(body: Mapping[str, Any], name: str, kind: type) -> Any:
    value = body.get(name)
    if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
        raise ApiError(422, "format", f"status field {name} must be {kind.__name__} or null")
    text = json.dumps(value, ensure_ascii=False) if isinstance(value, dict) else value
    if isinstance(text, str) and not storable(text):
        raise ApiError(422, "format", f"status field {name} holds U+0000 or a lone surrogate")
    return value


def status(engine: Engine, terminal: str, body: Mapping[str, Any]) -> None:
    app_version = _opt(body, "app_version", str)
    pending = _opt(body, "pending", int)
    if pending is not None and not 0 <= pending < 2**31:
        raise ApiError(422, "format", f"status field pending={pending} is out of range")
    devices = _opt(body, "devices", dict)
    last_error = _opt(body, "last_error", str)
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(update(Terminal).where(Terminal.terminal == terminal).values(
            app_version=None if app_version is None else app_version[:100],
            pending=pending, last_error=None if last_error is None else last_error[:2000],
            devices=None if devices is None else json.dumps(devices, ensure_ascii=False),
            status_at=now, last_seen=now))


def receipt(engine: Engine, caller: Caller, facility: str, receipt_no: str) -> dict[str, Any]:
    if caller.facility != facility:
        raise ApiError(403, "forbidden", f"terminal {caller.terminal!r} belongs to facility "
                       f"{caller.facility!r}; it may not look up receipts of {facility!r}")
    if not storable(receipt_no):  # journal strings never hold U+0000 or lone surrogates
        raise ApiError(404, "not_found", f"no sale with receipt number {receipt_no!r} "
                       f"has reached the server for facility {facility!r}")
    with engine.begin() as conn:
        sale = conn.execute(select(StoredEntry.terminal, StoredEntry.seq, StoredEntry.line)
                            .join(Terminal, Terminal.terminal == StoredEntry.terminal)
                            .where(Terminal.facility == facility, StoredEntry.kind == "sale",
                                   StoredEntry.receipt_no == receipt_no)
                            .order_by(StoredEntry.received_at).limit(1)).one_or_none()
        if sale is None:
            raise ApiError(404, "not_found", f"no sale with receipt number {receipt_no!r} "
                           f"has reached the server for facility {facility!r}")
        refunds = conn.execute(select(StoredEntry.line).where(
            StoredEntry.original_terminal == sale.terminal,
            StoredEntry.original_seq == sale.seq, StoredEntry.kind.in_(("refund", "void")),
        ).order_by(StoredEntry.received_at, StoredEntry.terminal, StoredEntry.seq)).scalars()
        return {"terminal": sale.terminal, "seq": sale.seq, "line": sale.line,
                "refunds": list(refunds)}
