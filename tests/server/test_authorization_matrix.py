"""The authorization matrix over EVERY server endpoint (issue 9): each route of
``create_app`` (terminal API under /api/v1, console under /console, the public receipt page,
/healthz, the OpenAPI spec and docs, static files) x each caller -> the expected class of
outcome, through a real uvicorn server, on SQLite and on PostgreSQL.

Callers: anonymous; terminal A on its own resources; terminal B (another facility) on A's
resources; a revoked terminal on its own; admin; auditor; the facility manager of A's
facility; the manager of another facility. Outcome classes: ``ok`` (authorization passed:
2xx, or the route's own refusal of a harmless form, 400/409/422), ``redirect`` (3xx, not to
the login), ``login`` (3xx to /console/login), ``401``, ``403``, ``404``; a 5xx always fails.

``TABLE`` is keyed by (method, path) of the route: ``test_table_lists_every_route`` fails
when a route appears without its row. A console session cookie never authorizes a terminal
API call (401), and a terminal signature never authorizes a console page (the login).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlencode

import pytest
import requests
from console.console_seed import LIBRARY, MUSEUM, SAMPLES, csrf_of, login, seed
from console.test_roles import FORMS as CONSOLE_FORMS
from points_harness import card
from server_harness import fill, pg_database, prepare, running_server, sqlite_url
from starlette.routing import Mount, Route

from sync import protocol
from sync.server.admin import revoke
from sync.server.app import create_app
from sync.server.configs import publish
from sync.server.db import make_engine
from sync.server.enroll import create_code, enroll
from sync.server.ingest import ingest_batch
from sync.server.points import service
from terminal.journal import Journal, TerminalKey

TERMINAL_A: Final = "museum-a"  # hachinohe-museum
TERMINAL_B: Final = "library-b"  # aomori-library
REVOKED: Final = "museum-r"  # hachinohe-museum, revoked
REF: Final = "matrix-ref-a"  # a points ref of terminal A
CALLERS: Final = ("anonymous", "terminal_a", "terminal_b", "revoked", "admin", "auditor",
                  "manager_a", "manager_other")
USERS: Final = {"admin": "admin", "auditor": "auditor", "manager_a": "manager",
                "manager_other": "librarian"}  # console_seed's users: museum / library
PARAM: Final = re.compile(r"\{(\w+)(?::[^}]*)?\}")

OK, REDIRECT, LOGIN = "ok", "redirect", "login"
Row = tuple[str, str, str, str, str, str, str, str]  # in the order of CALLERS
EVERYONE: Final[Row] = (OK,) * 8
EVERYONE_REDIRECTED: Final[Row] = (REDIRECT,) * 8
TERMINAL_API: Final[Row] = ("401", OK, "403", "403", "401", "401", "401", "401")
CONSOLE_ALL: Final[Row] = (LOGIN, LOGIN, LOGIN, LOGIN, OK, OK, OK, OK)
CONSOLE_OWN_FACILITY: Final[Row] = (LOGIN, LOGIN, LOGIN, LOGIN, OK, OK, OK, "404")
CONSOLE_ADMIN_AUDITOR: Final[Row] = (LOGIN, LOGIN, LOGIN, LOGIN, OK, OK, "403", "403")
CONSOLE_WRITE_OWN_FACILITY: Final[Row] = (LOGIN, LOGIN, LOGIN, LOGIN, OK, "403", OK, "404")
CONSOLE_ADMIN_WRITE: Final[Row] = (LOGIN, LOGIN, LOGIN, LOGIN, OK, "403", "403", "403")

TABLE: Final[dict[tuple[str, str], Row]] = {
    # public: no credential needed, none changes anything
    ("GET", "/healthz"): EVERYONE,
    ("GET", "/openapi.json"): EVERYONE,
    ("GET", "/r/{terminal}/{seq}/{prefix}"): EVERYONE,
    ("GET", "/console/static"): EVERYONE,
    ("GET", "/"): EVERYONE_REDIRECTED,
    # enrollment: the one-time code is the credential; a bogus one is 403 for everyone
    ("POST", "/api/v1/enroll"): ("403",) * 8,
    # the terminal API: a valid signature of an enrolled, unrevoked terminal on its own path
    ("GET", "/api/v1/terminals/{terminal}/head"): TERMINAL_API,
    ("POST", "/api/v1/terminals/{terminal}/entries"): TERMINAL_API,
    ("GET", "/api/v1/terminals/{terminal}/entries"): TERMINAL_API,
    ("GET", "/api/v1/terminals/{terminal}/config"): TERMINAL_API,
    ("POST", "/api/v1/terminals/{terminal}/status"): TERMINAL_API,
    ("GET", "/api/v1/facilities/{facility}/receipts/{receipt_no}"): TERMINAL_API,
    ("GET", "/api/v1/terminals/{terminal}/points/cards/{card}"): TERMINAL_API,
    ("POST", "/api/v1/terminals/{terminal}/points/redeem"): TERMINAL_API,
    ("POST", "/api/v1/terminals/{terminal}/points/cancel"): TERMINAL_API,
    ("POST", "/api/v1/terminals/{terminal}/points/refund"): TERMINAL_API,
    ("GET", "/api/v1/terminals/{terminal}/points/results/{ref:path}"): TERMINAL_API,
    ("POST", "/api/v1/terminals/{terminal}/points/quota"): TERMINAL_API,
    # the console: a session, never a terminal signature
    ("GET", "/console/login"): (OK, OK, OK, OK, REDIRECT, REDIRECT, REDIRECT, REDIRECT),
    ("POST", "/console/login"): ("401", "401", "401", "401", REDIRECT, REDIRECT, REDIRECT,
                                 REDIRECT),
    ("POST", "/console/logout"): (LOGIN,) * 8,  # logged in: logged out, to the login
    ("GET", "/console/"): CONSOLE_ALL,
    ("GET", "/console/month"): CONSOLE_ALL,
    ("GET", "/console/day/{day}/{terminal}"): CONSOLE_OWN_FACILITY,
    ("POST", "/console/day/{day}/{terminal}/explain"): CONSOLE_WRITE_OWN_FACILITY,
    ("GET", "/console/entry/{terminal}/{seq}"): CONSOLE_OWN_FACILITY,
    ("GET", "/console/terminals"): CONSOLE_ALL,
    ("GET", "/console/terminals/{terminal}"): CONSOLE_OWN_FACILITY,
    ("GET", "/console/manage"): CONSOLE_ALL,
    ("GET", "/console/manage/facility/{facility}"): CONSOLE_OWN_FACILITY,
    ("POST", "/console/manage/facility/{facility}/clerks"): CONSOLE_WRITE_OWN_FACILITY,
    ("POST", "/console/manage/publish"): CONSOLE_ADMIN_WRITE,
    ("POST", "/console/manage/enroll-code"): CONSOLE_ADMIN_WRITE,
    ("POST", "/console/manage/revoke"): CONSOLE_ADMIN_WRITE,
    ("GET", "/console/audit"): CONSOLE_ADMIN_AUDITOR,
    ("GET", "/console/reports"): CONSOLE_ALL,
    ("GET", "/console/exports"): CONSOLE_ALL,
    ("POST", "/console/exports/csv"): CONSOLE_ALL,
    ("POST", "/console/exports/journal"): CONSOLE_OWN_FACILITY,
    ("GET", "/console/search"): CONSOLE_ALL,
    ("GET", "/console/charts"): CONSOLE_ALL,
    ("GET", "/console/retention"): CONSOLE_ALL,
    ("POST", "/console/retention"): CONSOLE_ADMIN_WRITE,
    ("GET", "/console/points"): CONSOLE_ALL,
    ("POST", "/console/points/transfer"): CONSOLE_ADMIN_WRITE,
}

API_BODIES: Final[dict[str, dict[str, Any]]] = {
    "/api/v1/enroll": {"code": "NOT-A-CODE", "terminal": "museum-z", "facility": MUSEUM,
                       "public_key": TerminalKey.generate().public_key_b64},
    "/api/v1/terminals/{terminal}/entries": {"entries": []},
    "/api/v1/terminals/{terminal}/status": {"app_version": "matrix"},
    "/api/v1/terminals/{terminal}/points/redeem": {"card": card(1), "points": 1,
                                                   "ref": "matrix-redeem"},
    "/api/v1/terminals/{terminal}/points/cancel": {"ref": REF},
    "/api/v1/terminals/{terminal}/points/refund": {"card": card(1), "points": 1,
                                                   "ref": "matrix-refund",
                                                   "original_ref": REF},
    "/api/v1/terminals/{terminal}/points/quota": {"used": 0},
}
"""Harmless JSON bodies of the terminal POSTs (allowed: an answer, nothing of note)."""


@dataclass
class Caller:
    name: str
    session: requests.Session
    csrf: str
    key: TerminalKey | None = None  # signs every request as ``terminal``
    terminal: str = ""
    api: dict[str, str] | None = None  # terminal API path values


@dataclass
class Live:
    base_url: str
    samples: dict[str, str]  # the public receipt page's values (terminal A's entry)
    callers: dict[str, Caller]


def _enroll(engine: Any, terminal: str, facility: str, key: TerminalKey) -> None:
    code, _ = create_code(engine, facility, terminal)
    enroll(engine, "127.0.0.1", {"code": code, "terminal": terminal, "facility": facility,
                                 "public_key": key.public_key_b64})


def _prepare(database_url: str, tmp: Path) -> tuple[dict[str, TerminalKey], dict[str, str]]:
    """console_seed's server (museum and library terminals, users of every role) plus the
    terminals A, B and revoked: A's journal stored, a points ref of A, a config published."""
    prepare(database_url)
    engine = make_engine(database_url)
    keys = {name: TerminalKey.generate() for name in (TERMINAL_A, TERMINAL_B, REVOKED)}
    try:
        for journal in seed(engine, tmp).values():
            journal.close()
        for name, facility in ((TERMINAL_A, MUSEUM), (TERMINAL_B, LIBRARY), (REVOKED, MUSEUM)):
            _enroll(engine, name, facility, keys[name])
        with Journal.open(tmp / f"{TERMINAL_A}.db", TERMINAL_A, keys[TERMINAL_A]) as journal:
            fill(journal)
            lines = list(journal.lines())
        assert ingest_batch(engine, TERMINAL_A, keys[TERMINAL_A].public_key_b64,
                            lines)["ack"] == len(lines)
        with engine.begin() as conn:
            service.cancel(conn, TERMINAL_A, REF)
        publish(engine, MUSEUM, json.dumps({"shop": "matrix"}))
        revoke(engine, REVOKED)
    finally:
        engine.dispose()
    third = json.loads(lines[2])
    return keys, {"terminal": TERMINAL_A, "seq": str(third["seq"]),
                  "prefix": third["hash"][:16]}


