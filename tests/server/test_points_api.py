"""ServerPointsService end to end against a real uvicorn server (SQLite and PostgreSQL):
awards journaled by a real terminal journal and uploaded, then balance, redeem, cancel,
refund, results and quota through the signed routes; strangers and other terminals refused;
an unreachable server is DeviceUnavailable."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from points_harness import card
from server_harness import OTHER_FACILITY, START, Term
from sqlalchemy import Engine

from sync import protocol
from sync.client import ServerClient
from sync.points_client import ServerPointsService
from sync.server.points.ledger import verify
from sync.server.points.statement import check, points_statement
from terminal.errors import DeviceError, DeviceUnavailable
from terminal.journal import TerminalKey

CARD = card(1)


def _service(term: Term, key: TerminalKey | None = None) -> ServerPointsService:
    return ServerPointsService(ServerClient(term.base_url, term.terminal, key or term.key,
                                            timeout=30))


def _award(term: Term, times: int, start: int = 0) -> None:
    for n in range(times):
        term.journal.append("points.award", {
            "card": CARD, "sale_seq": 0, "receipt_no": f"{term.terminal}-{start + n}",
            "points": 200, "facility": "hachinohe-museum", "online": True},
            START + timedelta(minutes=start + n))
    response = term.upload(term.lines())
    assert response.status_code == 200, response.text


def test_points_service_end_to_end(make_term: Any, engine: Engine) -> None:
    term = make_term("museum-01")
    points = _service(term)
    assert points.card_points(CARD).balance == 0
    assert points.card_points(CARD).cap_left == 3000
    _award(term, 16)
    state = points.card_points(CARD)
    assert (state.balance, state.awarded, state.cap_left) == (3000, 3000, 0)
    paid = points.redeem(CARD, 1200, "museum-01-10")
    assert paid.approved and paid.amount == 1200 and paid.kind == "points"
    assert points.redeem(CARD, 1200, "museum-01-10") == paid  # idempotent
    assert points.balance(CARD) == 1800
    short = points.redeem(CARD, 5000, "museum-01-11")
    assert not short.approved and "balance short" in short.message
    assert points.last_result("museum-01-10") == paid
    assert points.last_result("museum-01-99") is None
    back = points.refund(CARD, 200, "museum-01-12", "museum-01-10")
    assert back.approved and points.balance(CARD) == 2000
    cancelled = points.cancel("museum-01-10")  # gives back what the refund did not
    assert cancelled.approved and cancelled.amount == 1000
    assert points.balance(CARD) == 3000
    late = points.redeem(CARD, 1200, "museum-01-10")
    assert not late.approved
    odd_ref = "museum-01/13 ?#"
    assert points.redeem(CARD, 100, odd_ref).approved
    assert points.last_result(odd_ref) is not None
    grant = points.request_quota(0)
    assert (grant.granted, grant.budget_left) == (2000, 2_000_000 - 2000)
    assert points.request_quota(0) == grant
    assert points.request_quota(300).granted == 2300
    with engine.connect() as conn:
        assert verify(conn).ok
        assert check(conn, points_statement(conn)) == []


def test_strangers_and_other_terminals_are_refused(make_term: Any, server: str) -> None:
    mine, other = make_term("museum-01"), make_term("library-01", OTHER_FACILITY)
    _award(mine, 2)
    stranger = _service(mine, TerminalKey.generate())  # not the enrolled key
    refused = stranger.redeem(CARD, 100, "museum-01-50")
    assert not refused.approved and "401" in refused.message
    with pytest.raises(DeviceError, match="401"):
        stranger.card_points(CARD)
    body = json.dumps({"card": CARD, "points": 100, "ref": "x-1"}).encode()
    response = other.request("POST", protocol.points_redeem_path(mine.terminal), body,
                             {"Content-Type": "application/json"})
    assert response.status_code == 403
    assert _service(mine).balance(CARD) == 400  # nothing spent by either
    assert _service(other).redeem(CARD, 100, "library-01-1").approved  # a card is city-wide
    assert _service(mine).redeem(CARD, 100, "museum-01-51").approved
    theirs = _service(other).cancel("museum-01-51")
    assert not theirs.approved and "another terminal" in theirs.message
    assert _service(other).last_result("museum-01-51") is None
    assert _service(mine).balance(CARD) == 200
    assert _service(mine).cancel("museum-01-50").approved  # the stranger's never arrived


def test_bad_requests_are_not_approved(make_term: Any) -> None:
    term = make_term("museum-01")
    points = _service(term)
    refused = points.redeem("0123456789abcdef", 100, "museum-01-1")  # not a card token
    assert not refused.approved and "422" in refused.message
    assert not points.redeem(CARD, 0, "museum-01-2").approved


def test_unreachable_server_is_device_unavailable(make_term: Any) -> None:
    term = make_term("museum-01")
    points = ServerPointsService(ServerClient("http://127.0.0.1:9", term.terminal, term.key,
                                              timeout=2))
    with pytest.raises(DeviceUnavailable, match="unreachable"):
        points.redeem(CARD, 100, "museum-01-1")
    with pytest.raises(DeviceUnavailable):
        points.request_quota(0)


def test_console_views_respect_the_facility_scope(make_term: Any, engine: Engine) -> None:
    from sync.server.points import views

    museum, library = make_term("museum-01"), make_term("library-01", OTHER_FACILITY)
    _award(museum, 4)
    _award(library, 2, start=100)
    _service(museum).request_quota(0)
    scope = {OTHER_FACILITY}
    with engine.connect() as conn:
        everything = views.budget_summary(conn)
        scoped = views.budget_summary(conn, scope)
        days = views.awards_by_facility_day(conn, "2026-11-26", "2026-11-26", scope)
        history = views.card_history(conn, CARD, scope)
        assert views.unusual_cards(conn, 3) != views.unusual_cards(conn, 3, scope) == []
    assert (everything["standing"], everything["granted"]) == (1200, 2000)
    assert (scoped["standing"], scoped["granted"]) == (400, 0)
    assert scoped["budget_left"] == everything["budget_left"] == 2_000_000 - 2000
    assert [(d["awards"], d["settled"]) for d in days] == [(2, 400)]
    assert {row["terminal"] for row in history} == {"library-01"}
