"""Fakes and steps shared by the UI tests."""

from __future__ import annotations

import queue
import random
from pathlib import Path
from typing import Any

from drivers.inprocess import InProcessPaymentTerminal
from drivers.printer import EscposPrinter
from drivers.printer.simulator import NetworkPrinterSimulator
from terminal.errors import DeviceError
from terminal.ports import CardEvent, CardRemovedEvent, CardTapped, PaymentResult
from ui.app import App

TIMEOUT_MS = 10_000


class FakeCardReader:
    """The CardReader port fed by the test: ``tap`` / ``remove`` queue events."""

    name = "fake reader"
    status: DeviceError | None = None

    def __init__(self) -> None:
        self.events: queue.Queue[CardEvent] = queue.Queue()

    def tap(self, idm: bytes = bytes.fromhex("0102030405060708")) -> None:
        self.events.put(CardTapped(idm, bytes(8), 0x0003, self.name))

    def remove(self) -> None:
        self.events.put(CardRemovedEvent(self.name))

    def poll(self, timeout: float) -> CardEvent | None:
        try:
            return self.events.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        pass


class FakeQrScanner:
    def __init__(self) -> None:
        self.codes: queue.Queue[str] = queue.Queue()

    def scan(self, code: str) -> None:
        self.codes.put(code)

    def read(self, timeout: float) -> str | None:
        try:
            return self.codes.get(timeout=timeout)
        except queue.Empty:
            return None


def emv_like(amount: int, ref: str) -> str:
    return f"00020101021252049399530339254{len(str(amount)):02d}{amount}5802JP62{ref}"


def network_printer(sim: NetworkPrinterSimulator) -> EscposPrinter:
    return EscposPrinter.from_config({"connection": "network", "host": sim.host,
                                      "port": sim.port, "timeout": 2})


def ledger_terminal(tmp_path: Path, decline: float = 0.0) -> InProcessPaymentTerminal:
    return InProcessPaymentTerminal(random.Random(1), decline, tmp_path / "payterm.jsonl")


def wait_idle(qtbot: Any, app: App) -> None:
    qtbot.waitUntil(lambda: not app.runner.busy, timeout=TIMEOUT_MS)


def login(qtbot: Any, app: App, clerk: str = "c1", pin: str = "1111") -> None:
    screen = app.clerk.screens["login"]
    screen.choose(clerk)  # type: ignore[attr-defined]
    screen.pad.type_digits(pin)  # type: ignore[attr-defined]
    screen.login_button.click()  # type: ignore[attr-defined]
    wait_idle(qtbot, app)


def approve(qtbot: Any, app: App, pin: str = "9999", supervisor: str = "sup1") -> None:
    screen = app.clerk.screens["approval"]
    assert app.clerk.current() == "approval"
    screen.choose(supervisor)  # type: ignore[attr-defined]
    screen.pad.type_digits(pin)  # type: ignore[attr-defined]
    screen.approve_button.click()  # type: ignore[attr-defined]
    wait_idle(qtbot, app)


def ring_up(qtbot: Any, app: App, *codes: str) -> None:
    app.clerk.go("sale")
    sale = app.clerk.screens["sale"]
    for code in codes:
        item = app.context.counter.catalogue.item(code)
        sale.set_category(item.category)  # type: ignore[attr-defined]
        sale.item_buttons[code].click()  # type: ignore[attr-defined]
    sale.pay_button.click()  # type: ignore[attr-defined]
    wait_idle(qtbot, app)
    assert app.clerk.current() == "payment"


def kinds(app: App) -> list[str]:
    return [e.kind for e in app.context.counter.journal.entries()]




class FakeGateway:
    """The QrGateway port in memory; ``pay(ref)`` is the visitor paying a shown code.
    Records the threads it was called on (the UI must never call it on the GUI thread)."""

    def __init__(self) -> None:
        self.status: dict[str, str] = {}
        self.amounts: dict[str, int] = {}
        self.calls: list[tuple[str, ...]] = []
        self.threads: set[str] = set()

    def _seen(self, *call: str) -> None:
        import threading

        self.threads.add(threading.current_thread().name)
        self.calls.append(call)

    def _result(self, ref: str, approved: bool) -> PaymentResult:
        return PaymentResult(approved=approved, amount=self.amounts.get(ref, 0), kind="qr",
                             approval_code=f"P{ref}" if approved else "", brand="FakePay",
                             ref=ref, message=self.status.get(ref, ""))

    def charge(self, amount: int, customer_code: str, ref: str) -> PaymentResult:
        self._seen("charge", ref, customer_code)
        self.amounts[ref], self.status[ref] = amount, "COMPLETED"
        return self._result(ref, True)

    def create_dynamic_code(self, amount: int, ref: str) -> str:
        self._seen("code", ref)
        self.amounts[ref], self.status[ref] = amount, "CREATED"
        return f"https://qr.example/{ref}"

    def pay(self, ref: str, status: str = "COMPLETED") -> None:
        self.status[ref] = status

    def codes(self) -> list[str]:
        return [call[1] for call in self.calls if call[0] == "code"]

    def dynamic_status(self, ref: str) -> PaymentResult | None:
        self._seen("status", ref)
        status = self.status.get(ref)
        return None if status in (None, "CREATED") else self._result(ref, status == "COMPLETED")

    def cancel(self, ref: str) -> PaymentResult:
        self._seen("cancel", ref)
        self.status[ref] = "CANCELED"
        return PaymentResult(approved=True, amount=0, kind="qr", ref=ref, message="cancel")

    def refund(self, amount: int, ref: str, original_ref: str = "") -> PaymentResult:
        self._seen("refund", ref, original_ref)
        self.amounts[ref], self.status[ref] = amount, "COMPLETED"
        return self._result(ref, True)

    def last_result(self, ref: str) -> PaymentResult | None:
        status = self.status.get(ref)
        return None if status in (None, "CREATED") else self._result(ref, status == "COMPLETED")
