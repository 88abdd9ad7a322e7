"""The room roster: who is in the room, where, and how lively, end to end.

A participant's connection to ``/events/{room}`` is their presence. Every process keeps
its own connections' entries and shares them with the others on the room's presence
channel (``rooms.presence.Roster``); every event socket of the room gets a ``roster``
message after each change, and ``GET /api/rooms/{room}/roster`` (and the room state)
returns the same rows. These tests use real servers and real WebSocket clients: one
in-loop server on SQLite; two in-loop servers sharing PostgreSQL and Redis; and an
in-loop server with a ``roundtable serve`` subprocess that is SIGKILLed, whose
participants must leave the survivor's roster within the presence timeout.
The spotlight (a facilitator's ``PUT``/``DELETE /spotlight``) and following (carried in
presence) are covered at the end.

Waits are on messages, with timeouts; a roster message is a whole snapshot, so the
tests look at the latest one a socket received.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from unittest.mock import ANY

import httpx
import pytest
from redis.asyncio import Redis
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from rooms.directory import CreatedRoom
from rooms.live.envelope import Kind, decode
from rooms.live.peer import CloseCode
from rooms.presence import COLOURS, presence_channel
from rooms.roles import Role
from tests.support.cluster import Launcher, ServeProcess
from tests.support.harness import RunningServer, run_server
from tests.support.settings import cluster_settings
from tests.support.threads_client import EventFeed, Person, join
from tests.support.timing import eventually, timeout

COLOUR = re.compile(r"^#[0-9a-f]{6}$")
Roster = list[dict[str, Any]]

# ------------------------------------------------------------------ clients


@dataclass
class Presence:
    """One participant's connection to ``/events``: what it received, and a way to talk."""

    person: Person
    ws: ClientConnection
    feed: EventFeed
    reader: asyncio.Task[None]

    def roster(self) -> Roster | None:
        """The latest roster this connection received (None before the first)."""
        for message in reversed(self.feed.messages):
            if message["type"] == "roster":
                participants: Roster = message["participants"]
                return participants
        return None

    def rosters(self) -> int:
        return sum(1 for m in self.feed.messages if m["type"] == "roster")

    async def wait_roster(
        self, check: Callable[[Roster], bool], what: str, seconds: float = 5.0
    ) -> Roster:
        """Wait until the latest roster satisfies ``check``; returns it."""

        def holds() -> bool:
            current = self.roster()
            return current is not None and check(current)

        await eventually(holds, seconds, f"{what} (seen by {self.person.name})")
        current = self.roster()
        assert current is not None
        return current

    async def send(self, **fields: Any) -> None:
        await self.ws.send(json.dumps({"type": "presence", **fields}))

    async def send_raw(self, message: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(message))

    async def ping(self) -> None:
        """A round trip: the socket is open and the server still reads it."""
        pongs = sum(1 for m in self.feed.messages if m["type"] == "pong")
        await self.ws.send(json.dumps({"type": "ping"}))
        await eventually(
            lambda: sum(1 for m in self.feed.messages if m["type"] == "pong") > pongs,
            what=f"a pong for {self.person.name}",
        )

    async def closed(self, seconds: float = 5.0) -> tuple[int | None, str | None]:
        """Wait for the server to close the socket: (code, reason)."""
        await asyncio.wait_for(asyncio.shield(self.reader), timeout(seconds))
        return self.ws.close_code, self.ws.close_reason

    async def close(self) -> None:
        await self.ws.close()
        await asyncio.wait_for(asyncio.shield(self.reader), timeout(5))


def socket_url(port: int, person: Person) -> str:
    return f"ws://127.0.0.1:{port}/events/{person.room}?token={person.token}"


@asynccontextmanager
async def present(port: int, person: Person) -> AsyncIterator[Presence]:
    """Connect ``person`` to the room's events on the server at ``port`` until the block ends."""
    feed = EventFeed()
    async with connect(socket_url(port, person)) as ws:

        async def read() -> None:
            with contextlib.suppress(ConnectionClosed):
                async for raw in ws:
                    feed._add(json.loads(raw))

        reader = asyncio.create_task(read())
        try:
            await feed.wait_for(lambda m: m["type"] in ("ready", "resync"))
            yield Presence(person, ws, feed, reader)
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader


