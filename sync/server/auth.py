"""Request authentication: the sync.protocol signature by the enrolled terminal key, the
timestamp window, one-time nonces (a replay is refused) and the terminal's clock drift."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.engine import Connection, Row

from sync import protocol
from sync.server.db import utcnow
from sync.server.errors import ApiError
from sync.server.models import Nonce, Terminal
from sync.server.sql import insert_ignore

SIGNED_HEADERS = (
    protocol.HEADER_TERMINAL, protocol.HEADER_TIMESTAMP, protocol.HEADER_NONCE,
    protocol.HEADER_SIGNATURE,
)
MAX_NONCE_LEN = 100
MAX_DRIFT = 2**31 - 1
TerminalRow = Row[str, str, str, datetime | None]


@dataclass(frozen=True)
class Caller:
    terminal: str
    facility: str
    public_key: str


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message)


def _required(headers: Mapping[str, str]) -> dict[str, str]:
    missing = [name for name in SIGNED_HEADERS if not headers.get(name)]
    if missing:
        raise _unauthorized(
            f"missing header(s) {', '.join(missing)}: sign every request with the terminal key "
            "(sync.protocol.sign_request)"
        )
    return {name: headers[name] for name in SIGNED_HEADERS}


def _check_time(signed: Mapping[str, str], now: datetime) -> datetime:
    moment = protocol.parse_timestamp(signed[protocol.HEADER_TIMESTAMP])
    if moment is None:
        raise _unauthorized(
            f"{protocol.HEADER_TIMESTAMP} {signed[protocol.HEADER_TIMESTAMP][:40]!r} is not "
            "YYYY-MM-DDTHH:MM:SSZ (UTC)"
        )
    off = (moment - now).total_seconds()
    if abs(off) > protocol.CLOCK_WINDOW_SECONDS:
        raise _unauthorized(
            f"request timestamp {signed[protocol.HEADER_TIMESTAMP]} is {off:+.0f} s from the "
            f"server clock ({now:%Y-%m-%dT%H:%M:%SZ}), outside the allowed window of "
            f"±{protocol.CLOCK_WINDOW_SECONDS} s; set the terminal's clock (NTP) and retry"
        )
    return moment


def _terminal_clock(headers: Mapping[str, str], fallback: datetime) -> datetime:
    text = headers.get(protocol.HEADER_CLOCK)
    if not text:
        return fallback
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return fallback
    return fallback if moment.tzinfo is None else moment


def _use_nonce(conn: Connection, terminal: str, nonce: str, now: datetime) -> None:
    if len(nonce) > MAX_NONCE_LEN:
        raise _unauthorized(f"{protocol.HEADER_NONCE} is longer than {MAX_NONCE_LEN} characters")
    cutoff = now - timedelta(seconds=2 * protocol.CLOCK_WINDOW_SECONDS)
    conn.execute(delete(Nonce).where(Nonce.at < cutoff))
    stmt = insert_ignore(conn, Nonce.__table__, ["terminal", "nonce"])
    stmt = stmt.values(terminal=terminal, nonce=nonce, at=now).returning(Nonce.nonce)
    if conn.execute(stmt).first() is None:
        raise _unauthorized(
            f"nonce {nonce[:40]!r} was already used: replayed request refused "
            "(sign each request afresh)"
        )


def _verify(row: TerminalRow, signed: Mapping[str, str], method: str, paths: Sequence[str],
            body: bytes, path_terminal: str | None) -> None:
    if not any(protocol.check_request_signature(row.public_key, signed, method, path, body)
               for path in paths):
        raise _unauthorized(
            f"bad request signature for terminal {row.terminal!r}: it was not made by the "
            "enrolled key over this method, path, timestamp, nonce and body"
        )
    if row.revoked_at is not None:
        raise ApiError(403, "revoked",
                       f"terminal {row.terminal!r} was revoked on {row.revoked_at:%Y-%m-%d}; "
                       "ask an administrator to enroll it again")
    if path_terminal is not None and path_terminal != row.terminal:
        raise ApiError(403, "forbidden",
                       f"terminal {row.terminal!r} may not use the journal of "
                       f"{path_terminal!r}: a terminal can write only its own journal")


def authenticate(engine: Engine, headers: Mapping[str, str], method: str,
                 paths: Sequence[str], body: bytes, path_terminal: str | None) -> Caller:
    """The calling terminal, or ApiError 401/403. ``paths``: the request path with its query
    (decoded, then raw) as the signature may cover either."""
    signed = _required(headers)
    now = utcnow()
    terminal = signed[protocol.HEADER_TERMINAL]
    with engine.begin() as conn:
        row = conn.execute(
            select(Terminal.terminal, Terminal.facility, Terminal.public_key,
                   Terminal.revoked_at).where(Terminal.terminal == terminal)
        ).one_or_none()
        if row is None:
            raise _unauthorized(
                f"unknown terminal {terminal[:100]!r}: enroll it first ('madoguchi enroll' "
                "with a code from 'madoguchi server enroll-code')"
            )
        _verify(row, signed, method, paths, body, path_terminal)
        moment = _check_time(signed, now)
        _use_nonce(conn, terminal, signed[protocol.HEADER_NONCE], now)
        drift = round((_terminal_clock(headers, moment) - now).total_seconds())
        drift = max(-MAX_DRIFT, min(MAX_DRIFT, drift))  # the INTEGER column's range
        conn.execute(update(Terminal).where(Terminal.terminal == terminal)
                     .values(drift_seconds=drift, last_seen=now))
        return Caller(row.terminal, row.facility, row.public_key)
