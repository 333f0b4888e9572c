"""Ingest over HTTP: happy path, idempotent resend, fork, gap, chain, signature, format."""

from __future__ import annotations

import json
from typing import Any

from server_harness import Term
from sqlalchemy import Engine, func, select

from sync import protocol
from sync.server.models import Alarm, StoredEntry
from terminal.journal.keys import TerminalKey


def _alarms(engine: Engine) -> list[tuple[str, int | None]]:
    with engine.connect() as conn:
        return [(row.kind, row.seq) for row in conn.execute(
            select(Alarm.kind, Alarm.seq).order_by(Alarm.id))]


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(StoredEntry)).scalar_one())


def _edit(line: str, **changes: Any) -> str:
    value = json.loads(line)
    value.update(changes)
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def test_upload_then_resend_is_idempotent(term: Term, engine: Engine) -> None:
    lines = term.lines()
    first = term.upload(lines[:5])
    assert first.status_code == 200, first.text
    assert first.json()["ack"] == 5 and first.json()["stored"] == 5
    again = term.upload(lines)
    body = again.json()
    assert (body["ack"], body["stored"], body["duplicates"], body["gap"]) == (
        len(lines), len(lines) - 5, 5, None)
    assert term.upload(lines).json()["duplicates"] == len(lines)
    assert _count(engine) == len(lines)
    with engine.connect() as conn:
        stored = conn.execute(select(StoredEntry.line).order_by(StoredEntry.seq)).scalars()
        assert list(stored) == lines  # the exact canonical text
    head = term.request("GET", protocol.head_path(term.terminal)).json()
    assert head["ack"] == len(lines) and head["head_hash"] == term.journal.head().hash  # type: ignore[union-attr]
    assert _alarms(engine) == []


def test_fork_is_refused_with_an_alarm(term: Term, engine: Engine) -> None:
    lines = term.lines()
    assert term.upload(lines[:4]).status_code == 200
    forged = _edit(lines[3], at="2026-11-26T09:59:00+09:00")
    response = term.upload([*lines[2:3], forged, lines[4]])
    assert response.status_code == 409
    assert response.json()["error"] == "fork" and response.json()["seq"] == 4
    assert response.json()["ack"] == 4
    assert _count(engine) == 4  # nothing stored from that batch
    with engine.connect() as conn:
        alarm = conn.execute(select(Alarm)).one()
    assert alarm.kind == "fork" and alarm.seq == 4
    assert alarm.stored_hash == json.loads(lines[3])["hash"]


def test_gap_is_reported_and_nothing_stored_beyond(term: Term, engine: Engine) -> None:
    lines = term.lines()
    response = term.upload([*lines[:3], *lines[5:8]])
    assert response.status_code == 200
    assert response.json()["gap"] == {"expected": 4, "found": 6}
    assert response.json()["ack"] == 3 and response.json()["stored"] == 3
    assert _count(engine) == 3
    assert _alarms(engine) == [("gap", 6)]


def test_broken_chain_bad_hash_and_bad_signature(term: Term, engine: Engine) -> None:
    lines = term.lines()
    assert term.upload(lines[:2]).status_code == 200
    # seq 4 sent as if it followed seq 2: wrong prev
    relinked = _edit(lines[3], seq=3)
    response = term.upload([relinked])
    assert response.status_code == 422 and response.json()["error"] == "chain"
    # content edited after sealing: hash mismatch
    edited = _edit(lines[2], body={**json.loads(lines[2])["body"], "total": 1})
    response = term.upload([edited])
    assert response.status_code == 422 and response.json()["error"] == "chain"
    # signatures by another key: the newest entry's is checked (DESIGN: one check per
    # batch), then each one to name the first bad entry
    other = TerminalKey.generate()

    def resign(line: str) -> str:
        return _edit(line, sig=other.sign_hash(json.loads(line)["hash"]))

    response = term.upload([lines[2], resign(lines[3])])
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "signature" and response.json()["seq"] == 4
    response = term.upload([resign(lines[2]), resign(lines[3])])
    assert (response.status_code, response.json()["seq"]) == (422, 3)
    assert _count(engine) == 2
    assert [kind for kind, _ in _alarms(engine)] == ["chain", "chain", "signature", "signature"]


def test_non_canonical_and_malformed(term: Term, engine: Engine) -> None:
    lines = term.lines()
    spaced = json.dumps(json.loads(lines[0]), ensure_ascii=False, sort_keys=True)
    response = term.upload([spaced])
    assert response.status_code == 422 and response.json()["error"] == "format"
    assert "canonical" in response.json()["message"]
    huge = _edit(lines[0], seq=2**40)  # beyond the INTEGER columns: a format error, not 5xx
    response = term.upload([huge])
    assert response.status_code == 422 and "seq" in response.json()["message"]
    response = term.upload(["{not json"])
    assert response.status_code == 422 and response.json()["error"] == "format"
    path = protocol.entries_path(term.terminal)
    response = term.request("POST", path, b'{"entries": [', {"Content-Type": "application/json"})
    assert response.status_code == 422 and "not UTF-8 JSON" in response.json()["message"]
    response = term.request("POST", path, b'{"lines": []}')
    assert response.status_code == 422
    assert _count(engine) == 0


def test_oversized_body_and_batch(term: Term) -> None:
    path = protocol.entries_path(term.terminal)
    big = b'{"entries": ["' + b"x" * (protocol.MAX_BODY_BYTES + 10) + b'"]}'
    response = term.request("POST", path, big)
    assert response.status_code == 413
    many = term.upload(["{}"] * (protocol.MAX_BATCH_ENTRIES + 1))
    assert many.status_code == 413


def test_entries_of_another_terminal(make_term: Any, engine: Engine) -> None:
    from server_harness import fill

    one, two = make_term("museum-01"), make_term("museum-02")
    fill(two.journal, sales=2)
    # two's lines posted by one to its own journal: 422 (envelope terminal)
    response = one.upload(two.lines()[:2])
    assert response.status_code == 422 and "only its own journal" in response.json()["message"]
    # one signing a request for two's journal: 403
    body = json.dumps({"entries": two.lines()[:2]}).encode()
    response = one.request("POST", protocol.entries_path("museum-02"), body)
    assert response.status_code == 403
    assert _count(engine) == 0


def test_restore_reads_own_lines(term: Term) -> None:
    lines = term.lines()
    assert term.upload(lines).status_code == 200
    path = protocol.entries_path(term.terminal) + "?from_seq=3&limit=4"
    response = term.request("GET", path)
    assert response.status_code == 200
    assert response.json() == {"entries": lines[2:6], "ack": len(lines)}
