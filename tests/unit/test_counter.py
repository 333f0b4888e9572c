"""The counter's use cases on a real journal: sale, split, decline, unknown outcome, refund,
void, training, cash, Z, and recovery after a restart."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

import pytest

from drivers.inprocess import InProcessPaymentTerminal
from terminal.catalogue import Account, Catalogue, FeeItem, Names
from terminal.clerks import Clerk, hash_pin
from terminal.counter import Counter, CounterSettings
from terminal.errors import (
    ApprovalRequired,
    DeviceError,
    DeviceTimeout,
    DomainError,
    PaymentDeclined,
)
from terminal.journal import Journal, TerminalKey, verify_path
from terminal.payments import PaymentPending
from terminal.ports import PaymentResult, TenderKind

TERMINAL = "test-museum-01"
CATALOGUE = Catalogue(
    items=(
        FeeItem("ADM", Names("一般入館料"), "admission", 250, "std10", "14-01-01", "general",
                prices={"student": 150}),
        FeeItem("JUMIN", Names("住民票の写し"), "cert", 300, "exempt", "13-01-02", "general"),
        FeeItem("CAFE", Names("コーヒー"), "cafe", 450, "red8", "21-05-01", "general"),
        FeeItem("FREE", Names("中学生以下"), "admission", 0, "std10", "14-01-01", "general"),
    ),
    accounts=(Account("general", "一般会計", "八戸市", "T1234567890123"),),
)


@cache
def clerks() -> dict[str, Clerk]:
    return {
        "c1": Clerk("c1", "窓口 太郎", "clerk", hash_pin("1111")),
        "sup": Clerk("sup", "係長", "supervisor", hash_pin("9999")),
    }


class Clock:
    def __init__(self) -> None:
        self.t = datetime.fromisoformat("2026-11-26T09:00:00+09:00")

    def now(self) -> datetime:
        self.t += timedelta(seconds=30)
        return self.t


class TimeoutAfterCharge:
    """A terminal that charges, then loses the answer (the link drops on the way back)."""

    def __init__(self, inner: InProcessPaymentTerminal) -> None:
        self.inner = inner
        self.fail = True

    def authorize_sale(self, amount: int, kind: TenderKind, ref: str,
                       prompt: Callable[[str], None]) -> PaymentResult:
        result = self.inner.authorize_sale(amount, kind, ref, prompt)
        if self.fail:
            raise DeviceTimeout("no answer from the payment terminal")
        return result

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


@pytest.fixture
def paths(tmp_path: Path) -> tuple[Path, Path]:
    return tmp_path / "journal.db", tmp_path / "terminal.key"


def make_counter(paths: tuple[Path, Path], terminal: object | None = None,
                 clock: Clock | None = None) -> Counter:
    journal = Journal.open(paths[0], TERMINAL, TerminalKey.load_or_create(paths[1]))
    pay = terminal if terminal is not None else InProcessPaymentTerminal(random.Random(1))
    return Counter(journal, CATALOGUE, CounterSettings(TERMINAL), clerks(), clock or Clock(),
                   pay)  # type: ignore[arg-type]


def logged_in(paths: tuple[Path, Path], terminal: object | None = None) -> Counter:
    counter = make_counter(paths, terminal)
    assert counter.login("c1", "1111").ok
    counter.cash_movement("cash.float", 20000, "釣銭準備金")
    return counter


def test_cash_sale_with_change(paths: tuple[Path, Path]) -> None:
    c = logged_in(paths)
    c.add_item("ADM", qty=3)
    c.add_item("ADM", "student")
    c.add_item("JUMIN")
    c.begin_payment()
    entry = c.pay_cash(2000)
    body = entry.body
    assert entry.kind == "sale"
    assert body["total"] == 3 * 250 + 150 + 300
    assert body["tenders"] == [{"kind": "cash", "amount": 1200, "given": 2000, "change": 800}]
    assert body["taxes"] == [{"tax_class": "std10", "base": 900, "tax": 81},
                             {"tax_class": "exempt", "base": 300, "tax": 0}]
    assert body["clerk"] == "c1" and body["receipt_no"] == f"{TERMINAL}-1"
    assert c.cart.is_empty
    c.journal.close()


def test_split_card_and_cash_and_overpayment_only_in_cash(paths: tuple[Path, Path]) -> None:
    c = logged_in(paths)
    c.add_item("CAFE", qty=2)
    c.begin_payment()
    with pytest.raises(DomainError):
        c.pay_by_terminal("credit", 901)
    tender = c.pay_by_terminal("credit", 500)
    assert tender.approval_code and c.payment().remaining == 400
    with pytest.raises(DomainError):
        c.pay_cash(300)
    body = c.pay_cash(1000).body
    assert [t["kind"] for t in body["tenders"]] == ["credit", "cash"]
    assert body["tenders"][1] == {"kind": "cash", "amount": 400, "given": 1000, "change": 600}
    c.journal.close()


def test_decline_keeps_the_sale_open(paths: tuple[Path, Path]) -> None:
    c = logged_in(paths, InProcessPaymentTerminal(random.Random(1), decline_rate=1.0))
    c.add_item("ADM")
    c.begin_payment()
    with pytest.raises(PaymentDeclined):
        c.pay_by_terminal("emoney")
    assert c.payment().remaining == 250
    results = [e for e in c.journal.entries() if e.kind == "payment.result"]
    assert results[-1].body["approved"] is False
    assert c.pay_cash(250).kind == "sale"
    c.journal.close()


def test_unknown_outcome_is_resolved_after_restart_without_double_charge(
    paths: tuple[Path, Path], tmp_path: Path,
) -> None:
    ledger = tmp_path / "payterm.jsonl"
    flaky = TimeoutAfterCharge(InProcessPaymentTerminal(random.Random(1), 0.0, ledger))
    flaky.inner.last_result = lambda ref: None  # type: ignore[method-assign]
    c = logged_in(paths, flaky)
    c.add_item("ADM", qty=2)
    c.begin_payment()
    with pytest.raises(PaymentPending):
        c.pay_by_terminal("transit_ic")
    assert c.state.open_sale is not None and c.state.open_sale.pending
    with pytest.raises(DomainError):
        c.close_day(None)
    c.journal.close()
    # The counter restarts; the terminal (which remembers its ledger) is asked about the ref.
    restarted = make_counter(paths, InProcessPaymentTerminal(random.Random(2), 0.0, ledger))
    assert restarted.state.open_sale is not None
    assert restarted.state.open_sale.pending
    resolved = restarted.payments.resolve_pending()
    assert resolved[0].body["approved"] is True
    assert restarted.payment().remaining == 0
    sale = restarted.complete_sale(restarted.payment())
    assert sale.body["tenders"][0]["kind"] == "transit_ic"
    charges = [ln for ln in ledger.read_text("utf-8").split("\n") if '"op": "sale"' in ln]
    assert len(charges) == 1
    restarted.journal.close()


def test_open_sale_is_recovered_and_can_be_cancelled(paths: tuple[Path, Path]) -> None:
    terminal = InProcessPaymentTerminal(random.Random(1))  # outlives the counter's restart
    c = logged_in(paths, terminal)
    c.add_item("JUMIN", qty=2)
    c.begin_payment()
    c.pay_by_terminal("credit", 100)
    c.journal.close()
    again = make_counter(paths, terminal)
    assert again.state.open_sale is not None
    assert again.state.clerk == "c1"
    assert again.payment().remaining == 500
    again.cancel_sale("visitor left")
    assert again.state.open_sale is None
    kinds = [e.kind for e in again.journal.entries()]
    assert kinds[-3:] == ["payment.pending", "payment.result", "sale.cancel"]
    assert [e.body["approved"] for e in again.journal.entries() if e.kind == "payment.result"] \
        == [True, True]  # the charge, then its reversal
    again.journal.close()


def test_refund_partial_needs_approval_and_never_exceeds_original(
    paths: tuple[Path, Path],
) -> None:
    c = logged_in(paths)
    c.add_item("ADM", qty=3)
    c.begin_payment()
    sale = c.pay_cash(750)
    with pytest.raises(ApprovalRequired):
        c.approve("sup", "0000")
    with pytest.raises(ApprovalRequired):
        c.approve("c1", "1111")
    approver = c.approve("sup", "9999")
    refund = c.refund(sale.seq, {0: 2}, approver)
    assert refund.body["total"] == 500 and refund.body["approved_by"] == "sup"
    assert refund.body["original_seq"] == sale.seq
    assert refund.body["taxes"] == [{"tax_class": "std10", "base": 500, "tax": 45}]
    with pytest.raises(DomainError):
        c.refund(sale.seq, {0: 2}, approver)
    c.refund(sale.seq, {0: 1}, approver)
    totals = c.x_report()
    assert totals["total"] == 0 and totals["refund_count"] == 2
    c.journal.close()


def test_void_same_period_once(paths: tuple[Path, Path]) -> None:
    c = logged_in(paths)
    c.add_item("ADM")
    c.begin_payment()
    c.pay_by_terminal("credit")
    sale = c.journal.head()
    assert sale is not None and sale.kind == "payment.result"
    sale_entry = c.complete_sale(c.payment())
    approver = c.approve("sup", "9999")
    void = c.void(sale_entry.seq, approver)
    assert void.body["total"] == 250
    with pytest.raises(DomainError):
        c.void(sale_entry.seq, approver)
    assert c.x_report()["total"] == 0
    c.close_day(20000)
    assert c.login("c1", "1111").ok
    with pytest.raises(DomainError):
        c.refund(sale_entry.seq, {0: 1}, approver)
    c.journal.close()


def test_training_counts_in_no_total_and_never_reaches_the_terminal(
    paths: tuple[Path, Path],
) -> None:
    class Refusing(InProcessPaymentTerminal):
        def authorize_sale(self, *args: object, **kwargs: object) -> PaymentResult:
            raise AssertionError("training reached the payment terminal")

    c = logged_in(paths, Refusing(random.Random(1)))
    c.set_training(True, c.approve("sup", "9999"))
    c.add_item("ADM")
    c.begin_payment()
    c.pay_by_terminal("credit")
    entry = c.complete_sale(c.payment())
    assert entry.kind == "training.sale"
    assert str(entry.body["receipt_no"]).startswith("T")
    with pytest.raises(DomainError):
        c.close_day(None)
    c.set_training(False, c.approve("sup", "9999"))
    report = c.x_report()
    assert report["total"] == 0 and report["count"] == 0
    c.journal.close()


def test_z_closing_and_perpetual_grand_total(paths: tuple[Path, Path]) -> None:
    c = logged_in(paths)
    c.add_item("ADM", qty=2)
    c.begin_payment()
    with pytest.raises(DomainError):
        c.close_day(None)
    c.pay_cash(500)
    c.cash_movement("cash.out", 1000, "両替")
    with pytest.raises(DomainError):
        c.cash_movement("cash.out", 10**6, "両替")
    z1 = c.close_day(19400)
    assert z1.body["grand_total"] == 500
    assert z1.body["cash_expected"] == 20000 + 500 - 1000
    assert z1.body["cash_counted"] == 19400
    assert c.state.clerk is None  # the Z ended the session: no logout entry opens a new day
    c.logout()
    assert c.journal.head() == z1
    c.clock.t += timedelta(days=1)  # type: ignore[attr-defined]
    assert c.login("c1", "1111").ok
    c.add_item("JUMIN")
    c.begin_payment()
    sale = c.pay_cash(300)
    assert sale.day == "2026-11-27"
    z2 = c.close_day(None)
    assert z2.body["grand_total"] == 800 and z2.body["first_seq"] == z1.seq + 1
    assert verify_path(paths[0], key_path=paths[1]).ok
    c.journal.close()


def test_lockout_is_journaled(paths: tuple[Path, Path]) -> None:
    c = make_counter(paths)
    outcomes = [c.login("c1", "0000") for _ in range(5)]
    assert outcomes[-1].locked and outcomes[-1].just_locked
    assert not c.login("c1", "1111").ok
    assert [e.kind for e in c.journal.entries()] == ["lockout"]
    c.journal.close()


def test_zero_yen_admission_counts_as_a_visit(paths: tuple[Path, Path]) -> None:
    c = logged_in(paths)
    c.add_item("FREE", qty=2)
    c.begin_payment()
    sale = c.pay_cash(0)
    assert sale.body["total"] == 0
    assert c.x_report()["visits"] == 2
    c.journal.close()


def test_a_device_that_cannot_answer_leaves_the_payment_pending(
    paths: tuple[Path, Path],
) -> None:
    inner = InProcessPaymentTerminal(random.Random(1))
    flaky = TimeoutAfterCharge(inner)
    c = logged_in(paths, flaky)
    c.add_item("ADM")
    c.begin_payment()

    def unreachable(ref: str) -> PaymentResult | None:
        raise DeviceTimeout("still no link")

    inner.last_result = unreachable  # type: ignore[method-assign]
    with pytest.raises(PaymentPending):
        c.pay_by_terminal("credit")
    assert c.payments.resolve_pending() == []  # not guessed as declined
    assert c.state.open_sale is not None and c.state.open_sale.pending
    del inner.last_result  # the link is back: the terminal reports the approval
    assert c.payments.resolve_pending()[0].body["approved"] is True


def test_each_request_gets_its_own_ref(paths: tuple[Path, Path]) -> None:
    c = logged_in(paths, InProcessPaymentTerminal(random.Random(1), decline_rate=1.0))
    c.add_item("ADM")
    c.begin_payment()
    for _ in range(2):
        with pytest.raises(PaymentDeclined):
            c.pay_by_terminal("credit")
    refs = [e.body["ref"] for e in c.journal.entries() if e.kind == "payment.pending"]
    assert len(set(refs)) == 2
    c.journal.close()


# -- reprint, live prompts, QR through the gateway --------------------------------------------


class FakeGateway:
    """The QrGateway port in memory: ``pay(ref)`` is the visitor paying a shown code."""

    def __init__(self) -> None:
        self.status: dict[str, str] = {}  # ref -> CREATED, COMPLETED, FAILED, CANCELED
        self.amounts: dict[str, int] = {}
        self.calls: list[tuple[str, ...]] = []

    def _result(self, ref: str, approved: bool, message: str = "") -> PaymentResult:
        return PaymentResult(approved=approved, amount=self.amounts.get(ref, 0), kind="qr",
                             approval_code=f"P{ref}" if approved else "", brand="FakePay",
                             ref=ref, message=message or self.status.get(ref, ""))

    def charge(self, amount: int, customer_code: str, ref: str) -> PaymentResult:
        self.calls.append(("charge", ref, customer_code))
        self.amounts[ref], self.status[ref] = amount, "COMPLETED"
        return self._result(ref, True)

    def create_dynamic_code(self, amount: int, ref: str) -> str:
        self.calls.append(("code", ref))
        self.amounts[ref], self.status[ref] = amount, "CREATED"
        return f"https://qr.example/{ref}"

    def pay(self, ref: str, status: str = "COMPLETED") -> None:
        self.status[ref] = status

    def dynamic_status(self, ref: str) -> PaymentResult | None:
        status = self.status.get(ref)
        if status in (None, "CREATED"):
            return None
        return self._result(ref, status == "COMPLETED")

    def cancel(self, ref: str) -> PaymentResult:
        self.calls.append(("cancel", ref))
        self.status[ref] = "CANCELED"
        return PaymentResult(approved=True, amount=0, kind="qr", ref=ref, message="cancel")

    def refund(self, amount: int, ref: str, original_ref: str = "") -> PaymentResult:
        self.calls.append(("refund", ref, original_ref))
        self.amounts[ref] = amount
        return self._result(ref, True, "refunded")

    def last_result(self, ref: str) -> PaymentResult | None:
        status = self.status.get(ref)
        return None if status in (None, "CREATED") else self._result(ref, status == "COMPLETED")


def with_gateway(paths: tuple[Path, Path], gateway: FakeGateway) -> Counter:
    counter = logged_in(paths)
    counter.qr_gateway = gateway
    return counter


def test_reprint_is_journaled_with_approval_and_a_count(paths: tuple[Path, Path]) -> None:
    c = logged_in(paths)
    c.add_item("ADM")
    c.begin_payment()
    sale = c.pay_cash(250)
    with pytest.raises(ApprovalRequired):
        c.reprint(sale.seq, "")
    with pytest.raises(ApprovalRequired):
        c.reprint(sale.seq, "c1")  # a clerk cannot approve
    with pytest.raises(DomainError):
        c.reprint(1, "sup")  # the login entry has no receipt
    with pytest.raises(DomainError):
        c.reprint(10**6, "sup")
    first = c.reprint(sale.seq, "sup")
    assert first.kind == "reprint"
    assert first.body == {"sale_seq": sale.seq, "receipt_no": f"{TERMINAL}-1", "clerk": "c1",
                          "approved_by": "sup", "count": 1}
    assert c.reprint(sale.seq, "sup").body["count"] == 2
    void = c.void(sale.seq, "sup")
    assert c.reprint(void.seq, "sup").body == {
        "sale_seq": void.seq, "receipt_no": f"{TERMINAL}-1-V", "clerk": "c1",
        "approved_by": "sup", "count": 1}
    assert c.x_report()["total"] == 0  # reprints move no money
    c.journal.close()
    again = make_counter(paths)  # the count is rebuilt from the journal
    assert again.reprint(sale.seq, "sup").body["count"] == 3
    again.set_training(True, "sup")
    training = again.reprint(sale.seq, "sup")
    assert training.kind == "training.reprint" and training.body["count"] == 4
    again.journal.close()


def test_live_prompts_reach_the_caller(paths: tuple[Path, Path]) -> None:
    c = logged_in(paths)
    c.add_item("ADM")
    prompts: list[str] = []
    c.pay_by_terminal("credit", prompt=prompts.append)
    assert prompts and "タッチ" in prompts[0]
    c.journal.close()


def test_qr_dynamic_code_through_the_gateway(paths: tuple[Path, Path]) -> None:
    gateway = FakeGateway()
    c = with_gateway(paths, gateway)
    c.add_item("ADM", qty=2)
    ref, code = c.show_qr(300)
    assert code == f"https://qr.example/{ref}"
    pending = c.journal.head()
    assert pending is not None and pending.kind == "payment.pending"
    assert pending.body == {"operation": "sale", "kind": "qr", "amount": 300, "ref": ref,
                            "open_seq": pending.seq - 1, "mode": "mpm"}
    assert c.poll_qr(ref) is None
    with pytest.raises(PaymentPending):
        c.pay_cash(1000)  # the code could still be paid: never complete around it
    with pytest.raises(PaymentPending):
        c.pay_by_terminal("credit")
    gateway.pay(ref)
    tender = c.poll_qr(ref)
    assert tender is not None and (tender.kind, tender.amount, tender.ref) == ("qr", 300, ref)
    with pytest.raises(DomainError):
        c.poll_qr(ref)  # no longer waiting
    sale = c.pay_cash(200)
    assert [(t["kind"], t["amount"]) for t in sale.body["tenders"]] == [("qr", 300),
                                                                       ("cash", 200)]
    c.journal.close()


def test_qr_code_cancelled_or_expired_is_not_paid(paths: tuple[Path, Path]) -> None:
    gateway = FakeGateway()
    c = with_gateway(paths, gateway)
    c.add_item("ADM")
    ref, _code = c.show_qr(None)
    result = c.cancel_qr(ref)
    assert result.kind == "payment.result" and result.body["approved"] is False
    assert ("cancel", ref) in gateway.calls and gateway.status[ref] == "CANCELED"
    assert c.state.open_sale is not None and not c.state.open_sale.pending
    ref2, _ = c.show_qr(None)
    assert ref2 != ref
    gateway.pay(ref2, "EXPIRED")
    with pytest.raises(PaymentDeclined):
        c.poll_qr(ref2)
    assert c.payment().remaining == 250
    assert c.pay_cash(250).kind == "sale"
    c.journal.close()


def test_qr_without_a_gateway_stays_on_the_payment_terminal(paths: tuple[Path, Path]) -> None:
    c = logged_in(paths)
    c.add_item("ADM")
    with pytest.raises(DeviceError):
        c.show_qr(None)
    tender = c.pay_by_terminal("qr")
    assert tender.slip_no  # the payment terminal's slip
    c.journal.close()


def test_qr_void_cancels_and_refund_refunds_at_the_gateway(paths: tuple[Path, Path]) -> None:
    gateway = FakeGateway()
    c = with_gateway(paths, gateway)
    c.add_item("ADM")
    tender = c.pay_by_terminal("qr", customer_code="281234567890123456")
    assert ("charge", tender.ref, "281234567890123456") in gateway.calls
    sale = c.complete_sale(c.payment())
    c.void(sale.seq, "sup")
    assert gateway.calls[-1] == ("cancel", tender.ref)
    c.add_item("ADM", qty=2)
    c.pay_by_terminal("qr", 400, "281234567890123456")
    second = c.pay_cash(100)
    refund = c.refund(second.seq, {0: 1}, "sup", tender_kind="qr")
    kind, refund_ref, original_ref = gateway.calls[-1]
    assert kind == "refund" and original_ref == second.body["tenders"][0]["ref"]
    assert refund.body["tenders"][0] == {"kind": "qr", "amount": 250, "ref": refund_ref,
                                         "approval_code": f"P{refund_ref}", "slip_no": "",
                                         "brand": "FakePay"}
    c.journal.close()


def test_qr_cancel_of_an_open_sale_goes_to_the_gateway(paths: tuple[Path, Path]) -> None:
    gateway = FakeGateway()
    c = with_gateway(paths, gateway)
    c.add_item("ADM", qty=2)
    tender = c.pay_by_terminal("qr", 200, "281234567890123456")
    c.cancel_sale("visitor left")
    assert gateway.calls[-1] == ("cancel", tender.ref)
    results = [e.body for e in c.journal.entries() if e.kind == "payment.result"]
    assert results[-1]["approved"] is True and results[-1]["ref"] == f"{tender.ref}-V"
    c.journal.close()


def test_a_shown_code_is_resolved_after_a_restart(paths: tuple[Path, Path]) -> None:
    gateway = FakeGateway()
    c = with_gateway(paths, gateway)
    c.add_item("ADM")
    paid_ref, _ = c.show_qr(None)
    c.journal.close()
    gateway.pay(paid_ref)  # the visitor paid while the counter was down
    again = make_counter(paths)
    again.qr_gateway = gateway
    assert again.payments.resolve_pending()[0].body["approved"] is True
    sale = again.complete_sale(again.payment())
    assert sale.body["tenders"][0]["ref"] == paid_ref
    again.add_item("ADM")
    unpaid_ref, _ = again.show_qr(None)
    again.journal.close()
    third = make_counter(paths)
    third.qr_gateway = gateway
    resolved = third.payments.resolve_pending()
    assert resolved[0].body["approved"] is False  # never paid: cancelled at the gateway
    assert gateway.status[unpaid_ref] == "CANCELED"
    assert third.pay_cash(250).kind == "sale"
    third.journal.close()


def test_training_qr_never_reaches_the_gateway(paths: tuple[Path, Path]) -> None:
    gateway = FakeGateway()
    c = with_gateway(paths, gateway)
    c.set_training(True, "sup")
    c.add_item("ADM")
    ref, code = c.show_qr(None)
    assert "TRAINING" in code
    tender = c.poll_qr(ref)
    assert tender is not None and tender.approval_code == "TRAINING"
    entry = c.complete_sale(c.payment())
    assert entry.kind == "training.sale" and gateway.calls == []
    c.journal.close()
