"""A ZVT payment terminal simulator that speaks the wire protocol (serial or TCP).

It answers Registration, Authorization, Reversal, Refund, End-of-day, Status enquiry, Abort
and (with our ref/receipt selector, see ``messages``) Repeat Receipt, books every money
movement in its own ledger and can be told, at runtime, to misbehave:

- ``decline``: the issuer declines (04 0F result 05, then 06 1E).
- ``timeout``: never answers anything (not even the ACK byte) until the fault is cleared.
- ``nak_storm``: NAKs every frame (serial only).
- ``bad_crc``: the first transmission of each of its frames has a wrong CRC (serial only).
- ``drop``: books the payment, then the link drops (port closed / socket closed; the
  ``on_drop`` hook lets a test tear down the socat pair as a pulled cable would).
- ``approve_then_drop``: books the payment, then goes silent (Completion never reaches the
  ECR) until the fault is cleared.
- ``busy``: refuses commands with a negative acknowledgement 84 9C.

Like a careful terminal it never books the same ref twice: a repeated ref is answered with
the recorded result.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from drivers.zvt import messages as m
from drivers.zvt.brands import BRANDS, brand_for, first_brand, kind_for_hint
from drivers.zvt.codec import Apdu, bcd_decode, bcd_encode, decode_bmps, encode_bmps
from drivers.zvt.ledger import Booking, SimLedger
from drivers.zvt.transport import (
    ApduTransport,
    Policy,
    SerialTransport,
    TcpTransport,
    ZvtTimeouts,
)
from terminal.errors import DeviceError, DeviceUnavailable

FAULTS = ("decline", "timeout", "nak_storm", "bad_crc", "drop", "approve_then_drop", "busy")
TEST_PAN = bytes.fromhex("411111EEEEEE1111")  # a masked PAN the codec must drop


class _Dropped(Exception):
    """The simulated link drops."""


class ZvtSimulator:
    def __init__(self, ledger_path: Path | None = None, *, timeouts: ZvtTimeouts | None = None,
                 card_wait: float = 0.0, terminal_id: int = 52500001,
                 on_drop: Callable[[], None] | None = None, pace_baud: int | None = None) -> None:
        self.ledger = SimLedger(ledger_path)
        self.card_wait = card_wait
        self.on_drop = on_drop
        self._t = timeouts or ZvtTimeouts()
        self._tid = terminal_id
        self._pace = pace_baud
        self._fault: str | None = None
        self._muted = False
        self._abort_requested = False
        self._stop = threading.Event()
        self._link_up = threading.Event()
        self._threads: list[threading.Thread] = []
        self._server: socket.socket | None = None

    # -- control ------------------------------------------------------------------------
    @property
    def fault(self) -> str | None:
        return self._fault

    def set_fault(self, fault: str | None) -> None:
        if fault is not None and fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; choose from {', '.join(FAULTS)}")
        self._fault = fault
        self._muted = False

    def wait_link(self, timeout: float = 5.0) -> bool:
        """Wait until the simulator has its end of the link open."""
        return self._link_up.wait(timeout)

    def serve_serial(self, port: str, baudrate: int = 9600) -> None:
        self._start(self._serial_loop, port, baudrate)

    def serve_tcp(self, host: str = "127.0.0.1", port: int = 0) -> int:
        self._server = socket.create_server((host, port))
        self._server.settimeout(0.05)
        self._start(self._tcp_loop, self._server)
        return int(self._server.getsockname()[1])

    def _start(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, name="zvt-simulator", daemon=True)
        self._threads.append(thread)
        thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        if self._server is not None:
            self._server.close()

    def __enter__(self) -> ZvtSimulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- links --------------------------------------------------------------------------
    def _policy(self) -> Policy:
        if self._fault == "timeout" or self._muted:
            return "ignore"
        return "nak" if self._fault == "nak_storm" else "ack"

    def _corrupt(self, attempt: int) -> bool:
        return self._fault == "bad_crc" and attempt == 0

    def _serial_loop(self, port: str, baudrate: int) -> None:
        while not self._stop.is_set():
            try:
                link = SerialTransport(port, baudrate=baudrate, timeouts=self._t,
                                       pace_baud=self._pace)
            except DeviceUnavailable:
                time.sleep(0.02)  # the pty pair is not (yet, or no longer) there
                continue
            link.incoming_policy = self._policy
            link.corrupt_outgoing = self._corrupt
            self._serve(link)

    def _tcp_loop(self, server: socket.socket) -> None:
        self._link_up.set()  # the listener is the simulator's end of the link
        while not self._stop.is_set():
            try:
                conn, peer = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            link = TcpTransport(conn, f"{peer[0]}:{peer[1]}", self._t)
            link.incoming_policy = self._policy
            self._serve(link)

    def _serve(self, link: ApduTransport) -> None:
        self._link_up.set()
        try:
            while not self._stop.is_set():
                apdu = link.receive_apdu(0.05)
                if apdu is not None:
                    self._dispatch(link, apdu)
        except _Dropped:
            link.close()
            self._link_up.clear()
            if self.on_drop is not None:
                self.on_drop()
        except DeviceUnavailable:
            pass  # the ECR went away: wait for the next link
        finally:
            link.close()
            if isinstance(link, SerialTransport):
                self._link_up.clear()

    def _dispatch(self, link: ApduTransport, apdu: Apdu) -> None:
        if self._fault == "busy":
            link.send_apdu(m.negative_ack(m.RC_BUSY))
            return
        handlers: dict[tuple[int, int], Callable[[ApduTransport, Apdu], None]] = {
            (0x06, 0x00): self._registration, (0x05, 0x01): self._status,
            (0x06, 0x01): self._sale, (0x06, 0x31): self._refund, (0x06, 0x30): self._reversal,
            (0x06, 0x50): self._end_of_day, (0x06, 0x20): self._repeat,
            (0x06, 0xB0): lambda link, apdu: None,
        }
        handler = handlers.get(apdu.command)
        if handler is None:
            link.send_apdu(m.negative_ack(0x83))
            return
        self._abort_requested = False
        link.send_apdu(m.ACK_APDU)
        try:
            handler(link, apdu)
        except DeviceUnavailable:
            raise
        except DeviceError:
            pass  # the ECR stopped answering mid-command: the command is abandoned

    def _tell(self, link: ApduTransport, apdu: Apdu) -> None:
        """Send a PT message and wait (T3) for the ECR's 80 00."""
        if self._muted:
            return
        link.send_apdu(apdu)
        deadline = time.monotonic() + self._t.ack
        while time.monotonic() < deadline:
            reply = link.receive_apdu(max(0.0, deadline - time.monotonic()))
            if reply is None:
                break
            if reply.command == (0x06, 0xB0):  # abort request while we are master
                self._abort_requested = True
                link.send_apdu(m.ACK_APDU)
                continue
            return
        raise DeviceError("the ECR did not acknowledge")

    # -- commands -----------------------------------------------------------------------
    def _registration(self, link: ApduTransport, apdu: Apdu) -> None:
        fields = [(0x19, b"\x00"), (0x29, bcd_encode(self._tid, 4)),
                  (0x49, bcd_encode(m.JPY, 2))]
        self._tell(link, Apdu(0x06, 0x0F, encode_bmps(fields)))

    def _status(self, link: ApduTransport, apdu: Apdu) -> None:
        fields = [(0x27, b"\x00"), (0x29, bcd_encode(self._tid, 4))]
        self._tell(link, Apdu(0x04, 0x0F, encode_bmps(fields)))
        self._tell(link, Apdu(0x06, 0x0F))

    def _status_info(self, b: Booking) -> Apdu:
        now = datetime.now()
        brand = brand_for(b.card_type)
        fields = [
            (0x27, bytes([b.result_code])), (0x04, bcd_encode(b.amount, 6)),
            (0x49, bcd_encode(m.JPY, 2)), (0x0B, bcd_encode(b.trace_no, 3)),
            (0x0C, bcd_encode(int(now.strftime("%H%M%S")), 3)),
            (0x0D, bcd_encode(int(now.strftime("%m%d")), 2)),
            (0x87, bcd_encode(b.receipt_no, 2)), (0x29, bcd_encode(self._tid, 4)),
            (0x22, TEST_PAN), (0x8A, bytes([b.card_type])),
            (0x8B, (brand.code if brand else "").encode() + b"\x00"),
            (0x3B, b.approval_code.encode().ljust(8, b"\x00")), (0x3C, b.ref.encode()),
        ]
        return Apdu(0x04, 0x0F, encode_bmps(fields))

    def _report(self, link: ApduTransport, b: Booking) -> None:
        self._tell(link, self._status_info(b))
        if b.approved:
            self._tell(link, Apdu(0x06, 0x0F))
        else:
            self._tell(link, Apdu(0x06, 0x1E, bytes([b.result_code])))

    def _prompt(self, link: ApduTransport, code: int) -> None:
        self._tell(link, Apdu(0x04, 0xFF, bytes([code])))

    def _wait_card(self, link: ApduTransport) -> bool:
        """Wait for the card (``card_wait`` s); True when the ECR aborted meanwhile."""
        deadline = time.monotonic() + self.card_wait
        while not self._abort_requested and time.monotonic() < deadline:
            msg = link.receive_apdu(min(0.05, max(0.0, deadline - time.monotonic())))
            if msg is not None and msg.command == (0x06, 0xB0):
                link.send_apdu(m.ACK_APDU)
                self._abort_requested = True
        return self._abort_requested

    def _book(self, op: str, amount: int, ref: str, card_type: int, approved: bool,
              original: int | None = None) -> Booking:
        receipt, trace = self.ledger.next_numbers()
        brand = brand_for(card_type)
        return self.ledger.book(Booking(
            op=op, ref=ref, amount=amount, kind=brand.kind if brand else "credit",
            card_type=card_type, receipt_no=receipt, trace_no=trace, approved=approved,
            result_code=0 if approved else 0x05,
            approval_code=f"{(trace * 7919) % 10**6:06d}" if approved else "",
            original_receipt=original))

    def _finish(self, link: ApduTransport, booking: Booking) -> None:
        if booking.approved and self._fault == "approve_then_drop":
            self._muted = True  # booked; the answer never reaches the ECR
            return
        if booking.approved and self._fault == "drop":
            raise _Dropped
        self._report(link, booking)

    def _card_type(self, fields: dict[int, bytes]) -> int:
        hint = fields.get(0x8A)
        if hint is None:
            return first_brand("credit").card_type
        kind = kind_for_hint(hint[0])
        if kind is not None:
            return first_brand(kind).card_type
        return hint[0] if any(b.card_type == hint[0] for b in BRANDS) else 0x0A

    def _money(self, link: ApduTransport, apdu: Apdu, op: str, body: bytes) -> None:
        fields = dict(decode_bmps(body))
        ref = fields.get(0x3C, b"").decode("utf-8", "replace")
        known = self.ledger.by_ref(ref) if ref else None
        if known is not None:  # the same request again: answer it, never book twice
            self._report(link, known)
            return
        card_type = self._card_type(fields)
        self._prompt(link, 0x0A)  # insert / tap the card
        if self._wait_card(link):
            self._tell(link, Apdu(0x06, 0x1E, bytes([m.RC_ABORTED])))
            return
        brand = brand_for(card_type)
        if op == "sale" and brand is not None and brand.kind == "credit":
            self._prompt(link, 0x01)  # PIN
        approved = not (op == "sale" and self._fault == "decline")
        booking = self._book(op, bcd_decode(fields[0x04]), ref, card_type, approved)
        self._finish(link, booking)

    def _sale(self, link: ApduTransport, apdu: Apdu) -> None:
        self._money(link, apdu, "sale", apdu.data)

    def _refund(self, link: ApduTransport, apdu: Apdu) -> None:
        self._money(link, apdu, "refund", apdu.data[3:])

    def _reversal(self, link: ApduTransport, apdu: Apdu) -> None:
        fields = dict(decode_bmps(apdu.data[3:]))
        ref = fields.get(0x3C, b"").decode("utf-8", "replace")
        known = self.ledger.by_ref(ref) if ref else None
        if known is not None:
            self._report(link, known)
            return
        receipt = bcd_decode(fields.get(0x87, b"\x00\x00"))
        original = self.ledger.by_receipt(receipt)
        if original is None or original.op != "sale" or not original.approved:
            self._tell(link, Apdu(0x06, 0x1E, bytes([0xB5])))
            return
        if self.ledger.is_reversed(receipt):
            self._tell(link, Apdu(0x06, 0x1E, bytes([0xB4])))
            return
        booking = self._book("void", original.amount, ref, original.card_type, True, receipt)
        self._finish(link, booking)

    def _end_of_day(self, link: ApduTransport, apdu: Apdu) -> None:
        batch_no, count, totals = self.ledger.close_batch()
        fields = [(0x27, b"\x00"), (0x88, bcd_encode(batch_no, 3)),
                  (0x06, m.totals_container(totals, count))]
        self._tell(link, Apdu(0x04, 0x0F, encode_bmps(fields)))
        self._tell(link, Apdu(0x06, 0x0F))

    def _repeat(self, link: ApduTransport, apdu: Apdu) -> None:
        fields = dict(decode_bmps(apdu.data[3:]))
        if 0x3C in fields:
            booking = self.ledger.by_ref(fields[0x3C].decode("utf-8", "replace"))
        elif 0x87 in fields:
            booking = self.ledger.by_receipt(bcd_decode(fields[0x87]))
        else:
            booking = self.ledger.bookings[-1] if self.ledger.bookings else None
        if booking is not None:
            self._tell(link, self._status_info(booking))
        self._tell(link, Apdu(0x06, 0x0F))


def run_simulator(*, serial_port: str | None = None, tcp: tuple[str, int] | None = None,
                  ledger_path: Path | None = None, baudrate: int = 9600,
                  card_wait: float = 0.5, timeouts: ZvtTimeouts | None = None) -> ZvtSimulator:
    """Start a simulator on a serial port (e.g. one end of a socat pty pair) and/or a TCP
    address; returns it running (call ``stop()``). Used by ``madoguchi simulate`` / demo."""
    sim = ZvtSimulator(ledger_path, timeouts=timeouts, card_wait=card_wait)
    if serial_port is not None:
        sim.serve_serial(serial_port, baudrate)
    if tcp is not None:
        sim.serve_tcp(*tcp)
    return sim
