"""The token signing key (``ROUNDTABLE_SECRET_KEY``, at least 32 characters).

Unset, it is "generated once, kept in the database": the first process on a database
stores a random key, every other process on that database (at the same time or after a
restart) signs and verifies with the same one, so a token issued by one is taken by all.
Another database gets a key of its own. Set, the variable wins: tokens are signed with
it, the stored key is neither used nor replaced, and a shorter key stops the server.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import jwt
import pytest
from sqlalchemy import select

from rooms.directory import CreatedRoom
from rooms.roles import Role
from server.config import Settings
from server.storage.store import create_engine
from server.storage.tables import SettingRow
from tests.support.cluster import ROOT, Database, Launcher, free_port, join_over_http
from tests.support.harness import run_server
from tests.support.services import fresh_postgres_database
from tests.support.settings import fast_settings
from tests.support.timing import timeout
from tests.support.yclient import open_synced

ENV_KEY = "key-from-the-environment-0123456789abcdef"
# An empty variable counts as unset (Settings.from_env).
NO_KEY = {"ROUNDTABLE_SECRET_KEY": ""}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def shared_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database, SQLite or PostgreSQL, for the servers of one test to share."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'roundtable.db'}"
        return
    async with fresh_postgres_database() as url:
        yield url


def keyless(database_url: str) -> Settings:
    return fast_settings(database_url, secret_key=None)


async def stored_key(database_url: str) -> str | None:
    """The signing key the database keeps, if any."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            value: str | None = await connection.scalar(
                select(SettingRow.value).where(SettingRow.key == "secret_key")
            )
            return value
    finally:
        await engine.dispose()


def signed_with(token: str, key: str) -> bool:
    try:
        jwt.decode(token, key, algorithms=["HS256"], issuer="roundtable")
    except jwt.InvalidTokenError:
        return False
    return True


async def room_status(base: str, room: CreatedRoom, token: str) -> int:
    """The status of ``GET /api/rooms/{room}`` with ``token`` as the Bearer token."""
    async with httpx.AsyncClient(base_url=base) as client:
        response = await client.get(
            f"/api/rooms/{room.room.slug}", headers={"authorization": f"Bearer {token}"}
        )
    return response.status_code


async def test_processes_without_a_key_share_the_one_generated_in_the_database(
    shared_url: str, launcher: Launcher
) -> None:
    # Both start at once: whichever stores a key first, the other must take that one.
    first, second = [
        await launcher.start(name, database_url=shared_url, env=NO_KEY, wait=False)
        for name in ("first", "second")
    ]
    await asyncio.gather(first.wait_healthy(), second.wait_healthy())
    key = await stored_key(shared_url)
    assert key is not None and len(key) >= 32, key

    database = Database(shared_url)
    try:
        room = await database.create_room()
    finally:
        await database.close()
    tokens = {
        served.name: await join_over_http(served.http, room, Role.MEMBER, served.name)
        for served in (first, second)
    }
    for token in tokens.values():
        assert signed_with(token, key)
        for served in (first, second):
            assert await room_status(served.http, room, token) == 200, served.name
    synced = await open_synced(f"{second.sync_url(room.room.slug)}/guide", tokens["first"])
    await synced.close()

    for served in (first, second):
        assert await served.stop() in (0, -signal.SIGTERM), served.log()[-4000:]
    async with run_server(keyless(shared_url)) as restarted:
        for token in tokens.values():
            assert await room_status(restarted.http, room, token) == 200
    assert await stored_key(shared_url) == key


async def test_each_database_generates_a_key_of_its_own(tmp_path: Path) -> None:
    urls = [f"sqlite+aiosqlite:///{tmp_path / name}.db" for name in ("a", "b")]
    async with run_server(keyless(urls[0])) as one, run_server(keyless(urls[1])) as other:
        room = await one.create_room()
        token = await one.join(room, Role.MEMBER)
        assert await room_status(one.http, room, token) == 200
        # The same room slug on the other server: only the key can tell them apart.
        twin = await other.app_state.store.create_room(room.room.slug, room.room.title, {})
        assert twin.slug == room.room.slug
        assert await room_status(other.http, room, token) == 401
    keys = [await stored_key(url) for url in urls]
    assert None not in keys and keys[0] != keys[1]


async def test_the_environment_key_wins_and_leaves_the_stored_one_alone(shared_url: str) -> None:
    async with run_server(keyless(shared_url)) as server:
        room = await server.create_room()
        generated_token = await server.join(room, Role.MEMBER, "Ann")
    generated = await stored_key(shared_url)
    assert generated is not None and signed_with(generated_token, generated)

    settings = Settings.from_env(
        {"ROUNDTABLE_SECRET_KEY": ENV_KEY}, database_url=shared_url, flush_interval=0.05
    )
    assert settings.secret_key == ENV_KEY
    async with run_server(settings) as server:
        assert await room_status(server.http, room, generated_token) == 401
        env_token = await server.join(room, Role.MEMBER, "Bea")
        assert signed_with(env_token, ENV_KEY)
        assert not signed_with(env_token, generated)
        assert await room_status(server.http, room, env_token) == 200
    assert await stored_key(shared_url) == generated

    async with run_server(keyless(shared_url)) as server:
        assert await room_status(server.http, room, generated_token) == 200
        assert await room_status(server.http, room, env_token) == 401


async def test_a_key_shorter_than_32_characters_stops_the_server(tmp_path: Path) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ROUNDTABLE_")}
    environ["ROUNDTABLE_SECRET_KEY"] = "x" * 31
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server.cli",
        "serve",
        "--port",
        str(free_port()),
        "--database-url",
        f"sqlite+aiosqlite:///{tmp_path / 'rt.db'}",
        cwd=ROOT,
        env=environ,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), timeout(20))
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode != 0
    assert "the signing secret must be at least 32 characters" in output.decode()
