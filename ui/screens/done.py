"""After a sale, refund or void: change due in large type, the receipt printed and previewed.

A print failure never loses the sale (it is journaled before this screen): the error is shown
with what to do, and printing can be retried. A later reprint is marked 再発行, needs a
supervisor, and is journaled (``Counter.reprint``) before it is printed.
"""

from __future__ import annotations

from terminal.journal import Entry
from terminal.receipt import Receipt, build_receipt
from ui.points_text import clerk_award
from ui.qt import QHBoxLayout, QLabel, QPixmap, QScrollArea, Qt, QVBoxLayout, QWidget
from ui.screens.base import Screen
from ui.session import Session
from ui.widgets.buttons import AmountLabel, BigButton, message_label, set_level, title_label


class DoneScreen(Screen):
    name = "done"

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(session, parent)
        self.entry: Entry | None = None
        self.addressee = ""
        self.purpose = ""
        self.printed = False
        self.print_failed = False
        self.print_state = ("", "")  # level, catalogue key
        self.title = title_label()
        self.change_caption = QLabel()
        self.change = AmountLabel(big=True)
        self.total_caption = QLabel()
        self.total = AmountLabel()
        self.receipt_no = QLabel()
        self.print_status = message_label()
        self.points_award = message_label()  # はちのへポイント awarded for this sale
        self.preview = QLabel()
        self.preview.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.preview.setProperty("i18n_exempt", True)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.preview)
        self.retry_button = BigButton(tone="danger", on_click=lambda: self.print(False))
        self.reprint_button = BigButton(on_click=self.reprint)
        self.next_button = BigButton(tone="primary", on_click=self.next_customer)
        left = QVBoxLayout()
        for widget in (self.title, self.receipt_no, self.total_caption, self.total,
                       self.change_caption, self.change, self.points_award, self.print_status):
            left.addWidget(widget)
        left.addStretch(1)
        for button in (self.retry_button, self.reprint_button, self.next_button):
            left.addWidget(button)
        row = QHBoxLayout(self)
        row.addLayout(left, 3)
        row.addWidget(scroll, 2)
        session.hachica.changed.connect(self.show_award)
        self.retranslate()

    def retranslate(self) -> None:
        kind = self.entry.kind.removeprefix("training.") if self.entry else "sale"
        self.title.setText(self.t(f"done.title.{kind}"))
        self.change_caption.setText(self.t("done.change"))
        self.total_caption.setText(self.t("done.total"))
        self.retry_button.setText(self.t("done.retry"))
        self.reprint_button.setText(self.t("done.reprint"))
        self.next_button.setText(self.t("done.next"))
        level, key = self.print_state
        set_level(self.print_status, level, self.t(key) if key else "")
        if self.entry is not None:
            self.receipt_no.setText(self.t("done.receipt_no",
                                           no=self.entry.body.get("receipt_no", "")))
        self._buttons()
        self.show_award()

    def show_award(self) -> None:
        award = self.session.hachica.award
        if award is None or self.entry is None or award.sale_seq != self.entry.seq:
            set_level(self.points_award, "", "")
            return
        set_level(self.points_award, "ok" if award.online else "info",
                  clerk_award(award, self.session.lang))

    def enter(self, arg: object = None) -> None:
        assert isinstance(arg, tuple)
        entry, self.addressee, self.purpose = arg
        assert isinstance(entry, Entry)
        self.entry = entry
        self.printed = self.print_failed = False
        self.print_state = ("", "")
        self.session.clear_notice()
        self.preview.clear()
        change = sum(int(t.get("change") or 0) for t in entry.body.get("tenders", [])
                     if t.get("kind") == "cash")
        self.total.set_amount(int(entry.body.get("total", 0)))
        self.change.set_amount(change)
        is_sale = entry.kind.removeprefix("training.") == "sale"
        self.change.setVisible(is_sale)
        self.change_caption.setVisible(is_sale)
        self.retranslate()
        if is_sale:
            self.session.hachica.sale_completed(entry)
            self.session.show_customer(mode="thanks", total=int(entry.body["total"]),
                                       change=change, sale_seq=entry.seq)
        self.print(False)

    def receipt(self, reprint: bool) -> Receipt:
        assert self.entry is not None
        ctx, entry = self.session.context, self.entry
        return build_receipt(
            entry.body, entry.kind, entry.at, entry.terminal, entry.seq, ctx.header,
            ctx.counter.catalogue, addressee=self.addressee, purpose=self.purpose,
            reprint=reprint, qr_url=ctx.receipt_url(entry.seq, entry.hash),
            points_award=ctx.counter.award_note(entry.seq),  # in memory: no journal read
        )

    def print(self, reprint: bool) -> None:
        receipt = self.receipt(reprint)
        printer = self.session.context.printer
        self.session.run(lambda: _preview_png(receipt), self._preview, lambda _e: None,
                         name="preview")
        if printer is None:
            self._print_state("info", "done.no_printer")
            return
        self._print_state("info", "done.printing")
        self.session.run(lambda: printer.print_receipt(receipt), self._printed,
                         self._print_failed, name="print")

    def _preview(self, png: object) -> None:
        pixmap = QPixmap()
        if isinstance(png, bytes) and pixmap.loadFromData(png):
            self.preview.setPixmap(pixmap.scaledToWidth(
                360, Qt.TransformationMode.SmoothTransformation))

    def _printed(self, _report: object) -> None:
        self.printed, self.print_failed = True, False
        self._print_state("ok", "done.printed")
        self.session.device_status.emit("printer", "ok", "")
        self._buttons()

    def _print_failed(self, exc: BaseException) -> None:
        self.print_failed = True
        self.session.fail(exc)
        self._print_state("error", "done.print_failed")
        self.session.device_status.emit("printer", "error", "")
        self._buttons()

    def _print_state(self, level: str, key: str) -> None:
        self.print_state = (level, key)
        set_level(self.print_status, level, self.t(key))

    def _buttons(self) -> None:
        has_printer = self.session.context.printer is not None
        self.retry_button.setVisible(has_printer and self.print_failed and not self.printed)
        self.reprint_button.setVisible(has_printer and self.printed)

    def reprint(self) -> None:
        self.session.approve("approve.reprint", self._reprint_approved)

    def _reprint_approved(self, approver: str) -> None:
        entry, counter = self.entry, self.session.counter
        if entry is None:
            return
        self.session.run(lambda: counter.reprint(entry.seq, approver),
                         lambda _reprint: self.print(True), name="reprint")

    def next_customer(self) -> None:
        self.session.go("sale")  # the customer display keeps its thanks (and rating)


def _preview_png(receipt: Receipt) -> bytes:
    """Runs on a worker thread; the raster renderer (Pillow, python-escpos) loads lazily."""
    from drivers.printer.raster import preview_png

    return preview_png(receipt)
