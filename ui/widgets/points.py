"""The clerk's はちのへポイント line: the tapped card (masked), its balance and what this sale
earns or why not, with the balance check's buttons on the sale screen."""

from __future__ import annotations

from ui.points_text import clerk_status
from ui.qt import QHBoxLayout, QVBoxLayout, QWidget
from ui.session import Session
from ui.widgets.buttons import BigButton, message_label, set_level


class PointsStatus(QWidget):
    """Hidden when the counter has no points service; ``with_check`` adds the balance check
    (usable while the cart is empty: during a sale a tap shows the balance anyway)."""

    def __init__(self, session: Session, with_check: bool = False,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.with_check = with_check
        self.label = message_label()
        self.check_button = BigButton(on_click=session.hachica.start_check)
        self.cancel_button = BigButton(tone="danger", on_click=session.hachica.cancel_check)
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(self.check_button)
        buttons.addWidget(self.cancel_button)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.label)
        column.addLayout(buttons)
        session.hachica.changed.connect(self.refresh)
        session.language_changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        desk, t = self.session.hachica, self.session.t
        self.setVisible(desk.enabled)
        status = desk.status
        if desk.checking:
            set_level(self.label, "info", t("points.check_waiting"))
        elif status is not None:
            level = "ok" if status.reason in ("earn", "check") else "info"
            set_level(self.label, level, clerk_status(status, self.session.lang))
        else:
            set_level(self.label, "", "")
        checking_shown = desk.checking or (status is not None and not status.purchase)
        self.check_button.setText(t("points.check"))
        self.cancel_button.setText(t("points.check_cancel"))
        self.check_button.setVisible(self.with_check and not desk.checking)
        self.check_button.setEnabled(not desk.in_sale())
        self.cancel_button.setVisible(self.with_check and checking_shown)
