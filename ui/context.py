"""What the composition root hands the UI: the counter, its devices and the demo simulators."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from terminal.counter import Counter
from terminal.ports import CardReader, PointsService, QrScanner, UploaderStatus
from terminal.receipt import Receipt, ReceiptHeader

CLERK_LANGUAGES: tuple[str, ...] = ("ja", "en")
CUSTOMER_LANGUAGES: tuple[str, ...] = ("ja", "en", "zh", "ko")


class ReceiptPrinter(Protocol):
    """What the UI needs of a printer (``drivers.printer.EscposPrinter`` fits)."""

    def print_receipt(self, receipt: Receipt, copies: Sequence[str] | None = None) -> object:
        ...

    def status(self) -> object:
        """An object with ``online``/``paper_out``/``cover_open`` booleans (PrinterStatus)."""
        ...


def _no_url(seq: int, entry_hash: str) -> str | None:
    return None


@dataclass(frozen=True)
class AppContext:
    """Everything the counter app runs on. Built by ``madoguchi`` (the composition root).

    ``languages``: the customer display's languages (a subset of ja, en, zh, ko; ja first).
    ``receipt_url(seq, hash)``: the verification URL printed as the receipt QR, or None.
    ``simulators``: for the demo's simulator panel: ``"payment"`` (an object with
    ``set_decline_rate(rate)`` or a ``_decline_rate`` attribute), ``"card"`` (``tap(idm)`` /
    ``remove()``), ``"printer"`` (a ``PrinterSimulator``: ``state``, ``pages``).
    ``qr_payload(amount, ref)``: the merchant-presented code to show on the customer display
    (e.g. ``drivers.qr.emv_payload_for``), or None when the counter shows none; with a QR
    gateway on the counter, the gateway's dynamic code is shown instead, and its payment is
    polled every ``qr_poll_interval_s`` seconds.
    """

    counter: Counter
    header: ReceiptHeader
    languages: tuple[str, ...] = CUSTOMER_LANGUAGES
    printer: ReceiptPrinter | None = None
    card_reader: CardReader | None = None
    qr_scanner: QrScanner | None = None
    uploader: UploaderStatus | None = None
    receipt_url: Callable[[int, str], str | None] = _no_url
    simulators: Mapping[str, object] = field(default_factory=dict)
    auto_lock_seconds: int = 120
    qr_payload: Callable[[int, str], str | None] | None = None
    clerk_language: str = "ja"
    status_interval_s: float = 5.0
    qr_poll_interval_s: float = 2.0
    # receipt_no -> the server's {terminal, seq, line, refunds} for another counter's sale
    # (None: unknown there; raises when unreachable); None without a server
    lookup_receipt: Callable[[str], Mapping[str, Any] | None] | None = None
    # はちのへポイント: the points service (the same object as ``counter.points``) and the key
    # a tapped card's IDm is hashed with (``terminal.points.card_token``); None: no points
    points: PointsService | None = None
    points_key: bytes | None = None
    # how often (seconds) to ask the points service for award quota while no sale is open;
    # 0: never (tests and counters without points)
    points_quota_interval_s: float = 0.0

    def __post_init__(self) -> None:
        unknown = [lang for lang in self.languages if lang not in CUSTOMER_LANGUAGES]
        if unknown or not self.languages:
            raise ValueError(
                f"customer languages must be a non-empty subset of {CUSTOMER_LANGUAGES}, "
                f"got {self.languages!r}"
            )
        if self.clerk_language not in CLERK_LANGUAGES:
            raise ValueError(f"clerk language must be one of {CLERK_LANGUAGES}")
        if self.points is not None and (not self.points_key
                                        or self.counter.points is not self.points):
            raise ValueError("points needs points_key, and counter.points must be the same "
                             "points service")
