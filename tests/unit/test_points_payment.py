"""Points as a tender through the points port (the stand-in simulator): redeem, short balance,
above the amount due, unknown outcome resolved after a restart, training, cancel gives the
points back, and the card named only by its keyed hash."""

from __future__ import annotations

import hashlib
import hmac
import random
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from drivers.inprocess import InProcessPaymentTerminal
from drivers.points_sim import PointsSimulator
from terminal.catalogue import Account, Catalogue, FeeItem, Names
from terminal.clerks import Clerk, hash_pin
from terminal.counter import Counter, CounterSettings
from terminal.errors import DeviceError, DomainError, PaymentDeclined
from terminal.journal import Journal, TerminalKey
from terminal.payments import PaymentPending
from terminal.points import PointsRules, card_token, is_card_token, mask_idm
from terminal.ports import PaymentResult, PointsService, TenderKind

TERMINAL = "test-museum-01"
KEY = bytes(range(32))
IDM = bytes.fromhex("012E4CD8A1B2C3D4")
CARD = card_token(KEY, IDM)
CATALOGUE = Catalogue(
    items=(
        FeeItem("ADM", Names("一般入館料"), "admission", 250, "std10", "14-01-01", "general"),
        FeeItem("CAFE", Names("コーヒー"), "cafe", 450, "red8", "21-05-01", "general"),
    ),
    accounts=(Account("general", "一般会計", "八戸市", "T1234567890123"),),
)
CLERKS = {
    "c1": Clerk("c1", "窓口 太郎", "clerk", hash_pin("1111")),
    "sup": Clerk("sup", "係長", "supervisor", hash_pin("9999")),
}
TENDERS: tuple[TenderKind, ...] = ("cash", "credit", "points")


class Clock:
    def __init__(self) -> None:
        self.t = datetime.fromisoformat("2026-11-26T09:00:00+09:00")

    def now(self) -> datetime:
        self.t += timedelta(seconds=30)
        return self.t


def make_counter(tmp_path: Path, points: PointsService | None,
                 rules: PointsRules | None = None) -> Counter:
    journal = Journal.open(tmp_path / "journal.db", TERMINAL,
                           TerminalKey.load_or_create(tmp_path / "terminal.key"))
    counter = Counter(journal, CATALOGUE, CounterSettings(TERMINAL, tenders=TENDERS), CLERKS,
                      Clock(), InProcessPaymentTerminal(random.Random(1)), points=points,
                      points_rules=rules or PointsRules())
    if counter.state.clerk is None:
        assert counter.login("c1", "1111").ok
    return counter


def journal_text(counter: Counter) -> str:
    return "\n".join(str(e.as_dict()) for e in counter.journal.entries())


def test_card_token_is_hmac_sha256_and_the_idm_is_only_ever_masked() -> None:
    assert hmac.new(KEY, IDM, hashlib.sha256).hexdigest() == CARD
    assert is_card_token(CARD) and not is_card_token(IDM.hex())
    assert card_token(b"another key", IDM) != CARD
    assert mask_idm(IDM) == "012E…"
    with pytest.raises(ValueError):
        card_token(b"", IDM)


def test_redeem_then_cash_for_the_rest(tmp_path: Path) -> None:
    sim = PointsSimulator({CARD: 1000})
    c = make_counter(tmp_path, sim)
    c.add_item("CAFE")
    c.add_item("ADM")
    tender = c.pay_with_points(CARD, 300)
    assert (tender.kind, tender.amount, tender.ref) == ("points", 300, f"{TERMINAL}-3")
    assert tender.as_body() == {"kind": "points", "amount": 300, "ref": tender.ref}
    assert sim.balance(CARD) == 700
    pending = [e for e in c.journal.entries() if e.kind == "payment.pending"][-1]
    assert pending.body == {"operation": "sale", "kind": "points", "amount": 300,
                            "points": 300, "card": CARD, "ref": tender.ref,
                            "open_seq": pending.seq - 1}
    result = c.journal.head()
    assert result is not None and result.kind == "payment.result"
    assert result.body["approved"] is True and result.body["pending_seq"] == pending.seq
    sale = c.pay_cash(1000).body
    assert sale["tenders"] == [
        {"kind": "points", "amount": 300, "ref": tender.ref},
        {"kind": "cash", "amount": 400, "given": 1000, "change": 600},
    ]
    # Points are a tender: the taxable bases are the lines', whatever paid them.
    assert sale["taxes"] == [{"tax_class": "std10", "base": 250, "tax": 22},
                             {"tax_class": "red8", "base": 450, "tax": 33}]
    c.journal.close()