def _callers(base_url: str, keys: dict[str, TerminalKey]) -> dict[str, Caller]:
    own = {"terminal": TERMINAL_A, "facility": MUSEUM, "receipt_no": f"{TERMINAL_A}-1",
           "card": card(1), "ref": REF}
    callers: dict[str, Caller] = {}
    for name in CALLERS:
        if name in USERS:
            session = login(base_url, USERS[name])
            token = csrf_of(session.get(base_url + "/console/terminals", timeout=30).text)
            callers[name] = Caller(name, session, token, api=own)
            continue
        session = requests.Session()  # not logged in: the login form's CSRF cookie only
        token = csrf_of(session.get(base_url + "/console/login", timeout=30).text)
        signer = {"terminal_a": TERMINAL_A, "terminal_b": TERMINAL_B, "revoked": REVOKED}
        terminal = signer.get(name, "")
        api = {**own, "terminal": REVOKED} if name == "revoked" else own
        callers[name] = Caller(name, session, token, keys.get(terminal), terminal, api)
    return callers


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[Live]:
    tmp = tmp_path_factory.mktemp(f"matrix-{request.param}")
    if request.param == "sqlite":
        yield from _serve(sqlite_url(tmp), tmp)
    else:
        with pg_database() as url:
            yield from _serve(url, tmp)


