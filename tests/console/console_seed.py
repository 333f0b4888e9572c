"""A seeded central server for the console tests: three enrolled terminals of two facilities
with real signed journals, ingested through the server's own enroll and ingest code, Z
closings computed by terminal.reports.z_body, payment-terminal batches, and administrators of
every role. One terminal-day holds deliberate discrepancies (see ``DISCREPANT``).

Seeded day 2026-11-26:
- museum-01 (hachinohe-museum): cash, credit and e-money sales, a refund, a matching batch,
  a Z with the counted cash equal to the expected cash: everything matches.
- museum-02 (hachinohe-museum): the Z says 500 yen less cash than its own sales took
  (``Z_CASH_SHORT``) and the payment terminal's batch says 1,000 yen more credit
  (``BATCH_CREDIT_OVER``) than the journal.
- library-01 (aomori-library): cash only, no batch needed: matches.
2026-11-27: museum-01 sells once more, no Z yet ("open").
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final, cast

import requests
from server_harness import START
from sqlalchemy import Engine

from sync.server.admin import create_admin
from sync.server.enroll import create_code, enroll
from sync.server.ingest import ingest_batch
from terminal.journal import Journal, TerminalKey
from terminal.money import taxes_by_class
from terminal.reports import z_body

MUSEUM: Final = "hachinohe-museum"
LIBRARY: Final = "aomori-library"
DAY: Final = "2026-11-26"
NEXT_DAY: Final = "2026-11-27"
CLEAN: Final = "museum-01"
DISCREPANT: Final = "museum-02"
LIBRARY_TERMINAL: Final = "library-01"
Z_CASH_SHORT: Final = 500
BATCH_CREDIT_OVER: Final = 1000
PASSWORD: Final = "correct horse battery"
USERS: Final[dict[str, tuple[str, str | None]]] = {
    "admin": ("admin", None),
    "auditor": ("auditor", None),
    "manager": ("facility_manager", MUSEUM),
    "librarian": ("facility_manager", LIBRARY),
}
CSRF_INPUT: Final = re.compile(r'name="csrf" value="([^"]+)"')


def sale(receipt_no: str, items: list[tuple[str, int, int, str]],
         tenders: list[tuple[str, int]]) -> dict[str, Any]:
    """A sale body: ``items`` (name, qty, unit price, tax class), ``tenders`` (kind,
    amount)."""
    lines = [{"code": f"C{n}", "name": name, "qty": qty, "unit_price": price,
              "tax_class": tax_class, "amount": qty * price, "account": "general"}
             for n, (name, qty, price, tax_class) in enumerate(items)]
    total = sum(int(line["amount"]) for line in lines)  # type: ignore[call-overload]
    taxes = taxes_by_class([(str(line["tax_class"]), int(line["amount"]))  # type: ignore
                            for line in lines], "floor")
    body_tenders: list[dict[str, Any]] = []
    for kind, amount in tenders:
        tender: dict[str, Any] = {"kind": kind, "amount": amount}
        if kind == "cash":
            tender |= {"given": amount, "change": 0}
        else:
            tender |= {"ref": f"R-{receipt_no}", "approval_code": "A1", "slip_no": "S1"}
        body_tenders.append(tender)
    assert sum(amount for _, amount in tenders) == total
    return {"receipt_no": receipt_no, "clerk": "c1", "rounding": "floor", "total": total,
            "lines": lines, "taxes": [t.as_body() for t in taxes], "tenders": body_tenders}


ADMISSION: Final = ("一般入館料", 2, 500, "std10")
CERTIFICATE: Final = ("住民票の写し", 1, 300, "exempt")
CATALOGUE_BOOK: Final = ("図録", 1, 1800, "std10")


class Clock:
    def __init__(self, start: datetime) -> None:
        self.at = start

    def __call__(self) -> datetime:
        self.at += timedelta(minutes=3)
        return self.at


def _close(journal: Journal, at: datetime, cash_short: int = 0) -> None:
    """A closing.z over the open period (counted cash = expected); ``cash_short`` lowers
    the Z's cash tender total (the deliberate discrepancy)."""
    entries = [e.as_dict() for e in journal.entries()]
    period = entries[_after_last_z(entries):]
    body = z_body(period, 0, None)
    body["cash_counted"] = body["cash_expected"]
    if cash_short:
        by_tender = cast(dict[str, int], body["by_tender"])
        body["by_tender"] = dict(by_tender, cash=by_tender["cash"] - cash_short)
    journal.append("closing.z", body, at)


def _after_last_z(entries: list[dict[str, Any]]) -> int:
    index = 0
    for n, entry in enumerate(entries):
        if entry["kind"] == "closing.z":
            index = n + 1
    return index