async def join_at(http: str, room: CreatedRoom, role: Role, name: str) -> Person:
    """Join through the server at ``http`` (an in-loop server or a subprocess)."""
    async with httpx.AsyncClient(base_url=http) as client:
        response = await client.post("/api/join", json={"invite": room.invites[role], "name": name})
    response.raise_for_status()
    body = response.json()
    return Person(http, room.room.slug, body["token"], body["participant"]["id"], name, role)


async def http_roster(person: Person) -> Roster:
    rows: Roster = (await person.ok("GET", "/roster"))["roster"]
    return rows


async def room_state(person: Person) -> dict[str, Any]:
    # Absolute: the client's base URL ends with a slash, the room state's route does not.
    response = await person.call("GET", f"{person.http}/api/rooms/{person.room}")
    assert response.status_code == 200, (response.status_code, response.text)
    state: dict[str, Any] = response.json()
    return state


def row(roster: Roster, person: Person) -> dict[str, Any] | None:
    for entry in roster:
        if entry["id"] == person.id:
            return entry
    return None


def ids(roster: Roster) -> set[str]:
    return {entry["id"] for entry in roster}


def has(person: Person, **expected: Any) -> Callable[[Roster], bool]:
    """A check: ``person`` has a row with these values."""

    def check(roster: Roster) -> bool:
        found = row(roster, person)
        return found is not None and all(found.get(k) == v for k, v in expected.items())

    return check


def lacks(person: Person) -> Callable[[Roster], bool]:
    return lambda roster: row(roster, person) is None


def exactly(*people: Person) -> Callable[[Roster], bool]:
    return lambda roster: ids(roster) == {p.id for p in people} and len(roster) == len(people)


def fresh_row(person: Person, colour: str) -> dict[str, Any]:
    """The row of someone who just connected once and said nothing yet."""
    return {
        "id": person.id,
        "name": person.name,
        "role": person.role.value,
        "colour": colour,
        "document": None,
        "state": "active",
        "following": None,
        "spotlight_opt_out": False,
        "connections": 1,
        "since": ANY,
    }


# ------------------------------------------------------------- one process


async def test_a_participant_appears_with_a_stable_colour_over_http_and_the_socket(
    server: RunningServer,
) -> None:
    room = await server.create_room()
    ann = await join(server, room, Role.MEMBER, "Ann")
    bo = await join(server, room, Role.OBSERVER, "Bo")
    assert await http_roster(ann) == []

    async with present(server.port, ann) as a:
        mine = await a.wait_roster(exactly(ann), "Ann in her own roster")
        colour = mine[0]["colour"]
        assert isinstance(colour, str) and COLOUR.match(colour), colour
        assert mine == [fresh_row(ann, colour)]
        assert await http_roster(ann) == [fresh_row(ann, colour)]
        assert await http_roster(bo) == [fresh_row(ann, colour)]
        assert (await room_state(bo))["roster"] == [fresh_row(ann, colour)]

        async with present(server.port, bo) as b:
            both = await b.wait_roster(exactly(ann, bo), "Ann and Bo")
            await a.wait_roster(exactly(ann, bo), "Ann and Bo")
            ann_row, bo_row = row(both, ann), row(both, bo)
            assert ann_row == fresh_row(ann, colour)
            assert bo_row is not None and COLOUR.match(bo_row["colour"])
            assert bo_row == fresh_row(bo, bo_row["colour"])
            # The same participant has the same colour in everyone's roster.
            assert row(a.roster() or [], bo) == bo_row
            bo_colour = bo_row["colour"]
        await a.wait_roster(exactly(ann), "Bo gone")

    async with present(server.port, bo) as again:
        # A new connection, the same colour.
        await again.wait_roster(has(bo, colour=bo_colour, connections=1), "Bo back")


