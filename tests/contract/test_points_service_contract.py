"""The ``PointsService`` port's contract, for every implementation.

Each implementation comes as a ``PointsHarness`` fixture: the service plus the few things a
test needs to arrange that the port itself cannot (credit a card, award points the way the
server learns them, cut the link). Today only the simulator; to add the server-backed
``sync.points_client.ServerPointsService``, write one fixture returning a harness for it and
add its name to ``IMPLEMENTATIONS``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

import pytest

from drivers.points_sim import PointsSimulator
from terminal.errors import DeviceError
from terminal.points import card_token
from terminal.ports import PointsService

KEY = b"contract test points key, 32 b!!"
CAP, CHUNK, BUDGET = 3000, 1000, 2500
IMPLEMENTATIONS = ["simulator_harness"]


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
