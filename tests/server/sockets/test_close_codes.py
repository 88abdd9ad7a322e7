"""Every close code of both WebSocket endpoints, one test per documented cause.

``SYNC`` reads as the README's table "Close codes of the sync socket", ``EVENTS`` as the
close codes of the room event socket (docs/comments.md, with what the README and
docs/controls.md say of it too: 4429 for a flood, 4401 when the token expires, 4403 on
removal, 1013 when storage is unavailable). Each row provokes its cause on a real
server and checks the close code the client gets, and a part of its reason that names
the cause. A refused sync connection first receives the y-protocol auth message
(permission denied) carrying the close reason and nothing else; a refused event
connection first receives an ``error`` message carrying it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
from pycrdt import Doc, Text
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.frames import Opcode

import rooms.live.session as session_module
import server.sockets.events as events_module
from crdt.awareness import AwarenessEntry, encode_awareness_update
from crdt.pending import PendingLimits
from crdt.protocol import (
    PermissionDenied,
    SyncStep1,
    decode_message,
    encode_awareness,
    encode_sync_step1,
    encode_sync_step2,
    encode_update,
)
from rooms.directory import CreatedRoom
from rooms.live.document import LiveDocument
from rooms.live.session import SyncSession
from rooms.records import Participant, Room, RoomEvent
from rooms.roles import Role
from server.auth import REMOVED
from server.outage import REASON as STORAGE_UNAVAILABLE
from server.sockets import sync as sync_module
from server.sockets.peer import WebSocketPeer
from server.tokens import TokenSigner
from tests.support.encoding import var
from tests.support.harness import RunningServer, run_server
from tests.support.rawclient import StalledClient
from tests.support.settings import fast_settings
from tests.support.threads_client import Person, join
from tests.support.timing import eventually, timeout
from tests.support.yclient import YClient, open_synced

DOC = "guide"


# ------------------------------------------------------------------ the stage


@dataclass
class Stage:
    """A running server with a room: a facilitator, two members and an observer."""

    server: RunningServer
    room: CreatedRoom
    fay: Person
    ann: Person
    bo: Person
    obs: Person
    database: Path
    caplog: pytest.LogCaptureFixture
    monkeypatch: pytest.MonkeyPatch

    @property
    def slug(self) -> str:
        return self.room.room.slug

    def doc_url(self, doc: str = DOC, room: str | None = None) -> str:
        """The sync socket of a document, without a token (:meth:`YClient.open` adds it)."""
        return f"{self.server.sync_url(room or self.slug)}/{doc}"

    def events_url(self, token: str | None, room: str | None = None, after: str = "") -> str:
        url = f"ws://127.0.0.1:{self.server.port}/events/{room or self.slug}"
        query = [f"token={token}"] if token is not None else []
        query += [f"after={after}"] if after else []
        return url + ("?" + "&".join(query) if query else "")

    def live(self) -> LiveDocument:
        return self.server.live_document(self.room, DOC)


@dataclass
class Closed:
    """How a connection ended: the close code and reason, and what came before."""

    code: int | None
    reason: str
    # Sync: the y-protocol messages received. Events: the JSON messages received.
    received: list[Any]


Provoke = Callable[[Stage], Awaitable[Closed]]


@dataclass(frozen=True)
class Cause:
    """One row: a cause of a close code, how to provoke it, the server settings (and
    module constants) it needs, and whether it refuses the connection outright."""

    code: int
    what: str
    provoke: Provoke
    reason: str
    refused: bool = False
    settings: Mapping[str, object] = field(default_factory=dict)
    patches: tuple[tuple[object, str, object], ...] = ()

    def __str__(self) -> str:
        return f"{self.code} {self.what}"


@asynccontextmanager
async def staged(
    cause: Cause,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> AsyncIterator[Stage]:
    for target, name, value in cause.patches:
        monkeypatch.setattr(target, name, value)
    database = tmp_path / "roundtable.db"
    settings = fast_settings(f"sqlite+aiosqlite:///{database}", **cause.settings)
    async with run_server(settings) as server:
        room = await server.create_room()
        yield Stage(
            server,
            room,
            await join(server, room, Role.FACILITATOR, "Fay"),
            await join(server, room, Role.MEMBER, "Ann"),
            await join(server, room, Role.MEMBER, "Bo"),
            await join(server, room, Role.OBSERVER, "Obs"),
            database,
            caplog,
            monkeypatch,
        )


# ------------------------------------------------------------------ clients


async def sync_closed(client: YClient, seconds: float = 5.0) -> Closed:
    """Wait for the server to close ``client``'s sync socket."""
    try:
        code, reason = await client.wait_closed(seconds)
    finally:
        await client.close()
    return Closed(code, reason, [decode_message(frame) for frame in client.frames])


