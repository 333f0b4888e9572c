"""The ZVT driver against the simulator over TCP (port 20007 style: APDUs, no framing)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from zvt_peers import FAST, Rig, no_prompt, tcp_rig

from drivers.zvt.simulator import ZvtSimulator
from drivers.zvt.terminal import ZvtPaymentTerminal
from terminal.errors import DeviceTimeout, DeviceUnavailable


@pytest.fixture
def rig(tmp_path: Path) -> object:
    with tcp_rig(tmp_path) as r:
        yield r


def test_sale_and_lookup(rig: Rig) -> None:
    prompts: list[str] = []
    result = rig.terminal.authorize_sale(2400, "qr", "Q-1", prompts.append)
    assert result.approved and result.kind == "qr" and result.brand == "PayPay"
    assert prompts and rig.terminal.last_result("Q-1") == result
    assert rig.terminal.last_result("nothing") is None
    assert "TID 52500001" in rig.terminal.status()


def test_decline(rig: Rig) -> None:
    rig.sim.set_fault("decline")
    result = rig.terminal.authorize_sale(500, "transit_ic", "D-1", no_prompt)
    assert not result.approved and result.slip_no
    assert rig.sim.ledger.charges() == []


def test_timeout_then_nothing_charged(rig: Rig) -> None:
    rig.sim.set_fault("timeout")
    with pytest.raises(DeviceTimeout):
        rig.terminal.authorize_sale(500, "credit", "T-1", no_prompt)
    rig.sim.set_fault(None)
    assert rig.terminal.last_result("T-1") is None


def test_drop_then_last_result_tells_the_truth(rig: Rig) -> None:
    rig.sim.set_fault("drop")
    with pytest.raises(DeviceUnavailable):
        rig.terminal.authorize_sale(700, "emoney", "L-1", no_prompt)
    rig.sim.set_fault(None)
    truth = rig.terminal.last_result("L-1")  # reconnects
    assert truth is not None and truth.approved
    assert len(rig.sim.ledger.charges()) == 1


def test_approve_then_drop(rig: Rig) -> None:
    rig.sim.set_fault("approve_then_drop")
    with pytest.raises(DeviceTimeout):
        rig.terminal.authorize_sale(900, "credit", "A-1", no_prompt)
    rig.sim.set_fault(None)
    truth = rig.terminal.last_result("A-1")
    assert truth is not None and truth.approved
    assert len(rig.sim.ledger.charges("A-1")) == 1


def test_busy(rig: Rig) -> None:
    rig.sim.set_fault("busy")
    result = rig.terminal.authorize_sale(300, "credit", "B-1", no_prompt)
    assert not result.approved and "busy" in result.message
    assert rig.sim.ledger.charges() == []


def test_simulator_ledger_survives_its_restart(tmp_path: Path) -> None:
    with tcp_rig(tmp_path) as r:
        r.terminal.authorize_sale(100, "credit", "P-1", no_prompt)
    with ZvtSimulator(tmp_path / "pt-ledger.jsonl", timeouts=FAST) as sim:
        terminal = ZvtPaymentTerminal.over_tcp("127.0.0.1", sim.serve_tcp(), timeouts=FAST)
        truth = terminal.last_result("P-1")
        terminal.close()
    assert truth is not None and truth.approved and truth.amount == 100


def test_nobody_listening_is_unavailable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    terminal = ZvtPaymentTerminal.over_tcp("127.0.0.1", port, timeouts=FAST)
    with pytest.raises(DeviceUnavailable, match="cannot connect"):
        terminal.authorize_sale(100, "credit", "U-1", no_prompt)
