"""Derived rows out of the ingest transaction: ``stale_days`` marks the (terminal, day) pairs
to recompute; the journal ints of z_closings and payment_logs become BIGINT (a journal int
may reach 2**53, and a refresh must not fail on one).

Nothing starts stale: up to 0001, ingest recomputed the derived rows in its own transaction.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_WIDENED = (("z_closings", ("total", "grand_total")), ("payment_logs", ("count", "total")))


def upgrade() -> None:
    op.create_table(
        "stale_days",
        sa.Column("terminal", sa.String(length=100), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.PrimaryKeyConstraint("terminal", "day", name=op.f("pk_stale_days")),
    )
    for table, columns in _WIDENED:
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.alter_column(column, existing_type=sa.Integer(),
                                   type_=sa.BigInteger(), existing_nullable=True)


def downgrade() -> None:
    for table, columns in _WIDENED:
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.alter_column(column, existing_type=sa.BigInteger(),
                                   type_=sa.Integer(), existing_nullable=True)
    op.drop_table("stale_days")