async def refused_sync(stage: Stage, token: str | None, doc: str = DOC) -> Closed:
    return await sync_closed(await YClient.open(stage.doc_url(doc), token))


def sending(*frames: bytes | str) -> Provoke:
    """Ann, synced, sends ``frames`` on her sync socket."""

    async def provoke(stage: Stage) -> Closed:
        client = await open_synced(stage.doc_url(), stage.ann.token)
        for frame in frames:
            await client.send(frame)
        return await sync_closed(client)

    return provoke


async def events_closed(
    url: str,
    act: Callable[[ClientConnection], Awaitable[object]] | None = None,
    seconds: float = 5.0,
) -> Closed:
    """Connect to the event socket; once it is ``ready``, ``act``; then read until the
    server closes the connection."""
    received: list[dict[str, Any]] = []
    async with connect(url, open_timeout=timeout(5)) as ws:
        with contextlib.suppress(ConnectionClosed):
            async with asyncio.timeout(timeout(seconds)):
                if act is not None:
                    while not any(m["type"] in ("ready", "resync") for m in received):
                        received.append(json.loads(await ws.recv()))
                    with contextlib.suppress(ConnectionClosed):
                        await act(ws)
                async for raw in ws:
                    received.append(json.loads(raw))
        return Closed(ws.close_code, ws.close_reason or "", received)


