"""The clerk window: banners, messages, the navigation bar, the screens and the status bar."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from ui.qt import (
    QCloseEvent,
    QEvent,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QObject,
    QScrollArea,
    QStackedWidget,
    QTimer,
    QVBoxLayout,
    QWidget,
    Signal,
)
from ui.screens.approval import ApprovalScreen
from ui.screens.base import Screen
from ui.screens.cash import CashScreen
from ui.screens.done import DoneScreen
from ui.screens.login import LoginScreen
from ui.screens.payment import PaymentScreen
from ui.screens.refund import RefundScreen
from ui.screens.reports import ReportsScreen
from ui.screens.sale import SaleScreen
from ui.session import Session
from ui.statusbar import StatusBar
from ui.widgets.buttons import BigButton, message_label, set_level

NAV: tuple[str, ...] = ("sale", "cash", "refund", "reports")
USER_INPUT = {QEvent.Type.MouseButtonPress, QEvent.Type.KeyPress, QEvent.Type.TouchBegin}


class ClerkWindow(QMainWindow):
    closed = Signal()

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self.screens: dict[str, Screen] = {}
        self.stack = QStackedWidget()
        self.pages: dict[str, QScrollArea] = {}
        for cls in (LoginScreen, SaleScreen, PaymentScreen, DoneScreen, RefundScreen,
                    ReportsScreen, CashScreen, ApprovalScreen):
            screen = cls(session)
            self.screens[cls.name] = screen
            page = QScrollArea()  # a safety net: every screen is laid out to fit 1024x768
            page.setWidgetResizable(True)
            page.setFrameShape(QFrame.Shape.NoFrame)
            page.setWidget(screen)
            self.pages[cls.name] = page
            self.stack.addWidget(page)
        self.training_banner = QLabel()
        self.training_banner.setProperty("role", "banner-training")
        self.offline_banner = QLabel()
        self.offline_banner.setProperty("role", "banner-offline")
        self.offline_banner.setWordWrap(True)
        self.message = message_label()
        self.clerk_label = QLabel()
        self.clerk_label.setProperty("i18n_exempt", True)
        self.nav_buttons = {n: BigButton(on_click=partial(self.go, n)) for n in NAV}
        self.training_button = BigButton(on_click=self.toggle_training)
        self.switch_button = BigButton(on_click=self.lock)
        self.language_button = BigButton(on_click=self.toggle_language)
        self.language_button.setProperty("i18n_exempt", True)  # names the other language
        self.statusbar = StatusBar(session)
        self._layout()
        self.autolock = QTimer(self)
        self.autolock.setSingleShot(True)
        self.autolock.timeout.connect(self.auto_lock)
        self.offline = False
        session.approval = self.ask_approval
        session.navigate.connect(self.go)
        session.notice.connect(self.show_notice)
        session.language_changed.connect(self.retranslate)
        session.training_changed.connect(lambda _on: self.refresh_banners())
        session.session_ended.connect(self.refresh_banners)
        session.device_status.connect(self._network)
        self.retranslate()
        self.resize(1024, 768)

    def _layout(self) -> None:
        nav = QHBoxLayout()
        nav.setContentsMargins(0, 0, 0, 0)
        nav.addWidget(self.clerk_label)
        for button in (*self.nav_buttons.values(), self.training_button, self.switch_button,
                       self.language_button):
            nav.addWidget(button)
        self.nav = QWidget()
        self.nav.setLayout(nav)
        column = QVBoxLayout()
        column.setContentsMargins(6, 6, 6, 6)
        column.setSpacing(4)
        for widget in (self.training_banner, self.offline_banner, self.nav, self.message):
            column.addWidget(widget)
        column.addWidget(self.stack, 1)
        column.addWidget(self.statusbar)
        central = QWidget()
        central.setLayout(column)
        self.setCentralWidget(central)

    # -- texts ----------------------------------------------------------------------------
    def retranslate(self) -> None:
        t = self.session.t
        self.setWindowTitle(t("app.title"))
        for name, button in self.nav_buttons.items():
            button.setText(t(f"nav.{name}"))
        self.switch_button.setText(t("nav.switch"))
        self.language_button.setText(t("nav.language"))
        self.training_button.setText(t("nav.training_off" if self.session.counter.state.training
                                       else "nav.training_on"))
        self.training_banner.setText(t("banner.training"))
        self.offline_banner.setText(t("banner.offline"))
        self.refresh_banners()

    def refresh_banners(self) -> None:
        state = self.session.counter.state
        self.training_banner.setVisible(state.training)
        self.offline_banner.setVisible(self.offline)
        self.training_button.setText(self.session.t(
            "nav.training_off" if state.training else "nav.training_on"))
        self.clerk_label.setText(state.clerk or "")
        self.nav.setVisible(self.current() not in ("login", "approval"))

    def show_notice(self, level: str, text: str) -> None:
        set_level(self.message, level, text)

    def _network(self, device: str, state: str, _detail: str) -> None:
        if device == "network":
            self.offline = state in ("warn", "error")
            self.refresh_banners()

    # -- navigation -----------------------------------------------------------------------
    def current(self) -> str:
        widget = self.stack.currentWidget()
        return next((name for name, page in self.pages.items() if page is widget), "")

    def go(self, name: str, arg: object = None) -> None:
        counter = self.session.counter
        if name == "after_login":
            self.session.clear_notice()
            name, arg = ("payment", "pay.recovered") if counter.state.open_sale else ("sale",
                                                                                      None)
        if name not in ("login", "approval") and counter.state.clerk is None:
            name, arg = "login", arg if name == "login" else None
        if name in NAV and counter.state.open_sale is not None:
            name, arg = "payment", "pay.finish_first"
        screen = self.screens[name]
        self.stack.setCurrentWidget(self.pages[name])
        screen.enter(arg)
        self.refresh_banners()
        self.touch()

    def ask_approval(self, purpose_key: str, then: Callable[[str], None]) -> None:
        previous = self.stack.currentWidget()
        assert previous is not None
        approval = self.screens["approval"]
        assert isinstance(approval, ApprovalScreen)

        def back() -> None:
            self.stack.setCurrentWidget(previous)
            self.refresh_banners()

        approval.ask(purpose_key, then, back)
        self.stack.setCurrentWidget(self.pages["approval"])
        self.refresh_banners()

    # -- clerk actions --------------------------------------------------------------------
    def toggle_language(self) -> None:
        self.session.set_language("en" if self.session.lang == "ja" else "ja")

    def toggle_training(self) -> None:
        counter = self.session.counter

        def approved(approver: str) -> None:
            on = not counter.state.training

            def done(_entry: object) -> None:
                self.session.training_changed.emit(on)
                self.session.ok("training.on" if on else "training.off")
                self.session.show_customer(mode="welcome")

            self.session.run(lambda: counter.set_training(on, approver), done,
                             name="set_training")

        self.session.approve("approve.training", approved)

    def lock(self, reason: str = "") -> None:
        """Log the clerk out (switch clerk, auto-lock); an open sale stays open."""
        counter = self.session.counter

        def done(_r: object) -> None:
            self.session.session_ended.emit()
            self.go("login", reason or None)

        self.session.run(counter.logout, done, name="logout")

    def auto_lock(self) -> None:
        if self.current() == "login" or self.session.counter.state.clerk is None:
            return
        if self.session.runner.busy:
            self.touch()
            return
        self.lock("login.auto_locked")

    def touch(self) -> None:
        seconds = self.session.context.auto_lock_seconds
        if seconds > 0:
            self.autolock.start(seconds * 1000)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in USER_INPUT:
            self.touch()
        return False

    def closeEvent(self, event: QCloseEvent) -> None:
        self.closed.emit()
        super().closeEvent(event)

    # -- start ----------------------------------------------------------------------------
    def start(self) -> None:
        """Show login, or after a crash the open sale's payment (pending payments resolved)."""
        counter = self.session.counter
        if counter.state.open_sale is None:
            self.go("login")
            return
        self.go("login", "login.recovering")

        def resumed(_r: object) -> None:
            self.go("after_login" if counter.state.clerk else "login", "login.open_sale")

        def unresolved(exc: BaseException) -> None:
            self.session.fail(exc)
            resumed(None)

        self.session.run(counter.payments.resolve_pending, resumed, unresolved,
                         name="resolve_pending")
