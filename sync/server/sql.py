"""Dialect helpers: INSERT ... ON CONFLICT DO NOTHING on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection


def insert_ignore(conn: Connection, table: Table | Any, keys: Sequence[str]) -> Any:
    """An INSERT on ``table`` that skips rows whose ``keys`` already exist."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=list(keys))
    return sqlite.insert(table).on_conflict_do_nothing(index_elements=list(keys))


def storable(text: str) -> bool:
    """True when both databases can bind ``text``: no U+0000 (PostgreSQL text refuses it)
    and no lone surrogate (not encodable as UTF-8; a JSON body may hold one: "\\ud800")."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def is_postgres(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"

