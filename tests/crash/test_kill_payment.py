"""kill -9 of a counter INSIDE payment and printing never loses a sale nor charges twice.

``payment_driver.py`` runs a real Counter (real journal, ZvtPaymentTerminal over TCP, the
EscposPrinter over the network) in its own process, forked per run from a zygote that imported
everything once (an import costs more than a run); the ZVT simulator (with its fsync'd
ledger) and the printer simulator run here, so they outlive every kill. Each run kills the
driver once: at a named point (right after ``payment.pending`` committed, inside the terminal's
command, after the terminal approved but before ``payment.result``, after the sale committed
but before printing, halfway through the receipt...) or at a random moment. The next process
recovers (``PaymentDesk.resolve_pending`` against the terminal, then completes or cancels the
open sale) and the books are checked: every approved, unreversed charge on the terminal is the
tender of exactly one journaled sale, every reversed one has its journaled reversal, every
acknowledged sale is in the journal and on paper, no payment is left pending, and the journal
verifies.
"""

from __future__ import annotations

import os
import random
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from madoguchi_testing import ROOT, cli_command

from drivers.printer.simulator import NetworkPrinterSimulator
from drivers.zvt.ledger import Booking, SimLedger
from drivers.zvt.simulator import ZvtSimulator
from terminal.counter import replay
from terminal.journal import Journal, verify_path

DRIVER = Path(__file__).with_name("payment_driver.py")
RUNS = int(os.environ.get("MADOGUCHI_PAYMENT_CRASH_RUNS", "200"))
RUNS_PER_LANE = 20  # one counter (journal) per lane; the terminal and printer are shared
PAYMENT_POINTS = ("sale.open_committed", "pending_sale", "in_terminal", "approved_sale",
                  "result_sale", "pending_void", "approved_void", "result_void")
PRINT_POINTS = ("sale_committed", "mid_print", "printed")
RECOVERY_POINTS = ("result_sale", "pending_void", "approved_void", "result_void",
                   "sale_committed", "mid_print", "printed")
APPROVED_POINTS = ("approved_sale", "pending_void", "approved_void", "result_void")
RARE_POINTS = ("pending_void", "approved_void", "result_void")  # 15 card sales in 100
TIMEOUT = 60.0


class Lines:
    """Lines from a pipe or socket, each read with a timeout."""

    def __init__(self, fd: int, read: Callable[[], bytes], log: Path) -> None:
        self.fd, self.read, self.log = fd, read, log
        self.buffer = b""

    def line(self, timeout: float = TIMEOUT) -> str:
        """The next line (empty at the end)."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            ready, _, _ = select.select([self.fd], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise AssertionError(f"driver silent for {timeout}s; {self.stderr()}")
            chunk = self.read()
            if not chunk:
                return self.buffer.decode()
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.decode()

    def expect(self, word: str) -> list[str]:
        words = self.line().split()
        while words and words[0] == "phase":  # a recovered sale being printed
            words = self.line().split()
        assert words and words[0] == word, f"expected {word!r}, got {words}; {self.stderr()}"
        return words[1:]

    def stderr(self) -> str:
        return "driver stderr: " + self.log.read_text("utf-8", "replace")[-3000:]


class Zygote:
    """``payment_driver.py``: imported once, it forks a fresh counter process per run."""

    def __init__(self, log: Path) -> None:
        self.socket_path = Path(tempfile.mkdtemp(prefix="mdg-kill-")) / "counters.sock"
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(str(self.socket_path))
        self.listener.listen(4)
        self.listener.settimeout(TIMEOUT)
        self.children: list[Child] = []
        with log.open("ab") as err:
            self.proc = subprocess.Popen(
                [sys.executable, str(DRIVER), str(self.socket_path)], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=err, cwd=ROOT,
                env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert self.proc.stdout is not None
        stdout = self.proc.stdout
        self.out = Lines(stdout.fileno(), lambda: os.read(stdout.fileno(), 4096), log)
        self.out.expect("ready")

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()

    def spawn(self) -> Child:
        self.send("spawn")
        pid = int(self.out.expect("spawned")[0])
        conn, _ = self.listener.accept()
        child = Child(self, pid, conn)
        self.children.append(child)
        assert child.lines.expect("hello") == [str(pid)]
        return child

    def exit_code(self, pid: int) -> int:
        self.send(f"wait {pid}")
        words = self.out.expect("status")
        assert words[0] == str(pid)
        return int(words[1])

    def close(self) -> None:
        for child in self.children:
            if child.code is None:
                os.kill(child.pid, signal.SIGKILL)
                child.code = self.exit_code(child.pid)
            child.conn.close()
        self.send("quit")
        self.proc.wait(timeout=TIMEOUT)
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                pipe.close()
        self.listener.close()
        shutil.rmtree(self.socket_path.parent)


class Child:
    """One counter process, spoken to over its socket."""

    def __init__(self, zygote: Zygote, pid: int, conn: socket.socket) -> None:
        self.zygote, self.pid, self.conn = zygote, pid, conn
        self.code: int | None = None
        self.lines = Lines(conn.fileno(), lambda: conn.recv(4096), zygote.out.log)

    def send(self, line: str) -> None:
        self.conn.sendall(line.encode() + b"\n")

    def rest(self) -> list[str]:
        """Every line up to the process's end (its exit code in ``code``)."""
        lines = []
        while line := self.lines.line():
            lines.append(line)
        self.code = self.zygote.exit_code(self.pid)
        return lines


