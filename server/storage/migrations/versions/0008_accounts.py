"""Accounts: people with an email address, their sign-in emails and signed-in browsers,
a seat per account and room, who may create rooms, and whether a room takes guests.

Old processes may keep running beside this migration: it only adds tables and nullable
or defaulted columns, which they do not read.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None
# Whether old processes may keep running beside this migration (docs/upgrades.md).
rolling_upgrade = "compatible"
rolling_upgrade_reason = (
    "adds tables and nullable or defaulted columns, which old processes do not read"
)

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("email", sa.String(254), nullable=False, unique=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("admin", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "sign_ins",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("email", sa.String(254), nullable=False, index=True),
        sa.Column("link_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("address", sa.String(64), nullable=False, index=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_codes", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next", sa.String(300), nullable=True),
        sa.Column("name", sa.String(64), nullable=True),
        sa.Column("participant_id", sa.String(36), nullable=True),
        sa.Column(
            "room_id", sa.Integer(), sa.ForeignKey("rooms.id", ondelete="CASCADE"), nullable=True
        ),
        sa.Column("role", sa.String(16), nullable=True),
        sa.Column(
            "document_id",
            sa.Integer(),
            sa.ForeignKey("documents.id", ondelete="CASCADE"),
            nullable=True,
        ),
    )
    op.create_table(
        "account_sessions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "account_id",
            sa.String(32),
            sa.ForeignKey("accounts.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("device", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "room_creators",
        sa.Column("pattern", sa.String(254), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("participants") as batch:
        batch.add_column(
            sa.Column(
                "account_id",
                sa.String(32),
                sa.ForeignKey("accounts.id", ondelete="SET NULL", name="fk_participants_account"),
                nullable=True,
            )
        )
        batch.add_column(
            sa.Column("last_seen_seq", sa.BigInteger(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("rooms") as batch:
        batch.add_column(
            sa.Column("guests_allowed", sa.Boolean(), nullable=False, server_default=sa.true())
        )
    op.create_index(
        "uq_participants_room_account",
        "participants",
        ["room_id", "account_id"],
        unique=True,
        sqlite_where=sa.text("account_id IS NOT NULL"),
        postgresql_where=sa.text("account_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("uq_participants_room_account", table_name="participants")
    with op.batch_alter_table("rooms") as batch:
        batch.drop_column("guests_allowed")
    with op.batch_alter_table("participants") as batch:
        batch.drop_column("last_seen_seq")
        batch.drop_column("account_id")
    op.drop_table("room_creators")
    op.drop_table("account_sessions")
    op.drop_table("sign_ins")
    op.drop_table("accounts")
