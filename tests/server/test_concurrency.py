"""Two uploaders of the same journal at once: every seq stored exactly once, final ack 300."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from typing import Any

import requests
from server_harness import SALES, START, Term, running_server
from sqlalchemy import Engine, func, select

from sync import protocol
from sync.server.derived import refresh
from sync.server.models import Alarm, DayTotals, StoredEntry
from terminal.reports import period_totals

TOTAL = 300


def _uploader(term: Term, base_url: str, lines: list[str], size: int, overlap: int,
              first: int, errors: list[str]) -> None:
    with requests.Session() as session:
        me = Term(base_url, term.terminal, term.key, term.journal, "", session)
        ack, start = 0, first
        for _ in range(200):
            response = me.upload(lines[start:start + size])
            if response.status_code != 200:
                errors.append(f"{response.status_code} {response.text}")
                return
            ack = response.json()["ack"]
            if ack >= len(lines):
                return
            start = max(0, ack - overlap)
        errors.append(f"no progress past ack {ack}")


def test_uploaders_through_two_servers(make_term: Any, engine: Engine,
                                       database_url: str) -> None:
    """Three uploaders, two server instances (separate engines: as two processes) on one
    database, overlapping batches and a start beyond the ack (a gap)."""
    term = make_term("museum-01")
    items = [("sale", dict(SALES[n % len(SALES)], receipt_no=f"R{n}"),
              START + timedelta(seconds=n)) for n in range(TOTAL)]
    term.journal.append_many(items)
    lines = term.lines()
    errors: list[str] = []
    with running_server(database_url) as second:
        threads = [
            threading.Thread(target=_uploader, args=(term, term.base_url, lines, 50, 7, 0,
                                                     errors)),
            threading.Thread(target=_uploader, args=(term, second, lines, 37, 20, 120,
                                                     errors)),
            threading.Thread(target=_uploader, args=(term, second, lines, 64, 64, 0, errors)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    assert errors == []
    with engine.begin() as conn:
        refresh(conn)  # derived rows are refreshed lazily before any read, never by timing
        seqs = conn.execute(select(StoredEntry.seq).order_by(StoredEntry.seq)).scalars().all()
        assert seqs == list(range(1, TOTAL + 1))
        assert {kind for kind in conn.execute(select(Alarm.kind)).scalars()} <= {"gap"}
        totals = conn.execute(select(DayTotals.totals)).scalar_one()
        assert conn.execute(select(func.count()).select_from(StoredEntry)).scalar() == TOTAL
    head = term.request("GET", protocol.head_path(term.terminal)).json()
    assert head["ack"] == TOTAL and head["head_hash"] == term.journal.head().hash
    assert json.loads(totals) == period_totals(e.as_dict() for e in term.journal.entries())
