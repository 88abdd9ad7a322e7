"""Comment threads, questions, reactions, mentions; room settings for questions.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None
# Whether old processes may keep running beside this migration (docs/upgrades.md).
rolling_upgrade = "compatible"
rolling_upgrade_reason = "adds tables and columns with defaults, which old processes do not read"

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _participant(name: str) -> sa.Column[str]:
    return sa.Column(
        name,
        sa.String(36),
        sa.ForeignKey("participants.id", ondelete="CASCADE"),
        nullable=False,
    )


def upgrade() -> None:
    with op.batch_alter_table("rooms") as batch:
        batch.add_column(
            sa.Column("observers_can_ask", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column(
                "post_first_questions", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
    op.create_table(
        "threads",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column(
            "room_id", sa.Integer(), sa.ForeignKey("rooms.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "document_id",
            sa.Integer(),
            sa.ForeignKey("documents.id", ondelete="CASCADE"),
            nullable=True,
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        _participant("author_id"),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("anchor_start", sa.LargeBinary(), nullable=True),
        sa.Column("anchor_end", sa.LargeBinary(), nullable=True),
        sa.Column("quote", sa.Text(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("locked", sa.Boolean(), nullable=False),
        sa.Column("post_first", sa.Boolean(), nullable=False),
        sa.Column("accepted_comment_id", sa.BigInteger(), nullable=True),
        sa.Column("reply_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_activity_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_threads_room_activity", "threads", ["room_id", "last_activity_at"])
    op.create_index("ix_threads_document_id", "threads", ["document_id"])
    op.create_table(
        "comments",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column(
            "thread_id", BigId, sa.ForeignKey("threads.id", ondelete="CASCADE"), nullable=False
        ),
        _participant("author_id"),
        sa.Column("is_reply", sa.Boolean(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_comments_thread_id", "comments", ["thread_id"])
    op.create_index("ix_comments_author_id", "comments", ["author_id"])
    op.create_table(
        "comment_reactions",
        sa.Column(
            "comment_id", BigId, sa.ForeignKey("comments.id", ondelete="CASCADE"), nullable=False
        ),
        _participant("participant_id"),
        sa.Column("reaction", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("comment_id", "participant_id", "reaction"),
    )
    op.create_table(
        "comment_mentions",
        sa.Column(
            "comment_id", BigId, sa.ForeignKey("comments.id", ondelete="CASCADE"), nullable=False
        ),
        _participant("participant_id"),
        sa.PrimaryKeyConstraint("comment_id", "participant_id"),
    )
    op.create_index("ix_comment_mentions_participant_id", "comment_mentions", ["participant_id"])


def downgrade() -> None:
    op.drop_table("comment_mentions")
    op.drop_table("comment_reactions")
    op.drop_table("comments")
    op.drop_table("threads")
    with op.batch_alter_table("rooms") as batch:
        batch.drop_column("post_first_questions")
        batch.drop_column("observers_can_ask")
