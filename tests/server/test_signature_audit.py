"""The background signature audit (sync.server.audit): ingest verifies one signature per
batch (the newest entry's) and lists the earlier entries; the audit verifies each of their
signatures with the terminal's enrolled key and raises a "signature" alarm, once, for each
that fails. Both backends; concurrent audits on PostgreSQL alarm once."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from server_harness import FACILITY, Term, fill, pg_database, prepare
from sqlalchemy import Engine, func, insert, select, update

from sync.server.audit import AuditResult, audit_all, audit_signatures, signature_ok
from sync.server.db import make_engine
from sync.server.enroll import create_code, enroll
from sync.server.ingest import ingest_batch
from sync.server.models import Alarm, StoredEntry, UncheckedSignatures
from sync.server.models import Terminal as TerminalRow
from terminal.journal import Journal, TerminalKey
from terminal.journal.canonical import canonical


@pytest.fixture
def db(database_url: str) -> Iterator[Engine]:
    prepare(database_url)
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def _enrolled(engine: Engine, terminal: str) -> TerminalKey:
    key = TerminalKey.generate()
    code, _ = create_code(engine, FACILITY, terminal)
    enroll(engine, "test", {"code": code, "terminal": terminal, "facility": FACILITY,
                            "public_key": key.public_key_b64})
    return key


def _journal(tmp_path: Path, terminal: str, key: TerminalKey, sales: int = 6) -> list[str]:
    with Journal.open(tmp_path / f"{terminal}.db", terminal, key) as journal:
        fill(journal, sales=sales)
        return list(journal.lines())


def _with_sig(line: str, sig: str) -> str:
    value = json.loads(line)
    return canonical({**value, "sig": sig}).decode("utf-8")


def _foreign_sig(line: str) -> str:
    """The line signed by another key: a valid signature, not by the enrolled key."""
    return _with_sig(line, TerminalKey.generate().sign_hash(json.loads(line)["hash"]))


def _noncanonical_sig(line: str) -> str:
    """The same 64 signature bytes in another base64 spelling (nonzero padding bits)."""
    sig = json.loads(line)["sig"]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    spelled = sig[:-3] + alphabet[alphabet.index(sig[-3]) ^ 1] + "=="
    assert base64.b64decode(spelled, validate=True) == base64.b64decode(sig)
    return _with_sig(line, spelled)


def _alarms(engine: Engine, kind: str = "signature") -> list[tuple[str, int | None]]:
    with engine.connect() as conn:
        return sorted((t, s) for t, s in conn.execute(
            select(Alarm.terminal, Alarm.seq).where(Alarm.kind == kind)))


def _listed(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(UncheckedSignatures))
                   .scalar_one())


def test_corrupted_earlier_signature_is_stored_then_alarmed(db: Engine, tmp_path: Path) -> None:
    key = _enrolled(db, "museum-01")
    lines = _journal(tmp_path, "museum-01", key)
    sent = list(lines)
    sent[2] = _foreign_sig(lines[2])  # seq 3: content genuine, signature not the terminal's
    sent[5] = _noncanonical_sig(lines[5])  # seq 6: the right bytes, spelled differently
    result = ingest_batch(db, "museum-01", key.public_key_b64, sent)
    assert result["stored"] == len(lines) and result["ack"] == len(lines)
    assert _alarms(db) == [] and _listed(db) == 1
    audited = audit_signatures(db)
    assert (audited.checked, audited.alarms, audited.complete) == (len(lines) - 1, 2, True)
    assert _alarms(db) == [("museum-01", 3), ("museum-01", 6)]
    with db.connect() as conn:
        alarm = conn.execute(select(Alarm.stored_hash, Alarm.message).where(
            Alarm.seq == 3)).one()
        stored = conn.execute(select(StoredEntry.hash).where(StoredEntry.seq == 3)).scalar_one()
    assert alarm.stored_hash == stored and "signature" in alarm.message
    assert _listed(db) == 0
    assert audit_signatures(db) == AuditResult()  # idempotent: nothing listed, no new alarm
    with db.begin() as conn:  # a full check (rebuild) does not repeat the alarms either
        full = audit_all(conn)
    assert (full.checked, full.alarms) == (len(lines), 0)
    assert _alarms(db) == [("museum-01", 3), ("museum-01", 6)]


def test_a_clean_journal_gives_no_alarm(db: Engine, tmp_path: Path) -> None:
    key = _enrolled(db, "museum-01")
    lines = _journal(tmp_path, "museum-01", key, sales=20)
    batches = [lines[i:i + 7] for i in range(0, len(lines), 7)]
    for batch in batches:
        ingest_batch(db, "museum-01", key.public_key_b64, batch)
    assert _listed(db) == sum(1 for b in batches if len(b) > 1)
    audited = audit_signatures(db, limit=3)  # ranges split across transactions
    assert (audited.checked, audited.alarms) == (len(lines) - len(batches), 0)
    assert _listed(db) == 0 and _alarms(db) == []
    with db.begin() as conn:
        assert audit_all(conn) == AuditResult(checked=len(lines))
    assert _alarms(db) == []


def test_a_single_entry_batch_lists_nothing(db: Engine, tmp_path: Path) -> None:
    key = _enrolled(db, "museum-01")
    lines = _journal(tmp_path, "museum-01", key, sales=1)
    for line in lines:
        ingest_batch(db, "museum-01", key.public_key_b64, [line])
    assert _listed(db) == 0 and audit_signatures(db).checked == 0


def test_partial_ranges_resume_where_they_stopped(db: Engine, tmp_path: Path) -> None:
    key = _enrolled(db, "museum-01")
    lines = _journal(tmp_path, "museum-01", key, sales=12)
    sent = list(lines)
    sent[9] = _foreign_sig(lines[9])
    ingest_batch(db, "museum-01", key.public_key_b64, sent)
    stops = iter([False, True])
    first = audit_signatures(db, limit=4, should_stop=lambda: next(stops))
    assert (first.checked, first.complete) == (8, False) and _alarms(db) == []
    rest = audit_signatures(db, limit=4)
    assert rest.checked == len(lines) - 1 - 8 and rest.alarms == 1
    assert _alarms(db) == [("museum-01", 10)] and _listed(db) == 0


def test_rebuild_audit_finds_a_signature_altered_in_the_database(
        db: Engine, tmp_path: Path) -> None:
    key = _enrolled(db, "museum-01")
    lines = _journal(tmp_path, "museum-01", key)
    ingest_batch(db, "museum-01", key.public_key_b64, lines)
    audit_signatures(db)
    last = len(lines)  # the newest: verified by ingest, never listed
    with db.begin() as conn:
        conn.execute(update(StoredEntry).where(StoredEntry.seq == last).values(
            line=_foreign_sig(lines[-1])))
    assert audit_signatures(db).checked == 0
    with db.begin() as conn:
        full = audit_all(conn)
    assert (full.checked, full.alarms) == (len(lines), 1)
    assert _alarms(db) == [("museum-01", last)]


def test_signature_ok_is_strict() -> None:
    key = TerminalKey.generate()
    digest = "ab" * 32
    sig = key.sign_hash(digest)
    assert signature_ok(key.public_key_b64, digest, sig)
    assert not signature_ok(None, digest, sig)
    assert not signature_ok(key.public_key_b64, digest, sig.rstrip("="))
    assert not signature_ok(key.public_key_b64, digest, sig + "AAAA")
    assert not signature_ok(key.public_key_b64, digest, " " + sig)
    assert not signature_ok(key.public_key_b64, digest, 12)
    assert not signature_ok(key.public_key_b64, digest, "é" * 88)
    assert not signature_ok(TerminalKey.generate().public_key_b64, digest, sig)


def test_the_server_audits_in_the_background_after_an_upload(
        make_term: Any, engine: Engine) -> None:
    term: Term = make_term("museum-01")
    fill(term.journal, sales=5)
    lines = term.lines()
    sent = list(lines)
    sent[1] = _foreign_sig(lines[1])
    response = term.upload(sent)
    assert response.status_code == 200 and response.json()["stored"] == len(lines)
    deadline = time.monotonic() + 15
    while (_listed(engine) or not _alarms(engine)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _alarms(engine) == [("museum-01", 2)] and _listed(engine) == 0


def test_concurrent_audits_alarm_once_on_postgresql(tmp_path: Path) -> None:
    with pg_database() as url:
        prepare(url)
        engines = [make_engine(url) for _ in range(4)]
        try:
            bad: list[tuple[str, int]] = []
            listed = 0
            for n in range(8):
                terminal = f"museum-{n:02}"
                key = _enrolled(engines[0], terminal)
                lines = _journal(tmp_path, terminal, key)
                sent = list(lines)
                assert len(lines) >= 12
                for index in (n % 4, 5 + n % 4, 10):  # never the newest of a batch of 5
                    sent[index] = _foreign_sig(lines[index])
                    bad.append((terminal, index + 1))
                for start in range(0, len(sent), 5):
                    batch = sent[start:start + 5]
                    listed += len(batch) - 1
                    ingest_batch(engines[0], terminal, key.public_key_b64, batch)
            results: list[AuditResult] = []
            errors: list[BaseException] = []
            go = threading.Barrier(len(engines))

            def auditor(engine: Engine) -> None:
                try:
                    go.wait()
                    for _ in range(3):
                        results.append(audit_signatures(engine, limit=3))
                except BaseException as exc:
                    errors.append(exc)

            threads = [threading.Thread(target=auditor, args=(e,)) for e in engines]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=120)
            assert errors == []
            assert sum(r.checked for r in results) == listed
            assert sum(r.alarms for r in results) == len(bad)
            assert _alarms(engines[0]) == sorted(bad)  # each once
            assert _listed(engines[0]) == 0
        finally:
            for engine in engines:
                engine.dispose()


def test_migration_0003_lists_the_entries_stored_before(database_url: str,
                                                        tmp_path: Path) -> None:
    """Entries stored before 0003 were never checked one by one: the upgrade lists them."""
    from alembic import command

    from sync.server.db import alembic_config, migrate, utcnow

    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "0002")
        key = TerminalKey.generate()
        lines = _journal(tmp_path, "museum-01", key)
        sent = list(lines)
        sent[-1] = _foreign_sig(lines[-1])
        now = utcnow()
        with engine.begin() as conn:  # entries and terminals are the same in 0002 and 0003
            conn.execute(insert(StoredEntry), [
                {"terminal": "museum-01", "seq": i + 1, "kind": "x", "day": "2026-11-26",
                 "at": "", "hash": json.loads(line)["hash"], "line": line,
                 "received_at": now} for i, line in enumerate(sent)])
            conn.execute(insert(TerminalRow).values(
                terminal="museum-01", facility=FACILITY, public_key=key.public_key_b64,
                enrolled_at=now))
        migrate(engine)
        assert _listed(engine) == 1
        audited = audit_signatures(engine)
        assert (audited.checked, audited.alarms) == (len(lines), 1)
        assert _alarms(engine) == [("museum-01", len(lines))]
    finally:
        engine.dispose()


def test_the_drainer_audits_when_idle_or_overdue_and_not_at_close(
        db: Engine, tmp_path: Path) -> None:
    from sync.server.derived import Drainer

    key = _enrolled(db, "museum-01")
    lines = _journal(tmp_path, "museum-01", key)
    sent = list(lines)
    sent[0] = _foreign_sig(lines[0])
    ingest_batch(db, "museum-01", key.public_key_b64, sent[:6])
    patient = Drainer(db, audit_idle=60, audit_max_delay=60)  # uploads never pause here
    patient.kick()
    patient.close()
    assert _listed(db) == 1 and _alarms(db) == []  # left listed for later
    overdue = Drainer(db, audit_idle=60, audit_max_delay=0)  # overdue at once
    overdue.kick()
    deadline = time.monotonic() + 15
    while _listed(db) and time.monotonic() < deadline:
        time.sleep(0.02)
    overdue.close()
    assert _listed(db) == 0 and _alarms(db) == [("museum-01", 1)]
    ingest_batch(db, "museum-01", key.public_key_b64, sent)
    idle = Drainer(db, audit_idle=0.05)
    idle.kick()
    deadline = time.monotonic() + 15
    while _listed(db) and time.monotonic() < deadline:
        time.sleep(0.02)
    idle.close()
    assert _listed(db) == 0 and _alarms(db) == [("museum-01", 1)]
