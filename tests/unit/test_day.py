"""Business days are cut by closing.z entries, not by the clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from terminal.day import TOKYO, business_day, format_at


def test_first_entry_opens_the_tokyo_date() -> None:
    assert business_day(None, None, datetime(2026, 11, 26, 9, 0, tzinfo=TOKYO)) == "2026-11-26"
    # 16:00 UTC on the 25th is 01:00 on the 26th in Tokyo
    assert business_day(None, None, datetime(2026, 11, 25, 16, 0, tzinfo=UTC)) == "2026-11-26"


def test_day_continues_past_midnight_until_a_closing() -> None:
    late = datetime(2026, 11, 27, 0, 30, tzinfo=TOKYO)
    assert business_day("sale", "2026-11-26", late) == "2026-11-26"
    assert business_day("training.closing.z", "2026-11-26", late) == "2026-11-26"
    assert business_day("closing.z", "2026-11-26", late) == "2026-11-27"


def test_after_a_closing_the_same_date_may_open_again() -> None:
    same = datetime(2026, 11, 26, 18, 0, tzinfo=TOKYO)
    assert business_day("closing.z", "2026-11-26", same) == "2026-11-26"


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        business_day(None, None, datetime(2026, 11, 26, 9, 0))
    with pytest.raises(ValueError, match="naive"):
        format_at(datetime(2026, 11, 26, 9, 0))


def test_missing_previous_day_is_refused() -> None:
    with pytest.raises(ValueError, match="previous"):
        business_day("sale", None, datetime(2026, 11, 26, 9, 0, tzinfo=TOKYO))


def test_format_at() -> None:
    at = datetime(2026, 11, 26, 9, 1, 0, 123456, tzinfo=TOKYO)
    assert format_at(at) == "2026-11-26T09:01:00+09:00"
    assert format_at(datetime(2026, 11, 26, 0, 1, tzinfo=UTC)) == "2026-11-26T00:01:00+00:00"
    odd = timezone(timedelta(hours=9, seconds=30))
    with pytest.raises(ValueError, match="whole minutes"):
        format_at(datetime(2026, 11, 26, tzinfo=odd))
