"""Payments through a payment terminal or QR gateway, with the unknown outcome made safe.

Before a request leaves the counter a ``payment.pending`` entry is committed; its outcome is
journaled as ``payment.result``. If the link drops or the counter crashes in between, the
pending entry stays open and is resolved by asking the device what happened to that ``ref``
(never by charging again), so money is neither lost nor taken twice.

QR goes through the QR gateway when one is configured (else through the payment terminal, like
a card): a charge of the visitor's code, a void as the gateway's ``cancel`` of the tender's
ref, a refund as ``refund(amount, ref, original_ref)``. A gateway request the gateway never
received is cancelled there (so a late arrival cannot charge) and recorded as not approved.
Merchant-presented dynamic codes: ``terminal.qr_payments``. Points (``terminal.points_payments``)
are asked, given back and resolved through the points service.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from terminal.errors import DeviceError, DomainError, PaymentDeclined
from terminal.ports import (
    PAYMENT_TERMINAL_KINDS,
    PaymentResult,
    PaymentTerminal,
    QrGateway,
    TenderKind,
)
from terminal.tenders import Tender

if TYPE_CHECKING:
    from terminal.counter import Counter
    from terminal.journal import Entry
    from terminal.state import OpenSale

Prompt = Callable[[str], None]


class PaymentPending(DomainError):
    """The device did not say whether it approved: the payment stays pending until resolved."""


def result_body(pending_seq: int, result: PaymentResult) -> dict[str, Any]:
    return {
        "pending_seq": pending_seq, "approved": result.approved, "amount": result.amount,
        "kind": result.kind, "ref": result.ref, "approval_code": result.approval_code,
        "slip_no": result.slip_no, "brand": result.brand, "message": result.message,
    }


class PaymentDesk:
    """The part of the counter that talks to payment devices."""

    def __init__(self, counter: Counter) -> None:
        self.counter = counter

    def tender_from_result(self, result: Mapping[str, Any]) -> Tender:
        return Tender(
            kind=result["kind"], amount=int(result["amount"]), ref=str(result["ref"]),
            approval_code=str(result["approval_code"]), slip_no=str(result["slip_no"]),
            brand=str(result["brand"]),
        )

    def _terminal(self) -> PaymentTerminal:
        if self.counter.payment_terminal is None:
            raise DeviceError("決済端末が設定されていません (no payment terminal configured)")
        return self.counter.payment_terminal

    def _check_kind(self, kind: TenderKind) -> None:
        if kind not in self.counter.settings.tenders:
            raise DomainError(f"この窓口では {kind} は使えません (tender {kind!r} is not enabled)")
        if kind not in PAYMENT_TERMINAL_KINDS and kind != "qr":
            raise DomainError(f"{kind} is not paid through a payment terminal")

    def gateway_for(self, kind: object) -> QrGateway | None:
        """The QR gateway when ``kind`` is qr and one is configured (else the payment terminal
        handles it)."""
        return self.counter.qr_gateway if kind == "qr" else None

    def require_no_pending(self) -> None:
        open_sale = self.counter.state.open_sale
        if open_sale is not None and open_sale.pending:
            raise PaymentPending(
                "決済結果が不明な取引があります (a payment is pending): 決済結果を確認するか"
                "QRコードを取り消してください (resolve it or cancel the QR code first)"
            )

    def due(self, kind: TenderKind, amount: int | None) -> tuple[OpenSale, int]:
        """Open the sale if needed and check a device payment of ``amount`` (None: all due)."""
        counter = self.counter
        self._check_kind(kind)
        open_sale = counter.begin_payment()
        self.require_no_pending()
        remaining = counter.payment().remaining
        amount = remaining if amount is None else amount
        if amount <= 0 or amount > remaining:
            raise DomainError(
                f"金額 ¥{amount:,} が不正です (a {kind} payment must be 1..{remaining} yen: "
                "overpayment is only possible in cash)"
            )
        return open_sale, amount

    def new_ref(self) -> str:
        """One ref per request (the seq its pending entry gets): a retry after a decline is a
        new transaction to an idempotent device, never the old answer again."""
        return f"{self.counter.settings.terminal}-{self.counter.journal.last_seq + 1}"

    def pay_by_terminal(self, kind: TenderKind, amount: int | None = None,
                        customer_code: str = "", prompt: Prompt | None = None) -> Tender:
        """``prompt`` receives the payment terminal's live messages (from its thread)."""
        open_sale, amount = self.due(kind, amount)
        ref = self.new_ref()
        body = {"operation": "sale", "kind": kind, "amount": amount, "ref": ref,
                "open_seq": open_sale.open_seq}
        gateway = self.gateway_for(kind)
        if gateway is not None:
            result = self.send(body, lambda: gateway.charge(amount, customer_code, ref))
        else:
            terminal = self._terminal()  # refuse before journaling when none is configured
            show = prompt if prompt is not None else _no_prompt
            result = self.send(body, lambda: terminal.authorize_sale(amount, kind, ref, show))
        if not result.approved:
            raise PaymentDeclined(f"決済が承認されませんでした (declined): {result.message}")
        return self.tender_from_result(result_body(0, result))

    def send(self, pending_body: dict[str, Any],
             call: Callable[[], PaymentResult]) -> PaymentResult:
        """Journal the pending request, send it, journal the outcome."""
        counter = self.counter
        pending = counter.record("payment.pending", pending_body)
        if counter.state.training:
            result = training_result(pending_body, pending.seq)
        else:
            try:
                result = call()
            except DeviceError as exc:
                try:
                    resolved = self._ask(pending_body)
                except DeviceError:
                    resolved = None
                if resolved is None:  # the device may still finish it: stays pending
                    raise PaymentPending(
                        f"決済結果が不明です (outcome unknown: {exc}); 端末を確認してから"
                        " 再確認してください (check the terminal, then resolve)"
                    ) from exc
                result = resolved
        counter.record("payment.result", result_body(pending.seq, result))
        return result

    def _ask(self, pending_body: Mapping[str, Any]) -> PaymentResult | None:
        """What the device says happened to this request (None: it never received it).
        A DeviceError means we still don't know."""
        if pending_body.get("kind") == "points":
            from terminal.points_payments import ask, service_of

            return ask(service_of(self.counter), pending_body)
        ref = str(pending_body["ref"])
        gateway = self.gateway_for(pending_body.get("kind"))
        if gateway is None:
            return self._terminal().last_result(ref)
        if pending_body.get("operation") == "void":
            # A gateway cancel is idempotent: sending it again is how we learn its outcome.
            return as_pending(gateway.cancel(str(pending_body["original_ref"])), pending_body)
        result = gateway.last_result(ref)
        if result is not None or pending_body.get("operation") != "sale":
            return None if result is None else as_pending(result, pending_body)
        # Never received, or a code never paid: cancel it so a late request cannot charge.
        cancelled = gateway.cancel(ref)
        if not cancelled.approved:
            raise DeviceError(f"QR gateway refused to cancel {ref}: {cancelled.message}")
        return PaymentResult(approved=False, amount=int(pending_body["amount"]), kind="qr",
                             ref=ref, brand=cancelled.brand,
                             message="not received by the gateway (cancelled)")

    def resolve_pending(self) -> list[Entry]:
        """After a restart or reconnect: ask the device about every pending request.

        A request the device never received is recorded as not approved; one the device
        cannot tell us about yet stays pending (a Z stays refused), never guessed.
        """
        open_sale = self.counter.state.open_sale
        if open_sale is None:
            return []
        done = []
        for seq, body in sorted(open_sale.pending.items()):
            try:
                result = self._ask(body)
            except DeviceError:
                continue
            if result is None:
                result = PaymentResult(
                    approved=False, amount=int(body["amount"]), kind=body["kind"],
                    ref=str(body["ref"]), message="not received by the terminal",
                )
            done.append(self.counter.record("payment.result", result_body(seq, result)))
        return done

    def reverse_all(self) -> None:
        """Void every approved payment of the open sale (before cancelling it)."""
        open_sale = self.counter.state.open_sale
        if open_sale is None:
            return
        if open_sale.pending:
            raise PaymentPending(
                "決済結果が不明な取引があります (a payment is pending): resolve it first"
            )
        for approved in list(open_sale.approved):
            self._reverse(approved)

    def _reverse(self, approved: Mapping[str, Any]) -> None:
        kind: TenderKind = approved["kind"]
        amount = int(approved["amount"])
        slip = str(approved.get("slip_no", ""))  # a points tender has none
        body: dict[str, Any] = {
                "operation": "void", "kind": kind, "amount": amount,
                "ref": f"{approved['ref']}-V", "slip_no": slip,
                "open_seq": self.counter.state.open_sale.open_seq
                if self.counter.state.open_sale else 0}
        gateway = self.gateway_for(kind)
        if kind == "points":  # the points go back to the card
            from terminal.points_payments import cancel_call

            body["original_ref"] = str(approved["ref"])
            result = self.send(body, cancel_call(self.counter, body))
        elif gateway is not None:
            original_ref = str(approved["ref"])
            body["original_ref"] = original_ref
            result = self.send(body, lambda: as_pending(gateway.cancel(original_ref), body))
        else:
            terminal = self._terminal()
            result = self.send(body, lambda: terminal.void(slip, amount, kind))
        if not result.approved:
            raise PaymentDeclined(f"取消できませんでした (void refused): {result.message}")

    def refund_tender(self, kind: TenderKind, amount: int, original: Mapping[str, Any]) -> Tender:
        if kind == "cash":
            return Tender("cash", amount, given=amount, change=0)
        self._check_kind(kind)
        ref = f"{original['receipt_no']}-R{self.counter.journal.last_seq + 1}"
        body: dict[str, Any] = {"operation": "refund", "kind": kind, "amount": amount,
                                "ref": ref}
        gateway = self.gateway_for(kind)
        if gateway is not None:
            original_ref = _qr_ref(original)
            body["original_ref"] = original_ref
            result = self.send(body, lambda: gateway.refund(amount, ref, original_ref))
        else:
            terminal = self._terminal()
            result = self.send(body, lambda: terminal.refund(amount, kind, ref))
        if not result.approved:
            raise PaymentDeclined(f"返金が承認されませんでした (refund declined): {result.message}")
        return self.tender_from_result(result_body(0, result))

    def void_tenders(self, original: Mapping[str, Any]) -> None:
        for tender in original["tenders"]:
            by_device = tender["kind"] in (*PAYMENT_TERMINAL_KINDS, "qr")
            if by_device and int(tender["amount"]) > 0:
                self._reverse(tender)

    def daily_log(self) -> Entry:
        log = self._terminal().daily_log()
        return self.counter.record("payment.daily_log", {
            "batch_no": log.batch_no, "count": log.count, "total": log.total,
            "by_tender": dict(log.by_tender),
        })


def _no_prompt(message: str) -> None:
    """Live prompts go to the UI; headless callers ignore them."""


def as_pending(result: PaymentResult, pending_body: Mapping[str, Any]) -> PaymentResult:
    """A gateway answer recorded against our request: its ref, and its amount when the
    gateway reported none (a cancel answers 0 yen)."""
    return replace(result, ref=str(pending_body["ref"]),
                   amount=result.amount or int(pending_body["amount"]))


def _qr_ref(original: Mapping[str, Any]) -> str:
    for tender in original["tenders"]:
        if tender.get("kind") == "qr" and tender.get("ref"):
            return str(tender["ref"])
    raise DomainError(
        "元の取引にQR決済がありません (the original sale has no QR payment to refund): "
        "choose the tender it was paid with"
    )


def training_result(body: Mapping[str, Any], seq: int) -> PaymentResult:
    """Training never reaches a real payment terminal: a marked, always-approved result."""
    return PaymentResult(
        approved=True, amount=int(body["amount"]), kind=body["kind"], ref=str(body["ref"]),
        approval_code="TRAINING", slip_no=f"T{seq}", brand="練習", message="training",
    )