def museum_day(journal: Journal, prefix: str, discrepant: bool) -> None:
    clock = Clock(START)
    journal.append("login", {"clerk": "c1"}, clock())
    journal.append("cash.float", {"amount": 20000, "clerk": "c1", "reason": "釣銭準備金"},
                   clock())
    first = journal.append("sale", sale(f"{prefix}-1", [ADMISSION], [("cash", 1000)]), clock())
    journal.append("sale", sale(f"{prefix}-2", [ADMISSION, CATALOGUE_BOOK],
                                [("credit", 2800)]), clock())
    journal.append("sale", sale(f"{prefix}-3", [CATALOGUE_BOOK], [("emoney", 1800)]), clock())
    journal.append("sale", sale(f"{prefix}-4", [ADMISSION], [("cash", 1000)]), clock())
    journal.append("refund", dict(first.body, original_seq=first.seq,
                                  original_terminal=journal.terminal, approved_by="s1",
                                  receipt_no=f"{prefix}-R1"), clock())
    credit = 2800 + (BATCH_CREDIT_OVER if discrepant else 0)
    journal.append("payment.daily_log", {
        "batch_no": 7, "count": 2, "total": credit + 1800,
        "by_tender": {"credit": credit, "emoney": 1800}}, clock())
    _close(journal, clock(), cash_short=Z_CASH_SHORT if discrepant else 0)
    journal.append("sale", sale(f"{prefix}-5", [ADMISSION], [("cash", 1000)]),
                   START + timedelta(days=1))


def library_day(journal: Journal) -> None:
    clock = Clock(START)
    journal.append("cash.float", {"amount": 10000, "clerk": "c1", "reason": "釣銭準備金"},
                   clock())
    journal.append("sale", sale("L-1", [CERTIFICATE], [("cash", 300)]), clock())
    journal.append("sale", sale("L-2", [CERTIFICATE, CERTIFICATE], [("cash", 600)]), clock())
    _close(journal, clock())


def seed(engine: Engine, tmp_path: Path) -> dict[str, Journal]:
    """Enroll and fill the three terminals, ingest their journals, create the users."""
    journals: dict[str, Journal] = {}
    for terminal, facility in ((CLEAN, MUSEUM), (DISCREPANT, MUSEUM),
                               (LIBRARY_TERMINAL, LIBRARY)):
        key = TerminalKey.generate()
        code, _ = create_code(engine, facility, terminal)
        enroll(engine, "127.0.0.1", {"code": code, "terminal": terminal,
                                     "facility": facility, "public_key": key.public_key_b64})
        journal = Journal.open(tmp_path / f"{terminal}.db", terminal, key)
        if facility == LIBRARY:
            library_day(journal)
        else:
            museum_day(journal, terminal.upper(), discrepant=terminal == DISCREPANT)
        result = ingest_batch(engine, terminal, key.public_key_b64, list(journal.lines()))
        assert result["gap"] is None and result["ack"] == journal.last_seq, result
        journals[terminal] = journal
    for user, (role, manages) in USERS.items():
        create_admin(engine, user, PASSWORD, role=role, facility=manages)
    return journals


# -- HTTP helpers -----------------------------------------------------------------------------
def csrf_of(html: str) -> str:
    found = CSRF_INPUT.search(html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def login(base_url: str, user: str, password: str = PASSWORD) -> requests.Session:
    """A session logged in as ``user`` (asserts success)."""
    session = requests.Session()
    response = try_login(session, base_url, user, password)
    assert response.status_code == 303, (response.status_code, response.text[:500])
    return session


def try_login(session: requests.Session, base_url: str, user: str,
              password: str) -> requests.Response:
    page = session.get(f"{base_url}/console/login", timeout=30)
    return session.post(f"{base_url}/console/login", data={
        "csrf": csrf_of(page.text), "user": user, "password": password},
        allow_redirects=False, timeout=30)


@dataclass
class ConsoleServer:
    base_url: str
    database_url: str
    engine: Engine
    journals: dict[str, Journal]

    def session(self, user: str) -> requests.Session:
        return login(self.base_url, user)

    def get(self, session: requests.Session, path: str) -> requests.Response:
        return session.get(self.base_url + path, allow_redirects=False, timeout=30)

    def post(self, session: requests.Session, path: str, data: dict[str, str],
             csrf_from: str = "/console/") -> requests.Response:
        """POST ``data`` plus the CSRF token shown on ``csrf_from``."""
        token = csrf_of(session.get(self.base_url + csrf_from, timeout=30).text)
        return session.post(self.base_url + path, data={"csrf": token, **data},
                            allow_redirects=False, timeout=30)


# -- the console's routes ---------------------------------------------------------------------
SAMPLES: Final[dict[str, str]] = {
    "day": DAY, "terminal": DISCREPANT, "seq": "3", "facility": MUSEUM}
"""Values for the path parameters of the console routes: objects of hachinohe-museum, so the
museum's manager may see them and the library's may not."""
PARAM: Final = re.compile(r"\{(\w+)(?::[^}]*)?\}")


def console_routes(engine: Engine, database_url: str) -> set[tuple[str, str]]:
    """(method, path template) of every console route of the app."""
    from fastapi.routing import APIRoute

    from sync.server.app import create_app

    def walk(routes: list[Any]) -> Iterator[APIRoute]:
        for route in routes:
            if isinstance(route, APIRoute):
                yield route
            elif hasattr(route, "original_router"):  # FastAPI's included router (no prefix)
                yield from walk(route.original_router.routes)

    app = create_app(database_url, engine=engine)
    return {(method, route.path) for route in walk(app.routes)
            if route.path.startswith("/console") for method in (route.methods or set()) - {"HEAD"}}


def concrete(path: str) -> str:
    """``path`` with its parameters filled from SAMPLES (KeyError names a new one)."""
    return PARAM.sub(lambda found: SAMPLES[found.group(1)], path)
