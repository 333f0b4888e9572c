"""Devices off the GUI thread: unplugged terminal mid-sale, card taps, crash recovery,
training mode, the visitor's rating and languages."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

from uihelpers import FakeCardReader, approve, kinds, ledger_terminal, login, ring_up, wait_idle

from drivers.inprocess import InProcessPaymentTerminal
from terminal.errors import DeviceUnavailable
from terminal.ports import PaymentResult, TenderKind
from ui.app import App
from ui.demo import demo_counter
from ui.i18n import tr


class Unpluggable:
    """The in-process terminal behind a cable the test can pull."""

    def __init__(self, inner: InProcessPaymentTerminal) -> None:
        self.inner = inner
        self.plugged = True

    def authorize_sale(self, amount: int, kind: TenderKind, ref: str,
                       prompt: Callable[[str], None]) -> PaymentResult:
        if not self.plugged:
            raise DeviceUnavailable("payment terminal: cable unplugged")
        return self.inner.authorize_sale(amount, kind, ref, prompt)

    def last_result(self, ref: str) -> PaymentResult | None:
        if not self.plugged:
            raise DeviceUnavailable("payment terminal: cable unplugged")
        return self.inner.last_result(ref)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_terminal_unplugged_mid_sale_keeps_the_sale(
    qtbot: Any, make_app: Callable[..., App], tmp_path: Path,
) -> None:
    terminal = Unpluggable(InProcessPaymentTerminal(random.Random(1)))
    app = make_app(counter=demo_counter(tmp_path, terminal))
    login(qtbot, app)
    ring_up(qtbot, app, "ADM")
    terminal.plugged = False
    pay = app.clerk.screens["payment"]
    pay.tender_buttons["credit"].click()  # type: ignore[attr-defined]
    wait_idle(qtbot, app)
    assert app.clerk.current() == "payment"
    assert app.clerk.message.property("level") == "error"
    assert "決済端末の画面を確認" in app.clerk.message.text()
    assert app.context.counter.state.open_sale is not None
    assert pay.resolve_button.isVisibleTo(pay)  # type: ignore[attr-defined]
    assert app.session.customer.mode == "due"
    terminal.plugged = True
    pay.resolve_button.click()  # type: ignore[attr-defined]
    wait_idle(qtbot, app)
    assert pay.amounts["remaining"].amount == 250  # type: ignore[attr-defined]
    pay.tender_buttons["credit"].click()  # type: ignore[attr-defined]
    wait_idle(qtbot, app)
    assert app.clerk.current() == "done" and kinds(app)[-1] == "sale"


def test_card_taps_arrive_as_signals_with_feedback(
    qtbot: Any, make_app: Callable[..., App],
) -> None:
    reader = FakeCardReader()
    app = make_app(card_reader=reader)
    login(qtbot, app)
    with qtbot.waitSignal(app.session.card_event, timeout=5000):
        reader.tap()
    assert app.clerk.message.text() == "カードを読み取りました。"
    assert app.clerk.statusbar.text("reader").endswith("正常")


def test_crash_mid_sale_returns_to_the_payment_screen(
    qtbot: Any, make_app: Callable[..., App], tmp_path: Path,
) -> None:
    first = make_app(counter=demo_counter(tmp_path, ledger_terminal(tmp_path)))
    login(qtbot, first)
    ring_up(qtbot, first, "SPECIAL")
    pay = first.clerk.screens["payment"]
    pay.keypad.type_digits("300")  # type: ignore[attr-defined]
    pay.tender_buttons["credit"].click()  # type: ignore[attr-defined]
    wait_idle(qtbot, first)
    first.close()  # the counter goes down with the sale open
    first.context.counter.journal.close()
    again = make_app(counter=demo_counter(tmp_path, ledger_terminal(tmp_path)))
    wait_idle(qtbot, again)
    assert again.clerk.current() == "payment"
    screen = again.clerk.screens["payment"]
    assert screen.amounts["paid"].amount == 300  # type: ignore[attr-defined]
    assert screen.amounts["remaining"].amount == 500  # type: ignore[attr-defined]
    assert "中断した取引" in again.clerk.message.text()
    screen.quick_buttons[0].click()  # type: ignore[attr-defined]
    wait_idle(qtbot, again)
    assert kinds(again)[-1] == "sale"


def test_training_banner_on_every_screen_and_receipt(
    qtbot: Any, make_app: Callable[..., App],
) -> None:
    app = make_app()
    login(qtbot, app)
    app.clerk.training_button.click()
    approve(qtbot, app)
    assert app.context.counter.state.training
    for name in ("sale", "cash", "refund", "reports"):
        app.clerk.go(name)
        wait_idle(qtbot, app)
        assert app.clerk.training_banner.isVisible()
        assert "練習" in app.clerk.training_banner.text()
    assert app.customer.training.isVisible() and app.customer.training.text() == "練習中"
    ring_up(qtbot, app, "ADM")
    app.clerk.screens["payment"].tender_buttons["credit"].click()  # type: ignore[attr-defined]
    wait_idle(qtbot, app)
    assert kinds(app)[-1] == "training.sale"
    receipt = app.clerk.screens["done"].receipt(False)  # type: ignore[attr-defined]
    assert "練習" in receipt.marks
    app.clerk.go("sale")
    app.clerk.training_button.click()
    approve(qtbot, app)
    assert not app.clerk.training_banner.isVisible()


def test_rating_is_journaled_and_languages_switch(
    qtbot: Any, make_app: Callable[..., App],
) -> None:
    app = make_app()
    login(qtbot, app)
    ring_up(qtbot, app, "ADM")
    customer = app.customer
    customer.language_buttons["zh"].click()
    assert customer.heading.text() == tr("customer", "zh", "due")
    app.clerk.screens["payment"].quick_buttons[0].click()  # type: ignore[attr-defined]
    wait_idle(qtbot, app)
    assert customer.heading.text() == "谢谢惠顾"
    customer.language_buttons["ko"].click()
    assert customer.heading.text() == "감사합니다"
    assert customer.rating_caption.text() == tr("customer", "ko", "rate")
    customer.rating_buttons[4].click()
    wait_idle(qtbot, app)
    entry = app.context.counter.journal.head()
    assert entry is not None and entry.kind == "survey.rating"
    sale_seq = app.session.customer.sale_seq
    assert entry.body == {"sale_seq": sale_seq, "score": 4}
    assert customer.rating_caption.text() == "응답해 주셔서 감사합니다"
    ring_up(qtbot, app, "ADM")  # the next visitor starts in Japanese again
    assert customer.lang == "ja"


def test_clerk_language_switch_and_auto_lock(qtbot: Any, make_app: Callable[..., App]) -> None:
    app = make_app(auto_lock_seconds=1)
    login(qtbot, app)
    app.clerk.language_button.click()
    assert app.clerk.nav_buttons["sale"].text() == "Sale"
    qtbot.waitUntil(lambda: app.clerk.current() == "login", timeout=5000)
    wait_idle(qtbot, app)
    assert kinds(app)[-1] == "logout"
    assert "Locked after a while" in app.clerk.screens["login"].message.text()  # type: ignore[attr-defined]
