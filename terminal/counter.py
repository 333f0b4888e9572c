"""The counter's use cases: the one service layer the CLI, the simulator and the UI all call.

Every money-moving step is a journal entry, appended (and committed) before the step is
acknowledged. The working state is folded from those entries, so a restart rebuilds it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from terminal.catalogue import Catalogue
from terminal.clerks import Clerk, LoginGuard, LoginOutcome, can_approve
from terminal.documents import check_void, refund_body, sale_body, void_body
from terminal.errors import ApprovalRequired, AuthError, ConfigError, DomainError
from terminal.journal import Entry, Journal
from terminal.money import RoundingMode
from terminal.payments import PaymentDesk, PaymentPending, Prompt
from terminal.points import PointsRules
from terminal.points_awards import PointsAwards, PointsTap
from terminal.points_payments import pay_with_points, refund_tenders, void_tenders
from terminal.ports import Clock, PaymentTerminal, PointsService, QrGateway, TenderKind
from terminal.qr_payments import QrCodes
from terminal.receipt import AwardNote
from terminal.reports import period_totals, x_report, z_body
from terminal.sale import Cart, SaleLine
from terminal.state import CounterState, OpenSale
from terminal.tenders import Payment, Tender, cash_tender


@dataclass(frozen=True, slots=True)
class CounterSettings:
    terminal: str
    rounding: RoundingMode = "floor"
    tenders: tuple[TenderKind, ...] = ("cash", "transit_ic", "emoney", "credit", "qr")
    training_allowed: bool = True
    facility: str = ""  # the facility id (points.award names it)


@dataclass
class Counter:
    """One counter (terminal): sale, payment, refund, void, cash, training, X and Z."""

    journal: Journal
    catalogue: Catalogue
    settings: CounterSettings
    clerks: Mapping[str, Clerk]
    clock: Clock
    payment_terminal: PaymentTerminal | None = None
    qr_gateway: QrGateway | None = None
    points: PointsService | None = None
    points_rules: PointsRules = field(default_factory=PointsRules)
    cart: Cart = field(default_factory=Cart)
    guard: LoginGuard = field(default_factory=LoginGuard)
    state: CounterState = field(init=False)
    payments: PaymentDesk = field(init=False)
    qr_codes: QrCodes = field(init=False)
    points_awards: PointsAwards = field(init=False)

    def __post_init__(self) -> None:
        if self.settings.terminal != self.journal.terminal:  # refs and receipts would lie
            raise ConfigError(
                f"端末IDがジャーナルと一致しません (terminal {self.settings.terminal!r} in the "
                f"config, {self.journal.terminal!r} in the journal): use this terminal's own "
                "journal, or fix terminal_id in the config")
        self.state = CounterState(self.settings.terminal)
        for entry in self.journal.entries():
            self.state.apply(entry.as_dict())
        self.payments = PaymentDesk(self)
        self.qr_codes = QrCodes(self.payments)
        self.points_awards = PointsAwards(self)

    # -- journal ------------------------------------------------------------------------
    def record(self, kind: str, body: Mapping[str, Any]) -> Entry:
        """Append one entry (training mode prefixes the kind) and fold it into the state."""
        if self.state.training and not kind.startswith("training."):
            kind = "training." + kind
        entry = self.journal.append(kind, dict(body), self.clock.now())
        self.state.apply(entry.as_dict())
        return entry

    # -- clerks -------------------------------------------------------------------------
    def login(self, clerk_id: str, pin: str) -> LoginOutcome:
        self.guard, outcome = self.guard.attempt(self.clerks, clerk_id, pin, self.clock.now())
        if outcome.ok:
            self.record("login", {"clerk": clerk_id})
        elif outcome.just_locked:
            self.record("lockout", {"clerk": clerk_id, "reason": "too many wrong PINs"})
        return outcome

    def logout(self) -> None:
        if self.state.clerk is not None:
            self.record("logout", {"clerk": self.state.clerk})

    @property
    def clerk(self) -> str:
        if self.state.clerk is None:
            raise AuthError("ログインしてください (no clerk is logged in): enter your PIN first")
        return self.state.clerk

    def approve(self, supervisor_id: str, pin: str) -> str:
        """Check a supervisor's PIN for one approval; returns the approver's id."""
        self.guard, outcome = self.guard.attempt(self.clerks, supervisor_id, pin, self.clock.now())
        if not outcome.ok or outcome.clerk is None:
            raise ApprovalRequired(outcome.message)
        if not can_approve(outcome.clerk):
            raise ApprovalRequired(
                f"{supervisor_id} は承認できません (not a supervisor): ask a supervisor"
            )
        return supervisor_id

    # -- the cart -----------------------------------------------------------------------
    def add_item(self, code: str, visitor_type: str = "general", qty: int = 1) -> Cart:
        from terminal.sale import line_for

        self._require_no_payment("change the cart")
        item = self.catalogue.item(code)
        self.cart = self.cart.add(line_for(item, self.catalogue, visitor_type, qty))
        return self.cart

    def set_cart(self, cart: Cart) -> None:
        self._require_no_payment("change the cart")
        self.cart = cart
        if cart.is_empty:  # the visit is over: a tapped card does not carry to the next one
            self.points_awards.forget()

    def _require_no_payment(self, what: str) -> None:
        if self.state.open_sale is not None:
            raise DomainError(
                f"支払い中です (a payment is in progress): finish or cancel it before you {what}"
            )

    # -- payment ------------------------------------------------------------------------
    def begin_payment(self) -> OpenSale:
        """Journal the cart as an open sale; from here on tenders are taken against it."""
        if self.state.open_sale is not None:
            return self.state.open_sale
        if self.cart.is_empty:
            raise DomainError("カートが空です (the cart is empty): add a fee first")
        lines = [line.as_body() for line in self.cart.lines]
        self.record(
            "sale.open", {"lines": lines, "total": self.cart.total, "clerk": self.clerk}
        )
        assert self.state.open_sale is not None
        return self.state.open_sale

    def payment(self) -> Payment:
        """The open sale's payment so far (approved card / QR payments)."""
        open_sale = self._open_sale()
        payment = Payment(open_sale.total)
        for result in open_sale.approved:
            payment = payment.add(self.payments.tender_from_result(result))
        return payment

    def _open_sale(self) -> OpenSale:
        if self.state.open_sale is None:
            raise DomainError("支払い中の取引がありません (no sale is open): start a payment first")
        return self.state.open_sale

    def pay_cash(self, given: int) -> Entry:
        """Take cash for what is left and complete the sale (change = given - remaining)."""
        payment = self.payment()
        if given < payment.remaining:
            raise DomainError(
                f"預り金が不足しています (cash given ¥{given:,} is less than "
                f"¥{payment.remaining:,} due)"
            )
        return self.complete_sale(payment.add(cash_tender(payment.remaining, given)))

    def pay_by_terminal(self, kind: TenderKind, amount: int | None = None,
                        customer_code: str = "", prompt: Prompt | None = None) -> Tender:
        """Card, e-money, transit IC or QR through the device; ``customer_code`` is the
        visitor's scanned QR (customer-presented) when a QR gateway is configured;
        ``prompt`` receives the payment terminal's live messages."""
        return self.payments.pay_by_terminal(kind, amount, customer_code, prompt)

    def pay_with_points(self, card: str, points: int) -> Tender:
        """Redeem ``points`` of ``card`` (``terminal.points.card_token``, never the raw IDm)
        through the points service: ``terminal.points_payments.pay_with_points``."""
        return pay_with_points(self, card, points)

    # -- はちのへポイント awards (terminal.points_awards) ---------------------------------------
    def tap_points_card(self, card: str, masked: str | None = None) -> PointsTap:
        """``card`` (keyed hash; ``masked``: its ``mask_idm``) tapped for this sale's award."""
        return self.points_awards.tap(card, masked)

    def points_balance(self, card: str) -> PointsTap:
        return self.points_awards.balance(card)

    def award_for(self, sale_seq: int) -> dict[str, Any] | None:
        return self.points_awards.award_for(sale_seq)

    def award_note(self, sale_seq: int) -> AwardNote | None:  # build_receipt(points_award=)
        return self.points_awards.note(sale_seq)

    def refresh_points_quota(self) -> Entry | None:  # at each sync (and give-backs retried)
        return self.points_awards.refresh_quota()

    def show_qr(self, amount: int | None = None) -> tuple[str, str]:
        """A dynamic (merchant-presented) code through the QR gateway for ``amount`` yen
        (None: all that is due): returns (ref, the code's text for the customer display)."""
        return self.qr_codes.show(amount)

    def poll_qr(self, ref: str) -> Tender | None:
        """None while the visitor has not paid the code ``ref``; its tender once paid
        (``PaymentDeclined`` when it was declined or expired)."""
        return self.qr_codes.poll(ref)

    def cancel_qr(self, ref: str) -> Entry:
        """Withdraw the code ``ref`` at the gateway; nothing stays charged for it."""
        return self.qr_codes.cancel(ref)

    def pay_with(self, tender: Tender) -> Entry:
        """Complete the sale with one more tender that settles it (points, or a tender taken
        outside madoguchi and keyed in)."""
        return self.complete_sale(self.payment().add(tender))

    def complete_sale(self, payment: Payment) -> Entry:
        open_sale = self._open_sale()
        if open_sale.pending:
            raise PaymentPending(
                "決済結果が不明な取引があります (a payment is pending): 決済結果を確認するか"
                "QRコードを取り消してください (resolve it or cancel the QR code first)"
            )
        if not payment.is_settled:
            raise DomainError(f"未払い残高 ¥{payment.remaining:,} (amount still due)")
        lines = [SaleLine.from_body(b) for b in open_sale.lines]
        receipt_no = self._next_receipt_no()
        body = sale_body(receipt_no, lines, payment.tenders, open_sale.clerk,
                         self.settings.rounding)
        body["open_seq"] = open_sale.open_seq
        entry = self.record("sale", body)
        self.cart = Cart()
        self.points_awards.after_sale(entry)
        return entry

    def cancel_sale(self, reason: str = "") -> Entry | None:
        """Abandon the open sale; approved card payments are reversed at the terminal first."""
        if self.state.open_sale is None:
            self.cart = Cart()
            self.points_awards.forget()
            return None
        self.payments.reverse_all()
        entry = self.record(
            "sale.cancel", {"open_seq": self.state.open_sale.open_seq, "reason": reason,
                            "clerk": self.clerk}
        )
        self.cart = Cart()
        self.points_awards.forget()
        return entry

    def _next_receipt_no(self) -> str:
        if self.state.training:
            return f"T{self.settings.terminal}-{self.state.training_sale_count + 1}"
        return f"{self.settings.terminal}-{self.state.sale_count + 1}"

    # -- refund and void ----------------------------------------------------------------
    def refund(self, original_seq: int, quantities: Mapping[int, int], approved_by: str,
               tender_kind: TenderKind = "cash") -> Entry:
        original = self._original_sale(original_seq)
        body = original["body"]
        already = self.refunded_quantities(original_seq)
        n = len(self.state.refunds_by_original.get((self.settings.terminal, original_seq), []))
        receipt_no = f"{body['receipt_no']}-R" + (str(n + 1) if n else "")
        clerk = self.clerk

        def build(tenders: list[Tender]) -> dict[str, Any]:
            return refund_body(body, original_seq, self.settings.terminal, quantities, already,
                               tenders, clerk, approved_by, self.settings.rounding, receipt_no)

        # Validate with a cash placeholder before any money moves at a payment terminal.
        total = int(build([_cash(_refund_total(body, quantities))])["total"])
        tenders = refund_tenders(self, tender_kind, total, body, original_seq)
        entry = self.record("refund", build(tenders))
        self.points_awards.after_take_back(original_seq, entry, "refund")
        return entry

    def void(self, original_seq: int, approved_by: str) -> Entry:
        original = check_void(self.state.period, original_seq, self.settings.terminal)
        void_tenders(self, original)
        body = void_body(original, original_seq, self.settings.terminal, self.clerk,
                         approved_by, f"{original['receipt_no']}-V")
        entry = self.record("void", body)
        self.points_awards.after_take_back(original_seq, entry, "void")
        return entry

    def reprint(self, sale_seq: int, approved_by: str) -> Entry:
        """Journal a reprint (再発行) of the receipt of sale, refund or void ``sale_seq``,
        approved by a supervisor; ``count`` is how many reprints of it so far (1: the first)."""
        if not approved_by:
            raise ApprovalRequired(
                "再発行には責任者の承認が必要です (a reprint needs a supervisor's approval)"
            )
        supervisor = self.clerks.get(approved_by)
        if supervisor is None or not can_approve(supervisor):
            raise ApprovalRequired(
                f"{approved_by} は承認できません (not a supervisor): ask a supervisor"
            )
        if not 1 <= sale_seq <= self.journal.last_seq:
            raise DomainError(f"取引 {sale_seq} が見つかりません (no entry with seq {sale_seq})")
        entry = self.journal.entry(sale_seq)
        if entry.kind.removeprefix("training.") not in ("sale", "refund", "void"):
            raise DomainError(
                f"seq {sale_seq} はレシートのある取引ではありません (entry {sale_seq} is a "
                f"{entry.kind}, not a sale, refund or void)"
            )
        return self.record("reprint", {
            "sale_seq": sale_seq, "receipt_no": str(entry.body["receipt_no"]),
            "clerk": self.clerk, "approved_by": approved_by,
            "count": self.state.reprints.get(sale_seq, 0) + 1,
        })

    def refunded_quantities(self, original_seq: int) -> dict[int, int]:
        from terminal.documents import refunded_quantities

        seqs = self.state.refunds_by_original.get((self.settings.terminal, original_seq), [])
        return refunded_quantities(
            (self.journal.entry(s).as_dict() for s in seqs), self.settings.terminal, original_seq
        )

    def _original_sale(self, seq: int) -> dict[str, Any]:
        if not 1 <= seq <= self.journal.last_seq:
            raise DomainError(f"取引 {seq} が見つかりません (no entry with seq {seq})")
        entry = self.journal.entry(seq).as_dict()
        if entry["kind"] != "sale":
            raise DomainError(f"seq {seq} は売上ではありません (entry {seq} is a {entry['kind']})")
        return entry

    # -- cash, rating, daily log, training ------------------------------------------------
    def cash_movement(self, kind: str, amount: int, reason: str) -> Entry:
        if kind not in ("cash.float", "cash.in", "cash.out"):
            raise DomainError(f"unknown cash movement {kind!r}")
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            raise DomainError(
                f"金額が不正です (amount must be a positive int of yen, got {amount!r})"
            )
        if kind == "cash.out" and amount > self.x_report()["cash_expected"]:
            raise DomainError("ドロアの現金が不足しています (cash out exceeds the cash expected)")
        return self.record(kind, {"amount": amount, "clerk": self.clerk, "reason": reason})

    def rate(self, sale_seq: int, score: int) -> Entry:
        if not 1 <= score <= 5:
            raise DomainError("評価は1〜5です (score must be 1 to 5)")
        return self.record("survey.rating", {"sale_seq": sale_seq, "score": score})

    def daily_log(self) -> Entry:
        return self.payments.daily_log()

    def set_training(self, on: bool, approved_by: str) -> Entry:
        if on and not self.settings.training_allowed:
            raise DomainError("練習モードはこの端末では使えません (training is disabled here)")
        self._require_no_payment("switch training mode")
        if on == self.state.training:
            state = "on" if on else "off"
            raise DomainError(f"既にその状態です (training mode is already {state})")
        kind = "training.start" if on else "training.end"
        return self.record(kind, {"clerk": self.clerk, "approved_by": approved_by})

    # -- reports ------------------------------------------------------------------------
    def x_report(self, day: str | None = None) -> dict[str, Any]:
        entries: Sequence[Mapping[str, Any]]
        if day is None:
            entries = self.state.period
            report = x_report(entries)
            report["grand_total"] = self.state.previous_grand_total + _int(report["total"])
            return report
        return x_report([e.as_dict() for e in self.journal.entries()], day)

    def close_day(self, cash_counted: int | None) -> Entry:
        """The Z closing: refused while a sale or payment is open or in training mode."""
        if self.state.open_sale is not None:
            raise DomainError(
                "支払い中の取引があります (a sale is open): finish or cancel it first"
            )
        if self.state.training:
            raise DomainError("練習モード中です (training mode is on): end it first")
        if not self.state.period:
            raise DomainError("締める取引がありません (nothing to close since the last Z)")
        body = z_body(self.state.period, self.state.previous_grand_total, cash_counted)
        return self.record("closing.z", body)

    def totals(self) -> dict[str, Any]:
        return period_totals(self.state.period)


def _int(value: object) -> int:
    if isinstance(value, int):
        return value
    raise TypeError(f"expected an int, got {value!r}")


def _refund_total(original: Mapping[str, Any], quantities: Mapping[int, int]) -> int:
    lines = original["lines"]
    return sum(int(lines[i]["unit_price"]) * q for i, q in quantities.items()
               if isinstance(i, int) and 0 <= i < len(lines) and q > 0)


def _cash(amount: int) -> Tender:
    return Tender("cash", amount, given=amount, change=0)


def replay(entries: Iterable[Mapping[str, Any]], terminal: str) -> CounterState:
    state = CounterState(terminal)
    for entry in entries:
        state.apply(entry)
    return state

