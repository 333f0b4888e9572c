"""Payments through a payment terminal or QR gateway, with the unknown outcome made safe.

Before a request leaves the counter a ``payment.pending`` entry is committed; its outcome is
journaled as ``payment.result``. If the link drops or the counter crashes in between, the
pending entry stays open and is resolved by asking the device what happened to that ``ref``
(never by charging again), so money is neither lost nor taken twice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from terminal.errors import DeviceError, DomainError, PaymentDeclined
from terminal.ports import PAYMENT_TERMINAL_KINDS, PaymentResult, PaymentTerminal, TenderKind
from terminal.tenders import Tender

if TYPE_CHECKING:
    from terminal.counter import Counter
    from terminal.journal import Entry


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

    def pay_by_terminal(self, kind: TenderKind, amount: int | None = None,
                        customer_code: str = "") -> Tender:
        counter = self.counter
        self._check_kind(kind)
        open_sale = counter.begin_payment()
        remaining = counter.payment().remaining
        amount = remaining if amount is None else amount
        if amount <= 0 or amount > remaining:
            raise DomainError(
                f"金額 ¥{amount:,} が不正です (a {kind} payment must be 1..{remaining} yen: "
                "overpayment is only possible in cash)"
            )
        # One ref per request (the seq its pending entry gets): a retry after a decline is a
        # new transaction to an idempotent device, never the old answer again.
        ref = f"{counter.settings.terminal}-{counter.journal.last_seq + 1}"
        body = {"operation": "sale", "kind": kind, "amount": amount, "ref": ref,
                "open_seq": open_sale.open_seq}
        gateway = counter.qr_gateway if kind == "qr" else None
        if gateway is not None:
            result = self._send(body, lambda: gateway.charge(amount, customer_code, ref))
        else:
            terminal = self._terminal()  # refuse before journaling when none is configured
            result = self._send(body, lambda: terminal.authorize_sale(amount, kind, ref,
                                                                      _no_prompt))
        if not result.approved:
            raise PaymentDeclined(f"決済が承認されませんでした (declined): {result.message}")
        return self.tender_from_result(result_body(0, result))

    def _send(self, pending_body: dict[str, Any],
              call: Callable[[], PaymentResult]) -> PaymentResult:
        """Journal the pending request, send it, journal the outcome."""
        counter = self.counter
        pending = counter.record("payment.pending", pending_body)
        if counter.state.training:
            result = _training_result(pending_body, pending.seq)
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
        ref = str(pending_body["ref"])
        if pending_body.get("kind") == "qr" and self.counter.qr_gateway is not None:
            return self.counter.qr_gateway.last_result(ref)
        return self._terminal().last_result(ref)

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
        slip = str(approved["slip_no"])
        body = {"operation": "void", "kind": kind, "amount": amount,
                "ref": f"{approved['ref']}-V", "slip_no": slip,
                "open_seq": self.counter.state.open_sale.open_seq
                if self.counter.state.open_sale else 0}
        terminal = self._terminal()
        result = self._send(body, lambda: terminal.void(slip, amount, kind))
        if not result.approved:
            raise PaymentDeclined(f"取消できませんでした (void refused): {result.message}")

    def refund_tender(self, kind: TenderKind, amount: int, original: Mapping[str, Any]) -> Tender:
        if kind == "cash":
            return Tender("cash", amount, given=amount, change=0)
        if kind == "points":
            return Tender("points", amount, ref=str(original["receipt_no"]))
        self._check_kind(kind)
        ref = f"{original['receipt_no']}-R{self.counter.journal.last_seq + 1}"
        body = {"operation": "refund", "kind": kind, "amount": amount, "ref": ref}
        terminal = self._terminal()
        result = self._send(body, lambda: terminal.refund(amount, kind, ref))
        if not result.approved:
            raise PaymentDeclined(f"返金が承認されませんでした (refund declined): {result.message}")
        return self.tender_from_result(result_body(0, result))

    def void_tenders(self, original: Mapping[str, Any]) -> None:
        for tender in original["tenders"]:
            by_device = tender["kind"] in PAYMENT_TERMINAL_KINDS or tender["kind"] == "qr"
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


def _training_result(body: Mapping[str, Any], seq: int) -> PaymentResult:
    """Training never reaches a real payment terminal: a marked, always-approved result."""
    return PaymentResult(
        approved=True, amount=int(body["amount"]), kind=body["kind"], ref=str(body["ref"]),
        approval_code="TRAINING", slip_no=f"T{seq}", brand="練習", message="training",
    )
