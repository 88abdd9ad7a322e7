"""Who may open a WebSocket, how fast it may talk, and how long its token lets it stay.

Covers :mod:`server.sockets.admission` and its use by ``/sync/{room}/{doc}`` and
``/events/{room}``, against real servers (uvicorn in the test's loop) and real clients:

- the ``Origin`` check (cross-site WebSocket hijacking): a foreign origin is refused with
  HTTP 403 before anything opens, same-host origins, ``allowed_origins`` (case-insensitive,
  trailing slash) and clients without an Origin open; a refused attempt leaves the
  document's open clients alone;
- connection attempts per client address and minute: the attempt past the limit gets
  HTTP 429 with a JSON error, both sockets share the count, open sockets stay open, 0
  turns the limit off; :meth:`Admission.attempt` itself with an explicit clock (the 60 s
  sliding window, addresses apart, the bounded address table);
- :class:`MessageBudget` with an explicit clock (burst, refill, rate 0), and a flooding
  connection closed with 4429 on both sockets;
- a token that expires while its sockets are open closes both with 4401 "token expired",
  not before; the rest of the room goes on and what was written before expiry is kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
from dataclasses import dataclass
from typing import Literal

import pytest
from pycrdt import Text
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.http11 import Response

import server.sockets.admission as admission
from crdt.protocol import encode_sync_step1
from rooms.directory import CreatedRoom
from rooms.live.peer import CloseCode
from rooms.roles import Role
from server.config import Settings
from server.sockets.admission import Admission, MessageBudget
from server.tokens import TokenSigner
from tests.support.harness import RunningServer, run_server
from tests.support.settings import fast_settings
from tests.support.threads_client import EventFeed, Person, join, read_events
from tests.support.timing import eventually, timeout
from tests.support.yclient import YClient, open_synced

Kind = Literal["sync", "events"]
KINDS: tuple[Kind, ...] = ("sync", "events")
Headers = dict[str, str]

DOC = "guide"
EVIL = "https://evil.example"
# The lifetime of a short-lived token, in whole seconds: long enough for the waits made
# before it expires, which scale.
TOKEN_TTL = math.ceil(timeout(3.0))


# ------------------------------------------------------------------ clients


def socket_url(server: RunningServer, kind: Kind, room: str, token: str, doc: str = DOC) -> str:
    if kind == "sync":
        return f"{server.sync_url(room)}/{doc}?token={token}"
    return f"ws://127.0.0.1:{server.port}/events/{room}?token={token}"


def own_origin(server: RunningServer) -> str:
    """The origin of a page served by the server itself (the Host the client sends)."""
    return f"http://127.0.0.1:{server.port}"


async def open_sync(url: str, headers: Headers | None = None) -> YClient:
    """A y-websocket client that sent ``headers`` with its handshake, once synced."""
    ws = await connect(url, additional_headers=headers, max_size=None, open_timeout=timeout(5))
    client = YClient(ws)
    await client.send(encode_sync_step1(client.doc.get_state()))
    await client.wait_synced()
    return client


@dataclass
class EventSocket:
    """One connection to ``/events``: what it got, and how it closed."""

    ws: ClientConnection
    feed: EventFeed
    reader: asyncio.Task[None]

    @property
    def is_open(self) -> bool:
        return not self.reader.done()

    def _pongs(self) -> int:
        return sum(1 for m in self.feed.messages if m["type"] == "pong")

    async def ping(self) -> None:
        """Send a ping and wait for its pong: the socket is open and served."""
        pongs = self._pongs()
        await self.ws.send(json.dumps({"type": "ping"}))
        await eventually(lambda: self._pongs() > pongs, what="a pong")

    async def closed(self, seconds: float = 5.0) -> tuple[int | None, str]:
        """Wait for the server to close the connection; its close code and reason (a
        frame the reader could not take fails the test here)."""
        await asyncio.wait_for(asyncio.shield(self.reader), timeout(seconds))
        return self.ws.close_code, self.ws.close_reason or ""

    async def close(self) -> None:
        """Close, and fail the test if the reader met a frame it could not take."""
        await self.ws.close()
        await asyncio.wait_for(self.reader, timeout(5))


async def open_events(url: str, headers: Headers | None = None) -> EventSocket:
    """An event socket that sent ``headers`` with its handshake, once ``ready`` arrived."""
    ws = await connect(url, additional_headers=headers, open_timeout=timeout(5))
    feed = EventFeed()
    socket = EventSocket(ws, feed, asyncio.create_task(read_events(ws, feed)))
    await feed.wait_for(lambda m: m["type"] == "ready")
    return socket


async def opens(url: str, kind: Kind, headers: Headers | None = None) -> None:
    """The handshake is accepted and the socket served (synced, or ``ready``); then leave."""
    if kind == "sync":
        await (await open_sync(url, headers)).close()
    else:
        await (await open_events(url, headers)).close()


async def refused(url: str, headers: Headers | None = None) -> Response:
    """The HTTP response of a handshake the server refuses; fails if the socket opens."""
    try:
        ws = await connect(url, additional_headers=headers, open_timeout=timeout(5))
    except InvalidStatus as exc:
        return exc.response
    await ws.close()
    raise AssertionError(f"the handshake to {url} with {headers} was accepted")


def error_code(response: Response) -> str:
    assert response.headers.get("content-type") == "application/json", response.headers
    body = json.loads(bytes(response.body or b""))
    code: str = body["error"]["code"]
    assert body["error"]["message"]
    return code


async def assert_never_opened(
    server: RunningServer, room: CreatedRoom, person: Person, doc: str
) -> None:
    """Nothing of a refused handshake reached the room: no document, no presence."""
    assert await server.app_state.store.get_document(room.room.id, doc) is None
    assert server.app_state.roster.local_connections(room.room.id, person.id) == []


# ------------------------------------------------------------------ origin


@pytest.mark.parametrize("kind", KINDS)
async def test_a_foreign_origin_is_refused_with_403_and_never_opens(
    server: RunningServer, kind: Kind
) -> None:
    room = await server.create_room()
    ann = await join(server, room, Role.MEMBER, "Ann")
    url = socket_url(server, kind, room.room.slug, ann.token, doc="never-opened")
    foreign = [
        EVIL,
        "null",
        # Same address, another port: another origin.
        "http://127.0.0.1:1",
        f"http://localhost:{server.port}",
        # The server's host as user info of another host.
        f"http://127.0.0.1:{server.port}@evil.example",
        f"http://evil.example/127.0.0.1:{server.port}",
    ]
    for origin in foreign:
        response = await refused(url, {"Origin": origin})
        assert response.status_code == 403, origin
    await assert_never_opened(server, room, ann, "never-opened")


@pytest.mark.parametrize("kind", KINDS)
async def test_the_servers_own_origin_and_no_origin_open(server: RunningServer, kind: Kind) -> None:
    room = await server.create_room()
    ann = await join(server, room, Role.MEMBER, "Ann")
    url = socket_url(server, kind, room.room.slug, ann.token)
    await opens(url, kind, {"Origin": own_origin(server)})
    await opens(url, kind, {"Origin": own_origin(server) + "/"})
    # Python, Node and native clients send no Origin: they are not browsers.
    await opens(url, kind)


@pytest.mark.parametrize("kind", KINDS)
async def test_allowed_origins_open_whatever_their_case_and_trailing_slash(
    sqlite_url: str, kind: Kind
) -> None:
    settings = fast_settings(
        sqlite_url, allowed_origins="https://cohort.example.com, https://Other.Example/"
    )
    async with run_server(settings) as running:
        room = await running.create_room()
        ann = await join(running, room, Role.MEMBER, "Ann")
        url = socket_url(running, kind, room.room.slug, ann.token)
        for origin in (
            "https://cohort.example.com",
            "https://cohort.example.com/",
            "HTTPS://Cohort.Example.COM",
            "https://other.example",
            "https://other.example/",
            "https://OTHER.example",
            # The server's own host still passes besides the listed origins.
            own_origin(running),
        ):
            await opens(url, kind, {"Origin": origin})
        for origin in (
            EVIL,
            "https://unlisted.example",
            # Another scheme, port or host is another origin.
            "http://cohort.example.com",
            "https://cohort.example.com:8443",
            "https://cohort.example.com.evil.example",
            "https://sub.other.example",
        ):
            assert (await refused(url, {"Origin": origin})).status_code == 403, origin


async def test_a_refused_origin_leaves_the_documents_open_clients_alone(
    server: RunningServer,
) -> None:
    room = await server.create_room()
    ann = await join(server, room, Role.MEMBER, "Ann")
    bob = await join(server, room, Role.MEMBER, "Bob")
    url = server.sync_url(room.room.slug) + f"/{DOC}"
    a = await open_synced(url, ann.token)
    b = await open_synced(url, bob.token)
    a.insert(0, "before")
    await b.wait_text("before")
    # A hijacking page borrows Bob's credentials: same document, same token.
    for kind in KINDS:
        hijack = socket_url(server, kind, room.room.slug, bob.token)
        assert (await refused(hijack, {"Origin": EVIL})).status_code == 403
    assert a.is_open and b.is_open
    a.insert(6, ", after")
    await b.wait_text("before, after")
    b.insert(0, "> ")
    await a.wait_text("> before, after")
    await a.close()
    await b.close()


@pytest.mark.parametrize("kind", KINDS)
async def test_a_malformed_origin_is_refused_with_403(server: RunningServer, kind: Kind) -> None:
    room = await server.create_room()
    ann = await join(server, room, Role.MEMBER, "Ann")
    url = socket_url(server, kind, room.room.slug, ann.token)
    response = await refused(url, {"Origin": "http://[evil"})
    assert response.status_code == 403


# ------------------------------------------------------------------ connection attempts


async def test_the_attempt_past_the_limit_is_refused_with_429_and_open_sockets_stay(
    sqlite_url: str,
) -> None:
    async with run_server(fast_settings(sqlite_url, max_connection_attempts_per_minute=3)) as s:
        room = await s.create_room()
        # HTTP requests are not WebSocket handshakes: joining counts for nothing.
        ann = await join(s, room, Role.MEMBER, "Ann")
        bob = await join(s, room, Role.MEMBER, "Bob")
        slug = room.room.slug
        # Three handshakes, sync and events alike, all from 127.0.0.1.
        a = await open_sync(socket_url(s, "sync", slug, ann.token))
        events = await open_events(socket_url(s, "events", slug, ann.token))
        b = await open_sync(socket_url(s, "sync", slug, bob.token))

        past_the_limit: tuple[Kind, ...] = ("events", "sync", "sync")
        for kind in past_the_limit:
            response = await refused(socket_url(s, kind, slug, bob.token, doc="fourth"))
            assert response.status_code == 429, kind
            assert error_code(response) == "too_many_connections"
        await assert_never_opened(s, room, bob, "fourth")

        assert a.is_open and b.is_open and events.is_open
        a.insert(0, "still here")
        await b.wait_text("still here")
        b.insert(0, "> ")
        await a.wait_text("> still here")
        await events.ping()
        for client in (a, b):
            await client.close()
        await events.close()


async def test_addresses_are_counted_apart(sqlite_url: str) -> None:
    """Behind a trusted proxy (uvicorn trusts X-Forwarded-For from 127.0.0.1), each
    forwarded address has its own count."""
    async with run_server(fast_settings(sqlite_url, max_connection_attempts_per_minute=2)) as s:
        room = await s.create_room()
        ann = await join(s, room, Role.MEMBER, "Ann")
        sync = socket_url(s, "sync", room.room.slug, ann.token)
        events = socket_url(s, "events", room.room.slug, ann.token)
        first, second = {"X-Forwarded-For": "203.0.113.1"}, {"X-Forwarded-For": "203.0.113.2"}
        await opens(sync, "sync", first)
        await opens(events, "events", first)
        assert (await refused(sync, first)).status_code == 429
        assert (await refused(events, first)).status_code == 429
        await opens(events, "events", second)
        await opens(sync, "sync", second)
        await opens(sync, "sync")
        assert (await refused(sync, second)).status_code == 429


async def test_zero_turns_the_attempt_limit_off(sqlite_url: str) -> None:
    async with run_server(fast_settings(sqlite_url, max_connection_attempts_per_minute=0)) as s:
        room = await s.create_room()
        ann = await join(s, room, Role.MEMBER, "Ann")
        for i in range(20):
            kind = KINDS[i % 2]
            await opens(socket_url(s, kind, room.room.slug, ann.token), kind)


def attempts(limit: int) -> Admission:
    return Admission(Settings(max_connection_attempts_per_minute=limit))


def test_attempts_count_over_a_sliding_60_second_window() -> None:
    gate = attempts(3)
    t0 = 1000.0
    assert [gate.attempt("10.0.0.1", now=t0 + dt) for dt in (0, 10, 20)] == [True] * 3
    # Refused attempts are not counted: they do not push the window on.
    for dt in (20, 30, 45, 59.9):
        assert not gate.attempt("10.0.0.1", now=t0 + dt), dt
    # 60 s after the first attempt, it no longer counts; the two others still do.
    assert gate.attempt("10.0.0.1", now=t0 + 60)
    assert not gate.attempt("10.0.0.1", now=t0 + 69.9)
    assert gate.attempt("10.0.0.1", now=t0 + 70)
    assert not gate.attempt("10.0.0.1", now=t0 + 79)
    # Long after, the full allowance is back.
    assert [gate.attempt("10.0.0.1", now=t0 + 500) for _ in range(4)] == [True] * 3 + [False]


def test_each_address_has_its_own_count() -> None:
    gate = attempts(2)
    now = 50.0
    assert [gate.attempt("10.0.0.1", now=now) for _ in range(3)] == [True, True, False]
    assert [gate.attempt("10.0.0.2", now=now) for _ in range(3)] == [True, True, False]
    assert gate.attempt("::1", now=now)
    assert not gate.attempt("10.0.0.1", now=now + 1)


def test_zero_attempts_means_no_limit() -> None:
    gate = attempts(0)
    assert all(gate.attempt("10.0.0.1", now=1.0) for _ in range(1000))
    assert all(gate.attempt("10.0.0.1") for _ in range(100))


def test_the_address_attempted_least_recently_is_forgotten_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(admission, "MAX_ADDRESSES", 2)
    gate = attempts(1)
    assert gate.attempt("a", now=1.0)
    assert gate.attempt("b", now=2.0)
    # A refused attempt is an attempt too: "a" is now the latest, "b" the oldest.
    assert not gate.attempt("a", now=3.0)
    assert gate.attempt("c", now=4.0)
    assert gate.attempt("b", now=5.0), "b was forgotten"
    # Remembering b again forgot a, the oldest; b is counted again.
    assert gate.attempt("a", now=6.0), "a was forgotten"
    assert not gate.attempt("a", now=6.5)
    assert not gate.attempt("b", now=7.0)


# ------------------------------------------------------------------ message budget


def clock() -> float:
    """A starting time after the budget's creation, on a whole second: the budget
    reads the monotonic clock when created, and sums of whole and half seconds are exact."""
    return float(math.ceil(time.monotonic())) + 1.0


def test_a_budget_allows_its_burst_then_refills_at_its_rate() -> None:
    budget = MessageBudget(rate=2.0, burst=5)
    t0 = clock()
    assert [budget.spend(now=t0) for _ in range(6)] == [True] * 5 + [False]
    assert not budget.spend(now=t0 + 0.25), "half a message refilled is not one"
    assert budget.spend(now=t0 + 0.5)
    assert not budget.spend(now=t0 + 0.5)
    # Two a second: three seconds refill six, capped at the burst of five.
    assert [budget.spend(now=t0 + 3.5) for _ in range(6)] == [True] * 5 + [False]
    # A steady two a second goes on for ever.
    assert all(budget.spend(now=t0 + 4.0 + n / 2) for n in range(100))
    assert not budget.spend(now=t0 + 4.0 + 99 / 2)


def test_a_budget_below_one_message_still_allows_one() -> None:
    budget = MessageBudget(rate=1.0, burst=0)
    t0 = clock()
    assert [budget.spend(now=t0) for _ in range(2)] == [True, False]
    assert budget.spend(now=t0 + 1.0)


def test_rate_zero_is_unlimited() -> None:
    budget = MessageBudget(rate=0.0, burst=1)
    t0 = clock()
    assert all(budget.spend(now=t0) for _ in range(10_000))
    assert all(budget.spend() for _ in range(1000))


async def test_a_flooding_connection_is_closed_with_4429_on_both_sockets(sqlite_url: str) -> None:
    settings = fast_settings(sqlite_url, max_messages_per_second=1.0, message_burst=6)
    async with run_server(settings) as s:
        room = await s.create_room()
        ann = await join(s, room, Role.MEMBER, "Ann")
        bob = await join(s, room, Role.MEMBER, "Bob")
        url = s.sync_url(room.room.slug) + f"/{DOC}"
        flooder = await open_synced(url, ann.token)
        calm = await open_synced(url, bob.token)
        for _ in range(20):
            await flooder.send(encode_sync_step1(flooder.doc.get_state()))
        assert await flooder.wait_closed() == (CloseCode.TOO_MANY_MESSAGES, "too many messages")
        # The budget is the connection's own: the other client goes on.
        assert calm.is_open
        calm.insert(0, "calm")
        witness = await open_synced(url, bob.token)
        await witness.wait_text("calm")

        events = await open_events(socket_url(s, "events", room.room.slug, ann.token))
        for _ in range(20):
            with contextlib.suppress(ConnectionClosed):
                await events.ws.send(json.dumps({"type": "ping"}))
        assert await events.closed() == (CloseCode.TOO_MANY_MESSAGES, "too many messages")
        for client in (calm, witness):
            await client.close()


# ------------------------------------------------------------------ token expiry


async def short_lived_token(
    server: RunningServer, room: CreatedRoom, ttl: int, name: str = "Eve"
) -> tuple[Person, int]:
    """A real participant with a token signed by the app's secret that expires within
    ``ttl`` seconds (tokens count whole seconds: between ``ttl - 1`` and ``ttl``)."""
    participant, joined = await server.app_state.directory.join(room.invites[Role.MEMBER], name)
    secret = server.settings.secret_key
    assert secret is not None
    token, expires_at = TokenSigner(secret, ttl).issue(participant, joined)
    person = Person(server.http, joined.slug, token, participant.id, name, Role.MEMBER)
    return person, expires_at


def told_to_close(ws: ClientConnection) -> bool:
    """Whether the server's close frame arrived. The connection itself may end later:
    the server drops it once its close grace is over."""
    return ws.protocol.close_rcvd is not None


async def close_frames(*sockets: ClientConnection, seconds: float = 6.0) -> list[float]:
    """When (wall-clock) each socket got the server's close frame, all watched at once."""
    arrived: dict[int, float] = {}

    def all_arrived() -> bool:
        now = time.time()
        for index, ws in enumerate(sockets):
            if index not in arrived and told_to_close(ws):
                arrived[index] = now
        return len(arrived) == len(sockets)

    await eventually(all_arrived, seconds, "the server's close frames")
    return [arrived[index] for index in range(len(sockets))]