@dataclass
class Tally:
    runs: int = 0
    kills: Counter[str] = field(default_factory=Counter)  # where: payment, printing, idle
    points: Counter[str] = field(default_factory=Counter)
    pending_resolved: int = 0
    resolved_approved: int = 0
    completed_on_recovery: int = 0
    cancelled_on_recovery: int = 0
    acked: int = 0
    declined: int = 0
    charges: int = 0
    reversed: int = 0
    lost: int = 0
    double: int = 0


@dataclass
class Lane:
    folder: Path
    terminal: str
    zvt_port: int
    printer_port: int
    seed: int

    def command(self) -> str:
        return (f"lane {self.folder} {self.terminal} {self.zvt_port} {self.printer_port} "
                f"{self.seed}")


def recover(child: Child, lane: Lane, tally: Tally, point: str = "") -> bool:
    """Recover ``lane`` in ``child``; with ``point``, kill it there if recovery reaches it
    (False: it died inside the recovery)."""
    child.send(lane.command() + (f" {point} 1" if point else ""))
    words = child.lines.line().split()
    while words and words[0] == "phase":  # a recovered sale being printed
        words = child.lines.line().split()
    if words == ["kill", point]:
        assert child.rest() == [] and child.code == -signal.SIGKILL, child.lines.stderr()
        tally.kills["recovery"] += 1
        tally.points[f"recovery:{point}"] += 1
        return False
    assert words and words[0] == "recovered", f"{words}; {child.lines.stderr()}"
    resolved, approved, completed, cancelled = map(int, words[1:])
    tally.pending_resolved += resolved
    tally.resolved_approved += approved
    tally.completed_on_recovery += completed
    tally.cancelled_on_recovery += cancelled
    return True


def kill_once(child: Child, rng: random.Random, tally: Tally, declines: bool) -> None:
    """Let ``child`` sell until it is killed, at a named point or at a random moment
    (``declines``: the terminal declines every card, so no point after an approval)."""
    if rng.random() < 0.6:
        points = PAYMENT_POINTS + PRINT_POINTS
        point = rng.choice([p for p in points if not (declines and p in APPROVED_POINTS)])
        child.send(f"go {point} {1 if point in RARE_POINTS else rng.randint(1, 2)}")
        lines = child.rest()
        assert lines and lines[-1] == f"kill {point}", f"{lines[-3:]}; {child.lines.stderr()}"
        tally.points[point] += 1
        tally.kills["payment" if point in PAYMENT_POINTS else "printing"] += 1
    else:
        child.send("go random 0")
        time.sleep(rng.uniform(0.01, 0.25))
        os.kill(child.pid, signal.SIGKILL)
        phases = [ln.split()[1] for ln in child.rest() if ln.startswith("phase ")]
        last = phases[-1] if phases else "idle"
        tally.kills[{"print": "printing"}.get(last, last)] += 1
        tally.points["random"] += 1
    assert child.code == -signal.SIGKILL, child.lines.stderr()