async def test_the_people_of_a_room_have_different_colours(server: RunningServer) -> None:
    """Up to 12 people in a room get 12 different colours (one hashed from each id would
    repeat), in the order they joined, and keep them in the roster of every reader."""
    room = await server.create_room()
    roles = [Role.FACILITATOR, Role.MEMBER, Role.OBSERVER]
    people = [await join(server, room, roles[i % 3], f"P{i:02}") for i in range(len(COLOURS))]
    async with contextlib.AsyncExitStack() as stack:
        sockets = [await stack.enter_async_context(present(server.port, p)) for p in people]
        for watcher in (sockets[0], sockets[-1]):
            seen = await watcher.wait_roster(exactly(*people), "all twelve")
            assert [r["colour"] for r in seen] == list(COLOURS), "by name: in order of joining"
        assert [r["colour"] for r in await http_roster(people[1])] == list(COLOURS)


async def test_presence_changes_reach_every_other_participant(server: RunningServer) -> None:
    room = await server.create_room()
    fay = await join(server, room, Role.FACILITATOR, "Fay")
    ann = await join(server, room, Role.MEMBER, "Ann")
    cy = await join(server, room, Role.OBSERVER, "Cy")
    async with (
        present(server.port, fay) as f,
        present(server.port, ann) as a,
        present(server.port, cy) as c,
    ):
        everyone = (f, a, c)
        for watcher in everyone:
            await watcher.wait_roster(exactly(fay, ann, cy), "all three")

        await a.send(document="guide")
        for watcher in everyone:
            await watcher.wait_roster(has(ann, document="guide", state="active"), "Ann in guide")

        await a.send(state="idle")
        for watcher in everyone:
            await watcher.wait_roster(has(ann, document="guide", state="idle"), "Ann idle")

        await a.send(document="plan of action", state="away", following=fay.id)
        for watcher in everyone:
            await watcher.wait_roster(
                has(ann, document="plan of action", state="away", following=fay.id),
                "Ann away in the plan, following Fay",
            )

        await a.send(document=None, state="active", following=None)
        for watcher in everyone:
            await watcher.wait_roster(
                has(ann, document=None, state="active", following=None), "Ann back, nowhere"
            )
        # The others' rows did not move.
        for other in (fay, cy):
            assert has(other, document=None, state="active", following=None, connections=1)(
                f.roster() or []
            )
        assert row(await http_roster(cy), ann) == row(c.roster() or [], ann)

        # A message that changes nothing sends no roster.
        before = f.rosters()
        await a.send(state="active")
        await a.ping()
        await f.ping()
        assert f.rosters() == before


async def test_two_connections_of_one_participant_merge_into_one_row(
    server: RunningServer,
) -> None:
    room = await server.create_room()
    ann = await join(server, room, Role.MEMBER, "Ann")
    bo = await join(server, room, Role.MEMBER, "Bo")
    async with present(server.port, bo) as watcher:
        async with present(server.port, ann) as first:
            await watcher.wait_roster(has(ann, connections=1), "Ann once")
            async with present(server.port, ann) as second:
                await watcher.wait_roster(has(ann, connections=2), "Ann twice")
                assert len(watcher.roster() or []) == 2
                assert len(await http_roster(bo)) == 2

                # The liveliest state of the two: active > idle > away.
                await first.send(state="away")
                await watcher.wait_roster(has(ann, state="active", connections=2), "active wins")
                await second.send(state="idle")
                await watcher.wait_roster(has(ann, state="idle"), "idle beats away")
                await second.send(state="active")
                await watcher.wait_roster(has(ann, state="active"), "active beats away")
                await second.send(state="away")
                await watcher.wait_roster(has(ann, state="away"), "both away")
                await first.send(state="idle")
                await watcher.wait_roster(has(ann, state="idle"), "the first one idle")

                # Both equally lively: the most recent document.
                await first.send(state="active", document="guide")
                await second.send(state="active", document="plan")
                await watcher.wait_roster(has(ann, state="active", document="plan"), "in plan")
                await first.send(document="notes")
                await watcher.wait_roster(has(ann, document="notes"), "in notes")
                # The away tab changed last, but the row keeps the livelier tab's document:
                # merge() takes the liveliest connection's document (its docstring says
                # "latest document"; the liveliest is what a roster should show).
                await second.send(state="away")
                await second.ping()  # the server has taken the presence message
                rows = await http_roster(bo)
                assert has(ann, state="active", document="notes", connections=2)(rows), rows
                await watcher.wait_roster(
                    lambda r: row(r, ann) == row(rows, ann), "the same row over the socket"
                )

            # One connection left: the first one's state, and one connection.
            await watcher.wait_roster(
                has(ann, state="active", document="notes", connections=1), "Ann once again"
            )
            await first.send(state="away")
            await watcher.wait_roster(has(ann, state="away", connections=1), "Ann away")
        await watcher.wait_roster(exactly(bo), "Ann gone")


