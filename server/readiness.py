"""Whether this process should be sent traffic: the checks behind ``GET /ready``.

Liveness (``/health``) only says the process serves; readiness asks what it needs to
serve well: the database answers, Redis answers (when the process uses it), the schema
is at this code's newest migration (neither behind it nor past it), and the process
is not draining for a shutdown (:mod:`server.shutdown`). Each check is bounded in
time, and the checks run together.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from server.shutdown import Shutdown
from server.storage.migrate import head_revision, known_revisions

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger("roundtable.readiness")

# Each check's limit: an orchestrator's probe is often given one or two seconds.
CHECK_SECONDS = 1.0

OK = "ok"


@dataclass
class Report:
    """Each check's outcome by name; ``failed`` names those that did not pass."""

    checks: dict[str, str] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return not self.failed

    def add(self, name: str, outcome: str, passed: bool) -> None:
        self.checks[name] = outcome
        if not passed:
            self.failed.append(name)


class Readiness:
    def __init__(self, engine: AsyncEngine, redis_url: str | None, shutdown: Shutdown) -> None:
        self._engine = engine
        self._shutdown = shutdown
        # Its own small connection pool: the broker's connection is busy with pub/sub.
        self._redis: Redis | None = None
        if redis_url:
            from redis.asyncio import Redis

            self._redis = Redis.from_url(
                redis_url, socket_connect_timeout=CHECK_SECONDS, socket_timeout=CHECK_SECONDS
            )
        self._head = head_revision()

    async def check(self) -> Report:
        report = Report()
        (database, migrations), redis = await asyncio.gather(self._database(), self._redis_state())
        report.add("database", database, database == OK)
        # Unknown while the database does not answer: that failure is named already.
        report.add(
            "migrations",
            migrations,
            migrations in (OK, "unknown") or migrations.startswith("ahead"),
        )
        if redis is not None:
            report.add("redis", redis, redis == OK)
        draining = self._shutdown.draining
        report.add("process", "draining" if draining else "serving", not draining)
        return report

    async def _database(self) -> tuple[str, str]:
        """The database's state, and the schema's."""
        try:
            async with asyncio.timeout(CHECK_SECONDS), self._engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception as exc:
            log.warning("readiness: database unreachable: %s", _brief(exc))
            return "unreachable", "unknown"
        try:
            async with asyncio.timeout(CHECK_SECONDS), self._engine.connect() as connection:
                revision = await connection.scalar(text("SELECT version_num FROM alembic_version"))
        except Exception as exc:
            log.warning("readiness: no schema version: %s", _brief(exc))
            return OK, "missing"
        if revision == self._head:
            return OK, OK
        if revision not in known_revisions():
            # Past it: a newer release migrated during a rolling upgrade. Its migrations
            # say whether processes like this one may keep serving (docs/upgrades.md);
            # this one cannot read them, and is not the one to decide.
            return OK, f"ahead: at {revision}, newer than this code's {self._head}"
        # Behind: not migrated yet.
        return OK, f"at {revision}, this code expects {self._head}"

    async def _redis_state(self) -> str | None:
        if self._redis is None:
            return None
        try:
            async with asyncio.timeout(CHECK_SECONDS):
                await self._redis.ping()
        except Exception as exc:
            log.warning("readiness: Redis unreachable: %s", _brief(exc))
            return "unreachable"
        return OK

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()


def _brief(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"[:200]
