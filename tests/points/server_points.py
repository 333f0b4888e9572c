"""The server's points service, in process, as a terminal's ``PointsService``.

``InProcessPoints`` calls ``sync.server.points.service`` on the server's engine (one
transaction per call, like a route) for one terminal. While ``offline`` every call raises
``DeviceUnavailable`` before reaching the server; ``drop_next`` lets the next call through and
then loses its answer (an unknown outcome the terminal must resolve). A refusal the HTTP client
would turn into "not approved" (a 4xx) is answered the same way here. ``on_grant`` sees the
server's total granted quota after every quota request (the budget check "at every moment").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from sync.server.errors import ApiError
from sync.server.points import service
from sync.server.points.campaign import total_granted
from terminal.errors import DeviceError, DeviceUnavailable
from terminal.ports import CardPoints, PaymentResult, QuotaGrant

T = TypeVar("T")


class InProcessPoints:
    """``terminal.ports.PointsService`` for ``terminal``, straight into the server code."""

    def __init__(self, engine: Engine, terminal: str,
                 on_grant: Callable[[int], None] | None = None) -> None:
        self.engine = engine
        self.terminal = terminal
        self.offline = False
        self.drop_next = False
        self.on_grant = on_grant
        self.calls = 0

    def _run(self, work: Callable[[Connection], T]) -> T:
        if self.offline:
            raise DeviceUnavailable("points server unreachable (simulated offline period)")
        self.calls += 1
        with self.engine.begin() as conn:
            answer = work(conn)
        if self.drop_next:
            self.drop_next = False
            raise DeviceUnavailable("points server: the answer was lost (simulated)")
        return answer

    def _payment(self, work: Callable[[Connection], service.Answer], ref: str,
                 points: int) -> PaymentResult:
        try:
            answer = self._run(work)
        except ApiError as exc:
            return PaymentResult(approved=False, amount=points, kind="points", ref=ref,
                                 message=f"{exc.status} {exc}")
        return PaymentResult(approved=answer.approved, amount=answer.points, kind="points",
                             ref=answer.ref, message=answer.message)

    def balance(self, card: str) -> int:
        return self.card_points(card).balance

    def card_points(self, card: str) -> CardPoints:
        found = self._run(lambda conn: service.card_points(conn, card))
        return CardPoints(card=card, balance=int(found["balance"]),
                          awarded=int(found["awarded"]), cap_left=int(found["cap_left"]))

    def redeem(self, card: str, points: int, ref: str) -> PaymentResult:
        return self._payment(lambda conn: service.redeem(conn, self.terminal, card, points,
                                                         ref), ref, points)

    def cancel(self, ref: str) -> PaymentResult:
        return self._payment(lambda conn: service.cancel(conn, self.terminal, ref), ref, 0)

    def refund(self, card: str, points: int, ref: str, original_ref: str) -> PaymentResult:
        return self._payment(lambda conn: service.refund(conn, self.terminal, card, points, ref,
                                                         original_ref), ref, points)

    def last_result(self, ref: str) -> PaymentResult | None:
        answer = self._run(lambda conn: service.result(conn, self.terminal, ref))
        if answer is None:
            return None
        return PaymentResult(approved=answer.approved, amount=answer.points, kind="points",
                             ref=answer.ref, message=answer.message)

    def request_quota(self, used: int) -> QuotaGrant:
        def work(conn: Connection) -> tuple[dict[str, object], int]:
            return service.request_quota(conn, self.terminal, used), total_granted(conn)

        try:
            grant, granted_total = self._run(work)
        except ApiError as exc:
            raise DeviceError(f"points server refused the quota request: {exc}") from exc
        if self.on_grant is not None:
            self.on_grant(granted_total)
        return QuotaGrant(grant_id=str(grant["grant_id"]), granted=int(str(grant["granted"])),
                          budget_left=int(str(grant["budget_left"])))