def _serve(database_url: str, tmp: Path) -> Iterator[Live]:
    keys, samples = _prepare(database_url, tmp)
    with running_server(database_url, prepare_db=False) as base_url:
        callers = _callers(base_url, keys)
        try:
            yield Live(base_url, samples, callers)
        finally:
            for caller in callers.values():
                caller.session.close()


# -- the routes --------------------------------------------------------------------------------
def app_routes() -> set[tuple[str, str]]:
    """(method, path) of every route of the app: API routes, the console's included
    routers, FastAPI's spec and docs, and mounts (static files: GET)."""
    def walk(routes: list[Any]) -> Iterator[tuple[str, str]]:
        for route in routes:
            if hasattr(route, "original_router"):  # FastAPI's included router
                yield from walk(route.original_router.routes)
            elif isinstance(route, Mount):
                yield ("GET", route.path)
            elif isinstance(route, Route):
                yield from ((method, route.path) for method in route.methods or ()
                            if method != "HEAD")
            else:
                raise AssertionError(f"a route of an unknown kind: {route!r}")

    return set(walk(create_app("sqlite://").routes))


def concrete(path: str, caller: Caller, live: Live) -> str:
    if path == "/console/static":
        return "/console/static/console.css"
    if path.startswith("/api/"):
        values = caller.api or {}
    elif path.startswith("/r/"):
        values = live.samples
    else:
        values = SAMPLES  # console objects of hachinohe-museum (console_seed)
    return PARAM.sub(lambda found: values[found.group(1)], path)