async def test_disconnecting_leaves_the_roster_at_once(server: RunningServer) -> None:
    room = await server.create_room()
    ann = await join(server, room, Role.MEMBER, "Ann")
    bo = await join(server, room, Role.MEMBER, "Bo")
    async with present(server.port, ann) as a, present(server.port, bo) as b:
        await a.wait_roster(exactly(ann, bo), "Bo arrived")
        await b.send(document="guide", state="idle")
        await a.wait_roster(has(bo, document="guide"), "Bo in guide")
        await b.close()
        left = time.monotonic()
        # Not after the presence timeout (30 s): right away.
        await a.wait_roster(exactly(ann), "Bo gone", seconds=2)
        assert time.monotonic() - left < timeout(2)
        assert await http_roster(ann) == a.roster()
        assert [r["id"] for r in await http_roster(ann)] == [ann.id]
    assert await http_roster(bo) == []


@pytest.mark.parametrize(
    "message",
    [
        pytest.param({"state": "sleeping"}, id="unknown-state"),
        pytest.param({"document": "../x"}, id="bad-document-name"),
        pytest.param({"following": 5}, id="following-not-a-string"),
        pytest.param({"mood": "happy"}, id="unknown-field"),
        pytest.param({"spotlight_opt_out": "yes"}, id="opt-out-not-a-bool"),
        pytest.param({"state": "idle", "document": 7}, id="one-bad-field-of-two"),
    ],
)
async def test_an_invalid_presence_message_closes_that_socket_4400_only(
    server: RunningServer, message: dict[str, Any]
) -> None:
    room = await server.create_room()
    ann = await join(server, room, Role.MEMBER, "Ann")
    bo = await join(server, room, Role.MEMBER, "Bo")
    async with present(server.port, ann) as a, present(server.port, ann) as a2:
        async with present(server.port, bo) as b:
            await a.wait_roster(exactly(ann, bo), "Ann and Bo")
            await a.wait_roster(has(ann, connections=2), "Ann twice")
            await b.send(document="guide")
            await a.wait_roster(has(bo, document="guide"), "Bo in guide")
            seen = len(a.feed.messages)

            await b.send_raw({"type": "presence", **message})
            code, reason = await b.closed()
            assert code == CloseCode.BAD_REQUEST, (code, reason)
            assert reason
            # Bo's bad message changed nothing before he left; he is gone at once.
            await a.wait_roster(exactly(ann), "Bo gone after his bad message", seconds=2)
            assert all(
                r["id"] != bo.id or r["document"] == "guide"
                for m in a.feed.messages[seen:]
                if m["type"] == "roster"
                for r in m["participants"]
            )

        # The others are unaffected: still open, still heard, still told.
        await a.ping()
        await a2.ping()
        await a.send(state="idle")
        await a2.send(state="idle")
        await a.wait_roster(has(ann, state="idle", connections=2), "Ann idle")
        async with present(server.port, bo) as back:
            await a2.wait_roster(exactly(ann, bo), "Bo back")
            await back.wait_roster(has(bo, document=None, connections=1), "Bo fresh")


# ----------------------------------------------------------- two processes