def journal_entries(lane: Lane) -> list[dict[str, Any]]:
    with Journal.open_readonly(lane.folder / "journal.db") as journal:
        return [e.as_dict() for e in journal.entries()]


def check_books(lane: Lane, bookings: list[Booking], tally: Tally | None = None) -> None:
    """The terminal's ledger against the journal (after a recovery)."""
    entries = journal_entries(lane)
    state = replay(entries, lane.terminal)
    assert state.open_sale is None, f"{lane.terminal}: a sale is still open after recovery"
    pending = {e["body"]["ref"]: e for e in entries if e["kind"] == "payment.pending"}
    results = {e["body"]["pending_seq"]: e["body"] for e in entries
               if e["kind"] == "payment.result"}
    left = [e["seq"] for e in pending.values() if e["seq"] not in results]
    assert not left, f"{lane.terminal}: payment.pending {left} never resolved"
    tenders: Counter[str] = Counter()
    amounts: dict[str, int] = {}
    for e in entries:
        for t in e["body"]["tenders"] if e["kind"] == "sale" else ():
            if t["kind"] != "cash":
                tenders[t["ref"]] += 1
                amounts[t["ref"]] = int(t["amount"])
    ours = [b for b in bookings if b.ref.startswith(lane.terminal + "-")]
    reversed_receipts = {b.original_receipt for b in ours if b.op == "void" and b.approved}
    charges = [b for b in ours if b.op == "sale" and b.approved]
    declined = [b for b in ours if b.op == "sale" and not b.approved]
    lost = double = 0
    for b in charges:
        assert b.ref in pending, f"charge {b.ref} was sent without a journaled payment.pending"
        if b.receipt_no in reversed_receipts:
            void = pending.get(b.ref + "-V")
            assert void is not None and results[void["seq"]]["approved"], \
                f"charge {b.ref} was reversed at the terminal but the journal has no reversal"
            double += tenders[b.ref]  # reversed, yet a sale still counts it
        elif tenders[b.ref] != 1:
            lost += tenders[b.ref] == 0
            double += tenders[b.ref] > 1
        else:
            assert amounts[b.ref] == b.amount, f"charge {b.ref}: ¥{b.amount} vs the tender"
    unbacked = set(tenders) - {b.ref for b in charges if b.receipt_no not in reversed_receipts}
    assert not unbacked, f"sale tenders {unbacked} have no unreversed charge at the terminal"
    if tally is not None:
        tally.charges += len(charges)
        tally.declined += len(declined)
        tally.reversed += len(reversed_receipts)
        tally.lost += lost
        tally.double += double
    assert lost == 0 and double == 0, f"{lane.terminal}: lost {lost}, double {double}"
    check_acks(lane, entries)


def check_acks(lane: Lane, entries: list[dict[str, Any]]) -> None:
    acks = lane.folder / "acks.txt"
    for line in acks.read_text("utf-8").splitlines() if acks.exists() else ():
        seq, digest, _receipt = line.split()
        assert int(seq) <= len(entries), f"acknowledged sale seq {seq} is not in the journal"
        entry = entries[int(seq) - 1]
        assert entry["hash"] == digest and entry["kind"] == "sale", f"ack {line} != journal"
    report = verify_path(lane.folder / "journal.db", key_path=lane.folder / "terminal.key")
    assert report.ok and report.key_pinned, f"{lane.terminal}: {report.finding}"


def end_lane(lane: Lane, printer: NetworkPrinterSimulator, tally: Tally) -> None:
    """The journal through the CLI, and every acknowledged receipt on paper."""
    done = subprocess.run(cli_command("journal", "verify", str(lane.folder / "journal.db"),
                                      "--key", str(lane.folder / "terminal.key")),
                          capture_output=True, text=True, cwd=ROOT, timeout=TIMEOUT)
    assert done.returncode == 0, done.stdout + done.stderr
    acks = lane.folder / "acks.txt"
    receipts = [ln.split()[2] for ln in acks.read_text("utf-8").splitlines()] \
        if acks.exists() else []
    printed = "\n".join(page.text for page in printer.pages)
    missing = [r for r in receipts if f"No. {r}\n" not in printed + "\n"]
    assert not missing, f"acknowledged receipts never printed: {missing}"
    tally.acked += len(receipts)


