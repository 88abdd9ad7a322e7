"""Scale-out: several server processes sharing one PostgreSQL database and one Redis.

Each process serves its own clients, stores what its own clients sent, and relays
document and awareness traffic to the others through Redis (``RedisBroker``). These
tests run two or three real servers at once: in-process ``run_server`` instances (each
with its own app, hub and broker) where the test needs to look inside a server, and
``python -m server.cli serve`` subprocesses where a process must die (SIGKILL) or run
several uvicorn workers.

Every test uses its own Redis channel prefix and its own PostgreSQL database, and one
fixed signing secret for all its processes, so a token issued by one works on all.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import text as sql

from crdt.awareness import AwarenessEntry, encode_awareness_update, parse_awareness_update
from rooms.directory import CreatedRoom
from rooms.live.document import LiveDocument
from rooms.roles import Role
from server.redis_broker import RedisBroker
from server.storage.migrate import upgrade
from tests.support.cluster import (
    DOC,
    Database,
    Launcher,
    RedisProxy,
    RedisServer,
    close_all,
    connect,
    converge,
    doc_url,
    join_over_http,
    poll,
    text_of_stored,
    update_rows,
)
from tests.support.harness import RunningServer, run_server
from tests.support.node_client import NodePuppet
from tests.support.settings import cluster_settings
from tests.support.timing import eventually, timeout
from tests.support.yclient import YClient, open_synced

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

WAIT = timeout(10.0)
"""Timeout of a wait on a puppet event (scaled by ROUNDTABLE_TEST_TIMEOUT_SCALE)."""
# The awareness states of another process's clients are dropped when not renewed for
# 30 s, checked every 5 s (HubSettings defaults; not configurable from Settings).
AWARENESS_TIMEOUT = 30.0
AWARENESS_SWEEP = 5.0


# ------------------------------------------------------------------ fixtures


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    """A client of the shared Redis, to look at the channels the servers use."""
    client = Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=5)
    try:
        yield client
    finally:
        await client.aclose()


# ------------------------------------------------------------------- helpers


def redis_broker(server: RunningServer) -> RedisBroker:
    broker = server.app_state.hub.broker
    assert isinstance(broker, RedisBroker)
    return broker


async def stored_text(server: RunningServer, room: CreatedRoom, name: str = DOC) -> str:
    """The text as the database holds it (without flushing anything first)."""
    store = server.app_state.store
    info = await store.get_document(room.room.id, name)
    assert info is not None, f"document {name!r} was never created"
    return text_of_stored(await store.load_document(info.id))


def text_probe(client: YClient) -> Callable[[], str | None]:
    return lambda: str(client.text)


def append(client: YClient, value: str) -> None:
    client.insert(len(str(client.text)), value)


def awareness_update(client_id: int, clock: int, state: dict[str, Any] | None) -> bytes:
    """One client's entry as the y-protocol encodes an awareness update."""
    return encode_awareness_update([AwarenessEntry(client_id, clock, state)])


def awareness_seen(client: YClient) -> dict[int, dict[str, Any] | None]:
    """The latest state (None: removed) of every awareness client ``client`` was told of."""
    latest: dict[int, dict[str, Any] | None] = {}
    for frame in client.awareness_frames:
        for entry in parse_awareness_update(frame, 1 << 20):
            latest[entry.client_id] = entry.state
    return latest


def removed(client: YClient, client_id: int) -> bool:
    seen = awareness_seen(client)
    return client_id in seen and seen[client_id] is None