async def heartbeats_from_others(
    redis_url: str, prefix: str, server: RunningServer, room: CreatedRoom, count: int
) -> None:
    """Wait for ``count`` non-empty presence messages on the room's channel from processes
    other than ``server`` (heartbeats, when nothing changes)."""
    own = server.app_state.hub.broker.origin
    client = Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=5)
    pubsub = client.pubsub()
    try:
        await pubsub.subscribe(f"{prefix}:{presence_channel(room.room.id)}")
        seen = 0
        async with asyncio.timeout(timeout(count * 3.0)):
            while seen < count:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                if message is None:
                    continue
                envelope = decode(message["data"])
                if (
                    envelope.kind is Kind.PRESENCE
                    and envelope.origin != own
                    and json.loads(envelope.payload)
                ):
                    seen += 1
    finally:
        await pubsub.aclose()
        await client.aclose()


@pytest.mark.redis
@pytest.mark.postgres
async def test_two_processes_share_one_roster(
    postgres_url: str, redis_url: str, prefix: str
) -> None:
    # The default presence timeout (30 s) is far longer than any wait below: whatever
    # leaves the roster here leaves it because it said so, not because it timed out.
    settings = cluster_settings(postgres_url, redis_url, prefix, presence_timeout_seconds=30.0)
    async with run_server(settings) as a, run_server(settings) as b:
        room = await a.create_room()
        ann = await join(a, room, Role.FACILITATOR, "Ann")
        bo = await join(b, room, Role.MEMBER, "Bo")

        async with present(b.port, bo) as on_b:
            await on_b.wait_roster(exactly(bo), "Bo alone")
            # A has no connection in the room: it asks B, over HTTP.
            assert ids(await http_roster(ann)) == {bo.id}
            assert ids((await room_state(ann))["roster"]) == {bo.id}

            async with present(a.port, ann) as on_a:
                # Bo was there before A listened: A learns of him without a heartbeat.
                await on_a.wait_roster(exactly(ann, bo), "Ann and Bo on A", seconds=3)
                await on_b.wait_roster(exactly(ann, bo), "Ann and Bo on B", seconds=3)
                assert on_a.roster() == on_b.roster()
                rows = on_a.roster() or []
                for entry in rows:
                    assert COLOUR.match(entry["colour"]) and entry["connections"] == 1
                # Each process reads its own participants' colours; they travel with presence.
                assert {r["id"]: r["colour"] for r in rows} == {
                    ann.id: COLOURS[0],
                    bo.id: COLOURS[1],
                }
                assert await http_roster(ann) == rows
                assert await http_roster(bo) == rows

                # Presence on B reaches A's watchers.
                await on_b.send(document="guide", state="idle", following=ann.id)
                await on_a.wait_roster(
                    has(bo, document="guide", state="idle", following=ann.id),
                    "Bo's presence from B",
                )
                await on_a.send(document="plan")
                await on_b.wait_roster(has(ann, document="plan"), "Ann's presence from A")

                # One participant on both processes: one row, two connections.
                async with present(b.port, ann) as ann_on_b:
                    for watcher in (on_a, on_b, ann_on_b):
                        await watcher.wait_roster(
                            has(ann, connections=2, state="active"), "Ann on A and B"
                        )
                    await on_a.send(state="away")
                    await on_b.wait_roster(
                        has(ann, connections=2, state="active"), "B's tab still active"
                    )
                    await ann_on_b.send(state="idle")
                    await on_b.wait_roster(has(ann, state="idle"), "idle beats away")
                    assert len(on_b.roster() or []) == 2
                await on_b.wait_roster(has(ann, connections=1, state="away"), "Ann only on A again")
                await on_a.wait_roster(has(ann, connections=1), "Ann only on A again")

                # A clean disconnect on B: gone from A's roster at once.
                await on_b.close()
                left = time.monotonic()
                await on_a.wait_roster(exactly(ann), "Bo gone from A", seconds=3)
                assert time.monotonic() - left < timeout(3)
                assert ids(await http_roster(ann)) == {ann.id}


