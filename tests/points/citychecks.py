"""The rules a finished ``citysim.City`` must keep (issue 6's proof); each check returns the
violations it found (empty: kept).

(a) budget: the server's total grant never passed the budget (seen after every quota request),
    each counter's net awards stay within its grants, the standing total within the budget;
(b) cap: no card's standing total in the settled statement passes the cap;
(c) every journaled award is in the statement with its points, awarded = settled + corrected
    per award and in total, and the ledger's rows per award agree (``check``);
(d) replaying every journal into a fresh server (shuffled terminal order, random batch sizes)
    gives the identical statement, and ``rebuild`` of the original gives it too;
(e) the ledger's hash chain and signatures verify;
(f) ledger balance = statement balance + transfers, per card.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from points.citysim import BUDGET, CAP, City, fresh_server
from sqlalchemy import Engine

from sync.server.ingest import ingest_batch
from sync.server.points.campaign import total_granted
from sync.server.points.ledger import verify
from sync.server.points.statement import (
    check,
    ledger_balances,
    points_statement,
    rebuild,
    transfers,
)


@dataclass
class Counts:
    """What one run produced (summed over runs by the test)."""

    awards: int = 0
    corrections: int = 0
    clawbacks: int = 0
    budget_used: int = 0
    max_card_total: int = 0


def journal_points(city: City) -> tuple[dict[tuple[str, int], int], dict[str, int]]:
    """From the journals: every live award (terminal, seq) -> points; per terminal its net
    awards (own clawbacks subtracted) and, under "granted:" + terminal, its last grant."""
    awards: dict[tuple[str, int], int] = {}
    net: dict[str, int] = {}
    for till in city.tills:
        granted = 0
        for entry in till.journal.entries():
            if entry.kind == "points.award":
                awards[(till.name, entry.seq)] = int(entry.body["points"])
                net[till.name] = net.get(till.name, 0) + int(entry.body["points"])
            elif entry.kind == "points.clawback" and "award_terminal" not in entry.body:
                net[till.name] = net.get(till.name, 0) - int(entry.body["points"])
            elif entry.kind == "points.quota":
                granted = int(entry.body["granted"])
        net[f"granted:{till.name}"] = granted
    return awards, net


def check_budget(city: City, statement: Mapping[str, Any], net: Mapping[str, int]) -> list[str]:
    problems = []
    if city.stats.max_granted > BUDGET:
        problems.append(f"(a) quota granted reached {city.stats.max_granted:,} > {BUDGET:,}")
    with city.engine.connect() as conn:
        if total_granted(conn) > BUDGET:
            problems.append(f"(a) total granted {total_granted(conn):,} > budget")
    for till in city.tills:
        if net.get(till.name, 0) > net[f"granted:{till.name}"]:
            problems.append(f"(a) {till.name} awarded {net.get(till.name, 0)} net, granted "
                            f"{net[f'granted:{till.name}']}")
    totals = statement["totals"]
    if totals["settled"] - totals["clawed_back"] > BUDGET:
        problems.append(f"(a) standing total {totals['settled'] - totals['clawed_back']:,} > "
                        "budget")
    return problems


def check_cap(statement: Mapping[str, Any]) -> list[str]:
    return [f"(b) card {card[:8]} stands at {row['standing']} > cap {CAP}"
            for card, row in statement["cards"].items() if row["standing"] > CAP]


def check_awards(city: City, statement: Mapping[str, Any],
                 awards: Mapping[tuple[str, int], int]) -> list[str]:
    problems = []
    rows = {(a["terminal"], a["seq"]): a for a in statement["awards"]}
    if set(rows) != set(awards):
        problems.append(f"(c) awards journaled but not in the statement: "
                        f"{sorted(set(awards) - set(rows))[:5]}; in the statement only: "
                        f"{sorted(set(rows) - set(awards))[:5]}")
    for key, row in rows.items():
        if row["awarded"] != awards.get(key) or row["awarded"] != row["settled"] + \
                row["corrected"] or min(row["settled"], row["corrected"]) < 0 or \
                row["clawed_back"] not in (0, row["settled"]):
            problems.append(f"(c) award {key} does not add up: {row}")
    totals = statement["totals"]
    if totals["awarded"] != totals["settled"] + totals["corrected"] or \
            totals["awarded"] != sum(awards.values()):
        problems.append(f"(c) totals do not add up: {totals}, journals {sum(awards.values())}")
    with city.engine.connect() as conn:
        problems.extend(f"(c) ledger: {p}" for p in check(conn, statement))
    return problems


def replay(city: City, directory: Path, seed: int) -> Engine:
    """Every journal into a fresh server: terminals shuffled, random batch sizes, the batches
    of different terminals interleaved."""
    rng = random.Random(f"replay-{seed}")
    batches: list[list[tuple[str, str, list[str]]]] = []
    for till in city.tills:
        lines, mine = list(till.journal.lines()), []
        while lines:
            size = rng.randint(1, 25)
            mine.append((till.name, till.key.public_key_b64, lines[:size]))
            lines = lines[size:]
        batches.append(mine)
    rng.shuffle(batches)
    engine = fresh_server(directory, "replay")
    while batches:
        queue = rng.choice(batches)
        name, key, lines = queue.pop(0)
        ingest_batch(engine, name, key, lines)
        if not queue:
            batches.remove(queue)
    return engine


def check_replay(city: City, statement: Mapping[str, Any], directory: Path) -> list[str]:
    problems = []
    engine = replay(city, directory, city.seed)
    try:
        with engine.connect() as conn:
            if points_statement(conn) != statement:
                problems.append("(d) a fresh server fed the journals in another order "
                                "settles differently")
            problems.extend(ledger_problems(conn, points_statement(conn), "replay"))
    finally:
        engine.dispose()
    with city.engine.begin() as conn:
        rebuild(conn)
    with city.engine.connect() as conn:
        if points_statement(conn) != statement:
            problems.append("(d) rebuild changed the statement")
        problems.extend(f"(d) after rebuild: {p}" for p in check(conn, statement))
    return problems


def ledger_problems(conn: Any, statement: Mapping[str, Any], where: str) -> list[str]:
    """(e) the chain verifies; (f) ledger balance = statement balance + transfers."""
    problems = [f"(e) {where}: {p}" for p in verify(conn).problems]
    ledger, moved = ledger_balances(conn), transfers(conn)
    cards = statement["cards"]
    for card in set(ledger) | set(cards) | set(moved):
        expected = cards.get(card, {}).get("balance", 0) + moved.get(card, 0)
        if ledger.get(card, 0) != expected:
            problems.append(f"(f) {where}: card {card[:8]} ledger {ledger.get(card, 0)}, "
                            f"statement + transfers {expected}")
    return problems


def check_city(city: City, directory: Path) -> tuple[list[str], Counts]:
    """All the checks of a finished run, and its counts."""
    with city.engine.connect() as conn:
        statement = points_statement(conn)
        problems = ledger_problems(conn, statement, "server")
    awards, net = journal_points(city)
    problems += check_budget(city, statement, net)
    problems += check_cap(statement)
    problems += check_awards(city, statement, awards)
    problems += check_replay(city, statement, directory)
    rows = statement["awards"]
    counts = Counts(
        awards=len(rows), corrections=sum(1 for a in rows if a["corrected"]),
        clawbacks=sum(1 for till in city.tills for e in till.journal.entries()
                      if e.kind == "points.clawback"),
        budget_used=statement["totals"]["settled"] - statement["totals"]["clawed_back"],
        max_card_total=max((c["standing"] for c in statement["cards"].values()), default=0))
    return problems, counts
