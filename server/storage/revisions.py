"""Where a database stands against the migrations in ``migrations/versions``: its
revision, the head, and the migrations still to apply, each with what it says about a
rolling upgrade (its module's ``rolling_upgrade`` and ``rolling_upgrade_reason``)."""

from __future__ import annotations

from dataclasses import dataclass

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from server.storage.migrate import alembic_config

COMPATIBLE = "compatible"
STOP_OLD = "stop old processes first"
ROLLING_UPGRADE = (COMPATIBLE, STOP_OLD)


@dataclass(frozen=True)
class Migration:
    revision: str
    title: str
    rolling_upgrade: str
    reason: str


@dataclass(frozen=True)
class Standing:
    current: str | None
    head: str
    # Oldest first: the order `roundtable migrate` applies them in.
    pending: list[Migration]

    @property
    def at_head(self) -> bool:
        return self.current == self.head


class UnknownRevision(Exception):
    """The database is at a revision this code does not have (a newer release's)."""


def scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def migrations() -> list[Migration]:
    """Every migration, oldest first."""
    found = []
    for script in reversed(list(scripts().walk_revisions())):
        module = script.module
        # Alembic's doc is the module docstring's first paragraph.
        title = " ".join((script.doc or script.revision).split())
        found.append(
            Migration(
                script.revision,
                title,
                getattr(module, "rolling_upgrade", ""),
                getattr(module, "rolling_upgrade_reason", ""),
            )
        )
    return found


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def standing(engine: AsyncEngine) -> Standing:
    async with engine.connect() as connection:
        current = await connection.run_sync(_current)
    directory = scripts()
    head = directory.get_current_head()
    assert head is not None
    every = migrations()
    revisions = [m.revision for m in every]
    if current is None:
        return Standing(None, head, every)
    if current not in revisions:
        raise UnknownRevision(
            f"the database is at revision {current}, which this Roundtable does not know "
            f"(its newest is {head}): a newer release migrated it"
        )
    return Standing(current, head, every[revisions.index(current) + 1 :])
