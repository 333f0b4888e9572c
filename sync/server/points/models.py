"""The points tables (はちのへポイント, docs/points.md). Schema: migration 0004.

- ``points_campaign``: the campaign settings (one row, id 1; defaults when absent).
- ``points_ledger`` / ``points_ledger_head``: the append-only, hash-chained ledger signed by
  the server key (``sync.server.points.ledger``); the head row is the one lock every points
  mutation takes, so the server-wide sequence has no holes and no races.
- ``points_awards``, ``points_clawbacks``, ``points_payments``: the facts read from journal
  entries (one row per entry, keyed by terminal and seq), from which the statement is
  computed (``sync.server.points.settle``); ``settled``/``clawed`` of an award mirror what the
  ledger holds for it.
- ``points_requests``: redemptions and refunds asked through the API (or learned from a
  journal), by ``ref``: what makes them idempotent.
- ``points_quota`` / ``points_grants``: award quota per terminal, cumulative, with each grant.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sync.server.models import FACILITY_LEN, TERMINAL_LEN, Base

CARD_LEN = 64
REF_LEN = 200
AT_LEN = 40


class PointsCampaign(Base):
    __tablename__ = "points_campaign"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    points_per_use: Mapped[int] = mapped_column(Integer)
    per_person_cap: Mapped[int] = mapped_column(Integer)
    campaign_budget: Mapped[int] = mapped_column(BigInteger)
    quota_chunk: Mapped[int] = mapped_column(Integer)
    yen_per_point: Mapped[int] = mapped_column(Integer)
    redemption_enabled: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[str] = mapped_column(String(AT_LEN))
    updated_by: Mapped[str] = mapped_column(String(100))


class PointsLedgerHead(Base):
    """The newest ledger row (seq 0 and the genesis hash before the first)."""

    __tablename__ = "points_ledger_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))


class PointsLedgerRow(Base):
    """One ledger row. ``dedupe`` names the fact a row applies once (``award:T:seq``,
    ``redeem:REF`` ...); difference rows (corrections, clawback adjustments) have none."""

    __tablename__ = "points_ledger"
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    card: Mapped[str] = mapped_column(String(CARD_LEN), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    points: Mapped[int] = mapped_column(BigInteger)
    terminal: Mapped[str | None] = mapped_column(String(TERMINAL_LEN), nullable=True)
    entry_seq: Mapped[int | None] = mapped_column(Integer, nullable=True)
    award_terminal: Mapped[str | None] = mapped_column(String(TERMINAL_LEN), nullable=True)
    award_seq: Mapped[int | None] = mapped_column(Integer, nullable=True)
    ref: Mapped[str | None] = mapped_column(String(REF_LEN), nullable=True)
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(100))
    at: Mapped[str] = mapped_column(String(AT_LEN))
    dedupe: Mapped[str | None] = mapped_column(String(250), nullable=True, unique=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(100))
    __table_args__ = (Index("ix_points_ledger_award", "award_terminal", "award_seq"),)


class PointsAward(Base):
    """A ``points.award`` entry. ``order_at``: its time in UTC (the settling order)."""

    __tablename__ = "points_awards"
    terminal: Mapped[str] = mapped_column(String(TERMINAL_LEN), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    card: Mapped[str] = mapped_column(String(CARD_LEN), index=True)
    at: Mapped[str] = mapped_column(String(AT_LEN))
    order_at: Mapped[str] = mapped_column(String(AT_LEN))
    day: Mapped[str] = mapped_column(String(10), index=True)
    facility: Mapped[str] = mapped_column(String(FACILITY_LEN))
    receipt_no: Mapped[str | None] = mapped_column(String(100), nullable=True)
    online: Mapped[bool] = mapped_column(Boolean)
    awarded: Mapped[int] = mapped_column(BigInteger)
    settled: Mapped[int] = mapped_column(BigInteger)
    clawed: Mapped[int] = mapped_column(BigInteger)


class PointsClawback(Base):
    """A ``points.clawback`` entry naming the award (``award_terminal``, ``award_seq``)."""

    __tablename__ = "points_clawbacks"
    terminal: Mapped[str] = mapped_column(String(TERMINAL_LEN), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    award_terminal: Mapped[str] = mapped_column(String(TERMINAL_LEN))
    award_seq: Mapped[int] = mapped_column(Integer)
    card: Mapped[str] = mapped_column(String(CARD_LEN))
    points: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(20))
    at: Mapped[str] = mapped_column(String(AT_LEN))
    __table_args__ = (Index("ix_points_clawbacks_award", "award_terminal", "award_seq"),)


class PointsPayment(Base):
    """An approved points ``payment.result`` entry: ``op`` sale (a redemption), void (its
    cancel, ``original_ref``) or refund (points given back, ``original_ref``)."""

    __tablename__ = "points_payments"
    terminal: Mapped[str] = mapped_column(String(TERMINAL_LEN), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    op: Mapped[str] = mapped_column(String(10))
    ref: Mapped[str] = mapped_column(String(REF_LEN))
    original_ref: Mapped[str | None] = mapped_column(String(REF_LEN), nullable=True)
    card: Mapped[str | None] = mapped_column(String(CARD_LEN), nullable=True)
    points: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[str] = mapped_column(String(AT_LEN))


class PointsRequest(Base):
    """A redemption (``op`` redeem) or refund (``op`` refund) by ``ref``: its outcome."""

    __tablename__ = "points_requests"
    ref: Mapped[str] = mapped_column(String(REF_LEN), primary_key=True)
    op: Mapped[str] = mapped_column(String(10))
    terminal: Mapped[str] = mapped_column(String(TERMINAL_LEN))
    card: Mapped[str | None] = mapped_column(String(CARD_LEN), nullable=True)
    points: Mapped[int] = mapped_column(BigInteger)
    approved: Mapped[bool] = mapped_column(Boolean)
    cancelled: Mapped[bool] = mapped_column(Boolean)
    message: Mapped[str] = mapped_column(Text)
    original_ref: Mapped[str | None] = mapped_column(String(REF_LEN), nullable=True,
                                                     index=True)
    source: Mapped[str] = mapped_column(String(10))
    at: Mapped[str] = mapped_column(String(AT_LEN))


class PointsQuota(Base):
    """Per terminal: the cumulative points granted and the newest grant."""

    __tablename__ = "points_quota"
    terminal: Mapped[str] = mapped_column(String(TERMINAL_LEN), primary_key=True)
    granted: Mapped[int] = mapped_column(BigInteger)
    grant_id: Mapped[str] = mapped_column(String(REF_LEN))
    used: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[str] = mapped_column(String(AT_LEN))


class PointsGrant(Base):
    """One grant: ``added`` points, making ``granted`` cumulative for the terminal.
    ``journal_seq``: the terminal's ``points.quota`` entry that acknowledged it."""

    __tablename__ = "points_grants"
    grant_id: Mapped[str] = mapped_column(String(REF_LEN), primary_key=True)
    terminal: Mapped[str] = mapped_column(String(TERMINAL_LEN), index=True)
    added: Mapped[int] = mapped_column(BigInteger)
    granted: Mapped[int] = mapped_column(BigInteger)
    used: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[str] = mapped_column(String(AT_LEN))
    journal_seq: Mapped[int | None] = mapped_column(Integer, nullable=True)
