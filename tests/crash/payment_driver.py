"""Counter processes for the kill -9 payment suite (``test_kill_payment.py``).

A real ``Counter`` on a real journal, paying through ``ZvtPaymentTerminal`` over TCP to the
ZVT simulator and printing through ``EscposPrinter`` to the network printer simulator (both
run in the test process, so they outlive every kill).

``python payment_driver.py SOCKET`` is a zygote: it imports and warms up once (an import costs
more than a whole run), says ``ready``, then forks a fresh counter process for each ``spawn``
(answering ``spawned PID``), reaps one for ``wait PID`` (``status PID EXITCODE``) and ends at
``quit``. A counter process connects to the test's Unix socket SOCKET, says ``hello PID`` and
then follows the test's commands:

- ``lane DIR TERMINAL ZVT_PORT PRINTER_PORT SEED [POINT NTH]``: open DIR's journal and
  recover (resolve pending payments through ``PaymentDesk.resolve_pending``, then complete a
  sale that is fully paid or cancel it, reversing what it took), dying at POINT if given and
  reached; answers ``recovered RESOLVED APPROVED COMPLETED CANCELLED``;
- ``go POINT NTH`` (kill itself with SIGKILL the NTH time it reaches POINT) or ``go random 0``
  (the test kills it): it sells until it dies, saying ``phase payment|print|idle`` as it goes
  and ``kill POINT`` just before killing itself; ``quit`` instead: it exits (recover mode).

A sale is acknowledged (a line ``SEQ HASH RECEIPT_NO`` fsync'd to DIR/acks.txt) only after
``complete_sale`` returned and its receipt printed.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import sys
import traceback
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from drivers.printer import EscposPrinter, PrinterConfig
from drivers.zvt import ZvtPaymentTerminal
from drivers.zvt.transport import TcpTransport, ZvtTimeouts
from kiosk_config.loader import load_config
from kiosk_config.schema import KioskConfig
from madoguchi.bootstrap import settings_from
from madoguchi.simulate import sim_clerks
from terminal.clerks import Clerk
from terminal.counter import Counter
from terminal.day import TOKYO
from terminal.errors import PaymentDeclined
from terminal.journal import Entry, Journal, TerminalKey
from terminal.ports import PaymentResult, TenderKind
from terminal.receipt import ReceiptHeader, build_receipt
from terminal.sale import Cart, line_for

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "kiosk_config" / "samples" / "museum-01.toml"
CARD_KINDS: tuple[TenderKind, ...] = ("credit", "emoney", "transit_ic")
TIMEOUTS = ZvtTimeouts(ack=3.0, completion=10.0, connect=3.0)
MAX_SALES = 500  # a kill point that is never reached ends the process (the test fails)


OUT: TextIO = sys.stdout  # the zygote's stdout; a counter process's socket


def say(*words: object) -> None:
    print(*words, file=OUT, flush=True)


class KillSwitch:
    """SIGKILL this process the ``nth`` time it reaches ``point``."""

    def __init__(self) -> None:
        self.point = ""
        self.left = 0

    def arm(self, point: str, nth: int) -> None:
        self.point, self.left = point, nth

    def due(self, point: str) -> bool:
        """Count one arrival at ``point``; True when this is the one to die at."""
        if self.point != point:
            return False
        self.left -= 1
        return self.left == 0

    def fire(self) -> None:
        say("kill", self.point)
        os.kill(os.getpid(), signal.SIGKILL)

    def hit(self, point: str) -> None:
        if self.due(point):
            self.fire()


SWITCH = KillSwitch()


class CrashCounter(Counter):
    """The real counter, with kill points right after each journal commit."""

    def record(self, kind: str, body: Any) -> Entry:
        point = f"{kind}_committed"
        if kind == "payment.pending":
            point = f"pending_{body['operation']}"
        elif kind == "payment.result" and self.state.open_sale is not None:
            pending = self.state.open_sale.pending.get(int(body["pending_seq"]), {})
            point = f"result_{pending.get('operation', '')}"
        entry = super().record(kind, body)
        SWITCH.hit(point)
        return entry


class CrashZvt(ZvtPaymentTerminal):
    """The real ZVT driver, with a kill point after the terminal approved (before the
    counter journals the result)."""

    def authorize_sale(self, amount: int, kind: TenderKind, ref: str,
                       prompt: Any) -> PaymentResult:
        result = super().authorize_sale(amount, kind, ref, prompt)
        if result.approved:
            SWITCH.hit("approved_sale")
        return result

    def void(self, slip_no: str, amount: int, kind: TenderKind) -> PaymentResult:
        result = super().void(slip_no, amount, kind)
        if result.approved:
            SWITCH.hit("approved_void")
        return result


class CrashPrinter(EscposPrinter):
    """The real printer adapter, with a kill point halfway through sending the receipt."""

    cut_at = 0.5

    def _send(self, conn: Any, data: bytes) -> None:
        if len(data) > 64 and SWITCH.due("mid_print"):
            super()._send(conn, data[:int(len(data) * self.cut_at)])
            SWITCH.fire()
        super()._send(conn, data)


def in_terminal(_message: str) -> None:
    """The terminal's live prompts (insert card, PIN): the command is running there."""
    SWITCH.hit("in_terminal")


