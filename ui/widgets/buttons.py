"""Big touch buttons and amount labels (>= 48 px targets, amounts >= 18 pt)."""

from __future__ import annotations

from collections.abc import Callable

from terminal.money import format_yen
from ui.qt import QLabel, QPushButton, QSizePolicy, Qt, QWidget
from ui.theme import restyle


class BigButton(QPushButton):
    """A touch button; ``tone`` is primary, danger, ok or '' (its text says what it does)."""

    def __init__(self, text: str = "", tone: str = "", parent: QWidget | None = None,
                 on_click: Callable[[], None] | None = None, checkable: bool = False) -> None:
        super().__init__(text, parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setCheckable(checkable)
        self.set_tone(tone)
        if on_click is not None:
            self.clicked.connect(lambda _checked=False: on_click())

    def set_tone(self, tone: str) -> None:
        self.setProperty("tone", tone)
        restyle(self)


class AmountLabel(QLabel):
    """A yen amount in large type (``role`` amount: 28 pt, big-amount: 40 pt)."""

    def __init__(self, amount: int = 0, big: bool = False,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setProperty("role", "big-amount" if big else "amount")
        self.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.amount = amount
        self.set_amount(amount)

    def set_amount(self, amount: int) -> None:
        self.amount = amount
        self.setText(format_yen(amount))


def title_label(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setProperty("role", "title")
    label.setWordWrap(True)
    return label


def message_label() -> QLabel:
    label = QLabel("")
    label.setWordWrap(True)
    label.setMinimumHeight(36)
    return label


def set_level(label: QLabel, level: str, text: str) -> None:
    """Show ``text`` on ``label`` with the colour of ``level`` (error, info, ok or '')."""
    label.setProperty("level", level)
    label.setText(text)
    label.setVisible(bool(text))
    restyle(label)
