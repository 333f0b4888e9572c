"""Initial schema: terminals, entries (exact canonical text), alarms, configs, derived tables.

Date times are naive UTC (models.UTCDateTime).

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "admins",
        sa.Column("user", sa.String(length=100), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("user", name=op.f("pk_admins")),
    )
    op.create_table(
        "alarms",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("terminal", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=True),
        sa.Column("stored_hash", sa.String(length=64), nullable=True),
        sa.Column("offered_hash", sa.Text(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alarms")),
    )
    op.create_index(op.f("ix_alarms_terminal"), "alarms", ["terminal"], unique=False)

    op.create_table(
        "configs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("facility", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.String(length=100), nullable=False),
        sa.Column("published_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_configs")),
        sa.UniqueConstraint("facility", "version", name=op.f("uq_configs_facility")),
    )
    op.create_table(
        "day_totals",
        sa.Column("terminal", sa.String(length=100), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("first_seq", sa.Integer(), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("totals", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("terminal", "day", name=op.f("pk_day_totals")),
    )
    op.create_index(op.f("ix_day_totals_day"), "day_totals", ["day"], unique=False)

    op.create_table(
        "enroll_codes",
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("facility", sa.String(length=100), nullable=False),
        sa.Column("terminal", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("code_hash", name=op.f("pk_enroll_codes")),
    )
    op.create_table(
        "enroll_failures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("client", sa.String(length=100), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enroll_failures")),
    )
    op.create_index(
        "ix_enroll_failures_client_at", "enroll_failures", ["client", "at"], unique=False
    )

    op.create_table(
        "entries",
        sa.Column("terminal", sa.String(length=100), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=100), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("at", sa.String(length=40), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("line", sa.Text(), nullable=False),
        sa.Column("receipt_no", sa.String(length=100), nullable=True),
        sa.Column("original_terminal", sa.String(length=100), nullable=True),
        sa.Column("original_seq", sa.Integer(), nullable=True),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("terminal", "seq", name=op.f("pk_entries")),
    )
    op.create_index(
        "ix_entries_original", "entries", ["original_terminal", "original_seq"], unique=False
    )
    op.create_index(op.f("ix_entries_receipt_no"), "entries", ["receipt_no"], unique=False)
    op.create_index("ix_entries_terminal_day", "entries", ["terminal", "day"], unique=False)

    op.create_table(
        "heads",
        sa.Column("terminal", sa.String(length=100), nullable=False),
        sa.Column("ack", sa.Integer(), nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("terminal", name=op.f("pk_heads")),
    )
    op.create_table(
        "nonces",
        sa.Column("terminal", sa.String(length=100), nullable=False),
        sa.Column("nonce", sa.String(length=100), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("terminal", "nonce", name=op.f("pk_nonces")),
    )
    op.create_index(op.f("ix_nonces_at"), "nonces", ["at"], unique=False)

    op.create_table(
        "payment_logs",
        sa.Column("terminal", sa.String(length=100), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("batch_no", sa.String(length=100), nullable=True),
        sa.Column("count", sa.Integer(), nullable=True),
        sa.Column("total", sa.Integer(), nullable=True),
        sa.Column("by_tender", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("terminal", "seq", name=op.f("pk_payment_logs")),
    )
    op.create_index(op.f("ix_payment_logs_day"), "payment_logs", ["day"], unique=False)

    op.create_table(
        "server_keys",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("private_pem", sa.Text(), nullable=False),
        sa.Column("public_key", sa.String(length=60), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_server_keys")),
    )
    op.create_table(
        "terminals",
        sa.Column("terminal", sa.String(length=100), nullable=False),
        sa.Column("facility", sa.String(length=100), nullable=False),
        sa.Column("public_key", sa.String(length=60), nullable=False),
        sa.Column("enrolled_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("drift_seconds", sa.Integer(), nullable=True),
        sa.Column("last_seen", sa.DateTime(), nullable=True),
        sa.Column("app_version", sa.String(length=100), nullable=True),
        sa.Column("pending", sa.Integer(), nullable=True),
        sa.Column("devices", sa.Text(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("status_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("terminal", name=op.f("pk_terminals")),
    )
    op.create_index(op.f("ix_terminals_facility"), "terminals", ["facility"], unique=False)

    op.create_table(
        "z_closings",
        sa.Column("terminal", sa.String(length=100), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("total", sa.Integer(), nullable=True),
        sa.Column("grand_total", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("terminal", "seq", name=op.f("pk_z_closings")),
    )
    op.create_index(op.f("ix_z_closings_day"), "z_closings", ["day"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_z_closings_day"), table_name="z_closings")

    op.drop_table("z_closings")
    op.drop_index(op.f("ix_terminals_facility"), table_name="terminals")

    op.drop_table("terminals")
    op.drop_table("server_keys")
    op.drop_index(op.f("ix_payment_logs_day"), table_name="payment_logs")

    op.drop_table("payment_logs")
    op.drop_index(op.f("ix_nonces_at"), table_name="nonces")

    op.drop_table("nonces")
    op.drop_table("heads")
    op.drop_index("ix_entries_terminal_day", table_name="entries")
    op.drop_index(op.f("ix_entries_receipt_no"), table_name="entries")
    op.drop_index("ix_entries_original", table_name="entries")

    op.drop_table("entries")
    op.drop_index("ix_enroll_failures_client_at", table_name="enroll_failures")

    op.drop_table("enroll_failures")
    op.drop_table("enroll_codes")
    op.drop_index(op.f("ix_day_totals_day"), table_name="day_totals")

    op.drop_table("day_totals")
    op.drop_table("configs")
    op.drop_index(op.f("ix_alarms_terminal"), table_name="alarms")

    op.drop_table("alarms")
    op.drop_table("admins")
