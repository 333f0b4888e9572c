"""Receipts (print, failure, retry, 再発行), refund and void with a supervisor PIN, X and Z."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from uihelpers import approve, kinds, login, network_printer, ring_up, wait_idle

from drivers.printer.simulator import NetworkPrinterSimulator
from ui.app import App
from ui.screens.done import DoneScreen
from ui.screens.refund import RefundScreen
from ui.screens.reports import ReportsScreen


def done_screen(app: App) -> DoneScreen:
    screen = app.clerk.screens["done"]
    assert isinstance(screen, DoneScreen)
    return screen


def cash_sale(qtbot: Any, app: App, *codes: str) -> None:
    ring_up(qtbot, app, *codes)
    app.clerk.screens["payment"].quick_buttons[0].click()  # type: ignore[attr-defined]
    wait_idle(qtbot, app)
    assert app.clerk.current() == "done"


def test_receipt_printed_with_addressee_then_reprint_marked(
    qtbot: Any, make_app: Callable[..., App], printer_sim: NetworkPrinterSimulator,
) -> None:
    app = make_app(printer=network_printer(printer_sim))
    login(qtbot, app)
    ring_up(qtbot, app, "ADM")
    pay = app.clerk.screens["payment"]
    pay.addressee.setText("八戸太郎")  # type: ignore[attr-defined]
    pay.purpose.setText("観覧料")  # type: ignore[attr-defined]
    pay.quick_buttons[0].click()  # type: ignore[attr-defined]
    wait_idle(qtbot, app)
    page = printer_sim.wait_pages(1)[0]
    assert "八戸太郎 様" in page.text and "但し 観覧料 として" in page.text
    assert "再発行" not in page.text + "".join(page.double)
    done = done_screen(app)
    assert done.printed and done.reprint_button.isVisibleTo(done)
    qtbot.waitUntil(lambda: not done.preview.pixmap().isNull(), timeout=5000)
    done.reprint_button.click()
    approve(qtbot, app)
    assert app.clerk.current() == "done"
    pages = printer_sim.wait_pages(2)
    assert "再発行" in pages[1].text + "".join(pages[1].double)


def test_print_failure_keeps_the_sale_and_offers_printing_again(
    qtbot: Any, make_app: Callable[..., App], printer_sim: NetworkPrinterSimulator,
) -> None:
    app = make_app(printer=network_printer(printer_sim))
    login(qtbot, app)
    printer_sim.state.paper_out = True
    cash_sale(qtbot, app, "ADM")
    assert kinds(app)[-1] == "sale"  # journaled before printing
    done = done_screen(app)
    assert done.print_failed and done.retry_button.isVisibleTo(done)
    assert "用紙" in app.clerk.message.text() and "保存済み" in app.clerk.message.text()
    assert app.clerk.statusbar.states["printer"][0] == "error"
    printer_sim.state.paper_out = False
    done.retry_button.click()
    wait_idle(qtbot, app)
    assert done.printed
    assert "再発行" not in printer_sim.wait_pages(1)[0].text


def test_refund_and_void_need_a_supervisor(qtbot: Any, make_app: Callable[..., App]) -> None:
    app = make_app()
    login(qtbot, app)
    cash_sale(qtbot, app, "ADM", "SPECIAL")
    cash_sale(qtbot, app, "TEA")
    app.clerk.nav_buttons["refund"].click()
    refund = app.clerk.screens["refund"]
    assert isinstance(refund, RefundScreen)
    sales = sorted(refund.recent_buttons)
    refund.recent_buttons[sales[0]].click()
    wait_idle(qtbot, app)
    refund.qty_buttons[1][1].click()  # one 企画展
    refund.refund_button.click()
    assert app.clerk.current() == "approval"
    approve(qtbot, app, pin="0000")
    assert app.clerk.current() == "approval"
    assert "承認できません" in app.clerk.screens["approval"].message.text()  # type: ignore[attr-defined]
    approve(qtbot, app, pin="9999")
    assert app.clerk.current() == "done"
    entry = app.context.counter.journal.head()
    assert entry is not None and entry.kind == "refund"
    assert entry.body["total"] == 800 and entry.body["approved_by"] == "sup1"
    app.clerk.go("refund")
    refund.recent_buttons[sales[1]].click()
    wait_idle(qtbot, app)
    refund.void_button.click()
    approve(qtbot, app)
    entry = app.context.counter.journal.head()
    assert entry is not None and entry.kind == "void" and entry.body["original_seq"] == sales[1]


def test_x_report_and_z_closing_with_denominations(
    qtbot: Any, make_app: Callable[..., App],
) -> None:
    app = make_app()
    login(qtbot, app)
    app.clerk.go("cash")
    cash = app.clerk.screens["cash"]
    cash.keypad.type_digits("20000")  # type: ignore[attr-defined]
    cash.apply_button.click()  # type: ignore[attr-defined]
    wait_idle(qtbot, app)
    cash_sale(qtbot, app, "SPECIAL")
    ring_up(qtbot, app, "ADM")
    app.clerk.screens["payment"].tender_buttons["credit"].click()  # type: ignore[attr-defined]
    wait_idle(qtbot, app)
    app.clerk.nav_buttons["reports"].click()
    wait_idle(qtbot, app)
    reports = app.clerk.screens["reports"]
    assert isinstance(reports, ReportsScreen)
    assert reports.expected == 20800
    assert "￥1,050" in reports.report.toPlainText()
    reports.count_buttons[10000][2].click()  # +10 ... then back to 2
    for _ in range(8):
        reports.count_buttons[10000][0].click()
    reports.count_buttons[500][1].click()
    reports.count_buttons[100][1].click()
    reports.count_buttons[100][1].click()
    assert reports.amounts["counted"].amount == 20700
    assert reports.amounts["difference"].amount == -100
    reports.z_button.click()
    wait_idle(qtbot, app)
    kinds_now = kinds(app)
    assert kinds_now[-2:] == ["payment.daily_log", "closing.z"]
    z = app.context.counter.journal.head()
    assert z is not None and z.body["cash_counted"] == 20700 and z.body["cash_expected"] == 20800
    assert app.context.counter.state.clerk is None
    app.clerk.nav_buttons["sale"].click()
    assert app.clerk.current() == "login"
