"""Room events across processes: numbered, stored, delivered in order, gaps filled."""

from __future__ import annotations

import asyncio

from rooms.events import RoomEvents
from rooms.live.broker import MemoryBus
from rooms.memory import MemoryStore
from rooms.records import RoomEvent
from tests.support.timing import eventually


async def _room(store: MemoryStore) -> int:
    room = await store.create_room("room", "Room", {})
    return room.id


async def test_events_reach_subscribers_of_every_process_in_order() -> None:
    bus, store = MemoryBus(), MemoryStore()
    room = await _room(store)
    a, b = RoomEvents(store, bus.broker()), RoomEvents(store, bus.broker())
    seen_a: list[RoomEvent] = []
    seen_b: list[RoomEvent] = []
    await a.subscribe(room, seen_a.append)
    await b.subscribe(room, seen_b.append)
    first = await a.publish(room, "comment.created", {"id": 1})
    second = await b.publish(room, "comment.created", {"id": 2})
    assert (first.seq, second.seq) == (1, 2)
    await eventually(lambda: len(seen_a) == len(seen_b) == 2)
    assert [e.seq for e in seen_a] == [e.seq for e in seen_b] == [1, 2]
    assert [e.data["id"] for e in seen_b] == [1, 2]


async def test_a_gap_is_filled_from_storage() -> None:
    bus, store = MemoryBus(), MemoryStore()
    room = await _room(store)
    broker_a = bus.broker()
    a, b = RoomEvents(store, broker_a), RoomEvents(store, bus.broker(), gap_seconds=0.01)
    seen: list[int] = []
    await b.subscribe(room, lambda event: seen.append(event.seq))
    await a.publish(room, "x", {})
    await eventually(lambda: seen == [1])
    broker_a.connected = False  # event 2 never crosses the broker
    await a.publish(room, "x", {})
    broker_a.connected = True
    await a.publish(room, "x", {})
    await eventually(lambda: seen == [1, 2, 3], what="event 2 to be read from storage")


async def test_reconnecting_clients_read_what_they_missed() -> None:
    store = MemoryStore()
    room = await _room(store)
    events = RoomEvents(store, MemoryBus().broker())
    for i in range(5):
        await events.publish(room, "x", {"i": i})
    missed = await events.since(room, 2)
    assert [e.seq for e in missed] == [3, 4, 5]
    assert [e.data["i"] for e in missed] == [2, 3, 4]
    assert [e.seq for e in await events.since(room, 0, limit=2)] == [1, 2]


async def test_unsubscribed_callbacks_hear_nothing_more() -> None:
    bus, store = MemoryBus(), MemoryStore()
    room = await _room(store)
    a, b = RoomEvents(store, bus.broker()), RoomEvents(store, bus.broker())
    seen: list[int] = []
    unsubscribe = await b.subscribe(room, lambda event: seen.append(event.seq))
    await a.publish(room, "x", {})
    await eventually(lambda: seen == [1])
    await unsubscribe()
    await a.publish(room, "x", {})
    probe: list[int] = []
    await b.subscribe(room, lambda event: probe.append(event.seq))
    await a.publish(room, "x", {})
    await eventually(lambda: probe == [3])
    assert seen == [1]


class Reads:
    """A read that counts its calls, and can be held open until released."""

    def __init__(self, value: str | None = "standing") -> None:
        self.calls = 0
        self.value = value
        self.release: asyncio.Event | None = None

    async def __call__(self) -> str | None:
        self.calls += 1
        if self.release is not None:
            await self.release.wait()
        return self.value


async def test_reads_are_remembered_while_the_room_is_followed_until_an_event_changes_them() -> (
    None
):
    bus, store = MemoryBus(), MemoryStore()
    room = await _room(store)
    a, b = RoomEvents(store, bus.broker()), RoomEvents(store, bus.broker())
    read = Reads()
    # Nobody here follows the room: every read goes to storage.
    assert await b.remembered(room, "key", read) == "standing"
    assert await b.remembered(room, "key", read) == "standing"
    assert read.calls == 2
    seen: list[int] = []
    unsubscribe = await b.subscribe(room, lambda event: seen.append(event.seq))
    for _ in range(3):
        assert await b.remembered(room, "key", read) == "standing"
    assert read.calls == 3
    # Events about other things keep it; one about people (from another process too)
    # forgets it.
    await a.publish(room, "comment.created", {})
    await eventually(lambda: seen == [1])
    await b.remembered(room, "key", read)
    assert read.calls == 3
    await a.publish(room, "participant.removed", {"participant_id": "p"})
    await eventually(lambda: seen == [1, 2])
    await b.remembered(room, "key", read)
    assert read.calls == 4
    await b.publish(room, "document.locked", {"document_id": 1, "locked": True})
    await b.remembered(room, "key", read)
    assert read.calls == 5
    # None (not found, removed) is never kept.
    nothing = Reads(None)
    await b.remembered(room, "other", nothing)
    await b.remembered(room, "other", nothing)
    assert nothing.calls == 2
    # Once nobody follows the room, the memo is gone with the feed.
    await unsubscribe()
    await b.remembered(room, "key", read)
    assert read.calls == 6


async def test_a_read_during_which_an_event_arrived_is_not_kept() -> None:
    bus, store = MemoryBus(), MemoryStore()
    room = await _room(store)
    a, b = RoomEvents(store, bus.broker()), RoomEvents(store, bus.broker())
    await b.subscribe(room, lambda event: None)
    read = Reads()
    read.release = asyncio.Event()
    pending = asyncio.create_task(b.remembered(room, "key", read))
    await eventually(lambda: read.calls == 1)
    await a.publish(room, "participant.role", {"participant_id": "p", "role": "observer"})
    read.release.set()
    assert await pending == "standing"
    read.release = None
    await b.remembered(room, "key", read)
    assert read.calls == 2


async def test_nothing_is_remembered_while_events_may_be_missing() -> None:
    bus, store = MemoryBus(), MemoryStore()
    room = await _room(store)
    broker_b = bus.broker()
    a, b = RoomEvents(store, bus.broker()), RoomEvents(store, broker_b, gap_seconds=60)
    await b.subscribe(room, lambda event: None)
    read = Reads()
    await b.remembered(room, "key", read)
    # The broker away: another process's events would be lost.
    broker_b.connected = False
    await b.remembered(room, "key", read)
    await b.remembered(room, "key", read)
    assert read.calls == 3
    broker_b.connected = True
    await b.remembered(room, "key", read)
    await b.remembered(room, "key", read)
    assert read.calls == 4
    # A gap: event 2 is missing, 3 waits for it.
    sender = bus.broker()
    c = RoomEvents(store, sender)
    await c.publish(room, "comment.created", {})
    sender.connected = False
    await c.publish(room, "comment.created", {})
    sender.connected = True
    await c.publish(room, "comment.created", {})
    await eventually(lambda: bool(b._feeds[room].waiting), what="event 3 to wait for event 2")
    await b.remembered(room, "key", read)
    await b.remembered(room, "key", read)
    assert read.calls == 6
    assert a is not None
