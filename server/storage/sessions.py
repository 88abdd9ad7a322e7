"""Database sessions: reads start at once; on SQLite a process's writers take turns.

SQLite lets one transaction write at a time. The others poll for its lock, backing off
up to 100 ms between tries, so under a burst (a cohort of 200 joining in the same
minute) a writer can lose round after round to newcomers and wait seconds while later
ones pass. Queueing each process's writers on one first-come, first-served lock makes
a writer wait only for those ahead of it. Between processes SQLite's lock still decides;
PostgreSQL writes concurrently and needs no turns.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator

from sqlalchemy import Engine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker


class WriterTurns:
    """One process's writers to one SQLite database, served in arrival order."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._holder: asyncio.Task[object] | None = None
        self._waiting = 0

    @property
    def waiting(self) -> int:
        """Writers waiting for their turn now."""
        return self._waiting

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        task = asyncio.current_task()
        if task is not None and task is self._holder:
            # A write inside a write of the same task already holds the turn; waiting
            # for it would wait forever.
            yield
            return
        self._waiting += 1
        try:
            await self._lock.acquire()
        finally:
            self._waiting -= 1
        try:
            self._holder = task
            yield
        finally:
            self._holder = None
            self._lock.release()


_turns: weakref.WeakKeyDictionary[Engine, WriterTurns] = weakref.WeakKeyDictionary()


def writer_turns(engine: AsyncEngine) -> WriterTurns | None:
    """The turns of ``engine``'s writers in this process; ``None`` when it is not SQLite."""
    if engine.dialect.name != "sqlite":
        return None
    turns = _turns.get(engine.sync_engine)
    if turns is None:
        turns = _turns[engine.sync_engine] = WriterTurns()
    return turns


@contextlib.asynccontextmanager
async def writer_turn(engine: AsyncEngine) -> AsyncIterator[None]:
    """Wait for this writer's turn on ``engine`` (at once but on SQLite) and hold it."""
    turns = writer_turns(engine)
    if turns is None:
        yield
        return
    async with turns.turn():
        yield


class Sessions:
    """Sessions of one engine: ``sessions()`` to read, ``sessions.begin()`` to write."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._make = async_sessionmaker(engine, expire_on_commit=False)

    def __call__(self) -> AsyncSession:
        return self._make()

    @contextlib.asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncSession]:
        """A transaction, in this writer's turn, committed when the block ends."""
        async with writer_turn(self._engine), self._make.begin() as session:
            yield session
