"""The campaign settings (one row of ``points_campaign``; the defaults until first set).

Defaults follow the Hachinohe campaign (``terminal.points.PointsRules``): 200 points per use,
3,000 per person, a 2,000,000-point budget, 1 yen per point; terminals get quota in chunks of
2,000 points.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any, Final

from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection

from sync.server.db import ServerError
from sync.server.points.ledger import lock_head, now_text
from sync.server.points.models import PointsCampaign, PointsQuota
from sync.server.sql import insert_ignore
from terminal.points import PointsRules

CAMPAIGN_ID: Final = 1
DEFAULT_QUOTA_CHUNK: Final = 2_000
_DEFAULTS: Final = PointsRules()


@dataclass(frozen=True, slots=True)
class Campaign:
    points_per_use: int = _DEFAULTS.points_per_use
    per_person_cap: int = _DEFAULTS.per_person_cap
    campaign_budget: int = _DEFAULTS.campaign_budget
    quota_chunk: int = DEFAULT_QUOTA_CHUNK
    yen_per_point: int = _DEFAULTS.yen_per_point
    redemption_enabled: bool = True

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def get_campaign(conn: Connection) -> Campaign:
    row = conn.execute(select(PointsCampaign).where(PointsCampaign.id == CAMPAIGN_ID)
                       ).mappings().one_or_none()
    if row is None:
        return Campaign()
    return Campaign(**{name: row[name] for name in Campaign.__dataclass_fields__})


def total_granted(conn: Connection) -> int:
    return int(conn.execute(select(func.coalesce(func.sum(PointsQuota.granted), 0))
                            ).scalar_one())


def _check(campaign: Campaign, granted: int) -> None:
    for name in ("points_per_use", "per_person_cap", "quota_chunk", "yen_per_point"):
        value = getattr(campaign, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ServerError(f"{name} must be a whole number >= 1 (got {value!r})")
    if campaign.campaign_budget < granted:
        raise ServerError(
            f"予算 {campaign.campaign_budget:,} は配分済み {granted:,} ポイントを下回ります "
            f"(the budget cannot be below the {granted:,} points already granted to terminals)")


def set_campaign(conn: Connection, actor: str, **changes: Any) -> Campaign:
    """Change the given settings (None values are left as they are); the new settings.
    A lower cap takes effect on the next settling of each card (``journal.rebuild``
    re-settles every card at once)."""
    lock_head(conn)  # the budget check and the grants are serialised on the ledger head
    unknown = set(changes) - set(Campaign.__dataclass_fields__)
    if unknown:
        raise ServerError(f"unknown campaign setting(s): {', '.join(sorted(unknown))}")
    campaign = replace(get_campaign(conn),
                       **{k: v for k, v in changes.items() if v is not None})
    _check(campaign, total_granted(conn))
    values = {**campaign.as_dict(), "updated_at": now_text(), "updated_by": actor[:100]}
    conn.execute(insert_ignore(conn, PointsCampaign.__table__, ["id"])
                 .values(id=CAMPAIGN_ID, **values))
    conn.execute(update(PointsCampaign).where(PointsCampaign.id == CAMPAIGN_ID)
                 .values(**values))
    return campaign