@pytest.mark.redis
@pytest.mark.postgres
async def test_a_process_that_stops_cleanly_leaves_the_roster_at_once(
    postgres_url: str, redis_url: str, prefix: str
) -> None:
    settings = cluster_settings(postgres_url, redis_url, prefix, presence_timeout_seconds=30.0)
    async with run_server(settings) as a:
        room = await a.create_room()
        ann = await join(a, room, Role.FACILITATOR, "Ann")
        async with present(a.port, ann) as on_a, contextlib.AsyncExitStack() as sockets:
            async with run_server(settings) as b:
                cy = await join(b, room, Role.MEMBER, "Cy")
                # Cy's socket outlives B's block: B closes it as it shuts down.
                on_b = await sockets.enter_async_context(present(b.port, cy))
                await on_a.wait_roster(exactly(ann, cy), "Cy on B", seconds=3)
                await on_b.ping()
            stopped = time.monotonic()
            await on_b.closed()
            await on_a.wait_roster(exactly(ann), "Cy gone with B", seconds=5)
            assert time.monotonic() - stopped < timeout(5)
            assert ids(await http_roster(ann)) == {ann.id}


@pytest.mark.redis
@pytest.mark.postgres
async def test_the_participants_of_a_killed_process_leave_the_roster_within_the_timeout(
    postgres_url: str, redis_url: str, prefix: str, launcher: Launcher
) -> None:
    presence_timeout, heartbeat = 3.0, 1.0
    settings = cluster_settings(
        postgres_url,
        redis_url,
        prefix,
        presence_timeout_seconds=presence_timeout,
        presence_heartbeat_seconds=heartbeat,
    )
    async with run_server(settings) as a:
        b: ServeProcess = await launcher.start(
            "b",
            database_url=postgres_url,
            redis_url=redis_url,
            prefix=prefix,
            env={
                "ROUNDTABLE_PRESENCE_TIMEOUT_SECONDS": str(presence_timeout),
                "ROUNDTABLE_PRESENCE_HEARTBEAT_SECONDS": str(heartbeat),
            },
        )
        room = await a.create_room()
        ann = await join(a, room, Role.FACILITATOR, "Ann")
        bo = await join_at(b.http, room, Role.MEMBER, "Bo")
        async with present(a.port, ann) as on_a, present(b.port, bo) as on_b:
            await on_a.wait_roster(exactly(ann, bo), "Bo (on B) on A")
            await on_b.send(document="guide")
            await on_a.wait_roster(has(bo, document="guide"), "Bo's presence from B")
            # B renews its entries: they outlive one presence timeout while B lives.
            rosters = on_a.rosters()
            await heartbeats_from_others(
                redis_url, prefix, a, room, count=int(presence_timeout / heartbeat) + 2
            )
            assert has(bo, document="guide")(a.app_state.roster.roster(room.room.id))
            assert on_a.rosters() == rosters, "Bo's row changed while B renewed it"

            await b.kill()
            killed = time.monotonic()
            code, _ = await on_b.closed()
            assert code != CloseCode.NORMAL
            await on_a.wait_roster(exactly(ann), "Bo to expire on A", seconds=4 * presence_timeout)
            elapsed = time.monotonic() - killed
            # At most the timeout after B's last heartbeat, plus one expiry check.
            assert elapsed <= timeout(presence_timeout + heartbeat + 1.5), elapsed
            assert ids(await http_roster(ann)) == {ann.id}

            # Someone arriving on A now sees the survivors only, over HTTP and the socket.
            dee = await join(a, room, Role.OBSERVER, "Dee")
            assert ids(await http_roster(dee)) == {ann.id}
            assert ids((await room_state(dee))["roster"]) == {ann.id}
            async with present(a.port, dee) as on_a2:
                await on_a2.wait_roster(exactly(ann, dee), "Ann and Dee")
                await on_a.wait_roster(exactly(ann, dee), "Ann and Dee")


# ------------------------------------------------------- spotlight and follow


