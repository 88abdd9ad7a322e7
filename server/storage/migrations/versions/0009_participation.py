"""Participation: text activity per document, participant and 5-minute bucket, and the
spans of time people were connected to a room.

Old processes may keep running beside this migration: it only adds tables, which they
do not read (their edits are then stored without being counted).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None
# Whether old processes may keep running beside this migration (docs/upgrades.md).
rolling_upgrade = "compatible"
rolling_upgrade_reason = "adds tables; edits stored by old processes are not counted"

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "document_activity",
        sa.Column(
            "document_id",
            sa.Integer(),
            sa.ForeignKey("documents.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("participant_id", sa.String(36), primary_key=True),
        sa.Column("bucket", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("added", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("removed", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("edits", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_table(
        "presence_spans",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column(
            "room_id",
            sa.Integer(),
            sa.ForeignKey("rooms.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column(
            "participant_id",
            sa.String(36),
            sa.ForeignKey("participants.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("presence_spans")
    op.drop_table("document_activity")
