"""Abuse limits, end to end: messages per second, documents per room, clients per document.

Each limit is checked against a real server (``run_server``) with real clients: the
Python y-websocket client of :mod:`tests.support.yclient` on ``/sync`` and raw JSON sockets on
``/events``. Every test of a limit shows three things:

- the limit bites: the offender gets its close code (4429 for a connection that sends
  faster than ``max_messages_per_second`` allows beyond ``message_burst``; 4409, after a
  y-websocket permission-denied auth message, for a document or a room that is full),
  or HTTP 409 ``too_many_documents`` for ``POST /api/rooms/{room}/documents``;
- everyone else is unaffected: other connections stay open and keep syncing;
- nothing accepted is lost and nothing refused leaves a trace: the stored document
  equals what the remaining clients and a fresh joiner see, and a refused document is
  never stored.

Companion tests show that traffic within a limit, or with the limit turned off (0),
passes. Nothing waits a fixed time: waits are on messages or on ``eventually``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from pycrdt import Doc, Text
from websockets.exceptions import ConnectionClosed

from crdt.protocol import decode_message, encode_update
from rooms.directory import CreatedRoom
from rooms.live.peer import CloseCode
from rooms.records import DocumentInfo
from rooms.roles import Role
from tests.support.harness import RunningServer, run_server
from tests.support.settings import fast_settings
from tests.support.threads_client import EventConnection, Person, event_connection, events_url, join
from tests.support.timing import eventually, timeout
from tests.support.yclient import YClient, open_synced

DOC = "guide"
# The message budget of the rate tests: 5 a second on average, 10 at once.
RATE = 5.0
BURST = 10
# Messages a y-websocket client sends to join: its sync step 1, and the step 2
# answering the server's step 1. They are spent from the same budget.
HANDSHAKE_MESSAGES = 2
# Far more messages than the budget allows, sent at once.
FLOOD = 40
TOO_MANY = "too many messages"


# ------------------------------------------------------------------ servers


@asynccontextmanager
async def limited_server(database_url: str, **limits: object) -> AsyncIterator[RunningServer]:
    """A server with the given limits; every other limit keeps its (generous) default."""
    async with run_server(fast_settings(database_url, **limits)) as running:
        yield running


@pytest.fixture
async def rate_server(sqlite_url: str) -> AsyncIterator[RunningServer]:
    async with limited_server(
        sqlite_url, max_messages_per_second=RATE, message_burst=BURST
    ) as running:
        yield running


# ------------------------------------------------------- sync clients and storage


def doc_url(server: RunningServer, room: CreatedRoom, name: str = DOC) -> str:
    return f"{server.sync_url(room.room.slug)}/{name}"


class Typist(YClient):
    """A client that types ahead: it prepares its edits as separate updates (which its
    own document takes at once), then sends them as fast as the socket takes them."""

    def type_ahead(self, typed: str) -> list[bytes]:
        """``typed`` appended to the text one character at a time: one update per
        character, each building on the one before, so any prefix of the updates makes
        the same prefix of ``typed``. Nothing is sent yet."""
        draft: Doc[Any] = Doc()
        draft.apply_update(self.doc.get_update())
        text = draft.get("text", type=Text)
        updates = []
        for character in typed:
            before = draft.get_state()
            text.insert(len(text), character)
            update = draft.get_update(before)
            # As a remote update, so that the client does not send it on its own.
            self._apply(update)
            updates.append(update)
        return updates

    async def send_all(self, updates: list[bytes]) -> None:
        for update in updates:
            await self.send(encode_update(update))


async def open_typist(url: str, token: str) -> Typist:
    client = await Typist.open(url, token)
    await client.wait_synced()
    assert isinstance(client, Typist)
    return client


def letters(count: int) -> str:
    """``count`` characters, in a pattern that shows which ones arrived."""
    return "".join(chr(ord("a") + i % 26) for i in range(count))


async def stored_text(server: RunningServer, room: CreatedRoom, name: str = DOC) -> str:
    """The document's text as rebuilt from the database, after a flush."""
    return str((await server.stored_document(room, name)).get("text", type=Text))


async def document_names(server: RunningServer, room: CreatedRoom) -> list[str]:
    return [d.name for d in await server.app_state.store.list_documents(room.room.id)]


