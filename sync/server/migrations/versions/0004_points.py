"""はちのへポイント: the server's points ledger, campaign settings, quota grants and
redemptions (docs/points.md; models in ``sync.server.points.models``).

The ledger is append-only and hash-chained; its head row is created here (seq 0, the
genesis hash of ``sync.server.points.ledger``). The campaign settings row is created on the
first write (``madoguchi server points-campaign``); until then the defaults apply.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_GENESIS = hashlib.sha256(b"madoguchi-points-ledger/1 genesis").hexdigest()


def _at() -> sa.Column[str]:
    return sa.Column("at", sa.String(length=40), nullable=False)


def upgrade() -> None:
    op.create_table(
        "points_campaign",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("points_per_use", sa.Integer(), nullable=False),
        sa.Column("per_person_cap", sa.Integer(), nullable=False),
        sa.Column("campaign_budget", sa.BigInteger(), nullable=False),
        sa.Column("quota_chunk", sa.Integer(), nullable=False),
        sa.Column("yen_per_point", sa.Integer(), nullable=False),
        sa.Column("redemption_enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.String(length=40), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_points_campaign")),
    )
    head = op.create_table(
        "points_ledger_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_points_ledger_head")),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": _GENESIS}])
    op.create_table(
        "points_ledger",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("card", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("terminal", sa.String(length=100), nullable=True),
        sa.Column("entry_seq", sa.Integer(), nullable=True),
        sa.Column("award_terminal", sa.String(length=100), nullable=True),
        sa.Column("award_seq", sa.Integer(), nullable=True),
        sa.Column("ref", sa.String(length=200), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        _at(),
        sa.Column("dedupe", sa.String(length=250), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_points_ledger")),
        sa.UniqueConstraint("dedupe", name=op.f("uq_points_ledger_dedupe")),
    )
    op.create_index(op.f("ix_points_ledger_card"), "points_ledger", ["card"], unique=False)
    op.create_index("ix_points_ledger_award", "points_ledger",
                    ["award_terminal", "award_seq"], unique=False)
    op.create_table(
        "points_awards",
        sa.Column("terminal", sa.String(length=100), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("card", sa.String(length=64), nullable=False),
        _at(),
        sa.Column("order_at", sa.String(length=40), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("facility", sa.String(length=100), nullable=False),
        sa.Column("receipt_no", sa.String(length=100), nullable=True),
        sa.Column("online", sa.Boolean(), nullable=False),
        sa.Column("awarded", sa.BigInteger(), nullable=False),
        sa.Column("settled", sa.BigInteger(), nullable=False),
        sa.Column("clawed", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("terminal", "seq", name=op.f("pk_points_awards")),
    )
    op.create_index(op.f("ix_points_awards_card"), "points_awards", ["card"], unique=False)
    op.create_index(op.f("ix_points_awards_day"), "points_awards", ["day"], unique=False)
    op.create_table(
        "points_clawbacks",
        sa.Column("terminal", sa.String(length=100), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("award_terminal", sa.String(length=100), nullable=False),
        sa.Column("award_seq", sa.Integer(), nullable=False),
        sa.Column("card", sa.String(length=64), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        _at(),
        sa.PrimaryKeyConstraint("terminal", "seq", name=op.f("pk_points_clawbacks")),
    )
    op.create_index("ix_points_clawbacks_award", "points_clawbacks",
                    ["award_terminal", "award_seq"], unique=False)
    op.create_table(
        "points_payments",
        sa.Column("terminal", sa.String(length=100), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("op", sa.String(length=10), nullable=False),
        sa.Column("ref", sa.String(length=200), nullable=False),
        sa.Column("original_ref", sa.String(length=200), nullable=True),
        sa.Column("card", sa.String(length=64), nullable=True),
        sa.Column("points", sa.BigInteger(), nullable=False),
        _at(),
        sa.PrimaryKeyConstraint("terminal", "seq", name=op.f("pk_points_payments")),
    )
    op.create_table(
        "points_requests",
        sa.Column("ref", sa.String(length=200), nullable=False),
        sa.Column("op", sa.String(length=10), nullable=False),
        sa.Column("terminal", sa.String(length=100), nullable=False),
        sa.Column("card", sa.String(length=64), nullable=True),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("approved", sa.Boolean(), nullable=False),
        sa.Column("cancelled", sa.Boolean(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("original_ref", sa.String(length=200), nullable=True),
        sa.Column("source", sa.String(length=10), nullable=False),
        _at(),
        sa.PrimaryKeyConstraint("ref", name=op.f("pk_points_requests")),
    )
    op.create_index(op.f("ix_points_requests_original_ref"), "points_requests",
                    ["original_ref"], unique=False)
    op.create_table(
        "points_quota",
        sa.Column("terminal", sa.String(length=100), nullable=False),
        sa.Column("granted", sa.BigInteger(), nullable=False),
        sa.Column("grant_id", sa.String(length=200), nullable=False),
        sa.Column("used", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("terminal", name=op.f("pk_points_quota")),
    )
    op.create_table(
        "points_grants",
        sa.Column("grant_id", sa.String(length=200), nullable=False),
        sa.Column("terminal", sa.String(length=100), nullable=False),
        sa.Column("added", sa.BigInteger(), nullable=False),
        sa.Column("granted", sa.BigInteger(), nullable=False),
        sa.Column("used", sa.BigInteger(), nullable=False),
        _at(),
        sa.Column("journal_seq", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("grant_id", name=op.f("pk_points_grants")),
    )
    op.create_index(op.f("ix_points_grants_terminal"), "points_grants", ["terminal"],
                    unique=False)


def downgrade() -> None:
    for table in ("points_grants", "points_quota", "points_requests", "points_payments",
                  "points_clawbacks", "points_awards", "points_ledger", "points_ledger_head",
                  "points_campaign"):
        op.drop_table(table)  # their indexes go with them
