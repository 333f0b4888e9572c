"""[points] in a kiosk config: defaults, every key checked with its key path and what is
valid, and the Hachinohe samples enabling the campaign where the facility takes part."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk_config.errors import ConfigInvalid
from kiosk_config.loader import load_config
from madoguchi.paths import SAMPLES
from terminal.points import PointsRules

BASE = """\
[facility]
id = "test-facility"
name_ja = "テスト館"

[terminal]
id = "test-01"
tenders = ["cash"]

[[accounts]]
id = "general"
name = "一般会計"
issuer = "八戸市"

[[categories]]
id = "admission"
name_ja = "観覧料"

[[fees]]
code = "adult"
name_ja = "一般"
category = "admission"
price = 250
tax_class = "std10"
accounting_code = "14-01-01"
account = "general"

[[fees]]
code = "child"
name_ja = "小人"
category = "admission"
price = 100
tax_class = "std10"
accounting_code = "14-01-01"
account = "general"
"""


def load(tmp_path: Path, points: str) -> PointsRules | None:
    path = tmp_path / "points.toml"
    path.write_text(BASE + "\n[points]\n" + points, encoding="utf-8")
    return load_config(path).points


def problems(tmp_path: Path, points: str) -> list[tuple[str, str, str]]:
    with pytest.raises(ConfigInvalid) as info:
        load(tmp_path, points)
    return [(p.key_path, p.message, p.valid) for p in info.value.problems]


def test_an_empty_points_table_takes_the_campaign_defaults(tmp_path: Path) -> None:
    rules = load(tmp_path, "")
    assert rules == PointsRules()
    assert (rules.points_per_use, rules.per_person_cap, rules.campaign_budget) == (
        200, 3000, 2_000_000)
    assert rules.expiry_days is None and rules.offline_redemption_limit == 0
    assert rules.yen_per_point == 1 and rules.enabled and rules.eligible_items == ()


def test_every_key_is_read(tmp_path: Path) -> None:
    rules = load(tmp_path, 'enabled = false\npoints_per_use = 100\nper_person_cap = 1000\n'
                           'campaign_budget = 5000\nyen_per_point = 2\nexpiry_days = 180\n'
                           'eligible_items = ["adult"]\noffline_redemption_limit = 300\n')
    assert rules == PointsRules(100, 1000, 5000, 2, 180, ("adult",), False, 300)


@pytest.mark.parametrize(
    ("text", "key", "words"),
    [
        ("points_per_use = 0", "points.points_per_use", "below 1"),
        ("points_per_use = 2.5", "points.points_per_use", "not an integer"),
        ("per_person_cap = -1", "points.per_person_cap", "negative"),
        ("per_person_cap = 100", "points.per_person_cap", "below points_per_use"),
        ("campaign_budget = 2000", "points.campaign_budget", "below per_person_cap"),
        ("campaign_budget = 99999999999", "points.campaign_budget", "too large"),
        ("yen_per_point = 0", "points.yen_per_point", "below 1"),
        ("expiry_days = 0", "points.expiry_days", "below 1"),
        ("expiry_days = 5000", "points.expiry_days", "too large"),
        ('expiry_days = "never"', "points.expiry_days", "not an integer"),
        ("offline_redemption_limit = -5", "points.offline_redemption_limit", "negative"),
        ('enabled = "yes"', "points.enabled", "not true or false"),
        ('eligible_items = "adult"', "points.eligible_items", "not a list"),
        ('eligible_items = ["adult", "adult"]', "points.eligible_items[1]", "listed twice"),
        ('eligible_items = [""]', "points.eligible_items[0]", "is empty"),
        ('eligible_items = ["nope"]', "points.eligible_items[0]", "unknown fee code"),
        ("points_per_visit = 200", "points.points_per_visit", "did you mean"),
    ],
)
def test_a_wrong_value_names_its_key_and_what_is_valid(
    tmp_path: Path, text: str, key: str, words: str
) -> None:
    found = problems(tmp_path, text + "\n")
    assert any(k == key and words in message and valid for k, message, valid in found), found


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    found = problems(tmp_path, "points_per_use = 0\nyen_per_point = 0\nexpiry_days = 0\n")
    assert {k for k, _, _ in found} == {"points.points_per_use", "points.yen_per_point",
                                        "points.expiry_days"}
    assert all(valid for _, _, valid in found)


def test_the_participating_samples_enable_the_documented_campaign() -> None:
    enabled = []
    for name in ("museum-01", "korekawa-01", "art-museum-01", "book-center-01",
                 "fukushi-gym-01"):
        config = load_config(SAMPLES / f"{name}.toml")
        assert config.points == PointsRules(), name  # 200 / 3,000 / 2,000,000, 1 yen, none
        assert "points" in config.tenders and "card_reader" in config.devices, name
        enabled.append(name)
    assert len(enabled) == 5
    mariento = load_config(SAMPLES / "mariento-01.toml")  # participation not confirmed
    assert mariento.points is not None and not mariento.points.enabled
    for name in ("shimin-ka-01", "shisanzei-ka-01"):  # certificates earn no points
        assert load_config(SAMPLES / f"{name}.toml").points is None
