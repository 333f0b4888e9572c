"""Engines (SQLite or PostgreSQL), SQLite pragmas and write serialisation, migrations.

SQLite: WAL, busy_timeout 30 s, and every transaction opens with ``BEGIN IMMEDIATE`` so
writers queue instead of failing half-way. PostgreSQL: ingest serialises per terminal with
``SELECT ... FOR UPDATE`` on the terminal's head row.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import ArgumentError

from terminal.errors import MadoguchiError

DEFAULT_URL: Final = "sqlite:///madoguchi-server.db"
ENV_URL: Final = "MADOGUCHI_DATABASE_URL"
MIGRATIONS: Final = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_MS: Final = 30_000


class ServerError(MadoguchiError):
    """A server management operation failed (message says what to do)."""


def utcnow() -> datetime:
    return datetime.now(UTC)


def database_url(given: str | None) -> str:
    """``--database``, else $MADOGUCHI_DATABASE_URL, else the SQLite file default."""
    return given or os.environ.get(ENV_URL) or DEFAULT_URL


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (below)
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str) -> Engine:
    """An engine for ``url`` (sqlite:///FILE or postgresql+psycopg://...)."""
    try:
        if url.startswith("sqlite"):
            engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_MS / 1000})
            event.listen(engine, "connect", _sqlite_connect)
            event.listen(engine, "begin", _sqlite_begin)
            return engine
        if url.startswith("postgresql"):
            return create_engine(
                url, pool_pre_ping=True, pool_size=10, max_overflow=10, pool_timeout=10,
                connect_args={"connect_timeout": 5},
            )
    except (ArgumentError, ImportError, ValueError) as exc:
        raise ServerError(f"cannot use database URL {_safe(url)}: {exc}") from exc
    raise ServerError(
        f"unsupported database URL {_safe(url)}; use sqlite:///FILE or "
        "postgresql+psycopg://USER@HOST:PORT/DB"
    )


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    head, sep, tail = url.partition("@")
    if not sep or ":" not in head.split("//", 1)[-1]:
        return url
    scheme, _, userinfo = head.partition("//")
    return f"{scheme}//{userinfo.split(':', 1)[0]}:***@{tail}"


def alembic_config(connection: Connection | None = None) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def migrate(engine: Engine) -> None:
    """Upgrade the schema to the newest migration (idempotent)."""
    from alembic import command

    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "head")


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def require_migrated(engine: Engine) -> None:
    """ServerError unless the database schema is at the newest migration."""
    current, head = current_revision(engine), head_revision()
    if current != head:
        raise ServerError(
            f"the database {_safe(str(engine.url))} is at schema {current or 'none'}, "
            f"not {head}; run 'madoguchi server init --database URL' first"
        )


def ping(engine: Engine) -> bool:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:
        return False
    return True
