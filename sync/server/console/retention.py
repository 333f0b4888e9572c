"""Retention (保存期間): how long each class of record must be kept, and whether a given
record may be deleted. Nothing here (or anywhere in madoguchi) deletes records
automatically: ``may_delete`` only answers the question for a person who asks.

The retention of a record is counted, as in municipal document rules, from April 1 after
the end of the fiscal year (年度, April-March) it belongs to: a sale of business day
2026-11-26 (FY2026) kept 10 years is kept through 2037-03-31 and may be deleted from
2037-04-01. The defaults (``RECORD_CLASSES``) apply until an administrator changes one; a
change is stored in ``retention_settings`` (migration 0006) and audited by the console.
A value may not go below the class's minimum (the statutory floor for accounting books
under the 電子帳簿保存法 is 7 years) nor above 100 years.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Final

from sqlalchemy import String, delete, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, mapped_column

from sync.server.console.reports import fiscal_year_of
from sync.server.db import utcnow
from sync.server.models import Base, UTCDateTime
from terminal.errors import MadoguchiError

MAX_YEARS: Final = 100


class RetentionSetting(Base):
    """An administrator's retention value for one record class (absent = the default)."""

    __tablename__ = "retention_settings"
    record_class: Mapped[str] = mapped_column(String(50), primary_key=True)
    years: Mapped[int] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(100))


@dataclass(frozen=True, slots=True)
class RecordClass:
    id: str
    label: str
    default_years: int
    minimum_years: int


RECORD_CLASSES: Final[tuple[RecordClass, ...]] = (
    RecordClass("journal", "取引記録 (売上・返金・取消の仕訳, journal entries)", 10, 7),
    RecordClass("closing", "締め・日計 (Z closings, day totals)", 10, 7),
    RecordClass("payment_log", "決済端末の日計 (payment terminal daily logs)", 7, 7),
    RecordClass("audit_log", "操作ログ (console audit log)", 10, 5),
    RecordClass("survey", "満足度アンケート (survey ratings)", 5, 1),
)


class RetentionError(MadoguchiError):
    """A retention value or record class is not acceptable (the message says why)."""


@dataclass(frozen=True, slots=True)
class Setting:
    record_class: RecordClass
    years: int
    updated_at: datetime | None  # None: the default
    updated_by: str | None


@dataclass(frozen=True, slots=True)
class Decision:
    """``allowed``: the retention has ended; ``keep_until``: the last day it must be kept."""

    allowed: bool
    keep_until: date
    years: int
    reason: str


def record_class(class_id: str) -> RecordClass:
    for item in RECORD_CLASSES:
        if item.id == class_id:
            return item
    raise RetentionError(f"記録の種類 {class_id!r} は不明です (unknown record class; one of "
                         f"{', '.join(c.id for c in RECORD_CLASSES)})")


def settings(conn: Connection) -> list[Setting]:
    """Every record class with its effective value (stored, else the default)."""
    stored = {row.record_class: row for row in conn.execute(select(RetentionSetting))}
    result = []
    for item in RECORD_CLASSES:
        row = stored.get(item.id)
        result.append(Setting(item, row.years, row.updated_at, row.updated_by) if row
                      else Setting(item, item.default_years, None, None))
    return result


def years_for(conn: Connection, class_id: str) -> int:
    item = record_class(class_id)
    stored = conn.execute(select(RetentionSetting.years)
                          .where(RetentionSetting.record_class == item.id)).scalar()
    return item.default_years if stored is None else int(stored)


def check_years(item: RecordClass, years: int) -> None:
    if not item.minimum_years <= years <= MAX_YEARS:
        raise RetentionError(
            f"{item.label}: 保存年数は {item.minimum_years} から {MAX_YEARS} 年です "
            f"(years must be {item.minimum_years}-{MAX_YEARS}, got {years})")


def set_years(conn: Connection, class_id: str, years: int, user: str) -> tuple[int, int]:
    """Store ``years`` for the class; (the old value, the new). The caller audits it."""
    item = record_class(class_id)
    check_years(item, years)
    old = years_for(conn, class_id)
    conn.execute(delete(RetentionSetting).where(RetentionSetting.record_class == item.id))
    conn.execute(insert(RetentionSetting).values(record_class=item.id, years=years,
                                                 updated_at=utcnow(), updated_by=user[:100]))
    return old, years


def keep_until(record_day: date, years: int) -> date:
    """The last day a record of ``record_day`` must be kept (see the module docstring)."""
    return date(fiscal_year_of(record_day.isoformat()) + 1 + years, 3, 31)


def may_delete(conn: Connection, class_id: str, record_day: date, today: date) -> Decision:
    """May a record of ``class_id`` from business day ``record_day`` be deleted ``today``?
    Only an answer: nothing is deleted."""
    years = years_for(conn, class_id)
    last = keep_until(record_day, years)
    if today > last:
        return Decision(True, last, years, f"保存期間 ({years} 年) は {last} に終了しました "
                        f"(retention of {years} years ended {last})")
    return Decision(False, last, years, f"{last} まで保存が必要です ({years} 年) — 削除不可 "
                    f"(must be kept until {last}; may not be deleted)")
