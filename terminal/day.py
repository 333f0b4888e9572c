"""Business days and journal timestamps.

A business day is cut by closings, never by the clock: the first entry after a ``closing.z``
(or the very first entry) opens a new day dated by the Asia/Tokyo date of its terminal clock,
and every later entry keeps that day until the next ``closing.z``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo

TOKYO: Final = ZoneInfo("Asia/Tokyo")

CLOSING_KIND: Final = "closing.z"
"""The only kind that ends a business day (``training.closing.z`` does not)."""


def _require_aware(at: datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(
            f"naive datetime {at.isoformat()!r}: the terminal clock must give an aware datetime "
            "(with a UTC offset), e.g. datetime.now(TOKYO)"
        )


def business_day(previous_kind: str | None, previous_day: str | None, at: datetime) -> str:
    """The business day (``YYYY-MM-DD``) of an entry made at ``at``.

    ``previous_kind``/``previous_day`` describe the entry before it (``None`` for seq 1).
    """
    _require_aware(at)
    if previous_kind is None or previous_kind == CLOSING_KIND:
        return at.astimezone(TOKYO).date().isoformat()
    if previous_day is None:
        raise ValueError(
            f"previous entry of kind {previous_kind!r} has no business day; "
            "pass the previous entry's 'day'"
        )
    return previous_day


def format_at(dt: datetime) -> str:
    """RFC 3339 with offset at seconds precision, e.g. ``2026-11-26T09:01:00+09:00``."""
    _require_aware(dt)
    offset = dt.utcoffset()
    if offset is not None and (offset.seconds % 60 or offset.microseconds):
        raise ValueError(
            f"UTC offset {offset} of {dt!r} has seconds; RFC 3339 offsets are whole minutes"
        )
    return dt.isoformat(timespec="seconds")