Fingerprint = tuple[list[tuple[int, str, str]], int]


async def storage_fingerprint(server: RunningServer, room: CreatedRoom) -> Fingerprint:
    """What storage holds of a room: its documents (ids, names, texts) and event count."""
    documents = await server.app_state.store.list_documents(room.room.id)
    texts = [(d.id, d.name, await stored_text(server, room, d.name)) for d in documents]
    return texts, await server.app_state.store.last_event_seq(room.room.id)


async def eventually_stored(server: RunningServer, room: CreatedRoom, name: str, text: str) -> bool:
    """Wait until the server holds ``text`` for the document, then whether it stored it."""
    await eventually(lambda: server.live_text(room, name) == text, what=f"{text!r} on the server")
    return await stored_text(server, room, name) == text


def holders(server: RunningServer, room: CreatedRoom, name: str = DOC) -> int:
    """How many connections the process counts on a loaded document (0 if not loaded)."""
    for document in server.app_state.hub.documents.values():
        if document.info.room_id == room.room.id and document.info.name == name:
            return document.holders
    return 0


async def assert_refused(client: YClient, code: int, reason: str) -> None:
    """``client`` was told it is refused (auth message), then closed, and got no
    document data: the only frames it received are auth messages."""
    closed_code, closed_reason = await client.wait_closed()
    assert (closed_code, closed_reason) == (code, reason)
    assert client.denied == [reason]
    assert [type(decode_message(f)).__name__ for f in client.frames] == ["PermissionDenied"]
    await client.close()


async def close_all(*clients: YClient) -> None:
    for client in clients:
        await client.close()


# ------------------------------------------------------------------ event sockets


class EventSocket(EventConnection):
    """One raw ``/events`` connection, with what the rate tests ask of it."""

    def pongs(self) -> int:
        return sum(1 for m in self.feed.messages if m["type"] == "pong")

    async def ping(self) -> None:
        """Send a ping and wait for its pong."""
        answered = self.pongs()
        await self.ws.send(json.dumps({"type": "ping"}))
        await eventually(lambda: self.pongs() > answered, what="a pong")

    async def roster_ids(self, expected: set[str]) -> None:
        """Wait for a roster message listing exactly the participants ``expected``."""
        await self.feed.wait_for(
            lambda m: m["type"] == "roster" and {p["id"] for p in m["participants"]} == expected
        )

    async def closed(self) -> tuple[int | None, str]:
        await asyncio.wait_for(asyncio.shield(self.reader), timeout(5.0))
        return self.ws.close_code, self.ws.close_reason or ""

    @property
    def is_open(self) -> bool:
        return not self.reader.done()


@asynccontextmanager
async def event_socket(server: RunningServer, person: Person) -> AsyncIterator[EventSocket]:
    """Connect to the room's event socket as ``person`` and wait for ``ready``."""
    async with event_connection(events_url(server, person), ("ready",)) as connection:
        yield EventSocket(connection.ws, connection.feed, connection.reader)


async def send_pings(socket: EventSocket, count: int) -> None:
    ping = json.dumps({"type": "ping"})
    with contextlib.suppress(ConnectionClosed):
        for _ in range(count):
            await socket.ws.send(ping)


# ------------------------------------------------------- messages on /sync


async def test_a_sync_flood_closes_only_the_flooder_and_keeps_what_it_accepted(
    rate_server: RunningServer,
) -> None:
    server = rate_server
    room = await server.create_room()
    url = doc_url(server, room)
    watcher = await open_synced(url, await server.join(room, Role.MEMBER, "Wat"))
    editor = await open_synced(url, await server.join(room, Role.MEMBER, "Ed"))
    editor.insert(0, "base:")
    await watcher.wait_text("base:")
    flooder = await open_typist(url, await server.join(room, Role.MEMBER, "Flo"))
    await flooder.wait_text("base:")

    typed = letters(FLOOD)
    await flooder.send_all(flooder.type_ahead(typed))
    assert await flooder.wait_closed() == (CloseCode.TOO_MANY_MESSAGES, TOO_MANY)

    # The others stay connected and keep syncing: an edit made after the close reaches
    # the watcher, and lands before everything else whatever the editor had received.
    editor.insert(0, ">")
    await watcher.wait_until(lambda: str(watcher.text).startswith(">base:"))
    assert watcher.is_open and editor.is_open

    # What the server accepted before the close (the burst, less the handshake) is
    # stored in order, and everyone converges on exactly that.
    stored = await stored_text(server, room)
    accepted = len(stored) - len(">base:")
    assert BURST - HANDSHAKE_MESSAGES <= accepted < FLOOD, stored
    assert stored == ">base:" + typed[:accepted]
    fresh = await open_synced(url, await server.join(room, Role.OBSERVER, "Fred"))
    for client in (watcher, editor, fresh):
        await client.wait_text(stored)
    assert server.live_text(room, DOC) == stored
    await close_all(watcher, editor, fresh, flooder)


