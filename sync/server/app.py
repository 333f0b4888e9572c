"""The HTTP API (FastAPI): thin routes over the modules that do the work.

Every terminal route reads the raw body (limited to MAX_BODY_BYTES), then authenticates and
works in a worker thread (database calls block). A database that does not answer gives 503
with Retry-After, never 500. The OpenAPI spec is at /openapi.json.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Final

from fastapi import FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from sync import protocol
from sync.server import configs, console, derived, enroll, ingest, pages, terminals
from sync.server.auth import Caller, authenticate
from sync.server.db import make_engine, ping
from sync.server.errors import ApiError

RETRY_AFTER_SECONDS = 5
DRAIN_LIMIT = 8 * protocol.MAX_BODY_BYTES
Work = Callable[[Caller, bytes], Response]
Signed = Callable[[Request, str | None, Work], Awaitable[Response]]


# -- the OpenAPI description (documentation only: the routes read raw bodies and headers) --
_STR: Final = {"type": "string"}
_NONEMPTY: Final = {"type": "string", "minLength": 1}
_INT: Final = {"type": "integer"}
_ERROR: Final = {"type": "object", "required": ["error", "message"],
                 "properties": {"error": _STR, "message": _STR}}
_RETRY_AFTER: Final = {"Retry-After": {"description": "seconds to wait", "schema": _STR}}


def _error(description: str, **extra: Any) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": _ERROR}}, **extra}


def _ok(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _object(**properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": list(properties), "properties": properties}


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True,
                            "content": {"application/json": {"schema": schema}}}}


_BODY_ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    413: _error(f"body over {protocol.MAX_BODY_BYTES} bytes or a batch over "
                f"{protocol.MAX_BATCH_ENTRIES} entries"),
    503: _error("the database does not answer; retry later", headers=_RETRY_AFTER),
}
_SIGNED_ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    **_BODY_ERRORS,
    401: _error("missing, malformed, bad or replayed request signature, timestamp outside "
                "the window, or unknown terminal"),
    403: _error("revoked terminal, or another terminal's journal or facility"),
}
_SIGNATURE_HEADERS: Final = {"parameters": [
    {"name": protocol.HEADER_TERMINAL, "in": "header", "required": True,
     "description": "the enrolled terminal id", "schema": {"type": "string", "minLength": 1}},
    {"name": protocol.HEADER_TIMESTAMP, "in": "header", "required": True,
     "description": "UTC, YYYY-MM-DDTHH:MM:SSZ",
     "schema": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$"}},
    {"name": protocol.HEADER_NONCE, "in": "header", "required": True,
     "description": "one-time nonce", "schema": {"type": "string", "minLength": 1,
                                                 "maxLength": 100}},
    {"name": protocol.HEADER_SIGNATURE, "in": "header", "required": True,
     "description": "sync.protocol.sign_request: Ed25519 by the terminal key over method, "
     "path with query, timestamp, nonce and body SHA-256",
     "schema": {"type": "string", "minLength": 1}},
    {"name": protocol.HEADER_CLOCK, "in": "header", "required": False,
     "description": "the terminal clock (RFC 3339), for drift", "schema": _STR},
]}
_HEAD: Final = _object(ack=_INT, head_hash={"type": ["string", "null"]}, server_time=_STR)
_BATCH: Final = _object(entries={"type": "array", "items": _STR,
                                 "maxItems": protocol.MAX_BATCH_ENTRIES})
_STORED: Final = _object(
    ack=_INT, stored=_INT, duplicates=_INT, server_time=_STR,
    gap={"oneOf": [{"type": "null"}, _object(expected=_INT, found=_INT)]})
_REFUSED: Final = {"type": "object", "required": ["error", "message"], "properties": {
    "error": _STR, "message": _STR, "seq": {"type": ["integer", "null"]}, "ack": _INT}}
_STATUS: Final = {"type": "object", "properties": {
    "app_version": {"type": ["string", "null"]},
    "pending": {"type": ["integer", "null"], "minimum": 0, "maximum": 2**31 - 1},
    "devices": {"type": ["object", "null"]}, "last_error": {"type": ["string", "null"]}}}
_FROM_SEQ_LIMIT: Final = {"parameters": [
    {"name": "from_seq", "in": "query", "required": False,
     "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1, "default": 1}},
    {"name": "limit", "in": "query", "required": False,
     "schema": {"type": "integer", "minimum": 1, "maximum": protocol.MAX_BATCH_ENTRIES,
                "default": protocol.MAX_BATCH_ENTRIES}},
]}


def _json(payload: object, status: int = 200) -> JSONResponse:
    return JSONResponse(payload, status_code=status)


async def read_body(request: Request) -> bytes:
    """The body, or 413 past MAX_BODY_BYTES (read on up to a limit, so the client gets the
    answer instead of a reset connection)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size <= protocol.MAX_BODY_BYTES:
            chunks.append(chunk)
        elif size > DRAIN_LIMIT:
            break
    if size > protocol.MAX_BODY_BYTES:
        raise ApiError(413, "too_large", f"request body is over {protocol.MAX_BODY_BYTES} "
                       f"bytes; send at most {protocol.MAX_BATCH_ENTRIES} entries per batch "
                       "and smaller batches")
    return b"".join(chunks)


