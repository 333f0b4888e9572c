"""What a terminal's configuration holds, once loaded and checked."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from terminal.catalogue import Catalogue, Names
from terminal.money import RoundingMode
from terminal.points import PointsRules
from terminal.ports import TenderKind
from terminal.receipt import ReceiptHeader

SIMULATOR: Final = "simulator"

DEVICE_DRIVERS: Final[Mapping[str, tuple[str, ...]]] = {
    "card_reader": (SIMULATOR, "nfcpy", "pcsc"),
    "payment_terminal": (SIMULATOR, "zvt"),
    "qr_scanner": (SIMULATOR, "serial", "hid"),
    "qr_gateway": (SIMULATOR, "http"),
    "printer": (SIMULATOR, "escpos_usb", "escpos_serial", "escpos_network"),
    "drawer": (SIMULATOR, "escpos"),
}
"""Device kinds and the driver names valid for each ("simulator" is valid for every kind)."""

DEVICE_KINDS: Final[tuple[str, ...]] = tuple(DEVICE_DRIVERS)

TENDER_DEVICES: Final[Mapping[str, str]] = {
    "transit_ic": "payment_terminal",
    "emoney": "payment_terminal",
    "credit": "payment_terminal",
    "qr": "qr_gateway",
    "points": "card_reader",
}
"""The device a tender kind cannot be taken without."""

DEFAULT_LANGUAGES: Final[tuple[str, ...]] = ("ja", "en", "zh", "ko")
CLERK_LANGUAGES: Final[tuple[str, ...]] = ("ja", "en")


@dataclass(frozen=True, slots=True)
class DeviceConfig:
    """One device of the counter: its kind, its driver and the driver's parameters."""

    kind: str
    driver: str
    params: Mapping[str, object]

    @property
    def simulated(self) -> bool:
        return self.driver == SIMULATOR


@dataclass(frozen=True, slots=True)
class KioskConfig:
    """Everything one counter terminal needs to start, read from one TOML file."""

    source: Path
    facility_id: str
    facility_name: Names
    terminal_id: str
    catalogue: Catalogue
    tenders: tuple[TenderKind, ...]
    devices: Mapping[str, DeviceConfig]
    server_url: str | None
    points: PointsRules | None
    receipt: ReceiptHeader
    rounding: RoundingMode
    languages: tuple[str, ...]
    data_dir: Path
    journal_path: Path
    key_path: Path
    clerks_path: Path
    training_allowed: bool = True
    auto_lock_seconds: int = 120


__all__ = [
    "CLERK_LANGUAGES",
    "DEFAULT_LANGUAGES",
    "DEVICE_DRIVERS",
    "DEVICE_KINDS",
    "SIMULATOR",
    "TENDER_DEVICES",
    "DeviceConfig",
    "KioskConfig",
]
