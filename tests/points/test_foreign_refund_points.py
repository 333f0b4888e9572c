"""はちのへポイント on a refund at another counter (``terminal.foreign_refund``): points go back
through the service to the card that paid, and the original counter's award is clawed back
(``award_terminal``) when the refund leaves the sale no eligible item; the server settles that
clawback whichever journal arrives first. Regressions of issue 6's proof."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from points.citysim import CATALOGUE, CLERKS, RULES, CityClock, fresh_server

from drivers.points_sim import PointsSimulator
from sync.server.ingest import ingest_batch
from sync.server.points.statement import check, points_statement
from terminal.counter import Counter, CounterSettings
from terminal.errors import DomainError, PaymentDeclined
from terminal.foreign_refund import foreign_sale, refund_foreign
from terminal.journal import Entry, Journal, TerminalKey
from terminal.points import card_token
from terminal.state import PointsLedger

A, B = "f01-01", "f01-02"
CARD = card_token(b"foreign refund test key", b"card-one")
OTHER = card_token(b"foreign refund test key", b"card-two")


@pytest.fixture
def city(tmp_path: Path) -> Iterator[tuple[Counter, Counter, PointsSimulator]]:
    sim = PointsSimulator({CARD: 1000}, per_person_cap=600, budget=20_000, quota_chunk=600)
    clock = CityClock()
    made = []
    for name in (A, B):
        key = TerminalKey.generate()
        counter = Counter(Journal.open(tmp_path / f"{name}.db", name, key), CATALOGUE,
                          CounterSettings(name, tenders=("cash", "points"), facility="f01"),
                          CLERKS, clock, points=sim, points_rules=RULES)
        counter.record("login", {"clerk": "c1"})
        counter.refresh_points_quota()
        made.append(counter)
    yield made[0], made[1], sim
    for counter in made:
        counter.journal.close()


def sell(counter: Counter, *codes: str, card: str | None = CARD, points: int = 0) -> Entry:
    for code in codes:
        counter.add_item(code)
    if card is not None:
        counter.tap_points_card(card)
    counter.begin_payment()
    if points:
        counter.pay_with_points(CARD, points)
    return counter.pay_cash(counter.payment().remaining)


def looked_up(counter: Counter, sale: Entry, *refunds: Entry) -> Any:
    return foreign_sale(counter, {"terminal": sale.terminal, "seq": sale.seq,
                                  "line": sale.line(), "refunds": [r.line() for r in refunds]})


def test_points_go_back_through_the_service_to_the_card_that_paid(
    city: tuple[Counter, Counter, PointsSimulator],
) -> None:
    a, b, sim = city
    sale = sell(a, "ADM", "ADM", "CAFE", points=400)
    paid_ref = next(t["ref"] for t in sale.body["tenders"] if t["kind"] == "points")
    assert sim.balance(CARD) == 600
    found = looked_up(b, sale)
    with pytest.raises(DomainError, match="tap the card that paid"):
        refund_foreign(b, found.original, found.server_refunds, {0: 1}, "sup", "points")
    with pytest.raises(PaymentDeclined, match="not the one that paid"):
        refund_foreign(b, found.original, found.server_refunds, {0: 1}, "sup", "points", OTHER)
    with pytest.raises(DomainError, match="paid in points"):  # 450 asked, 400 paid in points
        refund_foreign(b, found.original, found.server_refunds, {1: 1}, "sup", "points", CARD)
    before = b.journal.last_seq
    entry = refund_foreign(b, found.original, found.server_refunds, {0: 1}, "sup", "points",
                           CARD)
    assert sim.balance(CARD) == 900  # 300 back
    pending, result = (b.journal.entry(s) for s in range(before + 1, before + 3))
    assert pending.kind == "payment.pending" and pending.body == {
        "operation": "refund", "kind": "points", "amount": 300, "points": 300, "card": CARD,
        "ref": pending.body["ref"], "original_ref": paid_ref}
    assert B in pending.body["ref"]  # refs are server-wide: this counter's name is in it
    assert result.kind == "payment.result" and result.body["approved"] is True
    assert entry.kind == "refund" and entry.body["tenders"] == [
        {"kind": "points", "amount": 300, "ref": pending.body["ref"]}]
    again = looked_up(b, sale, entry)  # only 100 of the points are left to refund
    with pytest.raises(DomainError, match="paid in points"):
        refund_foreign(b, again.original, again.server_refunds, {0: 1}, "sup", "points", CARD)


def test_the_refund_that_leaves_no_eligible_item_claws_the_award_back(
    city: tuple[Counter, Counter, PointsSimulator],
) -> None:
    a, b, _ = city
    sale = sell(a, "ADM", "ADM", "CAFE")  # ADM qty 2 earns; CAFE does not
    award = a.journal.entry(sale.seq + 1)
    assert award.kind == "points.award" and award.body["sale_seq"] == sale.seq
    first = refund_foreign(b, *_args(looked_up(b, sale)), {0: 1}, "sup")
    assert b.journal.head() == first  # one ADM is left: no clawback yet
    second = refund_foreign(b, *_args(looked_up(b, sale, first)), {0: 1}, "sup")
    clawback = b.journal.head()
    assert clawback is not None and clawback.kind == "points.clawback"
    assert clawback.body == {"card": "", "sale_seq": sale.seq, "award_terminal": A,
                             "award_seq": award.seq, "points": 0, "reason": "refund",
                             "by_seq": second.seq}
    third = refund_foreign(b, *_args(looked_up(b, sale, first, second)), {1: 1}, "sup")
    assert b.journal.head() == third  # it had no eligible item before: once only
    # This counter's own points state is untouched: it is another counter's award.
    assert b.state.points.clawed_back == set() and b.state.points.awarded_net == 0


def _args(found: Any) -> tuple[Any, Any]:
    return found.original, found.server_refunds


def test_a_foreign_clawback_never_counts_on_the_refunding_counter() -> None:
    ledger = PointsLedger(quota_granted=600)
    ledger.apply("points.award", 6, {"card": CARD, "sale_seq": 5, "points": 200}, False)
    ledger.apply("points.clawback", 9, {"card": "", "sale_seq": 5, "award_terminal": A,
                                         "award_seq": 6, "points": 0, "reason": "refund",
                                         "by_seq": 8}, False)
    assert ledger.clawed_back == set() and ledger.awarded_net == 200  # own sale 5 still awarded
    assert ledger.by_card == {CARD: 200} and ledger.quota_left == 400


@pytest.mark.parametrize("refund_first", [True, False])
def test_the_server_settles_a_foreign_clawback_in_either_order(
    city: tuple[Counter, Counter, PointsSimulator], tmp_path: Path, refund_first: bool,
) -> None:
    a, b, _ = city
    sale = sell(a, "ADM")
    refund_foreign(b, *_args(looked_up(b, sale)), {0: 1}, "sup")
    engine = fresh_server(tmp_path, "server")
    order = (b, a) if refund_first else (a, b)
    try:
        for counter in order:
            ingest_batch(engine, counter.settings.terminal,
                         counter.journal.public_key_b64, list(counter.journal.lines()))
        with engine.connect() as conn:
            statement = points_statement(conn)
            assert [(r["terminal"], r["seq"], r["settled"], r["clawed_back"])
                    for r in statement["awards"]] == [(A, sale.seq + 1, 200, 200)]
            assert statement["cards"][CARD]["standing"] == 0
            assert check(conn, statement) == []
    finally:
        engine.dispose()
