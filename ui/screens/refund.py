"""Refund (partial, any later day) and void (whole sale, same day), both with a supervisor PIN.

A sale is called up by its entry number (keypad), from the recent list, or by its receipt
number; a receipt number that is not in this counter's journal is looked up on the server
(``AppContext.lookup_receipt``, off the GUI thread) and refunded as another counter's sale
(``terminal.foreign_refund``: in cash, or back to points when it was paid with points and this
counter takes points: the visitor taps the card that paid, ``ui.screens.refund_points``; never
voided here).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, cast

from terminal.counter import Counter
from terminal.errors import DomainError, MadoguchiError, PaymentDeclined
from terminal.foreign_refund import ForeignSale, foreign_sale, refund_foreign, remaining
from terminal.journal import Entry
from terminal.money import format_yen
from terminal.ports import TenderKind
from ui.i18n import tr
from ui.qt import (
    QButtonGroup,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)
from ui.screens.base import Screen
from ui.screens.refund_points import CardWait, can_refund_to_points, refusal_reason
from ui.session import Session
from ui.widgets.buttons import BigButton, title_label
from ui.widgets.keypad import Keypad

RECENT = 6

# Texts of the receipt-number search, in the clerk's languages (ja, en).
TEXTS: dict[str, dict[str, str]] = {
    "ja": {
        "receipt": "レシート番号（他の窓口も可）",
        "find_receipt": "検索",
        "offline": "サーバーに接続できないため他の窓口の取引は検索できません。元の窓口で返金"
                   "するか、接続が戻ってから再度検索してください。",
        "not_found": "レシート番号 {receipt} の取引は見つかりません。番号を確かめてください"
                     "（他の窓口の取引がまだサーバーに届いていなければ、しばらくして再度検索"
                     "してください）。",
        "foreign": "他の窓口（{terminal}）の取引です。返金は現金で行います（取消はできません）。",
        "foreign_points": "他の窓口（{terminal}）の取引です。現金で、またはポイントで支払われた分は"
                          "「ポイントに返す」でカードに返金できます（取消はできません）。",
    },
    "en": {
        "receipt": "Receipt number (other counters too)",
        "find_receipt": "Search",
        "offline": "The server cannot be reached, so sales of other counters cannot be "
                   "looked up. Refund at the original counter, or search again once the "
                   "connection is back.",
        "not_found": "No sale with receipt number {receipt}. Check the number (a sale of "
                     "another counter may not have reached the server yet: search again "
                     "shortly).",
        "foreign": "A sale of another counter ({terminal}): refunded in cash (no void here).",
        "foreign_points": "A sale of another counter ({terminal}): refunded in cash, or what "
                          "was paid in points “Back to points” onto the card (no void here).",
    },
}


def text(lang: str, key: str, **values: str) -> str:
    return (TEXTS.get(lang) or TEXTS["ja"])[key].format(**values)


class LookupFailed(Exception):
    """The receipt number was found nowhere, or the server could not be asked."""

    def __init__(self, key: str, **values: str) -> None:
        super().__init__(text("en", key, **values))
        self.key = key
        self.values = values


LookupReceipt = Callable[[str], Mapping[str, Any] | None]


class RefundScreen(Screen):
    name = "refund"

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(session, parent)
        self.original: Entry | None = None
        self.foreign: ForeignSale | None = None
        self.left: dict[int, int] = {}
        self.chosen: dict[int, int] = {}
        self.tender_kind: TenderKind = "cash"
        # A foreign refund to points, approved, waiting for the card that paid (or its answer).
        self.points_refund: tuple[ForeignSale, dict[int, int], str] | None = None
        self.card_wait = CardWait(session, self.isVisible, self)
        self.card_wait.tapped.connect(self._card_tapped)
        self.card_wait.ended.connect(self._wait_ended)
        self.tap_cancel_button = BigButton(
            on_click=lambda: self.card_wait.stop("refund.points_stopped"))
        self.title = title_label()
        self.recent_caption, self.seq_caption, self.summary = QLabel(), QLabel(), QLabel()
        self.summary.setProperty("i18n_exempt", True)
        self.recent_host = QWidget()
        self.recent_layout = QVBoxLayout(self.recent_host)
        self.keypad = Keypad(max_length=9)
        self.find_button = BigButton(on_click=self.find_sale)
        self.receipt_input = QLineEdit()  # typed, or a keyboard-wedge scan of the receipt
        self.receipt_input.returnPressed.connect(self.find_receipt)
        self.receipt_button = BigButton(on_click=self.find_receipt)
        self.lines_host = QWidget()
        self.lines_grid = QGridLayout(self.lines_host)
        self.cash_button = BigButton(checkable=True, on_click=lambda: self.set_tender("cash"))
        self.original_button = BigButton(checkable=True, on_click=self.original_tender)
        group = QButtonGroup(self)
        group.addButton(self.cash_button)
        group.addButton(self.original_button)
        self.refund_button = BigButton(tone="danger", on_click=self.refund)
        self.void_button = BigButton(tone="danger", on_click=self.void)
        self.qty_buttons: dict[int, tuple[BigButton, BigButton]] = {}
        left = QVBoxLayout()
        left.addWidget(self.recent_caption)
        recent = QScrollArea()
        recent.setWidgetResizable(True)
        recent.setWidget(self.recent_host)
        left.addWidget(recent, 1)
        left.addWidget(self.seq_caption)
        left.addWidget(self.keypad)
        left.addWidget(self.find_button)
        by_receipt = QHBoxLayout()
        by_receipt.addWidget(self.receipt_input, 3)
        by_receipt.addWidget(self.receipt_button, 2)
        left.addLayout(by_receipt)
        right = QVBoxLayout()
        right.addWidget(self.summary)
        right.addWidget(self.lines_host, 1)
        tenders = QHBoxLayout()
        tenders.addWidget(self.cash_button)
        tenders.addWidget(self.original_button)
        right.addLayout(tenders)
        right.addWidget(self.refund_button)
        right.addWidget(self.tap_cancel_button)
        right.addWidget(self.void_button)
        row = QHBoxLayout()
        row.addLayout(left, 2)
        row.addLayout(right, 3)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addLayout(row, 1)
        self.retranslate()

    def retranslate(self) -> None:
        self.title.setText(self.t("refund.title"))
        self.recent_caption.setText(self.t("refund.recent"))
        self.seq_caption.setText(self.t("refund.seq"))
        self.find_button.setText(self.t("refund.find"))
        self.receipt_input.setPlaceholderText(text(self.session.lang, "receipt"))
        self.receipt_button.setText(text(self.session.lang, "find_receipt"))
        self.cash_button.setText(self.t("refund.by_cash"))
        self.original_button.setText(self.t("refund.by_original"))
        self.refund_button.setText(self.t("refund.refund"))
        self.tap_cancel_button.setText(self.t("refund.points_cancel"))
        self.void_button.setText(self.t("refund.void"))
        self.keypad.set_labels(self.t("keypad.back"), self.t("keypad.clear"))
        self._show()

    def enter(self, arg: object = None) -> None:
        self.card_wait.stop()
        self.original = None
        self.foreign = None
        self.points_refund = None
        self.keypad.clear()
        self.receipt_input.clear()
        while self.recent_layout.count():
            item = self.recent_layout.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self.recent_buttons: dict[int, BigButton] = {}
        sales = [e for e in self.session.counter.state.period if e["kind"] == "sale"]
        for entry in sales[-RECENT:][::-1]:
            seq = int(entry["seq"])
            text = f"No. {entry['body']['receipt_no']}  {format_yen(int(entry['body']['total']))}"
            button = BigButton(text, on_click=partial(self.load, seq))
            self.recent_buttons[seq] = button
            self.recent_layout.addWidget(button)
        self._show()

    def find_sale(self) -> None:
        seq = self.keypad.amount()
        if seq:
            self.load(seq)

    def load(self, seq: int) -> None:
        counter = self.session.counter

        def job() -> tuple[Entry, dict[int, int]]:
            entry = counter.journal.entry(seq) if 1 <= seq <= counter.journal.last_seq else None
            if entry is None or entry.kind != "sale":
                raise DomainError(f"取引 {seq} は売上ではありません (entry {seq} is not a sale)")
            return entry, counter.refunded_quantities(seq)

        self.session.run(job, self._loaded, name="load_sale")

    def find_receipt(self) -> None:
        """Call up a sale by receipt number: this counter's journal first, then the server."""
        receipt_no = self.receipt_input.text().strip()
        if not receipt_no:
            return
        counter, lookup = self.session.counter, self.session.context.lookup_receipt

        def job() -> object:
            own = [s for s, r in counter.state.receipts.items() if r == receipt_no]
            if own:
                return counter.journal.entry(own[-1]), counter.refunded_quantities(own[-1])
            return _look_up(counter, lookup, receipt_no)

        self.session.run(job, self._loaded, self._lookup_failed, name="find_receipt")

    def _lookup_failed(self, exc: BaseException) -> None:
        if not isinstance(exc, LookupFailed):
            self.session.fail(exc)
            return
        self.session.say("error", lambda lang: text(lang, exc.key, **exc.values))

    def _loaded(self, result: object) -> None:
        if isinstance(result, tuple) and isinstance(result[0], ForeignSale):
            foreign, left = cast(tuple[ForeignSale, dict[int, int]], result)
            self.foreign, self.left = foreign, left
            self.original = Entry.from_dict(foreign.original)
            key = "foreign_points" if can_refund_to_points(self.session, foreign) else "foreign"
            self.session.say("info", lambda lang: text(lang, key, terminal=foreign.terminal))
        else:
            entry, done = cast(tuple[Entry, dict[int, int]], result)
            self.foreign, self.original = None, entry
            lines = entry.body["lines"]
            self.left = {i: int(line["qty"]) - done.get(i, 0) for i, line in enumerate(lines)}
        self.chosen = {i: 0 for i in self.left}
        self.set_tender("cash")
        self._show()

    def _original_kind(self) -> TenderKind | None:
        if self.foreign is not None:
            return "points" if can_refund_to_points(self.session, self.foreign) else None
        if self.original is None:
            return None
        for tender in self.original.body["tenders"]:
            if tender["kind"] != "cash":
                return cast(TenderKind, tender["kind"])
        return None

    def original_tender(self) -> None:
        kind = self._original_kind()
        if kind is not None:
            self.set_tender(kind)

    def set_tender(self, kind: TenderKind) -> None:
        if kind == "cash":
            self.card_wait.stop("refund.points_stopped")  # the clerk switched to cash
        self.tender_kind = kind
        (self.cash_button if kind == "cash" else self.original_button).setChecked(True)

    def _show(self) -> None:
        while self.lines_grid.count():
            item = self.lines_grid.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self.qty_buttons = {}
        entry = self.original
        enabled = entry is not None
        waiting = self.points_refund is not None  # for the card, or for the service's answer
        self.refund_button.setEnabled(enabled and not waiting)
        # Not while the service answers a tap: its refusal would wait for another tap.
        self.cash_button.setEnabled(enabled and (self.card_wait.waiting or not waiting))
        self.void_button.setEnabled(enabled and self.foreign is None)
        self.original_button.setEnabled(self._original_kind() is not None and not waiting)
        self.original_button.setText(self.t("refund.by_points" if self.foreign is not None
                                            else "refund.by_original"))
        self.tap_cancel_button.setVisible(self.card_wait.waiting)
        if entry is None:
            self.summary.setText(self.t("refund.pick"))
            return
        body: dict[str, Any] = entry.body
        where = f"[{self.foreign.terminal}]  " if self.foreign is not None else ""
        self.summary.setText(f"{where}No. {body['receipt_no']}  {format_yen(int(body['total']))}")
        for i, line in enumerate(body["lines"]):
            self._line_row(i, line)

    def _line_row(self, i: int, line: dict[str, Any]) -> None:
        name = QLabel(f"{line['name']}  {format_yen(int(line['unit_price']))}")
        name.setProperty("i18n_exempt", True)
        qty = QLabel(f"{self.chosen.get(i, 0)} / {self.left.get(i, 0)}")
        minus = BigButton("−", on_click=lambda: self.change(i, -1))
        plus = BigButton("+", on_click=lambda: self.change(i, 1))
        for button in (minus, plus):
            button.setEnabled(self.points_refund is None)
        self.qty_buttons[i] = (minus, plus)
        for col, widget in enumerate((name, qty, minus, plus)):
            self.lines_grid.addWidget(widget, i, col)

    def change(self, index: int, delta: int) -> None:
        value = self.chosen.get(index, 0) + delta
        self.chosen[index] = max(0, min(self.left.get(index, 0), value))
        self._show()

    def refund(self) -> None:
        entry, quantities = self.original, {i: q for i, q in self.chosen.items() if q > 0}
        if entry is None:
            return
        if not quantities:
            self.session.error("refund.none_chosen")
            return
        counter, kind, foreign = self.session.counter, self.tender_kind, self.foreign

        def approved(approver: str) -> None:
            if foreign is not None and kind == "points":
                self.points_refund = (foreign, quantities, approver)
                self.card_wait.start()
                self._show()
                return
            if foreign is not None:
                self.session.run(lambda: refund_foreign(
                    counter, foreign.original, foreign.server_refunds, quantities, approver,
                    kind), self._done, name="refund_foreign")
                return
            self.session.run(lambda: counter.refund(entry.seq, quantities, approver, kind),
                             self._done, name="refund")

        self.session.approve("approve.refund", approved)

    def _card_tapped(self, card: str, masked: str) -> None:
        """The card that paid (its token): give the points back in the worker."""
        if self.points_refund is None:
            return
        foreign, quantities, approver = self.points_refund
        counter = self.session.counter
        self.session.info("refund.points_giving", card=masked)
        self.session.update_customer(mode="prompt", prompt="wait")
        self.session.run(lambda: refund_foreign(
            counter, foreign.original, foreign.server_refunds, quantities, approver, "points",
            card=card), self._points_done, partial(self._points_failed, masked),
            name="refund_foreign_points")
        self._show()

    def _points_done(self, result: object) -> None:
        self.points_refund = None
        self.session.show_customer(mode="welcome")
        self._done(result)

    def _points_failed(self, masked: str, exc: BaseException) -> None:
        if isinstance(exc, PaymentDeclined) and self.points_refund is not None:
            # The service refused this card: say why, and wait for another tap (or cash).
            reason = str(exc)
            self.session.say("error", lambda lang: tr(
                "clerk", lang, "refund.points_refused", card=masked,
                reason=refusal_reason(reason, lang)))
            self.card_wait.start(announce=False)
            self._show()
            return
        self.points_refund = None
        self.session.show_customer(mode="welcome")
        self.session.fail(exc)
        self._show()

    def _wait_ended(self) -> None:
        self.points_refund = None
        self._show()

    def void(self) -> None:
        entry = self.original
        if entry is None or self.foreign is not None:
            return
        counter = self.session.counter

        def approved(approver: str) -> None:
            self.session.run(lambda: counter.void(entry.seq, approver), self._done, name="void")

        self.session.approve("approve.void", approved)

    def _done(self, result: object) -> None:
        assert isinstance(result, Entry)
        self.session.ok(f"refund.done.{result.kind.removeprefix('training.')}")
        self.session.go("done", (result, "", ""))


def _look_up(counter: Counter, lookup: LookupReceipt | None,
             receipt_no: str) -> tuple[ForeignSale, dict[int, int]]:
    """Another counter's sale from the server, checked, with what is left of each line
    (runs on a worker thread)."""
    if lookup is None:
        raise LookupFailed("offline", receipt=receipt_no)
    try:
        answer = lookup(receipt_no)
    except (MadoguchiError, OSError) as exc:  # the server unreachable, busy or refusing
        raise LookupFailed("offline", receipt=receipt_no) from exc
    if answer is None:
        raise LookupFailed("not_found", receipt=receipt_no)
    found = foreign_sale(counter, answer)
    return found, remaining(counter, found.original, found.server_refunds)
