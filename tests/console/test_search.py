"""The 電子帳簿保存法 search (issue 7): business-day range, amount range, facility, tender
kind and receipt number, paginated and scoped — on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from console import reports_fixtures as fx
from console.reports_fixtures import DAY1, DAY2, LIBRARY, MUSEUM, TERMINALS, Seeded, log_in

from sync.server.console.search import SearchError, SearchQuery, search

database_url = fx.database_url  # fixtures
seeded = fx.seeded
console_url = fx.console_url
KINDS = ("sale", "refund", "void")


def documents(seeded: Seeded, facilities: set[str] | None = None) -> list[dict[str, Any]]:
    """Every stored document, by day, terminal, seq, as the search orders them."""
    found = [dict(e, facility=TERMINALS[t]) for t in TERMINALS for e in seeded.entries(t)
             if e["kind"] in KINDS and (facilities is None or TERMINALS[t] in facilities)]
    return sorted(found, key=lambda e: (e["day"], e["terminal"], e["seq"]))


def keys(page: Any) -> list[tuple[str, int]]:
    return [(hit.terminal, hit.seq) for hit in page.hits]


def run(seeded: Seeded, scope: set[str] | None = None, **conditions: Any) -> Any:
    with seeded.engine.begin() as conn:
        return search(conn, scope, SearchQuery(**{"per_page": 200, **conditions}))


def test_each_condition_matches_the_journals(seeded: Seeded) -> None:
    every = documents(seeded)
    assert keys(run(seeded)) == [(e["terminal"], e["seq"]) for e in every]
    want = [(e["terminal"], e["seq"]) for e in every
            if any(t["kind"] == "transit_ic" for t in e["body"]["tenders"])]
    assert keys(run(seeded, tender="transit_ic")) == want and want
    want = [(e["terminal"], e["seq"]) for e in every if 700 <= e["body"]["total"] <= 1500]
    assert keys(run(seeded, min_amount=700, max_amount=1500)) == want and want
    assert keys(run(seeded, max_amount=0)) == [
        (e["terminal"], e["seq"]) for e in every if e["body"]["total"] == 0]
    day2 = keys(run(seeded, first=DAY2, last=DAY2))
    assert day2 == [(e["terminal"], e["seq"]) for e in every if e["day"] == DAY2]
    assert keys(run(seeded, last=DAY1)) == [
        (e["terminal"], e["seq"]) for e in every if e["day"] == DAY1]
    hit = run(seeded, receipt_no="museum-02-IC").hits
    assert [(h.terminal, h.kind, h.total, h.tenders) for h in hit] == [
        ("museum-02", "sale", 1550, "交通系IC 1550")]
    voids = run(seeded, kind="void", tender="transit_ic", facility=MUSEUM)
    assert [(h.terminal, h.kind) for h in voids.hits] == [("museum-01", "void"),
                                                          ("museum-02", "void")]
    assert run(seeded, tender="points").total == 0


def test_scope_and_pagination(seeded: Seeded) -> None:
    mine = documents(seeded, {LIBRARY})
    first = run(seeded, {LIBRARY}, per_page=4)
    second = run(seeded, {LIBRARY}, per_page=4, page=2)
    assert first.total == len(mine) and first.pages == -(-len(mine) // 4)
    assert keys(first) + keys(second) == [(e["terminal"], e["seq"]) for e in mine[:8]]
    assert run(seeded, {LIBRARY}, receipt_no="museum-01-IC").total == 0
    assert run(seeded, {LIBRARY}, facility=MUSEUM).total == 0
    assert run(seeded, set()).total == 0
    past = run(seeded, {LIBRARY}, per_page=4, page=99)
    assert past.hits == () and past.total == len(mine)


@pytest.mark.parametrize(("form", "message"), [
    ({"first": "2026-13-01"}, "YYYY-MM-DD"),
    ({"min_amount": "abc"}, "whole number"),
    ({"max_amount": "-5"}, ">= 0"),
    ({"tender": "bitcoin"}, "unknown tender"),
    ({"page": "0"}, ">= 1"),
])
def test_bad_conditions_are_named(form: dict[str, str], message: str) -> None:
    with pytest.raises(SearchError, match=message):
        SearchQuery.from_form(form)


def test_form_values() -> None:
    q = SearchQuery.from_form({"first": "2026-11-01", "min_amount": "1,000", "tender": "",
                               "per_page": "5000", "receipt_no": " A-1 "})
    assert (q.first, q.min_amount, q.tender, q.per_page, q.receipt_no) == (
        "2026-11-01", 1000, None, 200, "A-1")


def test_search_page(seeded: Seeded, console_url: str) -> None:
    manager = log_in(console_url, seeded.engine, "carol", "facility_manager", LIBRARY)
    page = manager.get("/console/search", tender="transit_ic", per_page="2")
    assert page.status_code == 200, page.text
    assert 'href="/console/entry/library-01/' in page.text and "museum-01" not in page.text
    assert 'rel="next"' in page.text and "page=2" in page.text
    assert manager.get("/console/search", facility=MUSEUM).status_code == 404
    bad = manager.get("/console/search", min_amount="x")
    assert bad.status_code == 400 and "whole number" in bad.text
