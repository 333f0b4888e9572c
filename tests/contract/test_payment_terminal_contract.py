"""One behavioural contract for every PaymentTerminal: the ZVT driver against the ZVT
simulator over a pty pair and over TCP, and the in-process stand-in."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from zvt_peers import serial_rig, tcp_rig

from drivers.inprocess import InProcessPaymentTerminal
from terminal.ports import PaymentTerminal


@dataclass
class Subject:
    terminal: PaymentTerminal
    set_decline: Callable[[bool], None]


class Dial(random.Random):
    """A random source whose ``random()`` the test sets: 0.0 declines, 0.9 approves."""

    value = 0.9

    def random(self) -> float:
        return self.value


@pytest.fixture(params=["zvt-serial-sim", "zvt-tcp-sim", "inprocess"])
def subject(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Subject]:
    if request.param == "inprocess":
        dial = Dial(1)

        def decline(on: bool) -> None:
            dial.value = 0.0 if on else 0.9

        yield Subject(InProcessPaymentTerminal(dial, decline_rate=0.5), decline)
        return
    rig_of = serial_rig if request.param == "zvt-serial-sim" else tcp_rig
    with rig_of(tmp_path) as rig:
        yield Subject(rig.terminal,
                      lambda on: rig.sim.set_fault("decline" if on else None))


def test_sale_is_approved_with_slip_brand_and_prompt(subject: Subject) -> None:
    prompts: list[str] = []
    result = subject.terminal.authorize_sale(1200, "transit_ic", "C-1", prompts.append)
    assert result.approved and result.amount == 1200 and result.kind == "transit_ic"
    assert result.ref == "C-1" and result.slip_no and result.approval_code and result.brand
    assert result.message == "" and prompts


def test_last_result_reports_the_terminal_truth(subject: Subject) -> None:
    result = subject.terminal.authorize_sale(300, "credit", "C-2", lambda _: None)
    assert subject.terminal.last_result("C-2") == result
    assert subject.terminal.last_result("never-sent") is None


def test_the_same_ref_is_never_charged_twice(subject: Subject) -> None:
    first = subject.terminal.authorize_sale(300, "emoney", "C-3", lambda _: None)
    again = subject.terminal.authorize_sale(300, "emoney", "C-3", lambda _: None)
    assert again == first


def test_decline_is_a_result_and_remembered(subject: Subject) -> None:
    subject.set_decline(True)
    result = subject.terminal.authorize_sale(500, "credit", "C-4", lambda _: None)
    subject.set_decline(False)
    assert not result.approved and result.message and result.ref == "C-4"
    remembered = subject.terminal.last_result("C-4")
    assert remembered is not None and not remembered.approved


def test_void_by_slip_uses_the_ref_convention(subject: Subject) -> None:
    sale = subject.terminal.authorize_sale(1000, "credit", "C-5", lambda _: None)
    void = subject.terminal.void(sale.slip_no, 1000, "credit")
    assert void.approved and void.amount == 1000 and void.ref == "C-5-V"
    assert subject.terminal.last_result("C-5-V") == void


def test_refund_and_daily_log_net_totals(subject: Subject) -> None:
    subject.terminal.authorize_sale(1000, "credit", "C-6", lambda _: None)
    refund = subject.terminal.refund(300, "emoney", "C-6-R")
    assert refund.approved and refund.amount == 300 and refund.kind == "emoney"
    log = subject.terminal.daily_log()
    assert (log.count, log.total) == (2, 700)
    assert log.by_tender == {"credit": 1000, "emoney": -300}
    assert subject.terminal.daily_log().count == 0
