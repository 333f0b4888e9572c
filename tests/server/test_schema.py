"""The Alembic migrations build exactly the models' schema; ingest works without HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from server_harness import fill, pg_database, prepare, sqlite_url
from sqlalchemy import Engine

from sync.server.db import current_revision, head_revision, make_engine, migrate
from sync.server.ingest import Refusal, ingest
from sync.server.models import Base
from terminal.journal import Journal, TerminalKey


@pytest.fixture(params=["sqlite", "postgresql"])
def bare_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        engine = make_engine(sqlite_url(tmp_path))
        yield engine
        engine.dispose()
    else:
        with pg_database() as url:
            engine = make_engine(url)
            yield engine
            engine.dispose()


def test_migrations_match_models(bare_engine: Engine) -> None:
    assert current_revision(bare_engine) is None
    migrate(bare_engine)
    migrate(bare_engine)  # idempotent
    assert current_revision(bare_engine) == head_revision()
    with bare_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_ingest_without_http(bare_engine: Engine, tmp_path: Path) -> None:
    prepare(bare_engine.url.render_as_string(hide_password=False))
    key = TerminalKey.generate()
    with Journal.open(tmp_path / "j.db", "t-1", key) as journal:
        fill(journal, sales=2)
        lines = list(journal.lines())
    with bare_engine.begin() as conn:
        result = ingest(conn, "t-1", key.public_key_b64, lines[:3])
    assert (result.ack, result.stored, result.gap) == (3, 3, None)
    with bare_engine.begin() as conn:
        result = ingest(conn, "t-1", key.public_key_b64, lines)
    assert (result.ack, result.stored, result.duplicates) == (len(lines), len(lines) - 3, 3)
    with pytest.raises(Refusal) as refused, bare_engine.begin() as conn:
        ingest(conn, "t-1", TerminalKey.generate().public_key_b64, [*lines[:1], "[]"])
    assert refused.value.error == "format" and refused.value.status == 422
