"""A numeric keypad for PINs and yen amounts."""

from __future__ import annotations

from functools import partial

from ui.qt import QGridLayout, QLineEdit, QVBoxLayout, QWidget, Signal
from ui.widgets.buttons import BigButton


class Keypad(QWidget):
    """Digits, 00, clear and backspace; ``masked`` shows ● for a PIN."""

    changed = Signal(str)
    submitted = Signal(str)

    def __init__(self, masked: bool = False, max_length: int = 8,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.max_length = max_length
        self.display = QLineEdit()
        self.display.setReadOnly(True)
        if masked:
            self.display.setEchoMode(QLineEdit.EchoMode.Password)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.display)
        grid = QGridLayout()
        grid.setSpacing(6)
        self.digit_buttons: dict[str, BigButton] = {}
        keys = ["7", "8", "9", "4", "5", "6", "1", "2", "3", "0", "00"]
        for i, key in enumerate(keys):
            button = BigButton(key, on_click=partial(self.press, key))
            self.digit_buttons[key] = button
            grid.addWidget(button, i // 3, i % 3)
        self.back_button = BigButton("", on_click=self.backspace)
        grid.addWidget(self.back_button, 0, 3, 2, 1)
        self.clear_button = BigButton("", on_click=self.clear)
        grid.addWidget(self.clear_button, 2, 3, 2, 1)
        layout.addLayout(grid)

    def set_labels(self, back: str, clear: str) -> None:
        self.back_button.setText(back)
        self.clear_button.setText(clear)

    @property
    def value(self) -> str:
        return self.display.text()

    def set_value(self, text: str) -> None:
        self.display.setText(text[: self.max_length])
        self.changed.emit(self.value)

    def press(self, key: str) -> None:
        if len(self.value) + len(key) <= self.max_length:
            self.set_value(self.value + key)

    def type_digits(self, digits: str) -> None:
        """Press each digit in turn (what a clerk's taps do)."""
        for digit in digits:
            self.press(digit)

    def backspace(self) -> None:
        self.set_value(self.value[:-1])

    def clear(self) -> None:
        self.set_value("")

    def amount(self) -> int | None:
        return int(self.value) if self.value.isdigit() else None
