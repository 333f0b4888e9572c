"""Enrollment: one-time codes (only their SHA-256 is stored), single use, expiring; failed
attempts are counted per client address in the database (several server processes share it).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import Engine, delete, func, insert, select, update
from sqlalchemy.engine import Connection

from sync.server.db import ServerError, utcnow
from sync.server.errors import ApiError
from sync.server.keys import server_key
from sync.server.models import EnrollCode, EnrollFailure, Head, Terminal
from sync.server.sql import insert_ignore, storable
from terminal.errors import JournalError
from terminal.journal.keys import load_public_key

MAX_FAILURES: Final = 10
FAILURE_WINDOW: Final = timedelta(minutes=10)
FIELDS: Final = ("code", "terminal", "facility", "public_key")


def normalize_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def hash_code(code: str) -> str:
    return hashlib.sha256(normalize_code(code).encode("utf-8")).hexdigest()


def create_code(engine: Engine, facility: str, terminal: str,
                hours: float = 24) -> tuple[str, datetime]:
    """A fresh one-time code for ``terminal`` of ``facility`` (80 random bits) and its expiry."""
    if not facility or not terminal or hours <= 0:
        raise ServerError("enroll-code needs a facility, a terminal and --expires-hours > 0")
    raw = base64.b32encode(secrets.token_bytes(10)).decode("ascii")
    code = "-".join(raw[i:i + 4] for i in range(0, len(raw), 4))
    now = utcnow()
    expires = now + timedelta(hours=hours)
    with engine.begin() as conn:
        conn.execute(insert(EnrollCode).values(
            code_hash=hash_code(code), facility=facility, terminal=terminal,
            created_at=now, expires_at=expires, used_at=None))
    return code, expires


def _request(body: Mapping[str, Any]) -> dict[str, str]:
    bad = [name for name in FIELDS if not isinstance(body.get(name), str) or not body[name]
           or not storable(body[name])]
    if bad:
        raise ApiError(422, "format", f"enroll request lacks string field(s) {', '.join(bad)} "
                       "(non-empty, without U+0000 or lone surrogates); "
                       f"send {{{', '.join(FIELDS)}}}")
    try:
        load_public_key(body["public_key"])
    except JournalError as exc:
        raise ApiError(422, "format", str(exc)) from None
    return {name: str(body[name]) for name in FIELDS}


def _check_rate(engine: Engine, client: str, now: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(delete(EnrollFailure).where(EnrollFailure.at < now - FAILURE_WINDOW))
        failures = conn.execute(select(func.count()).select_from(EnrollFailure).where(
            EnrollFailure.client == client)).scalar_one()
    if failures >= MAX_FAILURES:
        error = ApiError(429, "rate_limited",
                         f"too many failed enrollment attempts from {client}; wait 10 minutes "
                         "and check the code")
        error.headers["Retry-After"] = str(int(FAILURE_WINDOW.total_seconds()))
        raise error


def _why_refused(conn: Connection, req: Mapping[str, str], now: datetime) -> str:
    code = conn.execute(select(
        EnrollCode.used_at, EnrollCode.expires_at, EnrollCode.terminal, EnrollCode.facility,
    ).where(EnrollCode.code_hash == hash_code(req["code"]))).one_or_none()
    if code is None:
        return "the enrollment code is not known; check it or ask for a new one"
    if code.used_at is not None:
        return "the enrollment code was already used; ask for a new one"
    if code.expires_at <= now:
        return "the enrollment code has expired; ask for a new one"
    return (f"the enrollment code was issued for terminal {code.terminal!r} of facility "
            f"{code.facility!r}, not {req['terminal']!r} of {req['facility']!r}")


def _refuse_rekeying_a_journal(conn: Connection, req: Mapping[str, str]) -> None:
    """A terminal whose journal the server already holds keeps its key: entries are verified
    against the enrolled key, and an old key is not kept. A replaced counter restores its key
    from backup (same key: allowed); a new key means a new terminal id."""
    enrolled = conn.execute(select(Terminal.public_key).where(
        Terminal.terminal == req["terminal"])).scalar()
    ack = conn.execute(select(Head.ack).where(Head.terminal == req["terminal"])).scalar()
    if enrolled != req["public_key"] and (ack or 0) > 0:
        raise ApiError(409, "conflict", f"terminal {req['terminal']!r} already has {ack} "
                       "journal entries signed with its enrolled key; restore that key from "
                       "the counter's backup, or enroll the new key under a new terminal id")


def _register(conn: Connection, req: Mapping[str, str], now: datetime) -> None:
    facility = conn.execute(select(Terminal.facility).where(
        Terminal.terminal == req["terminal"])).scalar()
    if facility is not None and facility != req["facility"]:
        raise ApiError(409, "conflict", f"terminal {req['terminal']!r} is enrolled for "
                       f"facility {facility!r}; use another terminal id")
    if facility is None:
        conn.execute(insert(Terminal).values(
            terminal=req["terminal"], facility=req["facility"],
            public_key=req["public_key"], enrolled_at=now))
    else:
        _refuse_rekeying_a_journal(conn, req)
        conn.execute(update(Terminal).where(Terminal.terminal == req["terminal"]).values(
            public_key=req["public_key"], enrolled_at=now, revoked_at=None))
    conn.execute(insert_ignore(conn, Head.__table__, ["terminal"]).values(
        terminal=req["terminal"], ack=0, head_hash=None))


def enroll(engine: Engine, client: str, body: Mapping[str, Any]) -> dict[str, str]:
    """Use a code: register the terminal key (exactly one of racing uses wins)."""
    req = _request(body)
    now = utcnow()
    _check_rate(engine, client, now)
    with engine.begin() as conn:
        used = conn.execute(update(EnrollCode).where(
            EnrollCode.code_hash == hash_code(req["code"]), EnrollCode.used_at.is_(None),
            EnrollCode.expires_at > now, EnrollCode.terminal == req["terminal"],
            EnrollCode.facility == req["facility"]).values(used_at=now)).rowcount
        if used == 1:
            _register(conn, req, now)
            return {"terminal": req["terminal"], "facility": req["facility"],
                    "server_public_key": server_key(conn).public_key_b64}
        why = _why_refused(conn, req, now)
    with engine.begin() as conn:
        conn.execute(insert(EnrollFailure).values(client=client[:100], at=now))
    raise ApiError(403, "enroll", why)
