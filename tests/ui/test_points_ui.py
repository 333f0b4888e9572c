"""Points through the widgets: tap a (fake) card, see the balance on both screens, pay part in
points and the rest in cash; the journal names the card by its keyed hash, never its IDm."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

from uihelpers import TIMEOUT_MS, FakeCardReader, login, ring_up, wait_idle

from drivers.inprocess import InProcessPaymentTerminal
from drivers.points_sim import PointsSimulator
from terminal.counter import Counter, CounterSettings
from terminal.journal import Journal, TerminalKey
from terminal.points import card_token
from terminal.ports import TenderKind
from ui.app import App
from ui.demo import DEMO_CLERKS, TERMINAL, WallClock, demo_catalogue
from ui.screens.payment import PaymentScreen

KEY = b"test points key, 32 bytes long!!"
IDM = bytes.fromhex("0102030405060708")  # FakeCardReader.tap's default card
CARD = card_token(KEY, IDM)
TENDERS: tuple[TenderKind, ...] = ("cash", "transit_ic", "emoney", "credit", "qr", "points")


def points_app(make_app: Callable[..., App], tmp_path: Path, balance: int = 1000,
               ) -> tuple[App, FakeCardReader, PointsSimulator]:
    sim = PointsSimulator({CARD: balance})
    journal = Journal.open(tmp_path / "journal.db", TERMINAL,
                           TerminalKey.load_or_create(tmp_path / "terminal.key"))
    counter = Counter(journal, demo_catalogue(), CounterSettings(TERMINAL, tenders=TENDERS),
                      DEMO_CLERKS, WallClock(), InProcessPaymentTerminal(random.Random(1)),
                      points=sim)
    reader = FakeCardReader()
    app = make_app(counter=counter, card_reader=reader, points=sim, points_key=KEY)
    return app, reader, sim


def payment_screen(app: App) -> PaymentScreen:
    screen = app.clerk.screens["payment"]
    assert isinstance(screen, PaymentScreen)
    return screen


def tap_and_read_balance(qtbot: Any, app: App, reader: FakeCardReader) -> PaymentScreen:
    pay = payment_screen(app)
    button = pay.tender_buttons["points"]
    assert button.isEnabled() and "準備中" not in button.text()
    button.click()
    assert app.session.customer.mode == "prompt" and app.session.customer.prompt == "tap"
    assert "カードをタッチしてください" in app.customer.detail.text()
    assert "カードをタッチしてください" in app.clerk.message.text()
    reader.tap(IDM)
    qtbot.waitUntil(lambda: pay.points_use_button.isVisible(), timeout=TIMEOUT_MS)
    wait_idle(qtbot, app)
    return pay


def test_tap_balance_then_split_points_and_cash(
    qtbot: Any, make_app: Callable[..., App], tmp_path: Path,
) -> None:
    app, reader, sim = points_app(make_app, tmp_path)
    login(qtbot, app)
    ring_up(qtbot, app, "SPECIAL", "ADM")  # 1,050 yen
    pay = tap_and_read_balance(qtbot, app, reader)
    assert app.session.customer.mode == "points"
    assert app.session.customer.points_balance == 1000
    assert app.customer.heading.text() == "残高"
    assert "1,000" in app.customer.amount.text()
    for lang, word in (("en", "Balance"), ("zh", "余额"), ("ko", "잔액")):
        app.customer.set_language(lang)
        assert app.customer.heading.text() == word
    app.customer.set_language("ja")
    notice = app.clerk.message.text()
    assert "1,000" in notice and "0102…" in notice and IDM.hex() not in notice.lower()
    pay.keypad.type_digits("300")
    pay.points_use_button.click()
    wait_idle(qtbot, app)
    assert app.clerk.current() == "payment"
    assert pay.amounts["paid"].amount == 300 and pay.amounts["remaining"].amount == 750
    assert not pay.points_use_button.isVisible() and sim.balance(CARD) == 700
    pay.quick_buttons[0].click()  # exact cash for the rest
    wait_idle(qtbot, app)
    assert app.clerk.current() == "done"
    head = app.context.counter.journal.head()
    assert head is not None and head.kind == "sale"
    tenders = head.body["tenders"]
    assert [(t["kind"], t["amount"]) for t in tenders] == [("points", 300), ("cash", 750)]
    text = "\n".join(str(e.as_dict()) for e in app.context.counter.journal.entries())
    assert CARD in text
    for form in (IDM.hex(), IDM.hex().upper(), IDM.hex(" "), str(IDM)):
        assert form not in text


def test_default_points_pay_all_that_is_due(
    qtbot: Any, make_app: Callable[..., App], tmp_path: Path,
) -> None:
    app, reader, sim = points_app(make_app, tmp_path)
    login(qtbot, app)
    ring_up(qtbot, app, "ADM")  # 250 yen: default min(balance 1,000, 250 due)
    pay = tap_and_read_balance(qtbot, app, reader)
    pay.points_use_button.click()
    wait_idle(qtbot, app)
    assert app.clerk.current() == "done"
    head = app.context.counter.journal.head()
    assert head is not None and head.body["tenders"][0]["kind"] == "points"
    assert head.body["tenders"][0]["amount"] == 250 and sim.balance(CARD) == 750


def test_too_many_points_are_refused_on_screen(
    qtbot: Any, make_app: Callable[..., App], tmp_path: Path,
) -> None:
    app, reader, sim = points_app(make_app, tmp_path, balance=100)
    login(qtbot, app)
    ring_up(qtbot, app, "ADM")
    pay = tap_and_read_balance(qtbot, app, reader)
    pay.keypad.type_digits("200")
    pay.points_use_button.click()
    wait_idle(qtbot, app)
    assert "1〜100" in app.clerk.message.text()
    assert sim.balance(CARD) == 100 and app.clerk.current() == "payment"
    assert all(e.kind != "payment.pending" for e in app.context.counter.journal.entries())
