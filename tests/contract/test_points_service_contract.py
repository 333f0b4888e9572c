"""The ``PointsService`` port's contract, for every implementation.

Each implementation comes as a ``PointsHarness`` fixture: the service plus the few things a
test needs to arrange that the port itself cannot (credit a card, award points the way the
server learns them, cut the link): the simulator (``drivers.points_sim``) and the server's
(``sync.points_client.ServerPointsService`` over signed HTTP to a real uvicorn server, on
SQLite and on PostgreSQL). A new implementation: one fixture returning a harness for it and
its name in ``IMPLEMENTATIONS``.

The server harnesses share one server per module (a fresh one costs seconds); each test gets
a terminal of its own, and the tests use cards and refs of their own, so they stay apart.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

import pytest
from server_harness import (
    FACILITY,
    START,
    enroll_terminal,
    pg_database,
    prepare,
    running_server,
)

from drivers.points_sim import PointsSimulator
from sync.client import ServerClient
from sync.points_client import ServerPointsService
from sync.server.db import make_engine
from sync.server.points.campaign import set_campaign
from terminal.errors import DeviceError
from terminal.journal import Journal, TerminalKey
from terminal.points import card_token
from terminal.ports import PointsService

KEY = b"contract test points key, 32 b!!"
CAP, CHUNK, BUDGET = 3000, 1000, 2500
IMPLEMENTATIONS = ["simulator_harness", "server_sqlite_harness", "server_postgresql_harness"]
UNREACHABLE = "http://127.0.0.1:9"  # nothing listens on the discard port


class PointsHarness(Protocol):
    @property
    def service(self) -> PointsService: ...

    @property
    def cap(self) -> int:
        """The per-person cap the service applies."""
        ...

    @property
    def quota_chunk(self) -> int:
        """The unused quota a terminal is topped up to."""
        ...

    @property
    def budget(self) -> int:
        """The campaign budget when the harness starts."""
        ...

    def award(self, card: str, points: int) -> None:
        """Award ``points`` to ``card`` as the server would learn it (a journal upload)."""
        ...

    def set_online(self, online: bool) -> None:
        """Cut (False) or restore (True) the link to the service."""
        ...


@dataclass
class SimulatorHarness:
    service: PointsSimulator
    cap: int = CAP
    quota_chunk: int = CHUNK
    budget: int = BUDGET
    seq: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def award(self, card: str, points: int) -> None:
        self.service.ingest([{"terminal": "contract-01", "seq": next(self.seq),
                              "kind": "points.award",
                              "body": {"card": card, "points": points}}])

    def set_online(self, online: bool) -> None:
        self.service.offline = not online


@pytest.fixture
def simulator_harness() -> PointsHarness:
    sim = PointsSimulator(per_person_cap=CAP, budget=BUDGET, quota_chunk=CHUNK)
    return SimulatorHarness(sim)


@dataclass
class Served:
    """A running server (module-wide): its URL and database."""

    base_url: str
    database_url: str
    terminals: Iterator[int] = field(default_factory=lambda: itertools.count(1))


@dataclass
class ServerHarness:
    """A terminal of its own on the shared server: the service is its ``ServerPointsService``;
    awards are ``points.award`` entries of its real journal, uploaded (``push``)."""

    client: ServerClient
    journal: Journal
    online_url: str
    cap: int = CAP
    quota_chunk: int = CHUNK
    budget: int = BUDGET
    clock: datetime = START
    sent: int = 0

    @property
    def service(self) -> PointsService:
        return ServerPointsService(self.client)

    def award(self, card: str, points: int) -> None:
        self.clock += timedelta(minutes=1)
        self.journal.append("points.award", {
            "card": card, "sale_seq": self.journal.last_seq, "points": points,
            "receipt_no": f"{self.journal.terminal}-{self.journal.last_seq}",
            "facility": FACILITY, "online": True}, self.clock)
        lines = list(self.journal.lines(self.sent + 1))
        self.sent = self.client.push(lines).ack

    def set_online(self, online: bool) -> None:
        self.client.base_url = self.online_url if online else UNREACHABLE


def _serve(database_url: str) -> Iterator[Served]:
    prepare(database_url)
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            set_campaign(conn, "contract test", per_person_cap=CAP, campaign_budget=BUDGET,
                         quota_chunk=CHUNK)
    finally:
        engine.dispose()
    with running_server(database_url) as base_url:
        yield Served(base_url, database_url)


@pytest.fixture(scope="module")
def sqlite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    path = tmp_path_factory.mktemp("points-contract") / "server.db"
    yield from _serve(f"sqlite:///{path}")


@pytest.fixture(scope="module")
def postgresql_server() -> Iterator[Served]:
    with pg_database() as url:
        yield from _serve(url)


def _server_harness(served: Served, directory: Path) -> Iterator[ServerHarness]:
    terminal = f"contract-{next(served.terminals):02d}"
    key = TerminalKey.generate()
    journal = Journal.open(directory / f"{terminal}.db", terminal, key)
    enroll_terminal(served.base_url, served.database_url, FACILITY, terminal, key)
    client = ServerClient(served.base_url, terminal, key, timeout=30)
    try:
        yield ServerHarness(client, journal, served.base_url)
    finally:
        client.close()
        journal.close()


@pytest.fixture
def server_sqlite_harness(sqlite_server: Served, tmp_path: Path) -> Iterator[PointsHarness]:
    yield from _server_harness(sqlite_server, tmp_path)


@pytest.fixture
def server_postgresql_harness(postgresql_server: Served,
                              tmp_path: Path) -> Iterator[PointsHarness]:
    yield from _server_harness(postgresql_server, tmp_path)


@pytest.fixture(params=IMPLEMENTATIONS)
def harness(request: pytest.FixtureRequest) -> PointsHarness:
    found: PointsHarness = request.getfixturevalue(request.param)
    return found


def card(n: int) -> str:
    return card_token(KEY, n.to_bytes(8, "big"))


def test_an_unknown_card_has_nothing_and_the_whole_cap(harness: PointsHarness) -> None:
    known = harness.service.card_points(card(1))
    assert (known.card, known.balance, known.awarded, known.cap_left) == (
        card(1), 0, 0, harness.cap)
    assert harness.service.balance(card(1)) == 0


def test_awards_fill_the_balance_up_to_the_cap(harness: PointsHarness) -> None:
    harness.award(card(2), 200)
    known = harness.service.card_points(card(2))
    assert (known.balance, known.awarded, known.cap_left) == (200, 200, harness.cap - 200)
    harness.award(card(2), harness.cap)  # past the cap: reduced
    known = harness.service.card_points(card(2))
    assert (known.awarded, known.cap_left, known.balance) == (harness.cap, 0, harness.cap)


def test_redeem_is_idempotent_per_ref_and_declines_a_short_balance(
    harness: PointsHarness,
) -> None:
    service = harness.service
    harness.award(card(3), 500)
    first = service.redeem(card(3), 300, "c-r1")
    assert first.approved and first.kind == "points" and first.amount == 300
    assert service.redeem(card(3), 300, "c-r1").approved
    assert service.balance(card(3)) == 200  # spent once
    short = service.redeem(card(3), 201, "c-r2")
    assert not short.approved and short.message and service.balance(card(3)) == 200
    found = service.last_result("c-r1")
    assert found is not None and found.approved
    assert service.last_result("c-never") is None


def test_cancel_gives_back_and_refuses_a_late_redeem(harness: PointsHarness) -> None:
    service = harness.service
    harness.award(card(4), 400)
    assert service.redeem(card(4), 100, "c-r3").approved
    assert service.cancel("c-r3").approved and service.balance(card(4)) == 400
    assert service.cancel("c-r3").approved and service.balance(card(4)) == 400  # idempotent
    assert service.cancel("c-r4").approved  # never received: cancelled before it arrives
    late = service.redeem(card(4), 100, "c-r4")
    assert not late.approved and service.balance(card(4)) == 400


def test_refund_restores_points_once_per_ref(harness: PointsHarness) -> None:
    service = harness.service
    harness.award(card(5), 300)
    assert service.redeem(card(5), 300, "c-r5").approved
    refund = service.refund(card(5), 120, "c-f1", "c-r5")
    assert refund.approved and refund.kind == "points"
    assert service.refund(card(5), 120, "c-f1", "c-r5").approved
    assert service.balance(card(5)) == 120
    found = service.last_result("c-f1")
    assert found is not None and found.approved


def test_a_redemption_gives_back_at_most_what_it_spent(harness: PointsHarness) -> None:
    service = harness.service
    harness.award(card(7), 500)
    assert service.redeem(card(7), 300, "c-r7").approved
    assert service.refund(card(7), 200, "c-f2", "c-r7").approved
    over = service.refund(card(7), 200, "c-f3", "c-r7")  # only 100 left to give back
    assert not over.approved and over.message
    assert not service.refund(card(7), 100, "c-f4", "c-never-redeemed").approved
    assert not service.refund(card(8), 100, "c-f5", "c-r7").approved  # not the paying card
    back = service.cancel("c-r7")  # the rest: what the refund did not give back
    assert back.approved and back.amount == 100
    assert service.balance(card(7)) == 500
    assert not service.refund(card(7), 50, "c-f6", "c-r7").approved  # cancelled: nothing left
    assert service.balance(card(7)) == 500


def test_quota_tops_up_to_the_chunk_while_the_budget_lasts(harness: PointsHarness) -> None:
    service = harness.service
    first = service.request_quota(0)
    assert first.granted == harness.quota_chunk and first.grant_id
    assert first.budget_left == harness.budget - harness.quota_chunk
    assert service.request_quota(0) == first  # nothing used: the same grant
    second = service.request_quota(harness.quota_chunk)
    assert second.granted == min(2 * harness.quota_chunk, harness.budget)
    assert second.grant_id != first.grant_id
    last = service.request_quota(second.granted)
    assert last.granted == harness.budget and last.budget_left == 0


def test_an_unreachable_service_raises_a_device_error(harness: PointsHarness) -> None:
    harness.set_online(False)
    for call in (lambda: harness.service.card_points(card(6)),
                 lambda: harness.service.redeem(card(6), 1, "c-r6"),
                 lambda: harness.service.request_quota(0)):
        with pytest.raises(DeviceError):
            call()
    harness.set_online(True)
    assert harness.service.last_result("c-r6") is None  # nothing happened meanwhile
