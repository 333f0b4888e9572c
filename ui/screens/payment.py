"""Taking payment: cash with quick amounts and change, cards through the payment terminal with
its live prompts, QR (scanned or shown on the customer display), split payments, 宛名.

QR: the visitor's code (scanner or the text field) is charged with ``pay_by_terminal("qr", ...,
customer_code)``; "QR表示" shows the QR gateway's dynamic code and polls it (``QrFlow``), or,
without a gateway, the counter's static code, confirmed through the payment terminal.

Points (when the context has a points service): "ポイント" asks for a card tap; the tapped
card's IDm is hashed at once (``card_token``: only the hash reaches the service and the journal,
a screen shows at most ``mask_idm``), its balance is fetched in a worker and shown on both
screens, the clerk keys in the points to use (none keyed: as many as the balance and the amount
due allow) and presses "ポイントを使う"; the rest is paid as usual."""

from __future__ import annotations

from functools import partial

from terminal.errors import DomainError
from terminal.journal import Entry
from terminal.points import card_token, mask_idm
from terminal.ports import PAYMENT_TERMINAL_KINDS, CardTapped, TenderKind
from terminal.tenders import Payment
from ui.customer_prompts import prompt_key
from ui.errors import split_bilingual
from ui.i18n import Ref
from ui.qt import QGridLayout, QHBoxLayout, QLabel, QLineEdit, QVBoxLayout, QWidget
from ui.screens.base import Screen
from ui.screens.qr_flow import QrFlow
from ui.session import Session
from ui.widgets.buttons import AmountLabel, BigButton, title_label
from ui.widgets.keypad import Keypad
from ui.widgets.points import PointsStatus

CARD_KINDS: tuple[TenderKind, ...] = ("credit", "emoney", "transit_ic")


