"""The authorization matrix (issue 9): every console route x (anonymous, admin, auditor,
facility manager of the museum, facility manager of the library) -> the expected status.

The sample objects (console_seed.SAMPLES) belong to hachinohe-museum: its manager sees them,
the library's manager gets 404 (not 403: another facility's objects are not admitted to
exist). POSTs carry a valid CSRF token and a harmless form, so an allowed role gets the
route's own refusal of the form (422/400) without anything changing; a refused role gets
403 (auditor: read-only) or 404 (another facility); anonymous visitors are sent to the
login (303). ``test_matrix_lists_every_console_route`` fails when a route is added without
its row here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final

import pytest
import requests
from console.console_seed import (
    DISCREPANT,
    LIBRARY,
    LIBRARY_TERMINAL,
    MUSEUM,
    ConsoleServer,
    concrete,
    console_routes,
    csrf_of,
)

ROLES: Final = ("anonymous", "admin", "auditor", "manager", "librarian")
Row = tuple[int, int, int, int, int]  # in the order of ROLES
ALL: Final[Row] = (303, 200, 200, 200, 200)  # any logged-in user
OWN_FACILITY: Final[Row] = (303, 200, 200, 200, 404)
ADMIN_AUDITOR: Final[Row] = (303, 200, 200, 403, 403)

MATRIX: Final[dict[tuple[str, str], Row]] = {
    # log in / out
    ("GET", "/console/login"): (200, 303, 303, 303, 303),
    ("POST", "/console/login"): (401, 303, 303, 303, 303),
    ("POST", "/console/logout"): (303, 303, 303, 303, 303),
    # reconciliation
    ("GET", "/console/"): ALL,
    ("GET", "/console/month"): ALL,
    ("GET", "/console/day/{day}/{terminal}"): OWN_FACILITY,
    ("POST", "/console/day/{day}/{terminal}/explain"): (303, 422, 403, 422, 404),
    ("GET", "/console/entry/{terminal}/{seq}"): OWN_FACILITY,
    # terminals
    ("GET", "/console/terminals"): ALL,
    ("GET", "/console/terminals/{terminal}"): OWN_FACILITY,
    # management
    ("GET", "/console/manage"): ALL,
    ("GET", "/console/manage/facility/{facility}"): OWN_FACILITY,
    ("POST", "/console/manage/facility/{facility}/clerks"): (303, 422, 403, 422, 404),
    ("POST", "/console/manage/publish"): (303, 422, 403, 403, 403),
    ("POST", "/console/manage/enroll-code"): (303, 422, 403, 403, 403),
    ("POST", "/console/manage/revoke"): (303, 422, 403, 403, 403),
    # audit log
    ("GET", "/console/audit"): ADMIN_AUDITOR,
    # reports, exports, search, charts, retention (helper E's pages)
    ("GET", "/console/reports"): ALL,
    ("GET", "/console/exports"): ALL,
    ("POST", "/console/exports/csv"): (303, 400, 400, 400, 400),
    ("POST", "/console/exports/journal"): OWN_FACILITY,
    ("GET", "/console/search"): ALL,
    ("GET", "/console/charts"): ALL,
    ("GET", "/console/retention"): ALL,
    ("POST", "/console/retention"): (303, 400, 403, 403, 403),
    # points (helper I)
    ("GET", "/console/points"): ALL,
    ("POST", "/console/points/transfer"): (303, 422, 403, 403, 403),
}

FORMS: Final[dict[str, dict[str, str]]] = {
    "/console/login": {"user": "nobody-at-all", "password": "wrong"},
    "/console/day/{day}/{terminal}/explain": {"comment": " "},
    "/console/manage/facility/{facility}/clerks": {"action": "neither"},
    "/console/manage/publish": {"facility": "", "payload": ""},
    "/console/manage/enroll-code": {"facility": "", "terminal": "", "hours": "0"},
    "/console/manage/revoke": {"terminal": "no-such-terminal"},
    "/console/exports/csv": {"span": "day", "day": ""},
    "/console/exports/journal": {"terminal": DISCREPANT},
    "/console/retention": {"record_class": "", "years": "many"},
    "/console/points/transfer": {"from_card": "", "to_card": "", "reason": ""},
}
"""Harmless bodies of the POST routes (a refused form, or a read-only export)."""

READ_ONLY_POSTS: Final = ("/console/logout", "/console/exports/csv", "/console/exports/journal",
                          "/console/login")
"""POST forms an auditor may see: they change nothing."""
POST_FORM: Final = re.compile(r'<form method="post" action="([^"]+)"')


@pytest.fixture(scope="module")
def sessions(console: ConsoleServer) -> Iterator[dict[str, requests.Session]]:
    made = {role: console.session(role) for role in ROLES[1:]}
    made["anonymous"] = requests.Session()
    yield made
    for session in made.values():
        session.close()


def test_matrix_lists_every_console_route(console: ConsoleServer) -> None:
    routes = console_routes(console.engine, console.database_url)
    missing = sorted(routes - set(MATRIX))
    stale = sorted(set(MATRIX) - routes)
    assert missing == [], f"console routes without a row in the role matrix: {missing}"
    assert stale == [], f"rows for routes that no longer exist: {stale}"
    assert all(path in FORMS or path in ("/console/logout",)
               for method, path in MATRIX if method == "POST")


def _request(console: ConsoleServer, session: requests.Session, method: str,
             path: str) -> requests.Response:
    url = console.base_url + concrete(path)
    if method == "GET":
        return session.get(url, allow_redirects=False, timeout=30)
    source = "/console/login" if not session.cookies.get("madoguchi_console") \
        else "/console/terminals"
    token = csrf_of(session.get(console.base_url + source, timeout=30).text)
    return session.post(url, data={"csrf": token, **FORMS.get(path, {})},
                        allow_redirects=False, timeout=30)


@pytest.mark.parametrize(("method", "path"), sorted(MATRIX),
                         ids=[f"{method} {path}" for method, path in sorted(MATRIX)])
def test_role_matrix(console: ConsoleServer, sessions: dict[str, requests.Session],
                     method: str, path: str) -> None:
    got: dict[str, int] = {}
    for role in ROLES:
        session = sessions[role]
        if path == "/console/logout" and role != "anonymous":
            session = console.session(role)  # keep the shared sessions logged in
        got[role] = _request(console, session, method, path).status_code
    assert got == dict(zip(ROLES, MATRIX[(method, path)], strict=True))


def test_auditor_pages_have_no_write_forms(console: ConsoleServer,
                                           sessions: dict[str, requests.Session]) -> None:
    checked = 0
    for method, path in sorted(MATRIX):
        if method != "GET" or MATRIX[(method, path)][2] != 200:
            continue
        page = console.get(sessions["auditor"], concrete(path))
        writes = [a for a in POST_FORM.findall(page.text) if a not in READ_ONLY_POSTS]
        assert writes == [], (path, writes)
        checked += 1
    assert checked >= 10
    admin_page = console.get(sessions["admin"], "/console/manage").text
    assert "/console/manage/revoke" in admin_page  # the check above can see forms


def test_facility_manager_sees_only_their_facility(
        console: ConsoleServer, sessions: dict[str, requests.Session]) -> None:
    for path in ("/console/?day=2026-11-26", "/console/terminals", "/console/manage",
                 "/console/month?month=2026-11"):
        museum = console.get(sessions["manager"], path).text
        library = console.get(sessions["librarian"], path).text
        admin = console.get(sessions["admin"], path).text
        assert MUSEUM in admin and LIBRARY in admin, path
        assert MUSEUM in museum and LIBRARY not in museum, path
        assert LIBRARY in library and MUSEUM not in library, path
    assert console.get(sessions["manager"],
                       f"/console/terminals/{LIBRARY_TERMINAL}").status_code == 404
    assert console.get(sessions["manager"],
                       f"/console/entry/{LIBRARY_TERMINAL}/1").status_code == 404


def test_anonymous_may_open_only_login_and_receipt_pages(console: ConsoleServer) -> None:
    anonymous = requests.Session()
    assert console.get(anonymous, "/").headers["location"] == "/console/"
    assert console.get(anonymous, "/console/login").status_code == 200
    assert console.get(anonymous, "/console/static/console.css").status_code == 200
    assert console.get(anonymous, f"/r/{DISCREPANT}/3/00000000").status_code == 200
