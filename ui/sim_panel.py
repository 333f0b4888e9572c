"""The demo's simulator panel: approve/decline payments, tap a (simulated Hachica) card, take
the points service down, fail the printer, and preview what the simulated printer printed."""

from __future__ import annotations

from typing import Any

from ui.qt import QHBoxLayout, QLabel, QPlainTextEdit, QTimer, QVBoxLayout, QWidget
from ui.session import Session
from ui.widgets.buttons import BigButton, title_label

DEMO_IDM = bytes.fromhex("012E4CD3B0A1F2C4")


def set_decline(payment: Any, rate: float) -> None:
    """Use the simulator's public setter when it has one (proposed), else its attribute."""
    setter = getattr(payment, "set_decline_rate", None)
    if callable(setter):
        setter(rate)
    else:
        payment._decline_rate = rate


class SimulatorPanel(QWidget):
    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        sims = session.context.simulators
        self.payment, self.card, self.printer = (sims.get("payment"), sims.get("card"),
                                                 sims.get("printer"))
        self.title = title_label()
        self.approve_button = BigButton(checkable=True, on_click=lambda: self.decline(False))
        self.decline_button = BigButton(checkable=True, on_click=lambda: self.decline(True))
        self.tap_button = BigButton(on_click=self.tap)
        self.remove_button = BigButton(on_click=self.remove)
        self.paper_button = BigButton(checkable=True, on_click=self.paper)
        # はちのへポイント: the stand-in service's ``offline`` switch shows the offline award
        self.points_service = session.context.points
        self.points_offline_button = BigButton(checkable=True, on_click=self.points_offline)
        self.preview = QLabel()
        self.preview.setProperty("i18n_exempt", True)
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setProperty("i18n_exempt", True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        for pair in ((self.approve_button, self.decline_button),
                     (self.tap_button, self.remove_button),
                     (self.paper_button, self.points_offline_button)):
            row = QHBoxLayout()
            for button in pair:
                row.addWidget(button)
            layout.addLayout(row)
        layout.addWidget(self.text, 1)
        self.approve_button.setEnabled(self.payment is not None)
        self.decline_button.setEnabled(self.payment is not None)
        self.tap_button.setEnabled(self.card is not None)
        self.remove_button.setEnabled(self.card is not None)
        self.paper_button.setEnabled(self.printer is not None)
        self.points_offline_button.setEnabled(hasattr(self.points_service, "offline"))
        self.approve_button.setChecked(True)
        self.pages_seen = 0
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.refresh_preview)
        if self.printer is not None:
            self.timer.start(500)
        session.language_changed.connect(self.retranslate)
        self.retranslate()
        self.resize(420, 700)

    def retranslate(self) -> None:
        t = self.session.t
        self.setWindowTitle(t("sim.title"))
        self.title.setText(t("sim.title"))
        self.approve_button.setText(t("sim.approve"))
        self.decline_button.setText(t("sim.decline"))
        self.tap_button.setText(t("sim.tap"))
        self.remove_button.setText(t("sim.remove"))
        self.paper_button.setText(t("sim.paper_out"))
        self.points_offline_button.setText(t("sim.points_offline"))

    def decline(self, on: bool) -> None:
        if self.payment is not None:
            set_decline(self.payment, 1.0 if on else 0.0)
        self.decline_button.setChecked(on)
        self.approve_button.setChecked(not on)

    def tap(self) -> None:
        if self.card is not None:
            self.card.tap(DEMO_IDM)  # type: ignore[attr-defined]

    def remove(self) -> None:
        if self.card is not None:
            self.card.remove()  # type: ignore[attr-defined]

    def paper(self) -> None:
        state = getattr(self.printer, "state", None)
        if state is not None:
            state.paper_out = self.paper_button.isChecked()

    def points_offline(self) -> None:
        service: Any = self.points_service  # the simulator's switch, not part of the port
        if hasattr(service, "offline"):
            service.offline = self.points_offline_button.isChecked()

    def refresh_preview(self) -> None:
        pages = list(getattr(self.printer, "pages", []) or [])
        if len(pages) == self.pages_seen:
            return
        self.pages_seen = len(pages)
        self.text.setPlainText(str(getattr(pages[-1], "text", "")))

