"""``/health`` (liveness) and ``/ready`` (readiness): what each answers when the database,
Redis or the schema is not as it should be.

Liveness stays 200 through every one of those: an orchestrator restarts a process whose
liveness fails, and restarting cannot bring a database back. Readiness turns 503 and
names the check that failed, and turns 200 again once it passes.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
from alembic import command
from sqlalchemy import Connection, text

from server.storage.migrate import alembic_config, head_revision
from server.storage.store import create_engine
from tests.support.cluster import RedisServer
from tests.support.harness import RunningServer, run_server
from tests.support.services import POSTGRES_DSN
from tests.support.settings import fast_settings


async def probe(server: RunningServer, path: str) -> tuple[int, dict[str, Any]]:
    async with httpx.AsyncClient(base_url=server.http) as http:
        response = await http.get(path)
    body: dict[str, Any] = response.json()
    return response.status_code, body


async def test_ready_and_alive_when_everything_answers(server: RunningServer) -> None:
    status, body = await probe(server, "/ready")
    assert status == 200, body
    assert body == {
        "status": "ready",
        "checks": {"database": "ok", "migrations": "ok", "process": "serving"},
    }
    status, body = await probe(server, "/health")
    assert (status, body["status"]) == (200, "ok")


async def test_not_ready_while_the_database_is_gone(postgres_url: str) -> None:
    async with run_server(fast_settings(postgres_url)) as server:
        assert (await probe(server, "/ready"))[0] == 200
        admin = await asyncpg.connect(POSTGRES_DSN)
        try:
            name = postgres_url.rsplit("/", 1)[1]
            await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            status, body = await probe(server, "/ready")
            assert status == 503, body
            assert body["status"] == "not ready"
            assert body["failed"] == ["database"]
            assert body["checks"]["database"] == "unreachable"
            assert (await probe(server, "/health"))[0] == 200
        finally:
            # Back (empty) for the server's own shutdown and the fixture's clean-up.
            await admin.execute(f'CREATE DATABASE "{name}"')
            await admin.close()


def _downgrade(connection: Connection) -> None:
    command.downgrade(alembic_config(connection), "-1")


def _upgrade(connection: Connection) -> None:
    command.upgrade(alembic_config(connection), "head")


async def test_not_ready_while_the_schema_is_behind(sqlite_url: str) -> None:
    async with run_server(fast_settings(sqlite_url)) as server:
        engine = create_engine(sqlite_url)
        try:
            async with engine.begin() as connection:
                await connection.run_sync(_downgrade)
            status, body = await probe(server, "/ready")
            assert status == 503, body
            assert body["failed"] == ["migrations"]
            assert body["checks"]["migrations"].startswith("at ")
            assert body["checks"]["migrations"].endswith(f"this code expects {head_revision()}")
            assert (await probe(server, "/health"))[0] == 200
            async with engine.begin() as connection:
                await connection.run_sync(_upgrade)
            assert (await probe(server, "/ready"))[0] == 200
        finally:
            await engine.dispose()


async def test_still_ready_when_a_newer_release_migrated(sqlite_url: str) -> None:
    """A rolling upgrade: a newer release's process applied a migration this code does
    not know. This process keeps serving (its migrations say whether it may)."""
    async with run_server(fast_settings(sqlite_url)) as server:
        engine = create_engine(sqlite_url)
        try:
            async with engine.begin() as connection:
                await connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
            status, body = await probe(server, "/ready")
            assert status == 200, body
            assert (
                body["checks"]["migrations"]
                == f"ahead: at 9999, newer than this code's {head_revision()}"
            )
        finally:
            async with engine.begin() as connection:
                await connection.execute(
                    text("UPDATE alembic_version SET version_num = :head"),
                    {"head": head_revision()},
                )
            await engine.dispose()


async def test_not_ready_while_redis_is_down(
    sqlite_url: str, redis_server: RedisServer, prefix: str
) -> None:
    settings = fast_settings(sqlite_url, redis_url=redis_server.url, redis_prefix=prefix)
    async with run_server(settings) as server:
        status, body = await probe(server, "/ready")
        assert status == 200, body
        assert body["checks"]["redis"] == "ok"
        await redis_server.kill()
        status, body = await probe(server, "/ready")
        assert status == 503, body
        assert body["failed"] == ["redis"]
        assert body["checks"]["redis"] == "unreachable"
        assert (await probe(server, "/health"))[0] == 200
        await redis_server.start()
        status, body = await probe(server, "/ready")
        assert status == 200, body