async def type_and_stay_connected(server: RunningServer, count: int) -> None:
    """One client sends ``count`` one-letter updates at once: it stays connected, a
    reader gets them all and replies, and storage holds every one."""
    room = await server.create_room()
    url = doc_url(server, room)
    writer = await open_typist(url, await server.join(room, Role.MEMBER, "Wri"))
    reader = await open_synced(url, await server.join(room, Role.MEMBER, "Rea"))
    typed = letters(count)
    await writer.send_all(writer.type_ahead(typed))
    await reader.wait_text(typed)
    reader.insert(0, ">")
    await writer.wait_text(">" + typed)
    assert writer.is_open and reader.is_open
    assert await stored_text(server, room) == ">" + typed
    await close_all(writer, reader)


async def test_sync_messages_within_the_burst_are_all_accepted(
    rate_server: RunningServer,
) -> None:
    # With the handshake, exactly the burst: the last message spends the last token.
    await type_and_stay_connected(rate_server, BURST - HANDSHAKE_MESSAGES)


async def test_a_sync_flood_passes_when_the_rate_limit_is_off(sqlite_url: str) -> None:
    async with limited_server(sqlite_url, max_messages_per_second=0, message_burst=BURST) as server:
        await type_and_stay_connected(server, 200)


# ----------------------------------------------------- messages on /events


async def test_an_event_socket_flood_closes_only_the_flooder(rate_server: RunningServer) -> None:
    server = rate_server
    room = await server.create_room()
    flo = await join(server, room, Role.MEMBER, "Flo")
    ann = await join(server, room, Role.MEMBER, "Ann")
    async with event_socket(server, ann) as bystander:
        async with event_socket(server, flo) as flooder:
            await bystander.roster_ids({ann.id, flo.id})
            await send_pings(flooder, FLOOD)
            assert await flooder.closed() == (CloseCode.TOO_MANY_MESSAGES, TOO_MANY)
            # Each ping the budget allowed was answered before the close.
            assert BURST <= flooder.pongs() < FLOOD
        # The bystander stays connected, sees the flooder leave, and is still answered.
        await bystander.roster_ids({ann.id})
        await bystander.ping()
        assert bystander.is_open
    async with event_socket(server, flo) as again:
        await again.ping()


@pytest.mark.parametrize(
    ("rate", "pings"),
    [(RATE, BURST), (0.0, 200)],
    ids=["within the burst", "limit off"],
)
async def test_event_socket_pings_within_the_limit_are_all_answered(
    sqlite_url: str, rate: float, pings: int
) -> None:
    async with limited_server(
        sqlite_url, max_messages_per_second=rate, message_burst=BURST
    ) as server:
        room = await server.create_room()
        ann = await join(server, room, Role.MEMBER, "Ann")
        async with event_socket(server, ann) as socket:
            await send_pings(socket, pings)
            await eventually(lambda: socket.pongs() == pings, what=f"{pings} pongs")
            assert socket.is_open


# --------------------------------------------------- documents per room