async def next_message(
    ws: ClientConnection, wanted: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """Read the event socket ``ws`` until a message ``wanted`` arrives."""
    async with asyncio.timeout(timeout(5)):
        while True:
            message: dict[str, Any] = json.loads(await ws.recv())
            if wanted(message):
                return message


def numbered(seq: int) -> Callable[[dict[str, Any]], bool]:
    return lambda message: message.get("seq") == seq


def events_sending(*messages: str | bytes) -> Provoke:
    """Ann, with her event socket ready, sends ``messages`` on it."""

    async def act(ws: ClientConnection) -> None:
        for message in messages:
            await ws.send(message)

    async def provoke(stage: Stage) -> Closed:
        return await events_closed(stage.events_url(stage.ann.token), act)

    return provoke


# ------------------------------------------------------------------ tokens and bytes


def forged_signature(token: str) -> str:
    header, payload, _ = token.split(".")
    return f"{header}.{payload}.c2lnbmF0dXJl"


async def signed(stage: Stage, ttl: int, name: str = "Eve") -> str:
    """A token of a new member of the room, signed with the server's key, that expires
    in ``ttl`` seconds (negative: expired already)."""
    participant, room = await stage.server.app_state.directory.join(
        stage.room.invites[Role.MEMBER], name
    )
    secret = stage.server.settings.secret_key
    assert secret is not None
    return TokenSigner(secret, ttl).issue(participant, room)[0]


def forged_key_token(stage: Stage) -> str:
    """A well-formed token for the room, signed with another key."""
    now = datetime.now(UTC)
    participant = Participant("forger", stage.room.room.id, "Mal", Role.FACILITATOR, now)
    other = TokenSigner("another-secret-key-that-is-long-enough-0123", 60)
    return other.issue(participant, stage.room.room)[0]


def ghost_token(stage: Stage) -> str:
    """A token the server signed for a room that does not exist."""
    now = datetime.now(UTC)
    room = Room(10**6, "no-such-room", "Nowhere", now)
    ghost = Participant("ghost", room.id, "Gus", Role.FACILITATOR, now)
    return stage.server.app_state.signer.issue(ghost, room)[0]


async def other_room_token(stage: Stage) -> str:
    other = await stage.server.create_room("Another room")
    return (await join(stage.server, other, Role.FACILITATOR, "Fay")).token


def crossed_item(client: int, origin: tuple[int, int], right: tuple[int, int]) -> bytes:
    """Client ``client`` inserts "X" between the items ``origin`` and ``right``."""
    return var(1, 1, client, 0) + b"\xc4" + var(*origin) + var(*right) + var(1) + b"X" + var(0)


def typed(client_id: int, **texts: str) -> bytes:
    """The update of a document of ``client_id`` holding ``texts`` (type name: text)."""
    doc: Doc[Any] = Doc(client_id=client_id)
    for name, value in texts.items():
        doc.get(name, type=Text).insert(0, value)
    return doc.get_update()


def among_deleted_text() -> list[bytes]:
    """Ann types "0olour" and deletes "lour", then inserts between two deleted
    characters: telling where that goes takes a look at the whole document."""
    doc: Doc[Any] = Doc(client_id=1001)
    text = doc.get("text", type=Text)
    text.insert(0, "0olour")
    del text[2:6]
    return [
        encode_update(doc.get_update()),
        encode_update(crossed_item(1002, (1001, 5), (1001, 2))),
    ]


def in_a_cycle() -> bytes:
    """Two items, each with its origin in the other."""
    return (
        var(2)
        + var(1, 1002, 0) + b"\x84" + var(1003, 0) + var(1) + b"X"
        + var(1, 1003, 0) + b"\x84" + var(1002, 0) + var(1) + b"Y"
        + var(0)
    )  # fmt: skip


def cursor(client_id: int, state: dict[str, Any]) -> bytes:
    return encode_awareness(encode_awareness_update([AwarenessEntry(client_id, 1, state)]))


def orphans() -> list[bytes]:
    """Updates of one client that all build on its first, which is never sent."""
    doc: Doc[Any] = Doc(client_id=777)
    text = doc.get("text", type=Text)
    updates: list[bytes] = []
    for n in range(PendingLimits().updates_per_source + 2):
        before = doc.get_state()
        text += f"{n} "
        updates.append(encode_update(doc.get_update(before)))
    return updates[1:]


def under_another_id(client_id: int, value: str, base: YClient) -> bytes:
    """An update inserting ``value`` under ``client_id``, new to the server."""
    doc: Doc[Any] = Doc(client_id=client_id)
    doc.apply_update(base.doc.get_update())
    before = doc.get_state()
    doc.get("text", type=Text).insert(0, value)
    return doc.get_update(before)


class WriteLock:
    """A second connection to the SQLite file, holding its write lock."""

    def __init__(self, path: Path) -> None:
        self._connection = sqlite3.connect(
            path, isolation_level=None, check_same_thread=False, timeout=timeout(5)
        )

    async def __aenter__(self) -> WriteLock:
        # In a thread: a write of the server under way needs the event loop to commit.
        await asyncio.to_thread(self._connection.execute, "BEGIN IMMEDIATE")
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._connection.execute("ROLLBACK")
        self._connection.close()


# ------------------------------------------------------------------ sync: provoking


async def ann_and_bo_wrote(stage: Stage) -> tuple[YClient, YClient]:
    ann = await open_synced(stage.doc_url(), stage.ann.token)
    bo = await open_synced(stage.doc_url(), stage.bo.token)
    ann.insert(0, "Ann wrote this. ")
    await bo.wait_text("Ann wrote this. ")
    return ann, bo


async def structs_under_anns_id(stage: Stage) -> Closed:
    ann, bo = await ann_and_bo_wrote(stage)
    try:
        forger = await open_synced(stage.doc_url(), stage.bo.token)
        await forger.send(encode_update(under_another_id(ann.doc.client_id, "FORGED ", bo)))
        return await sync_closed(forger)
    finally:
        await ann.close()
        await bo.close()


async def first_step2_with_anns_edits(stage: Stage) -> Closed:
    ann, bo = await ann_and_bo_wrote(stage)
    try:
        url = f"{stage.doc_url()}?token={stage.bo.token}"
        async with connect(url, open_timeout=timeout(5)) as ws:
            first = await ws.recv()
            assert isinstance(first, bytes)
            received: list[Any] = [decode_message(first)]
            assert isinstance(received[0], SyncStep1)
            step2 = under_another_id(ann.doc.client_id, "FORGED ", bo)
            await ws.send(encode_sync_step2(step2))
            with contextlib.suppress(ConnectionClosed):
                async with asyncio.timeout(timeout(5)):
                    async for frame in ws:
                        assert isinstance(frame, bytes)
                        received.append(decode_message(frame))
            return Closed(ws.close_code, ws.close_reason or "", received)
    finally:
        await ann.close()
        await bo.close()


async def two_parents(stage: Stage) -> Closed:
    return await sending(
        encode_update(typed(1001, t="ab", u="cd")),
        encode_update(crossed_item(1002, (1001, 0), (1001, 3))),
    )(stage)


async def parent_not_a_shared_type(stage: Stage) -> Closed:
    # The parent (1001, 0) is the character "a".
    item = var(1, 1, 1002, 0) + b"\x04" + var(0, 1001, 0) + var(1) + b"X" + var(0)
    return await sending(encode_update(typed(1001, text="ab")), encode_update(item))(stage)


async def seventeen_client_ids(stage: Stage) -> Closed:
    frames = [
        cursor(client_id, {"user": {"name": f"tab {client_id}"}}) for client_id in range(1, 18)
    ]
    return await sending(*frames)(stage)


async def oversized_awareness(stage: Stage) -> Closed:
    return await sending(cursor(4242, {"user": {"name": "x" * 2048}}))(stage)


async def too_many_sync_requests(stage: Stage) -> Closed:
    # The handshake's step 1 was the first.
    limit = stage.server.settings.max_sync_requests_per_minute
    return await sending(*[encode_sync_step1(b"\x00")] * limit)(stage)


async def flood(stage: Stage) -> Closed:
    return await sending(*[encode_sync_step1(b"\x00")] * 20)(stage)


async def slow_reader(stage: Stage) -> Closed:
    """Cy's sync client joins and stops reading; Ann types, Bo reads along. The server
    gives up on Cy alone, and Cy, reading again within the grace, gets 1013."""
    ann = await open_synced(stage.doc_url(), stage.ann.token)
    bo = await open_synced(stage.doc_url(), stage.bo.token)
    cy = await join(stage.server, stage.room, Role.MEMBER, "Cy")
    stalled = await StalledClient.open(f"{stage.doc_url()}?token={cy.token}")
    try:
        await stalled.send(encode_sync_step1(b"\x00"))
        document = stage.live()
        await eventually(lambda: len(document.peers) == 3, what="Cy to join the document")
        chunk = "x" * 64_000
        for n in range(400):
            if len(document.peers) == 2:
                break
            ann.insert(len(ann.text), f"[{n}]{chunk}")
            await bo.wait_text(str(ann.text))
        else:
            raise AssertionError("the server never gave up on a client that stopped reading")
        assert ann.is_open and bo.is_open
        close = await stalled.read_to_end()
        assert close is not None, "no close frame although Cy read again within the grace"
        ann.insert(0, "on: ")
        await bo.wait_text(str(ann.text))
        return Closed(close.code, close.reason, [])
    finally:
        stalled.close()
        await ann.close()
        await bo.close()


async def storage_locked(stage: Stage) -> Closed:
    async with WriteLock(stage.database):
        # Opening a document that does not exist yet writes it.
        return await sync_closed(await YClient.open(stage.doc_url("fresh"), stage.ann.token))


async def unlocked_after_refused_edits(stage: Stage) -> Closed:
    ann = await open_synced(stage.doc_url(), stage.ann.token)
    await stage.fay.ok("PUT", f"/documents/{DOC}/lock", {"locked": True})
    ann.insert(0, "while locked")
    await ann.wait_until(lambda: bool(ann.denied))
    await stage.fay.ok("PUT", f"/documents/{DOC}/lock", {"locked": False})
    return await sync_closed(ann)


async def token_expires_on_sync(stage: Stage) -> Closed:
    client = await open_synced(stage.doc_url(), await signed(stage, ttl=3))
    return await sync_closed(client, seconds=6)


async def removed_then_connects(stage: Stage) -> Closed:
    await stage.fay.ok("DELETE", f"/participants/{stage.ann.id}", status=204)
    return await refused_sync(stage, stage.ann.token)


async def removed_while_synced(stage: Stage) -> Closed:
    ann = await open_synced(stage.doc_url(), stage.ann.token)
    await stage.fay.ok("DELETE", f"/participants/{stage.ann.id}", status=204)
    return await sync_closed(ann)


async def room_full_of_documents(stage: Stage) -> Closed:
    ann = await open_synced(stage.doc_url(), stage.ann.token)
    try:
        return await refused_sync(stage, stage.ann.token, "notes")
    finally:
        await ann.close()


async def document_full_of_clients(stage: Stage) -> Closed:
    ann = await open_synced(stage.doc_url(), stage.ann.token)
    try:
        return await refused_sync(stage, stage.bo.token)
    finally:
        await ann.close()


async def costly_edits(stage: Stage) -> Closed:
    return await sending(*among_deleted_text())(stage)


async def no_token(stage: Stage) -> Closed:
    return await refused_sync(stage, None)


async def malformed_token(stage: Stage) -> Closed:
    return await refused_sync(stage, "not-a-token")


async def forged_token(stage: Stage) -> Closed:
    return await refused_sync(stage, forged_signature(stage.ann.token))


async def token_of_another_key(stage: Stage) -> Closed:
    return await refused_sync(stage, forged_key_token(stage))


async def expired_token(stage: Stage) -> Closed:
    return await refused_sync(stage, await signed(stage, ttl=-10))


async def token_of_another_room(stage: Stage) -> Closed:
    return await refused_sync(stage, await other_room_token(stage))


async def observer_asks_for_a_new_document(stage: Stage) -> Closed:
    return await refused_sync(stage, stage.obs.token, "fresh")


async def bad_document_name(stage: Stage) -> Closed:
    return await refused_sync(stage, stage.ann.token, "%2e%2e")


async def no_such_room(stage: Stage) -> Closed:
    return await sync_closed(
        await YClient.open(stage.doc_url(room="no-such-room"), ghost_token(stage))
    )


MAX_MESSAGE = 4096
SLOW_READER = {
    "send_buffer_limit": 256 * 1024,
    "send_stall_seconds": 1.0,
    # Ample time to read again and take the close frame.
    "close_grace_seconds": timeout(20),
}

SYNC: list[Cause] = [
    Cause(1002, "truncated frame", sending(b"\x00\x02\x10\x01\x02"), "malformed frame"),
    Cause(1002, "unknown message type", sending(b"\x07"), "malformed frame"),
    Cause(
        1002,
        "malformed awareness update",
        sending(encode_awareness(b"\x01\x01\x01\x03{x}")),
        "malformed awareness update",
    ),
    Cause(1003, "text frame", sending("hello"), "text frames are not supported"),
    Cause(1007, "malformed update bytes", sending(b"\x00\x02\x03\xff\xff\xff"), "update refused"),
    Cause(1007, "malformed state vector bytes", sending(b"\x00\x00\x02\x05\xff"), "state vector"),
    Cause(1007, "an item whose origins lie in two parents", two_parents, "different parents"),
    Cause(1007, "an item whose parent is not a shared type", parent_not_a_shared_type, "shared"),
    Cause(
        1007,
        "structs that depend on each other in a cycle",
        sending(encode_update(in_a_cycle())),
        "cycle",
    ),
    Cause(1008, "more than 16 Yjs client ids", seventeen_client_ids, "too many client ids"),
    Cause(1008, "more than 128 updates waiting", sending(*orphans()), "waiting"),
    # The WebSocket layer refuses it (uvicorn's ws_max_size) before the app would.
    Cause(
        1009,
        "message over the size cap",
        sending(encode_update(b"\x00" * (MAX_MESSAGE + 10))),
        str(MAX_MESSAGE),
        settings={"max_message_size": MAX_MESSAGE},
    ),
    Cause(
        1009,
        "oversized awareness state",
        oversized_awareness,
        "awareness",
        settings={"max_awareness_bytes": 1024},
    ),
    Cause(1013, "slow reader", slow_reader, "send buffer overflow", settings=SLOW_READER),
    Cause(
        1013,
        "database locked",
        storage_locked,
        STORAGE_UNAVAILABLE,
        settings={"database_busy_timeout": 0.2},
    ),
    Cause(
        1013,
        "first sync step 2 carrying others' edits",
        first_step2_with_anns_edits,
        "belongs to another participant; not recovering",
    ),
    Cause(4000, "unlocked after refused edits", unlocked_after_refused_edits, "unlocked"),
    Cause(4400, "invalid document name", bad_document_name, "invalid document name", True),
    Cause(4401, "missing token", no_token, "invalid token", True),
    Cause(4401, "malformed token", malformed_token, "invalid token", True),
    Cause(4401, "forged signature", forged_token, "invalid token", True),
    Cause(4401, "signed with another key", token_of_another_key, "invalid token", True),
    Cause(4401, "expired token", expired_token, "expired", True),
    Cause(4401, "token expires on an open socket", token_expires_on_sync, "token expired"),
    Cause(4403, "token for another room", token_of_another_room, "another room", True),
    Cause(
        4403,
        "observer asking for a document that does not exist",
        observer_asks_for_a_new_document,
        "cannot create documents",
        True,
    ),
    Cause(4403, "removed participant connecting", removed_then_connects, REMOVED, True),
    Cause(4403, "participant removed while connected", removed_while_synced, REMOVED),
    Cause(
        4403,
        "new structs under another participant's client id",
        structs_under_anns_id,
        "belongs to another participant",
    ),
    Cause(4404, "no such room", no_such_room, "no such room", True),
    Cause(
        4409,
        "room holds max_documents_per_room documents",
        room_full_of_documents,
        "a room holds at most 1 documents",
        True,
        settings={"max_documents_per_room": 1},
    ),
    Cause(
        4409,
        "document has max_clients_per_document clients",
        document_full_of_clients,
        "a document takes 1 clients at most",
        True,
        settings={"max_clients_per_document": 1},
    ),
    Cause(
        4429,
        "messages faster than the budget",
        flood,
        "too many messages",
        settings={"max_messages_per_second": 1.0, "message_burst": 6},
    ),
    Cause(
        4429,
        "sync step 1 more than max_sync_requests_per_minute times",
        too_many_sync_requests,
        "too many sync requests",
        settings={"max_sync_requests_per_minute": 3},
    ),
    Cause(
        4429,
        "edits costly to check faster than their budget",
        costly_edits,
        "costly to check",
        patches=(
            (session_module, "CHECK_BYTES_PER_SECOND", 1),
            (session_module, "CHECK_BYTES_BURST", 1),
        ),
    ),
]


@pytest.mark.parametrize("cause", SYNC, ids=str)
async def test_sync_socket(
    cause: Cause,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with staged(cause, tmp_path, monkeypatch, caplog) as stage:
        closed = await cause.provoke(stage)
    assert (closed.code, cause.reason in closed.reason) == (cause.code, True), closed
    if cause.refused:
        # The auth message with the reason, then the close: no document data.
        assert closed.received == [PermissionDenied(closed.reason)], closed


async def test_a_slow_sync_reader_that_reads_after_the_grace_is_aborted(tmp_path: Path) -> None:
    """A client that does not take its close frame within ``close_grace_seconds`` is
    aborted: reading later, it finds the connection ended without a close frame."""
    settings = fast_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'roundtable.db'}",
        send_buffer_limit=256 * 1024,
        send_stall_seconds=1.0,
        close_grace_seconds=0.5,
    )
    async with run_server(settings) as server:
        room = await server.create_room()
        ann = await join(server, room, Role.MEMBER, "Ann")
        cy = await join(server, room, Role.MEMBER, "Cy")
        url = f"{server.sync_url(room.room.slug)}/{DOC}"
        writer = await open_synced(url, ann.token)
        stalled = await StalledClient.open(f"{url}?token={cy.token}")
        try:
            await stalled.send(encode_sync_step1(b"\x00"))
            document = server.live_document(room, DOC)
            await eventually(lambda: len(document.peers) == 2, what="Cy to join the document")
            (peer,) = [
                p
                for p in document.peers
                if isinstance(p, WebSocketPeer) and p.who.endswith(cy.id[:8])
            ]
            chunk = "x" * 64_000
            for n in range(400):
                if peer.closing:
                    break
                writer.insert(len(writer.text), f"[{n}]{chunk}")
                await eventually(lambda: len(server.live_text(room, DOC) or "") == len(writer.text))
            else:
                raise AssertionError("the server never gave up on a client that stopped reading")
            # The abort drops what the transport still held for Cy, the close frame too.
            await eventually(lambda: peer.buffered == 0, 5, "Cy's connection to be aborted")
            assert await stalled.read_to_end() is None
            assert writer.is_open
        finally:
            stalled.close()
            await writer.close()


