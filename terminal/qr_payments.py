"""Merchant-presented QR (a dynamic code on the customer display), through the QR gateway.

``show`` commits a ``payment.pending`` (``mode`` = ``mpm``) before the gateway creates the code;
``poll`` journals the outcome once the visitor paid (or the code was declined or expired);
``cancel`` withdraws the code: an approved cancel means nothing stays charged, so the pending
is recorded as not approved. A code left open by a crash is resolved like any other pending
request (``PaymentDesk.resolve_pending``: the gateway's ``last_result``, else cancelled).
Customer-presented QR (the visitor's code scanned at the counter) is ``pay_by_terminal``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from terminal.errors import DeviceError, DomainError, PaymentDeclined
from terminal.payments import (
    PaymentDesk,
    PaymentPending,
    as_pending,
    result_body,
    training_result,
)
from terminal.ports import PaymentResult, QrGateway
from terminal.tenders import Tender

if TYPE_CHECKING:
    from terminal.journal import Entry

TRAINING_CODE = "MADOGUCHI-TRAINING:{ref}"
"""What a training counter shows instead of a real code (it never reaches the gateway)."""


class QrCodes:
    """Dynamic merchant-presented QR codes of the open sale."""

    def __init__(self, desk: PaymentDesk) -> None:
        self.desk = desk

    def _gateway(self) -> QrGateway:
        gateway = self.desk.counter.qr_gateway
        if gateway is None:
            raise DeviceError(
                "QR決済サービスが設定されていません (no QR gateway configured): "
                "add [devices.qr_gateway] to the terminal config"
            )
        return gateway

    def show(self, amount: int | None) -> tuple[str, str]:
        """Create a code for ``amount`` yen (None: all that is due); returns (ref, code text)."""
        counter = self.desk.counter
        gateway = None if counter.state.training else self._gateway()
        open_sale, amount = self.desk.due("qr", amount)
        ref = self.desk.new_ref()
        body = {"operation": "sale", "kind": "qr", "amount": amount, "ref": ref,
                "open_seq": open_sale.open_seq, "mode": "mpm"}
        pending = counter.record("payment.pending", body)
        if gateway is None:  # training: never reaches the gateway
            return ref, TRAINING_CODE.format(ref=ref)
        try:
            return ref, gateway.create_dynamic_code(amount, ref)
        except DeviceError as exc:
            self._withdraw(gateway, pending.seq, body, exc)
            raise PaymentDeclined(
                f"QRコードを表示できませんでした (the QR code could not be created: {exc})"
            ) from exc

    def _withdraw(self, gateway: QrGateway, seq: int, body: dict[str, Any],
                  exc: DeviceError) -> None:
        """The code may exist at the gateway: cancel it before recording it as not approved."""
        try:
            cancelled = gateway.cancel(str(body["ref"]))
        except DeviceError as cancel_exc:
            raise PaymentPending(
                f"QRコードの状態が不明です (the code's state is unknown: {exc}; {cancel_exc}): "
                "決済結果を確認してください (resolve it)"
            ) from cancel_exc
        if not cancelled.approved:
            raise PaymentPending(
                f"QRコードを取り消せませんでした (the gateway refused to cancel: "
                f"{cancelled.message}): 決済結果を確認してください (resolve it)"
            ) from exc
        self._not_paid(seq, body, f"code not created: {exc}")

    def pending(self, ref: str) -> tuple[int, dict[str, Any]]:
        """The pending entry (seq, body) of the dynamic code ``ref`` of the open sale."""
        open_sale = self.desk.counter.state.open_sale
        for seq, body in sorted(open_sale.pending.items()) if open_sale else ():
            if body.get("ref") == ref and body.get("mode") == "mpm":
                return seq, body
        raise DomainError(
            f"支払い待ちのQRコード {ref} がありません (no QR code {ref} is waiting for payment)"
        )

    def waiting(self) -> str | None:
        """The ref of the open sale's dynamic code waiting for payment, if any."""
        open_sale = self.desk.counter.state.open_sale
        for body in open_sale.pending.values() if open_sale else ():
            if body.get("mode") == "mpm":
                return str(body["ref"])
        return None

    def poll(self, ref: str) -> Tender | None:
        """None while the visitor has not paid; the tender once paid. A declined or expired
        code is journaled as not approved and raises ``PaymentDeclined``."""
        counter = self.desk.counter
        seq, body = self.pending(ref)
        if counter.state.training:
            result = training_result(body, seq)
        else:
            answer = self._gateway().dynamic_status(ref)
            if answer is None:
                return None
            result = as_pending(answer, body)
        recorded = result_body(seq, result)
        counter.record("payment.result", recorded)
        if not result.approved:
            raise PaymentDeclined(
                f"QR決済が完了しませんでした (the QR payment did not go through: "
                f"{result.message})"
            )
        return self.desk.tender_from_result(recorded)

    def cancel(self, ref: str) -> Entry:
        """Withdraw the code ``ref``: the gateway cancels it (reversing a payment that slipped
        through), then the pending request is recorded as not approved."""
        seq, body = self.pending(ref)
        if not self.desk.counter.state.training:
            try:
                answer = self._gateway().cancel(ref)
            except DeviceError as exc:
                raise PaymentPending(
                    f"QRコードを取り消せませんでした (cancel failed: {exc}): "
                    "決済結果を確認してください (resolve it)"
                ) from exc
            if not answer.approved:
                raise PaymentDeclined(
                    f"QRコードを取り消せませんでした (the gateway refused to cancel: "
                    f"{answer.message}): 決済結果を確認してください (resolve it)"
                )
        return self._not_paid(seq, body, "cancelled at the counter")

    def _not_paid(self, seq: int, body: dict[str, Any], message: str) -> Entry:
        result = PaymentResult(approved=False, amount=int(body["amount"]), kind="qr",
                               ref=str(body["ref"]), message=message)
        return self.desk.counter.record("payment.result", result_body(seq, result))
