"""Room event numbering in SQL: gapless and unique under concurrent appends."""

from __future__ import annotations

import asyncio

import pytest

from rooms.ports import StoreError
from server.storage.migrate import upgrade
from server.storage.store import SqlStore, create_engine


async def test_concurrent_appends_from_two_processes_get_consecutive_numbers(
    database_url: str,
) -> None:
    first, second = create_engine(database_url), create_engine(database_url)
    await upgrade(first)
    a, b = SqlStore(first), SqlStore(second)
    try:
        room = await a.create_room("room", "Room", {})
        other = await a.create_room("other", "Other", {})
        appends = [(a if i % 2 else b).append_event(room.id, "x", {"i": i}) for i in range(20)]
        events = await asyncio.gather(*appends)
        assert sorted(e.seq for e in events) == list(range(1, 21))
        assert (await b.append_event(other.id, "y", {})).seq == 1
        stored = await a.events_since(room.id, 0, 100)
        assert [e.seq for e in stored] == list(range(1, 21))
        assert {e.data["i"] for e in stored} == set(range(20))
        assert [e.seq for e in await a.events_since(room.id, 18, 100)] == [19, 20]
        assert stored[0].created_at.tzinfo is not None
        assert await a.last_event_seq(room.id) == 20
        assert await b.last_event_seq(other.id) == 1
    finally:
        await a.close()
        await b.close()


async def test_event_for_an_unknown_room_is_refused(database_url: str) -> None:
    engine = create_engine(database_url)
    await upgrade(engine)
    store = SqlStore(engine)
    try:
        with pytest.raises(StoreError):
            await store.append_event(999, "x", {})
        assert await store.events_since(999, 0, 10) == []
    finally:
        await store.close()
