"""What the core needs from the world, as small ports. ``drivers/`` implements each of them.

Each port is a ``typing.Protocol``: the core depends on the shape, never on a library.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from terminal.errors import DeviceError
from terminal.money import TaxClass

TenderKind = Literal["cash", "transit_ic", "emoney", "credit", "qr", "points"]
TENDER_KINDS: tuple[TenderKind, ...] = ("cash", "transit_ic", "emoney", "credit", "qr", "points")
PAYMENT_TERMINAL_KINDS: tuple[TenderKind, ...] = ("transit_ic", "emoney", "credit")


class Clock(Protocol):
    """The terminal clock: an aware datetime (with offset)."""

    def now(self) -> datetime: ...


@dataclass(frozen=True, slots=True)
class CardTapped:
    idm: bytes
    pmm: bytes
    system_code: int
    reader: str


@dataclass(frozen=True, slots=True)
class CardRemovedEvent:
    reader: str


CardEvent = CardTapped | CardRemovedEvent


class CardReader(Protocol):
    """A FeliCa reader. ``poll`` waits at most ``timeout`` seconds for the next event;
    ``status`` is None while the reader works, else the error that keeps it from working."""

    name: str

    @property
    def status(self) -> DeviceError | None: ...

    def poll(self, timeout: float) -> CardEvent | None: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class PaymentResult:
    """What a payment terminal or QR gateway answered (modeled on UnifiedPOS CAT)."""

    approved: bool
    amount: int
    kind: TenderKind
    approval_code: str = ""
    slip_no: str = ""
    brand: str = ""
    ref: str = ""
    message: str = ""


class PaymentTerminal(Protocol):
    """Authorize sale, void, refund and daily log; ``prompt`` receives the terminal's messages."""

    def authorize_sale(
        self, amount: int, kind: TenderKind, ref: str, prompt: Callable[[str], None]
    ) -> PaymentResult: ...

    def void(self, slip_no: str, amount: int, kind: TenderKind) -> PaymentResult: ...

    def refund(self, amount: int, kind: TenderKind, ref: str) -> PaymentResult: ...

    def daily_log(self) -> DailyLog: ...

    def last_result(self, ref: str) -> PaymentResult | None:
        """The outcome of the transaction sent with ``ref``, if the terminal remembers it
        (used to resolve a ``payment.pending`` after a crash or a dropped link)."""
        ...


@dataclass(frozen=True, slots=True)
class DailyLog:
    batch_no: str
    count: int
    total: int
    by_tender: dict[str, int]


class QrScanner(Protocol):
    def read(self, timeout: float) -> str | None: ...


class QrGateway(Protocol):
    """A QR payment gateway (PayPay-OPA-shaped): the visitor's code scanned at the counter
    (customer-presented, ``charge``) or a dynamic code the counter shows (merchant-presented,
    ``create_dynamic_code`` + ``dynamic_status``). ``ref`` is ours and unique per request:
    resending it never charges twice."""

    def charge(self, amount: int, customer_code: str, ref: str) -> PaymentResult:
        """Charge the code the visitor showed."""
        ...

    def create_dynamic_code(self, amount: int, ref: str) -> str:
        """Create a code the visitor scans to pay ``amount`` yen; returns the text to render."""
        ...

    def dynamic_status(self, ref: str) -> PaymentResult | None:
        """The final outcome of a dynamic code, or ``None`` while the visitor has not paid."""
        ...

    def cancel(self, ref: str) -> PaymentResult:
        """Cancel the payment (or code) ``ref``: reverses it if it went through. Approved means
        nothing stays charged for ``ref``."""
        ...

    def refund(self, amount: int, ref: str, original_ref: str = "") -> PaymentResult:
        """Refund ``amount`` yen of payment ``original_ref``; ``ref`` is the refund's own id."""
        ...

    def last_result(self, ref: str) -> PaymentResult | None:
        """The final outcome of ``ref`` (payment, code payment or refund); ``None`` when the
        gateway never received it."""
        ...


@dataclass(frozen=True, slots=True)
class CardPoints:
    """What the points service knows of one card (``card`` is its keyed hash)."""

    card: str
    balance: int  # points the card may spend now
    awarded: int  # points ever awarded to it and still standing (settled)
    cap_left: int  # points it may still earn under the per-person cap


@dataclass(frozen=True, slots=True)
class QuotaGrant:
    """The award quota the server allocated to this terminal from the campaign budget."""

    grant_id: str
    granted: int  # cumulative points granted to this terminal so far
    budget_left: int  # campaign points not yet granted to any terminal


class PointsService(Protocol):
    """The はちのへポイント service: balances and redemptions per card.

    ``card`` is always the card's keyed hash (``terminal.points.card_token``: HMAC-SHA256 of
    the IDm under the points key, lowercase hex), never the raw IDm. ``ref`` is ours and unique
    per request: sending it again never redeems twice. A result's ``amount`` counts points
    (the counter turns points into yen with ``PointsRules.yen_per_point``).
    """

    def balance(self, card: str) -> int:
        """The card's points balance (0 for a card the service does not know)."""
        ...

    def redeem(self, card: str, points: int, ref: str) -> PaymentResult:
        """Spend ``points`` of ``card``: kind "points"; not approved, with a message, when the
        balance is short (nothing is spent then)."""
        ...

    def cancel(self, ref: str) -> PaymentResult:
        """Cancel the redemption ``ref``: gives its points back if it went through, and refuses
        a late request with that ref. Approved means nothing stays spent for ``ref``."""
        ...

    def last_result(self, ref: str) -> PaymentResult | None:
        """The final outcome of ``ref``; ``None`` when the service never received it."""
        ...

    def card_points(self, card: str) -> CardPoints:
        """Balance, settled awards and cap room of ``card`` (zeros and the whole cap for a card
        the service does not know); a ``DeviceError`` when the service cannot be reached."""
        ...

    def refund(self, card: str, points: int, ref: str, original_ref: str) -> PaymentResult:
        """Give back ``points`` to ``card`` for a refunded points tender ``original_ref``;
        ``ref`` is the refund's own id (sending it again never restores twice)."""
        ...

    def request_quota(self, used: int) -> QuotaGrant:
        """Ask for award quota: ``used`` is how many points this terminal has awarded net of
        clawbacks; the answer tops it up while the campaign budget lasts (asking again without
        using any gives the same ``granted``)."""
        ...


@dataclass(frozen=True, slots=True)
class ReceiptLine:
    text: str
    double: bool = False


class Printer(Protocol):
    """Prints a rendered receipt; raises a ``DeviceError`` when it cannot."""

    def print_receipt(self, lines: list[ReceiptLine], qr: str | None) -> None: ...


class CashDrawer(Protocol):
    def open(self) -> None: ...


class UploaderStatus(Protocol):
    def pending(self) -> int: ...

    def last_success(self) -> datetime | None: ...

    def last_error(self) -> str | None: ...


__all__ = [
    "PAYMENT_TERMINAL_KINDS",
    "TENDER_KINDS",
    "CardEvent",
    "CardReader",
    "CardRemovedEvent",
    "CardTapped",
    "CashDrawer",
    "Clock",
    "DailyLog",
    "PaymentResult",
    "PaymentTerminal",
    "PointsService",
    "Printer",
    "QrGateway",
    "QrScanner",
    "ReceiptLine",
    "TaxClass",
    "TenderKind",
    "UploaderStatus",
]
