"""``roundtable migrate`` and ``roundtable migrate --check``: a database one migration
behind is reported with that migration and what it allows during a rolling upgrade
(exit 1), one at head exits 0, one migrated by a newer release exits 2; and every
migration says whether old processes may keep running beside it, as the upgrade guide
lists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy
from alembic import command

from server.room_transfer import TransferRefused, export_room
from server.storage.migrate import alembic_config
from server.storage.revisions import ROLLING_UPGRADE, migrations
from tests.server.test_cli import _run

ROOT = Path(__file__).resolve().parents[2]


def test_every_migration_says_whether_old_processes_may_run_beside_it() -> None:
    found = migrations()
    assert [m.revision for m in found][:2] == ["0001", "0002"]
    assert len(found) >= 10
    for migration in found:
        assert migration.rolling_upgrade in ROLLING_UPGRADE, migration.revision
        assert len(migration.reason) > 20, migration.revision
    # The guide's table holds the same statement for each.
    guide = (ROOT / "docs" / "upgrades.md").read_text()
    rows = dict(re.findall(r"^\| (\d{4}) \| [^|]+ \| ([^|]+?) \|", guide, re.MULTILINE))
    assert rows == {m.revision: m.rolling_upgrade for m in found}


def _sync_url(path: Path) -> str:
    return f"sqlite:///{path}"


def _downgrade_one(path: Path) -> None:
    engine = sqlalchemy.create_engine(_sync_url(path))
    try:
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), "-1")
    finally:
        engine.dispose()


def _set_revision(path: Path, revision: str) -> None:
    engine = sqlalchemy.create_engine(_sync_url(path))
    try:
        with engine.begin() as connection:
            connection.execute(
                sqlalchemy.text("UPDATE alembic_version SET version_num = :r"), {"r": revision}
            )
    finally:
        engine.dispose()


async def test_check_reports_behind_and_at_head(tmp_path: Path) -> None:
    path = tmp_path / "roundtable.db"
    url = f"sqlite+aiosqlite:///{path}"
    every = migrations()
    head, previous = every[-1], every[-2]

    code, out, err = await _run("migrate", "--check", "--database-url", url)
    assert code == 1, err
    assert out.startswith(
        f"behind: the database is empty (no revision), the head is {head.revision}"
    )

    code, out, err = await _run("migrate", "--database-url", url)
    assert code == 0, err
    assert out.strip() == (
        f"applied {', '.join(m.revision for m in every)}: "
        f"the database is at revision {head.revision}"
    )
    code, out, _ = await _run("migrate", "--check", "--database-url", url)
    assert (code, out.strip()) == (
        0,
        f"at head: the database is at revision {head.revision}; nothing to apply",
    )

    _downgrade_one(path)
    code, out, _ = await _run("migrate", "--check", "--database-url", url)
    assert code == 1
    assert out.splitlines() == [
        f"behind: the database is at revision {previous.revision}, the head is "
        f"{head.revision}; 1 migration to apply:",
        f"  {head.revision}  {head.title}",
        f"        rolling upgrade: {head.rolling_upgrade}: {head.reason}",
        "Apply them with `roundtable migrate` (docs/upgrades.md).",
    ]

    # A room export reads by this code's schema, and changes none.
    with pytest.raises(TransferRefused, match="run `roundtable migrate` first"):
        await export_room(url, "any-room", tmp_path / "room.zip")

    code, out, _ = await _run("migrate", "--database-url", url)
    assert (code, out.strip()) == (
        0,
        f"applied {head.revision}: the database is at revision {head.revision}",
    )
    code, _, _ = await _run("migrate", "--check", "--database-url", url)
    assert code == 0

    # A database a newer release migrated: neither behind nor at head.
    _set_revision(path, "9999")
    code, out, err = await _run("migrate", "--check", "--database-url", url)
    assert (code, out) == (2, "")
    assert "at revision 9999, which this Roundtable does not know" in err
