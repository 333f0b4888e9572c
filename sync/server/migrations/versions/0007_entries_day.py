"""An index on entries.day alone: the console searches and exports a date range across every
terminal (ix_entries_terminal_day serves one terminal's days only).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_entries_day", "entries", ["day"])


def downgrade() -> None:
    op.drop_index("ix_entries_day", table_name="entries")
