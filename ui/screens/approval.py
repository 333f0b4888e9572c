"""A supervisor's PIN for refunds, voids, reprints and training mode."""

from __future__ import annotations

from collections.abc import Callable

from terminal.clerks import can_approve
from ui.qt import QButtonGroup, QHBoxLayout, QLabel, QVBoxLayout, QWidget
from ui.screens.base import Screen
from ui.session import Session
from ui.widgets.buttons import BigButton, message_label, set_level, title_label
from ui.widgets.keypad import Keypad


class ApprovalScreen(Screen):
    name = "approval"

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(session, parent)
        self.purpose_key = ""
        self.then: Callable[[str], None] | None = None
        self.back: Callable[[], None] = lambda: None
        self.title = title_label()
        self.purpose = QLabel()
        self.purpose.setWordWrap(True)
        self.message = message_label()
        self.group = QButtonGroup(self)
        self.supervisor_buttons: dict[str, BigButton] = {}
        people = QVBoxLayout()
        for clerk_id, clerk in sorted(session.counter.clerks.items()):
            if not can_approve(clerk):
                continue
            button = BigButton(f"{clerk.name}\n{clerk_id}", checkable=True)
            button.setProperty("i18n_exempt", True)
            self.group.addButton(button)
            self.supervisor_buttons[clerk_id] = button
            people.addWidget(button)
        people.addStretch(1)
        self.pad = Keypad(masked=True)
        self.approve_button = BigButton(tone="primary", on_click=self.submit)
        self.back_button = BigButton(on_click=self.cancel)
        right = QVBoxLayout()
        right.addWidget(self.pad)
        right.addWidget(self.approve_button)
        right.addWidget(self.back_button)
        row = QHBoxLayout()
        row.addLayout(people, 1)
        row.addLayout(right, 1)
        layout = QVBoxLayout(self)
        for widget in (self.title, self.purpose, self.message):
            layout.addWidget(widget)
        layout.addLayout(row, 1)
        self.retranslate()

    def retranslate(self) -> None:
        self.title.setText(self.t("approve.title"))
        self.purpose.setText(self.t(self.purpose_key) if self.purpose_key else "")
        self.approve_button.setText(self.t("approve.button"))
        self.back_button.setText(self.t("approve.back"))
        self.pad.set_labels(self.t("keypad.back"), self.t("keypad.clear"))

    def ask(self, purpose_key: str, then: Callable[[str], None],
            back: Callable[[], None]) -> None:
        self.purpose_key, self.then, self.back = purpose_key, then, back
        self.pad.clear()
        set_level(self.message, "", "")
        if len(self.supervisor_buttons) == 1:
            next(iter(self.supervisor_buttons.values())).setChecked(True)
        self.retranslate()

    def choose(self, clerk_id: str) -> None:
        self.supervisor_buttons[clerk_id].click()

    def submit(self) -> None:
        chosen = [cid for cid, b in self.supervisor_buttons.items() if b.isChecked()]
        pin = self.pad.value
        if not chosen or not pin:
            set_level(self.message, "error", self.t("approve.missing"))
            return
        self.pad.clear()
        counter = self.session.counter
        self.session.run(lambda: counter.approve(chosen[0], pin), self._approved,
                         self._refused, name="approve")

    def _approved(self, approver: object) -> None:
        then = self.then
        self.then = None
        self.back()
        if then is not None:
            then(str(approver))

    def _refused(self, exc: BaseException) -> None:
        set_level(self.message, "error", self.t("approve.refused"))

    def cancel(self) -> None:
        self.then = None
        self.back()
