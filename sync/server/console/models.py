"""The console's tables: login sessions, the audit log, explanations of discrepancies
(migration 0005; the admins table's role, facility and lockout columns are in
``sync.server.models.Admin``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sync.server.models import FACILITY_LEN, TERMINAL_LEN, Base, UTCDateTime


class ConsoleSession(Base):
    """A server-side login session: ``id`` is the SHA-256 of the cookie's random token (a
    stolen database row does not log anyone in)."""

    __tablename__ = "console_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user: Mapped[str] = mapped_column(String(100), index=True)
    csrf: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime())


class AuditLog(Base):
    """One administrator action (login ok/fail, lockout, explanation, publish, ...)."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    user: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(100))
    detail: Mapped[str] = mapped_column(Text)


class Explanation(Base):
    """An administrator's explanation of a terminal-day's discrepancy ('mark explained')."""

    __tablename__ = "explanations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    terminal: Mapped[str] = mapped_column(String(TERMINAL_LEN))
    facility: Mapped[str] = mapped_column(String(FACILITY_LEN))
    day: Mapped[str] = mapped_column(String(10))
    user: Mapped[str] = mapped_column(String(100))
    comment: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    __table_args__ = (Index("ix_explanations_day_terminal", "day", "terminal"),)
