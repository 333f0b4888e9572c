"""ZvtPaymentTerminal: the PaymentTerminal port (UnifiedPOS CAT semantics) spoken in ZVT.

One command at a time: ECR sends the command, the PT acknowledges (80 00) within T3, then
sends intermediate status (04 FF, shown through ``prompt``), status information (04 0F, the
result) and finally Completion (06 0F) or Abort (06 1E); the ECR acknowledges each of them.

When the outcome is unknown (no acknowledgement, no completion, link lost, garbled reply) the
driver raises ``DeviceTimeout`` / ``DeviceUnavailable`` / ``ZvtProtocolError`` and never
returns "declined": the counter keeps its ``payment.pending`` entry and asks
``last_result(ref)``, which reports what the terminal itself recorded.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from drivers.zvt import messages as m
from drivers.zvt.brands import KIND_HINTS, brand_for, kind_for_hint
from drivers.zvt.codec import Apdu, ZvtProtocolError
from drivers.zvt.transport import (
    ZVT_TCP_PORT,
    ApduTransport,
    SerialTransport,
    TcpTransport,
    ZvtTimeouts,
)
from terminal.errors import DeviceError, DeviceTimeout, DeviceUnavailable, DomainError
from terminal.ports import DailyLog, PaymentResult, TenderKind

Prompt = Callable[[str], None]


def _no_prompt(message: str) -> None:
    """Commands without a visitor (lookups, end of day) have nobody to show texts to."""


@dataclass
class Outcome:
    statuses: list[m.StatusInfo] = field(default_factory=list)
    aborted: int | None = None  # result code of the PT's 06 1E
    refused: int | None = None  # code of the PT's negative acknowledgement 84 xx

    @property
    def last(self) -> m.StatusInfo | None:
        return self.statuses[-1] if self.statuses else None


class ZvtPaymentTerminal:
    """A ZVT payment terminal behind any ``ApduTransport`` (serial or TCP)."""

    def __init__(self, connect: Callable[[], ApduTransport], *, timeouts: ZvtTimeouts | None = None,
                 password: str = "000000", currency: int = m.JPY, kind_hints: bool = True) -> None:
        self._connect = connect
        self._t = timeouts or ZvtTimeouts()
        self._password = password
        self._currency = currency
        self._kind_hints = kind_hints
        self._link: ApduTransport | None = None
        self._registered = False
        self._slips: dict[str, str] = {}  # slip number -> ref, to name reversals
        self._abort = threading.Event()

    @classmethod
    def over_serial(cls, port: str, *, baudrate: int = 9600, timeouts: ZvtTimeouts | None = None,
                    **options: Any) -> ZvtPaymentTerminal:
        t = timeouts or ZvtTimeouts()
        return cls(lambda: SerialTransport(port, baudrate=baudrate, timeouts=t), timeouts=t,
                   **options)

    @classmethod
    def over_tcp(cls, host: str, port: int = ZVT_TCP_PORT, *, timeouts: ZvtTimeouts | None = None,
                 **options: Any) -> ZvtPaymentTerminal:
        t = timeouts or ZvtTimeouts()
        return cls(lambda: TcpTransport.connect(host, port, t), timeouts=t, **options)

    # -- link ---------------------------------------------------------------------------
    def close(self) -> None:
        if self._link is not None:
            self._link.close()
            self._link = None

    def abort(self) -> None:
        """Ask the terminal to abort the running command (06 B0); safe from any thread."""
        self._abort.set()

    def _transport(self) -> ApduTransport:
        if self._link is None:
            self._link = self._connect()
            self._registered = False
        if not self._registered:
            outcome = self._run(self._link, m.registration(self._password, self._currency),
                                _no_prompt)
            code = outcome.refused if outcome.refused is not None else outcome.aborted
            if code == m.RC_BUSY:
                return self._link  # busy: the command will be refused too; register later
            if code is not None:
                raise DeviceUnavailable(
                    f"決済端末が登録を拒否しました (ZVT registration refused: "
                    f"{m.result_text(code)}); check the terminal password and currency")
            self._registered = True
        return self._link

    def _command(self, apdu: Apdu, prompt: Prompt) -> Outcome:
        try:
            return self._run(self._transport(), apdu, prompt)
        except DeviceError:
            self.close()  # a fresh link (and registration) for the next command
            raise

    def _run(self, link: ApduTransport, apdu: Apdu, prompt: Prompt) -> Outcome:
        self._abort.clear()
        link.discard_input()
        link.send_apdu(apdu)
        reply = link.receive_apdu(self._t.ack)
        if reply is None:
            raise DeviceTimeout(
                f"決済端末が応答しません (ZVT terminal {link.name} sent no 80 00 for {apdu} "
                f"within T3 = {self._t.ack}s)")
        if reply.cls == 0x84:
            return Outcome(refused=reply.instr)
        if reply.command != (0x80, 0x00):
            raise ZvtProtocolError(f"ZVT terminal answered {reply} instead of 80 00 to {apdu}")
        return self._follow(link, prompt)

    def _follow(self, link: ApduTransport, prompt: Prompt) -> Outcome:
        outcome = Outcome()
        deadline = time.monotonic() + self._t.completion
        abort_sent = False
        while True:
            if self._abort.is_set() and not abort_sent:
                link.send_apdu(m.abort())
                abort_sent = True
            msg = link.receive_apdu(min(0.1, max(0.0, deadline - time.monotonic())))
            if msg is None:
                if time.monotonic() >= deadline:
                    raise DeviceTimeout(
                        f"決済端末から結果が届きません (ZVT terminal {link.name} sent no "
                        f"completion within T4 = {self._t.completion}s); the payment may or "
                        "may not have gone through: resolve it before charging again")
                continue
            deadline = time.monotonic() + self._t.completion
            if self._handle(link, msg, prompt, outcome):
                return outcome

    def _handle(self, link: ApduTransport, msg: Apdu, prompt: Prompt, outcome: Outcome) -> bool:
        """Acknowledge one PT message; True when it ended the command."""
        if msg.command == (0x80, 0x00):  # the PT's acknowledgement of our abort request
            return False
        if msg.command == m.INTERMEDIATE:
            prompt(m.intermediate_text(msg.data))
        elif msg.command == m.STATUS_INFO:
            outcome.statuses.append(m.parse_status(msg.data))
        elif msg.command == m.PT_ABORT:
            outcome.aborted = msg.data[0] if msg.data else m.RC_ABORTED
        elif msg.command not in (m.COMPLETION, *m.PRINT_COMMANDS):
            link.send_apdu(m.negative_ack(0x83))  # function not possible
            return False
        link.send_apdu(m.ACK_APDU)
        return msg.command in (m.COMPLETION, m.PT_ABORT)

    # -- results ------------------------------------------------------------------------
    def _result(self, outcome: Outcome, amount: int, kind: TenderKind, ref: str) -> PaymentResult:
        if outcome.refused is not None:  # the PT did not start the command: nothing happened
            return PaymentResult(False, amount, kind, ref=ref,
                                 message=m.result_text(outcome.refused))
        last = outcome.last
        if outcome.aborted is not None:
            if any(s.result_code == 0 for s in outcome.statuses):
                raise ZvtProtocolError("ZVT terminal approved, then aborted: outcome unclear")
            if last is None or last.result_code is None:
                return PaymentResult(False, amount, kind, ref=ref,
                                     message=m.result_text(outcome.aborted))
        elif last is None or last.result_code is None:
            raise ZvtProtocolError(
                "ZVT terminal completed without a result (no 04 0F): the outcome is unknown")
        if last.ref and last.ref != ref:
            raise ZvtProtocolError(f"ZVT terminal answered for ref {last.ref!r}, not {ref!r}")
        result = self._from_status(last, kind, ref, amount)
        if result.approved and result.slip_no:
            self._slips[result.slip_no] = ref
        return result

    @staticmethod
    def _from_status(s: m.StatusInfo, kind: TenderKind | None, ref: str,
                     amount: int = 0) -> PaymentResult:
        brand = brand_for(s.card_type, s.card_name)
        if brand is not None:
            kind = brand.kind
        elif kind is None:  # a lookup: no request to take the kind from (our fallback)
            kind = kind_for_hint(s.card_type or 0) or "credit"
        approved = s.result_code == 0
        return PaymentResult(
            approved=approved, amount=s.amount if s.amount is not None else amount, kind=kind,
            approval_code=s.approval_code if approved else "",
            slip_no=f"{s.receipt_no:04d}" if s.receipt_no is not None else "",
            brand=brand.name if brand else s.card_name, ref=ref,
            message="" if approved else m.result_text(s.result_code or 0xFF),
        )

    def _hint(self, kind: TenderKind) -> int | None:
        return KIND_HINTS.get(kind) if self._kind_hints else None

    # -- the port -----------------------------------------------------------------------
    def authorize_sale(self, amount: int, kind: TenderKind, ref: str,
                       prompt: Prompt) -> PaymentResult:
        apdu = m.authorization(amount, ref, self._currency, self._hint(kind))
        return self._result(self._command(apdu, prompt), amount, kind, ref)

    def refund(self, amount: int, kind: TenderKind, ref: str) -> PaymentResult:
        apdu = m.refund(self._password, amount, ref, self._currency, self._hint(kind))
        return self._result(self._command(apdu, _no_prompt), amount, kind, ref)

    def void(self, slip_no: str, amount: int, kind: TenderKind) -> PaymentResult:
        """Reverse (06 30) by receipt number; the reversal's ref is the sale's ref + "-V",
        the same convention as the counter's pending entry."""
        if not (slip_no.isdigit() and len(slip_no) <= 4):
            raise DomainError(f"ZVT receipt numbers are 1-4 digits, not {slip_no!r}")
        original = self._slips.get(slip_no) or self._ref_of_receipt(int(slip_no))
        if original is None:
            raise DomainError(f"no approved transaction with slip {slip_no} on the terminal")
        ref = f"{original}-V"
        apdu = m.reversal(self._password, int(slip_no), ref)
        return self._result(self._command(apdu, _no_prompt), amount, kind, ref)

    def _ref_of_receipt(self, receipt_no: int) -> str | None:
        outcome = self._lookup(m.repeat_receipt(self._password, receipt_no=receipt_no))
        last = outcome.last
        if last is None or last.result_code != 0:
            return None
        if not last.ref or last.receipt_no != receipt_no:
            raise ZvtProtocolError(
                f"ZVT terminal cannot find receipt {receipt_no} by number (vendor extension "
                "of 06 20 missing): reverse it on the terminal itself")
        return last.ref

    def _lookup(self, apdu: Apdu) -> Outcome:
        outcome = self._command(apdu, _no_prompt)
        code = outcome.refused if outcome.refused is not None else outcome.aborted
        if code is not None:
            raise DeviceUnavailable(f"ZVT terminal refused the lookup: {m.result_text(code)}")
        return outcome

    def last_result(self, ref: str) -> PaymentResult | None:
        outcome = self._lookup(m.repeat_receipt(self._password, ref=ref))
        last = outcome.last
        if last is None:
            return None  # the terminal has no transaction with this ref
        if last.ref != ref:
            raise ZvtProtocolError(
                f"ZVT terminal answered with another transaction ({last.ref!r}), so it cannot "
                f"look up {ref!r}: check the terminal's journal and resolve by hand")
        return self._from_status(last, None, ref)

    def daily_log(self) -> DailyLog:
        outcome = self._lookup(m.end_of_day(self._password))
        last = outcome.last
        if last is None or last.result_code != 0:
            code = last.result_code if last and last.result_code is not None else 0xFF
            raise DeviceError(f"日計処理ができません (end of day failed: {m.result_text(code)})")
        return DailyLog(batch_no=f"{last.turnover_no or 0:04d}", count=last.count or 0,
                        total=sum(last.totals.values()), by_tender=dict(last.totals))

    def status(self) -> str:
        """Status enquiry (05 01): a one-line summary of the terminal's state."""
        last = self._lookup(m.status_enquiry(self._password)).last
        code = last.result_code if last and last.result_code is not None else 0
        tid = last.terminal_id if last else ""
        state = "正常 (ready)" if code == 0 else m.result_text(code)
        return f"TID {tid or '?'}: {state}"


def self_test(terminal: ZvtPaymentTerminal, amount: int) -> str:
    """Authorize ``amount`` yen, then reverse it; a one-line summary for the installer."""
    ref = f"SELFTEST-{time.strftime('%Y%m%d%H%M%S')}"
    sale = terminal.authorize_sale(amount, "credit", ref, _no_prompt)
    if not sale.approved:
        return f"NG: ¥{amount:,} の承認が得られませんでした (sale not approved: {sale.message})"
    void = terminal.void(sale.slip_no, amount, sale.kind)
    if not void.approved:
        return (f"NG: ¥{amount:,} は承認されましたが取消できませんでした (slip {sale.slip_no}: "
                f"reversal refused: {void.message}); reverse it on the terminal")
    return (f"OK: ¥{amount:,} 承認 (slip {sale.slip_no}, {sale.brand}, approval "
            f"{sale.approval_code}) と取消 (slip {void.slip_no}) ができました")