def test_points_settle_the_whole_sale_and_yen_per_point_applies(tmp_path: Path) -> None:
    sim = PointsSimulator({CARD: 1000})
    c = make_counter(tmp_path, sim, PointsRules(yen_per_point=5))
    c.add_item("ADM")
    tender = c.pay_with_points(CARD, 50)  # 50 points x 5 yen
    assert tender.amount == 250 and sim.balance(CARD) == 950
    entry = c.complete_sale(c.payment())
    assert entry.body["tenders"] == [{"kind": "points", "amount": 250, "ref": tender.ref}]
    c.journal.close()


def test_short_balance_is_declined_and_the_sale_stays_open(tmp_path: Path) -> None:
    sim = PointsSimulator({CARD: 100})
    c = make_counter(tmp_path, sim)
    c.add_item("ADM")
    with pytest.raises(PaymentDeclined, match="残高不足"):
        c.pay_with_points(CARD, 200)
    head = c.journal.head()
    assert head is not None and head.kind == "payment.result"
    assert head.body["approved"] is False and "balance short" in head.body["message"]
    assert sim.balance(CARD) == 100 and c.payment().remaining == 250
    assert c.pay_cash(250).kind == "sale"
    c.journal.close()


def test_above_the_amount_due_is_refused_before_anything_is_journaled(tmp_path: Path) -> None:
    sim = PointsSimulator({CARD: 1000})
    c = make_counter(tmp_path, sim)
    c.add_item("ADM")
    c.begin_payment()
    seq = c.journal.last_seq
    for points in (251, 0, -5):
        with pytest.raises(DomainError):
            c.pay_with_points(CARD, points)
    with pytest.raises(DomainError, match="keyed hash"):
        c.pay_with_points(IDM.hex(), 10)  # a raw IDm never reaches the journal
    assert c.journal.last_seq == seq and not sim.calls
    c.journal.close()


def test_points_tender_must_be_enabled_and_a_service_configured(tmp_path: Path) -> None:
    c = make_counter(tmp_path, None)
    c.add_item("ADM")
    with pytest.raises(DeviceError):
        c.pay_with_points(CARD, 10)
    assert all(e.kind != "payment.pending" for e in c.journal.entries())
    c.journal.close()
    other = tmp_path / "other"
    other.mkdir()
    journal = Journal.open(other / "j.db", TERMINAL, TerminalKey.load_or_create(other / "k"))
    no_points = Counter(journal, CATALOGUE, CounterSettings(TERMINAL), CLERKS, Clock(),
                        points=PointsSimulator({CARD: 10}))
    assert no_points.login("c1", "1111").ok
    no_points.add_item("ADM")
    with pytest.raises(DomainError, match="not enabled"):
        no_points.pay_with_points(CARD, 10)
    journal.close()


def test_unknown_outcome_is_resolved_after_restart_without_spending_twice(
    tmp_path: Path,
) -> None:
    ledger = tmp_path / "points.jsonl"
    sim = PointsSimulator({CARD: 1000}, ledger)
    sim.fail_after_next = 1  # redeemed, then the answer is lost
    c = make_counter(tmp_path, sim)
    c.add_item("ADM")
    original_last_result = sim.last_result

    def no_link(ref: str) -> PaymentResult | None:
        raise DeviceError("still no link")

    sim.last_result = no_link  # type: ignore[method-assign]
    with pytest.raises(PaymentPending):
        c.pay_with_points(CARD, 250)
    assert c.state.open_sale is not None and c.state.open_sale.pending
    with pytest.raises(PaymentPending):
        c.pay_cash(1000)
    sim.last_result = original_last_result  # type: ignore[method-assign]
    c.journal.close()
    # The counter (and the stand-in service, from its ledger) restart.
    restarted_sim = PointsSimulator({CARD: 1000}, ledger)
    assert restarted_sim.balance(CARD) == 750
    restarted = make_counter(tmp_path, restarted_sim)
    assert restarted.state.open_sale is not None and restarted.state.open_sale.pending
    resolved = restarted.payments.resolve_pending()
    assert [e.body["approved"] for e in resolved] == [True]
    assert resolved[0].body["amount"] == 250 and resolved[0].body["kind"] == "points"
    sale = restarted.complete_sale(restarted.payment())
    assert [(t["kind"], t["amount"]) for t in sale.body["tenders"]] == [("points", 250)]
    assert restarted_sim.balance(CARD) == 750  # spent once
    restarted.journal.close()


