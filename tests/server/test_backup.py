"""Instance backups as docs/backup.md describes them.

SQLite: ``roundtable backup`` copies the database while a server process stores the
edits two clients keep typing; the server is stopped, the copy put in place, and a
server started on it holds everything stored before the backup began, in a consistent
database. PostgreSQL: ``pg_dump -Fc`` of a database with a room in it, ``pg_restore``
into a new database, and the app started on that reads the room back.
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from rooms.roles import Role
from tests.server.test_cli import _run
from tests.support.cluster import Database, Launcher, connect, poll
from tests.support.harness import run_server
from tests.support.services import fresh_postgres_database, service_missing
from tests.support.settings import fast_settings
from tests.support.threads_client import join
from tests.support.timing import eventually, timeout
from tests.support.yclient import YClient, close_all


async def _keep_typing(client: YClient, name: str, typed: list[str], stop: asyncio.Event) -> None:
    """Type one numbered word after another until told to stop, at a typing pace."""
    number = 0
    while not stop.is_set():
        word = f"{name}{number} "
        client.text.insert(len(client.text), word)
        typed.append(word.strip())
        await client.edits_sent()
        number += 1
        await asyncio.sleep(0.02)


def _names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def _integrity(path: Path) -> list[str]:
    connection = sqlite3.connect(path)
    try:
        return [row[0] for row in connection.execute("PRAGMA integrity_check")]
    finally:
        connection.close()


async def test_a_sqlite_backup_taken_while_people_type_restores(
    launcher: Launcher, tmp_path: Path
) -> None:
    live = tmp_path / "live.db"
    url = f"sqlite+aiosqlite:///{live}"
    server = await launcher.start("live", database_url=url)
    database = Database(url)
    room = await database.create_room("Backed up")
    ann = await connect(server, room, "Ann")
    ben = await connect(server, room, "Ben")
    typed: dict[str, list[str]] = {"ann": [], "ben": []}
    stop = asyncio.Event()
    typists = [
        asyncio.create_task(_keep_typing(ann, "ann", typed["ann"], stop)),
        asyncio.create_task(_keep_typing(ben, "ben", typed["ben"], stop)),
    ]
    try:
        # Some of it stored before the backup starts; the typing goes on meanwhile.
        await eventually(lambda: len(typed["ann"]) >= 10 and len(typed["ben"]) >= 10, 20)
        mark = {name: list(words) for name, words in typed.items()}

        async def stored_all_marked() -> bool:
            text = await database.text(room)
            return all(w in text.split() for words in mark.values() for w in words)

        await poll(stored_all_marked, 20, "the words typed so far to be stored")
        counts_at_start = {name: len(words) for name, words in typed.items()}
        code, out, err = await _run(
            "backup", "--output", str(tmp_path / "backup.db"), "--database-url", url
        )
        assert code == 0, err
        assert "integrity check ok" in out
        assert "schema revision 0010" in out
        # The server kept storing while the copy was taken.
        assert all(len(typed[n]) > counts_at_start[n] for n in typed)
    finally:
        stop.set()
        await asyncio.gather(*typists)
        await close_all(ann, ben)
        await database.close()
    everything = {w for words in typed.values() for w in words}
    assert await server.stop() == 0
    # No temporary file left beside the copy.
    assert [n for n in await asyncio.to_thread(_names, tmp_path) if n.startswith(".")] == []

    # Restore: the copy in place of the database, without the old WAL beside it.
    for stale in (live, live.with_name("live.db-wal"), live.with_name("live.db-shm")):
        stale.unlink(missing_ok=True)
    shutil.copyfile(tmp_path / "backup.db", live)
    restored = await launcher.start("restored", database_url=url)
    database = Database(url)
    try:
        words = (await database.text(room)).split()
        # Everything stored before the backup began, and nothing that was never typed.
        assert {w for ws in mark.values() for w in ws} <= set(words)
        assert set(words) <= everything
        # Each person's words in the order they typed them, without a gap: a snapshot.
        for name, ws in typed.items():
            theirs = [w for w in words if w.startswith(name)]
            assert theirs == ws[: len(theirs)]
        reader = await connect(restored, room, "Reader", Role.OBSERVER)
        try:
            await reader.wait_until(lambda: str(reader.text).split() == words)
        finally:
            await close_all(reader)
    finally:
        await database.close()
    assert await restored.stop() == 0
    assert _integrity(live) == ["ok"]


async def test_backup_refusals_write_nothing(tmp_path: Path) -> None:
    code, out, err = await _run(
        "backup",
        "--output",
        str(tmp_path / "copy.db"),
        "--database-url",
        "postgresql+asyncpg://postgres@127.0.0.1:5432/test",
    )
    assert (code, out) == (2, "")
    assert "for PostgreSQL use pg_dump" in err
    code, _, err = await _run(
        "backup",
        "--output",
        str(tmp_path / "copy.db"),
        "--database-url",
        f"sqlite+aiosqlite:///{tmp_path / 'none.db'}",
    )
    assert code == 2
    assert "there is no database at" in err
    (tmp_path / "junk.db").write_bytes(b"not a database " * 1000)
    code, _, err = await _run(
        "backup",
        "--output",
        str(tmp_path / "copy.db"),
        "--database-url",
        f"sqlite+aiosqlite:///{tmp_path / 'junk.db'}",
    )
    assert code == 2
    assert "the backup failed, nothing was written" in err
    assert await asyncio.to_thread(_names, tmp_path) == ["junk.db"]


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        service_missing(f"{name} is not on PATH")
        raise AssertionError("unreachable")
    return found


async def _tool(*command: str) -> None:
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout(60))
    assert process.returncode == 0, (command, out.decode(), err.decode())


def _libpq(url: str) -> list[str]:
    """pg_dump's connection options for a test database's SQLAlchemy URL."""
    parts = urlsplit(url.replace("postgresql+asyncpg://", "postgresql://", 1))
    return [
        "-h",
        parts.hostname or "127.0.0.1",
        "-p",
        str(parts.port or 5432),
        "-U",
        parts.username or "postgres",
        "-d",
        parts.path.lstrip("/"),
    ]


@pytest.fixture
async def second_postgres() -> AsyncIterator[str]:
    async with fresh_postgres_database() as url:
        yield url


async def test_a_postgres_dump_restores_into_a_new_database(
    postgres_url: str, second_postgres: str, tmp_path: Path
) -> None:
    pg_dump, pg_restore = _pg_tool("pg_dump"), _pg_tool("pg_restore")
    async with run_server(fast_settings(postgres_url)) as running:
        room = await running.create_room("Dumped")
        fay = await join(running, room, Role.FACILITATOR, "Fay")
        await fay.ok("POST", "/documents", {"name": "notes", "template": "best-practices"}, 201)
        await fay.start("Kept in the dump")
        before = (
            await fay.ok("GET", "/threads"),
            (await fay.call("GET", "/documents/notes/export?format=markdown")).text,
        )
        await running.app_state.hub.flush_all()
        # The dump is taken while the server runs: pg_dump reads one snapshot.
        dump = tmp_path / "roundtable.dump"
        await _tool(pg_dump, "-Fc", "-f", str(dump), *_libpq(postgres_url))
    await _tool(pg_restore, "--no-owner", *_libpq(second_postgres), str(dump))
    async with run_server(fast_settings(second_postgres)) as restored:
        fay.http = restored.http
        after = (
            await fay.ok("GET", "/threads"),
            (await fay.call("GET", "/documents/notes/export?format=markdown")).text,
        )
    assert after == before
    assert "Kept in the dump" in str(after[0])
