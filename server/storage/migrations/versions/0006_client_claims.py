"""Which participant each Yjs client id of a document belongs to.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None
# Whether old processes may keep running beside this migration (docs/upgrades.md).
rolling_upgrade = "compatible"
rolling_upgrade_reason = (
    "adds a table; edits made through old processes claim no client ids, "
    "so their writers stay unnamed"
)


def upgrade() -> None:
    op.create_table(
        "document_clients",
        sa.Column(
            "document_id",
            sa.Integer(),
            sa.ForeignKey("documents.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("client_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column(
            "participant_id",
            sa.String(36),
            sa.ForeignKey("participants.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_document_clients_participant_id", "document_clients", ["participant_id"])


def downgrade() -> None:
    op.drop_index("ix_document_clients_participant_id", table_name="document_clients")
    op.drop_table("document_clients")