# ------------------------------------------------------------------ events: provoking


async def events_refused(stage: Stage, token: str | None, room: str | None = None) -> Closed:
    return await events_closed(stage.events_url(token, room))


async def events_bad_after(stage: Stage) -> Closed:
    return await events_closed(stage.events_url(stage.ann.token, after="abc"))


async def events_no_token(stage: Stage) -> Closed:
    return await events_refused(stage, None)


async def events_malformed_token(stage: Stage) -> Closed:
    return await events_refused(stage, "not-a-token")


async def events_forged_token(stage: Stage) -> Closed:
    return await events_refused(stage, forged_signature(stage.ann.token))


async def events_expired_token(stage: Stage) -> Closed:
    return await events_refused(stage, await signed(stage, ttl=-10))


async def events_token_of_another_room(stage: Stage) -> Closed:
    return await events_refused(stage, await other_room_token(stage))


async def events_removed_then_connects(stage: Stage) -> Closed:
    await stage.fay.ok("DELETE", f"/participants/{stage.ann.id}", status=204)
    return await events_refused(stage, stage.ann.token)


async def events_no_such_room(stage: Stage) -> Closed:
    return await events_refused(stage, ghost_token(stage), "no-such-room")


async def events_removed_while_open(stage: Stage) -> Closed:
    async def remove(ws: ClientConnection) -> None:
        await stage.fay.ok("DELETE", f"/participants/{stage.ann.id}", status=204)

    return await events_closed(stage.events_url(stage.ann.token), remove)


