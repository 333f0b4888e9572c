"""Clerk PINs (argon2id) and the login lockout."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher

import terminal.clerks as clerks_module
from terminal.clerks import Clerk, LoginGuard, can_approve, hash_pin, verify_pin
from terminal.errors import DomainError

T0 = datetime(2025, 4, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def fast_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real argon2id with tiny costs, so lockout tests need not spend 150 ms per attempt."""
    monkeypatch.setattr(
        clerks_module, "_HASHER", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )


@pytest.fixture
def staff(fast_hashes: None) -> dict[str, Clerk]:
    return {
        "1001": Clerk("1001", "八戸 花子", "clerk", hash_pin("2468")),
        "9001": Clerk("9001", "是川 太郎", "supervisor", hash_pin("13579")),
    }


def test_hash_is_argon2id_phc_and_verifies() -> None:
    pin_hash = hash_pin("0123")
    assert pin_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert verify_pin(pin_hash, "0123")
    assert not verify_pin(pin_hash, "0124")
    assert hash_pin("0123") != pin_hash  # salted


@pytest.mark.parametrize("pin", ["123", "123456789", "12a4", "１２３４", "", " 1234", "12.4"])
def test_bad_pins_are_refused(pin: str) -> None:
    with pytest.raises(DomainError, match="4〜8桁"):
        hash_pin(pin)


@pytest.mark.parametrize("bad_hash", ["", "plain", "$argon2id$v=19$m=8,t=1,p=1$xx$yy"])
def test_verify_never_raises(bad_hash: str) -> None:
    assert verify_pin(bad_hash, "1234") is False


def test_roles() -> None:
    assert not can_approve(Clerk("1", "", "clerk", ""))
    assert can_approve(Clerk("2", "", "supervisor", ""))
    assert can_approve(Clerk("3", "", "admin", ""))


def test_success_and_reset(staff: dict[str, Clerk]) -> None:
    guard = LoginGuard()
    guard, outcome = guard.attempt(staff, "1001", "0000", T0)
    assert not outcome.ok and outcome.remaining_attempts == 4
    assert outcome.message == "暗証番号が違います (wrong PIN): あと4回"
    guard, outcome = guard.attempt(staff, "1001", "2468", T0)
    assert outcome.ok and outcome.clerk == staff["1001"] and not outcome.locked
    assert guard.failures.get("1001", 0) == 0
    guard, outcome = guard.attempt(staff, "1001", "0000", T0)
    assert outcome.remaining_attempts == 4


def test_lockout_after_five_failures_and_expiry(staff: dict[str, Clerk]) -> None:
    guard = LoginGuard()
    before = guard
    outcomes = []
    for _ in range(5):
        guard, outcome = guard.attempt(staff, "1001", "9999", T0)
        outcomes.append(outcome)
    assert [o.remaining_attempts for o in outcomes] == [4, 3, 2, 1, 0]
    assert outcomes[-1].locked and outcomes[-1].just_locked
    assert "ロック" in outcomes[-1].message and "300" in outcomes[-1].message
    assert before.failures == {} and before.locked_until == {}  # immutable
    # While locked even the right PIN fails; other clerks are unaffected.
    guard, outcome = guard.attempt(staff, "1001", "2468", T0 + timedelta(seconds=299))
    assert not outcome.ok and outcome.locked and not outcome.just_locked
    assert "1秒" in outcome.message
    _, other = guard.attempt(staff, "9001", "13579", T0)
    assert other.ok
    # After the lockout the right PIN works.
    guard, outcome = guard.attempt(staff, "1001", "2468", T0 + timedelta(seconds=300))
    assert outcome.ok and "1001" not in guard.locked_until


def test_unknown_id_is_indistinguishable(staff: dict[str, Clerk]) -> None:
    known, unknown = LoginGuard(max_failures=3), LoginGuard(max_failures=3)
    for _ in range(3):
        known, k = known.attempt(staff, "1001", "1111", T0)
        unknown, u = unknown.attempt(staff, "7777", "1111", T0)
        assert (k.ok, k.locked, k.just_locked, k.remaining_attempts, k.message) == (
            u.ok,
            u.locked,
            u.just_locked,
            u.remaining_attempts,
            u.message,
        )
    assert unknown.is_locked("7777", T0)
