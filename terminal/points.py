"""はちのへポイント rules: how many points a visit earns, the caps, and what a point is worth.

Pure values only; the points ledger itself is derived from journal entries. A card is named
by ``card_token`` (HMAC-SHA256 of its IDm under the points key), never by its raw IDm; a screen
shows at most ``mask_idm``.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

CARD_TOKEN_HEX_LENGTH = 64
"""Length of a card token: SHA-256 in lowercase hex."""


def card_token(points_key: bytes, idm: bytes) -> str:
    """The card's name in journal entries and at the points service: HMAC-SHA256(points key,
    IDm) in lowercase hex. Without the key it cannot be traced back to the card."""
    if not points_key:
        raise ValueError("points key must not be empty")
    if not idm:
        raise ValueError("IDm must not be empty")
    return hmac.new(points_key, idm, hashlib.sha256).hexdigest()


def is_card_token(card: str) -> bool:
    """Whether ``card`` looks like a ``card_token`` (64 lowercase hex digits), not an IDm."""
    return len(card) == CARD_TOKEN_HEX_LENGTH and all(c in "0123456789abcdef" for c in card)


def mask_idm(idm: bytes) -> str:
    """The IDm as a screen may show it: its first 4 hex digits, the rest hidden."""
    return idm.hex().upper()[:4] + "…"


@dataclass(frozen=True, slots=True)
class PointsRules:
    """A facility's points programme (defaults follow the Hachinohe campaign).

    ``eligible_items`` lists the fee codes that earn points; empty means every item of an
    eligible facility. ``expiry_days`` None means points never expire. ``offline_redemption_limit``
    is how many points a visitor may spend while the counter cannot reach the server (0: none).
    """

    points_per_use: int = 200
    per_person_cap: int = 3000
    campaign_budget: int = 2_000_000
    yen_per_point: int = 1
    expiry_days: int | None = None
    eligible_items: tuple[str, ...] = ()
    enabled: bool = True
    offline_redemption_limit: int = 0

    def item_eligible(self, code: str) -> bool:
        """Whether the fee ``code`` earns points under these rules."""
        return self.enabled and (not self.eligible_items or code in self.eligible_items)
