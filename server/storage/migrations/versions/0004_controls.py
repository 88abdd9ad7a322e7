"""Facilitator controls: document locks, removed participants, spotlight, timer,
document versions, templates and the audit log.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None
# Whether old processes may keep running beside this migration (docs/upgrades.md).
rolling_upgrade = "stop old processes first"
rolling_upgrade_reason = (
    "old processes check neither removals nor locks: a removed participant "
    "could still edit, and a locked document be edited, through them"
)

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("rooms") as batch:
        batch.add_column(sa.Column("spotlight_id", sa.String(36), nullable=True))
        batch.add_column(sa.Column("timer_started_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("timer_ends_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("timer_label", sa.String(200), nullable=True))
    with op.batch_alter_table("participants") as batch:
        batch.add_column(sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("documents") as batch:
        batch.add_column(
            sa.Column("locked", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("template", sa.String(32), nullable=True))
        batch.add_column(sa.Column("created_by", sa.String(36), nullable=True))
        batch.add_column(sa.Column("mentor_id", sa.String(36), nullable=True))
    op.create_table(
        "document_versions",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column(
            "document_id",
            sa.Integer(),
            sa.ForeignKey("documents.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("created_by", sa.String(36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.LargeBinary(), nullable=False),
    )
    op.create_index("ix_document_versions_document_id", "document_versions", ["document_id"])
    op.create_table(
        "audit_log",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column(
            "room_id", sa.Integer(), sa.ForeignKey("rooms.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.String(36), nullable=True),
        sa.Column("actor_name", sa.String(64), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
    )
    op.create_index("ix_audit_log_room_id", "audit_log", ["room_id"])


def downgrade() -> None:
    op.drop_table("audit_log")
    op.drop_table("document_versions")
    with op.batch_alter_table("documents") as batch:
        for column in ("mentor_id", "created_by", "template", "locked"):
            batch.drop_column(column)
    with op.batch_alter_table("participants") as batch:
        batch.drop_column("removed_at")
    with op.batch_alter_table("rooms") as batch:
        for column in ("timer_label", "timer_ends_at", "timer_started_at", "spotlight_id"):
            batch.drop_column(column)
