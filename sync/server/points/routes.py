"""The points routes (docs/points.md), signed by the terminal like every terminal route.

``install(app, db, signed)`` registers them; ``sync.server.app`` calls it from its routes.
A terminal may use only its own path (``/terminals/{t}/...`` must be the caller: 403).
Bad bodies get 422 ``format``; a redemption the balance cannot cover is 200 with
``approved: false`` and the reason.
"""

from __future__ import annotations

from typing import Any, Final

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import Engine

from sync import protocol
from sync.server.app import (
    _SIGNATURE_HEADERS,
    _SIGNED_ERRORS,
    Signed,
    _body,
    _error,
    _object,
    _ok,
    json_body,
)
from sync.server.auth import Caller
from sync.server.errors import ApiError
from sync.server.points import service
from sync.server.sql import storable

_INT: Final = {"type": "integer"}
_STR: Final = {"type": "string"}
_CARD: Final = {"type": "string", "pattern": "^[0-9a-f]{64}$",
                "description": "card token: HMAC-SHA256 of the IDm, lowercase hex"}
_POINTS: Final = {"type": "integer", "minimum": 1, "maximum": service.MAX_POINTS}
_USED: Final = {"type": "integer", "minimum": 0, "maximum": service.MAX_POINTS}
_REF: Final = {"type": "string", "minLength": 1, "maxLength": 200}
_ANSWER: Final = _object(approved={"type": "boolean"}, points=_INT, balance=_INT,
                         message=_STR, ref=_STR)
_CARD_PARAMETERS: Final = {"parameters": [
    *_SIGNATURE_HEADERS["parameters"],
    {"name": "card", "in": "path", "required": True, "schema": _CARD}]}
_ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    **_SIGNED_ERRORS, 422: _error("a field is missing or malformed")}
_ANSWERS: Final[dict[int | str, dict[str, Any]]] = {200: _ok(_ANSWER), **_ERRORS}


def _post(**fields: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI extras of a signed POST with a JSON object body of ``fields``."""
    return {**_SIGNATURE_HEADERS, **_body(_object(**fields))}


def _json(payload: object, status: int = 200) -> JSONResponse:
    return JSONResponse(payload, status_code=status)


def _fields(body: bytes, *names: str) -> dict[str, Any]:
    data = json_body(body)
    missing = [name for name in names if name not in data]
    if missing:
        raise ApiError(422, "format", f"missing field(s) {', '.join(missing)}")
    return data


def install(app: FastAPI, db: Engine, signed: Signed) -> None:
    """Register the points routes on ``app``."""

    @app.get(protocol.points_card_path("{terminal}", "{card}"),
             summary="Points of a card: balance, standing awards, cap room",
             openapi_extra=_CARD_PARAMETERS, responses={
                 200: _ok(_object(card=_STR, balance=_INT, awarded=_INT, cap=_INT,
                                  cap_left=_INT)), **_ERRORS})
    async def card_route(request: Request, terminal: str) -> Response:
        def work(_caller: Caller, _body: bytes) -> Response:
            # not a FastAPI parameter: a bad card gets our 422 shape, after authentication
            card = service.check_card(request.path_params.get("card"))
            with db.begin() as conn:
                return _json(service.card_points(conn, card))

        return await signed(request, terminal, work)

    @app.post(protocol.points_redeem_path("{terminal}"), summary="Redeem points (by ref)",
              openapi_extra=_post(card=_CARD, points=_POINTS, ref=_REF), responses=_ANSWERS)
    async def redeem_route(request: Request, terminal: str) -> Response:
        def work(caller: Caller, body: bytes) -> Response:
            data = _fields(body, "card", "points", "ref")
            card, points = service.check_card(data["card"]), service.check_points(data["points"])
            ref = service.check_ref(data["ref"])
            with db.begin() as conn:
                return _json(service.redeem(conn, caller.terminal, card, points, ref).as_dict())

        return await signed(request, terminal, work)

    @app.post(protocol.points_cancel_path("{terminal}"), summary="Cancel a redemption",
              openapi_extra=_post(ref=_REF), responses=_ANSWERS)
    async def cancel_route(request: Request, terminal: str) -> Response:
        def work(caller: Caller, body: bytes) -> Response:
            ref = service.check_ref(_fields(body, "ref")["ref"])
            with db.begin() as conn:
                return _json(service.cancel(conn, caller.terminal, ref).as_dict())

        return await signed(request, terminal, work)

    @app.post(protocol.points_refund_path("{terminal}"),
              summary="Restore points of a refunded points tender",
              openapi_extra=_post(card=_CARD, points=_POINTS, ref=_REF, original_ref=_REF),
              responses=_ANSWERS)
    async def refund_route(request: Request, terminal: str) -> Response:
        def work(caller: Caller, body: bytes) -> Response:
            data = _fields(body, "card", "points", "ref", "original_ref")
            card, points = service.check_card(data["card"]), service.check_points(data["points"])
            ref = service.check_ref(data["ref"])
            original = service.check_ref(data["original_ref"], "original_ref")
            with db.begin() as conn:
                return _json(service.refund(conn, caller.terminal, card, points, ref,
                                            original).as_dict())

        return await signed(request, terminal, work)

    @app.get(protocol.points_result_path("{terminal}", "{ref:path}"),  # a ref may hold "/"
             summary="The outcome of a redemption, cancel or refund ref",
             openapi_extra=_SIGNATURE_HEADERS, responses={
                 200: _ok(_ANSWER), 404: _error("the ref never reached the server"),
                 **_ERRORS})
    async def result_route(request: Request, terminal: str, ref: str) -> Response:
        def work(caller: Caller, _body: bytes) -> Response:
            answer = None
            if storable(ref):  # else it cannot be stored, so it never arrived
                with db.begin() as conn:
                    answer = service.result(conn, caller.terminal, ref)
            if answer is None:
                raise ApiError(404, "not_found", f"ref {ref[:200]!r} never reached the points "
                               "service from this terminal")
            return _json(answer.as_dict())

        return await signed(request, terminal, work)

    @app.post(protocol.points_quota_path("{terminal}"), summary="Ask for award quota",
              openapi_extra=_post(used=_USED),
              responses={200: _ok(_object(grant_id=_STR, granted=_INT, budget_left=_INT)),
                         **_ERRORS})
    async def quota_route(request: Request, terminal: str) -> Response:
        def work(caller: Caller, body: bytes) -> Response:
            used = service.check_points(_fields(body, "used")["used"], minimum=0)
            with db.begin() as conn:
                return _json(service.request_quota(conn, caller.terminal, used))

        return await signed(request, terminal, work)
