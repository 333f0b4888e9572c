"""The QR gateway contract: one behavioural suite, run against every backend.

Backends: the PayPay-OPA-shaped adapter against its local simulator (over real HTTP with HMAC
auth). A sandbox backend can join ``BACKENDS`` when credentials exist (never in the repo).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from drivers.qr.gateway import GatewayAuthError, GatewayNoAnswer, GatewayPending, QrGatewayFull
from drivers.qr.paypay import PayPayConfig, PayPayGateway
from drivers.qr.paypay_sim import PayPaySimulator
from terminal.errors import DeviceProtocolError, DeviceTimeout, DeviceUnavailable
from terminal.ports import QrGateway

CODE = "281234567890123456"


@dataclass
class Env:
    gateway: PayPayGateway
    sim: PayPaySimulator

    def fresh_gateway(self, secret: str = "sim-secret") -> PayPayGateway:
        """Another adapter instance: what the counter has after a restart."""
        return PayPayGateway(_config(self.sim, secret))


def _config(sim: PayPaySimulator, secret: str = "sim-secret") -> PayPayConfig:
    return PayPayConfig(base_url=sim.url, api_key="sim-key", api_secret=secret,
                        store_id="hachinohe-cityhall", terminal_id="MADO-01", timeout=0.3,
                        poll_interval=0.01, settle_timeout=0.5)


BACKENDS = ["paypay-sim"]


@pytest.fixture(params=BACKENDS)
def env(request: pytest.FixtureRequest) -> Iterator[Env]:
    with PayPaySimulator(hang_seconds=0.6) as sim:
        gateway = PayPayGateway(_config(sim))
        try:
            yield Env(gateway, sim)
        finally:
            gateway.close()


def test_the_adapter_implements_the_ports(env: Env) -> None:
    port: QrGateway = env.gateway
    full: QrGatewayFull = env.gateway
    assert port is full


def test_charge_approved(env: Env) -> None:
    result = env.gateway.charge(1200, CODE, "T1-5-1")
    assert (result.approved, result.amount, result.kind, result.ref, result.brand) == (
        True, 1200, "qr", "T1-5-1", "PayPay")
    assert result.approval_code
    assert env.sim.charges_taken == 1


def test_resend_with_the_same_ref_never_charges_twice(env: Env) -> None:
    first = env.gateway.charge(800, CODE, "T1-6-1")
    again = env.fresh_gateway().charge(800, CODE, "T1-6-1")
    assert again.approved and again.approval_code == first.approval_code
    assert env.sim.charges_taken == 1


def test_decline(env: Env) -> None:
    env.sim.inject("decline")
    result = env.gateway.charge(500, CODE, "T1-7-1")
    assert not result.approved
    assert "NO_SUFFICIENT_FUND" in result.message
    assert not env.gateway.charge(500, CODE, "T1-7-1").approved  # resend: still no charge
    assert env.sim.charges_taken == 0


@pytest.mark.parametrize("fault", ["timeout", "drop"])
def test_approved_but_answer_lost_is_resolved_by_last_result(env: Env, fault: str) -> None:
    env.sim.inject(fault)
    with pytest.raises(DeviceTimeout, match="outcome unknown"):
        env.gateway.charge(700, CODE, "T1-8-1")
    resolved = env.fresh_gateway().last_result("T1-8-1")
    assert resolved is not None and resolved.approved and resolved.amount == 700
    assert env.gateway.charge(700, CODE, "T1-8-1").approved  # a resend is harmless too
    assert env.sim.charges_taken == 1


@pytest.mark.parametrize("fault", ["no_answer", "error500"])
def test_never_processed_resolves_to_none_then_cancel_blocks_it(env: Env, fault: str) -> None:
    env.sim.inject(fault)
    with pytest.raises(GatewayNoAnswer):
        env.gateway.charge(700, CODE, "T1-9-1")
    assert env.gateway.last_result("T1-9-1") is None
    assert env.gateway.cancel("T1-9-1").approved
    late = env.gateway.charge(700, CODE, "T1-9-1")  # a late or repeated request
    assert not late.approved
    assert env.sim.charges_taken == 0


def test_pending_then_completed_by_polling(env: Env) -> None:
    env.sim.pending_polls = 3
    result = env.gateway.charge(900, CODE, "T1-10-1")
    assert result.approved
    assert env.sim.charges_taken == 1


def test_pending_too_long_is_a_timeout_resolved_later(env: Env) -> None:
    env.sim.pending_polls = 10_000
    with pytest.raises(GatewayPending):
        env.gateway.charge(900, CODE, "T1-11-1")
    with pytest.raises(GatewayPending):
        env.gateway.last_result("T1-11-1")
    env.sim.ledger.payments["T1-11-1"].polls_left = 0  # the visitor confirms in the app
    resolved = env.gateway.last_result("T1-11-1")
    assert resolved is not None and resolved.approved


def test_refund_partial_idempotent_and_bounded(env: Env) -> None:
    env.gateway.charge(1000, CODE, "T1-12-1")
    refund = env.gateway.refund(400, "R-12-1", original_ref="T1-12-1")
    assert refund.approved and refund.ref == "R-12-1"
    assert env.fresh_gateway().refund(400, "R-12-1", original_ref="T1-12-1").approved
    assert env.sim.ledger.payments["T1-12-1"].refunded == 400
    too_much = env.gateway.refund(700, "R-12-2", original_ref="T1-12-1")
    assert not too_much.approved and "EXCEEDED" in too_much.message
    resolved = env.fresh_gateway().last_result("R-12-1")
    assert resolved is not None and resolved.approved


def test_refund_needs_the_original(env: Env) -> None:
    with pytest.raises(Exception, match="original"):
        env.gateway.refund(100, "R-13-1")


def test_cancel_reverses_a_completed_payment(env: Env) -> None:
    env.gateway.charge(600, CODE, "T1-14-1")
    assert env.gateway.cancel("T1-14-1").approved
    resolved = env.gateway.last_result("T1-14-1")
    assert resolved is not None and not resolved.approved
    assert env.sim.charges_taken == 0


def test_dynamic_code_paid_after_polling(env: Env) -> None:
    env.sim.code_polls = 2
    url = env.gateway.create_dynamic_code(1500, "T1-15-1")
    assert url.startswith("https://")
    assert env.gateway.dynamic_status("T1-15-1") is None  # not scanned yet
    result = env.gateway.wait_dynamic("T1-15-1", timeout=2.0)
    assert result is not None and result.approved and result.amount == 1500
    after_restart = env.fresh_gateway().last_result("T1-15-1")
    assert after_restart is not None and after_restart.approved
    assert env.sim.charges_taken == 1


def test_dynamic_code_cancelled_before_payment(env: Env) -> None:
    env.sim.code_polls = 100
    env.gateway.create_dynamic_code(1500, "T1-16-1")
    assert env.gateway.cancel("T1-16-1").approved
    result = env.gateway.dynamic_status("T1-16-1")
    assert result is not None and not result.approved
    assert env.sim.charges_taken == 0


def test_dynamic_code_resend_is_refused_not_duplicated(env: Env) -> None:
    env.gateway.create_dynamic_code(300, "T1-17-1")
    with pytest.raises(DeviceProtocolError, match="already exists"):
        env.gateway.create_dynamic_code(300, "T1-17-1")


def test_wrong_secret_is_refused(env: Env) -> None:
    wrong = env.fresh_gateway(secret="not-the-secret")
    with pytest.raises(GatewayAuthError, match="credentials") as info:
        wrong.charge(100, CODE, "T1-18-1")
    assert "not-the-secret" not in str(info.value)
    assert env.sim.auth_failures == 1 and env.sim.charges_taken == 0
    assert "not-the-secret" not in repr(wrong.config)
    wrong.close()


def test_gateway_down(env: Env) -> None:
    env.sim.stop()
    with pytest.raises(DeviceTimeout):  # a POST may have left: unknown, resolve later
        env.gateway.charge(100, CODE, "T1-19-1")
    with pytest.raises(DeviceUnavailable):
        env.gateway.last_result("T1-19-1")
