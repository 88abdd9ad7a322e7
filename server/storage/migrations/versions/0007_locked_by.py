"""Who locked a document: the display name shown to those the lock keeps out.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None
# Whether old processes may keep running beside this migration (docs/upgrades.md).
rolling_upgrade = "compatible"
rolling_upgrade_reason = "adds a nullable column; a lock set by an old process shows no name"


def upgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.add_column(sa.Column("locked_by", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.drop_column("locked_by")
