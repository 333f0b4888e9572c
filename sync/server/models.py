"""The central server's tables (SQLAlchemy 2, typed). The schema itself lives in the Alembic
migrations (``sync/server/migrations``); a test checks that they match these models.

Journal entries are kept as their exact canonical text (``line``, TEXT, never jsonb). Every
derived table (``day_totals``, ``z_closings``, ``payment_logs``) is recomputed from the
entries, never edited by hand (``madoguchi server rebuild``): ingest only marks the
(terminal, day) pairs it touched in ``stale_days``; ``sync.server.derived`` recomputes them
before any read of a derived table, and in the background. Ingest verifies one signature per
batch (the newest entry's); ``unchecked_signatures`` lists the rest for the background audit
(``sync.server.audit``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

from sqlalchemy import (
    BigInteger,
    DateTime,
    Dialect,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "pk": "pk_%(table_name)s",
}

TERMINAL_LEN = 100
FACILITY_LEN = 100


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime, stored naive UTC (the same on SQLite and PostgreSQL)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware datetime (UTC)")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class ServerKey(Base):
    """The server's Ed25519 signing key (one row, id 1): signs published configs."""

    __tablename__ = "server_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    private_pem: Mapped[str] = mapped_column(Text)
    public_key: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Admin(Base):
    __tablename__ = "admins"
    user: Mapped[str] = mapped_column(String(100), primary_key=True)
    password_hash: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # the console (migration 0005): role, facility of a facility manager, login lockout
    role: Mapped[str] = mapped_column(String(20), server_default="admin")
    facility: Mapped[str | None] = mapped_column(String(FACILITY_LEN), nullable=True)
    failed: Mapped[int] = mapped_column(Integer, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class EnrollCode(Base):
    """A one-time enrollment code: only its SHA-256 is stored."""

    __tablename__ = "enroll_codes"
    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    facility: Mapped[str] = mapped_column(String(FACILITY_LEN))
    terminal: Mapped[str] = mapped_column(String(TERMINAL_LEN))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class EnrollFailure(Base):
    """One failed enrollment attempt (the rate limit counts them per client address)."""

    __tablename__ = "enroll_failures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    client: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    __table_args__ = (Index("ix_enroll_failures_client_at", "client", "at"),)


class Terminal(Base):
    __tablename__ = "terminals"
    terminal: Mapped[str] = mapped_column(String(TERMINAL_LEN), primary_key=True)
    facility: Mapped[str] = mapped_column(String(FACILITY_LEN), index=True)
    public_key: Mapped[str] = mapped_column(String(60))
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    drift_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_seen: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    app_version: Mapped[str | None] = mapped_column(String(100), nullable=True)
    pending: Mapped[int | None] = mapped_column(Integer, nullable=True)
    devices: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    status_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Head(Base):
    """Per terminal: the highest contiguous stored seq and its hash. Ingest locks this row."""

    __tablename__ = "heads"
    terminal: Mapped[str] = mapped_column(String(TERMINAL_LEN), primary_key=True)
    ack: Mapped[int] = mapped_column(Integer)
    head_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)


class Nonce(Base):
    """Request nonces seen (kept 2 x CLOCK_WINDOW_SECONDS): a reused one is a replay."""

    __tablename__ = "nonces"
    terminal: Mapped[str] = mapped_column(String(TERMINAL_LEN), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(100), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class StoredEntry(Base):
    __tablename__ = "entries"
    terminal: Mapped[str] = mapped_column(String(TERMINAL_LEN), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(100))
    day: Mapped[str] = mapped_column(String(10))
    at: Mapped[str] = mapped_column(String(40))
    hash: Mapped[str] = mapped_column(String(64))
    line: Mapped[str] = mapped_column(Text)
    receipt_no: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)
    original_terminal: Mapped[str | None] = mapped_column(String(TERMINAL_LEN), nullable=True)
    original_seq: Mapped[int | None] = mapped_column(Integer, nullable=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    __table_args__ = (
        Index("ix_entries_terminal_day", "terminal", "day"),
        Index("ix_entries_day", "day"),  # the console's search and exports across terminals
        Index("ix_entries_original", "original_terminal", "original_seq"),
    )


class Alarm(Base):
    """A tamper or continuity alarm: fork, chain, signature, format or gap."""

    __tablename__ = "alarms"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    terminal: Mapped[str] = mapped_column(String(TERMINAL_LEN), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    seq: Mapped[int | None] = mapped_column(Integer, nullable=True)
    stored_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    offered_hash: Mapped[str | None] = mapped_column(Text, nullable=True)
    message: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class ConfigVersion(Base):
    __tablename__ = "configs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    facility: Mapped[str] = mapped_column(String(FACILITY_LEN))
    version: Mapped[int] = mapped_column(Integer)
    payload: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(100))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime())
    __table_args__ = (UniqueConstraint("facility", "version"),)


class DayTotals(Base):
    """Derived: terminal.reports.period_totals over one terminal-day's entries (JSON text)."""

    __tablename__ = "day_totals"
    terminal: Mapped[str] = mapped_column(String(TERMINAL_LEN), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True, index=True)
    entries: Mapped[int] = mapped_column(Integer)
    first_seq: Mapped[int] = mapped_column(Integer)
    last_seq: Mapped[int] = mapped_column(Integer)
    totals: Mapped[str] = mapped_column(Text)


class ZClosing(Base):
    """Derived: the closing.z entries (body as JSON text)."""

    __tablename__ = "z_closings"
    terminal: Mapped[str] = mapped_column(String(TERMINAL_LEN), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    day: Mapped[str] = mapped_column(String(10), index=True)
    total: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    grand_total: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    body: Mapped[str] = mapped_column(Text)


class PaymentLog(Base):
    """Derived: the payment.daily_log entries (the payment terminal's end-of-day batch)."""

    __tablename__ = "payment_logs"
    terminal: Mapped[str] = mapped_column(String(TERMINAL_LEN), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    day: Mapped[str] = mapped_column(String(10), index=True)
    batch_no: Mapped[str | None] = mapped_column(String(100), nullable=True)
    count: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    total: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    by_tender: Mapped[str] = mapped_column(Text)


class StaleDay(Base):
    """A (terminal, day) whose derived rows may be behind its entries: marked by ingest in
    its transaction, cleared by ``derived.refresh`` / ``derived.drain`` once recomputed."""

    __tablename__ = "stale_days"
    terminal: Mapped[str] = mapped_column(String(TERMINAL_LEN), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)


class UncheckedSignatures(Base):
    """Stored entries whose own signatures are not yet verified: seqs ``first_seq`` to
    ``last_seq`` of ``terminal`` (the earlier entries of one batch: ingest verifies only the
    newest, whose signature covers them through the hash links). Inserted by ingest in its
    transaction, deleted by ``sync.server.audit`` once every signature of the range is
    checked (a failure is a "signature" alarm). A range per batch, not a flag per entry:
    one small row per upload, and no entry row is ever rewritten."""

    __tablename__ = "unchecked_signatures"
    terminal: Mapped[str] = mapped_column(String(TERMINAL_LEN), primary_key=True)
    first_seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(Integer)


DERIVED_TABLES: tuple[Table, ...] = (
    cast(Table, DayTotals.__table__),
    cast(Table, ZClosing.__table__),
    cast(Table, PaymentLog.__table__),
)