async def test_an_expiring_token_closes_its_sockets_with_4401_and_the_room_goes_on(
    server: RunningServer,
) -> None:
    room = await server.create_room()
    bob = await join(server, room, Role.MEMBER, "Bob")
    carol = await join(server, room, Role.MEMBER, "Carol")
    eve, expires_at = await short_lived_token(server, room, ttl=TOKEN_TTL)
    url = server.sync_url(room.room.slug) + f"/{DOC}"

    b = await open_synced(url, bob.token)
    bob_events = await open_events(socket_url(server, "events", room.room.slug, bob.token))
    # Served, so the token was still valid when they opened.
    e = await open_synced(url, eve.token)
    eve_events = await open_events(socket_url(server, "events", room.room.slug, eve.token))
    assert server.app_state.roster.local_connections(room.room.id, eve.id)

    e.insert(0, "Eve wrote this. ")
    await b.wait_text("Eve wrote this. ")
    b.insert(16, "Bob answered.")
    await e.wait_text("Eve wrote this. Bob answered.")

    closed_at = await close_frames(e.ws, eve_events.ws)
    assert min(closed_at) >= expires_at - 0.05, "closed before the token expired"
    assert await e.wait_closed() == (CloseCode.UNAUTHORIZED, "token expired")
    assert await eve_events.closed() == (CloseCode.UNAUTHORIZED, "token expired")
    await eventually(
        lambda: not server.app_state.roster.local_connections(room.room.id, eve.id),
        what="Eve to leave the roster",
    )

    # Bob's token is good for days: his sockets stay, he edits and gets edits.
    assert b.is_open and bob_events.is_open
    await bob_events.ping()
    b.insert(0, "# Notes\n")
    c = await open_synced(url, carol.token)
    await c.wait_text("# Notes\nEve wrote this. Bob answered.")
    c.insert(len(str(c.text)), " Carol agrees.")
    expected = "# Notes\nEve wrote this. Bob answered. Carol agrees."
    await b.wait_text(expected)

    stored = await server.stored_document(room, DOC)
    assert str(stored.get("text", type=Text)) == expected
    for client in (b, c):
        await client.close()
    await bob_events.close()