async def test_a_full_room_refuses_a_new_document_and_keeps_its_own(database_url: str) -> None:
    async with limited_server(database_url, max_documents_per_room=2) as server:
        room = await server.create_room()
        fay = await join(server, room, Role.FACILITATOR, "Fay")
        ann = await join(server, room, Role.MEMBER, "Ann")
        bob = await join(server, room, Role.MEMBER, "Bob")
        # One document made by connecting to a new name, one over HTTP.
        guide = await open_synced(doc_url(server, room), ann.token)
        guide.insert(0, "one")
        await fay.ok("POST", "/documents", {"name": "notes"}, status=201)
        notes = await open_synced(doc_url(server, room, "notes"), ann.token)
        notes.insert(0, "two")
        await eventually(lambda: server.live_text(room, "notes") == "two", what="the edit")
        await eventually(lambda: server.live_text(room, DOC) == "one", what="the edit")
        before = await storage_fingerprint(server, room)
        assert [(name, text) for _, name, text in before[0]] == [(DOC, "one"), ("notes", "two")]

        third = await YClient.open(doc_url(server, room, "third"), bob.token)
        await assert_refused(third, CloseCode.CONFLICT, "a room holds at most 2 documents")
        response = await fay.call("POST", "/documents", {"name": "fourth"})
        assert response.status_code == 409, response.text
        assert response.json()["error"]["code"] == "too_many_documents"
        # A name that exists is still answered as such.
        response = await fay.call("POST", "/documents", {"name": "notes"})
        assert response.json()["error"]["code"] == "document_exists"

        assert await storage_fingerprint(server, room) == before
        assert holders(server, room, "third") == holders(server, room, "fourth") == 0

        # The existing documents still open and sync, for newcomers too.
        for name, text, writer in ((DOC, "one", guide), ("notes", "two", notes)):
            newcomer = await open_synced(doc_url(server, room, name), bob.token)
            await newcomer.wait_text(text)
            newcomer.insert(len(text), "!")
            await writer.wait_text(text + "!")
            assert await stored_text(server, room, name) == text + "!"
            await newcomer.close()
        # The limit is per room: another room still makes documents.
        other = await server.create_room("Another room")
        elsewhere = await open_synced(
            doc_url(server, other, "third"), await server.join(other, Role.MEMBER)
        )
        elsewhere.insert(0, "three")
        assert await eventually_stored(server, other, "third", "three")
        await close_all(guide, notes, elsewhere)


async def test_documents_are_unlimited_when_the_limit_is_off(sqlite_url: str) -> None:
    async with limited_server(sqlite_url, max_documents_per_room=0) as server:
        room = await server.create_room()
        fay = await join(server, room, Role.FACILITATOR, "Fay")
        names = [f"doc{i}" for i in range(6)]
        for name in names[:3]:
            await fay.ok("POST", "/documents", {"name": name}, status=201)
        for name in names[3:]:
            client = await open_synced(doc_url(server, room, name), fay.token)
            await client.close()
        assert sorted(await document_names(server, room)) == names


@dataclass
class Gate:
    """Holds each caller until ``parties`` callers wait at once, then lets them all go
    together: none goes on before all are in flight. Should fewer ever wait at once (the
    server lets them through one at a time), the first to wait ``patience`` seconds opens
    the gate for good, and ``overlapped`` stays False."""

    parties: int
    patience: float
    waiting: int = 0
    overlapped: bool = False
    opened: asyncio.Event = field(default_factory=asyncio.Event)

    async def wait(self) -> None:
        if not self.opened.is_set():
            self.waiting += 1
            if self.waiting == self.parties:
                self.overlapped = True
                self.opened.set()
        try:
            await asyncio.wait_for(self.opened.wait(), self.patience)
        except TimeoutError:
            self.opened.set()