async def test_the_spotlight_reaches_every_event_feed_and_the_room_state(
    server: RunningServer,
) -> None:
    room = await server.create_room()
    fay = await join(server, room, Role.FACILITATOR, "Fay")
    ann = await join(server, room, Role.MEMBER, "Ann")
    cy = await join(server, room, Role.OBSERVER, "Cy")
    assert (await room_state(ann))["spotlight"] is None
    async with (
        present(server.port, fay) as f,
        present(server.port, ann) as a,
        present(server.port, cy) as c,
    ):
        everyone = (f, a, c)
        await fay.ok("PUT", "/spotlight", status=204)
        for feed in everyone:
            started = await feed.feed.wait_for(lambda m: m["type"] == "spotlight.started")
            assert started["data"] == {"participant": {"id": fay.id, "name": "Fay"}}
            assert isinstance(started["seq"], int)
        for person in (fay, ann, cy):
            assert (await room_state(person))["spotlight"] == {"id": fay.id, "name": "Fay"}

        # Only facilitators start or end it; a refusal changes and publishes nothing.
        for person in (ann, cy):
            for method in ("PUT", "DELETE"):
                response = await person.call(method, "/spotlight")
                assert response.status_code == 403, (person.name, method, response.text)
                assert response.json()["error"]["code"] == "forbidden"
        assert (await room_state(ann))["spotlight"] == {"id": fay.id, "name": "Fay"}

        await fay.ok("DELETE", "/spotlight", status=204)
        for feed in everyone:
            ended = await feed.feed.wait_for(lambda m: m["type"] == "spotlight.ended")
            assert ended["data"] == {"by": "Fay"}
            spotlight_events = [
                e["type"] for e in feed.feed.events() if e["type"].startswith("spotlight.")
            ]
            assert spotlight_events == ["spotlight.started", "spotlight.ended"]
        for person in (fay, ann, cy):
            assert (await room_state(person))["spotlight"] is None

        # Refused while off too.
        for person in (ann, cy):
            assert (await person.call("PUT", "/spotlight")).status_code == 403
        assert (await room_state(fay))["spotlight"] is None


async def test_following_and_the_spotlight_opt_out_travel_in_presence(
    server: RunningServer,
) -> None:
    room = await server.create_room()
    fay = await join(server, room, Role.FACILITATOR, "Fay")
    ann = await join(server, room, Role.MEMBER, "Ann")
    cy = await join(server, room, Role.OBSERVER, "Cy")
    async with (
        present(server.port, fay) as f,
        present(server.port, ann) as a,
        present(server.port, cy) as c,
    ):
        everyone = (f, a, c)
        await fay.ok("PUT", "/spotlight", status=204)
        await f.send(document="guide")
        # Cy follows the spotlight; Ann opts out and follows nobody.
        await c.send(following=fay.id, document="guide")
        await a.send(spotlight_opt_out=True, document="plan")
        for watcher in everyone:
            roster = await watcher.wait_roster(
                lambda r: (
                    has(cy, following=fay.id, document="guide", spotlight_opt_out=False)(r)
                    and has(ann, following=None, spotlight_opt_out=True, document="plan")(r)
                    and has(fay, following=None, document="guide")(r)
                ),
                "Cy following Fay, Ann opted out",
            )
        assert await http_roster(fay) == roster

        # Ann follows Cy for a while, then stops; Cy stops following.
        await a.send(following=cy.id)
        await f.wait_roster(has(ann, following=cy.id, spotlight_opt_out=True), "Ann follows Cy")
        await a.send(following=None, spotlight_opt_out=False)
        await c.send(following=None)
        for watcher in everyone:
            await watcher.wait_roster(
                lambda r: (
                    has(ann, following=None, spotlight_opt_out=False)(r)
                    and has(cy, following=None)(r)
                ),
                "nobody following",
            )
        # A following id longer than a participant id can be is refused.
        await c.send(following="x" * 65)
        code, _ = await c.closed()
        assert code == CloseCode.BAD_REQUEST
        await f.wait_roster(exactly(fay, ann), "Cy gone")
