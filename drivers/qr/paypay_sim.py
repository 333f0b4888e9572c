"""A local PayPay-OPA-shaped gateway: http.server in a thread, HMAC-verified, idempotent on
merchantPaymentId, with fault modes. Speaks the same HTTP/JSON as ``paypay.PayPayGateway``.

Faults (``inject``) apply to the next POST/DELETE, one each:
  decline     the payment is refused (NO_SUFFICIENT_FUND) and stored as FAILED
  no_answer   the request is never processed; the connection hangs, then drops
  timeout     processed (approved), but the answer comes after ``hang_seconds``: too late
  drop        processed (approved), then the connection closes without an answer
  error500    not processed; HTTP 500
``pending_polls = N``: a CPM stays CREATED for N status reads, then COMPLETED.
``code_polls = N``: a dynamic code is paid by the (simulated) visitor after N status reads.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from drivers.qr.opa_auth import verify

FAULTS = ("decline", "no_answer", "timeout", "drop", "error500")
Reply = tuple[int, str, dict[str, Any] | None]


@dataclass
class SimPayment:
    ref: str
    payment_id: str
    amount: int
    kind: str  # "cpm" | "code"
    status: str
    polls_left: int = 0
    code_id: str = ""
    refunded: int = 0


@dataclass
class SimRefund:
    ref: str
    payment_id: str
    amount: int
    status: str = "CREATED"


@dataclass
class Ledger:
    payments: dict[str, SimPayment] = field(default_factory=dict)
    refunds: dict[str, SimRefund] = field(default_factory=dict)
    codes: dict[str, str] = field(default_factory=dict)  # codeId -> ref


class PayPaySimulator:
    def __init__(self, api_key: str = "sim-key", api_secret: str = "sim-secret",
                 host: str = "127.0.0.1", port: int = 0, hang_seconds: float = 1.0) -> None:
        self.api_key = api_key
        self._secret = api_secret
        self.hang_seconds = hang_seconds
        self.pending_polls = 0
        self.code_polls = 1
        self.ledger = Ledger()
        self.charges_taken = 0  # completed CPM/code payments: a double charge shows here
        self.auth_failures = 0
        self._faults: deque[str] = deque()
        self._nonces: set[tuple[str, ...]] = set()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._server = ThreadingHTTPServer((host, port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> PayPaySimulator:
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving (idempotent); the port closes, so clients see a gateway that is down."""
        if self._thread is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self._thread = None

    def __enter__(self) -> PayPaySimulator:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def inject(self, *faults: str) -> None:
        unknown = set(faults) - set(FAULTS)
        if unknown:
            raise ValueError(f"unknown faults {sorted(unknown)}; known: {FAULTS}")
        self._faults.extend(faults)

    def take_fault(self) -> str:
        with self._lock:
            return self._faults.popleft() if self._faults else ""

    def check_auth(self, header: str, method: str, path: str, content_type: str,
                   body: bytes) -> str | None:
        if not header.startswith(f"hmac OPA-Auth:{self.api_key}:"):
            return "unknown api key"
        reason = verify(header, self._secret, method, path, content_type, body or None,
                        int(time.time()))
        if reason is None:
            nonce_epoch = tuple(header.split(":")[3:5])
            with self._lock:
                if nonce_epoch in self._nonces:
                    return "replayed nonce"
                self._nonces.add(nonce_epoch)
        return reason

    # --- business ------------------------------------------------------------------

    def new_payment(self, body: dict[str, Any], kind: str, fault: str) -> Reply:
        ref, amount = _ref_amount(body)
        with self._lock:
            if ref in self.ledger.payments:
                return 409, "DUPLICATE_DYNAMIC_QR_REQUEST" if kind == "code" else \
                    "DUPLICATE_PAYMENT_REQUEST", None  # GUESSED codes
            pid = f"{next(self._ids):019d}"
            if kind == "code":
                payment = SimPayment(ref, pid, amount, kind, "CREATED",
                                     polls_left=self.code_polls, code_id=f"04-{pid}")
                self.ledger.codes[payment.code_id] = ref
            elif fault == "decline":
                payment = SimPayment(ref, pid, amount, kind, "FAILED")
            elif self.pending_polls:
                payment = SimPayment(ref, pid, amount, kind, "CREATED",
                                     polls_left=self.pending_polls)
            else:
                payment = SimPayment(ref, pid, amount, kind, "COMPLETED")
                self.charges_taken += 1
            self.ledger.payments[ref] = payment
        if payment.status == "FAILED":
            return 400, "NO_SUFFICIENT_FUND", _payment_data(payment)
        if kind == "code":
            data = _payment_data(payment) | {
                "codeId": payment.code_id, "codeType": "ORDER_QR",
                "url": f"https://qr.paypay.example/{payment.code_id}",
                "deeplink": f"paypay://payment?link_key={payment.code_id}"}
            return 201, "SUCCESS", data
        return (201 if payment.status == "COMPLETED" else 202), \
            ("SUCCESS" if payment.status == "COMPLETED" else "REQUEST_ACCEPTED"), \
            _payment_data(payment)

    def payment_status(self, ref: str, kind: str) -> Reply:
        with self._lock:
            payment = self.ledger.payments.get(ref)
            if payment is None or payment.kind != kind:
                return 404, "DYNAMIC_QR_PAYMENT_NOT_FOUND" if kind == "code" \
                    else "NOT_FOUND", None  # GUESSED codes
            if payment.status == "CREATED":
                payment.polls_left -= 1
                if payment.polls_left < 0:
                    payment.status = "COMPLETED"
                    self.charges_taken += 1
            if kind == "code" and payment.status == "CREATED":
                return 404, "DYNAMIC_QR_PAYMENT_NOT_FOUND", None  # not scanned yet
            return 200, "SUCCESS", _payment_data(payment)

    def cancel_payment(self, ref: str) -> Reply:
        with self._lock:
            payment = self.ledger.payments.get(ref)
            if payment is None:  # a tombstone: a late-arriving create is refused
                self.ledger.payments[ref] = SimPayment(ref, "", 0, "cpm", "CANCELED")
            elif payment.status in ("COMPLETED", "CREATED"):
                if payment.status == "COMPLETED":
                    self.charges_taken -= 1
                payment.status = "CANCELED"
        return 202, "REQUEST_ACCEPTED", None

    def delete_code(self, code_id: str) -> Reply:
        with self._lock:
            ref = self.ledger.codes.pop(code_id, None)
            payment = self.ledger.payments.get(ref or "")
            if payment is None:
                return 404, "DYNAMIC_QR_NOT_FOUND", None
            if payment.status == "CREATED":
                payment.status = "EXPIRED"
        return 200, "SUCCESS", None

    def new_refund(self, body: dict[str, Any]) -> Reply:
        ref = str(body.get("merchantRefundId", ""))
        _, amount = _ref_amount(body | {"merchantPaymentId": ref})
        with self._lock:
            if ref in self.ledger.refunds:
                return 409, "DUPLICATE_REFUND_REQUEST", None
            payment = next((p for p in self.ledger.payments.values()
                            if p.payment_id == body.get("paymentId")), None)
            if payment is None or payment.status != "COMPLETED":
                return 400, "INVALID_PAYMENT_STATUS", None
            if amount > payment.amount - payment.refunded:
                return 400, "REFUND_AMOUNT_EXCEEDED", None
            payment.refunded += amount
            refund = SimRefund(ref, payment.payment_id, amount)
            self.ledger.refunds[ref] = refund
        return 201, "SUCCESS", _refund_data(refund)

    def refund_status(self, ref: str) -> Reply:
        with self._lock:
            refund = self.ledger.refunds.get(ref)
            if refund is None:
                return 404, "NOT_FOUND", None
            refund.status = "COMPLETED"
            return 200, "SUCCESS", _refund_data(refund)


