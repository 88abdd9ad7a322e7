"""Room events across processes: numbered, stored, delivered in order, gaps filled."""

from __future__ import annotations

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