class Lane:
    """One counter's process life: open, recover, sell."""

    def __init__(self, folder: Path, terminal: str, zvt_port: int, printer_port: int,
                 seed: int, warm: tuple[KioskConfig, dict[str, Clerk]]) -> None:
        config, clerks = warm
        self.folder = folder
        self.rng = random.Random(seed)
        key = TerminalKey.load_or_create(folder / "terminal.key")
        self.journal = Journal.open(folder / "journal.db", terminal, key)
        zvt = CrashZvt(lambda: TcpTransport.connect("127.0.0.1", zvt_port, TIMEOUTS),
                       timeouts=TIMEOUTS)
        self.printer = CrashPrinter(PrinterConfig.from_dict(
            {"connection": "network", "host": "127.0.0.1", "port": printer_port,
             "timeout": 3}))
        self.printer.cut_at = self.rng.uniform(0.05, 0.95)
        self.counter = CrashCounter(
            journal=self.journal, catalogue=config.catalogue,
            settings=replace(settings_from(config), terminal=terminal), clerks=clerks,
            clock=self, payment_terminal=zvt)
        self.header = ReceiptHeader(facility_name="八戸市博物館")

    def now(self) -> datetime:
        return datetime.now(TOKYO)

    def recover(self) -> tuple[int, int, int, int]:
        """(pending resolved, of them approved, sales completed, sales cancelled)."""
        c = self.counter
        if c.state.clerk is None:
            c.login("c1", "1111")
        if c.state.open_sale is None:
            return 0, 0, 0, 0
        resolved = c.payments.resolve_pending()
        approved = sum(1 for e in resolved if e.body["approved"])
        if c.state.open_sale.pending:
            raise SystemExit(f"pending payments left after resolve: {c.state.open_sale.pending}")
        payment = c.payment()
        if payment.is_settled and c.state.open_sale.approved:
            self.finish(c.complete_sale(payment))
            return len(resolved), approved, 1, 0
        c.cancel_sale("再起動後の取消 (recovered after a crash)")
        return len(resolved), approved, 0, 1

    def finish(self, sale: Entry) -> None:
        """Print the receipt, then acknowledge the sale."""
        say("phase print")
        receipt = build_receipt(sale.body, sale.kind, sale.at, sale.terminal, sale.seq,
                                self.header, self.counter.catalogue)
        self.printer.print_receipt(receipt)
        SWITCH.hit("printed")
        with (self.folder / "acks.txt").open("a", encoding="utf-8") as acks:
            acks.write(f"{sale.seq} {sale.hash} {sale.body['receipt_no']}\n")
            acks.flush()
            os.fsync(acks.fileno())
        say("phase idle")

    def cart(self) -> Cart:
        cart = Cart()
        catalogue = self.counter.catalogue
        for _ in range(self.rng.randint(1, 2)):
            item = self.rng.choice(catalogue.items)
            visitor = self.rng.choice(item.visitor_types())
            cart = cart.add(line_for(item, catalogue, visitor, self.rng.randint(1, 3)))
        return cart

    def sell(self) -> None:
        c = self.counter
        c.set_cart(self.cart())
        say("phase payment")
        total = c.begin_payment().total
        roll = self.rng.random()
        kind = self.rng.choice(CARD_KINDS)
        try:
            if total > 0 and roll < 0.7:
                c.pay_by_terminal(kind, None, prompt=in_terminal)
            elif total > 1 and roll < 0.85:
                c.pay_by_terminal(kind, self.rng.randint(1, total - 1), prompt=in_terminal)
        except PaymentDeclined:
            pass  # the visitor pays the rest in cash
        if c.state.open_sale is not None and c.state.open_sale.approved \
                and self.rng.random() < 0.15:
            c.cancel_sale("お客様都合 (the visitor changed their mind)")
            say("phase idle")
            return
        remaining = c.payment().remaining
        if remaining == 0 and total > 0:
            sale = c.complete_sale(c.payment())
        else:
            sale = c.pay_cash(remaining + self.rng.choice((0, 1000)))
        self.finish(sale)


Warm = tuple[KioskConfig, dict[str, Clerk]]


def counter_process(socket_path: str, warm: Warm) -> int:
    """One counter process (forked from the zygote): its protocol runs over a Unix socket."""
    global OUT
    link = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    link.connect(socket_path)
    OUT = link.makefile("w", encoding="utf-8", newline="\n")
    commands = link.makefile("r", encoding="utf-8", newline="\n")
    say("hello", os.getpid())
    words = commands.readline().split()
    if not words or words[0] != "lane":
        return 0
    folder, terminal, zvt_port, printer_port, seed = words[1:6]
    if len(words) == 8:  # die inside the recovery itself
        SWITCH.arm(words[6], int(words[7]))
    lane = Lane(Path(folder), terminal, int(zvt_port), int(printer_port), int(seed), warm)
    say("recovered", *lane.recover())
    words = commands.readline().split()
    if not words or words[0] != "go":
        return 0  # recover mode: done
    SWITCH.arm(words[1], int(words[2]))  # "random": no such point
    for _ in range(MAX_SALES):
        lane.sell()
    say("exhausted")
    return 3


def fork_counter(socket_path: str, warm: Warm) -> int:
    """Fork one counter process; the child never returns."""
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        code = counter_process(socket_path, warm)
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stderr.flush()
        os._exit(code)


def main() -> int:
    """The zygote: import and warm up once, then fork a fresh counter process per command
    (``spawn``), report a child's exit status (``wait PID``), or stop (``quit``)."""
    socket_path = sys.argv[1]
    warm = load_config(CONFIG), sim_clerks()  # PIN hashes take a while: not per process
    say("ready")
    for line in sys.stdin:
        words = line.split()
        if words[0] == "spawn":
            say("spawned", fork_counter(socket_path, warm))
        elif words[0] == "wait":
            _, status = os.waitpid(int(words[1]), 0)
            say("status", words[1], os.waitstatus_to_exitcode(status))
        else:
            break
    return 0


if __name__ == "__main__":
    sys.exit(main())