def _body(method: str, path: str, caller: Caller) -> tuple[bytes, dict[str, str]]:
    if method != "POST":
        return b"", {}
    if path.startswith("/console"):
        form = {"csrf": caller.csrf, **CONSOLE_FORMS.get(path, {})}
        return urlencode(form).encode(), {"Content-Type": "application/x-www-form-urlencoded"}
    return json.dumps(API_BODIES[path]).encode(), {"Content-Type": "application/json"}


def call(live: Live, caller: Caller, method: str, path: str) -> requests.Response:
    url_path = concrete(path, caller, live)
    body, headers = _body(method, path, caller)
    if caller.key is not None:
        headers.update(protocol.sign_request(caller.key, caller.terminal, method, url_path,
                                             body))
    session = caller.session
    if path == "/console/logout" and caller.name in USERS:  # keep the shared session
        session = login(live.base_url, USERS[caller.name])
        token = csrf_of(session.get(live.base_url + "/console/terminals", timeout=30).text)
        body, headers = urlencode({"csrf": token}).encode(), {
            "Content-Type": "application/x-www-form-urlencoded"}
    return session.request(method, live.base_url + url_path, data=body, headers=headers,
                           allow_redirects=False, timeout=30)


def outcome(response: requests.Response) -> str:
    status = response.status_code
    assert status < 500, (status, response.text[:500])
    if status in (401, 403, 404):
        return str(status)
    if 300 <= status < 400:
        return LOGIN if response.headers.get("location") == "/console/login" else REDIRECT
    assert status < 300 or status in (400, 409, 422), (status, response.text[:500])
    return OK


# -- the tests ---------------------------------------------------------------------------------
def test_table_lists_every_route() -> None:
    routes = app_routes()
    assert sorted(routes - set(TABLE)) == [], "routes without a row in TABLE"
    assert sorted(set(TABLE) - routes) == [], "rows for routes that no longer exist"
    assert {path for method, path in TABLE if method == "POST" and path.startswith("/api/")
            } == set(API_BODIES)


def test_every_route_and_caller(live: Live) -> None:
    wrong: list[str] = []
    checked = 0
    for method, path in sorted(TABLE):
        for caller_name, expected in zip(CALLERS, TABLE[(method, path)], strict=True):
            got = outcome(call(live, live.callers[caller_name], method, path))
            checked += 1
            if got != expected:
                wrong.append(f"{method} {path} as {caller_name}: expected {expected}, got {got}")
    print(f"\nauthorization matrix: {len(TABLE)} routes x {len(CALLERS)} callers = "
          f"{checked} checks")
    assert checked == len(app_routes()) * len(CALLERS) >= 300  # every route of the app
    assert wrong == []


def test_a_session_is_no_terminal_and_a_signature_is_no_session(live: Live) -> None:
    admin, terminal = live.callers["admin"], live.callers["terminal_a"]
    api = call(live, admin, "GET", "/api/v1/terminals/{terminal}/head")
    assert api.status_code == 401 and api.json()["error"] == "unauthorized"
    assert admin.session.cookies.get("madoguchi_console")  # the cookie was there
    assert call(live, terminal, "GET", "/api/v1/terminals/{terminal}/head").status_code == 200
    console = call(live, terminal, "GET", "/console/audit")
    assert (console.status_code, console.headers["location"]) == (303, "/console/login")
    revoked = call(live, live.callers["revoked"], "GET", "/api/v1/terminals/{terminal}/head")
    other = call(live, live.callers["terminal_b"], "GET", "/api/v1/terminals/{terminal}/head")
    assert (revoked.json()["error"], other.json()["error"]) == ("revoked", "forbidden")