async def events_token_expires(stage: Stage) -> Closed:
    async def wait(ws: ClientConnection) -> None:
        return

    return await events_closed(stage.events_url(await signed(stage, ttl=3)), wait, seconds=6)


async def events_flood(stage: Stage) -> Closed:
    return await events_sending(*[json.dumps({"type": "ping"})] * 20)(stage)


async def events_storage_unreachable(stage: Stage) -> Closed:
    async def unreachable(participant_id: str) -> bool:
        # What the driver raises when PostgreSQL does not listen.
        raise ConnectionRefusedError(f"database unreachable: {participant_id}")

    stage.monkeypatch.setattr(stage.server.app_state.participants, "standing", unreachable)
    return await events_refused(stage, stage.ann.token)


async def events_slow_reader(stage: Stage) -> Closed:
    """Ann's event client stops reading while events pour in; Bo reads them all. The
    server drops Ann alone, and Ann, reading again within the grace, gets a gapless
    prefix of the events, then 1013."""
    async with connect(stage.events_url(stage.bo.token), open_timeout=timeout(5)) as bo:
        stalled = await StalledClient.open(stage.events_url(stage.ann.token))
        try:
            # Both in the room (Bo sees Ann in the roster): both connections are live.
            both = {stage.ann.id, stage.bo.id}
            await next_message(bo, lambda m: {p["id"] for p in m.get("participants", [])} == both)
            room_id = stage.room.room.id
            events = stage.server.app_state.events
            pad = "x" * 256_000
            published = 0
            while not any("not reading" in r.getMessage() for r in stage.caplog.records):
                assert published < 200, "the server never noticed that Ann stopped reading"
                await events.publish(room_id, "test.padding", {"pad": pad})
                published += 1
                # Bo takes each event before the next: only Ann falls behind.
                await next_message(bo, numbered(published))
            close = await stalled.read_to_end()
            assert close is not None, "no close frame although Ann read again within the grace"
            texts = [bytes(f.data) for f in stalled.frames if f.opcode is Opcode.TEXT]
            messages = [json.loads(text) for text in texts]
            # Live from the number in "ready" on, in order, until the server gave up.
            first = next(m["seq"] for m in messages if m["type"] == "ready") + 1
            seqs = [m["seq"] for m in messages if m["type"] == "test.padding"]
            assert seqs == list(range(first, first + len(seqs))), seqs
            assert first + len(seqs) <= published, "Ann got every event: she was not dropped"
            return Closed(close.code, close.reason, [])
        finally:
            stalled.close()


