"""Alembic environment: the models' metadata; the connection comes from the caller
(``sync.server.db.migrate``), or is made from ``sqlalchemy.url`` / $MADOGUCHI_DATABASE_URL."""

from __future__ import annotations

from alembic import context

from sync.server.console import models as _console_models  # noqa: F401  (registers its tables)
from sync.server.console import retention as _retention_models  # noqa: F401  (registers its tables)
from sync.server.db import database_url, make_engine
from sync.server.models import Base
from sync.server.points import models as _points_models  # noqa: F401  (registers its tables)

target_metadata = Base.metadata


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(database_url(context.config.get_main_option("sqlalchemy.url")))
    try:
        with engine.begin() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run them against a database")
run_migrations_online()