def expirations(document: LiveDocument, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The client ids whose states ``document`` drops from now on because they were not
    renewed in time (its awareness sweep), rather than because it was told they left."""
    dropped: list[int] = []
    expire = document.expire_awareness

    def expire_and_note() -> None:
        before = set(document.awareness.states)
        expire()
        dropped.extend(before - set(document.awareness.states))

    monkeypatch.setattr(document, "expire_awareness", expire_and_note)
    return dropped


def has_user(name: str) -> Callable[[list[dict[str, Any]]], bool]:
    """For a Node client's remote awareness states."""

    def check(states: list[dict[str, Any]]) -> bool:
        return any((s["state"] or {}).get("user", {}).get("name") == name for s in states)

    return check


# -------------------------------------------------- two in-process servers


@pytest.mark.node
async def test_clients_on_two_servers_converge_and_each_update_is_stored_once(
    postgres_url: str, redis_url: str, prefix: str, redis: Redis, puppet: NodePuppet
) -> None:
    settings = cluster_settings(postgres_url, redis_url, prefix)
    async with run_server(settings) as a, run_server(settings) as b:
        room = await a.create_room()
        slug = room.room.slug
        ann = await connect(a, room, "Ann")
        bo = await connect(b, room, "Bo", Role.FACILITATOR)
        try:
            edits = 0
            ann.insert(0, "hello")
            edits += 1
            await bo.wait_text("hello")
            bo.insert(5, " world")
            edits += 1
            await ann.wait_text("hello world")
            # At the same moment on both servers.
            ann.insert(0, "[ann]")
            append(bo, "[bo]")
            edits += 2
            await ann.wait_text("[ann]hello world[bo]")
            await bo.wait_text("[ann]hello world[bo]")

            # Real yjs + y-websocket clients, one per server.
            na, nb = puppet.client("na"), puppet.client("nb")
            await na.connect(a.sync_url(slug), DOC, await a.join(room, Role.MEMBER, "Nia"))
            await nb.connect(b.sync_url(slug), DOC, await b.join(room, Role.MEMBER, "Ned"))
            await na.wait_synced(WAIT)
            await nb.wait_synced(WAIT)
            await nb.wait_text("[ann]hello world[bo]", WAIT)
            await na.insert(0, "<na>")
            edits += 1
            await nb.wait_text("<na>[ann]hello world[bo]", WAIT)
            await nb.insert(len("<na>[ann]hello world[bo]"), "<nb>")
            edits += 1
            await na.wait_text("<na>[ann]hello world[bo]<nb>", WAIT)
            # Concurrent edits from all four clients.
            await na.insert(0, "{1}")
            await nb.insert(0, "{2}")
            ann.insert(0, "{3}")
            bo.insert(0, "{4}")
            edits += 4
            probes: dict[str, Callable[[], str | None]] = {
                "ann@A": lambda: str(ann.text),
                "bo@B": lambda: str(bo.text),
                "node na@A": lambda: na.text,
                "node nb@B": lambda: nb.text,
                "server A": lambda: a.live_text(room, DOC),
                "server B": lambda: b.live_text(room, DOC),
            }
            final = await converge(probes, ["{1}", "{2}", "{3}", "{4}", "<na>", "<nb>"])
            assert final.endswith("<na>[ann]hello world[bo]<nb>")

            # The traffic went through Redis, on this test's prefix.
            document_id = a.live_document(room, DOC).info.id
            assert b.live_document(room, DOC).info.id == document_id
            channel = f"{prefix}:doc:{document_id}"
            numsub = dict(await redis.pubsub_numsub(channel))
            assert numsub[channel.encode()] == 2, numsub
            assert redis_broker(a).published > 0 and redis_broker(b).published > 0

            # Each update is stored once, by the server its client sent it to.
            await a.app_state.hub.flush_all()
            await b.app_state.hub.flush_all()
            assert await stored_text(a, room) == final
            assert await update_rows(a.app_state.store.engine, document_id) == edits
            assert a.live_document(room, DOC).writer.flushed_updates == 5
            assert b.live_document(room, DOC).writer.flushed_updates == 5
        finally:
            await close_all([ann, bo])


@pytest.mark.node
async def test_awareness_crosses_servers_and_goes_with_its_connection(
    postgres_url: str,
    redis_url: str,
    prefix: str,
    puppet: NodePuppet,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = cluster_settings(postgres_url, redis_url, prefix)
    ann_id, ann_state = 4_100_001, {"user": {"name": "Ann"}}
    async with contextlib.AsyncExitStack() as stack_b:
        b = await stack_b.enter_async_context(run_server(settings))
        stack_a = contextlib.AsyncExitStack()
        clients: list[YClient] = []
        try:
            a = await stack_a.enter_async_context(run_server(settings))
            room = await a.create_room()
            slug = room.room.slug
            ann = await connect(a, room, "Ann")
            clients.append(ann)
            bo = await connect(b, room, "Bo")
            clients.append(bo)
            na, nb = puppet.client("na"), puppet.client("nb")
            await na.connect(a.sync_url(slug), DOC, await a.join(room, Role.MEMBER, "Nia"))
            await nb.connect(b.sync_url(slug), DOC, await b.join(room, Role.MEMBER, "Ned"))
            await na.wait_synced(WAIT)
            await nb.wait_synced(WAIT)

            # A state set on A reaches the Python and the Node client on B.
            await ann.send_awareness(awareness_update(ann_id, 1, ann_state))
            await bo.wait_until(lambda: awareness_seen(bo).get(ann_id) == ann_state)
            await nb.wait_awareness(has_user("Ann"), WAIT)
            await na.set_awareness("user", {"name": "Nia"})
            await bo.wait_until(
                lambda: any(
                    (state or {}).get("user", {}).get("name") == "Nia"
                    for state in awareness_seen(bo).values()
                )
            )
            [nia_id] = [
                client_id
                for client_id, state in awareness_seen(bo).items()
                if (state or {}).get("user", {}).get("name") == "Nia"
            ]
            # And B's state reaches A.
            await nb.set_awareness("user", {"name": "Ned"})
            await na.wait_awareness(has_user("Ned"), WAIT)
            await eventually(
                lambda: any(
                    (s or {}).get("user", {}).get("name") == "Ned"
                    for s in awareness_seen(ann).values()
                ),
                5,
                "Ned's state at Ann",
            )

            # A newcomer on B is told of A's clients in its handshake.
            cy = await connect(b, room, "Cy", Role.OBSERVER)
            clients.append(cy)
            await cy.wait_until(lambda: {ann_id, nia_id} <= set(awareness_seen(cy)))
            assert awareness_seen(cy)[ann_id] == ann_state

            # Ann's connection ends without a removal of its own: only A can tell B (B
            # drops a state by itself only once it is no longer renewed: not here).
            timed_out = expirations(b.live_document(room, DOC), monkeypatch)
            await ann.close()
            await bo.wait_until(lambda: removed(bo, ann_id))
            assert ann_id not in timed_out, "Ann's state timed out on B: A never said she left"
            await nb.wait_awareness(lambda states: not has_user("Ann")(states), WAIT)
            await eventually(
                lambda: ann_id not in b.live_document(room, DOC).awareness.states,
                5,
                "Ann's state to leave B",
            )
            assert nia_id in b.live_document(room, DOC).awareness.states

            # A stops gracefully with Nia still connected: B hears from A that she is gone.
            await stack_a.aclose()
            await bo.wait_until(lambda: removed(bo, nia_id))
            await nb.wait_awareness(lambda states: not has_user("Nia")(states), WAIT)
            assert nia_id not in timed_out, "Nia's state timed out on B: A never said she left"
            assert nia_id not in b.live_document(room, DOC).awareness.states
        finally:
            await close_all(clients)
            await stack_a.aclose()


async def test_an_observer_on_one_server_changes_nothing_anywhere(
    postgres_url: str, redis_url: str, prefix: str
) -> None:
    settings = cluster_settings(postgres_url, redis_url, prefix)
    obs_id = 4_200_002
    async with run_server(settings) as a, run_server(settings) as b:
        room = await a.create_room()
        ann = await connect(a, room, "Ann")
        cy = await connect(a, room, "Cy")
        bo = await connect(b, room, "Bo")
        obs = await connect(b, room, "Obs", Role.OBSERVER)
        try:
            ann.insert(0, "base")
            for client in (cy, bo, obs):
                await client.wait_text("base")

            obs.insert(0, "vandal ")
            await obs.wait_until(lambda: bool(obs.denied))
            obs.insert(0, "more ")
            # After both edits on the same socket: once A's clients see this state, B
            # has handled (and dropped) both edits.
            await obs.send_awareness(awareness_update(obs_id, 1, {"user": {"name": "Obs"}}))
            await ann.wait_until(lambda: awareness_seen(ann).get(obs_id) is not None)
            # A marker from B through the same channel: had B published the observer's
            # edits, they would have reached A before it.
            bo.insert(4, "!")
            await ann.wait_text("base!")
            await cy.wait_text("base!")
            ann.insert(5, "?")
            await bo.wait_text("base!?")
            # The observer still sees the others' edits; its own stay local.
            await obs.wait_text("more vandal base!?")

            assert a.live_text(room, DOC) == "base!?"
            assert b.live_text(room, DOC) == "base!?"
            await a.app_state.hub.flush_all()
            await b.app_state.hub.flush_all()
            assert await stored_text(a, room) == "base!?"
            assert (
                await update_rows(a.app_state.store.engine, a.live_document(room, DOC).info.id) == 3
            )
            assert len(obs.denied) == 1
            assert obs.is_open
        finally:
            await close_all([ann, cy, bo, obs])


async def test_a_document_loaded_later_gets_what_the_other_server_has_not_stored(
    postgres_url: str, redis_url: str, prefix: str
) -> None:
    # A's write-behind window is far longer than the test: A stores nothing.
    slow = cluster_settings(postgres_url, redis_url, prefix, flush_interval=600.0)
    fast = cluster_settings(postgres_url, redis_url, prefix)
    text = "written on A, not stored yet"
    async with run_server(slow) as a, run_server(fast) as b:
        room = await a.create_room()
        ann = await connect(a, room, "Ann")
        clients = [ann]
        try:
            ann.insert(0, text)
            await eventually(lambda: a.live_text(room, DOC) == text, 5, "A to have the edit")
            assert a.live_document(room, DOC).writer.dirty
            assert await stored_text(a, room) == ""
            assert b.live_text(room, DOC) is None, "B must load the document only now"

            bo = await connect(b, room, "Bo")
            clients.append(bo)
            # Not from storage (it holds nothing): from A, when B loaded the document.
            await bo.wait_text(text)
            assert b.live_text(room, DOC) == text
            assert await stored_text(b, room) == ""
            # B relays what it got from A but never stores it: that is A's to store.
            await b.app_state.hub.flush_all()
            assert (
                await update_rows(b.app_state.store.engine, b.live_document(room, DOC).info.id) == 0
            )

            bo.insert(0, "> ")
            await ann.wait_text("> " + text)
            await b.app_state.hub.flush_all()
            await a.app_state.hub.flush_all()
            assert await stored_text(a, room) == "> " + text
            assert (
                await update_rows(a.app_state.store.engine, a.live_document(room, DOC).info.id) == 2
            )
        finally:
            await close_all(clients)


@pytest.mark.parametrize(
    "flush_interval",
    [
        pytest.param(0.05, id="stored"),
        pytest.param(600.0, id="unstored"),
    ],
)
async def test_redis_killed_and_restarted_mid_session(
    postgres_url: str, prefix: str, redis_server: RedisServer, flush_interval: float
) -> None:
    """With "unstored", nothing reaches storage: only the brokers' exchange can heal."""
    settings = cluster_settings(
        postgres_url, redis_server.url, prefix, flush_interval=flush_interval
    )
    clients: list[YClient] = []
    try:
        async with run_server(settings) as a, run_server(settings) as b:
            room = await a.create_room()

            async def client(server: RunningServer, name: str, doc: str = DOC) -> YClient:
                opened = await open_synced(
                    doc_url(server, room, doc), await server.join(room, Role.MEMBER, name)
                )
                clients.append(opened)
                return opened

            a1, a2 = await client(a, "A1"), await client(a, "A2")
            b1, b2 = await client(b, "B1"), await client(b, "B2")
            a1.insert(0, "base")
            for other in (a2, b1, b2):
                await other.wait_text("base")

            await redis_server.kill()
            await eventually(
                lambda: (
                    not redis_broker(a).connected.is_set()
                    and not redis_broker(b).connected.is_set()
                ),
                10,
                "both brokers to notice that Redis is gone",
            )

            # Each process keeps serving its own clients.
            append(a1, " a1-outage")
            await a2.wait_text("base a1-outage")
            append(b2, " b2-outage")
            await b1.wait_text("base b2-outage")
            append(a2, " a2-outage")
            await a1.wait_text("base a1-outage a2-outage")
            assert "a1-outage" not in str(b1.text), "Redis is down: nothing can cross"
            # A document first opened during the outage, on both sides.
            na = await client(a, "NA", "notes")
            nb = await client(b, "NB", "notes")
            na.insert(0, "notes-from-A ")
            nb.insert(0, "notes-from-B ")
            await eventually(
                lambda: (
                    a.live_text(room, "notes") == "notes-from-A "
                    and b.live_text(room, "notes") == "notes-from-B "
                ),
                5,
                "each server to take its own client's notes",
            )
            async with httpx.AsyncClient() as http:
                for server in (a, b):
                    health = await http.get(server.http + "/health")
                    assert health.status_code == 200, health.text
                    # Alive, but not ready: it cannot reach the other processes.
                    ready = await http.get(server.http + "/ready")
                    assert ready.status_code == 503, ready.text
                    assert ready.json()["failed"] == ["redis"]

            restarted = time.monotonic()
            await redis_server.start()
            await eventually(
                lambda: redis_broker(a).connected.is_set() and redis_broker(b).connected.is_set(),
                15,
                "both brokers to reconnect",
            )
            reconnected = time.monotonic() - restarted
            probes: dict[str, Callable[[], str | None]] = {
                "a1": lambda: str(a1.text),
                "a2": lambda: str(a2.text),
                "b1": lambda: str(b1.text),
                "b2": lambda: str(b2.text),
                "server A": lambda: a.live_text(room, DOC),
                "server B": lambda: b.live_text(room, DOC),
            }
            words = ["base", "a1-outage", "a2-outage", "b2-outage"]
            await converge(probes, words, 10)
            notes = await converge(
                {
                    "na": lambda: str(na.text),
                    "nb": lambda: str(nb.text),
                    "server A": lambda: a.live_text(room, "notes"),
                    "server B": lambda: b.live_text(room, "notes"),
                },
                ["notes-from-A", "notes-from-B"],
                10,
            )
            converged = time.monotonic() - restarted
            print(f"Redis back: brokers reconnected {reconnected:.2f}s, converged {converged:.2f}s")

            # Live relaying works again (not only the healing exchange).
            append(b1, " after")
            final = await converge(probes, [*words, "after"], 10)
            nb.insert(0, "more ")
            await na.wait_text("more " + notes)

            await a.app_state.hub.flush_all()
            await b.app_state.hub.flush_all()
            assert await stored_text(a, room) == final
            assert await stored_text(a, room, "notes") == "more " + notes
    finally:
        await close_all(clients)


async def test_awareness_set_during_a_redis_outage_crosses_once_it_returns(
    postgres_url: str, prefix: str, redis_server: RedisServer
) -> None:
    # Awareness has no storage to fall back on: only the heal's query can bring it over.
    settings = cluster_settings(postgres_url, redis_server.url, prefix)
    ann_id, bo_id = 4_400_001, 4_400_002
    async with run_server(settings) as a, run_server(settings) as b:
        room = await a.create_room()
        ann = await connect(a, room, "Ann")
        bo = await connect(b, room, "Bo")
        try:
            ann.insert(0, "base")
            await bo.wait_text("base")
            await redis_server.kill()
            await eventually(
                lambda: (
                    not redis_broker(a).connected.is_set()
                    and not redis_broker(b).connected.is_set()
                ),
                10,
                "both brokers to notice that Redis is gone",
            )
            await ann.send_awareness(awareness_update(ann_id, 1, {"user": {"name": "Ann"}}))
            await bo.send_awareness(awareness_update(bo_id, 1, {"user": {"name": "Bo"}}))
            await eventually(
                lambda: (
                    ann_id in a.live_document(room, DOC).awareness.states
                    and bo_id in b.live_document(room, DOC).awareness.states
                ),
                5,
                "each server to take its own client's state",
            )
            await redis_server.start()
            await eventually(
                lambda: redis_broker(a).connected.is_set() and redis_broker(b).connected.is_set(),
                15,
                "both brokers to reconnect",
            )
            await eventually(
                lambda: awareness_seen(bo).get(ann_id) is not None,
                10,
                "the state Ann set on A during the outage to reach Bo on B",
            )
            await eventually(
                lambda: awareness_seen(ann).get(bo_id) is not None,
                10,
                "the state Bo set on B during the outage to reach Ann on A",
            )
        finally:
            await close_all([ann, bo])


async def started_broker(
    redis_url: str,
    prefix: str,
    heartbeat: float,
    gone: list[bytes],
    clock: Callable[[], float] = time.monotonic,
) -> RedisBroker:
    broker = RedisBroker(redis_url, prefix, heartbeat_seconds=heartbeat, clock=clock)

    async def record(origin: bytes) -> None:
        gone.append(origin)

    broker.on_process_gone(record)
    await broker.start()
    return broker


class StoppedClock:
    """A clock that moves only when the test sets it."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Heartbeats:
    """A broker's own heartbeats, each with the processes it still counted once that
    heartbeat's check of the others was done."""

    def __init__(self, broker: RedisBroker, monkeypatch: pytest.MonkeyPatch) -> None:
        self.after: list[set[bytes]] = []
        self.sent = 0
        publish = broker.publish
        alive = b"A" + broker.origin

        def observed(channel: str, message: bytes) -> None:
            publish(channel, message)
            if message == alive:
                self.sent += 1
                # The check follows the heartbeat in the same step: it is done by then.
                asyncio.get_running_loop().call_soon(lambda: self.after.append(broker.processes))

        monkeypatch.setattr(broker, "publish", observed)

    async def next(self) -> set[bytes]:
        """The processes counted after the next heartbeat that starts from now on."""
        index = self.sent
        await eventually(lambda: len(self.after) > index, 5, "the broker's next heartbeat")
        return self.after[index]


async def test_a_process_that_stops_saying_it_is_alive_is_gone_after_three_heartbeats(
    redis_url: str, prefix: str, redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    gone: list[bytes] = []
    clock = StoppedClock()
    # Heartbeats come every 0.05 s, but time passes on the test's clock alone.
    heartbeat = 0.05
    broker = await started_broker(redis_url, prefix, heartbeat, gone, clock)
    beats = Heartbeats(broker, monkeypatch)
    try:
        silent = bytes(range(16))
        await redis.publish(f"{prefix}:control", b"A" + silent)
        await eventually(lambda: silent in broker.processes, 5, "the heartbeat to be heard")
        # Half a heartbeat after each one the silent process should have sent.
        for missed in (1, 2):
            clock.now = (missed + 0.5) * heartbeat
            assert silent in await beats.next(), f"gone after {missed} missed heartbeat(s), not 3"
        assert gone == []
        clock.now = 3.5 * heartbeat
        assert silent not in await beats.next(), "still there after 3 missed heartbeats"
        await eventually(lambda: gone == [silent], 5, "the silent process to be gone")
    finally:
        await broker.close()


async def test_a_process_that_closes_is_gone_at_once_and_a_live_one_never(
    redis_url: str, prefix: str
) -> None:
    gone: list[bytes] = []
    # Heartbeats every 10 s: only a goodbye can make a process gone within the test.
    observer = await started_broker(redis_url, prefix, 10.0, gone)
    leaving = await started_broker(redis_url, prefix, 10.0, [])
    staying = await started_broker(redis_url, prefix, 10.0, [])
    try:
        await eventually(
            lambda: {leaving.origin, staying.origin} <= observer.processes,
            5,
            "both heartbeats to be heard",
        )
        await leaving.close()
        await eventually(lambda: gone == [leaving.origin], 5, "the goodbye")
        assert observer.processes == {staying.origin}
    finally:
        for broker in (observer, staying):
            await broker.close()


async def test_a_document_opened_while_the_broker_resubscribes_is_subscribed_too(
    postgres_url: str, redis_url: str, prefix: str, redis: Redis
) -> None:
    # A reaches Redis through a relay the test controls; B directly.
    proxy = RedisProxy(redis_url)
    await proxy.start()
    clients: list[YClient] = []
    try:
        settings = cluster_settings(postgres_url, redis_url, prefix)
        async with (
            run_server(replace(settings, redis_url=proxy.url)) as a,
            run_server(settings) as b,
        ):
            room = await a.create_room()
            token = await a.join(room, Role.MEMBER, "Ann")

            # A loses Redis; its next attempt connects but gets no answer for now (as
            # from a Redis that is busy loading or paused during a failover). The hold
            # starts once A noticed the loss, well within its 0.1 s reconnect backoff;
            # should A be back already, the cycle is tried again.
            def attempt_or_back(since: int) -> Callable[[], bool]:
                return lambda: proxy.accepted > since or redis_broker(a).connected.is_set()

            for _ in range(5):
                proxy.cut()
                await eventually(
                    lambda: not redis_broker(a).connected.is_set(), 5, "A to lose Redis"
                )
                proxy.hold()
                await eventually(attempt_or_back(proxy.accepted), 10, "A's reconnect attempt")
                if not redis_broker(a).connected.is_set():
                    break
                proxy.release()
            else:
                raise RuntimeError("could not hold A's reconnect attempt")
            names = ["late-1", "late-2", "late-3"]
            for name in names:
                clients.append(await open_synced(doc_url(a, room, name), token))
            proxy.release()
            await eventually(
                lambda: redis_broker(a).connected.is_set(), 10, "A to reconnect to Redis"
            )

            channels = [f"{prefix}:doc:{a.live_document(room, n).info.id}" for n in names]
            counts = dict(await redis.pubsub_numsub(*channels))
            subscribers = {c: counts[c.encode()] for c in channels}
            # End to end: B's client writes on one of them; A must get it.
            bo = await connect(b, room, "Bo", doc=names[0])
            clients.append(bo)
            bo.insert(0, "from B")
            await eventually(
                lambda: a.live_text(room, names[0]) == "from B",
                5,
                f"B's edit to reach A (subscribers of the documents: {subscribers})",
            )
            assert subscribers == dict.fromkeys(channels, 1)
    finally:
        await close_all(clients)
        await proxy.close()


# ------------------------------------------------------------ subprocesses


async def test_sigkill_of_one_process_loses_nothing_older_than_the_write_behind_window(
    postgres_url: str, redis_url: str, prefix: str, launcher: Launcher, database: Database
) -> None:
    env = {"ROUNDTABLE_FLUSH_INTERVAL": "0.2"}
    common: dict[str, Any] = {
        "database_url": postgres_url,
        "redis_url": redis_url,
        "prefix": prefix,
        "env": env,
    }
    a = await launcher.start("a", **common)
    b = await launcher.start("b", **common)
    room = await database.create_room()
    x_token = await join_over_http(a.http, room, Role.MEMBER, "Xi")
    y_token = await join_over_http(b.http, room, Role.MEMBER, "Yu")
    x = await open_synced(doc_url(a, room), x_token)
    y = await open_synced(doc_url(b, room), y_token)
    clients = [x, y]
    try:
        t1, t2, t0 = "first words", ", then more", "C: "
        x.insert(0, t1)
        await y.wait_text(t1)

        async def t1_stored() -> bool:
            return await database.text(room) == t1

        await poll(t1_stored, 10, "A to store T1")
        await a.kill()
        await x.wait_closed()

        # X moves to B with the same token, and finds everything.
        x2 = await open_synced(doc_url(b, room), x_token)
        clients.append(x2)
        assert str(x2.text) == t1
        append(x2, t2)
        await y.wait_text(t1 + t2)

        async def everything_stored() -> bool:
            return await database.text(room) == t1 + t2

        await poll(everything_stored, 10, "B to store X's new edit")
        c = await launcher.start("c", **common)
        z = await connect(c, room, "Zo")
        clients.append(z)
        await z.wait_text(t1 + t2)
        # C is one of the cluster: its client's edits reach B's, and are stored.
        z.insert(0, t0)
        await y.wait_text(t0 + t1 + t2)
        await x2.wait_text(t0 + t1 + t2)

        async def all_stored() -> bool:
            return await database.text(room) == t0 + t1 + t2

        await poll(all_stored, 10, "C to store Z's edit")
        assert await database.rows(room) == 3
    finally:
        await close_all(clients)


async def test_an_edit_younger_than_the_window_is_stored_by_the_survivor_on_unload(
    postgres_url: str, redis_url: str, prefix: str, launcher: Launcher, database: Database
) -> None:
    common: dict[str, Any] = {
        "database_url": postgres_url,
        "redis_url": redis_url,
        "prefix": prefix,
    }
    # A would store the edit only after 600 s: it dies long before.
    a = await launcher.start("a", **common, env={"ROUNDTABLE_FLUSH_INTERVAL": "600"})
    b = await launcher.start(
        "b",
        **common,
        env={"ROUNDTABLE_FLUSH_INTERVAL": "0.2", "ROUNDTABLE_IDLE_UNLOAD_SECONDS": "0.3"},
    )
    room = await database.create_room()
    x = await connect(a, room, "Xi")
    y = await connect(b, room, "Yu")
    try:
        text = "typed just before the crash"
        x.insert(0, text)
        await y.wait_text(text)
        assert await database.text(room) == ""
        await a.kill()
        # Only B's memory holds the edit now. Once B's last client leaves, B unloads the
        # document, storing first what storage lacks.
        await y.close()

        async def stored() -> bool:
            return await database.text(room) == text

        await poll(stored, 10, "B to store the dead process's last edit on unload")
        assert await database.rows(room) == 1
        assert b.running
    finally:
        await close_all([x, y])


async def test_two_workers_on_one_port_work_end_to_end(
    postgres_url: str,
    redis_url: str,
    prefix: str,
    launcher: Launcher,
    database: Database,
    redis: Redis,
) -> None:
    # Only the shutdown flush of each worker can store its clients' words.
    served = await launcher.start(
        "workers",
        database_url=postgres_url,
        redis_url=redis_url,
        prefix=prefix,
        workers=2,
        env={"ROUNDTABLE_FLUSH_INTERVAL": "600"},
    )
    room = await database.create_room()
    url = doc_url(served, room)
    clients: list[YClient] = []
    try:
        tokens: list[str] = []

        async def open_client(index: int) -> YClient:
            token = await join_over_http(served.http, room, Role.MEMBER, f"Member {index}")
            tokens.append(token)
            return await open_synced(url, token)

        clients.extend(await asyncio.gather(*(open_client(i) for i in range(6))))
        document_id = await database.document_id(room)
        assert document_id is not None
        channel = f"{prefix}:doc:{document_id}"
        # Which worker accepts a connection is the kernel's choice; each worker holding
        # the document subscribes to its channel. Open more clients until both do.
        while dict(await redis.pubsub_numsub(channel))[channel.encode()] < 2:
            assert len(clients) < 40, "every connection went to the same worker"
            clients.extend(
                await asyncio.gather(
                    *(open_client(i) for i in range(len(clients), len(clients) + 4))
                )
            )
        print(f"{len(clients)} clients opened before both workers held the document")
        words = [f"word{i}" for i in range(len(clients))]
        for client, word in zip(clients, words, strict=True):
            client.insert(0, word + " ")
        probes: dict[str, Callable[[], str | None]] = {
            f"client {i}": text_probe(c) for i, c in enumerate(clients)
        }
        final = await converge(probes, words, 15)
        assert len(final) == sum(len(w) + 1 for w in words)
        await close_all(clients)

        code = await served.stop(signal.SIGTERM)
        assert code in (0, -signal.SIGTERM), served.log()[-4000:]
        stored = await database.text(room)
        assert sorted(stored.split()) == sorted(words), served.log()[-4000:]
        assert stored == final
        # Each worker logs like a single process: its own INFO lines, tokens redacted.
        log = served.log()
        joined = re.findall(r" INFO +roundtable\.sync: member \w+ joined ", log)
        assert len(joined) == len(clients), log[-4000:]
        assert not any(token in log for token in tokens), "a worker logged a token"
    finally:
        await close_all(clients)


async def test_awareness_of_a_killed_process_expires_on_the_survivor(
    postgres_url: str, redis_url: str, prefix: str, launcher: Launcher, database: Database
) -> None:
    common: dict[str, Any] = {
        "database_url": postgres_url,
        "redis_url": redis_url,
        "prefix": prefix,
    }
    a = await launcher.start("a", **common)
    b = await launcher.start("b", **common)
    room = await database.create_room()
    ann_id, cy_id = 4_300_003, 4_300_004
    ann = await connect(a, room, "Ann")
    # Python clients never renew nor expire states on their own (y-websocket's do).
    bo = await connect(b, room, "Bo")
    cy = await connect(b, room, "Cy")
    clients = [ann, bo, cy]
    try:
        await cy.send_awareness(awareness_update(cy_id, 1, {"user": {"name": "Cy"}}))
        await bo.wait_until(lambda: awareness_seen(bo).get(cy_id) is not None)
        await ann.send_awareness(awareness_update(ann_id, 1, {"user": {"name": "Ann"}}))
        await bo.wait_until(lambda: awareness_seen(bo).get(ann_id) is not None)
        seen_at = time.monotonic()

        # Nobody can tell B that Ann is gone: its state must expire there.
        await a.kill()
        await bo.wait_until(lambda: removed(bo, ann_id), AWARENESS_TIMEOUT + AWARENESS_SWEEP + 10)
        elapsed = time.monotonic() - seen_at
        print(f"a dead process's awareness state expired after {elapsed:.1f}s")
        assert elapsed <= AWARENESS_TIMEOUT + AWARENESS_SWEEP + timeout(3)
        # The state of B's own client, never renewed either, stays: it goes with its
        # connection, not by timeout.
        assert not removed(bo, cy_id)
        late = await connect(b, room, "Late", Role.OBSERVER)
        clients.append(late)
        await late.wait_until(lambda: awareness_seen(late).get(cy_id) is not None)
        assert ann_id not in awareness_seen(late)
    finally:
        await close_all(clients)


async def test_two_processes_started_together_on_a_fresh_database_both_serve(
    postgres_url: str, redis_url: str, prefix: str, launcher: Launcher, database: Database
) -> None:
    common: dict[str, Any] = {
        "database_url": postgres_url,
        "redis_url": redis_url,
        "prefix": prefix,
    }
    await upgrade(database.store.engine)

    async def both_waiting_for_a_lock() -> bool:
        async with database.store.engine.connect() as connection:
            waiting = await connection.scalar(
                sql(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            )
        return int(waiting or 0) >= 2

    # Hold every insert into rooms (reads still pass) until both processes are at the
    # point where they create the demo room: the race, made certain.
    async with database.store.engine.begin() as holder:
        await holder.execute(sql("LOCK TABLE rooms IN EXCLUSIVE MODE"))
        a = await launcher.start("a", **common, wait=False)
        b = await launcher.start("b", **common, wait=False)
        await poll(both_waiting_for_a_lock, 30, "both processes to wait on the rooms table")
    await a.wait_healthy()
    await b.wait_healthy()
    room = await database.create_room()
    x = await connect(a, room, "Xi")
    y = await connect(b, room, "Yu")
    try:
        x.insert(0, "both serve")
        await y.wait_text("both serve")
    finally:
        await close_all([x, y])


async def test_a_process_that_stops_cleanly_while_another_starts_is_not_taken_for_dead(
    postgres_url: str, redis_url: str, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    settings = cluster_settings(postgres_url, redis_url, prefix)
    async with run_server(settings) as first:
        # The record of a process that died: it never says it is alive, nor goodbye.
        await first.app_state.store.begin_run("a-dead-process", sole=False, stale_after=60)
        starting = run_server(settings)
        # A rolling restart: the second starts while the first runs, then the first stops
        # cleanly, before the second has checked the processes it found at start.
        second = await starting.__aenter__()
    try:
        assert sorted(second.app_state.other_runs) == sorted(
            [first.app_state.run_id, "a-dead-process"]
        )
        check = second.app_state.run_check
        assert check is not None
        with caplog.at_level("WARNING", logger="server.app"):
            await asyncio.wait_for(check, timeout(20))
        # The dead one's last edits may come back with its clients; the other stored its own.
        assert second.app_state.hub.recovery.active
        warnings = [
            r.getMessage() for r in caplog.records if "did not stop cleanly" in r.getMessage()
        ]
        assert warnings == ["1 process(es) did not stop cleanly: recovering their last edits"]
        assert await second.app_state.store.begin_run("later", sole=False, stale_after=60) == [
            second.app_state.run_id
        ]
    finally:
        await starting.__aexit__(None, None, None)
