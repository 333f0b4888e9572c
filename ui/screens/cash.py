"""Opening float (釣銭準備金), cash in (入金) and cash out (出金)."""

from __future__ import annotations

from functools import partial

from terminal.journal import Entry
from terminal.money import format_yen
from ui.i18n import Ref
from ui.qt import QButtonGroup, QHBoxLayout, QLabel, QVBoxLayout, QWidget
from ui.screens.base import Screen
from ui.session import Session
from ui.widgets.buttons import BigButton, title_label
from ui.widgets.keypad import Keypad

KINDS: tuple[str, ...] = ("cash.float", "cash.in", "cash.out")
# Journaled reasons stay in Japanese whatever the screen language (the journal's language).
REASONS: dict[str, str] = {"change": "両替", "refill": "釣銭補充", "deposit": "入金",
                           "float": "釣銭準備金"}


class CashScreen(Screen):
    name = "cash"

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(session, parent)
        self.kind = "cash.float"
        self.reason = "float"
        self.title = title_label()
        self.amount_caption, self.reason_caption = QLabel(), QLabel()
        self.kind_buttons: dict[str, BigButton] = {}
        self.reason_buttons: dict[str, BigButton] = {}
        self.keypad = Keypad(max_length=7)
        self.apply_button = BigButton(tone="primary", on_click=self.apply)
        kinds, reasons = QHBoxLayout(), QHBoxLayout()
        kind_group, reason_group = QButtonGroup(self), QButtonGroup(self)
        for kind in KINDS:
            button = BigButton(checkable=True, on_click=partial(self.set_kind, kind))
            kind_group.addButton(button)
            self.kind_buttons[kind] = button
            kinds.addWidget(button)
        for reason in REASONS:
            button = BigButton(checkable=True, on_click=partial(self.set_reason, reason))
            reason_group.addButton(button)
            self.reason_buttons[reason] = button
            reasons.addWidget(button)
        left = QVBoxLayout()
        left.addLayout(kinds)
        left.addWidget(self.reason_caption)
        left.addLayout(reasons)
        left.addStretch(1)
        right = QVBoxLayout()
        right.addWidget(self.amount_caption)
        right.addWidget(self.keypad)
        right.addWidget(self.apply_button)
        row = QHBoxLayout()
        row.addLayout(left, 1)
        row.addLayout(right, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addLayout(row, 1)
        self.set_kind("cash.float")
        self.retranslate()

    def retranslate(self) -> None:
        self.title.setText(self.t("cash.title"))
        self.amount_caption.setText(self.t("cash.amount"))
        self.reason_caption.setText(self.t("cash.reason"))
        self.apply_button.setText(self.t("cash.apply"))
        for kind, button in self.kind_buttons.items():
            button.setText(self.t(f"cash.{kind}"))
        for reason, button in self.reason_buttons.items():
            button.setText(self.t(f"cash.reason.{reason}"))
        self.keypad.set_labels(self.t("keypad.back"), self.t("keypad.clear"))

    def enter(self, arg: object = None) -> None:
        self.keypad.clear()
        has_float = any(e["kind"] == "cash.float" for e in self.session.counter.state.period)
        self.set_kind("cash.in" if has_float else "cash.float")

    def set_kind(self, kind: str) -> None:
        self.kind = kind
        self.kind_buttons[kind].setChecked(True)
        self.set_reason({"cash.float": "float", "cash.in": "refill", "cash.out": "change"}[kind])

    def set_reason(self, reason: str) -> None:
        self.reason = reason
        self.reason_buttons[reason].setChecked(True)

    def apply(self) -> None:
        amount = self.keypad.amount()
        if not amount:
            self.session.error("cash.no_amount")
            return
        counter, kind, reason = self.session.counter, self.kind, REASONS[self.reason]
        self.keypad.clear()

        def done(result: object) -> None:
            assert isinstance(result, Entry)
            self.session.ok("cash.done", kind=Ref(f"cash.{kind}"), amount=format_yen(amount))

        self.session.run(lambda: counter.cash_movement(kind, amount, reason), done,
                         name="cash_movement")
