"""X report (点検) and Z closing (精算) with the cash counted by denomination."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import cast

from terminal.journal import Entry
from terminal.money import format_yen
from ui.qt import QCheckBox, QGridLayout, QHBoxLayout, QLabel, QPlainTextEdit, QVBoxLayout, QWidget
from ui.screens.base import Screen
from ui.session import Session
from ui.widgets.buttons import AmountLabel, BigButton, title_label

DENOMINATIONS: tuple[int, ...] = (10000, 5000, 2000, 1000, 500, 100, 50, 10, 5, 1)


def counted_total(counts: Mapping[int, int]) -> int:
    return sum(value * counts.get(value, 0) for value in DENOMINATIONS)


class ReportsScreen(Screen):
    name = "reports"

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(session, parent)
        self.counts: dict[int, int] = dict.fromkeys(DENOMINATIONS, 0)
        self.count_labels: dict[int, QLabel] = {}
        self.count_buttons: dict[int, tuple[BigButton, BigButton, BigButton]] = {}
        self.expected = 0
        self.title = title_label()
        self.report = QPlainTextEdit()
        self.report.setReadOnly(True)
        self.x_button = BigButton(on_click=self.show_x)
        self.z_button = BigButton(tone="danger", on_click=self.close_day)
        self.daily_log = QCheckBox()
        self.daily_log.setChecked(True)
        self.captions = {k: QLabel() for k in ("counted", "expected", "difference")}
        self.amounts = {k: AmountLabel() for k in self.captions}
        grid = QGridLayout()
        for row, value in enumerate(DENOMINATIONS):
            label = QLabel(format_yen(value))
            count = QLabel("0")
            minus = BigButton("−", on_click=partial(self.add, value, -1))
            plus = BigButton("+1", on_click=partial(self.add, value, 1))
            plus10 = BigButton("+10", on_click=partial(self.add, value, 10))
            self.count_labels[value] = count
            for button in (minus, plus, plus10):
                button.setProperty("dense", True)
            self.count_buttons[value] = (minus, plus, plus10)
            col0 = 0 if row < 5 else 5
            for col, widget in enumerate((label, count, minus, plus, plus10)):
                grid.addWidget(widget, row % 5, col0 + col)
        for row, key in enumerate(self.captions, start=5):
            grid.addWidget(self.captions[key], row, 0, 1, 3)
            grid.addWidget(self.amounts[key], row, 3, 1, 7)
        buttons = QHBoxLayout()
        buttons.addWidget(self.x_button)
        buttons.addWidget(self.daily_log)
        buttons.addWidget(self.z_button)
        row_layout = QHBoxLayout()
        row_layout.addLayout(grid, 3)
        row_layout.addWidget(self.report, 2)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addLayout(row_layout, 1)
        layout.addLayout(buttons)
        self.retranslate()

    def retranslate(self) -> None:
        self.title.setText(self.t("reports.title"))
        self.x_button.setText(self.t("reports.x"))
        self.z_button.setText(self.t("reports.z"))
        self.daily_log.setText(self.t("reports.daily_log"))
        for key, label in self.captions.items():
            label.setText(self.t(f"reports.{key}"))

    def enter(self, arg: object = None) -> None:
        self.counts = dict.fromkeys(DENOMINATIONS, 0)
        self.report.clear()
        self.daily_log.setVisible(self.session.counter.payment_terminal is not None)
        self._refresh()
        self.show_x()

    def add(self, value: int, delta: int) -> None:
        self.counts[value] = max(0, self.counts[value] + delta)
        self._refresh()

    def set_counts(self, counts: Mapping[int, int]) -> None:
        self.counts = {v: int(counts.get(v, 0)) for v in DENOMINATIONS}
        self._refresh()

    def _refresh(self) -> None:
        for value, label in self.count_labels.items():
            label.setText(str(self.counts[value]))
        counted = counted_total(self.counts)
        self.amounts["counted"].set_amount(counted)
        self.amounts["expected"].set_amount(self.expected)
        self.amounts["difference"].set_amount(counted - self.expected)

    def show_x(self) -> None:
        self.session.run(self.session.counter.x_report, self._x_shown, name="x_report")

    def _x_shown(self, result: object) -> None:
        report = cast(dict[str, object], result)
        self.expected = int(cast(int, report.get("cash_expected", 0)))
        self.report.setPlainText(self.format(report, "reports.x_heading"))
        self._refresh()

    def format(self, report: Mapping[str, object], heading: str) -> str:
        """The report with this screen's labels, in the clerk's language."""
        lines = [self.t(heading)]
        for key in ("count", "refund_count", "void_count", "visits"):
            lines.append(f"{self.t('report.' + key)}  {report.get(key, 0)}")
        for key in ("total", "grand_total", "cash_expected"):
            lines.append(f"{self.t('report.' + key)}  {format_yen(cast(int, report.get(key, 0)))}")
        by_tender = cast(Mapping[str, int], report.get("by_tender") or {})
        for kind, amount in by_tender.items():
            lines.append(f"  {self.t('tender.' + kind)}  {format_yen(amount)}")
        counted = report.get("cash_counted")
        if isinstance(counted, int):
            lines.append(f"{self.t('reports.counted')}  {format_yen(counted)}")
        return "\n".join(lines)

    def close_day(self) -> None:
        counter = self.session.counter
        counted = counted_total(self.counts)
        with_log = self.daily_log.isChecked() and counter.payment_terminal is not None

        def job() -> Entry:
            if with_log and not counter.state.training:
                counter.daily_log()
            return counter.close_day(counted)

        self.session.run(job, self._closed, name="close_day")

    def _closed(self, result: object) -> None:
        assert isinstance(result, Entry)
        self.report.setPlainText(self.format(result.body, "reports.z_heading"))
        self.session.ok("reports.closed")  # the Z ended the session: log in next
        self.session.session_ended.emit()