def json_body(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ApiError(422, "format", f"request body is not UTF-8 JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ApiError(422, "format", "request body must be a JSON object")
    return value


def batch_lines(body: bytes) -> list[str]:
    lines = json_body(body).get("entries")
    if not isinstance(lines, list) or not all(isinstance(line, str) for line in lines):
        raise ApiError(422, "format", 'request body must be {"entries": [line, ...]} with '
                       "each entry its canonical JSON text")
    if len(lines) > protocol.MAX_BATCH_ENTRIES:
        raise ApiError(413, "too_large", f"{len(lines)} entries in one batch; send at most "
                       f"{protocol.MAX_BATCH_ENTRIES}")
    return lines


def _signed_paths(request: Request) -> list[str]:
    query = request.scope.get("query_string", b"").decode("latin-1")
    suffix = f"?{query}" if query else ""
    paths = [request.url.path + suffix]
    raw = request.scope.get("raw_path")
    if isinstance(raw, bytes) and raw.decode("latin-1") != request.url.path:
        paths.append(raw.decode("latin-1") + suffix)
    return paths


def _headers(request: Request) -> dict[str, str]:
    names = (protocol.HEADER_TERMINAL, protocol.HEADER_TIMESTAMP, protocol.HEADER_NONCE,
             protocol.HEADER_SIGNATURE, protocol.HEADER_CLOCK)
    return {name: request.headers[name] for name in names if name in request.headers}


def _install_handlers(app: FastAPI) -> None:
    async def api_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return JSONResponse(exc.payload, status_code=exc.status, headers=exc.headers)

    async def database_error(_request: Request, exc: Exception) -> Response:
        down = isinstance(exc, OperationalError | InterfaceError | PoolTimeout) or (
            isinstance(exc, DBAPIError) and exc.connection_invalidated)
        if not down:
            return JSONResponse(
                {"error": "internal", "message": "the database refused the operation "
                 f"({type(exc).__name__}); this is a server bug: report it with the time"},
                status_code=500)
        return JSONResponse(
            {"error": "unavailable", "message": "the server database does not answer; retry "
             f"in {RETRY_AFTER_SECONDS} s ({type(exc).__name__})"},
            status_code=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})

    app.add_exception_handler(ApiError, api_error)
    for error in (OperationalError, InterfaceError, DBAPIError, PoolTimeout):
        app.add_exception_handler(error, database_error)


def create_app(database_url: str, engine: Engine | None = None) -> FastAPI:
    """The API over ``database_url`` (already migrated: 'madoguchi server init')."""
    db = engine or make_engine(database_url)
    drainer = derived.Drainer(db)  # recomputes stale derived rows after ingests

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await run_in_threadpool(drainer.close)
        if engine is None:
            db.dispose()

    # No /docs or /redoc: FastAPI's pages load Swagger UI from a CDN, and nothing here may;
    # the spec itself stays public at /openapi.json.
    app = FastAPI(title="madoguchi central server", version=protocol.PROTOCOL,
                  lifespan=lifespan, docs_url=None, redoc_url=None)
    _install_handlers(app)
    app.state.engine = db
    app.state.drainer = drainer

    async def signed(request: Request, path_terminal: str | None, work: Work) -> Response:
        body = await read_body(request)

        def run() -> Response:
            caller = authenticate(db, _headers(request), request.method,
                                  _signed_paths(request), body, path_terminal)
            return work(caller, body)

        return await run_in_threadpool(run)

    _routes(app, db, signed)
    console.install(app, db)  # the administrator console, under /console
    return app


def _routes(app: FastAPI, db: Engine, signed: Signed) -> None:
    @app.get("/healthz", summary="200 when the database answers, else 503", responses={
        200: _ok(_object(status={"const": "ok"})),
        503: {"description": "the database does not answer", **_ok(_object(status=_STR))}})
    async def healthz() -> Response:
        if await run_in_threadpool(ping, db):
            return _json({"status": "ok"})
        return _json({"status": "database unavailable"}, 503)

    @app.post(protocol.enroll_path(), summary="Enroll a terminal with a one-time code",
              openapi_extra=_body(_object(code=_NONEMPTY, terminal=_NONEMPTY,
                                          facility=_NONEMPTY, public_key=_NONEMPTY)),
              responses={
                  200: _ok(_object(terminal=_STR, facility=_STR, server_public_key=_STR)),
                  403: _error("the code is unknown, used, expired or for another terminal"),
                  409: _error("the terminal is enrolled for another facility"),
                  422: _error("not a JSON object of non-empty strings with a valid key"),
                  429: _error("too many failed attempts from this address",
                              headers=_RETRY_AFTER),
                  **_BODY_ERRORS})
    async def enroll_route(request: Request) -> Response:
        body = json_body(await read_body(request))
        client = request.client.host if request.client else "unknown"
        return _json(await run_in_threadpool(enroll.enroll, db, client, body))

    @app.get(protocol.head_path("{terminal}"), summary="The stored head (ack) of a terminal",
             openapi_extra=_SIGNATURE_HEADERS, responses={200: _ok(_HEAD), **_SIGNED_ERRORS})
    async def head_route(request: Request, terminal: str) -> Response:
        return await signed(request, terminal, lambda c, b: _json(terminals.head(db, terminal)))

    @app.post(protocol.entries_path("{terminal}"), summary="Upload journal lines (a batch)",
              openapi_extra={**_SIGNATURE_HEADERS, **_body(_BATCH)}, responses={
                  200: _ok(_STORED), **_SIGNED_ERRORS,
                  409: {"description": "fork: nothing stored", **_ok(_REFUSED)},
                  422: {"description": "format, chain or signature: nothing stored",
                        **_ok(_REFUSED)}})
    async def upload_route(request: Request, terminal: str) -> Response:
        def work(caller: Caller, body: bytes) -> Response:
            result = ingest.ingest_batch(db, terminal, caller.public_key, batch_lines(body))
            if result["stored"]:
                app.state.drainer.kick()  # after the commit; runs beside the response
            return _json({**result, "server_time": terminals.server_time()})

        return await signed(request, terminal, work)

    @app.get(protocol.entries_path("{terminal}"), summary="The terminal's own stored lines",
             openapi_extra={"parameters": _SIGNATURE_HEADERS["parameters"]
                            + _FROM_SEQ_LIMIT["parameters"]}, responses={
                 200: _ok(_object(entries={"type": "array", "items": _STR}, ack=_INT)),
                 **_SIGNED_ERRORS, 422: _error("from_seq or limit out of range")})
    async def entries_route(request: Request, terminal: str) -> Response:
        query = dict(request.query_params)
        return await signed(request, terminal,
                            lambda c, b: _json(terminals.entries(db, terminal, query)))

    @app.get(protocol.config_path("{terminal}"), summary="Newest config of its facility",
             openapi_extra=_SIGNATURE_HEADERS, responses={
                 200: _ok(_object(facility=_STR, version=_INT, payload=_STR, sha256=_STR,
                                  signature=_STR, published_at=_STR)),
                 204: {"description": "no config published for the facility"},
                 **_SIGNED_ERRORS})
    async def config_route(request: Request, terminal: str) -> Response:
        def work(caller: Caller, _body: bytes) -> Response:
            config = configs.latest(db, caller.facility)
            return Response(status_code=204) if config is None else _json(config)

        return await signed(request, terminal, work)

    @app.post(protocol.status_path("{terminal}"), summary="Report the terminal's status",
              status_code=204, openapi_extra={**_SIGNATURE_HEADERS, **_body(_STATUS)},
              responses={**_SIGNED_ERRORS, 422: _error("not a JSON object of the fields")})
    async def status_route(request: Request, terminal: str) -> Response:
        def work(caller: Caller, body: bytes) -> Response:
            terminals.status(db, terminal, json_body(body))
            return Response(status_code=204)

        return await signed(request, terminal, work)

    @app.get(protocol.receipt_lookup_path("{facility}", "{receipt_no}"),
             summary="Find a sale by receipt number in the facility, with its refunds/voids",
             openapi_extra=_SIGNATURE_HEADERS, responses={
                 200: _ok(_object(terminal=_STR, seq=_INT, line=_STR,
                                  refunds={"type": "array", "items": _STR})),
                 404: _error("no such sale has reached the server"), **_SIGNED_ERRORS})
    async def receipt_route(request: Request, facility: str, receipt_no: str) -> Response:
        return await signed(request, None, lambda c, b: _json(
            terminals.receipt(db, c, facility, receipt_no)))

    @app.get(protocol.receipt_page_path("{terminal}", 0, "{prefix}").replace(
        "/0/", "/{seq}/"), response_class=HTMLResponse, summary="Public receipt check page",
        responses={404: {"description": "not yet received",
                         "content": {"text/html": {"schema": _STR}}}})
    async def receipt_page_route(terminal: str, seq: int, prefix: str) -> Response:
        status, text = await run_in_threadpool(pages.receipt_page, db, terminal, seq, prefix)
        return HTMLResponse(text, status_code=status)

    from sync.server.points import routes as points_routes  # imports this module: load last
    points_routes.install(app, db, signed)
