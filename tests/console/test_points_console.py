"""The console's points page (issue 6): the figures shown equal ``sync.server.points.views``
(and the points the test's own journals awarded), a facility manager sees only their
facility, cards appear masked and an IDm is never accepted or echoed, and an administrator's
transfer moves the balance and is audited while an auditor or manager cannot POST one — on
SQLite and PostgreSQL, with points entries ingested through the real ingest path."""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Final

import pytest
import requests
from console.console_seed import LIBRARY, MUSEUM, ConsoleServer, csrf_of
from points_harness import PointsTerm, card, sync_new
from server_harness import START
from sqlalchemy import Engine, select

from sync.server.console.models import AuditLog
from sync.server.enroll import create_code, enroll
from sync.server.points import service, views
from sync.server.points.models import PointsLedgerRow

RANGE: Final = {"start": "2026-11-01", "end": "2026-11-30", "threshold": "3"}
CAPPED, SPREAD, LATER, LOST, NEW = card(1), card(2), card(3), card(4), card(5)
STRANGER: Final = card(6)  # never tapped anywhere
FIGURE: Final = re.compile(r'data-figure="(\w+)" data-value="(-?\d+)"')
DAY_ROW: Final = re.compile(r'<tr data-day="([^"]+)" data-facility="([^"]+)">(.*?)</tr>', re.S)
NUM_CELL: Final = re.compile(r'<td class="num">([-\d,]+)</td>')
TOKEN: Final = re.compile(r"[0-9a-f]{64}")
TAG: Final = re.compile(r"<[^>]+>")
SCOPES: Final[dict[str, set[str] | None]] = {
    "admin": None, "auditor": None, "manager": {MUSEUM}, "librarian": {LIBRARY}}


def idm_hex(n: int) -> str:
    """The made-up IDm behind ``points_harness.card(n)`` (what must never show up)."""
    return hashlib.sha256(f"idm-{n}".encode()).digest()[:8].hex()


@dataclass
class PointsSeed:
    """What the seeding wrote: terminals by facility and points awarded per facility."""

    terms: dict[str, PointsTerm]
    awarded: dict[str, int] = field(default_factory=dict)  # facility -> points journaled

    def close(self) -> None:
        for term in self.terms.values():
            term.close()


def _enrolled(engine: Engine, directory: Path, terminal: str, facility: str) -> PointsTerm:
    term = PointsTerm.open(directory, terminal, facility)
    code, _ = create_code(engine, facility, terminal)
    enroll(engine, "127.0.0.1", {"code": code, "terminal": terminal, "facility": facility,
                                 "public_key": term.key.public_key_b64})
    return term


def seed_points(engine: Engine, directory: Path) -> PointsSeed:
    """Points journals of three enrolled terminals, ingested by the real ingest:
    - CAPPED: 100 + 15 x 200 at museum-pt-1 on 11-26 (the last award is cut by 100: a cap
      correction; 16 taps in a day: unusual);
    - SPREAD: 2 taps at museum-pt-2 (one clawed back) and 4 at library-pt-1 on 11-26;
    - LATER: 1 tap at museum-pt-2 on 11-27; LOST: 2 taps at museum-pt-1 (transferred later).
    Each terminal is granted quota (2,000 points)."""
    seed = PointsSeed({name: _enrolled(engine, directory, name, facility) for name, facility in
                       (("museum-pt-1", MUSEUM), ("museum-pt-2", MUSEUM),
                        ("library-pt-1", LIBRARY))})
    one, two, lib = (seed.terms[n] for n in ("museum-pt-1", "museum-pt-2", "library-pt-1"))
    one.award(CAPPED, 100)
    for _ in range(15):
        one.award(CAPPED)
    for _ in range(2):
        one.award(LOST)
    spread = [two.award(SPREAD) for _ in range(2)]
    two.clawback(spread[0])
    two.award(LATER, at=START + timedelta(days=1))
    for _ in range(4):
        lib.award(SPREAD)
    seed.awarded = {MUSEUM: 100 + 15 * 200 + 2 * 200 + 2 * 200 + 200, LIBRARY: 4 * 200}
    for term in seed.terms.values():
        result = sync_new(engine, term)
        assert result.ack == term.journal.last_seq, result
    with engine.begin() as conn:
        for name in seed.terms:
            service.request_quota(conn, name, 0)
    return seed