def test_a_redemption_never_received_is_cancelled_and_recorded_as_not_approved(
    tmp_path: Path,
) -> None:
    sim = PointsSimulator({CARD: 1000})
    c = make_counter(tmp_path, sim)
    c.add_item("ADM")
    sim.fail_next = 1  # the request never arrives
    with pytest.raises(PaymentDeclined):
        c.pay_with_points(CARD, 100)
    head = c.journal.head()
    assert head is not None and head.body["approved"] is False
    assert "cancelled" in head.body["message"]
    assert ("cancel", head.body["ref"]) in sim.calls
    # A late copy of that request cannot spend the points any more.
    assert not sim.redeem(CARD, 100, str(head.body["ref"])).approved
    assert sim.balance(CARD) == 1000
    c.journal.close()


def test_cancelling_the_sale_gives_the_points_back(tmp_path: Path) -> None:
    sim = PointsSimulator({CARD: 1000})
    c = make_counter(tmp_path, sim)
    c.add_item("ADM")
    tender = c.pay_with_points(CARD, 200)
    assert sim.balance(CARD) == 800
    c.cancel_sale("visitor changed their mind")
    assert sim.balance(CARD) == 1000
    assert ("cancel", tender.ref) in sim.calls
    assert c.state.open_sale is None
    c.journal.close()


def test_void_gives_the_points_back(tmp_path: Path) -> None:
    sim = PointsSimulator({CARD: 1000})
    c = make_counter(tmp_path, sim)
    c.add_item("ADM")
    c.pay_with_points(CARD, 250)
    sale = c.complete_sale(c.payment())
    assert sim.balance(CARD) == 750
    c.void(sale.seq, c.approve("sup", "9999"))
    assert sim.balance(CARD) == 1000
    c.journal.close()


def test_training_never_reaches_the_service(tmp_path: Path) -> None:
    sim = PointsSimulator({CARD: 1000})
    c = make_counter(tmp_path, sim)
    c.set_training(True, c.approve("sup", "9999"))
    c.add_item("ADM")
    tender = c.pay_with_points(CARD, 250)
    assert tender.approval_code == "TRAINING" and tender.brand == "練習"
    entry = c.complete_sale(c.payment())
    assert entry.kind == "training.sale"
    assert not sim.calls and sim.balance(CARD) == 1000
    kinds = [e.kind for e in c.journal.entries()]
    assert "training.payment.pending" in kinds and "payment.pending" not in kinds
    c.journal.close()


def test_the_journal_names_the_card_by_its_hash_never_the_idm(tmp_path: Path) -> None:
    sim = PointsSimulator({CARD: 1000})
    c = make_counter(tmp_path, sim)
    c.add_item("ADM")
    c.pay_with_points(CARD, 100)
    c.pay_cash(150)
    text = journal_text(c)
    assert CARD in text
    for form in (IDM.hex(), IDM.hex().upper(), IDM.hex(" ")):
        assert form not in text
    c.journal.close()


def test_simulator_is_idempotent_per_ref_and_replays_its_ledger(tmp_path: Path) -> None:
    ledger = tmp_path / "points.jsonl"
    sim = PointsSimulator.with_demo_card(KEY, IDM, ledger_path=ledger)
    assert sim.balance(CARD) == 1000
    first = sim.redeem(CARD, 300, "r1")
    again = sim.redeem(CARD, 300, "r1")
    assert first == again and first.approved and sim.balance(CARD) == 700
    assert sim.last_result("r1") == first and sim.last_result("r2") is None
    assert not sim.redeem(CARD, 5000, "r2").approved
    reopened = PointsSimulator.with_demo_card(KEY, IDM, ledger_path=ledger)
    assert reopened.balance(CARD) == 700 and reopened.last_result("r1") == first
    assert reopened.cancel("r1").approved and reopened.balance(CARD) == 1000
    assert reopened.cancel("r1").approved and reopened.balance(CARD) == 1000  # idempotent
    assert IDM.hex() not in ledger.read_text("utf-8").lower()
    result: PaymentResult | None = reopened.last_result("r1")
    assert result is not None and not result.approved


def test_a_counters_points_key_is_made_once_private_and_kept(tmp_path: Path) -> None:
    from madoguchi.app_cli import points_key_at

    path = tmp_path / "points.key"
    key = points_key_at(path)
    assert len(key) == 32 and path.stat().st_mode & 0o777 == 0o600
    assert points_key_at(path) == key
