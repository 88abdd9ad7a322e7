"""On SQLite a process's writers take turns in arrival order; PostgreSQL needs none."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from rooms.roles import Role
from server.storage.participants import SqlParticipantStore
from server.storage.sessions import WriterTurns, writer_turn, writer_turns
from server.storage.store import SqlStore
from tests.server.storage.conftest import opened_store
from tests.support.timing import eventually, timeout


@pytest.fixture
async def store(sqlite_url: str) -> AsyncIterator[SqlStore]:
    async with opened_store(sqlite_url) as sql_store:
        yield sql_store


async def test_writers_are_served_one_at_a_time_in_the_order_they_arrive() -> None:
    turns = WriterTurns()
    seen: list[str] = []

    async def write(i: int) -> None:
        async with turns.turn():
            seen.append(f"start {i}")
            for _ in range(3):
                await asyncio.sleep(0)  # others run meanwhile, and must wait
            seen.append(f"end {i}")

    tasks = []
    for i in range(10):
        tasks.append(asyncio.create_task(write(i)))
        await asyncio.sleep(0)  # each one arrives while the earlier ones hold or wait
    await asyncio.gather(*tasks)
    assert seen == [step for i in range(10) for step in (f"start {i}", f"end {i}")]
    assert turns.waiting == 0


async def test_a_join_waits_for_the_turn_another_writer_of_the_process_holds(
    store: SqlStore,
) -> None:
    turns = writer_turns(store.engine)
    assert turns is not None
    participants = SqlParticipantStore(store.engine)
    room = await store.create_room("held", "Held", {})
    async with turns.turn():
        joining = asyncio.create_task(participants.add_participant(room.id, "Ada", Role.MEMBER))
        await eventually(lambda: turns.waiting == 1, what="the join to wait for its turn")
        assert not joining.done()
    ada = await asyncio.wait_for(joining, timeout())
    assert await participants.get_participant(ada.id) == ada
    assert turns.waiting == 0


async def test_a_write_inside_a_write_of_the_same_task_does_not_wait_for_itself(
    store: SqlStore,
) -> None:
    async with asyncio.timeout(timeout()), writer_turn(store.engine):
        room = await store.create_room("nested", "Nested", {})
    assert await store.get_room("nested") == room


async def test_postgresql_writers_do_not_take_turns() -> None:
    engine = create_async_engine("postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    try:
        assert writer_turns(engine) is None
    finally:
        await engine.dispose()