async def test_a_socket_is_not_closed_before_its_token_expires(server: RunningServer) -> None:
    room = await server.create_room()
    bob = await join(server, room, Role.MEMBER, "Bob")
    eve, expires_at = await short_lived_token(server, room, ttl=TOKEN_TTL)
    url = server.sync_url(room.room.slug) + f"/{DOC}"
    b = await open_synced(url, bob.token)
    e = await open_synced(url, eve.token)
    eve_events = await open_events(socket_url(server, "events", room.room.slug, eve.token))

    # Waiting on the clock is the point: the token's expiry is a wall-clock time. What
    # follows (two edits and a ping) has to fit in what is left of the token's life.
    await eventually(
        lambda: time.time() >= expires_at - timeout(0.5),
        seconds=5,
        what="the token to near expiry",
    )
    assert not told_to_close(e.ws) and not told_to_close(eve_events.ws), (
        "closed before the token expired"
    )
    b.insert(0, "last call")
    await e.wait_text("last call")
    e.insert(0, "> ")
    await b.wait_text("> last call")
    await eve_events.ping()

    closed_at = await close_frames(e.ws, eve_events.ws)
    assert min(closed_at) >= expires_at - 0.05, "closed before the token expired"
    assert await e.wait_closed() == (CloseCode.UNAUTHORIZED, "token expired")
    assert await eve_events.closed() == (CloseCode.UNAUTHORIZED, "token expired")
    assert b.is_open
    await b.close()


@pytest.mark.parametrize("kind", KINDS)
async def test_an_expired_token_closes_at_once_not_after_the_close_grace(
    sqlite_url: str, kind: Kind
) -> None:
    # The grace is how long a closed client may take to read its close frame; a socket
    # whose token expired is told at the expiry, however long the grace.
    async with run_server(fast_settings(sqlite_url, close_grace_seconds=100.0)) as server:
        room = await server.create_room()
        eve, expires_at = await short_lived_token(server, room, ttl=TOKEN_TTL)
        if kind == "sync":
            client = await open_synced(server.sync_url(room.room.slug) + f"/{DOC}", eve.token)
            ws = client.ws
        else:
            events = await open_events(socket_url(server, "events", room.room.slug, eve.token))
            ws = events.ws
        (closed_at,) = await close_frames(ws, seconds=TOKEN_TTL + 6.0)
        assert closed_at >= expires_at - 0.05, "closed before the token expired"
        close = ws.protocol.close_rcvd
        assert close is not None
        assert (close.code, close.reason) == (CloseCode.UNAUTHORIZED, "token expired")