EVENTS: list[Cause] = [
    Cause(1003, "binary message", events_sending(b'{"type":"ping"}'), "JSON text"),
    Cause(
        1009,
        "message over 1 KiB",
        events_sending(json.dumps({"type": "ping", "pad": "x" * 1024})),
        "too large",
    ),
    Cause(
        1013,
        "more events queued than a client reads",
        events_slow_reader,
        "too many unread events",
        settings={"close_grace_seconds": timeout(20)},
        patches=((events_module, "MAX_PENDING", 2),),
    ),
    Cause(1013, "database unreachable", events_storage_unreachable, STORAGE_UNAVAILABLE),
    Cause(4400, "after that is not a sequence number", events_bad_after, "after", True),
    Cause(4400, "message that is not JSON", events_sending("not json"), "not JSON"),
    Cause(4400, "message other than ping or presence", events_sending('{"type":"pong"}'), "ping"),
    Cause(
        4400,
        "invalid presence",
        events_sending(json.dumps({"type": "presence", "state": "asleep"})),
        "state must be",
    ),
    Cause(4401, "missing token", events_no_token, "invalid token", True),
    Cause(4401, "malformed token", events_malformed_token, "invalid token", True),
    Cause(4401, "forged signature", events_forged_token, "invalid token", True),
    Cause(4401, "expired token", events_expired_token, "expired", True),
    Cause(4401, "token expires on an open socket", events_token_expires, "token expired"),
    Cause(4403, "token for another room", events_token_of_another_room, "another room", True),
    Cause(4403, "removed participant connecting", events_removed_then_connects, REMOVED, True),
    Cause(4403, "participant removed while connected", events_removed_while_open, REMOVED),
    Cause(4404, "no such room", events_no_such_room, "no such room", True),
    Cause(
        4429,
        "messages faster than the budget",
        events_flood,
        "too many messages",
        settings={"max_messages_per_second": 1.0, "message_burst": 6},
    ),
]


