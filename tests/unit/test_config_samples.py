"""The sample configurations that ship in the wheel all load, and say what is a sample."""

from __future__ import annotations

from pathlib import Path

import pytest

import kiosk_config
from kiosk_config.loader import check_path, load_config

SAMPLES = Path(kiosk_config.__file__).parent / "samples"
CONFIGS = sorted(SAMPLES.glob("*.toml"))


def test_there_is_a_config_per_counter() -> None:
    assert len(CONFIGS) == 8


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_sample_loads(path: Path) -> None:
    config = load_config(path)
    assert config.terminal_id == f"hachinohe-{path.stem}"
    assert config.server_url == "http://127.0.0.1:8765"
    assert all(d.driver == "simulator" for d in config.devices.values())
    assert config.data_dir == SAMPLES / "data" / config.terminal_id
    assert config.catalogue.items
    for item in config.catalogue.items:
        account = config.catalogue.account(item.account)
        assert account.issuer == "八戸市"


def test_check_path_on_samples_finds_nothing() -> None:
    results = check_path(SAMPLES)
    assert len(results) == len(CONFIGS)
    assert all(problems == [] for _, problems in results)


def test_certificate_fees_are_exempt_and_without_points() -> None:
    for name in ("shimin-ka-01.toml", "shisanzei-ka-01.toml"):
        config = load_config(SAMPLES / name)
        assert config.points is None and "points" not in config.tenders
        assert {i.tax_class for i in config.catalogue.items} == {"exempt"}
    shimin = load_config(SAMPLES / "shimin-ka-01.toml").catalogue
    assert shimin.item("koseki-tohon").unit_price == 450
    assert shimin.item("joseki-tohon").unit_price == 750
    assert shimin.item("koseki-kisai").unit_price == 350


def test_facility_fees() -> None:
    museum = load_config(SAMPLES / "museum-01.toml")
    assert museum.points is not None and museum.points.points_per_use == 200
    assert museum.points.per_person_cap == 3000 and museum.points.campaign_budget == 2_000_000
    admission = museum.catalogue.item("museum-admission")
    assert (admission.price_for(), admission.price_for("student")) == (250, 150)
    group = museum.catalogue.item("museum-admission-group")
    assert (group.price_for(), group.price_for("student")) == (130, 80)
    assert museum.catalogue.item("museum-admission-child").unit_price == 0
    gym = load_config(SAMPLES / "fukushi-gym-01.toml").catalogue
    slots = {i.time_slot.label: i.unit_price for i in gym.items if i.time_slot}
    assert slots == {
        "09:00-12:00": 1600,
        "12:00-17:00": 2610,
        "17:00-21:00": 3380,
        "09:00-21:00": 7250,
    }
    mariento = load_config(SAMPLES / "mariento-01.toml").catalogue.item("mariento-admission")
    assert [mariento.price_for(v) for v in ("general", "senior", "high_school", "child")] == [
        300,
        150,
        200,
        100,
    ]
    book = load_config(SAMPLES / "book-center-01.toml").catalogue
    assert book.item("cafe-coffee-takeout").tax_class == "red8"
    assert book.item("cafe-coffee-eatin").tax_class == "std10"
    assert book.account(book.item("cafe-coffee-eatin").account).id != "general"


def test_unpublished_values_are_marked_as_samples() -> None:
    marker = "# sample value: not the city's published fee"
    for name in ("shimin-ka-01.toml", "shisanzei-ka-01.toml"):
        text = (SAMPLES / name).read_text(encoding="utf-8")
        for line in text.splitlines():
            if line.startswith("price = 300"):
                assert marker in line
    art = (SAMPLES / "catalogues" / "art-museum.toml").read_text(encoding="utf-8")
    assert marker in art