def quick_amounts(remaining: int) -> list[int]:
    """Exact, the next 1,000, then 5,000 and 10,000 (each at least what is due)."""
    candidates = [remaining, -(-remaining // 1000) * 1000, 5000, 10000]
    return sorted({a for a in candidates if a >= remaining and a > 0})[:4] or [0]


class PaymentScreen(Screen):
    name = "payment"

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(session, parent)
        self.payment_state: Payment | None = None
        self.awaiting_scan = False
        self.awaiting_card = False
        self.points_card: tuple[str, str, int] | None = None  # (card token, masked IDm, balance)
        self.qr_shown_for: int | None = None
        self.title = title_label()
        self.prompt = QLabel()
        self.prompt.setProperty("role", "title")
        self.prompt.setProperty("i18n_exempt", True)  # the terminal's own words, split by lang
        self.captions = {k: QLabel() for k in ("total", "paid", "remaining")}
        self.amounts = {k: AmountLabel(big=(k == "remaining")) for k in self.captions}
        self.tender_buttons: dict[str, BigButton] = {}
        self.quick_buttons: list[BigButton] = []
        self.keypad = Keypad(max_length=7)
        self.scan_input = QLineEdit()  # keyboard-wedge scanners type here
        self.scan_input.returnPressed.connect(lambda: self.scanned(self.scan_input.text()))
        self.addressee = QLineEdit()
        self.purpose = QLineEdit()
        self.qr = QrFlow(self)
        self._build()
        session.prompt.connect(self.on_prompt)
        session.qr_scanned.connect(self.scanned)
        session.card_event.connect(self.card_tapped)
        self.retranslate()

    def _build(self) -> None:
        amounts = QGridLayout()
        amounts.addWidget(self.captions["total"], 0, 0)
        amounts.addWidget(self.amounts["total"], 0, 1)
        amounts.addWidget(self.captions["paid"], 0, 2)
        amounts.addWidget(self.amounts["paid"], 0, 3)
        amounts.addWidget(self.captions["remaining"], 1, 0)
        amounts.addWidget(self.amounts["remaining"], 1, 1, 1, 3)
        left = QVBoxLayout()
        left.addWidget(self.title)
        left.addLayout(amounts)
        left.addWidget(self.prompt)
        self.points_status = PointsStatus(self.session)  # the Hachica tapped for this visit
        left.addWidget(self.points_status)
        quick = QHBoxLayout()
        for button_index in range(4):
            button = BigButton(tone="ok", on_click=partial(self.quick, button_index))
            self.quick_buttons.append(button)
            quick.addWidget(button)
        left.addLayout(quick)
        grid = QGridLayout()
        kinds = ["cash", *CARD_KINDS, "qr_scan", "qr_show", "qr_confirm", "points"]
        for i, kind in enumerate(kinds):
            button = BigButton(tone="primary" if kind != "points" else "",
                               on_click=partial(self.tender, kind))
            self.tender_buttons[kind] = button
            grid.addWidget(button, i // 4, i % 4)
        left.addLayout(grid)
        self.points_use_button = BigButton(tone="ok", on_click=self.use_points)
        self.points_use_button.setVisible(False)
        left.addWidget(self.points_use_button)
        self.resolve_button = BigButton(on_click=self.resolve)
        self.qr_cancel_button = BigButton(on_click=self.qr.cancel)
        self.cancel_button = BigButton(tone="danger", on_click=self.cancel)
        bottom = QHBoxLayout()
        bottom.addWidget(self.resolve_button)
        bottom.addWidget(self.qr_cancel_button)
        bottom.addWidget(self.cancel_button)
        left.addStretch(1)
        left.addLayout(bottom)
        self.keypad_caption, self.scan_caption = QLabel(), QLabel()
        self.addressee_caption, self.purpose_caption = QLabel(), QLabel()
        right = QVBoxLayout()
        right.addWidget(self.keypad_caption)
        right.addWidget(self.keypad)
        fields = QGridLayout()
        for line, (caption, field) in enumerate(((self.scan_caption, self.scan_input),
                                                 (self.addressee_caption, self.addressee),
                                                 (self.purpose_caption, self.purpose))):
            fields.addWidget(caption, line, 0)
            fields.addWidget(field, line, 1)
        right.addLayout(fields)
        right.addStretch(1)
        row = QHBoxLayout(self)
        row.addLayout(left, 3)
        row.addLayout(right, 2)

    def retranslate(self) -> None:
        self.title.setText(self.t("pay.title"))
        for key, label in self.captions.items():
            label.setText(self.t(f"pay.{key}"))
        for kind, button in self.tender_buttons.items():
            button.setText(self.t(f"tender.{kind}"))
        if not self.points_enabled():
            self.tender_buttons["points"].setText(self.t("tender.points_soon"))
        self.points_use_button.setText(self.t("pay.points_use"))
        self.keypad_caption.setText(self.t("pay.keypad"))
        self.scan_caption.setText(self.t("pay.scan_field"))
        self.addressee_caption.setText(self.t("pay.addressee"))
        self.purpose_caption.setText(self.t("pay.purpose"))
        self.resolve_button.setText(self.t("pay.resolve"))
        self.qr_cancel_button.setText(self.t("pay.qr_cancel"))
        self.cancel_button.setText(self.t("pay.cancel"))
        self.keypad.set_labels(self.t("keypad.back"), self.t("keypad.clear"))
        self.refresh()

    # -- state ----------------------------------------------------------------------------
    def enter(self, arg: object = None) -> None:
        self.keypad.clear()
        self.awaiting_scan = False
        self.awaiting_card = False
        self.points_card = None
        self.qr_shown_for = None
        self.prompt.setText("")
        if arg:
            self.session.info(str(arg))
        self.refresh()
        self._show_due()
        open_sale = self.session.counter.state.open_sale
        if open_sale is not None and open_sale.approved and self.payment_state is not None \
                and self.payment_state.is_settled:
            self._complete()  # recovered after a crash: the visitor has already paid

    def _complete(self) -> None:
        counter = self.session.counter
        self.session.run(lambda: counter.complete_sale(counter.payment()), self._completed,
                         self._failed, name="complete_sale")

    def refresh(self) -> None:
        counter = self.session.counter
        if counter.state.open_sale is None:
            self.payment_state = None
            return
        payment = counter.payment()
        self.payment_state = payment
        self.amounts["total"].set_amount(payment.total)
        self.amounts["paid"].set_amount(payment.paid)
        self.amounts["remaining"].set_amount(payment.remaining)
        for button, amount in zip(self.quick_buttons, quick_amounts(payment.remaining),
                                  strict=False):
            button.setText(self.t("pay.quick_exact") if amount == payment.remaining
                           else f"{amount:,}")
            button.setProperty("amount", amount)
            button.setVisible(True)
        for button in self.quick_buttons[len(quick_amounts(payment.remaining)):]:
            button.setVisible(False)
        enabled = counter.settings.tenders
        device = counter.payment_terminal is not None or counter.state.training
        for kind in CARD_KINDS:
            self.tender_buttons[kind].setEnabled(kind in enabled and device)
        qr_ok = "qr" in enabled and (device or counter.qr_gateway is not None)
        waiting = self.qr.waiting()
        self.tender_buttons["qr_scan"].setEnabled(qr_ok and waiting is None)
        can_show = self.qr.enabled or self.session.context.qr_payload is not None
        self.tender_buttons["qr_show"].setEnabled(qr_ok and can_show and waiting is None)
        shown = waiting is not None if self.qr.enabled else self.qr_shown_for is not None
        self.tender_buttons["qr_confirm"].setEnabled(qr_ok and shown)
        self.qr_cancel_button.setVisible(waiting is not None)
        self.tender_buttons["points"].setEnabled(self.points_enabled() and waiting is None)
        self.points_use_button.setVisible(self.points_card is not None)
        # While a shown code is being polled its outcome arrives by itself.
        self.resolve_button.setVisible(bool(counter.state.open_sale.pending)
                                       and not self.qr.timer.isActive())

    def quick(self, index: int) -> None:
        """A quick amount: the visitor handed over exactly this much cash."""
        amount = self.quick_buttons[index].property("amount")
        if isinstance(amount, int) and not self.session.runner.busy:
            self.pay_cash(amount)

    def _show_due(self) -> None:
        if self.payment_state is not None:
            self.session.show_customer(mode="due", total=self.payment_state.total,
                                       remaining=self.payment_state.remaining)

    def _amount(self) -> int | None:
        """The keypad amount for a split (None: pay everything that is due)."""
        amount = self.keypad.amount()
        return amount if amount else None

    # -- tenders --------------------------------------------------------------------------
    def tender(self, kind: str) -> None:
        if self.session.runner.busy or self.payment_state is None:
            return
        if kind == "cash":
            given = self.keypad.amount()
            self.pay_cash(given if given is not None else self.payment_state.remaining)
        elif kind in CARD_KINDS:
            self.pay_device(kind, self._amount())
        elif kind == "qr_scan":
            self.awaiting_scan = True
            self.session.info("pay.scan_now")
            self.session.update_customer(mode="prompt", prompt="scan")
            self.scan_input.setFocus()
        elif kind == "qr_show":
            self.show_qr()
        elif kind == "qr_confirm" and self.qr.enabled:
            self.qr.confirm()
        elif kind == "qr_confirm":
            self.pay_device("qr", self.qr_shown_for)
        elif kind == "points" and self.points_enabled():
            self.ask_for_card()

    def pay_cash(self, given: int) -> None:
        counter = self.session.counter
        self.keypad.clear()
        self.session.run(lambda: counter.pay_cash(given), self._completed, self._failed,
                         name="pay_cash")

    def pay_device(self, kind: TenderKind, amount: int | None, code: str = "") -> None:
        counter = self.session.counter
        self.keypad.clear()
        prompt = "tap" if kind in PAYMENT_TERMINAL_KINDS else "wait"
        self.session.update_customer(mode="prompt", prompt=prompt)
        self.session.info("pay.in_progress", kind=Ref(f"tender.{kind}"))

        def job() -> object:
            tender = counter.pay_by_terminal(kind, amount, code, self.session.prompt.emit)
            payment = counter.payment()
            return counter.complete_sale(payment) if payment.is_settled else tender

        self.session.run(job, self._paid, self._failed, name=f"pay_{kind}")

    def _paid(self, result: object) -> None:
        if isinstance(result, Entry):
            self._completed(result)
            return
        self.qr_shown_for = None
        self.session.ok("pay.partial_ok")
        self.prompt.setText("")
        self.refresh()
        self._show_due()

    def _completed(self, result: object) -> None:
        assert isinstance(result, Entry)
        self.prompt.setText("")
        self.session.go("done", (result, self.addressee.text().strip(),
                                 self.purpose.text().strip()))
        self.addressee.clear()
        self.purpose.clear()

    def _failed(self, exc: BaseException) -> None:
        self.session.fail(exc)
        self.prompt.setText("")
        self.refresh()  # the sale is kept: it is still open in the journal
        self._show_due()

    # -- points ---------------------------------------------------------------------------
    def points_enabled(self) -> bool:
        ctx = self.session.context
        return (ctx.points is not None and bool(ctx.points_key)
                and "points" in self.session.counter.settings.tenders)

    def ask_for_card(self) -> None:
        self.awaiting_card = True
        self.points_card = None
        self.refresh()
        self.session.info("pay.points_tap")
        self.session.update_customer(mode="prompt", prompt="tap")

    def card_tapped(self, event: object) -> None:
        """A card on the reader while a points card is awaited: hash its IDm (the raw IDm goes
        no further) and fetch the balance in a worker."""
        ctx = self.session.context
        if not isinstance(event, CardTapped) or not self.awaiting_card or not self.isVisible() \
                or ctx.points is None or not ctx.points_key:
            return
        self.awaiting_card = False
        service, card = ctx.points, card_token(ctx.points_key, event.idm)
        masked = mask_idm(event.idm)
        self.session.info("pay.points_reading")

        def done(balance: object) -> None:
            assert isinstance(balance, int)
            self.points_card = (card, masked, balance)
            usable = self._usable_points()
            if usable > 0:
                self.session.info("pay.points_balance", card=masked, balance=f"{balance:,}",
                                  usable=f"{usable:,}")
            else:
                self.session.error("pay.points_none", card=masked)
            self.refresh()
            if self.payment_state is not None:
                self.session.update_customer(mode="points", points_balance=balance,
                                             remaining=self.payment_state.remaining)

        self.session.run(lambda: service.balance(card), done, self._failed,
                         name="points_balance")

    def _usable_points(self) -> int:
        """Points the card can pay now: its balance, at most what is due."""
        if self.points_card is None or self.payment_state is None:
            return 0
        per_point = self.session.counter.points_rules.yen_per_point
        return max(0, min(self.points_card[2], self.payment_state.remaining // per_point))

    def use_points(self) -> None:
        if self.points_card is None or self.session.runner.busy:
            return
        usable = self._usable_points()
        points = self.keypad.amount() or usable
        if not 0 < points <= usable:
            self.session.error("pay.points_too_many", usable=f"{usable:,}")
            return
        counter, card = self.session.counter, self.points_card[0]
        self.keypad.clear()
        self.points_card = None
        self.refresh()
        self.session.info("pay.points_redeeming")
        self.session.update_customer(mode="prompt", prompt="wait")

        def job() -> object:
            tender = counter.pay_with_points(card, points)
            payment = counter.payment()
            return counter.complete_sale(payment) if payment.is_settled else tender

        self.session.run(job, self._paid, self._failed, name="pay_points")

    # -- QR -------------------------------------------------------------------------------
    def scanned(self, code: str) -> None:
        code = code.strip()
        self.scan_input.clear()
        if not code or not self.awaiting_scan or not self.isVisible():
            return
        self.awaiting_scan = False
        self.session.info("pay.scanned")
        self.pay_device("qr", self._amount(), code)

    def show_qr(self) -> None:
        if self.payment_state is None:
            return
        if self.qr.enabled:
            self.qr.show(self._amount())
            self.keypad.clear()
            return
        make = self.session.context.qr_payload
        if make is None:
            return
        amount = self._amount() or self.payment_state.remaining
        ref = f"{self.session.counter.settings.terminal}-{self.session.counter.journal.last_seq}"

        def job() -> bytes:
            payload = make(amount, ref)
            if not payload:
                raise DomainError("QRコードを作れませんでした (no QR payload)")
            from drivers.qr.render import render_png  # qrcode + Pillow: loaded when needed

            return render_png(payload, box_size=10)

        def done(png: object) -> None:
            assert isinstance(png, bytes)
            self.qr_shown_for = amount
            self.session.update_customer(mode="qr", qr_png=png, remaining=amount)
            self.session.info("pay.qr_shown")
            self.refresh()

        self.session.run(job, done, name="render_qr")

    # -- prompts, pending, cancel ---------------------------------------------------------
    def on_prompt(self, text: str) -> None:
        shown = split_bilingual(text, self.session.lang) or self.t("pay.follow_terminal")
        self.prompt.setText(shown)
        self.session.update_customer(mode="prompt", prompt=prompt_key(text))

    def resolve(self) -> None:
        counter = self.session.counter

        def done(_result: object) -> None:
            self.refresh()
            if counter.state.open_sale is not None and counter.payment().is_settled:
                self._complete()
            else:
                self.session.info("pay.resolved")

        self.session.run(counter.payments.resolve_pending, done, self._failed, name="resolve")

    def cancel(self) -> None:
        counter = self.session.counter
        self.awaiting_card, self.points_card = False, None
        waiting = self.qr.waiting()
        self.qr.stop()

        def job() -> object:
            if waiting is not None:  # withdraw the shown code first: nothing stays charged
                counter.cancel_qr(waiting)
            return counter.cancel_sale("clerk cancelled")

        def done(_result: object) -> None:
            self.session.hachica.sale_ended()
            self.session.show_customer(mode="welcome")
            self.session.info("pay.cancelled")
            self.session.go("sale")

        self.session.run(job, done, self._failed, name="cancel_sale")
