"""The clerk app's shared state: context, runner, language, and the signals screens talk by."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from terminal.counter import Counter
from ui.context import AppContext
from ui.errors import describe
from ui.i18n import tr
from ui.points_desk import PointsDesk
from ui.qt import QObject, Signal
from ui.workers import Done, Failed, Runner


@dataclass(frozen=True)
class CustomerView:
    """What the customer display shows; the display renders it in the visitor's language."""

    # welcome, cart, due, prompt, qr, points, points_check (a balance check), thanks, locked
    mode: str = "welcome"
    total: int = 0
    remaining: int = 0
    change: int = 0
    prompt: str = "tap"  # a customer prompt key suffix: tap, pin, remove, wait, scan, follow
    qr_png: bytes | None = None
    sale_seq: int | None = None
    training: bool = False
    points_balance: int = 0  # mode points: the tapped card's balance (remaining: what is due)


class Session(QObject):
    """Shared by the clerk screens, the customer display and the simulator panel."""

    language_changed = Signal()
    customer_changed = Signal(object)  # CustomerView
    notice = Signal(str, str)  # level (error, info, ok), text in the clerk's language
    navigate = Signal(str, object)  # screen name, argument
    training_changed = Signal(bool)
    device_status = Signal(str, str, str)  # device, state (ok, warn, error, off), detail
    prompt = Signal(str)  # a live prompt from the payment terminal
    card_event = Signal(object)  # CardTapped / CardRemovedEvent
    qr_scanned = Signal(str)
    session_ended = Signal()  # the clerk is logged out (Z closing, lock)

    def __init__(self, context: AppContext, runner: Runner,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.runner = runner
        self.lang = context.clerk_language
        self.customer = CustomerView()
        self.last_notice: tuple[str, Callable[[str], str]] = ("", lambda _lang: "")
        self.approval: Callable[[str, Callable[[str], None]], None] | None = None
        self.hachica = PointsDesk(self)  # はちのへポイント: taps, balance check, award

    @property
    def counter(self) -> Counter:
        return self.context.counter

    def t(self, key: str, **values: Any) -> str:
        return tr("clerk", self.lang, key, **values)

    def set_language(self, lang: str) -> None:
        if lang != self.lang:
            self.lang = lang
            self.language_changed.emit()
            level, render = self.last_notice
            self.notice.emit(level, render(lang))

    # -- work off the GUI thread ----------------------------------------------------------
    def run(self, fn: Callable[[], object], done: Done | None = None,
            failed: Failed | None = None, name: str = "") -> None:
        self.runner.submit(fn, done, failed if failed is not None else self.fail, name)

    def fail(self, exc: BaseException) -> None:
        self.say("error", lambda lang: describe(exc, lang))

    def say(self, level: str, render: Callable[[str], str]) -> None:
        """Show a message; ``render(lang)`` re-renders it when the language changes."""
        self.last_notice = (level, render)
        self.notice.emit(level, render(self.lang))

    def error(self, key: str, **values: Any) -> None:
        self.say("error", lambda lang: tr("clerk", lang, key, **values))

    def info(self, key: str, **values: Any) -> None:
        self.say("info", lambda lang: tr("clerk", lang, key, **values))

    def ok(self, key: str, **values: Any) -> None:
        self.say("ok", lambda lang: tr("clerk", lang, key, **values))

    def clear_notice(self) -> None:
        self.last_notice = ("", lambda _lang: "")
        self.notice.emit("", "")

    # -- customer display -----------------------------------------------------------------
    def show_customer(self, **changes: Any) -> None:
        training = self.counter.state.training
        self.customer = replace(CustomerView(), training=training, **changes)
        self.customer_changed.emit(self.customer)

    def update_customer(self, **changes: Any) -> None:
        self.customer = replace(self.customer, **changes)
        self.customer_changed.emit(self.customer)

    # -- navigation and approval ----------------------------------------------------------
    def go(self, screen: str, arg: object = None) -> None:
        self.navigate.emit(screen, arg)

    def approve(self, purpose_key: str, then: Callable[[str], None]) -> None:
        """Ask a supervisor for their PIN; ``then(approver_id)`` runs once approved."""
        if self.approval is None:
            raise RuntimeError("no approval screen is installed")
        self.approval(purpose_key, then)
