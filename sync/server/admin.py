"""Administration: administrators (argon2 password hashes), revocation, report text."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from argon2 import PasswordHasher
from sqlalchemy import Engine, insert, select, update

from sync.server.db import ServerError, utcnow
from sync.server.models import Admin, Terminal
from terminal.reports import format_report

ADMIN_ROLES = ("admin", "auditor", "facility_manager")


def _check_role(role: str, facility: str | None) -> None:
    if role not in ADMIN_ROLES:
        raise ServerError(f"--role {role!r} is not one of {', '.join(ADMIN_ROLES)}")
    if (role == "facility_manager") != bool(facility):
        raise ServerError("--facility is required for --role facility_manager, and only "
                          "for it (admin and auditor see every facility)")


def create_admin(engine: Engine, user: str, password: str, replace: bool = False,
                 role: str = "admin", facility: str | None = None) -> None:
    """Create (or with ``replace`` reset) an administrator: a new password, role and
    facility; a reset also unlocks the account."""
    if not user:
        raise ServerError("--user must not be empty")
    _check_role(role, facility)
    digest = PasswordHasher().hash(password)
    values = {"password_hash": digest, "role": role, "facility": facility or None,
              "failed": 0, "locked_until": None}
    with engine.begin() as conn:
        exists = conn.execute(select(Admin.user).where(Admin.user == user)).scalar()
        if exists is not None and not replace:
            raise ServerError(f"administrator {user!r} exists; add --replace to set a new "
                              "password")
        if exists is None:
            conn.execute(insert(Admin).values(user=user, created_at=utcnow(), **values))
        else:
            conn.execute(update(Admin).where(Admin.user == user).values(**values))


def check_admin(engine: Engine, user: str, password: str) -> bool:
    from argon2.exceptions import Argon2Error

    with engine.begin() as conn:
        digest = conn.execute(select(Admin.password_hash).where(Admin.user == user)).scalar()
    if digest is None:
        return False
    try:
        return PasswordHasher().verify(digest, password)
    except Argon2Error:
        return False


def revoke(engine: Engine, terminal: str) -> None:
    with engine.begin() as conn:
        done = conn.execute(update(Terminal).where(Terminal.terminal == terminal)
                            .values(revoked_at=utcnow())).rowcount
    if done != 1:
        raise ServerError(f"no enrolled terminal {terminal!r}; check the id")


def format_day_report(report: Mapping[str, Any]) -> str:
    """Text: one block per terminal, then all terminals together."""
    day = report["day"]
    terminals = cast(Mapping[str, Mapping[str, object]], report["terminals"])
    if not terminals:
        return f"営業日 (day) {day}: no entries stored for this day\n"
    parts = []
    for terminal, totals in terminals.items():
        if "error" in totals:
            parts.append(f"端末 (terminal) {terminal}: {totals['error']}\n")
        else:
            parts.append(format_report({"day": day, **totals}, f"端末 (terminal) {terminal}"))
    parts.append(format_report({"day": day, **report["all"]},
                               f"全端末 (all {len(terminals)} terminals)"))
    return "\n".join(parts)
