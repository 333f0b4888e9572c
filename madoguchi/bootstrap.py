"""The composition root: builds a counter from a kiosk config. Nothing is built at import."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from pathlib import Path

from drivers.inprocess import InProcessPaymentTerminal
from kiosk_config.schema import KioskConfig
from terminal.clerks import Clerk
from terminal.counter import Counter, CounterSettings
from terminal.journal import Journal, TerminalKey
from terminal.points import PointsRules
from terminal.ports import Clock, PaymentTerminal, PointsService, QrGateway


def settings_from(config: KioskConfig) -> CounterSettings:
    return CounterSettings(
        terminal=config.terminal_id,
        rounding=config.rounding,
        tenders=tuple(config.tenders),
        training_allowed=config.training_allowed,
        facility=config.facility_id,
    )


def open_journal(journal_path: Path, key_path: Path, terminal: str,
                 new_id: Callable[[], str] | None = None) -> Journal:
    key = TerminalKey.load_or_create(key_path)
    if new_id is None:
        return Journal.open(journal_path, terminal, key)
    return Journal.open(journal_path, terminal, key, new_id=new_id)


def payment_terminal_for(config: KioskConfig, rng: random.Random,
                         ledger_path: Path | None) -> PaymentTerminal | None:
    device = config.devices.get("payment_terminal")
    if device is None:
        return None
    if device.driver == "simulator":
        decline = device.params.get("decline_rate", 0.03)
        rate = float(decline) if isinstance(decline, int | float) else 0.03
        return InProcessPaymentTerminal(rng, rate, ledger_path)
    raise NotImplementedError(
        f"payment terminal driver {device.driver!r} arrives with the devices issue; "
        "use driver = \"simulator\""
    )


def build_counter(config: KioskConfig, journal: Journal, clock: Clock,
                  clerks: Mapping[str, Clerk],
                  payment_terminal: PaymentTerminal | None, *,
                  qr_gateway: QrGateway | None = None,
                  points: PointsService | None = None) -> Counter:
    """``qr_gateway``: QR through the gateway (else through the payment terminal);
    ``points``: the はちのへポイント service (awards and the points tender follow [points];
    without that table the programme is off at this counter)."""
    return Counter(
        journal=journal,
        catalogue=config.catalogue,
        settings=settings_from(config),
        clerks=clerks,
        clock=clock,
        payment_terminal=payment_terminal,
        qr_gateway=qr_gateway,
        points=points,
        points_rules=config.points if config.points is not None else PointsRules(enabled=False),
    )
