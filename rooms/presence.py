"""The room roster: who is here now, in which document, active, idle or away.

Each connection to a room's event socket is one entry. A process keeps its own
connections' entries and shares them with the other processes on the room's presence
channel: the whole local list whenever it changes, and again every
``heartbeat_seconds``. A process that stops renewing (it died) is dropped from the
roster ``timeout_seconds`` after its last message; one that leaves cleanly sends an
empty list. The roster merges a participant's connections into one row.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from crdt.protocol import ProtocolError
from rooms.comment_views import Viewer
from rooms.live.broker import Broker
from rooms.live.envelope import EVERYONE, Envelope, Kind, decode
from rooms.roles import Role

log = logging.getLogger("roundtable.presence")

STATES = ("active", "idle", "away")
# Readable on white and on dark backgrounds, and distinct from each other.
COLOURS = (
    "#d62728",
    "#1f77b4",
    "#2ca02c",
    "#9467bd",
    "#e377c2",
    "#8c564b",
    "#ff7f0e",
    "#17becf",
    "#7f7f7f",
    "#bcbd22",
    "#393b79",
    "#637939",
)

RosterCallback = Callable[[list[dict[str, Any]]], None]
Unsubscribe = Callable[[], Awaitable[None]]


def colour_of(participant_id: str) -> str:
    """The colour hashed from a participant's id: theirs when none was stored."""
    digest = hashlib.sha256(participant_id.encode()).digest()
    return COLOURS[digest[0] % len(COLOURS)]


def colour_for(participant_id: str, index: int | None) -> str:
    """A participant's colour: the stored palette index (``Participant.colour``), or the
    hashed colour when there is none (or it lies outside the palette)."""
    if index is not None and 0 <= index < len(COLOURS):
        return COLOURS[index]
    return colour_of(participant_id)


def least_used_colour(used: Iterable[int | None]) -> int:
    """The palette index for someone joining a room whose people hold ``used``: the one
    used least, the lowest among equals. A room's first 12 people get 12 colours."""
    counts = Counter(i for i in used if i is not None)
    return min(range(len(COLOURS)), key=lambda i: (counts[i], i))


def presence_channel(room_id: int) -> str:
    return f"presence:{room_id}"


@dataclass(frozen=True, slots=True)
class Presence:
    participant_id: str
    name: str
    role: str
    document: str | None = None
    state: str = "active"
    following: str | None = None
    spotlight_opt_out: bool = False
    # time.time() of the last change: among equally lively connections, the latest wins.
    changed_at: float = 0.0
    # time.time() when the connection entered the room (0: not known).
    since: float = 0.0
    # The participant's colour (see colour_for); "": not known (a message from a process
    # of an older version), and the roster shows the hashed one.
    colour: str = ""


# Presence messages from processes running another version may carry other fields.
_PRESENCE_FIELDS = frozenset(Presence.__dataclass_fields__)


@dataclass
class _Room:
    local: dict[str, Presence] = field(default_factory=dict)
    # origin (hex) -> (entries, monotonic expiry)
    remote: dict[str, tuple[list[Presence], float]] = field(default_factory=dict)
    watchers: list[RosterCallback] = field(default_factory=list)
    subscribed: bool = False
    notify_pending: bool = False
    publish_pending: bool = False


def merge(entries: list[Presence]) -> list[dict[str, Any]]:
    """One row per participant, from their liveliest connection (the latest changed
    among equals): where a participant is active counts, not a tab gone idle."""
    rank = {state: i for i, state in enumerate(STATES)}
    people: dict[str, list[Presence]] = {}
    for entry in entries:
        people.setdefault(entry.participant_id, []).append(entry)
    rows = []
    for participant_id, mine in people.items():
        latest = max(mine, key=lambda e: e.changed_at)
        liveliest = min(mine, key=lambda e: (rank.get(e.state, 9), -e.changed_at))
        rows.append(
            {
                "id": participant_id,
                "name": latest.name,
                "role": latest.role,
                "colour": next((e.colour for e in mine if e.colour), colour_of(participant_id)),
                "document": liveliest.document,
                "state": liveliest.state,
                "following": latest.following,
                "spotlight_opt_out": latest.spotlight_opt_out,
                "connections": len(mine),
                # Here since the earliest of their connections open now.
                "since": min((e.since for e in mine if e.since), default=None),
            }
        )
    rows.sort(key=lambda r: (str(r["name"]).casefold(), str(r["id"])))
    return rows


