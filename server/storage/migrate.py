"""Applying the Alembic migrations at start, safely when several processes start at once.

A process starting on a database already at the newest revision (every start but the
first after an upgrade) reads the revision and goes on: Alembic, which costs a server
process about 10 MB and a fraction of a second to import, is loaded only when there
is something to migrate.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
_REVISION = re.compile(r'^(down_revision|revision) = (None|"[^"]*")$', re.MULTILINE)
# Any fixed number: the key of the PostgreSQL advisory lock that serialises migrations.
_MIGRATION_LOCK_KEY = 72_616_374


@cache
def _revisions() -> tuple[frozenset[str], str]:
    """Every revision of the migration scripts, and the newest: the one no other revises."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for script in (MIGRATIONS / "versions").glob("*.py"):
        found = dict(_REVISION.findall(script.read_text(encoding="utf-8")))
        revisions.add(found["revision"].strip('"'))
        if found.get("down_revision", "None") != "None":
            revised.add(found["down_revision"].strip('"'))
    heads = revisions - revised
    if len(heads) != 1:
        raise RuntimeError(f"the migrations have {len(heads)} heads: {sorted(heads)}")
    return frozenset(revisions), heads.pop()


def head_revision() -> str:
    """The newest revision this code knows."""
    return _revisions()[1]


def known_revisions() -> frozenset[str]:
    """Every revision this code has a migration for."""
    return _revisions()[0]


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at; None for a database never migrated."""
    try:
        async with engine.connect() as connection:
            found = await connection.execute(text("SELECT version_num FROM alembic_version"))
            row = found.first()
    except DBAPIError:
        return None  # no alembic_version table yet
    return None if row is None else str(row[0])


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection) -> None:
    from alembic import command

    command.upgrade(alembic_config(connection), "head")


async def upgrade(engine: AsyncEngine) -> None:
    """Bring the schema to the newest revision (a no-op when it already is)."""
    if await current_revision(engine) == head_revision():
        return
    async with engine.begin() as connection:
        # Processes starting together on one database migrate one after the other.
        if connection.dialect.name == "postgresql":
            await connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY}
            )
        elif connection.dialect.name == "sqlite":
            # Take SQLite's write lock now, so the DDL and the version check below run
            # in one transaction that a second process waits for (busy timeout).
            await connection.exec_driver_sql("BEGIN IMMEDIATE")
        await connection.run_sync(_upgrade)
