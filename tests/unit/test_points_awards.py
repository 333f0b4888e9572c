"""はちのへポイント on the counter: awards on a tap (one per sale, eligibility, cap online and
offline, quota), quota refresh, clawback on refund and void, training, restart, redemption
refunds and voids giving points back (online and offline), offline redemption."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from drivers.inprocess import InProcessPaymentTerminal
from drivers.points_sim import PointsSimulator
from terminal.catalogue import Account, Catalogue, FeeItem, Names
from terminal.clerks import Clerk, hash_pin
from terminal.counter import Counter, CounterSettings
from terminal.errors import DomainError
from terminal.journal import Entry, Journal, TerminalKey
from terminal.points import PointsRules, card_token, mask_idm
from terminal.ports import TenderKind
from terminal.receipt import ReceiptHeader, build_receipt, render_text

TERMINAL = "test-museum-01"
FACILITY = "test-museum"
KEY = bytes(range(32))
IDM = bytes.fromhex("012E4CD8A1B2C3D4")
CARD = card_token(KEY, IDM)
OTHER = card_token(KEY, bytes.fromhex("0101010101010101"))
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
RULES = PointsRules(eligible_items=("ADM",))


class Clock:
    def __init__(self) -> None:
        self.t = datetime.fromisoformat("2026-11-26T09:00:00+09:00")

    def now(self) -> datetime:
        self.t += timedelta(seconds=30)
        return self.t


def make_counter(tmp_path: Path, sim: PointsSimulator | None,
                 rules: PointsRules = RULES, quota: bool = True) -> Counter:
    journal = Journal.open(tmp_path / "journal.db", TERMINAL,
                           TerminalKey.load_or_create(tmp_path / "terminal.key"))
    counter = Counter(journal, CATALOGUE,
                      CounterSettings(TERMINAL, tenders=TENDERS, facility=FACILITY), CLERKS,
                      Clock(), InProcessPaymentTerminal(random.Random(1)), points=sim,
                      points_rules=rules)
    if counter.state.clerk is None:
        assert counter.login("c1", "1111").ok
    if quota and sim is not None:
        counter.refresh_points_quota()
    return counter


def sale_with_tap(c: Counter, *codes: str, card: str = CARD) -> Entry:
    for code in codes:
        c.add_item(code)
    c.tap_points_card(card, mask_idm(IDM))
    c.begin_payment()
    return c.pay_cash(c.payment().remaining)


def cash(c: Counter) -> Entry:
    c.begin_payment()
    return c.pay_cash(c.payment().remaining)


def kinds(c: Counter) -> list[str]:
    return [e.kind for e in c.journal.entries()]


def test_a_tap_earns_one_award_right_after_the_sale(tmp_path: Path) -> None:
    sim = PointsSimulator()
    c = make_counter(tmp_path, sim)
    c.add_item("ADM")
    tap = c.tap_points_card(CARD, mask_idm(IDM))
    assert (tap.card, tap.balance, tap.cap_left, tap.will_award, tap.online) == (
        CARD, 0, 3000, 200, True)
    assert "200" in tap.message
    sale = cash(c)
    award = c.journal.head()
    assert award is not None and award.kind == "points.award" and award.seq == sale.seq + 1
    assert award.body == {"card": CARD, "sale_seq": sale.seq, "receipt_no": f"{TERMINAL}-1",
                          "points": 200, "facility": FACILITY, "online": True}
    assert c.award_for(sale.seq) == award.body and c.award_for(award.seq) is None
    # The tap was for that sale only: the next sale earns nothing without a new tap.
    c.add_item("ADM")
    nxt = cash(c)
    assert c.journal.head() == nxt and c.award_for(nxt.seq) is None
    assert c.state.points.quota_left == sim.quota_chunk - 200
    c.journal.close()


def test_a_sale_without_an_eligible_item_or_without_a_tap_earns_nothing(
    tmp_path: Path,
) -> None:
    c = make_counter(tmp_path, PointsSimulator())
    c.add_item("CAFE")
    tap = c.tap_points_card(CARD)
    assert tap.will_award == 0 and "no fee" in tap.message
    cash(c)
    c.add_item("ADM")
    cash(c)
    assert "points.award" not in kinds(c)
    c.journal.close()


def test_the_cap_is_the_services_answer_when_online(tmp_path: Path) -> None:
    sim = PointsSimulator()
    sim.ingest([{"terminal": "other-01", "seq": 9, "kind": "points.award",
                 "body": {"card": CARD, "points": 2900}}])
    c = make_counter(tmp_path, sim)
    c.add_item("ADM")
    tap = c.tap_points_card(CARD)
    assert (tap.balance, tap.cap_left, tap.will_award) == (2900, 100, 100)
    sale = cash(c)
    award = c.award_for(sale.seq)
    assert award is not None and award["points"] == 100 and award["online"] is True
    sim.ingest(e.as_dict() for e in c.journal.entries())  # a sync: the service knows it
    sale = sale_with_tap(c, "ADM")
    assert c.award_for(sale.seq) is None
    c.journal.close()


def test_offline_the_cap_is_counted_from_this_terminals_journal(tmp_path: Path) -> None:
    sim = PointsSimulator()
    c = make_counter(tmp_path, sim, PointsRules(per_person_cap=500))
    sim.offline = True
    first, second = sale_with_tap(c, "ADM"), sale_with_tap(c, "ADM")
    c.add_item("ADM")
    tap = c.tap_points_card(CARD)
    assert (tap.balance, tap.cap_left, tap.online) == (None, None, False)
    assert tap.will_award == 100 and "unreachable" in tap.message
    third = cash(c)
    points = [c.award_for(s.seq) for s in (first, second, third)]
    assert [(a or {}).get("points") for a in points] == [200, 200, 100]
    assert all(a is not None and a["online"] is False for a in points)
    c.add_item("ADM")
    assert c.tap_points_card(CARD).will_award == 0  # the cap is reached
    assert c.tap_points_card(OTHER).will_award == 200  # another card is not
    c.journal.close()


def test_the_quota_bounds_awards_and_a_refresh_journals_only_changes(tmp_path: Path) -> None:
    sim = PointsSimulator(quota_chunk=300, budget=1000)
    c = make_counter(tmp_path, sim, quota=False)
    c.add_item("ADM")
    tap = c.tap_points_card(CARD)
    assert tap.will_award == 0 and "quota" in tap.message
    c.cancel_sale()
    grant = c.refresh_points_quota()
    assert grant is not None and grant.kind == "points.quota"
    assert grant.body == {"grant_id": sim.grant_id, "granted": 300}
    assert c.refresh_points_quota() is None  # nothing used: the same grant, not journaled
    awards = [c.award_for(sale_with_tap(c, "ADM", card=card).seq) for card in (CARD, OTHER)]
    assert [(a or {}).get("points") for a in awards] == [200, 100]
    assert c.state.points.quota_left == 0
    assert c.award_for(sale_with_tap(c, "ADM").seq) is None
    again = c.refresh_points_quota()
    assert again is not None and again.body["granted"] == 600
    sim.offline = True
    assert c.refresh_points_quota() is None  # offline: a no-op, no error
    c.journal.close()
    # The quota is folded from the journal: a restart knows what is left.
    restarted = make_counter(tmp_path, sim, quota=False)
    assert restarted.state.points.quota_left == 300
    restarted.journal.close()


def test_a_full_refund_claws_back_a_partial_one_keeping_an_eligible_item_does_not(
    tmp_path: Path,
) -> None:
    c = make_counter(tmp_path, PointsSimulator())
    sale = sale_with_tap(c, "ADM", "ADM", "CAFE")
    assert c.award_for(sale.seq) is not None
    sup = c.approve("sup", "9999")
    c.refund(sale.seq, {0: 1, 1: 1}, sup)  # one ADM and the coffee: one ADM is left
    assert "points.clawback" not in kinds(c)
    refund = c.refund(sale.seq, {0: 1}, sup)
    clawback = c.journal.head()
    assert clawback is not None and clawback.kind == "points.clawback"
    award_seq = c.state.points.awards[sale.seq][0]
    assert clawback.body == {"card": CARD, "sale_seq": sale.seq, "award_seq": award_seq,
                             "points": 200, "reason": "refund", "by_seq": refund.seq}
    assert clawback.seq == refund.seq + 1
    assert c.state.points.awarded_net == 0 and c.state.points.by_card[CARD] == 0
    c.journal.close()


def test_a_void_claws_back_once(tmp_path: Path) -> None:
    c = make_counter(tmp_path, PointsSimulator())
    sale = sale_with_tap(c, "ADM")
    void = c.void(sale.seq, c.approve("sup", "9999"))
    head = c.journal.head()
    assert head is not None and head.kind == "points.clawback"
    assert head.body["reason"] == "void" and head.body["by_seq"] == void.seq
    assert kinds(c).count("points.clawback") == 1
    c.journal.close()


def test_training_awards_are_training_entries_and_never_call_the_service(
    tmp_path: Path,
) -> None:
    sim = PointsSimulator()
    c = make_counter(tmp_path, sim)
    quota = c.state.points.quota_left
    c.set_training(True, c.approve("sup", "9999"))
    calls = len(sim.calls)
    c.add_item("ADM")
    tap = c.tap_points_card(CARD)
    assert tap.balance is None and tap.will_award == 200 and "training" in tap.message
    sale = cash(c)
    assert sale.kind == "training.sale"
    head = c.journal.head()
    assert head is not None and head.kind == "training.points.award"
    assert c.award_for(sale.seq) == head.body
    assert c.refresh_points_quota() is None
    assert len(sim.calls) == calls and c.state.points.quota_left == quota
    assert c.state.points.by_card.get(CARD, 0) == 0
    c.journal.close()


def test_a_restart_never_awards_a_sale_twice_and_forgets_a_tap(tmp_path: Path) -> None:
    sim = PointsSimulator()
    c = make_counter(tmp_path, sim)
    sale = sale_with_tap(c, "ADM")
    c.add_item("ADM")
    c.tap_points_card(CARD)  # the app dies before this sale completes: the tap is lost
    c.journal.close()
    restarted = make_counter(tmp_path, sim)
    assert restarted.award_for(sale.seq) is not None
    assert restarted.points_awards.tapped is None  # the tap was in memory only
    assert restarted.points_awards.after_sale(restarted.journal.entry(sale.seq)) is None
    restarted.add_item("ADM")
    cash(restarted)
    assert kinds(restarted).count("points.award") == 1
    # Even a tap still in memory cannot award an already awarded sale again.
    restarted.tap_points_card(CARD)
    assert restarted.points_awards.after_sale(restarted.journal.entry(sale.seq)) is None
    restarted.journal.close()


def test_a_balance_check_outside_a_sale_remembers_nothing(tmp_path: Path) -> None:
    sim = PointsSimulator({CARD: 700})
    c = make_counter(tmp_path, sim)
    check = c.points_balance(CARD)
    assert (check.balance, check.will_award, check.online) == (700, 0, True)
    c.add_item("ADM")
    cash(c)
    assert "points.award" not in kinds(c)
    with pytest.raises(DomainError, match="keyed hash"):
        c.points_balance(IDM.hex())
    c.journal.close()


def test_the_receipt_shows_the_masked_card_and_an_offline_award(tmp_path: Path) -> None:
    sim = PointsSimulator()
    c = make_counter(tmp_path, sim)
    sim.offline = True
    sale = sale_with_tap(c, "ADM")
    note = c.award_note(sale.seq)
    text = "\n".join(render_text(build_receipt(
        sale.body, sale.kind, sale.at, sale.terminal, sale.seq, ReceiptHeader("博物館"),
        CATALOGUE, points_award=note), 42))
    assert "カード 012E…" in text and "付与ポイント 200 (オフライン: 後日反映)" in text
    assert IDM.hex().upper() not in text
    c.journal.close()
    restarted = make_counter(tmp_path, sim)  # the masked IDm lived in memory only
    note = restarted.award_note(sale.seq)
    assert note is not None and note.card == "****" and not note.online
    restarted.journal.close()


def paid_with_points(c: Counter, points: int) -> Entry:
    c.add_item("ADM")
    c.add_item("CAFE")
    c.tap_points_card(CARD)
    c.pay_with_points(CARD, points)
    return c.pay_cash(c.payment().remaining)


def test_refunding_a_points_paid_sale_gives_the_points_back(tmp_path: Path) -> None:
    sim = PointsSimulator({CARD: 1000})
    c = make_counter(tmp_path, sim)
    sale = paid_with_points(c, 300)
    assert sim.balance(CARD) == 700  # spent 300; the award of 200 counts once synced
    sim.ingest(e.as_dict() for e in c.journal.entries())
    assert sim.balance(CARD) == 900
    sup = c.approve("sup", "9999")
    with pytest.raises(DomainError, match="refund the rest in cash"):
        c.refund(sale.seq, {1: 1}, sup, "points")  # ¥450 > ¥300 paid in points
    refund = c.refund(sale.seq, {0: 1}, sup, "points")
    assert [t["kind"] for t in refund.body["tenders"]] == ["points"]
    pending = [e for e in c.journal.entries() if e.kind == "payment.pending"][-1]
    assert pending.body["operation"] == "refund" and pending.body["points"] == 250
    assert pending.body["card"] == CARD
    assert sim.balance(CARD) == 1150 and ("refund", pending.body["ref"]) in sim.calls
    with pytest.raises(DomainError):
        c.refund(sale.seq, {1: 1}, sup, "points")  # only ¥50 left in points
    c.journal.close()


def test_an_offline_give_back_stays_pending_and_is_sent_again_later(tmp_path: Path) -> None:
    sim = PointsSimulator({CARD: 1000})
    c = make_counter(tmp_path, sim)
    refunded = paid_with_points(c, 250)
    voided = paid_with_points(c, 100)
    sim.offline = True
    sup = c.approve("sup", "9999")
    c.refund(refunded.seq, {0: 1}, sup, "points")
    c.void(voided.seq, sup)
    assert kinds(c)[-2:] == ["void", "points.clawback"]
    assert len(c.state.points.give_backs) == 2
    c.journal.close()
    c = make_counter(tmp_path, sim, quota=False)  # a restart keeps them pending
    assert len(c.state.points.give_backs) == 2
    sim.offline = False
    c.refresh_points_quota()
    assert not c.state.points.give_backs
    results = [e for e in c.journal.entries() if e.kind == "payment.result"][-2:]
    assert all(r.body["approved"] for r in results)
    assert sim.balance(CARD) == 1000  # 250 refunded, 100 cancelled: as before
    c.journal.close()


def test_offline_redemption_is_refused_by_default(tmp_path: Path) -> None:
    sim = PointsSimulator({CARD: 1000})
    c = make_counter(tmp_path, sim)
    sim.offline = True
    c.add_item("ADM")
    assert not c.tap_points_card(CARD).online
    before = c.journal.last_seq
    with pytest.raises(DomainError, match="cannot be spent offline"):
        c.pay_with_points(CARD, 100)
    assert c.journal.last_seq == before + 1  # only the sale.open
    sim.offline = False  # back: the same card is redeemed normally
    c.pay_with_points(CARD, 100)
    assert sim.balance(CARD) == 900
    c.journal.close()


def test_offline_redemption_up_to_the_limit_is_settled_later(tmp_path: Path) -> None:
    sim = PointsSimulator({CARD: 1000})
    c = make_counter(tmp_path, sim, PointsRules(offline_redemption_limit=150))
    sim.offline = True
    c.add_item("ADM")
    c.tap_points_card(CARD)
    with pytest.raises(DomainError, match="at most 150"):
        c.pay_with_points(CARD, 200)
    tender = c.pay_with_points(CARD, 100)
    assert tender.approval_code == "OFFLINE"
    with pytest.raises(DomainError, match="at most 50"):
        c.pay_with_points(CARD, 60)
    sale = c.pay_cash(c.payment().remaining)
    pending = [e for e in c.journal.entries() if e.kind == "payment.pending"][-1]
    assert pending.body["offline"] is True and pending.body["points"] == 100
    sim.offline = False
    assert sim.balance(CARD) == 1000  # the service never heard of it...
    sim.ingest(e.as_dict() for e in c.journal.entries())  # ...until the journal arrives
    assert sim.balance(CARD) == 1000 - 100 + 200
    c.void(sale.seq, c.approve("sup", "9999"))  # withdrawn without asking the service
    sim.ingest(e.as_dict() for e in c.journal.entries())
    assert sim.balance(CARD) == 1000
    c.journal.close()


def test_cancelling_the_sale_or_emptying_the_cart_forgets_the_tap(tmp_path: Path) -> None:
    from terminal.sale import Cart

    c = make_counter(tmp_path, PointsSimulator())
    c.add_item("ADM")
    c.tap_points_card(CARD)
    c.begin_payment()
    c.cancel_sale("visitor left")
    c.add_item("ADM")
    cash(c)
    c.add_item("ADM")
    c.tap_points_card(CARD)
    c.set_cart(Cart())
    c.add_item("ADM")
    cash(c)
    assert "points.award" not in kinds(c)
    c.journal.close()
