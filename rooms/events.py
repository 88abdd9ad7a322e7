"""Room events: numbered per room, stored, and delivered to every process in order.

Features (comments, the roster, facilitator actions) call :meth:`RoomEvents.publish`
and :meth:`RoomEvents.subscribe`, and nothing else. An event is stored first (which
gives it the room's next sequence number), then delivered to local subscribers and
published on the room's broker channel. Each process delivers a room's events to its
subscribers in sequence order: when a number is missing (still in flight, or lost
while the broker was down), later events wait ``gap_seconds`` and the gap is then
filled from storage. After the broker reconnects, every subscribed room catches up from
storage at once. :meth:`since` serves clients that reconnect and ask for what
they missed.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from crdt.protocol import ProtocolError
from rooms.live.broker import Broker
from rooms.live.envelope import EVERYONE, Envelope, Kind, decode
from rooms.ports import Store, StoreError
from rooms.records import RoomEvent

log = logging.getLogger("roundtable.events")

EventCallback = Callable[[RoomEvent], None]
Unsubscribe = Callable[[], Awaitable[None]]
T = TypeVar("T")

# Events after which what was read about the room's people and documents may be out of
# date (a removal, a new role or name, a lock, a new mentor).
_CHANGES_READS = ("participant.", "document.")


def room_channel(room_id: int) -> str:
    return f"room:{room_id}"


def _to_wire(event: RoomEvent) -> bytes:
    return json.dumps({"room_id": event.room_id, **event.to_json()}).encode()


def _from_wire(payload: bytes) -> RoomEvent:
    try:
        raw = json.loads(payload)
        return RoomEvent(
            int(raw["room_id"]),
            int(raw["seq"]),
            str(raw["type"]),
            dict(raw["data"]),
            datetime.fromisoformat(raw["at"]),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise ProtocolError(f"malformed room event: {exc}") from exc


@dataclass
class _RoomFeed:
    subscribers: list[EventCallback] = field(default_factory=list)
    # Highest sequence number delivered; None until the subscription read the latest.
    delivered: int | None = None
    waiting: dict[int, RoomEvent] = field(default_factory=dict)
    filling: asyncio.Task[None] | None = None
    # Reads about the room's people and documents (see RoomEvents.remembered), and a
    # number that changes whenever they are forgotten.
    memo: dict[Hashable, object] = field(default_factory=dict)
    generation: int = 0
    # The broker connection the memo was kept under (Broker.connection).
    connection: int | None = None

    def forget(self) -> None:
        self.memo.clear()
        self.generation += 1


class RoomEvents:
    def __init__(self, store: Store, broker: Broker, gap_seconds: float = 0.5) -> None:
        self._store = store
        self._broker = broker
        self._gap_seconds = gap_seconds
        self._feeds: dict[int, _RoomFeed] = {}
        broker.on_reconnect(self._catch_up)

    async def publish(self, room_id: int, type: str, data: dict[str, Any]) -> RoomEvent:
        """Store and deliver an event; returns it with its sequence number."""
        event = await self._store.append_event(room_id, type, data)
        envelope = Envelope(Kind.EVENT, self._broker.origin, EVERYONE, _to_wire(event))
        self._broker.publish(room_channel(room_id), envelope.encode())
        self._arrive(event)
        return event

    async def publish_or_log(self, room_id: int, type: str, data: dict[str, Any]) -> None:
        """Publish an event about a change that is already stored; a failure is logged.

        The change stands either way: clients see it on their next read.
        """
        try:
            await self.publish(room_id, type, data)
        except StoreError:
            log.exception("could not publish %s in room %d", type, room_id)

    async def since(self, room_id: int, after_seq: int, limit: int = 500) -> list[RoomEvent]:
        return await self._store.events_since(room_id, after_seq, limit)

    async def remembered(self, room_id: int, key: Hashable, read: Callable[[], Awaitable[T]]) -> T:
        """What ``read()`` returns, kept for the room while this process follows every
        one of its events in order, until one about its people or documents.

        A cohort joining at once reads each person's standing and their document once
        per process instead of once per connection. Every read goes to storage while
        nobody here subscribes to the room, while events are missing (a gap, the broker
        away), or when an event arrived during the read; None is never kept.
        """
        feed = self._feeds.get(room_id)
        if not self._following(feed):
            return await read()
        assert feed is not None
        if key in feed.memo:
            return feed.memo[key]  # type: ignore[return-value]
        generation = feed.generation
        value = await read()
        if (
            value is not None
            and self._feeds.get(room_id) is feed
            and feed.generation == generation
            and self._following(feed)
        ):
            feed.memo[key] = value
        return value

    def _following(self, feed: _RoomFeed | None) -> bool:
        if feed is None:
            return False
        connection = self._broker.connection
        if connection != feed.connection:
            # The broker was away since: other processes' events were lost meanwhile.
            feed.forget()
            feed.connection = connection
        return (
            connection is not None
            and feed.delivered is not None
            and not feed.waiting
            and feed.filling is None
        )

    async def subscribe(self, room_id: int, callback: EventCallback) -> Unsubscribe:
        """Call ``callback`` with each new event of the room, in sequence order."""
        feed = self._feeds.get(room_id)
        if feed is None:
            feed = self._feeds[room_id] = _RoomFeed()
            await self._broker.subscribe(
                room_channel(room_id), lambda message: self._receive(room_id, message)
            )
            # Subscribed first, then read the latest number: everything after it is
            # delivered, whichever way it arrives.
            latest = await self._store.last_event_seq(room_id)
            if feed.delivered is None or feed.delivered < latest:
                feed.delivered = latest
                for seq in [s for s in feed.waiting if s <= latest]:
                    del feed.waiting[seq]
                self._drain(feed)
        feed.subscribers.append(callback)

        async def unsubscribe() -> None:
            if callback in feed.subscribers:
                feed.subscribers.remove(callback)
            if not feed.subscribers and self._feeds.get(room_id) is feed:
                del self._feeds[room_id]
                if feed.filling is not None:
                    feed.filling.cancel()
                await self._broker.unsubscribe(room_channel(room_id))

        return unsubscribe

    async def _catch_up(self, batch: int = 500) -> None:
        """After the broker was away: deliver what other processes published meanwhile.

        Their messages were dropped, and a quiet room would otherwise wait for its next
        event to show the gap.
        """
        for room_id, feed in list(self._feeds.items()):
            # Events of other processes were lost meanwhile.
            feed.forget()
            while feed.delivered is not None and self._feeds.get(room_id) is feed:
                before = feed.delivered
                missed = await self._store.events_since(room_id, before, batch)
                for event in missed:
                    self._arrive(event)
                if len(missed) < batch or feed.delivered == before:
                    break

    def _receive(self, room_id: int, message: bytes) -> None:
        try:
            envelope = decode(message)
            if envelope.origin == self._broker.origin or envelope.kind is not Kind.EVENT:
                return
            event = _from_wire(envelope.payload)
        except ProtocolError as exc:
            log.warning("dropped a room event message: %s", exc)
            return
        if event.room_id == room_id:
            self._arrive(event)

    def _arrive(self, event: RoomEvent) -> None:
        feed = self._feeds.get(event.room_id)
        if feed is None:
            return
        if feed.delivered is not None and event.seq <= feed.delivered:
            return
        if event.type.startswith(_CHANGES_READS):
            # At once, not when it is delivered: a read in flight is not kept.
            feed.forget()
        feed.waiting[event.seq] = event
        if feed.delivered is None:
            return  # the subscription is still reading the latest number
        self._drain(feed)
        if feed.waiting and feed.filling is None:
            feed.filling = asyncio.get_running_loop().create_task(
                self._fill_gap(event.room_id, feed)
            )

    def _drain(self, feed: _RoomFeed) -> None:
        assert feed.delivered is not None
        while feed.delivered + 1 in feed.waiting:
            event = feed.waiting.pop(feed.delivered + 1)
            feed.delivered = event.seq
            for callback in list(feed.subscribers):
                try:
                    callback(event)
                except Exception:
                    log.exception("a room event subscriber failed")

    async def _fill_gap(self, room_id: int, feed: _RoomFeed) -> None:
        try:
            await asyncio.sleep(self._gap_seconds)
            while feed.waiting and feed.delivered is not None:
                missing = await self._store.events_since(
                    room_id, feed.delivered, min(feed.waiting) - feed.delivered - 1
                )
                if not missing:
                    # Storage has nothing older: skip ahead rather than stall forever.
                    feed.delivered = min(feed.waiting) - 1
                for event in missing:
                    feed.waiting.setdefault(event.seq, event)
                self._drain(feed)
        except Exception:
            log.exception("could not fill a gap in the events of room %d", room_id)
        finally:
            feed.filling = None
