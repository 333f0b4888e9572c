"""The fast ingest paths: every non-canonical line is still a 422 "format"; the derived
tables kept batch by batch equal a full rebuild (batches cutting days anywhere)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from server_harness import SALES, START, Term, fill, prepare
from sqlalchemy import Engine

from sync import protocol
from sync.server import derived
from sync.server.db import make_engine
from sync.server.errors import ApiError
from sync.server.ingest import Refusal, ingest_batch, parse_line
from terminal.journal import Journal, TerminalKey
from terminal.journal.canonical import canonical

ENTRY: dict[str, Any] = {
    "at": "2026-11-26T09:01:00+09:00", "body": {"total": 500, "name": "一般入館料"},
    "day": "2026-11-26", "hash": "a" * 64, "id": "6b1f0c53-0000-4000-8000-000000000001",
    "kind": "sale", "prev": "b" * 64, "seq": 1, "sig": "c" * 86 + "==", "terminal": "t1",
}  # fmt: skip
LINE = canonical(ENTRY).decode("utf-8")
BODY = '"body":{"name":"一般入館料","total":500}'
assert BODY in LINE


def _body(text: str) -> str:
    return LINE.replace(BODY, f'"body":{text}')


BAD = {
    "duplicate body key": _body('{"name":"一般入館料","total":500,"total":500}'),
    "duplicate envelope key": LINE.replace('"seq":1,', '"seq":1,"seq":1,'),
    "float": _body('{"name":"x","total":500.0}'),
    "NaN": _body('{"name":"x","total":NaN}'),
    "Infinity": _body('{"name":"x","total":-Infinity}'),
    "big int": _body('{"name":"x","total":9007199254740993}'),
    "U+0000": _body('{"name":"x\\u0000","total":1}'),
    "lone surrogate": _body('{"name":"x\ud800","total":1}'),
    "escaped lone surrogate": _body('{"name":"x\\udc00","total":1}'),
    "non-ASCII key": _body('{"名前":"x","total":1}'),
    "escaped non-ASCII key": _body('{"\\u540d":"x","total":1}'),
    "spaces": LINE.replace('"seq":1', '"seq": 1'),
    "key order": _body('{"total":500,"name":"一般入館料"}'),
    "escaped text": _body('{"name":"\\u4e00般入館料","total":500}'),
    "deep nesting": _body("[" * 50_000 + "]" * 50_000),
}


def test_the_reference_line_is_accepted() -> None:
    assert parse_line(LINE, 0).value == ENTRY


@pytest.mark.parametrize("line", list(BAD.values()), ids=list(BAD))
def test_non_canonical_lines_are_format_refusals(line: str) -> None:
    with pytest.raises(Refusal) as caught:
        parse_line(line, 0)
    assert (caught.value.status, caught.value.error) == (422, "format")


@pytest.mark.parametrize("name", ["duplicate body key", "float", "big int", "U+0000",
                                  "lone surrogate", "non-ASCII key", "spaces"])
def test_over_http(term: Term, name: str) -> None:
    line = BAD[name].replace('"terminal":"t1"', f'"terminal":"{term.terminal}"')
    # ensure_ascii: a lone surrogate travels as an escape in the request's own JSON
    body = json.dumps({"entries": [line]}).encode("ascii")
    response = term.request("POST", protocol.entries_path(term.terminal), body,
                            {"Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "format"


def _journal(tmp_path: Path, name: str, key: TerminalKey) -> Journal:
    journal = Journal.open(tmp_path / f"{name}.db", name, key)
    fill(journal, sales=5)
    fill(journal, sales=4, start=START + timedelta(days=2))
    # a second closing on the same business day, then more of that day
    fill(journal, sales=3, start=START + timedelta(days=2, hours=3))
    for n in range(4):
        journal.append("sale", dict(SALES[n % len(SALES)], receipt_no=f"{name}-x{n}"),
                       START + timedelta(days=4, minutes=n))
    return journal


@pytest.mark.parametrize("batch", [1, 3, 7, 1000])
def test_derived_rows_equal_a_rebuild(database_url: str, tmp_path: Path, batch: int) -> None:
    prepare(database_url)
    engine: Engine = make_engine(database_url)
    try:
        for name in ("museum-01", "museum-02"):
            key = TerminalKey.generate()
            with _journal(tmp_path, name, key) as journal:
                lines = list(journal.lines())
            for start in range(0, len(lines), batch):
                result = ingest_batch(engine, name, key.public_key_b64,
                                      lines[start:start + batch])
                assert result["stored"] == len(lines[start:start + batch])
            # a resend changes nothing
            assert ingest_batch(engine, name, key.public_key_b64, lines[:5])["stored"] == 0
        with engine.connect() as conn:
            kept = derived.derived_rows(conn)
        with engine.begin() as conn:
            counts = derived.rebuild(conn)
            assert derived.derived_rows(conn) == kept
        assert counts["z_closings"] == 6 and counts["payment_logs"] == 6
        assert counts["day_totals"] == 2 * 3  # days are cut by closings, not by dates
    finally:
        engine.dispose()


def test_refused_batch_keeps_the_derived_rows(database_url: str, tmp_path: Path) -> None:
    prepare(database_url)
    engine = make_engine(database_url)
    try:
        key = TerminalKey.generate()
        with _journal(tmp_path, "museum-01", key) as journal:
            lines = list(journal.lines())
        ingest_batch(engine, "museum-01", key.public_key_b64, lines[:6])
        with engine.connect() as conn:
            before = derived.derived_rows(conn)
        spaced = lines[7].replace('"seq":', '"seq": ')
        with pytest.raises(ApiError):
            ingest_batch(engine, "museum-01", key.public_key_b64, [*lines[6:7], spaced])
        with engine.connect() as conn:
            assert derived.derived_rows(conn) == before
    finally:
        engine.dispose()
