"""The QR gateway from the payment screen (show a code and poll it off the GUI thread, cancel
it, scan the visitor's code), live prompts without wrapping the terminal, and the journaled
再発行 (after a print failure too)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from uihelpers import (
    FakeGateway,
    FakeQrScanner,
    approve,
    kinds,
    ledger_terminal,
    login,
    network_printer,
    ring_up,
    wait_idle,
)

from drivers.printer.simulator import NetworkPrinterSimulator
from ui.app import App
from ui.demo import demo_counter
from ui.screens.done import DoneScreen
from ui.screens.payment import PaymentScreen

TIMEOUT_MS = 10_000


def screens(app: App) -> tuple[PaymentScreen, DoneScreen]:
    pay, done = app.clerk.screens["payment"], app.clerk.screens["done"]
    assert isinstance(pay, PaymentScreen) and isinstance(done, DoneScreen)
    return pay, done


def gateway_app(make_app: Callable[..., App], tmp_path: Path, gateway: FakeGateway,
                **overrides: Any) -> App:
    counter = demo_counter(tmp_path, ledger_terminal(tmp_path), qr_gateway=gateway)
    return make_app(counter=counter, qr_poll_interval_s=0.05, **overrides)


def reprints(app: App) -> list[dict[str, Any]]:
    return [e.body for e in app.context.counter.journal.entries() if e.kind == "reprint"]


def test_shown_code_is_polled_off_the_gui_thread_until_paid(
    qtbot: Any, make_app: Callable[..., App], tmp_path: Path,
) -> None:
    gateway = FakeGateway()
    app = gateway_app(make_app, tmp_path, gateway)
    login(qtbot, app)
    ring_up(qtbot, app, "ADM")
    pay, _done = screens(app)
    pay.tender_buttons["qr_show"].click()
    qtbot.waitUntil(lambda: app.session.customer.mode == "qr", timeout=TIMEOUT_MS)
    assert app.session.customer.qr_png and not app.customer.qr.pixmap().isNull()
    (ref,) = gateway.codes()
    qtbot.waitUntil(lambda: ("status", ref) in gateway.calls, timeout=TIMEOUT_MS)
    assert app.clerk.current() == "payment" and pay.qr_cancel_button.isVisibleTo(pay)
    assert not pay.tender_buttons["qr_show"].isEnabled()  # one code at a time
    gateway.pay(ref)  # the visitor pays with their app
    qtbot.waitUntil(lambda: app.clerk.current() == "done", timeout=TIMEOUT_MS)
    wait_idle(qtbot, app)
    sale = app.context.counter.journal.head()
    assert sale is not None and sale.kind == "sale"
    assert [(t["kind"], t["amount"], t["ref"]) for t in sale.body["tenders"]] == [
        ("qr", 250, ref)]
    assert threading.main_thread().name not in gateway.threads
    assert not pay.qr.timer.isActive()


def test_shown_code_cancelled_then_cash(
    qtbot: Any, make_app: Callable[..., App], tmp_path: Path,
) -> None:
    gateway = FakeGateway()
    app = gateway_app(make_app, tmp_path, gateway)
    login(qtbot, app)
    ring_up(qtbot, app, "ADM")
    pay, _done = screens(app)
    pay.tender_buttons["qr_show"].click()
    qtbot.waitUntil(lambda: bool(gateway.codes()) and pay.qr.timer.isActive(),
                    timeout=TIMEOUT_MS)
    pay.qr_cancel_button.click()
    wait_idle(qtbot, app)
    (ref,) = gateway.codes()
    assert gateway.status[ref] == "CANCELED"
    assert not pay.qr.timer.isActive() and not pay.qr_cancel_button.isVisibleTo(pay)
    assert app.session.customer.mode == "due"
    pay.quick_buttons[0].click()
    wait_idle(qtbot, app)
    assert app.clerk.current() == "done" and kinds(app)[-1] == "sale"


def test_declined_code_stops_polling_and_keeps_the_sale(
    qtbot: Any, make_app: Callable[..., App], tmp_path: Path,
) -> None:
    gateway = FakeGateway()
    app = gateway_app(make_app, tmp_path, gateway)
    login(qtbot, app)
    ring_up(qtbot, app, "ADM")
    pay, _done = screens(app)
    pay.tender_buttons["qr_show"].click()
    qtbot.waitUntil(lambda: bool(gateway.codes()), timeout=TIMEOUT_MS)
    gateway.pay(gateway.codes()[0], "EXPIRED")
    qtbot.waitUntil(lambda: app.clerk.message.property("level") == "error",
                    timeout=TIMEOUT_MS)
    wait_idle(qtbot, app)
    assert not pay.qr.timer.isActive() and app.clerk.current() == "payment"
    assert app.context.counter.state.open_sale is not None
    assert not app.context.counter.state.open_sale.pending


def test_cancelling_the_sale_withdraws_the_shown_code(
    qtbot: Any, make_app: Callable[..., App], tmp_path: Path,
) -> None:
    gateway = FakeGateway()
    app = gateway_app(make_app, tmp_path, gateway)
    login(qtbot, app)
    ring_up(qtbot, app, "ADM")
    pay, _done = screens(app)
    pay.tender_buttons["qr_show"].click()
    qtbot.waitUntil(lambda: bool(gateway.codes()), timeout=TIMEOUT_MS)
    wait_idle(qtbot, app)
    pay.cancel_button.click()
    wait_idle(qtbot, app)
    assert app.clerk.current() == "sale" and kinds(app)[-1] == "sale.cancel"
    assert gateway.status[gateway.codes()[0]] == "CANCELED"


def test_visitor_code_scanned_is_charged_at_the_gateway(
    qtbot: Any, make_app: Callable[..., App], tmp_path: Path,
) -> None:
    gateway, scanner = FakeGateway(), FakeQrScanner()
    app = gateway_app(make_app, tmp_path, gateway, qr_scanner=scanner)
    login(qtbot, app)
    ring_up(qtbot, app, "ADM")
    pay, _done = screens(app)
    pay.tender_buttons["qr_scan"].click()
    scanner.scan("281234567890123456")
    qtbot.waitUntil(lambda: app.clerk.current() == "done", timeout=TIMEOUT_MS)
    assert gateway.calls[0][0] == "charge" and gateway.calls[0][2] == "281234567890123456"
    assert threading.main_thread().name not in gateway.threads


def test_live_prompts_come_without_wrapping_the_terminal(
    qtbot: Any, make_app: Callable[..., App], tmp_path: Path,
) -> None:
    terminal = ledger_terminal(tmp_path)
    app = make_app(counter=demo_counter(tmp_path, terminal))
    assert app.context.counter.payment_terminal is terminal
    prompts: list[str] = []
    app.session.prompt.connect(prompts.append)
    login(qtbot, app)
    ring_up(qtbot, app, "ADM")
    screens(app)[0].tender_buttons["credit"].click()
    qtbot.waitUntil(lambda: app.clerk.current() == "done", timeout=TIMEOUT_MS)
    assert prompts and "タッチ" in prompts[0]


def test_reprint_is_journaled_after_the_supervisor_pin(
    qtbot: Any, make_app: Callable[..., App], printer_sim: NetworkPrinterSimulator,
) -> None:
    app = make_app(printer=network_printer(printer_sim))
    login(qtbot, app)
    ring_up(qtbot, app, "ADM")
    pay, done = screens(app)
    pay.quick_buttons[0].click()
    wait_idle(qtbot, app)
    printer_sim.wait_pages(1)
    sale = app.context.counter.journal.head()
    assert sale is not None and sale.kind == "sale"
    for count in (1, 2):
        done.reprint_button.click()
        approve(qtbot, app)
        wait_idle(qtbot, app)
        pages = printer_sim.wait_pages(1 + count)
        assert "再発行" in pages[count].text + "".join(pages[count].double)
        assert reprints(app)[-1] == {"sale_seq": sale.seq, "receipt_no": sale.body["receipt_no"],
                                     "clerk": "c1", "approved_by": "sup1", "count": count}


def test_reprint_works_after_a_print_failure(
    qtbot: Any, make_app: Callable[..., App], printer_sim: NetworkPrinterSimulator,
) -> None:
    app = make_app(printer=network_printer(printer_sim))
    login(qtbot, app)
    printer_sim.state.paper_out = True
    ring_up(qtbot, app, "ADM")
    pay, done = screens(app)
    pay.quick_buttons[0].click()
    wait_idle(qtbot, app)
    assert kinds(app)[-1] == "sale" and done.print_failed  # the sale is kept
    assert not done.reprint_button.isVisibleTo(done)  # nothing printed yet: print, not reprint
    printer_sim.state.paper_out = False
    done.retry_button.click()
    wait_idle(qtbot, app)
    assert done.printed and reprints(app) == []
    done.reprint_button.click()
    approve(qtbot, app)
    wait_idle(qtbot, app)
    pages = printer_sim.wait_pages(2)
    assert "再発行" in pages[1].text + "".join(pages[1].double)
    assert [r["count"] for r in reprints(app)] == [1]
