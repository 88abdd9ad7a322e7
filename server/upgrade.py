"""``roundtable migrate``: bring the database schema to the head revision, or with
``--check`` say where it stands (exit 0 at head, 1 behind, 2 on error) and what each
pending migration allows during a rolling upgrade (docs/upgrades.md)."""

from __future__ import annotations

from server.storage.migrate import upgrade
from server.storage.revisions import Standing, standing
from server.storage.store import create_engine

AT_HEAD, BEHIND = 0, 1


async def check(database_url: str) -> tuple[int, str]:
    engine = create_engine(database_url)
    try:
        return _describe(await standing(engine))
    finally:
        await engine.dispose()


def _describe(found: Standing) -> tuple[int, str]:
    current = "empty (no revision)" if found.current is None else f"at revision {found.current}"
    if found.at_head:
        return AT_HEAD, f"at head: the database is {current}; nothing to apply"
    count = len(found.pending)
    lines = [
        f"behind: the database is {current}, the head is {found.head}; "
        f"{count} migration{'s' if count != 1 else ''} to apply:"
    ]
    for migration in found.pending:
        lines.append(f"  {migration.revision}  {migration.title}")
        lines.append(f"        rolling upgrade: {migration.rolling_upgrade}: {migration.reason}")
    lines.append("Apply them with `roundtable migrate` (docs/upgrades.md).")
    return BEHIND, "\n".join(lines)


async def migrate(database_url: str) -> str:
    engine = create_engine(database_url)
    try:
        before = await standing(engine)
        await upgrade(engine)
        after = await standing(engine)
    finally:
        await engine.dispose()
    if before.at_head:
        return f"the database is at the head revision ({after.head}); nothing to apply"
    applied = ", ".join(m.revision for m in before.pending)
    return f"applied {applied}: the database is at revision {after.current}"