@pytest.mark.parametrize("cause", EVENTS, ids=str)
async def test_event_socket(
    cause: Cause,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with staged(cause, tmp_path, monkeypatch, caplog) as stage:
        closed = await cause.provoke(stage)
    assert (closed.code, cause.reason in closed.reason) == (cause.code, True), closed
    if cause.refused:
        assert closed.received == [{"type": "error", "message": closed.reason}], closed


# ------------------------------------------------------------------ a removal's race


class _Peer:
    def __init__(self) -> None:
        self.closed: list[tuple[int, str]] = []

    def close(self, code: int, reason: str) -> None:
        self.closed.append((code, reason))


class _Session:
    def __init__(self) -> None:
        self.document = SimpleNamespace(info=SimpleNamespace(id=1))
        self.locked = False

    def set_locked(self, locked: bool) -> None:
        self.locked = locked


def test_a_removal_seen_before_the_session_is_attached_closes_it_with_4403() -> None:
    """The sync socket watches the room's events before it reads the participant's
    standing: a removal seen in between closes the connection once it is served."""
    watch = sync_module._Watch("ann")
    event = RoomEvent(1, 1, "participant.removed", {"participant_id": "ann"}, datetime.now(UTC))
    watch.on_event(event)
    peer = _Peer()
    watch.attach(cast(SyncSession, _Session()), cast(WebSocketPeer, peer))
    assert peer.closed == [(4403, REMOVED)]
