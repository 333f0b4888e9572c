"""Sell, take every kind of tender, split, and finish: end to end through the widgets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from uihelpers import FakeQrScanner, kinds, login, ring_up, wait_idle

from ui.app import App
from ui.screens.payment import PaymentScreen


def payment_screen(app: App) -> PaymentScreen:
    screen = app.clerk.screens["payment"]
    assert isinstance(screen, PaymentScreen)
    return screen


def last_sale(app: App) -> dict[str, Any]:
    entry = app.context.counter.journal.head()
    assert entry is not None and entry.kind == "sale"
    return entry.body


def test_login_wrong_pin_then_lockout_message(qtbot: Any, make_app: Callable[..., App]) -> None:
    app = make_app()
    assert app.clerk.current() == "login"
    login(qtbot, app, "c1", "0000")
    message = app.clerk.screens["login"].message.text()  # type: ignore[attr-defined]
    assert "暗証番号が違います" in message and "4回" in message
    for _ in range(4):
        login(qtbot, app, "c1", "0000")
    message = app.clerk.screens["login"].message.text()  # type: ignore[attr-defined]
    assert "ロックしました" in message and "秒後" in message
    assert kinds(app) == ["lockout"]
    login(qtbot, app, "c1", "1111")  # still locked: the right PIN fails too
    assert app.clerk.current() == "login"


def test_cash_sale_with_change_and_cart_edits(qtbot: Any, make_app: Callable[..., App]) -> None:
    app = make_app()
    login(qtbot, app)
    assert app.clerk.current() == "sale"
    sale = app.clerk.screens["sale"]
    sale.item_buttons["ADM"].click()  # type: ignore[attr-defined]
    sale.item_buttons["SPECIAL"].click()  # type: ignore[attr-defined]
    sale.cart_rows[0]["plus"].click()  # type: ignore[attr-defined]
    sale.cart_rows[1]["remove"].click()  # type: ignore[attr-defined]
    sale.set_visitor_type("student")  # type: ignore[attr-defined]
    sale.item_buttons["ADM"].click()  # type: ignore[attr-defined]
    assert sale.total.amount == 250 * 2 + 150  # type: ignore[attr-defined]
    assert app.session.customer.mode == "cart" and app.session.customer.total == 650
    sale.pay_button.click()  # type: ignore[attr-defined]
    wait_idle(qtbot, app)
    pay = payment_screen(app)
    assert pay.amounts["remaining"].amount == 650
    assert app.session.customer.mode == "due"
    pay.keypad.type_digits("1000")
    pay.tender_buttons["cash"].click()
    wait_idle(qtbot, app)
    assert app.clerk.current() == "done"
    done = app.clerk.screens["done"]
    assert done.change.text() == "￥350"  # type: ignore[attr-defined]
    assert done.change.property("role") == "big-amount"  # type: ignore[attr-defined]
    body = last_sale(app)
    assert body["tenders"] == [{"kind": "cash", "amount": 650, "given": 1000, "change": 350}]
    assert app.session.customer.mode == "thanks" and app.session.customer.change == 350


def test_card_kinds_through_the_terminal_with_live_prompts(
    qtbot: Any, make_app: Callable[..., App],
) -> None:
    app = make_app()
    login(qtbot, app)
    prompts: list[str] = []
    views: list[str] = []
    app.session.prompt.connect(prompts.append)
    app.session.customer_changed.connect(lambda v: views.append(f"{v.mode}:{v.prompt}"))
    for kind in ("credit", "emoney", "transit_ic"):
        ring_up(qtbot, app, "ADM")
        payment_screen(app).tender_buttons[kind].click()
        wait_idle(qtbot, app)
        assert app.clerk.current() == "done"
        assert last_sale(app)["tenders"][0]["kind"] == kind
    assert prompts and all("タッチ" in p for p in prompts)
    assert "prompt:tap" in views


def test_split_card_then_cash(qtbot: Any, make_app: Callable[..., App]) -> None:
    app = make_app()
    login(qtbot, app)
    ring_up(qtbot, app, "SPECIAL", "ADM")
    pay = payment_screen(app)
    pay.keypad.type_digits("300")
    pay.tender_buttons["emoney"].click()
    wait_idle(qtbot, app)
    assert app.clerk.current() == "payment"
    assert pay.amounts["paid"].amount == 300 and pay.amounts["remaining"].amount == 750
    pay.quick_buttons[0].click()  # ちょうど: exact cash for the rest
    wait_idle(qtbot, app)
    tenders = last_sale(app)["tenders"]
    assert [(t["kind"], t["amount"]) for t in tenders] == [("emoney", 300), ("cash", 750)]


def test_qr_scanned_from_the_visitor_and_shown_on_the_display(
    qtbot: Any, make_app: Callable[..., App],
) -> None:
    scanner = FakeQrScanner()
    app = make_app(qr_scanner=scanner)
    login(qtbot, app)
    ring_up(qtbot, app, "ADM")
    pay = payment_screen(app)
    pay.tender_buttons["qr_scan"].click()
    assert app.session.customer.prompt == "scan"
    scanner.scan("281234567890123456")
    qtbot.waitUntil(lambda: app.clerk.current() == "done", timeout=10_000)
    wait_idle(qtbot, app)
    assert last_sale(app)["tenders"][0]["kind"] == "qr"
    ring_up(qtbot, app, "TEA")
    pay.tender_buttons["qr_show"].click()
    wait_idle(qtbot, app)
    assert app.session.customer.mode == "qr" and app.session.customer.qr_png
    assert not app.customer.qr.pixmap().isNull()
    pay.tender_buttons["qr_confirm"].click()
    wait_idle(qtbot, app)
    tenders = last_sale(app)["tenders"]
    assert len(tenders) == 1 and tenders[0]["kind"] == "qr" and tenders[0]["amount"] == 150


def test_points_button_is_disabled_and_marked(qtbot: Any, make_app: Callable[..., App]) -> None:
    app = make_app()
    login(qtbot, app)
    ring_up(qtbot, app, "ADM")
    button = payment_screen(app).tender_buttons["points"]
    assert not button.isEnabled() and "準備中" in button.text()


def test_cancel_sale_from_the_payment_screen(qtbot: Any, make_app: Callable[..., App]) -> None:
    app = make_app()
    login(qtbot, app)
    ring_up(qtbot, app, "ADM")
    payment_screen(app).cancel_button.click()
    wait_idle(qtbot, app)
    assert app.clerk.current() == "sale"
    assert kinds(app)[-1] == "sale.cancel"
    assert app.context.counter.state.open_sale is None