@pytest.mark.parametrize("via", ["sync", "http"])
async def test_concurrent_creations_respect_the_document_limit(
    database_url: str, via: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = [f"doc{i}" for i in range(6)]
    async with limited_server(database_url, max_documents_per_room=2) as server:
        room = await server.create_room()
        fay = await join(server, room, Role.FACILITATOR, "Fay")
        # Every creation reaches the store at the same moment: the gate holds them until
        # all six are in flight, as they may be by chance in production. Counting and
        # creating must be one step there, or all six see room to spare.
        store = server.app_state.store
        create = store.create_document
        gate = Gate(len(names), timeout(5.0))

        async def created_together(room_id: int, name: str, limit: int = 0) -> DocumentInfo:
            await gate.wait()
            return await create(room_id, name, limit)

        monkeypatch.setattr(store, "create_document", created_together)
        if via == "sync":
            clients = await asyncio.gather(
                *(YClient.open(doc_url(server, room, name), fay.token) for name in names)
            )
            # Each connection is either refused or served its (empty) document.
            await eventually(
                lambda: all(c.frames or c.closed.is_set() for c in clients),
                seconds=10,
                what="an answer on every connection",
            )
            await close_all(*clients)
        else:
            async with fay.client() as http:
                # Longer than the gate's patience: a request it held is answered late.
                http.timeout = httpx.Timeout(timeout(15.0))
                responses = await asyncio.gather(
                    *(http.post("/documents", json={"name": name}) for name in names)
                )
        monkeypatch.undo()
        assert gate.overlapped, (
            f"at most {gate.waiting} of {len(names)} creations were in flight at once"
        )
        if via == "http":
            assert sorted(r.status_code for r in responses) == [201, 201] + [409] * 4
        assert len(await document_names(server, room)) == 2


# ---------------------------------------------------- clients per document


async def test_a_full_document_refuses_a_client_and_admits_one_when_a_seat_frees(
    sqlite_url: str,
) -> None:
    async with limited_server(sqlite_url, max_clients_per_document=2) as server:
        room = await server.create_room()
        url = doc_url(server, room)
        a = await open_synced(url, await server.join(room, Role.MEMBER, "Ann"))
        b = await open_synced(url, await server.join(room, Role.MEMBER, "Bob"))
        a.insert(0, "ab")
        await b.wait_text("ab")
        cy_token = await server.join(room, Role.MEMBER, "Cy")

        refused = await YClient.open(url, cy_token)
        await assert_refused(refused, CloseCode.CONFLICT, "a document takes 2 clients at most")
        assert holders(server, room) == 2

        # The two first keep syncing both ways.
        b.insert(2, "c")
        await a.wait_text("abc")
        a.insert(0, ">")
        await b.wait_text(">abc")
        # Another document of the room is not full.
        notes = await open_synced(doc_url(server, room, "notes"), cy_token)
        notes.insert(0, "elsewhere")
        assert await eventually_stored(server, room, "notes", "elsewhere")

        # Once one leaves, a newcomer is admitted and gets everything.
        await b.close()
        await eventually(lambda: holders(server, room) == 1, what="the server to see Bob leave")
        c = await open_synced(url, cy_token)
        await c.wait_text(">abc")
        c.insert(4, "d")
        await a.wait_text(">abcd")
        assert await stored_text(server, room) == ">abcd"
        # And the document is full again.
        late = await YClient.open(url, await server.join(room, Role.OBSERVER, "Dee"))
        await assert_refused(late, CloseCode.CONFLICT, "a document takes 2 clients at most")
        assert a.is_open and c.is_open
        await close_all(a, c, notes)


async def test_concurrent_connections_to_a_document_admit_exactly_the_limit(
    sqlite_url: str,
) -> None:
    async with limited_server(sqlite_url, max_clients_per_document=2) as server:
        room = await server.create_room()
        url = doc_url(server, room)
        tokens = [await server.join(room, Role.MEMBER, f"P{i}") for i in range(6)]
        clients = await asyncio.gather(*(YClient.open(url, token) for token in tokens))
        await eventually(
            lambda: all(c.synced.is_set() or c.closed.is_set() for c in clients),
            what="an answer on every connection",
        )
        admitted = [c for c in clients if c.is_open]
        refused = [c for c in clients if not c.is_open]
        assert len(admitted) == 2
        for client in refused:
            assert client.ws.close_code == CloseCode.CONFLICT
            assert client.denied == ["a document takes 2 clients at most"]
        admitted[0].insert(0, "shared")
        await admitted[1].wait_text("shared")
        assert await stored_text(server, room) == "shared"
        assert holders(server, room) == 2
        await close_all(*clients)


async def test_clients_are_unlimited_when_the_limit_is_off(sqlite_url: str) -> None:
    async with limited_server(sqlite_url, max_clients_per_document=0) as server:
        room = await server.create_room()
        url = doc_url(server, room)
        clients = [
            await open_synced(url, await server.join(room, Role.MEMBER, f"P{i}")) for i in range(6)
        ]
        clients[0].insert(0, "all of us")
        for client in clients:
            await client.wait_text("all of us")
        await close_all(*clients)
