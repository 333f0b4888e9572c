"""``madoguchi simulate --cards``: simulated Hachica cards earn points headless, online and
with the points service unreachable for a share of the sales; the journal keeps every rule."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

from madoguchi_testing import SAMPLES, run_cli

from terminal.journal import Journal
from terminal.points import is_card_token

CAP = 3000


def simulate(journal: Path, *extra: str, sales: int = 120) -> str:
    result = run_cli("simulate", "--config", str(SAMPLES / "museum-01.toml"),
                     "--journal", str(journal), "--sales", str(sales), "--days", "2",
                     "--seed", "11", *extra)
    assert result.returncode == 0, result.stderr
    return result.stdout


def entries(journal: Path) -> list[dict[str, Any]]:
    with Journal.open_readonly(journal) as j:
        return [e.as_dict() for e in j.entries()]


def body(entry: dict[str, Any]) -> dict[str, Any]:
    found = entry["body"]
    assert isinstance(found, dict)
    return found


def test_cards_earn_points_within_the_rules_and_the_summary_counts_them(
    tmp_path: Path,
) -> None:
    journal = tmp_path / "j.db"
    out = simulate(journal, "--cards", "3", "--offline-share", "0.3")
    found = re.search(r"points: (\d+) awards, ([\d,]+) points \((\d+) offline\)", out)
    assert found is not None, out
    awards = [e for e in entries(journal) if e["kind"] == "points.award"]
    assert int(found[1]) == len(awards) > 0
    assert int(found[2].replace(",", "")) == sum(int(body(a)["points"]) for a in awards)
    offline = [a for a in awards if body(a)["online"] is False]
    assert int(found[3]) == len(offline) > 0 and len(offline) < len(awards)
    all_entries = entries(journal)
    by_seq = {e["seq"]: e for e in all_entries}
    net: Counter[str] = Counter()
    for entry in all_entries:
        if entry["kind"] == "points.award":
            b = body(entry)
            assert is_card_token(str(b["card"])) and 0 < int(b["points"]) <= 200
            sale = by_seq[b["sale_seq"]]
            assert sale["kind"] == "sale" and entry["seq"] == sale["seq"] + 1
            net[str(b["card"])] += int(b["points"])
        elif entry["kind"] == "points.clawback":
            net[str(body(entry)["card"])] -= int(body(entry)["points"])
    assert len(net) <= 3 and all(points <= CAP for points in net.values())
    sale_seqs = [body(a)["sale_seq"] for a in awards]
    assert len(sale_seqs) == len(set(sale_seqs))  # one award per sale
    quota = sum(1 for e in all_entries if e["kind"] == "points.quota")
    assert quota > 0
    verified = run_cli("journal", "verify", str(journal))
    assert verified.returncode == 0, verified.stdout


def test_without_cards_nothing_about_points_is_journaled(tmp_path: Path) -> None:
    journal = tmp_path / "j.db"
    out = simulate(journal, sales=30)
    assert "points:" not in out
    assert not any(str(e["kind"]).startswith("points.") for e in entries(journal))


def test_bad_points_options_are_usage_errors(tmp_path: Path) -> None:
    result = run_cli("simulate", "--config", str(SAMPLES / "museum-01.toml"), "--journal",
                     str(tmp_path / "j.db"), "--sales", "1", "--cards", "2",
                     "--offline-share", "1.5")
    assert result.returncode == 2 and "--offline-share" in result.stderr
    result = run_cli("simulate", "--config", str(SAMPLES / "shimin-ka-01.toml"), "--journal",
                     str(tmp_path / "k.db"), "--sales", "1", "--cards", "2")
    assert result.returncode == 2 and "[points]" in result.stderr
