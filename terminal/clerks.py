"""Clerks, their PINs (argon2id hashes) and the login lockout. Pure: no file I/O."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import cache
from typing import Final, Literal, get_args

from argon2 import PasswordHasher
from argon2.exceptions import Argon2Error, InvalidHashError

from terminal.errors import DomainError

Role = Literal["clerk", "supervisor", "admin"]
ROLES: Final[tuple[Role, ...]] = get_args(Role)
PIN_PATTERN: Final = re.compile(r"^[0-9]{4,8}$")

_HASHER: Final = PasswordHasher()  # argon2id, RFC 9106 low-memory profile


@dataclass(frozen=True, slots=True)
class Clerk:
    id: str
    name: str
    role: Role
    pin_hash: str  # argon2id PHC string ("$argon2id$v=19$m=...,t=...,p=...$salt$hash")


def hash_pin(pin: str) -> str:
    """Hash a 4-8 digit PIN as an argon2id PHC string."""
    if not isinstance(pin, str) or not PIN_PATTERN.fullmatch(pin):
        raise DomainError("暗証番号は4〜8桁の数字です (a PIN must be 4 to 8 ASCII digits, 0-9)")
    return _HASHER.hash(pin)


def verify_pin(pin_hash: str, pin: str) -> bool:
    """True when ``pin`` matches ``pin_hash``; False on a mismatch or an unreadable hash."""
    try:
        return _HASHER.verify(pin_hash, pin)
    except (Argon2Error, InvalidHashError, TypeError, ValueError):
        return False


def can_approve(clerk: Clerk) -> bool:
    """Supervisors and administrators approve refunds, voids, reprints and corrections."""
    return clerk.role in ("supervisor", "admin")


@cache
def _dummy_hash() -> str:
    """A hash to verify unknown ids against, so they take as long as known ones."""
    return _HASHER.hash("00000000")


@dataclass(frozen=True, slots=True)
class LoginOutcome:
    ok: bool
    clerk: Clerk | None
    locked: bool
    just_locked: bool
    remaining_attempts: int
    message: str


@dataclass(frozen=True)
class LoginGuard:
    """Immutable lockout state: ``attempt`` returns the next state with the outcome.

    After ``max_failures`` wrong PINs in a row for one clerk id (known or not), that id is
    locked for ``lockout_seconds``; while locked even the right PIN fails. Success resets.
    """

    max_failures: int = 5
    lockout_seconds: int = 300
    failures: Mapping[str, int] = field(default_factory=dict)
    locked_until: Mapping[str, datetime] = field(default_factory=dict)

    def is_locked(self, clerk_id: str, now: datetime) -> bool:
        until = self.locked_until.get(clerk_id)
        return until is not None and now < until

    def attempt(
        self, clerks: Mapping[str, Clerk], clerk_id: str, pin: str, now: datetime
    ) -> tuple[LoginGuard, LoginOutcome]:
        if self.is_locked(clerk_id, now):
            return self, self._locked_outcome(clerk_id, now, just_locked=False)
        clerk = clerks.get(clerk_id)
        matched = verify_pin(clerk.pin_hash if clerk else _dummy_hash(), pin)
        if clerk is not None and matched:
            state = self._with(clerk_id, failures=None, locked_until=None)
            message = f"ログインしました (logged in): {clerk.name or clerk.id}"
            return state, LoginOutcome(True, clerk, False, False, self.max_failures, message)
        count = self.failures.get(clerk_id, 0) + 1
        if count >= self.max_failures:
            until = now + timedelta(seconds=self.lockout_seconds)
            state = self._with(clerk_id, failures=None, locked_until=until)
            return state, state._locked_outcome(clerk_id, now, just_locked=True)
        remaining = self.max_failures - count
        message = f"暗証番号が違います (wrong PIN): あと{remaining}回"
        state = self._with(clerk_id, failures=count, locked_until=None)
        return state, LoginOutcome(False, None, False, False, remaining, message)

    def _locked_outcome(self, clerk_id: str, now: datetime, *, just_locked: bool) -> LoginOutcome:
        until = self.locked_until[clerk_id]
        seconds = max(1, math.ceil((until - now).total_seconds()))
        head = "暗証番号が続けて違ったためロックしました" if just_locked else "ロック中です"
        english = "locked after too many wrong PINs" if just_locked else "locked"
        message = f"{head} ({english}): {seconds}秒後に再試行してください (retry in {seconds} s)"
        return LoginOutcome(False, None, True, just_locked, 0, message)

    def _with(
        self, clerk_id: str, *, failures: int | None, locked_until: datetime | None
    ) -> LoginGuard:
        new_failures = {k: v for k, v in self.failures.items() if k != clerk_id}
        if failures is not None:
            new_failures[clerk_id] = failures
        new_locks = {k: v for k, v in self.locked_until.items() if k != clerk_id}
        if locked_until is not None:
            new_locks[clerk_id] = locked_until
        return replace(self, failures=new_failures, locked_until=new_locks)


__all__ = [
    "ROLES",
    "Clerk",
    "LoginGuard",
    "LoginOutcome",
    "Role",
    "can_approve",
    "hash_pin",
    "verify_pin",
]
