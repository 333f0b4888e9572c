"""はちのへポイント rules: how many points a visit earns, the caps, and what a point is worth.

Pure values only; the points ledger itself is derived from journal entries.
"""

from __future__ import annotations

from dataclasses import dataclass


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
