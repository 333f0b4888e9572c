"""Background signature audit: ``unchecked_signatures`` lists, per terminal, the seq ranges
of stored entries whose own signatures are not yet verified (ingest checks one signature per
batch: the newest entry's).

Entries stored before 0003 were checked the same way, per batch, and never one by one: the
upgrade lists each terminal's whole stored journal, so the audit verifies them all.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "unchecked_signatures",
        sa.Column("terminal", sa.String(length=100), nullable=False),
        sa.Column("first_seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("terminal", "first_seq", name=op.f("pk_unchecked_signatures")),
    )
    op.execute(
        "INSERT INTO unchecked_signatures (terminal, first_seq, last_seq) "
        "SELECT terminal, MIN(seq), MAX(seq) FROM entries GROUP BY terminal"
    )


def downgrade() -> None:
    op.drop_table("unchecked_signatures")
