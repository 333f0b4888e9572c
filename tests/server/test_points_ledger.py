"""The points ledger: hash chain and server signatures verify; any edit, removal or foreign
signature is found; a fact is applied once. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import pytest
from points_harness import card
from server_harness import pg_database, prepare, sqlite_url
from sqlalchemy import Engine, delete, select, update
from sqlalchemy.exc import IntegrityError

from sync.server.db import make_engine
from sync.server.keys import server_key
from sync.server.points.ledger import GENESIS, Row, append, lock_head, row_hash, verify
from sync.server.points.models import PointsLedgerRow
from terminal.journal import TerminalKey


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = sqlite_url(tmp_path)
        prepare(url)
        db = make_engine(url)
        yield db
        db.dispose()
    else:
        with pg_database() as url:
            prepare(url)
            db = make_engine(url)
            yield db
            db.dispose()


def _fill(engine: Engine, count: int = 6) -> None:
    with engine.begin() as conn:
        lock_head(conn)
        append(conn, [Row(card=card(n % 2), kind="award", points=200, reason="test",
                          actor="t1", terminal="t1", entry_seq=n + 1, award_terminal="t1",
                          award_seq=n + 1, dedupe=f"award:t1:{n + 1}") for n in range(count)])
    with engine.begin() as conn:
        append(conn, [Row(card=card(0), kind="correction", points=-100, reason="cap",
                          actor="server", award_terminal="t1", award_seq=1)])


def test_chain_and_signatures_verify(engine: Engine) -> None:
    _fill(engine)
    with engine.begin() as conn:
        result = verify(conn)
        rows = conn.execute(select(PointsLedgerRow).order_by(PointsLedgerRow.seq)).all()
        public = server_key(conn).public_key_b64
    assert result.ok and result.rows == 7
    assert result.kinds == {"award": 6, "correction": 1}
    assert [r.seq for r in rows] == list(range(1, 8))
    assert rows[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in pairwise(rows))
    with engine.begin() as conn:
        assert not verify(conn, TerminalKey.generate().public_key_b64).ok
        assert verify(conn, public).ok


def test_an_edited_row_is_found(engine: Engine) -> None:
    _fill(engine)
    with engine.begin() as conn:
        conn.execute(update(PointsLedgerRow).where(PointsLedgerRow.seq == 3).values(points=900))
        problems = verify(conn).problems
    assert problems == ["ledger row 3: hash does not match its content (edited?)"]


def test_an_edited_row_with_a_recomputed_hash_is_found(engine: Engine) -> None:
    _fill(engine)
    with engine.begin() as conn:
        row = conn.execute(select(PointsLedgerRow).where(PointsLedgerRow.seq == 2)
                           ).mappings().one()
        forged = {**row, "points": 5000}
        conn.execute(update(PointsLedgerRow).where(PointsLedgerRow.seq == 2)
                     .values(points=5000, hash=row_hash(forged)))
        problems = verify(conn).problems
    assert "ledger row 2: signature is not by the server key" in problems
    assert "ledger row 3: prev_hash does not link to the row before" in problems


def test_removed_rows_are_found(engine: Engine) -> None:
    _fill(engine)
    with engine.begin() as conn:
        conn.execute(delete(PointsLedgerRow).where(PointsLedgerRow.seq == 7))
        assert any("head" in p for p in verify(conn).problems)
        conn.execute(delete(PointsLedgerRow).where(PointsLedgerRow.seq == 4))
        problems = verify(conn).problems
    assert "ledger row 5: expected seq 4 (rows missing)" in problems


def test_a_fact_is_applied_once(engine: Engine) -> None:
    _fill(engine, 1)
    with pytest.raises(IntegrityError), engine.begin() as conn:
        append(conn, [Row(card=card(0), kind="award", points=200, reason="again",
                          actor="t1", dedupe="award:t1:1")])
    with engine.begin() as conn:
        assert verify(conn).rows == 2
        with pytest.raises(ValueError, match="kind"):
            append(conn, [Row(card=card(0), kind="bonus", points=1, reason="", actor="x")])
