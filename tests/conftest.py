"""Fixtures every test folder shares: databases, Redis, servers, the Node puppet."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.cluster import Database, Launcher, PostgresServer, RedisServer
from tests.support.harness import RunningServer, run_server
from tests.support.node_client import NodePuppet, require_node_puppet
from tests.support.services import fresh_postgres_database, reachable_redis
from tests.support.settings import fast_settings
from tests.support.smtp import smtp_server  # noqa: F401
from tests.support.timing import timeout


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'roundtable.db'}"


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    async with fresh_postgres_database() as url:
        yield url


@pytest.fixture
async def redis_url() -> str:
    return await reachable_redis()


@pytest.fixture
def prefix() -> str:
    """A Redis channel prefix of this test alone."""
    return "rt-test-" + uuid.uuid4().hex


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'roundtable.db'}"
        return
    async with fresh_postgres_database() as url:
        yield url


@pytest.fixture
async def server(sqlite_url: str) -> AsyncIterator[RunningServer]:
    async with run_server(fast_settings(sqlite_url)) as running:
        yield running


@pytest.fixture
async def redis_server(tmp_path: Path) -> AsyncIterator[RedisServer]:
    """A redis-server of this test alone (the test may kill and restart it)."""
    server = RedisServer(tmp_path)
    try:
        await server.start()
        yield server
    finally:
        await server.kill()


@pytest.fixture
async def database(postgres_url: str) -> AsyncIterator[Database]:
    db = Database(postgres_url)
    try:
        yield db
    finally:
        await db.close()


@pytest.fixture
async def launcher(tmp_path: Path) -> AsyncIterator[Launcher]:
    """Starts ``roundtable serve`` subprocesses; kills whatever still runs at the end."""
    started = Launcher(tmp_path)
    try:
        yield started
    finally:
        await started.kill_all()


@pytest.fixture
async def postgres_server() -> AsyncIterator[PostgresServer]:
    """A PostgreSQL server of this test alone (the test may crash and restart it)."""
    server = PostgresServer()
    try:
        await server.start()
        yield server
    finally:
        await server.remove()


@pytest.fixture
async def puppet() -> AsyncIterator[NodePuppet]:
    """One ``node puppet.mjs`` process hosting real yjs + y-websocket clients, closed
    (all clients destroyed) after the test.

    Function-scoped on purpose: the servers are per test and live in the test's event
    loop, and the puppet's pipes must belong to that same loop.
    """
    require_node_puppet()
    started = await NodePuppet.start(ready_timeout=timeout(15.0))
    try:
        yield started
    finally:
        await started.close()
