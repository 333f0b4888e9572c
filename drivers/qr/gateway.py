"""The QR gateway's errors, and ``QrGatewayFull`` (now the core's ``terminal.ports.QrGateway``:
charge, dynamic codes, cancel, refund, last_result; the name stays for existing imports).
"""

from __future__ import annotations

from typing import Protocol

from terminal.errors import DeviceTimeout, DeviceUnavailable
from terminal.ports import QrGateway


class GatewayNoAnswer(DeviceTimeout):
    """The request may have reached the gateway but no answer came: outcome unknown.

    Resolve with ``last_result(ref)`` (never by charging again with a new ref)."""


class GatewayPending(DeviceTimeout):
    """The gateway accepted the request but it is not final yet (user confirmation, ...)."""


class GatewayAuthError(DeviceUnavailable):
    """The gateway refused our credentials: check the API key/secret configuration."""


class QrGatewayFull(QrGateway, Protocol):
    """The core's QR gateway port, unchanged (kept for existing imports)."""


__all__ = ["GatewayAuthError", "GatewayNoAnswer", "GatewayPending", "QrGatewayFull"]
