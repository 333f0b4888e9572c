"""Console logins: argon2 password check, lockout after repeated failures (per user, in the
database, so every server process agrees), server-side sessions. Every outcome is audited."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import Argon2Error
from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.engine import Connection

from sync.server.console.models import ConsoleSession
from sync.server.console.web import Settings, audit, token_hash
from sync.server.db import utcnow
from sync.server.models import Admin

WRONG: Final = ("ユーザー名またはパスワードが違います "
                "(wrong user name or password)")
_HASHER: Final = PasswordHasher()
_DUMMY_HASH: Final = _HASHER.hash("not a password: equalises the time of unknown users")
MAX_USER_LEN: Final = 100


class LoginRefused(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class NewSession:
    token: str  # the cookie value (only its SHA-256 is stored)
    user: str


def _verify(digest: str, password: str) -> bool:
    try:
        return _HASHER.verify(digest, password)
    except Argon2Error:
        return False


def _locked_message(until: datetime) -> str:
    from terminal.day import TOKYO

    local = until.astimezone(TOKYO).strftime("%H:%M")
    return (f"ログインに続けて失敗したため、このアカウントは {local} までロックされています "
            f"(too many failed logins: this account is locked until {local} JST)")


def _fail(conn: Connection, user: str, failed: int, settings: Settings,
          now: datetime, client: str) -> str:
    """Count a failed password; lock the account at ``max_failures``; the message."""
    failed += 1
    if failed < settings.max_failures:
        conn.execute(update(Admin).where(Admin.user == user).values(failed=failed))
        audit(conn, user, "login.fail", {"reason": "wrong password", "client": client,
                                         "failed": failed})
        return WRONG
    until = now + timedelta(minutes=settings.lockout_minutes)
    conn.execute(update(Admin).where(Admin.user == user).values(failed=0, locked_until=until))
    audit(conn, user, "login.fail", {"reason": "wrong password", "client": client,
                                     "failed": failed})
    audit(conn, user, "lockout", {"until": until.isoformat(), "client": client,
                                  "minutes": settings.lockout_minutes})
    return _locked_message(until)


def _open_session(conn: Connection, user: str, settings: Settings, now: datetime) -> str:
    token = secrets.token_urlsafe(32)
    stale = now - timedelta(minutes=settings.idle_minutes)
    conn.execute(delete(ConsoleSession).where(ConsoleSession.user == user,
                                              ConsoleSession.last_seen < stale))
    conn.execute(insert(ConsoleSession).values(
        id=token_hash(token), user=user, csrf=secrets.token_urlsafe(32), created_at=now,
        last_seen=now))
    return token


def login(engine: Engine, settings: Settings, user: str, password: str,
          client: str) -> NewSession:
    """A new session for ``user``, or LoginRefused (audited either way)."""
    user = user.strip()[:MAX_USER_LEN]
    now = utcnow()
    with engine.begin() as conn:
        row = conn.execute(select(Admin.password_hash, Admin.failed, Admin.locked_until)
                           .where(Admin.user == user).with_for_update()).one_or_none()
        if row is None:
            _verify(_DUMMY_HASH, password)  # same time as a known user: no user probing
            audit(conn, user, "login.fail", {"reason": "unknown user", "client": client})
            message = WRONG
        elif row.locked_until is not None and row.locked_until > now:
            audit(conn, user, "login.locked", {"client": client,
                                               "until": row.locked_until.isoformat()})
            message = _locked_message(row.locked_until)
        elif not _verify(row.password_hash, password):
            message = _fail(conn, user, row.failed, settings, now, client)
        else:
            conn.execute(update(Admin).where(Admin.user == user).values(
                failed=0, locked_until=None))
            token = _open_session(conn, user, settings, now)
            audit(conn, user, "login.ok", {"client": client})
            return NewSession(token, user)
    raise LoginRefused(message)


def logout(engine: Engine, token: str | None, user: str) -> None:
    with engine.begin() as conn:
        if token:
            conn.execute(delete(ConsoleSession).where(ConsoleSession.id == token_hash(token)))
        audit(conn, user, "logout", {})
