"""QR codes at the counter: scanners (serial, keyboard wedge), EMVCo merchant-presented
payloads, rendering, and a PayPay-OPA-shaped payment gateway with its simulator.

For the CLI: ``emv_payload_for``, ``render_png``, ``self_test_scanner``.
"""

from __future__ import annotations

from drivers.qr.emv import EmvError, EmvPayload, MerchantAccount, MerchantInfo, emv_payload_for
from drivers.qr.render import render_png
from drivers.qr.scanner import self_test_scanner

__all__ = ["EmvError", "EmvPayload", "MerchantAccount", "MerchantInfo", "emv_payload_for",
           "render_png", "self_test_scanner"]