def roster_for(
    viewer: Viewer, rows: list[dict[str, Any]], documents: set[str]
) -> list[dict[str, Any]]:
    """The roster as ``viewer`` may see it: whole for whoever sees the room; for a mentor
    from outside the cohort, themselves, the facilitators, and who is on the documents
    they mentor (``documents``)."""
    if viewer.role.sees_room:
        return rows
    return [
        # Where a facilitator is, unless it is on a document the mentor sees, stays theirs.
        row if row["document"] in documents else {**row, "document": None}
        for row in rows
        if row["id"] == viewer.id
        or row["role"] == Role.FACILITATOR.value
        or row["document"] in documents
    ]


class Roster:
    def __init__(
        self,
        broker: Broker,
        *,
        heartbeat_seconds: float = 10.0,
        timeout_seconds: float = 30.0,
    ) -> None:
        self._broker = broker
        self._origin = broker.origin.hex()
        self._heartbeat = heartbeat_seconds
        self._timeout = timeout_seconds
        self._rooms: dict[int, _Room] = {}
        self._task: asyncio.Task[None] | None = None

    # Local connections

    async def enter(self, room_id: int, connection: str, presence: Presence) -> bool:
        """Add a connection; returns whether it is the participant's first one here."""
        room = await self._room(room_id)
        first = all(p.participant_id != presence.participant_id for p in room.local.values())
        room.local[connection] = replace(presence, changed_at=time.time())
        self._changed(room_id, room, publish=True)
        return first

    def update(self, room_id: int, connection: str, **changes: Any) -> None:
        room = self._rooms.get(room_id)
        if room is None or connection not in room.local:
            return
        current = room.local[connection]
        updated = replace(current, **changes)
        if updated != current:
            room.local[connection] = replace(updated, changed_at=time.time())
            self._changed(room_id, room, publish=True)

    async def leave(self, room_id: int, connection: str) -> bool:
        """Remove a connection; returns whether it was the participant's last one here."""
        room = self._rooms.get(room_id)
        if room is None or connection not in room.local:
            return False
        gone = room.local.pop(connection)
        last = all(p.participant_id != gone.participant_id for p in room.local.values())
        self._changed(room_id, room, publish=True)
        await self._maybe_drop(room_id, room)
        return last

    def local_connections(self, room_id: int, participant_id: str) -> list[str]:
        room = self._rooms.get(room_id)
        if room is None:
            return []
        return [c for c, p in room.local.items() if p.participant_id == participant_id]

    # Reading

    def roster(self, room_id: int) -> list[dict[str, Any]]:
        room = self._rooms.get(room_id)
        if room is None:
            return []
        now = time.monotonic()
        entries = list(room.local.values())
        for remote, expires in room.remote.values():
            if expires > now:
                entries.extend(remote)
        return merge(entries)

    async def watch(self, room_id: int, callback: RosterCallback) -> Unsubscribe:
        """Call ``callback`` with the merged roster after each change."""
        room = await self._room(room_id)
        room.watchers.append(callback)

        async def unwatch() -> None:
            if callback in room.watchers:
                room.watchers.remove(callback)
            await self._maybe_drop(room_id, room)

        return unwatch

    async def known_roster(self, room_id: int) -> list[dict[str, Any]]:
        """The roster, asking the other processes first when this one was not listening."""
        if room_id in self._rooms:
            return self.roster(room_id)
        unwatch = await self.watch(room_id, lambda _: None)
        try:
            # The query goes out on subscription; give the answers one broker round trip.
            await asyncio.sleep(0.1 if self._broker.shared else 0)
            return self.roster(room_id)
        finally:
            await unwatch()

    # Lifecycle

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._tick())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for room_id, room in list(self._rooms.items()):
            if room.local:
                room.local.clear()
                self._publish(room_id, room)

    # Internals

    async def _room(self, room_id: int) -> _Room:
        room = self._rooms.get(room_id)
        if room is None:
            room = self._rooms[room_id] = _Room()
        if not room.subscribed:
            room.subscribed = True
            self.start()
            await self._broker.subscribe(
                presence_channel(room_id), lambda message: self._receive(room_id, message)
            )
            query = Envelope(Kind.PRESENCE_QUERY, self._broker.origin, EVERYONE, b"")
            self._broker.publish(presence_channel(room_id), query.encode())
        return room

    async def _maybe_drop(self, room_id: int, room: _Room) -> None:
        if room.local or room.watchers or self._rooms.get(room_id) is not room:
            return
        del self._rooms[room_id]
        if room.subscribed:
            await self._broker.unsubscribe(presence_channel(room_id))

    def _changed(self, room_id: int, room: _Room, *, publish: bool) -> None:
        loop = asyncio.get_running_loop()
        if publish and not room.publish_pending:
            room.publish_pending = True
            loop.call_soon(self._publish_soon, room_id, room)
        if not room.notify_pending:
            room.notify_pending = True
            loop.call_soon(self._notify, room_id, room)

    def _publish_soon(self, room_id: int, room: _Room) -> None:
        room.publish_pending = False
        self._publish(room_id, room)

    def _publish(self, room_id: int, room: _Room) -> None:
        if not self._broker.shared:
            return
        payload = json.dumps([asdict(p) for p in room.local.values()]).encode()
        envelope = Envelope(Kind.PRESENCE, self._broker.origin, EVERYONE, payload)
        self._broker.publish(presence_channel(room_id), envelope.encode())

    def _notify(self, room_id: int, room: _Room) -> None:
        room.notify_pending = False
        if not room.watchers:
            return
        roster = self.roster(room_id)
        for callback in list(room.watchers):
            try:
                callback(roster)
            except Exception:
                log.exception("a roster watcher failed")

    def _receive(self, room_id: int, message: bytes) -> None:
        room = self._rooms.get(room_id)
        if room is None:
            return
        try:
            envelope = decode(message)
        except ProtocolError as exc:
            log.warning("dropped a presence message: %s", exc)
            return
        if envelope.origin == self._broker.origin:
            return
        if envelope.kind is Kind.PRESENCE_QUERY:
            if room.local:
                self._publish(room_id, room)
            return
        if envelope.kind is not Kind.PRESENCE:
            return
        try:
            raw = json.loads(envelope.payload)
            entries = [
                Presence(**{k: v for k, v in entry.items() if k in _PRESENCE_FIELDS})
                for entry in raw
            ]
        except (ValueError, TypeError, AttributeError) as exc:
            log.warning("dropped a malformed presence message: %s", exc)
            return
        origin = envelope.origin.hex()
        before = room.remote.get(origin, ([], 0.0))[0]
        if entries:
            room.remote[origin] = (entries, time.monotonic() + self._timeout)
        else:
            room.remote.pop(origin, None)
        if entries != before:
            self._changed(room_id, room, publish=False)

    async def _tick(self) -> None:
        period = min(self._heartbeat, self._timeout / 3)
        while True:
            await asyncio.sleep(period)
            now = time.monotonic()
            for room_id, room in list(self._rooms.items()):
                if room.local:
                    self._publish(room_id, room)
                expired = [o for o, (_, expires) in room.remote.items() if expires <= now]
                for origin in expired:
                    del room.remote[origin]
                if expired:
                    self._changed(room_id, room, publish=False)
