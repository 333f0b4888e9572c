"""What every clerk screen shares: the session, a message line and translation hooks."""

from __future__ import annotations

from ui.qt import QWidget
from ui.session import Session


class Screen(QWidget):
    """A page of the clerk window. ``enter`` refreshes it; ``retranslate`` re-labels it."""

    name = ""

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        session.language_changed.connect(self.retranslate)

    def t(self, key: str, **values: object) -> str:
        return self.session.t(key, **values)

    def enter(self, arg: object = None) -> None:
        """Called each time the screen is shown (``arg`` from ``session.go``)."""

    def retranslate(self) -> None:
        """Set every visible text from the catalogue in the session's language."""