class BadRequest(Exception):
    pass


def _ref_amount(body: dict[str, Any]) -> tuple[str, int]:
    ref = body.get("merchantPaymentId")
    money = body.get("amount")
    if not isinstance(money, dict):
        raise BadRequest("amount must be an object {amount, currency}")
    amount = money.get("amount")
    if not isinstance(ref, str) or not ref or not isinstance(amount, int) or amount <= 0:
        raise BadRequest("merchantPaymentId and a positive integer amount are required")
    if money.get("currency") != "JPY":
        raise BadRequest("currency must be JPY")
    return ref, amount


def _payment_data(p: SimPayment) -> dict[str, Any]:
    return {"paymentId": p.payment_id, "merchantPaymentId": p.ref, "status": p.status,
            "amount": {"amount": p.amount, "currency": "JPY"}, "acceptedAt": int(time.time())}


def _refund_data(r: SimRefund) -> dict[str, Any]:
    return {"merchantRefundId": r.ref, "paymentId": r.payment_id, "status": r.status,
            "amount": {"amount": r.amount, "currency": "JPY"}, "acceptedAt": int(time.time())}


def _route(sim: PayPaySimulator, method: str, path: str, body: dict[str, Any],
           fault: str) -> Reply:
    parts = path.strip("/").split("/")
    match method, parts:
        case "POST", ["v2", "payments"]:
            return sim.new_payment(body, "cpm", fault)
        case "POST", ["v2", "codes"]:
            return sim.new_payment(body, "code", fault)
        case "GET", ["v2", "payments", ref]:
            return sim.payment_status(ref, "cpm")
        case "GET", ["v2", "codes", "payments", ref]:
            return sim.payment_status(ref, "code")
        case "DELETE", ["v2", "payments", ref]:
            return sim.cancel_payment(ref)
        case "DELETE", ["v2", "codes", code_id]:
            return sim.delete_code(code_id)
        case "POST", ["v2", "refunds"]:
            return sim.new_refund(body)
        case "GET", ["v2", "refunds", ref]:
            return sim.refund_status(ref)
    return 404, "NOT_FOUND", None


