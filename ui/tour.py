"""A scripted walk through every screen and flow with simulated taps, saving a PNG of each
window per step in every language it offers (clerk ja/en, customer ja/en/zh/ko)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from ui.context import CLERK_LANGUAGES
from ui.qt import QObject, QTimer
from ui.screens.approval import ApprovalScreen
from ui.screens.base import Screen
from ui.screens.cash import CashScreen
from ui.screens.done import DoneScreen
from ui.screens.login import LoginScreen
from ui.screens.payment import PaymentScreen
from ui.screens.refund import RefundScreen
from ui.screens.reports import DENOMINATIONS, ReportsScreen
from ui.screens.sale import SaleScreen

if TYPE_CHECKING:
    from ui.app import App

log = logging.getLogger(__name__)
S = TypeVar("S", bound=Screen)
TICK_MS = 25
STEP_TIMEOUT_MS = 20_000
CARD_PROMPT = "カードをタッチしてください (tap or insert the card)"


def do(*actions: Callable[[], object]) -> Callable[[], None]:
    """One step made of several taps, in order."""

    def run() -> None:
        for action in actions:
            action()

    return run


def change_breakdown(amount: int) -> dict[int, int]:
    counts = {}
    for value in DENOMINATIONS:
        counts[value], amount = divmod(amount, value)
    return counts


class Tour(QObject):
    def __init__(self, app: App, directory: Path) -> None:
        super().__init__()
        self.app = app
        self.directory = directory
        self.steps: list[tuple[str, Callable[[], None]]] = self.script()
        self.index = 0
        self.waited = 0
        self.exit_code = 0
        self.saved: list[Path] = []

    # -- helpers the script uses ------------------------------------------------------------
    def screen(self, cls: type[S]) -> S:
        screen = self.app.clerk.screens[cls.name]
        assert isinstance(screen, cls)
        return screen

    def login(self, clerk_id: str, pin: str) -> None:
        login = self.screen(LoginScreen)
        login.choose(clerk_id)
        login.pad.type_digits(pin)
        login.login_button.click()

    def supervisor(self, pin: str = "9999") -> None:
        approval = self.screen(ApprovalScreen)
        for clerk_id in approval.supervisor_buttons:
            approval.choose(clerk_id)
            break
        approval.pad.type_digits(pin)
        approval.approve_button.click()

    def ring_up(self, count: int = 2) -> None:
        self.app.clerk.go("sale")
        sale = self.screen(SaleScreen)
        buttons = [b for b in sale.item_buttons.values() if b.isEnabled()][:count]
        for button in buttons:
            button.click()
        if sale.cart_rows:
            sale.cart_rows[0]["plus"].click()

    def pay(self) -> None:
        self.screen(SaleScreen).pay_button.click()

    def script(self) -> list[tuple[str, Callable[[], None]]]:
        pay = self.screen(PaymentScreen)
        steps: list[tuple[str, Callable[[], None]]] = [
            ("login", lambda: None),
            ("login-wrong-pin", lambda: self.login("c1", "0000")),
            ("sale", lambda: self.login("c1", "1111")),
            ("cash-float", self._float),
            ("cart", self.ring_up),
            ("payment", self.pay),
            (
                "cash-change",
                do(
                    lambda: pay.keypad.type_digits("10000"),
                    lambda: pay.tender_buttons["cash"].click(),
                ),
            ),
            ("customer-rating", lambda: self.app.customer.rating_buttons[5].click()),
            ("card-payment", do(lambda: self.ring_up(1), lambda: self.pay())),
            ("card-prompt", lambda: pay.on_prompt(CARD_PROMPT)),
            ("card-paid", lambda: pay.tender_buttons["credit"].click()),
            ("split-payment", do(lambda: self.ring_up(2), lambda: self.pay())),
            (
                "split-part",
                do(
                    lambda: pay.keypad.type_digits("100"),
                    lambda: pay.tender_buttons["emoney"].click(),
                ),
            ),
            ("split-done", lambda: pay.quick_buttons[0].click()),
            ("qr-payment", do(lambda: self.ring_up(1), lambda: self.pay())),
            ("qr-shown", lambda: pay.tender_buttons["qr_show"].click()),
            ("qr-paid", lambda: pay.tender_buttons["qr_confirm"].click()),
            ("qr-scan-payment", do(lambda: self.ring_up(1), lambda: self.pay())),
            ("qr-scan", lambda: pay.tender_buttons["qr_scan"].click()),
            ("qr-scanned", lambda: pay.scanned("https://qr.example/customer/0001")),
            ("reprint-approval", lambda: self.screen(DoneScreen).reprint_button.click()),
            ("reprint", self.supervisor),
            ("refund", self._refund),
            ("refund-approval", self._refund_first_line),
            ("refund-done", self.supervisor),
            ("void", do(lambda: self.app.clerk.go("refund"), lambda: self._load_first_sale())),
            ("void-approval", lambda: self.screen(RefundScreen).void_button.click()),
            ("void-done", self.supervisor),
            ("training-approval", self.app.clerk.training_button.click),
            ("training-on", self.supervisor),
            ("training-sale", do(lambda: self.ring_up(1), lambda: self.pay())),
            ("training-paid", lambda: pay.quick_buttons[0].click()),
            (
                "training-off",
                do(
                    lambda: self.app.clerk.go("sale"),
                    lambda: self.app.clerk.training_button.click(),
                ),
            ),
            ("training-ended", self.supervisor),
            ("x-report", lambda: self.app.clerk.go("reports")),
            ("z-count", self._count),
            ("z-closed", lambda: self.screen(ReportsScreen).z_button.click()),
            ("login-next-day", lambda: self.app.clerk.go("login")),
        ]
        return steps

    def _float(self) -> None:
        self.app.clerk.go("cash")
        cash = self.screen(CashScreen)
        cash.keypad.type_digits("20000")
        cash.apply_button.click()

    def _load_first_sale(self) -> None:
        refund = self.screen(RefundScreen)
        buttons = list(refund.recent_buttons.values())
        if buttons:
            buttons[-1].click()

    def _refund(self) -> None:
        self.app.clerk.go("refund")
        refund = self.screen(RefundScreen)
        buttons = list(refund.recent_buttons.values())
        if buttons:
            buttons[0].click()

    def _refund_first_line(self) -> None:
        refund = self.screen(RefundScreen)
        if refund.qty_buttons:
            refund.qty_buttons[0][1].click()
        refund.refund_button.click()

    def _count(self) -> None:
        reports = self.screen(ReportsScreen)
        reports.set_counts(change_breakdown(reports.expected))

    # -- the loop -------------------------------------------------------------------------
    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        QTimer.singleShot(0, self._run_step)

    def _run_step(self) -> None:
        if self.index >= len(self.steps):
            self._finish()
            return
        name, action = self.steps[self.index]
        try:
            action()
        except Exception:
            log.exception("tour step %s failed", name)
            self.exit_code = 1
        self.waited = 0
        QTimer.singleShot(TICK_MS, self._settle)

    def _settle(self) -> None:
        self.waited += TICK_MS
        if self.app.runner.busy and self.waited < STEP_TIMEOUT_MS:
            QTimer.singleShot(TICK_MS, self._settle)
            return
        if self.waited < STEP_TIMEOUT_MS:
            if self.waited < 3 * TICK_MS:  # let queued follow-up jobs start
                QTimer.singleShot(TICK_MS, self._settle)
                return
        else:
            log.error("tour step %s timed out", self.steps[self.index][0])
            self.exit_code = 1
        self._grab(self.steps[self.index][0])
        self.index += 1
        QTimer.singleShot(0, self._run_step)

    def _grab(self, step: str) -> None:
        number = f"{self.index + 1:02d}"
        session, customer = self.app.session, self.app.customer
        original = session.lang
        for lang in CLERK_LANGUAGES:
            session.set_language(lang)
            self._save(self.app.clerk.grab(), f"{number}-{step}-{lang}.png")
        session.set_language(original)
        shown = customer.lang
        for lang in customer.languages:
            customer.set_language(lang)
            self._save(customer.grab(), f"{number}-customer-{step}-{lang}.png")
        customer.set_language(shown)

    def _save(self, pixmap: object, name: str) -> None:
        path = self.directory / name
        if not pixmap.save(str(path), "PNG"):  # type: ignore[attr-defined]
            log.error("could not save %s", path)
            self.exit_code = 1
        self.saved.append(path)

    def _finish(self) -> None:
        panel = self.app.simulators
        if panel is not None:
            panel.refresh_preview()
            self._save(panel.grab(), f"{len(self.steps) + 1:02d}-simulators-ja.png")
        self.app.qapp.exit(self.exit_code)
