"""The ZVT driver against the ZVT simulator over a socat pty pair: every fault mode, and the
counter's unknown-outcome recovery end to end."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from zvt_peers import Rig, no_prompt, serial_rig

from drivers.zvt.terminal import self_test
from drivers.zvt.transport import list_serial_ports
from terminal.catalogue import Account, Catalogue, FeeItem, Names
from terminal.clerks import Clerk, hash_pin
from terminal.counter import Counter, CounterSettings
from terminal.errors import DeviceProtocolError, DeviceTimeout, DeviceUnavailable
from terminal.journal import Journal, TerminalKey
from terminal.payments import PaymentPending


@pytest.fixture
def rig(tmp_path: Path) -> object:
    with serial_rig(tmp_path) as r:
        yield r


def test_sale_shows_prompts_and_keeps_no_card_data(rig: Rig) -> None:
    prompts: list[str] = []
    result = rig.terminal.authorize_sale(1200, "credit", "S-1", prompts.append)
    assert result.approved and result.amount == 1200 and result.kind == "credit"
    assert result.slip_no == "0001" and result.approval_code and result.brand == "VISA"
    assert any("カードを挿入/タッチしてください" in p for p in prompts)
    assert any("暗証番号" in p for p in prompts)
    assert "4111" not in repr(result) and "EEEE" not in repr(result).upper()


def test_decline_is_a_result_not_an_error(rig: Rig) -> None:
    rig.sim.set_fault("decline")
    result = rig.terminal.authorize_sale(500, "emoney", "D-1", no_prompt)
    assert not result.approved and "declined" in result.message
    rig.sim.set_fault(None)
    assert rig.terminal.last_result("D-1") == result
    assert rig.sim.ledger.charges() == []


def test_timeout_raises_then_the_ledger_says_nothing_was_charged(rig: Rig) -> None:
    rig.sim.set_fault("timeout")
    with pytest.raises(DeviceTimeout):
        rig.terminal.authorize_sale(500, "credit", "T-1", no_prompt)
    rig.sim.set_fault(None)
    assert rig.terminal.last_result("T-1") is None
    assert rig.sim.ledger.charges() == []


def test_nak_storm_gives_up_after_three_retries(rig: Rig) -> None:
    rig.terminal.status()  # registered before the storm
    rig.sim.set_fault("nak_storm")
    started = time.monotonic()
    with pytest.raises(DeviceProtocolError, match="4 times"):
        rig.terminal.authorize_sale(500, "credit", "N-1", no_prompt)
    assert time.monotonic() - started < 2.0
    rig.sim.set_fault(None)
    assert rig.terminal.last_result("N-1") is None
    assert rig.terminal.authorize_sale(500, "credit", "N-2", no_prompt).approved


def test_bad_crc_is_retried_transparently(rig: Rig) -> None:
    rig.sim.set_fault("bad_crc")
    result = rig.terminal.authorize_sale(800, "transit_ic", "C-1", no_prompt)
    assert result.approved and result.brand == "Suica"
    assert len(rig.sim.ledger.charges("C-1")) == 1


def test_link_dropped_mid_transaction_then_last_result_tells_the_truth(rig: Rig) -> None:
    rig.sim.set_fault("drop")
    with pytest.raises(DeviceUnavailable):
        rig.terminal.authorize_sale(700, "credit", "L-1", no_prompt)
    with pytest.raises(DeviceUnavailable):  # the cable is still out
        rig.terminal.last_result("L-1")
    rig.sim.set_fault(None)
    rig.relink()
    truth = rig.terminal.last_result("L-1")
    assert truth is not None and truth.approved and truth.amount == 700
    again = rig.terminal.authorize_sale(700, "credit", "L-1", no_prompt)  # a careless resend
    assert again.slip_no == truth.slip_no
    assert len(rig.sim.ledger.charges()) == 1


def test_approve_then_drop_times_out_and_last_result_says_approved(rig: Rig) -> None:
    rig.sim.set_fault("approve_then_drop")
    with pytest.raises(DeviceTimeout):
        rig.terminal.authorize_sale(900, "emoney", "A-1", no_prompt)
    rig.sim.set_fault(None)
    truth = rig.terminal.last_result("A-1")
    assert truth is not None and truth.approved and truth.kind == "emoney"
    assert len(rig.sim.ledger.charges()) == 1


def test_busy_terminal_refuses_without_charging(rig: Rig) -> None:
    rig.sim.set_fault("busy")
    result = rig.terminal.authorize_sale(300, "credit", "B-1", no_prompt)
    assert not result.approved and "busy" in result.message
    rig.sim.set_fault(None)
    assert rig.terminal.last_result("B-1") is None and rig.sim.ledger.charges() == []


def test_abort_while_waiting_for_the_card(tmp_path: Path) -> None:
    with serial_rig(tmp_path, card_wait=3.0) as r:
        results = []
        worker = threading.Thread(target=lambda: results.append(
            r.terminal.authorize_sale(400, "credit", "X-1", no_prompt)))
        worker.start()
        time.sleep(0.3)
        r.terminal.abort()
        worker.join(5)
        assert results and not results[0].approved and "abort" in results[0].message
        assert r.sim.ledger.charges() == []


def test_void_by_slip_after_a_driver_restart_and_daily_log(rig: Rig) -> None:
    sale = rig.terminal.authorize_sale(1000, "credit", "V-1", no_prompt)
    rig.terminal.refund(300, "transit_ic", "R-1")
    terminal = rig.new_terminal()  # knows no slip numbers: asks the terminal (06 20 by 87)
    void = terminal.void(sale.slip_no, 1000, "credit")
    assert void.approved and void.ref == "V-1-V"
    assert terminal.last_result("V-1-V") == void
    log = terminal.daily_log()
    assert (log.batch_no, log.count, log.total) == ("0001", 3, -300)
    assert log.by_tender == {"credit": 0, "transit_ic": -300}
    assert "OK" in self_test(terminal, 10)


def test_list_serial_ports_returns_device_names() -> None:
    assert all(isinstance(port, str) and port for port in list_serial_ports())


# -- end to end: the counter, its journal, the driver and the simulator --------------------
CATALOGUE = Catalogue(
    items=(FeeItem("ADM", Names("一般入館料"), "admission", 250, "std10", "14-01-01", "general"),),
    accounts=(Account("general", "一般会計", "八戸市", "T1234567890123"),),
)


class Clock:
    def __init__(self) -> None:
        self.t = datetime.fromisoformat("2026-11-26T09:00:00+09:00")

    def now(self) -> datetime:
        self.t += timedelta(seconds=30)
        return self.t


def make_counter(tmp_path: Path, rig: Rig) -> Counter:
    journal = Journal.open(tmp_path / "journal.db", "zvt-counter-01",
                           TerminalKey.load_or_create(tmp_path / "terminal.key"))
    clerks = {"c1": Clerk("c1", "窓口 太郎", "clerk", hash_pin("1111"))}
    return Counter(journal, CATALOGUE, CounterSettings("zvt-counter-01"), clerks, Clock(),
                   rig.terminal)


def test_counter_resolves_approve_then_drop_after_restart(rig: Rig, tmp_path: Path) -> None:
    counter = make_counter(tmp_path, rig)
    assert counter.login("c1", "1111").ok
    counter.add_item("ADM", qty=2)
    counter.begin_payment()
    rig.sim.set_fault("approve_then_drop")
    with pytest.raises(PaymentPending):
        counter.pay_by_terminal("credit")
    counter.journal.close()
    rig.sim.set_fault(None)  # the link is back; the counter restarts with a fresh driver
    rig.new_terminal()
    restarted = make_counter(tmp_path, rig)
    resolved = restarted.payments.resolve_pending()
    assert [e.body["approved"] for e in resolved] == [True]
    sale = restarted.complete_sale(restarted.payment())
    assert sale.body["tenders"][0]["kind"] == "credit"
    assert sale.body["tenders"][0]["slip_no"] == resolved[0].body["slip_no"]
    assert len(rig.sim.ledger.charges()) == 1
    restarted.journal.close()
