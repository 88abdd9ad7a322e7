"""A room's own cap on members and observers.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None
# Whether old processes may keep running beside this migration (docs/upgrades.md).
rolling_upgrade = "compatible"
rolling_upgrade_reason = (
    "adds a nullable column; old processes do not apply a room's own participant cap"
)


def upgrade() -> None:
    with op.batch_alter_table("rooms") as batch:
        batch.add_column(sa.Column("max_participants", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("rooms") as batch:
        batch.drop_column("max_participants")
