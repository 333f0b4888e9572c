"""Issue 6's proof: seeded city runs (``citysim``) against the real server code, each checked
against the rules of ``citychecks`` (budget, cap, every award accounted for, order-independent
statement and rebuild, a verifying ledger chain, balances reconciled).

The default run plays 100 seeds; ``-m slow`` plays 1,000. Each prints its counts and wall
time at the end (past pytest's capture, so they show in every run)."""

from __future__ import annotations

import tempfile
import time
from dataclasses import asdict, fields
from pathlib import Path

import pytest
from points.citychecks import Counts, check_city
from points.citysim import SHM, City, Stats

FAST_RUNS, SLOW_RUNS = 100, 1000


def play(seeds: range, capsys: pytest.CaptureFixture[str]) -> tuple[dict[str, int], list[str]]:
    """Run every seed; the summed counts and every violation (with its seed)."""
    started = time.perf_counter()
    totals: dict[str, int] = {"runs": 0}
    problems: list[str] = []
    for seed in seeds:
        with tempfile.TemporaryDirectory(dir=SHM if SHM.is_dir() else None) as name:
            city = City(seed, Path(name))
            try:
                city.run()
                found, counts = check_city(city, Path(name))
            finally:
                city.close()
        problems += [f"seed {seed}: {p}" for p in found]
        totals["runs"] += 1
        for source in (asdict(city.stats), asdict(counts)):
            for key, value in source.items():
                if key in ("max_granted", "max_card_total", "budget_used"):
                    totals[f"max {key}"] = max(totals.get(f"max {key}", 0), int(value))
                else:
                    totals[key] = totals.get(key, 0) + int(value)
    totals["violations"] = len(problems)
    totals["wall ms"] = int((time.perf_counter() - started) * 1000)
    with capsys.disabled():
        print("\npoints simulation: " + ", ".join(f"{k} {v:,}" for k, v in totals.items()))
    return totals, problems


def _assert_exercised(totals: dict[str, int], runs: int) -> None:
    """The runs did reach what they are meant to prove (else a pass proves nothing)."""
    assert totals["runs"] == runs
    for name in ("offline_periods", "awards", "corrections", "clawbacks", "redemptions",
                 "offline_redemptions", "refunds", "foreign_refunds", "voids", "lost_answers",
                 "quota_short", "transfers"):
        assert totals[name] > 0, f"no {name} in {runs} runs"
    assert totals["max max_granted"] == 20_000  # the budget binds
    assert totals["max max_card_total"] == 600  # the cap binds


def test_seeded_city_runs_keep_every_points_rule(capsys: pytest.CaptureFixture[str]) -> None:
    totals, problems = play(range(FAST_RUNS), capsys)
    assert problems == [], "\n".join(problems[:20])
    _assert_exercised(totals, FAST_RUNS)


@pytest.mark.slow
@pytest.mark.timeout(3600)  # about a second a run: past the suite's 600 s default
def test_a_thousand_seeded_city_runs_keep_every_points_rule(
    capsys: pytest.CaptureFixture[str],
) -> None:
    totals, problems = play(range(10_000, 10_000 + SLOW_RUNS), capsys)
    assert problems == [], "\n".join(problems[:20])
    _assert_exercised(totals, SLOW_RUNS)


def test_the_counts_name_every_stat() -> None:
    """The printed counts cover the run's stats and the checks' counts."""
    names = {f.name for f in fields(Stats)} | {f.name for f in fields(Counts)}
    assert {"terminals", "offline_periods", "awards", "corrections", "clawbacks",
            "redemptions", "budget_used", "max_card_total"} <= names
