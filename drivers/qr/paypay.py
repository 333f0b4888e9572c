"""A QR gateway adapter shaped on PayPay's Open Payment API (OPA), over ``requests``.

Endpoints (from PayPay's published SDKs): POST /v2/payments (CPM: the customer's code scanned
at the counter), POST /v2/codes (dynamic merchant-presented code), GET /v2/payments/{id},
GET /v2/codes/payments/{id}, DELETE /v2/payments/{id} (cancel), DELETE /v2/codes/{codeId},
POST /v2/refunds, GET /v2/refunds/{id}. Envelope: ``{"resultInfo": {"code", "message",
"codeId"}, "data": {...}}``. Our ``ref`` is the ``merchantPaymentId``: resending the same ref
never charges twice (the gateway answers a duplicate; we then read the status).

GUESSED (marked "GUESSED" below): the CPM body field carrying the customer's code, the
duplicate and not-found result codes, that 202/REQUEST_ACCEPTED or status CREATED on a CPM
means "wait for the user", and refund statuses. Check them against the PayPay contract before
production.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import requests

from drivers.qr.gateway import GatewayAuthError, GatewayNoAnswer, GatewayPending
from drivers.qr.opa_auth import CONTENT_TYPE, auth_header
from terminal.errors import DeviceProtocolError, DeviceUnavailable, DomainError
from terminal.ports import PaymentResult

FINAL_OK = {"COMPLETED"}
FINAL_FAILED = {"FAILED", "CANCELED", "EXPIRED", "REFUNDED", "DECLINED"}
REFUND_OK = {"CREATED", "COMPLETED"}  # GUESSED: a refund is accepted once CREATED
BRAND = "PayPay"


@dataclass(frozen=True)
class PayPayConfig:
    """Connection settings (from the kiosk config / environment; never in the repository)."""

    base_url: str
    api_key: str
    api_secret: str = field(repr=False)
    merchant_id: str = ""  # X-ASSUME-MERCHANT, for a platform acting for a merchant
    store_id: str = ""
    terminal_id: str = ""
    timeout: float = 15.0  # seconds per request
    poll_interval: float = 2.0  # PayPay suggests polling a dynamic code every few seconds
    settle_timeout: float = 30.0  # how long charge() waits for a pending CPM to finish


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    code: str
    message: str
    data: dict[str, Any]


class PayPayGateway:
    """Implements ``QrGatewayFull`` (and so ``terminal.ports.QrGateway``)."""

    def __init__(self, config: PayPayConfig, session: requests.Session | None = None) -> None:
        self.config = config
        self._session = session or requests.Session()
        self._kind: dict[str, str] = {}  # ref -> "payment" | "code" | "refund"
        self._code_ids: dict[str, str] = {}
        self._payment_ids: dict[str, str] = {}

    def close(self) -> None:
        self._session.close()

    # --- transport -------------------------------------------------------------------

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Answer:
        raw = None if body is None else json.dumps(
            body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        headers = {"Authorization": auth_header(self.config.api_key, self.config.api_secret,
                                                method, path, raw, int(time.time()))}
        if raw is not None:
            headers["Content-Type"] = CONTENT_TYPE
        if self.config.merchant_id:
            headers["X-ASSUME-MERCHANT"] = self.config.merchant_id
        mutating = method != "GET"
        try:
            response = self._session.request(method, self.config.base_url.rstrip("/") + path,
                                             data=raw, headers=headers,
                                             timeout=self.config.timeout)
        except requests.ConnectTimeout as exc:
            raise DeviceUnavailable(f"PayPay: cannot connect ({type(exc).__name__})") from exc
        except (requests.ConnectionError, requests.Timeout) as exc:
            if not mutating:
                raise DeviceUnavailable(f"PayPay {method} {path}: no answer") from exc
            raise GatewayNoAnswer(f"PayPay {method} {path}: no answer "
                                  f"({type(exc).__name__}): outcome unknown") from exc
        except requests.RequestException as exc:
            raise DeviceUnavailable(f"PayPay {method} {path}: {type(exc).__name__}") from exc
        return self._answer(method, path, response)

    def _answer(self, method: str, path: str, response: requests.Response) -> Answer:
        status = response.status_code
        if status >= 500:
            if method == "GET":
                raise DeviceUnavailable(f"PayPay {method} {path}: server error {status}")
            raise GatewayNoAnswer(f"PayPay {method} {path}: server error {status}: "
                                  "outcome unknown")
        try:
            envelope = response.json()
            info = envelope["resultInfo"]
            data = envelope.get("data") or {}
            code, message = str(info["code"]), str(info.get("message", ""))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise DeviceProtocolError(
                f"PayPay {method} {path}: answer {status} is not a resultInfo envelope"
            ) from exc
        if not isinstance(data, dict):
            raise DeviceProtocolError(f"PayPay {method} {path}: data is not an object")
        if status == 401 or code == "UNAUTHORIZED":
            raise GatewayAuthError(f"PayPay refused our credentials ({code}): check the API "
                                   "key and secret in the configuration")
        return Answer(status, code, message, data)

    # --- results ---------------------------------------------------------------------

    def _result(self, data: dict[str, Any], ref: str, amount: int, approved: bool,
                message: str) -> PaymentResult:
        money = data.get("amount")
        paid = money.get("amount") if isinstance(money, dict) else None
        payment_id = str(data.get("paymentId", ""))
        if payment_id:
            self._payment_ids[ref] = payment_id
        return PaymentResult(
            approved=approved, amount=paid if isinstance(paid, int) else amount, kind="qr",
            approval_code=payment_id, slip_no="", brand=BRAND, ref=ref, message=message)

    def _outcome(self, answer: Answer, ref: str, amount: int) -> PaymentResult | None:
        """Final result of a payment answer; ``None`` while still pending."""
        status = str(answer.data.get("status", ""))
        if answer.status >= 400:
            return self._result(answer.data, ref, amount, False,
                                f"{answer.code}: {answer.message}".strip(": "))
        if status in FINAL_OK:
            return self._result(answer.data, ref, amount, True, status)
        if status in FINAL_FAILED:
            return self._result(answer.data, ref, amount, False, status)
        return None  # CREATED, AUTHORIZED, REQUEST_ACCEPTED without data ... GUESSED

    @staticmethod
    def _duplicate(answer: Answer) -> bool:
        return answer.status == 409 or answer.code.startswith("DUPLICATE")  # GUESSED

    @staticmethod
    def _not_found(answer: Answer) -> bool:
        return answer.status == 404 or answer.code.endswith("NOT_FOUND")  # GUESSED

    def _money(self, amount: int) -> dict[str, Any]:
        if amount <= 0:
            raise DomainError(f"QR payment amount must be positive, got {amount}")
        return {"amount": amount, "currency": "JPY"}

    def _store(self) -> dict[str, Any]:
        return {k: v for k, v in (("storeId", self.config.store_id),
                                  ("terminalId", self.config.terminal_id)) if v}

    # --- CPM -------------------------------------------------------------------------

    def charge(self, amount: int, customer_code: str, ref: str) -> PaymentResult:
        """Charge the code the visitor showed. Raises GatewayNoAnswer (outcome unknown),
        GatewayPending (still waiting for the user), DeviceUnavailable, DeviceProtocolError."""
        body = {"merchantPaymentId": ref, "authorizationCode": customer_code,  # GUESSED name
                "amount": self._money(amount), "requestedAt": int(time.time()),
                **self._store()}
        self._kind[ref] = "payment"
        answer = self._request("POST", "/v2/payments", body)
        if self._duplicate(answer):
            return self._settle(ref, amount)  # a resend: read what happened, never re-charge
        result = self._outcome(answer, ref, amount)
        return result if result is not None else self._settle(ref, amount)

    def _settle(self, ref: str, amount: int) -> PaymentResult:
        deadline = time.monotonic() + self.config.settle_timeout
        while True:
            answer = self._request("GET", f"/v2/payments/{ref}")
            if self._not_found(answer):
                raise DeviceProtocolError(f"PayPay: payment {ref} reported but not found")
            result = self._outcome(answer, ref, amount)
            if result is not None:
                return result
            if time.monotonic() + self.config.poll_interval > deadline:
                raise GatewayPending(f"PayPay payment {ref} still pending after "
                                     f"{self.config.settle_timeout:g} s: resolve it later")
            time.sleep(self.config.poll_interval)

    # --- dynamic MPM -----------------------------------------------------------------

    def create_dynamic_code(self, amount: int, ref: str) -> str:
        body = {"merchantPaymentId": ref, "amount": self._money(amount),
                "codeType": "ORDER_QR", "requestedAt": int(time.time()), **self._store()}
        self._kind[ref] = "code"
        answer = self._request("POST", "/v2/codes", body)
        if self._duplicate(answer):
            raise DeviceProtocolError(
                f"PayPay: a code for {ref} already exists; poll its status or cancel it")
        url = answer.data.get("url")
        if answer.status >= 400 or not isinstance(url, str) or not url:
            raise DeviceProtocolError(f"PayPay refused to create a code: {answer.code} "
                                      f"{answer.message}".strip())
        self._code_ids[ref] = str(answer.data.get("codeId", ""))
        return url

    def dynamic_status(self, ref: str) -> PaymentResult | None:
        answer = self._request("GET", f"/v2/codes/payments/{ref}")
        if self._not_found(answer):
            return None  # not paid yet
        return self._outcome(answer, ref, 0)

    def wait_dynamic(self, ref: str, timeout: float) -> PaymentResult | None:
        """Poll a dynamic code until it is final or ``timeout`` seconds have passed."""
        deadline = time.monotonic() + timeout
        while (result := self.dynamic_status(ref)) is None:
            if time.monotonic() + self.config.poll_interval > deadline:
                return None
            time.sleep(self.config.poll_interval)
        return result

    # --- resolution, cancel, refund --------------------------------------------------

    def last_result(self, ref: str) -> PaymentResult | None:
        """The final outcome of ``ref`` (payment, code payment or refund); ``None`` when the
        gateway never received it. Raises GatewayPending while it is still in progress."""
        order = ["payment", "code", "refund"]
        known = self._kind.get(ref)
        if known:
            order.remove(known)
            order.insert(0, known)
        paths = {"payment": "/v2/payments/", "code": "/v2/codes/payments/",
                 "refund": "/v2/refunds/"}
        for kind in order:
            answer = self._request("GET", paths[kind] + ref)
            if self._not_found(answer):
                continue
            if kind == "refund":
                return self._refund_outcome(answer, ref, 0)
            result = self._outcome(answer, ref, 0)
            if result is None:
                raise GatewayPending(f"PayPay: {ref} is still in progress")
            return result
        return None

    def cancel(self, ref: str) -> PaymentResult:
        """Cancel ``ref``: PayPay reverses it if it was completed, and refuses it later."""
        code_id = self._code_ids.pop(ref, "")
        if code_id:
            self._request("DELETE", f"/v2/codes/{code_id}")
        answer = self._request("DELETE", f"/v2/payments/{ref}")
        accepted = answer.status < 400 or self._not_found(answer)
        return PaymentResult(approved=accepted, amount=0, kind="qr", brand=BRAND, ref=ref,
                             message=f"cancel: {answer.code}")

    def refund(self, amount: int, ref: str, original_ref: str = "") -> PaymentResult:
        if not original_ref:
            raise DomainError("a QR refund needs the original payment's ref (original_ref)")
        payment_id = self._payment_ids.get(original_ref) or self._payment_id(original_ref)
        body = {"merchantRefundId": ref, "paymentId": payment_id,
                "amount": self._money(amount), "requestedAt": int(time.time()),
                "reason": "窓口返金"}
        self._kind[ref] = "refund"
        answer = self._request("POST", "/v2/refunds", body)
        if self._duplicate(answer):
            answer = self._request("GET", f"/v2/refunds/{ref}")
        return self._refund_outcome(answer, ref, amount)

    def _payment_id(self, original_ref: str) -> str:
        result = self.last_result(original_ref)
        if result is None or not result.approved or not result.approval_code:
            raise DomainError(f"QR payment {original_ref} was not completed: nothing to refund")
        return result.approval_code

    def _refund_outcome(self, answer: Answer, ref: str, amount: int) -> PaymentResult:
        status = str(answer.data.get("status", ""))
        approved = answer.status < 400 and status in REFUND_OK
        message = status if answer.status < 400 else f"{answer.code}: {answer.message}"
        return self._result(answer.data, ref, amount, approved, message)


__all__ = ["PayPayConfig", "PayPayGateway"]
