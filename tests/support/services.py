"""Access to the real services tests need, and the rule for when one is missing.

A test that needs PostgreSQL, Redis or the npm packages skips with a clear reason
when the service is unreachable; with ROUNDTABLE_REQUIRE_SERVICES=1 (as CI sets) it
fails instead, so a missing service can never pass silently.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

REQUIRE_SERVICES = os.environ.get("ROUNDTABLE_REQUIRE_SERVICES") == "1"
REDIS_URL = os.environ.get("ROUNDTABLE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
POSTGRES_DSN = os.environ.get(
    "ROUNDTABLE_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/test"
)


def service_missing(reason: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (ROUNDTABLE_REQUIRE_SERVICES=1: a missing service is a failure)")
    pytest.skip(reason)


@asynccontextmanager
async def fresh_postgres_database() -> AsyncIterator[str]:
    """A new, empty PostgreSQL database for one test; yields its SQLAlchemy URL."""
    try:
        admin = await asyncpg.connect(POSTGRES_DSN, timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        service_missing(f"PostgreSQL is not reachable at {POSTGRES_DSN}: {exc}")
        raise AssertionError("unreachable") from exc
    name = f"roundtable_test_{uuid.uuid4().hex[:12]}"
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        base = POSTGRES_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
        yield f"{base}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def reachable_redis() -> str:
    """The test Redis URL, after checking that it answers (else skip, or fail in CI)."""
    client = Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        service_missing(f"Redis is not reachable at {REDIS_URL}: {exc}")
    finally:
        await client.aclose()
    return REDIS_URL
