"""Login: pick the clerk, enter the PIN on the pad (wrong PIN and lockout say what to do)."""

from __future__ import annotations

import re

from terminal.clerks import LoginOutcome
from ui.qt import QButtonGroup, QGridLayout, QHBoxLayout, QLabel, QVBoxLayout, QWidget
from ui.screens.base import Screen
from ui.session import Session
from ui.widgets.buttons import BigButton, message_label, set_level, title_label
from ui.widgets.keypad import Keypad

_SECONDS = re.compile(r"(\d+)\s*s\)")


class LoginScreen(Screen):
    name = "login"

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(session, parent)
        self.title = title_label()
        self.clerk_caption = QLabel()
        self.pin_caption = QLabel()
        self.group = QButtonGroup(self)
        self.group.setExclusive(True)
        self.clerk_buttons: dict[str, BigButton] = {}
        clerk_grid = QGridLayout()
        for i, (clerk_id, clerk) in enumerate(sorted(session.counter.clerks.items())):
            button = BigButton(f"{clerk.name}\n{clerk_id}", checkable=True)
            button.setProperty("i18n_exempt", True)  # a person's name, not UI text
            self.group.addButton(button)
            self.clerk_buttons[clerk_id] = button
            clerk_grid.addWidget(button, i // 3, i % 3)
        self.pad = Keypad(masked=True)
        self.pad.display.returnPressed.connect(self.submit)
        self.login_button = BigButton(tone="primary", on_click=self.submit)
        self.message = message_label()
        left = QVBoxLayout()
        left.addWidget(self.clerk_caption)
        left.addLayout(clerk_grid)
        left.addStretch(1)
        right = QVBoxLayout()
        right.addWidget(self.pin_caption)
        right.addWidget(self.pad)
        right.addWidget(self.login_button)
        row = QHBoxLayout()
        row.addLayout(left, 3)
        row.addLayout(right, 2)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.message)
        layout.addLayout(row, 1)
        self.retranslate()

    def retranslate(self) -> None:
        self.title.setText(self.t("login.title"))
        self.clerk_caption.setText(self.t("login.choose_clerk"))
        self.pin_caption.setText(self.t("login.pin"))
        self.login_button.setText(self.t("login.button"))
        self.pad.set_labels(self.t("keypad.back"), self.t("keypad.clear"))

    def enter(self, arg: object = None) -> None:
        self.pad.clear()
        set_level(self.message, "info" if arg else "", self.t(str(arg)) if arg else "")

    def selected_clerk(self) -> str | None:
        for clerk_id, button in self.clerk_buttons.items():
            if button.isChecked():
                return clerk_id
        return None

    def choose(self, clerk_id: str) -> None:
        self.clerk_buttons[clerk_id].click()

    def submit(self) -> None:
        clerk_id, pin = self.selected_clerk(), self.pad.value
        if clerk_id is None:
            set_level(self.message, "error", self.t("login.no_clerk"))
            return
        if not pin:
            set_level(self.message, "error", self.t("login.no_pin"))
            return
        self.pad.clear()
        counter = self.session.counter
        self.session.run(lambda: counter.login(clerk_id, pin), self._outcome, name="login")

    def _outcome(self, result: object) -> None:
        assert isinstance(result, LoginOutcome)
        if result.ok:
            set_level(self.message, "", "")
            self.session.go("after_login")
        elif result.locked:
            found = _SECONDS.search(result.message)
            seconds = int(found.group(1)) if found else 300
            set_level(self.message, "error", self.t("login.locked", seconds=seconds))
        else:
            set_level(self.message, "error",
                      self.t("login.wrong", remaining=result.remaining_attempts))
