"""A participant's colour: an index into the roster's palette (``rooms.presence.COLOURS``),
chosen when they join so that the people of one room do not share one.

Existing participants keep NULL, and with it the colour hashed from their id. Old
processes may keep running beside this migration: they do not read the column, and the
participants they add get NULL (a hashed colour) too.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-14
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None
# Whether old processes may keep running beside this migration (docs/upgrades.md).
rolling_upgrade = "compatible"
rolling_upgrade_reason = (
    "adds a nullable column; participants old processes add get a hashed colour"
)


def upgrade() -> None:
    with op.batch_alter_table("participants") as batch:
        batch.add_column(sa.Column("colour", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("participants") as batch:
        batch.drop_column("colour")