def crash_suite(tmp_path: Path, runs: int, seed: int) -> Tally:
    tally = Tally()
    tmp_path.mkdir(exist_ok=True)
    with ZvtSimulator(tmp_path / "zvt-ledger.jsonl") as zvt, \
            NetworkPrinterSimulator(port=0) as printer:
        zygote = Zygote(tmp_path / "driver.log")
        try:
            lanes(tmp_path, runs, seed, (zvt, printer), zygote, tally)
        finally:
            zygote.close()
        assert SimLedger(tmp_path / "zvt-ledger.jsonl").bookings == zvt.ledger.bookings
    return tally


def lanes(tmp_path: Path, runs: int, seed: int,
          sims: tuple[ZvtSimulator, NetworkPrinterSimulator], zygote: Zygote,
          tally: Tally) -> None:
    """Lanes of RUNS_PER_LANE kills, each lane one counter with its own journal."""
    rng = random.Random(seed)
    zvt, printer = sims
    zvt_port = zvt.serve_tcp()
    for n in range(0, runs, RUNS_PER_LANE):
        folder = tmp_path / f"lane-{n:04d}"
        folder.mkdir()
        lane = Lane(folder, f"crash-{seed}-{n:04d}", zvt_port, printer.port, seed + n)
        declines = n // RUNS_PER_LANE % 5 == 2  # one lane in five: every card declined
        zvt.set_fault("decline" if declines else None)
        child = zygote.spawn()
        recover(child, lane, tally)
        for _ in range(min(RUNS_PER_LANE, runs - n)):
            kill_once(child, rng, tally, declines)
            child = zygote.spawn()  # the "recover mode" of the next process, which may die
            busy = replay(journal_entries(lane), lane.terminal).open_sale is not None
            point = rng.choice(RECOVERY_POINTS) if busy and rng.random() < 0.5 else ""
            if not recover(child, lane, tally, point):
                child = zygote.spawn()  # inside the recovery too: once more
                assert recover(child, lane, tally)
            check_books(lane, zvt.ledger.bookings)
            tally.runs += 1
        child.send("quit")  # recovered: it exits
        assert child.rest() == [] and child.code == 0, child.lines.stderr()
        check_books(lane, zvt.ledger.bookings, tally)
        end_lane(lane, printer, tally)


def report(tally: Tally, seconds: float) -> None:
    assert tally.kills["payment"] >= tally.runs // 4 and tally.kills["printing"] >= tally.runs // 10
    assert tally.pending_resolved > 0 and tally.charges > tally.runs
    assert tally.declined > 0 or tally.runs <= 2 * RUNS_PER_LANE  # lane 3 declines
    print(f"\nkill -9 inside payment/printing: runs {tally.runs}, kills inside payment "
          f"{tally.kills['payment']}, inside printing {tally.kills['printing']}, between sales "
          f"{tally.kills['idle']}, inside recovery {tally.kills['recovery']}; pending resolved "
          f"{tally.pending_resolved} "
          f"({tally.resolved_approved} approved), sales completed on recovery "
          f"{tally.completed_on_recovery}, cancelled {tally.cancelled_on_recovery}; charges "
          f"{tally.charges}, reversed {tally.reversed}, declined {tally.declined}, "
          f"acknowledged sales {tally.acked}; "
          f"lost sales {tally.lost}, double charges {tally.double}; {seconds:.1f} s")
    print("kill points: " + ", ".join(f"{k} {v}" for k, v in sorted(tally.points.items())))


def test_kill_minus_nine_inside_payment_and_printing(tmp_path: Path) -> None:
    start = time.monotonic()
    report(crash_suite(tmp_path, RUNS, seed=20261126), time.monotonic() - start)


@pytest.mark.slow
def test_kill_minus_nine_inside_payment_many_runs(tmp_path: Path) -> None:
    start = time.monotonic()
    tally = Tally()
    for chunk in range(5):  # a fresh terminal per 200 runs: its receipt numbers wrap at 9999
        part = crash_suite(tmp_path / f"chunk-{chunk}", 200, seed=7000 + chunk * 1000)
        for name, value in vars(part).items():
            if isinstance(value, Counter):
                getattr(tally, name).update(value)
            else:
                setattr(tally, name, getattr(tally, name) + value)
    report(tally, time.monotonic() - start)