class _Handler(BaseHTTPRequestHandler):
    sim: PayPaySimulator
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: request lines would carry refs, and headers carry signatures."""

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        path = self.path.split("?")[0]
        reason = self.sim.check_auth(self.headers.get("Authorization", ""), self.command,
                                     path, self.headers.get("Content-Type", ""), raw)
        if reason is not None:
            self.sim.auth_failures += 1
            self._reply(401, "UNAUTHORIZED", None, "authentication failed")
            return
        fault = self.sim.take_fault() if self.command != "GET" else ""
        if fault in ("no_answer", "error500"):
            self._fail(fault)
            return
        try:
            body = json.loads(raw) if raw else {}
            status, code, data = _route(self.sim, self.command, path, body, fault)
        except (BadRequest, ValueError, AttributeError) as exc:
            status, code, data = 400, "INVALID_PARAMS", {"detail": str(exc)}
        if fault in ("timeout", "drop"):
            self._fail(fault)
            return
        self._reply(status, code, data)

    def _fail(self, fault: str) -> None:
        if fault == "error500":
            self._reply(500, "INTERNAL_SERVER_ERROR", None)
            return
        if fault in ("no_answer", "timeout"):
            time.sleep(self.sim.hang_seconds)
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _reply(self, status: int, code: str, data: dict[str, Any] | None,
               message: str = "") -> None:
        payload = json.dumps({"resultInfo": {"code": code, "message": message or code,
                                             "codeId": f"SIM{status}"},
                              "data": data}).encode("utf-8")
        with contextlib.suppress(OSError):
            self.send_response(status)
            self.send_header("Content-Type", "application/json;charset=UTF-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    do_GET = do_POST = do_DELETE = _serve


def _handler_for(sim: PayPaySimulator) -> type[BaseHTTPRequestHandler]:
    return type("PayPaySimHandler", (_Handler,), {"sim": sim})


__all__ = ["FAULTS", "PayPaySimulator"]