@pytest.fixture(scope="module")
def points(console: ConsoleServer, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[PointsSeed]:
    seed = seed_points(console.engine, tmp_path_factory.mktemp("points"))
    yield seed
    seed.close()


@pytest.fixture(scope="module")
def sessions(console: ConsoleServer, points: PointsSeed
             ) -> Iterator[dict[str, requests.Session]]:
    made = {user: console.session(user) for user in SCOPES}
    yield made
    for session in made.values():
        session.close()


def page(console: ConsoleServer, session: requests.Session, **params: str) -> requests.Response:
    return session.get(f"{console.base_url}/console/points", params={**RANGE, **params},
                       allow_redirects=False, timeout=30)


def visible_text(text: str) -> str:
    return html.unescape(TAG.sub(" ", text))


def shown_days(text: str) -> list[dict[str, Any]]:
    rows = []
    for day, facility, cells in DAY_ROW.findall(text):
        numbers = [int(n.replace(",", "")) for n in NUM_CELL.findall(cells)]
        rows.append({"facility": facility, "day": day, **dict(zip(
            ("awards", "awarded", "settled", "corrected", "clawed_back"), numbers,
            strict=True))})
    return rows


@pytest.mark.parametrize("user", sorted(SCOPES))
def test_figures_equal_the_views(console: ConsoleServer, points: PointsSeed,
                                 sessions: dict[str, requests.Session], user: str) -> None:
    response = page(console, sessions[user])
    assert response.status_code == 200, response.text[:500]
    shown = {name: int(value) for name, value in FIGURE.findall(response.text)}
    scope = SCOPES[user]
    with console.engine.begin() as conn:
        summary = views.budget_summary(conn, scope)
        days = views.awards_by_facility_day(conn, RANGE["start"], RANGE["end"], scope)
        corrections = views.corrections(conn, scope)
        unusual = views.unusual_cards(conn, 3, scope)
    assert (shown["budget"], shown["granted"], shown["standing"], shown["budget_left"]) == (
        summary["budget"], summary["granted"], summary["standing"], summary["budget_left"])
    assert shown_days(response.text) == days
    # independently of the views: what the test's journals awarded, and the cap's cut
    facilities = scope if scope is not None else {MUSEUM, LIBRARY}
    assert shown["awarded"] == sum(points.awarded[f] for f in facilities)
    assert shown["corrected"] == (100 if MUSEUM in facilities else 0)
    assert shown["clawed_back"] == (200 if MUSEUM in facilities else 0)
    assert shown["settled"] == shown["awarded"] - shown["corrected"]
    assert shown["granted"] == 2000 * sum(
        1 for t in points.terms.values() if t.facility in facilities)
    assert shown["budget_left"] == 2_000_000 - 2000 * len(points.terms)  # campaign-wide
    assert response.text.count('<tr data-seq="') == len(corrections)
    assert [c["award_seq"] for c in corrections] == ([16] if MUSEUM in facilities else [])
    unusual_table = response.text.split('id="unusual"')[1].split("</table>")[0]
    assert unusual_table.count("<tr><td><a ") == len(unusual)
    for row in unusual:
        assert f"<code>{row['card'][:8]}…</code>" in unusual_table


def test_facility_manager_sees_only_their_facility(
        console: ConsoleServer, points: PointsSeed,
        sessions: dict[str, requests.Session]) -> None:
    museum = page(console, sessions["manager"]).text
    library = page(console, sessions["librarian"]).text
    admin = page(console, sessions["admin"]).text
    assert "library-pt-1" in admin and "museum-pt-1" in admin
    assert "museum-pt-1" in museum and LIBRARY not in museum and "library-pt-1" not in museum
    assert "library-pt-1" in library and MUSEUM not in library and "museum-pt" not in library
    # SPREAD: 2 taps at the museum, 4 at the library: unusual (>= 3) only for the library
    assert f"{SPREAD[:8]}…" not in museum.split('id="unusual"')[1]
    assert f"{SPREAD[:8]}…" in library.split('id="unusual"')[1]
    history = {user: page(console, sessions[user], card=SPREAD).text
               for user in ("admin", "manager", "librarian")}
    kinds = {user: re.findall(r'<tr data-kind="(\w+)">', text) for user, text in history.items()}
    assert kinds["manager"] == ["award", "award", "clawback"]
    assert kinds["librarian"] == ["award"] * 4
    assert sorted(kinds["admin"]) == sorted(kinds["manager"] + kinds["librarian"])
    assert "data-balance=" in history["admin"] and "data-balance=" not in history["manager"]
    with console.engine.begin() as conn:
        assert f'data-balance="{service.balance(conn, SPREAD)}"' in history["admin"]


def test_cards_are_masked_and_an_idm_is_refused(
        console: ConsoleServer, points: PointsSeed,
        sessions: dict[str, requests.Session]) -> None:
    text = page(console, sessions["admin"], card=CAPPED).text
    assert TOKEN.search(visible_text(text)) is None  # tokens only in links, never shown
    assert f"{CAPPED[:8]}…" in visible_text(text)
    for n in range(1, 7):
        assert idm_hex(n) not in text.lower()
    refused = page(console, sessions["admin"], card=idm_hex(1))
    assert refused.status_code == 400
    assert "IDm は使えません" in refused.text and idm_hex(1) not in refused.text.lower()
    stranger = page(console, sessions["admin"], card=STRANGER.upper())  # case-insensitive
    assert stranger.status_code == 200 and "このカードの記録はありません" in stranger.text


@pytest.mark.parametrize(("params", "message"), [
    ({"threshold": "many"}, "しきい値"), ({"threshold": "1"}, "しきい値"),
    ({"start": "2026-11-30", "end": "2026-11-01"}, "開始日が終了日より後"),
    ({"start": "11/01/2026"}, "YYYY-MM-DD")])
def test_bad_form_values_are_named(console: ConsoleServer, points: PointsSeed,
                                   sessions: dict[str, requests.Session],
                                   params: dict[str, str], message: str) -> None:
    response = page(console, sessions["auditor"], **params)
    assert response.status_code == 400 and message in response.text
    assert 'data-figure="budget"' in response.text  # the page still shows, with defaults


def _transfer(console: ConsoleServer, session: requests.Session,
              **fields: str) -> requests.Response:
    token = csrf_of(session.get(console.base_url + "/console/terminals", timeout=30).text)
    return session.post(console.base_url + "/console/points/transfer",
                        data={"csrf": token, **fields}, allow_redirects=False, timeout=30)


def _audit_rows(engine: Engine, action: str) -> list[dict[str, Any]]:
    with engine.begin() as conn:
        rows = conn.execute(select(AuditLog.user, AuditLog.detail).where(
            AuditLog.action == action).order_by(AuditLog.id)).all()
    return [{"user": user, **json.loads(detail)} for user, detail in rows]


def _balances(engine: Engine, *cards: str) -> list[int]:
    with engine.begin() as conn:
        return [service.balance(conn, c) for c in cards]


def test_admin_transfer_moves_the_balance_and_is_audited(
        console: ConsoleServer, points: PointsSeed,
        sessions: dict[str, requests.Session]) -> None:
    assert _balances(console.engine, LOST, NEW) == [400, 0]
    reason = "カード紛失のため新カードへ移行 (card lost, moved to a new card)"
    moved = _transfer(console, sessions["admin"], from_card=LOST, to_card=NEW.upper(),
                      reason=reason)
    assert moved.status_code == 303, moved.text[:500]
    assert moved.headers["location"] == f"/console/points?card={NEW}&transferred=400"
    shown = console.get(sessions["admin"], moved.headers["location"])
    assert "400 ポイントを移行しました" in shown.text
    assert re.findall(r'<tr data-kind="(\w+)">', shown.text) == ["transfer_in"]
    assert 'data-balance="400"' in shown.text
    assert _balances(console.engine, LOST, NEW) == [0, 400]
    with console.engine.begin() as conn:
        ledger = conn.execute(select(PointsLedgerRow.kind, PointsLedgerRow.card,
                                     PointsLedgerRow.points, PointsLedgerRow.actor,
                                     PointsLedgerRow.reason).where(
            PointsLedgerRow.kind.in_(("transfer_out", "transfer_in")))).all()
    assert sorted(ledger) == sorted([("transfer_out", LOST, -400, "admin", reason),
                                     ("transfer_in", NEW, 400, "admin", reason)])
    [audited] = _audit_rows(console.engine, "points.transfer")
    assert audited["user"] == "admin" and audited["points"] == 400
    assert (audited["from"], audited["to"], audited["reason"]) == (
        f"{LOST[:8]}…", f"{NEW[:8]}…", reason)
    assert LOST not in json.dumps(audited) and NEW not in json.dumps(audited)

    again = _transfer(console, sessions["admin"], from_card=LOST, to_card=NEW, reason=reason)
    assert again.status_code == 422 and "移行する残高がありません" in again.text
    idm = _transfer(console, sessions["admin"], from_card=idm_hex(4), to_card=NEW,
                    reason=reason)
    assert idm.status_code == 422
    refused = _audit_rows(console.engine, "points.transfer.refused")
    assert [r["from"] for r in refused][-2:] == [f"{LOST[:8]}…", "(カードトークンではない値 / "
                                                 "not a card token)"]
    assert idm_hex(4) not in json.dumps(refused)
    assert _balances(console.engine, LOST, NEW) == [0, 400]


@pytest.mark.parametrize("user", ["auditor", "manager", "librarian"])
def test_only_an_administrator_may_transfer(console: ConsoleServer, points: PointsSeed,
                                            sessions: dict[str, requests.Session],
                                            user: str) -> None:
    before = _balances(console.engine, CAPPED, STRANGER)
    response = _transfer(console, sessions[user], from_card=CAPPED, to_card=STRANGER,
                         reason="should not happen")
    assert response.status_code == 403
    assert _balances(console.engine, CAPPED, STRANGER) == before == [3000, 0]
    assert 'id="transfer"' not in page(console, sessions[user]).text
    assert 'id="transfer"' in page(console, sessions["admin"]).text
    anonymous = requests.post(console.base_url + "/console/points/transfer", data={
        "from_card": CAPPED, "to_card": STRANGER, "reason": "x"}, allow_redirects=False,
        timeout=30)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/console/login"


def test_a_transfer_needs_the_csrf_token(console: ConsoleServer, points: PointsSeed,
                                         sessions: dict[str, requests.Session]) -> None:
    response = sessions["admin"].post(console.base_url + "/console/points/transfer", data={
        "csrf": "forged", "from_card": CAPPED, "to_card": STRANGER, "reason": "x"},
        allow_redirects=False, timeout=30)
    assert response.status_code == 403 and "CSRF" in response.text
    assert _balances(console.engine, CAPPED, STRANGER) == [3000, 0]
