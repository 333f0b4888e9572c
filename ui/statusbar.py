"""Device and network status: a text label per device plus colour (never colour alone)."""

from __future__ import annotations

from ui.qt import QHBoxLayout, QLabel, QWidget
from ui.session import Session
from ui.theme import STATE_COLOURS

DEVICES: tuple[str, ...] = ("reader", "printer", "terminal", "network", "busy")


class StatusBar(QWidget):
    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.states: dict[str, tuple[str, str]] = {d: ("off", "") for d in DEVICES}
        self.labels: dict[str, QLabel] = {}
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        for device in DEVICES:
            label = QLabel()
            label.setMinimumHeight(32)
            self.labels[device] = label
            layout.addWidget(label)
        session.device_status.connect(self.set_state)
        session.language_changed.connect(self.retranslate)
        session.runner.busy_changed.connect(
            lambda busy: self.set_state("busy", "info" if busy else "off", ""))
        self.retranslate()

    def set_state(self, device: str, state: str, detail: str) -> None:
        if device in self.states:
            self.states[device] = (state, detail)
            self._render(device)

    def text(self, device: str) -> str:
        return self.labels[device].text()

    def _render(self, device: str) -> None:
        state, detail = self.states[device]
        t = self.session.t
        label = self.labels[device]
        if device == "busy":
            label.setText(t("status.busy") if state == "info" else "")
            label.setVisible(state == "info")
        else:
            words = t(f"status.{state}")
            if device == "network" and detail:
                words = f"{words} {t('status.pending', count=detail)}"
            label.setText(f"{t('status.' + device)}: ● {words}")
        colour = STATE_COLOURS.get(state, "#000000")
        label.setStyleSheet(f"color: #FFFFFF; background: {colour}; padding: 2px 8px;"
                            " font-weight: bold;")

    def retranslate(self) -> None:
        for device in DEVICES:
            self._render(device)
