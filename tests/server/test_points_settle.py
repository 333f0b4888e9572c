"""Points rules through the real ingest path (journals written by terminal.journal.Journal):
the cap, earliest-stand with late arrivals, clawbacks, corrections, redemptions, quota
grants within the budget, transfers, training ignored, and a statement that does not depend
on the order in which journals arrive."""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from points_harness import PointsTerm, card, ingest_lines, sync_new
from server_harness import START, prepare, sqlite_url
from sqlalchemy import Engine, select

from sync.server.db import ServerError, make_engine
from sync.server.models import Alarm
from sync.server.points import service
from sync.server.points.campaign import set_campaign, total_granted
from sync.server.points.ledger import verify
from sync.server.points.statement import check, ledger_balances, points_statement, rebuild
from terminal.journal import Entry

CARD, OTHER = card(1), card(2)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite database with a server key, copied for each test (fast)."""
    directory = tmp_path_factory.mktemp("points-template")
    prepare(sqlite_url(directory))
    return directory / "server.db"


def fresh(template: Path, directory: Path) -> Engine:
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copy(template, directory / "server.db")
    return make_engine(sqlite_url(directory))


@pytest.fixture
def engine(template: Path, tmp_path: Path) -> Iterator[Engine]:
    db = fresh(template, tmp_path / "db")
    yield db
    db.dispose()


@pytest.fixture
def terms(tmp_path: Path) -> Iterator[dict[str, PointsTerm]]:
    made = {name: PointsTerm.open(tmp_path, name) for name in ("t1", "t2")}
    yield made
    for term in made.values():
        term.close()


def statement(engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        result = points_statement(conn)
        assert check(conn, result) == []  # the ledger agrees per award, at every moment
        return result


def awards_of(engine: Engine) -> dict[tuple[str, int], tuple[int, int, int, int]]:
    return {(a["terminal"], a["seq"]): (a["awarded"], a["settled"], a["corrected"],
                                        a["clawed_back"]) for a in statement(engine)["awards"]}


def balance(engine: Engine, card_id: str = CARD) -> int:
    with engine.connect() as conn:
        return service.balance(conn, card_id)


def test_cap_reduces_the_award_that_passes_it(engine: Engine, terms: dict[str, PointsTerm]
                                              ) -> None:
    t1 = terms["t1"]
    t1.award(CARD, 100)
    entries = [t1.award(CARD) for _ in range(15)]
    sync_new(engine, t1)
    awards = awards_of(engine)
    assert awards[("t1", entries[-2].seq)] == (200, 200, 0, 0)  # 100 + 14 x 200 = 2,900
    assert awards[("t1", entries[-1].seq)] == (200, 100, 100, 0)
    assert balance(engine) == 3000 == statement(engine)["cards"][CARD]["balance"]
    with engine.connect() as conn:
        assert service.card_points(conn, CARD)["cap_left"] == 0
        kinds = verify(conn).kinds
    assert kinds == {"award": 16, "correction": 1}


def test_a_late_earlier_award_resettles_with_differences(
        engine: Engine, terms: dict[str, PointsTerm]) -> None:
    t1, t2 = terms["t1"], terms["t2"]
    late = [t1.award(CARD) for _ in range(15)]  # 09:01 .. 09:15: exactly the cap
    sync_new(engine, t1)
    assert balance(engine) == 3000
    early = t2.award(CARD, at=START - timedelta(hours=1))  # offline, earlier, arrives later
    sync_new(engine, t2)
    awards = awards_of(engine)
    assert awards[("t2", early.seq)] == (200, 200, 0, 0)  # the earliest stands
    assert awards[("t1", late[-1].seq)] == (200, 0, 200, 0)  # the latest gives way
    assert balance(engine) == 3000
    with engine.connect() as conn:
        kinds = verify(conn).kinds
    assert kinds == {"award": 16, "correction": 1}  # one difference row, nothing rewritten


def test_same_time_orders_by_terminal_then_seq(engine: Engine,
                                               terms: dict[str, PointsTerm]) -> None:
    t1, t2 = terms["t1"], terms["t2"]
    at = START + timedelta(hours=2)
    for _ in range(14):
        t1.award(CARD)
    b = t2.award(CARD, at=at)
    a = t1.award(CARD, at=at)
    sync_new(engine, t2)
    sync_new(engine, t1)
    awards = awards_of(engine)
    assert awards[("t1", a.seq)][1] == 200 and awards[("t2", b.seq)][1] == 0


def test_clawback_reverses_the_settled_part_and_frees_room(
        engine: Engine, terms: dict[str, PointsTerm]) -> None:
    t1 = terms["t1"]
    entries = [t1.award(CARD) for _ in range(16)]
    sync_new(engine, t1)
    assert awards_of(engine)[("t1", entries[-1].seq)] == (200, 0, 200, 0)
    t1.clawback(entries[0])  # the first sale refunded: it earned nothing
    sync_new(engine, t1)
    awards = awards_of(engine)
    assert awards[("t1", entries[0].seq)] == (200, 200, 0, 200)
    assert awards[("t1", entries[-1].seq)] == (200, 200, 0, 0)  # the room goes to the next
    assert balance(engine) == 3000
    with engine.connect() as conn:
        assert service.card_points(conn, CARD)["awarded"] == 3000


def test_clawback_before_its_award_arrives(engine: Engine,
                                          terms: dict[str, PointsTerm]) -> None:
    t1, t2 = terms["t1"], terms["t2"]
    award = t1.award(CARD)
    t2.clawback(award, award_terminal="t1")  # refunded at another counter, uploaded first
    sync_new(engine, t2)
    assert balance(engine) == 0
    sync_new(engine, t1)
    assert awards_of(engine)[("t1", award.seq)] == (200, 200, 0, 200)
    assert balance(engine) == 0


def test_redeem_cancel_and_refund_are_idempotent(engine: Engine,
                                                 terms: dict[str, PointsTerm]) -> None:
    t1 = terms["t1"]
    for _ in range(5):
        t1.award(CARD)
    sync_new(engine, t1)
    with engine.begin() as conn:
        first = service.redeem(conn, "t1", CARD, 300, "t1-r1")
        again = service.redeem(conn, "t1", CARD, 300, "t1-r1")
        short = service.redeem(conn, "t1", CARD, 900, "t1-r2")
        assert (first.approved, first.balance, again) == (True, 700, first)
        assert not short.approved and "balance short" in short.message
        assert service.redeem(conn, "t1", CARD, 900, "t1-r2") == short
        refund = service.refund(conn, "t1", CARD, 200, "t1-f1", "t1-r1")
        assert refund.approved and refund.balance == 900
        assert service.refund(conn, "t1", CARD, 200, "t1-f1", "t1-r1") == refund
        over = service.refund(conn, "t1", CARD, 200, "t1-f2", "t1-r1")
        assert not over.approved and "100" in over.message  # only 100 left of the 300
        assert not service.refund(conn, "t1", CARD, 100, "t1-f3", "nope").approved
        with pytest.raises(Exception, match="another terminal"):
            service.redeem(conn, "t2", CARD, 300, "t1-r1")
    with engine.begin() as conn:
        cancelled = service.cancel(conn, "t1", "t1-r1")
        # the rest of the 300 (200 were refunded already), once
        assert (cancelled.approved, cancelled.points, cancelled.balance) == (True, 100, 1000)
        assert service.cancel(conn, "t1", "t1-r1").balance == 1000
        late = service.redeem(conn, "t1", CARD, 300, "t1-r1")
        assert not late.approved and late.balance == 1000
        result = service.result(conn, "t1", "t1-r1")
        assert result is not None and not result.approved
        assert service.result(conn, "t2", "t1-r1") is None
        never = service.cancel(conn, "t1", "t1-r9")  # never received: refused from now on
        assert never.approved and never.points == 0
        assert not service.redeem(conn, "t1", CARD, 100, "t1-r9").approved
    assert balance(engine) == 1000


def test_journaled_redemptions_reach_the_ledger_once(engine: Engine,
                                                     terms: dict[str, PointsTerm]) -> None:
    t1 = terms["t1"]
    for _ in range(5):
        t1.award(CARD)
    sync_new(engine, t1)
    with engine.begin() as conn:
        assert service.redeem(conn, "t1", CARD, 300, "t1-online").approved
    t1.payment("sale", 300, "t1-online", CARD)  # what the counter journals after the API
    t1.payment("sale", 100, "t1-offline", CARD)  # spent while the server was unreachable
    t1.payment("void", 100, "t1-offline-V", original_ref="t1-offline")
    t1.payment("refund", 50, "t1-f", CARD, original_ref="t1-online")
    t1.payment("sale", 500, "t1-declined", CARD, approved=False)
    sync_new(engine, t1)
    card_row = statement(engine)["cards"][CARD]
    assert card_row == {"balance": 750, "standing": 1000, "redeemed": 400, "restored": 150}
    assert balance(engine) == 750
    with engine.begin() as conn:
        assert rebuild(conn)["ledger_rows_appended"] == 0
        assert ledger_balances(conn) == {CARD: 750}
        kinds = verify(conn).kinds
    assert kinds == {"award": 5, "redeem": 2, "redeem_cancel": 1, "refund_restore": 1}


def test_refunds_and_voids_never_give_back_more_than_spent(
        engine: Engine, terms: dict[str, PointsTerm]) -> None:
    t1, t2 = terms["t1"], terms["t2"]
    for _ in range(10):
        t1.award(CARD)
    sync_new(engine, t1)
    with engine.begin() as conn:  # API: a refund, then the void gives back the rest only
        assert service.redeem(conn, "t1", CARD, 300, "t1-a").approved
        assert service.refund(conn, "t1", CARD, 100, "t1-a-f", "t1-a").approved
        assert service.cancel(conn, "t1", "t1-a").points == 200
        assert not service.refund(conn, "t1", CARD, 100, "t1-a-g", "t1-a").approved
    assert balance(engine) == 2000
    t1.payment("sale", 300, "t1-a", CARD)  # what the counter journaled of it
    t1.payment("refund", 100, "t1-a-f", CARD, original_ref="t1-a")
    t1.payment("void", 300, "t1-a-V", original_ref="t1-a")
    t1.payment("sale", 400, "t1-b", CARD)  # offline: journal only, in another order
    t1.payment("void", 400, "t1-b-V", original_ref="t1-b")
    t2.payment("refund", 300, "t2-b-f", CARD, original_ref="t1-b")
    t1.payment("sale", 500, "t1-c", CARD)
    t1.payment("refund", 300, "t1-c-f", CARD, original_ref="t1-c")
    t2.payment("refund", 300, "t2-c-f", CARD, original_ref="t1-c")
    sync_new(engine, t1)
    sync_new(engine, t2)
    row = statement(engine)["cards"][CARD]
    assert row == {"balance": 2000, "standing": 2000, "redeemed": 1200, "restored": 1200}
    assert balance(engine) == 2000


def test_training_entries_never_count(engine: Engine, terms: dict[str, PointsTerm]) -> None:
    t1 = terms["t1"]
    t1.award(CARD, training=True)
    t1.append("training.points.clawback", {"card": CARD, "award_seq": 1, "points": 200,
                                           "reason": "void", "sale_seq": 0, "by_seq": 1})
    t1.append("training.payment.result", {"pending_seq": 1, "approved": True, "amount": 1,
                                          "kind": "points", "ref": "x", "points": 1,
                                          "card": CARD, "operation": "sale"})
    sync_new(engine, t1)
    assert statement(engine)["awards"] == [] and balance(engine) == 0
    with engine.connect() as conn:
        assert verify(conn).rows == 0


def test_bad_points_entries_raise_an_alarm_not_points(engine: Engine,
                                                      terms: dict[str, PointsTerm]) -> None:
    t1 = terms["t1"]
    t1.append("points.award", {"card": "0123abcd" * 4, "points": 200, "sale_seq": 0})
    t1.append("points.award", {"card": CARD, "points": 0, "sale_seq": 0})
    sync_new(engine, t1)
    assert balance(engine) == 0
    with engine.connect() as conn:
        kinds = conn.execute(select(Alarm.kind, Alarm.seq)).all()
    assert [tuple(k) for k in kinds] == [("points", 1), ("points", 2)]


def test_duplicate_upload_never_applies_twice(engine: Engine,
                                              terms: dict[str, PointsTerm]) -> None:
    t1 = terms["t1"]
    for _ in range(3):
        t1.award(CARD)
    lines = t1.lines()
    ingest_lines(engine, t1, lines[:2])
    ingest_lines(engine, t1, lines)
    ingest_lines(engine, t1, lines)
    assert balance(engine) == 600
    with engine.connect() as conn:
        assert verify(conn).rows == 3


def test_transfer_moves_the_balance_with_an_audit(engine: Engine,
                                                  terms: dict[str, PointsTerm]) -> None:
    t1 = terms["t1"]
    for _ in range(4):
        t1.award(CARD)
    sync_new(engine, t1)
    with engine.begin() as conn:
        done = service.transfer(conn, CARD, OTHER, "admin-1", "カード紛失 (lost card)")
        assert done["points"] == 800 and done["to_balance"] == 800
        with pytest.raises(ServerError):
            service.transfer(conn, CARD, OTHER, "admin-1", "again: nothing left")
        with pytest.raises(ServerError):
            service.transfer(conn, OTHER, CARD, "admin-1", " ")
    assert (balance(engine, CARD), balance(engine, OTHER)) == (0, 800)
    from sync.server.points.views import card_history

    with engine.connect() as conn:
        history = card_history(conn, OTHER)
        assert verify(conn).ok
    assert [(r["kind"], r["actor"], r["reason"]) for r in history] == [
        ("transfer_in", "admin-1", "カード紛失 (lost card)")]


def test_quota_grants_top_up_and_stop_at_the_budget(engine: Engine) -> None:
    with engine.begin() as conn:
        set_campaign(conn, "test", campaign_budget=5000, quota_chunk=2000)
        assert service.request_quota(conn, "t1", 0) == {
            "grant_id": "t1:1", "granted": 2000, "budget_left": 3000}
        assert service.request_quota(conn, "t1", 0)["granted"] == 2000  # idempotent
        assert service.request_quota(conn, "t1", 500)["granted"] == 2500
        assert service.request_quota(conn, "t2", 0)["granted"] == 2000
        last = service.request_quota(conn, "t1", 2500)
        assert last["granted"] == 3000 and last["budget_left"] == 0
        with pytest.raises(ServerError, match="budget"):
            set_campaign(conn, "test", campaign_budget=4000)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c", "d"]), st.integers(-50, 5000)),
                max_size=40),
       st.integers(1, 9000), st.integers(1, 3000))
def test_grants_never_pass_the_budget(engine: Engine, asks: list[tuple[str, int]],
                                      budget: int, chunk: int) -> None:
    with engine.begin() as conn:
        for table in ("points_grants", "points_quota"):
            conn.exec_driver_sql(f"DELETE FROM {table}")
        set_campaign(conn, "test", campaign_budget=budget, quota_chunk=chunk)
        granted: dict[str, int] = {}
        for terminal, used in asks:
            before = granted.get(terminal, 0)
            answer = service.request_quota(conn, terminal, max(0, used))
            assert answer["granted"] >= before  # never taken back
            granted[terminal] = answer["granted"]
            assert total_granted(conn) == sum(granted.values()) <= budget
            assert answer["budget_left"] == budget - sum(granted.values())
            # a top-up goes to at most `chunk` unused; an unchanged grant may already be past it
            assert answer["granted"] <= max(0, used) + chunk or answer["granted"] == before


# -- the statement depends on the set of entries, not on the order they arrive ------------
def _scenario(directory: Path, seed: int) -> list[PointsTerm]:
    """Three terminals, three cards, awards with times out of order, clawbacks (some at
    another counter), offline redemptions, voids and refunds; deterministic per seed."""
    rnd = random.Random(seed)
    terms = [PointsTerm.open(directory, f"s{n}") for n in range(3)]
    cards = [card(10 + n) for n in range(3)]
    awards: list[tuple[str, Entry]] = []
    for step in range(rnd.randint(10, 45)):
        term = rnd.choice(terms)
        roll = rnd.random()
        at = START + timedelta(minutes=rnd.randint(0, 600))
        if roll < 0.7 or not awards:
            awards.append((term.terminal, term.award(rnd.choice(cards),
                                                     rnd.choice([100, 200, 200, 300]), at)))
        elif roll < 0.85:
            origin, award = rnd.choice(awards)
            term.clawback(award, at, award_terminal=origin)
        else:
            ref = f"{term.terminal}-p{step}"
            term.payment("sale", rnd.randint(1, 300), ref, rnd.choice(cards))
            if rnd.random() < 0.5:
                term.payment(rnd.choice(["void", "refund"]), 50, f"{ref}-x", rnd.choice(cards),
                             original_ref=ref)
    return terms


def _replay(engine: Engine, terms: list[PointsTerm], rnd: random.Random) -> None:
    """Ingest every journal in random batches, terminals interleaved at random."""
    queues = {t.terminal: t.lines() for t in terms}
    sent = dict.fromkeys(queues, 0)
    by_name = {t.terminal: t for t in terms}
    while any(sent[n] < len(lines) for n, lines in queues.items()):
        name = rnd.choice([n for n, lines in queues.items() if sent[n] < len(lines)])
        size = rnd.randint(1, 6)
        ingest_lines(engine, by_name[name], queues[name][sent[name]:sent[name] + size])
        sent[name] += size


_SEEDS = (st.integers(0, 10**6), st.integers(0, 10**6), st.integers(0, 10**6))


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(*_SEEDS)
def test_statement_is_identical_under_any_ingest_order(
        template: Path, tmp_path: Path, scenario: int, order_a: int, order_b: int) -> None:
    _same_statement(template, tmp_path, scenario, order_a, order_b)


@pytest.mark.slow
@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(*_SEEDS)
def test_statement_is_identical_under_any_ingest_order_many(
        template: Path, tmp_path: Path, scenario: int, order_a: int, order_b: int) -> None:
    _same_statement(template, tmp_path, scenario, order_a, order_b)


def _same_statement(template: Path, tmp_path: Path, scenario: int, order_a: int,
                    order_b: int) -> None:
    work = tmp_path / f"run-{scenario}-{order_a}-{order_b}"
    terms = _scenario(work, scenario)
    results = []
    try:
        for n, order in enumerate((order_a, order_b)):
            engine = fresh(template, work / f"db{n}")
            try:
                _replay(engine, terms, random.Random(order))
                result = statement(engine)
                with engine.begin() as conn:
                    assert verify(conn).ok
                    balances = ledger_balances(conn)
                    assert rebuild(conn)["ledger_rows_appended"] == 0
                    assert points_statement(conn) == result
                results.append(result)
                for card_id, row in result["cards"].items():  # no API use: ledger == journals
                    assert balances.get(card_id, 0) == row["balance"]
            finally:
                engine.dispose()
    finally:
        for term in terms:
            term.close()
    assert results[0] == results[1]
    for award in results[0]["awards"]:
        assert award["awarded"] == award["settled"] + award["corrected"]
    for card_id in results[0]["cards"]:
        rows = [a for a in results[0]["awards"] if a["card"] == card_id]
        assert sum(a["settled"] - a["clawed_back"] for a in rows) <= results[0]["cap"]


def test_cli_campaign_transfer_verify_and_report(engine: Engine, terms: dict[str, PointsTerm],
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from madoguchi.cli import main

    url = engine.url.render_as_string(hide_password=False)
    t1 = terms["t1"]
    for _ in range(4):
        t1.award(CARD)
    sync_new(engine, t1)

    def run(*args: str) -> tuple[int, str]:
        code = main(["server", *args, "--database", url])
        return code, capsys.readouterr().out

    code, out = run("points-campaign", "--cap", "500", "--quota-chunk", "1000")
    assert code == 0 and "per_person_cap: 500" in out and "quota_chunk: 1000" in out
    assert balance(engine) == 500  # a lower cap re-settles every card at once
    code, out = run("points-transfer", "--from", CARD, "--to", OTHER, "--admin", "admin-1",
                    "--reason", "lost card")
    assert code == 0 and "500 points moved" in out
    code, out = run("points-verify")
    assert code == 0 and "OK" in out and "transfer_in 1" in out
    code, out = run("points-report", "--json", "--from-day", "2026-11-01", "--to-day",
                    "2026-11-30", "--threshold", "4")
    report = json.loads(out)
    assert code == 0 and report["awards"][0]["awards"] == 4
    assert report["awards"][0]["corrected"] == 300
    assert [c["taps"] for c in report["unusual_cards"]] == [4]
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE points_ledger SET points = 1 WHERE seq = 2")
    code, out = run("points-verify")
    assert code == 1 and "NG ledger row 2" in out
