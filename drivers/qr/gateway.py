"""The QR gateway port as this package needs it (a proposal to extend terminal.ports.QrGateway).

``terminal.ports.QrGateway`` has charge / refund / last_result. A counter that shows a dynamic
merchant-presented code, cancels an unknown outcome, or refunds a payment needs more; until the
core adopts it, drivers implement this extended Protocol.
"""

from __future__ import annotations

from typing import Protocol

from terminal.errors import DeviceTimeout, DeviceUnavailable
from terminal.ports import PaymentResult, QrGateway


class GatewayNoAnswer(DeviceTimeout):
    """The request may have reached the gateway but no answer came: outcome unknown.

    Resolve with ``last_result(ref)`` (never by charging again with a new ref)."""


class GatewayPending(DeviceTimeout):
    """The gateway accepted the request but it is not final yet (user confirmation, ...)."""


class GatewayAuthError(DeviceUnavailable):
    """The gateway refused our credentials: check the API key/secret configuration."""


class QrGatewayFull(QrGateway, Protocol):
    def create_dynamic_code(self, amount: int, ref: str) -> str:
        """Create a code the visitor scans to pay ``amount`` yen; returns the text to render."""
        ...

    def dynamic_status(self, ref: str) -> PaymentResult | None:
        """The final outcome of a dynamic code, or ``None`` while the visitor has not paid."""
        ...

    def cancel(self, ref: str) -> PaymentResult:
        """Cancel the payment (or code) ``ref``: reverses it if it went through."""
        ...

    def refund(self, amount: int, ref: str, original_ref: str = "") -> PaymentResult:
        """Refund ``amount`` yen of payment ``original_ref``; ``ref`` is the refund's own id."""
        ...


__all__ = ["GatewayAuthError", "GatewayNoAnswer", "GatewayPending", "QrGatewayFull"]
