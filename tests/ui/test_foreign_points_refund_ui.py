"""The refund screen gives points back for another counter's sale paid with points: after the
supervisor's PIN the visitor taps the card that paid (prompted on both screens), only its keyed
hash reaches the service and the journal; the service refuses another card (the refusal is shown,
another tap or cash still works); cancel and timeout give up without refunding."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from test_foreign_refund_ui import OTHER, FakeLookup, answer, refund_screen, search
from test_points_ui import CARD, IDM, KEY, TENDERS
from uihelpers import TIMEOUT_MS, FakeCardReader, approve, wait_idle

from drivers.inprocess import InProcessPaymentTerminal
from drivers.points_sim import PointsSimulator
from terminal.counter import Counter, CounterSettings
from terminal.journal import Entry, Journal, TerminalKey
from terminal.points import card_token
from ui.app import App
from ui.demo import DEMO_CLERKS, TERMINAL, WallClock, demo_catalogue
from ui.screens.refund import RefundScreen

WRONG_IDM = bytes.fromhex("0a0b0c0d0e0f1011")
PAID_IN_POINTS = 500


@pytest.fixture
def sim() -> PointsSimulator:
    return PointsSimulator({CARD: 1000, card_token(KEY, WRONG_IDM): 50})


@pytest.fixture
def other_counter(tmp_path: Path, sim: PointsSimulator) -> Iterator[Counter]:
    """Another counter of the museum taking points (the same service), a clerk logged in."""
    folder = tmp_path / "other"
    folder.mkdir()
    journal = Journal.open(folder / "journal.db", OTHER,
                           TerminalKey.load_or_create(folder / "terminal.key"))
    other = Counter(journal, demo_catalogue(), CounterSettings(OTHER, tenders=TENDERS),
                    DEMO_CLERKS, WallClock(), points=sim)
    assert other.login("c1", "1111").ok
    yield other
    journal.close()


@pytest.fixture
def points_sale(other_counter: Counter) -> Entry:
    """2 x ADM (250) + SPECIAL (800) at the other counter, 500 yen of it paid with CARD's
    points and the rest in cash."""
    other_counter.add_item("ADM", qty=2)
    other_counter.add_item("SPECIAL")
    other_counter.begin_payment()
    other_counter.pay_with_points(CARD, PAID_IN_POINTS)
    return other_counter.pay_cash(other_counter.payment().remaining)


def points_counter(make_app: Callable[..., App], tmp_path: Path, sim: PointsSimulator,
                   sale: Entry) -> tuple[App, FakeCardReader]:
    """This counter (points tender, the same points service) finding ``sale`` on the server."""
    journal = Journal.open(tmp_path / "journal.db", TERMINAL,
                           TerminalKey.load_or_create(tmp_path / "terminal.key"))
    counter = Counter(journal, demo_catalogue(), CounterSettings(TERMINAL, tenders=TENDERS),
                      DEMO_CLERKS, WallClock(), InProcessPaymentTerminal(random.Random(1)),
                      points=sim)
    reader = FakeCardReader()
    lookup = FakeLookup({str(sale.body["receipt_no"]): answer(sale)})
    app = make_app(counter=counter, card_reader=reader, points=sim, points_key=KEY,
                   lookup_receipt=lookup)
    return app, reader


def choose_points_refund(qtbot: Any, app: App, sale: Entry) -> RefundScreen:
    """Call the sale up, choose one admission back to points, approve: the card is awaited."""
    screen = refund_screen(qtbot, app)
    search(qtbot, app, screen, str(sale.body["receipt_no"]))
    assert screen.foreign is not None and screen.original_button.isEnabled()
    assert screen.original_button.text() == "ポイントに返す"
    assert "ポイントに返す" in app.clerk.message.text()
    screen.original_button.click()
    assert screen.tender_kind == "points"
    screen.qty_buttons[0][1].click()
    screen.refund_button.click()
    approve(qtbot, app)
    assert app.clerk.current() == "refund" and screen.card_wait.waiting
    assert screen.tap_cancel_button.isVisible() and not screen.refund_button.isEnabled()
    assert "ポイントで支払ったカード" in app.clerk.message.text()
    view = app.session.customer
    assert (view.mode, view.prompt) == ("prompt", "tap_refund")
    assert "お支払いに使ったカードをタッチ" in app.customer.detail.text()
    return screen


def journal_text(app: App) -> str:
    return "\n".join(str(e.as_dict()) for e in app.context.counter.journal.entries())


def assert_no_raw_idm(app: App, *idms: bytes) -> None:
    shown = journal_text(app) + app.clerk.message.text() + app.customer.detail.text()
    for idm in idms:
        for form in (idm.hex(), idm.hex().upper(), idm.hex(" "), str(idm)):
            assert form not in shown


def test_points_go_back_to_the_card_that_paid(
    qtbot: Any, make_app: Callable[..., App], tmp_path: Path, sim: PointsSimulator,
    points_sale: Entry,
) -> None:
    assert sim.balance(CARD) == 1000 - PAID_IN_POINTS
    app, reader = points_counter(make_app, tmp_path, sim, points_sale)
    screen = choose_points_refund(qtbot, app, points_sale)
    reader.tap(IDM)
    qtbot.waitUntil(lambda: app.clerk.current() == "done", timeout=TIMEOUT_MS)
    wait_idle(qtbot, app)
    assert sim.balance(CARD) == 1000 - PAID_IN_POINTS + 250
    refund = next(e for e in reversed(list(app.context.counter.journal.entries()))
                  if e.kind == "refund")
    assert (refund.body["original_terminal"], refund.body["original_seq"]) == (
        OTHER, points_sale.seq)
    assert refund.body["approved_by"] == "sup1" and refund.body["total"] == 250
    assert [(t["kind"], t["amount"]) for t in refund.body["tenders"]] == [("points", 250)]
    assert CARD in journal_text(app)  # the give-back names the card by its keyed hash only
    assert_no_raw_idm(app, IDM)
    assert not screen.card_wait.waiting and screen.points_refund is None
    assert app.session.customer.mode == "welcome"  # not the balance check of the tap
    assert app.session.hachica.status is None and not app.session.hachica.claims


def test_a_wrong_card_is_refused_then_the_right_one_is_accepted(
    qtbot: Any, make_app: Callable[..., App], tmp_path: Path, sim: PointsSimulator,
    points_sale: Entry,
) -> None:
    app, reader = points_counter(make_app, tmp_path, sim, points_sale)
    screen = choose_points_refund(qtbot, app, points_sale)
    reader.tap(WRONG_IDM)
    qtbot.waitUntil(lambda: "返せません" in app.clerk.message.text(), timeout=TIMEOUT_MS)
    wait_idle(qtbot, app)
    message = app.clerk.message.text()
    assert message.startswith("カード 0A0B… にはポイントを返せません: カードが元の利用と違います")
    assert "カードが元の利用と違います" in message and "0A0B…" in message
    assert "the card" not in message  # ja first: the clerk's language only
    assert app.context.counter.journal.head() is not None
    assert all(e.kind != "refund" for e in app.context.counter.journal.entries())
    assert sim.balance(card_token(KEY, WRONG_IDM)) == 50
    assert screen.card_wait.waiting and app.clerk.current() == "refund"
    assert app.session.customer.prompt == "tap_refund" and app.session.customer.mode == "prompt"
    app.session.set_language("en")
    assert "the card is not the one that paid" in app.clerk.message.text()
    app.session.set_language("ja")
    reader.tap(IDM)  # the approval still holds: the right card now
    qtbot.waitUntil(lambda: app.clerk.current() == "done", timeout=TIMEOUT_MS)
    wait_idle(qtbot, app)
    assert sim.balance(CARD) == 1000 - PAID_IN_POINTS + 250
    assert_no_raw_idm(app, IDM, WRONG_IDM)


def test_switching_to_cash_after_a_refused_card_still_refunds_in_cash(
    qtbot: Any, make_app: Callable[..., App], tmp_path: Path, sim: PointsSimulator,
    points_sale: Entry,
) -> None:
    app, reader = points_counter(make_app, tmp_path, sim, points_sale)
    screen = choose_points_refund(qtbot, app, points_sale)
    reader.tap(WRONG_IDM)
    qtbot.waitUntil(lambda: "返せません" in app.clerk.message.text(), timeout=TIMEOUT_MS)
    wait_idle(qtbot, app)
    screen.cash_button.click()
    assert not screen.card_wait.waiting and screen.tender_kind == "cash"
    assert screen.refund_button.isEnabled() and not screen.tap_cancel_button.isVisible()
    assert app.session.customer.mode == "welcome"
    reader.tap(IDM)  # no longer awaited: nothing happens on the refund screen
    screen.refund_button.click()
    approve(qtbot, app)
    assert app.clerk.current() == "done"
    head = app.context.counter.journal.head()
    assert head is not None and head.kind == "refund"
    assert head.body["tenders"] == [{"kind": "cash", "amount": 250, "given": 250, "change": 0}]
    wait_idle(qtbot, app)
    assert sim.balance(CARD) == 1000 - PAID_IN_POINTS


def test_cancel_and_timeout_give_up_without_refunding(
    qtbot: Any, make_app: Callable[..., App], tmp_path: Path, sim: PointsSimulator,
    points_sale: Entry,
) -> None:
    app, _ = points_counter(make_app, tmp_path, sim, points_sale)
    screen = choose_points_refund(qtbot, app, points_sale)
    screen.tap_cancel_button.click()
    assert not screen.card_wait.waiting and screen.points_refund is None
    assert "タッチ待ちをやめました" in app.clerk.message.text()
    assert app.session.customer.mode == "welcome" and screen.refund_button.isEnabled()
    screen.card_wait.timeout_ms = 50
    screen.refund_button.click()
    approve(qtbot, app)
    assert screen.card_wait.waiting
    qtbot.waitUntil(lambda: not screen.card_wait.waiting, timeout=TIMEOUT_MS)
    assert "カードがタッチされなかった" in app.clerk.message.text()
    assert app.session.customer.mode == "welcome" and app.clerk.current() == "refund"
    assert all(e.kind != "refund" for e in app.context.counter.journal.entries())
    assert sim.balance(CARD) == 1000 - PAID_IN_POINTS


def test_a_cash_paid_foreign_sale_offers_no_points(
    qtbot: Any, make_app: Callable[..., App], tmp_path: Path, sim: PointsSimulator,
    other_counter: Counter,
) -> None:
    other_counter.add_item("ADM")
    other_counter.begin_payment()
    other_sale = other_counter.pay_cash(250)
    app, _ = points_counter(make_app, tmp_path, sim, other_sale)
    screen = refund_screen(qtbot, app)
    search(qtbot, app, screen, str(other_sale.body["receipt_no"]))
    assert screen.foreign is not None and not screen.original_button.isEnabled()
    assert "現金で行います" in app.clerk.message.text()
