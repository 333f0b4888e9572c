"""The terminal's はちのへポイント service over HTTP: ``ServerPointsService`` implements
``terminal.ports.PointsService`` with the signed madoguchi-sync/1 requests of
``sync.client.ServerClient`` (routes in ``sync.protocol``, contract in docs/points.md).

Failures, translated for the counter:

- the server cannot be reached, times out or answers 5xx/429: ``DeviceUnavailable`` (an
  unknown outcome: a redemption stays pending and is resolved later by ``last_result``; an
  award is then made offline within the terminal's quota);
- a 4xx answer to ``redeem`` / ``cancel`` / ``refund``: not approved, with the server's
  message; to ``balance`` / ``card_points`` / ``request_quota``: ``DeviceError`` with it.

A result's ``amount`` counts points (the counter turns them into yen).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from sync import protocol
from sync.client import ServerClient, ServerRefused, ServerUnavailable, SyncError
from terminal.errors import DeviceError, DeviceUnavailable
from terminal.ports import CardPoints, PaymentResult, QuotaGrant

_NAME = "ポイントサーバー (points server)"


def _int(data: Mapping[str, Any], name: str) -> int:
    value = data.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise DeviceUnavailable(f"{_NAME}: 応答が不正です (malformed answer: {name!r} is "
                                f"{value!r})")
    return value


class ServerPointsService:
    """The points service of the central server, for one enrolled terminal."""

    def __init__(self, client: ServerClient) -> None:
        self._client = client
        self._terminal = client.terminal

    def _call(self, method: str, path: str, payload: object | None = None) -> dict[str, Any]:
        """The JSON answer; DeviceUnavailable when unreachable, ServerRefused (4xx) as is."""
        try:
            response = self._client.request(method, path, payload)
            data = response.json()
        except ServerUnavailable as exc:
            raise DeviceUnavailable(f"{_NAME}に接続できません (unreachable): {exc}") from exc
        except ServerRefused:
            raise
        except SyncError as exc:
            raise DeviceError(f"{_NAME}: {exc}") from exc
        except ValueError as exc:
            raise DeviceUnavailable(f"{_NAME}: 応答が JSON ではありません (not JSON)") from exc
        if not isinstance(data, dict):
            raise DeviceUnavailable(f"{_NAME}: 応答が不正です (malformed answer)")
        return data

    def _query(self, method: str, path: str, payload: object | None = None) -> dict[str, Any]:
        try:
            return self._call(method, path, payload)
        except ServerRefused as exc:
            raise DeviceError(f"{_NAME}が拒否しました (refused): {exc}") from exc

    def _answer(self, path: str, payload: Mapping[str, Any], ref: str) -> PaymentResult:
        try:
            data = self._call("POST", path, dict(payload))
        except ServerRefused as exc:
            return PaymentResult(approved=False, amount=int(payload.get("points", 0)),
                                 kind="points", ref=ref, message=str(exc))
        return _result(data, ref)

    # -- the port -------------------------------------------------------------------------
    def balance(self, card: str) -> int:
        return self.card_points(card).balance

    def card_points(self, card: str) -> CardPoints:
        data = self._query("GET", protocol.points_card_path(self._terminal, card))
        return CardPoints(card=card, balance=_int(data, "balance"),
                          awarded=_int(data, "awarded"), cap_left=_int(data, "cap_left"))

    def redeem(self, card: str, points: int, ref: str) -> PaymentResult:
        return self._answer(protocol.points_redeem_path(self._terminal),
                            {"card": card, "points": points, "ref": ref}, ref)

    def cancel(self, ref: str) -> PaymentResult:
        return self._answer(protocol.points_cancel_path(self._terminal), {"ref": ref}, ref)

    def refund(self, card: str, points: int, ref: str, original_ref: str) -> PaymentResult:
        return self._answer(protocol.points_refund_path(self._terminal),
                            {"card": card, "points": points, "ref": ref,
                             "original_ref": original_ref}, ref)

    def last_result(self, ref: str) -> PaymentResult | None:
        path = protocol.points_result_path(self._terminal, quote(ref, safe=""))
        try:
            data = self._call("GET", path)
        except ServerRefused as exc:
            if exc.status == 404:
                return None
            raise DeviceError(f"{_NAME}が拒否しました (refused): {exc}") from exc
        return _result(data, ref)

    def request_quota(self, used: int) -> QuotaGrant:
        data = self._query("POST", protocol.points_quota_path(self._terminal), {"used": used})
        grant_id = data.get("grant_id")
        if not isinstance(grant_id, str):
            raise DeviceError(f"{_NAME}: 応答が不正です (malformed answer: grant_id)")
        return QuotaGrant(grant_id=grant_id, granted=_int(data, "granted"),
                          budget_left=_int(data, "budget_left"))


def _result(data: Mapping[str, Any], ref: str) -> PaymentResult:
    approved = data.get("approved")
    if not isinstance(approved, bool):
        raise DeviceUnavailable(f"{_NAME}: 応答が不正です (malformed answer: approved)")
    return PaymentResult(approved=approved, amount=_int(data, "points"), kind="points",
                         ref=str(data.get("ref", ref)), message=str(data.get("message", "")))
