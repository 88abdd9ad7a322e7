"""A connection the server ends stops at once, however the client behaves.

Each test drives a real server with a client that stops reading (:mod:`tests.support.rawclient`:
a raw socket with a tiny receive buffer), after making the server hand it megabytes
(the whole document, asked for again and again with empty-state-vector sync step 1
messages). Removal and token expiry must stop the server from reading that socket at
the moment they happen, so nothing the client sends afterwards is applied, relayed or
stored; the connection is closed with its code, or aborted when the close frame cannot
go out within ``close_grace_seconds``. A lock keeps the socket open but applies to the
very next frame. A client that reads too slowly gets its 1013 close frame when it reads
again within the grace. Repeated full-state requests are limited (4429).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from pycrdt import Doc, Text

from crdt.awareness import AwarenessEntry, encode_awareness_update
from crdt.protocol import encode_awareness, encode_sync_step1, encode_update
from rooms.directory import CreatedRoom
from rooms.live.document import LiveDocument
from rooms.roles import Role
from server.sockets.peer import WebSocketPeer
from tests.support.harness import RunningServer, run_server
from tests.support.rawclient import StalledClient
from tests.support.settings import fast_settings
from tests.support.threads_client import Person, join
from tests.support.timing import eventually
from tests.support.yclient import open_synced

DOC = "guide"
EMPTY_STATE = encode_sync_step1(b"\x00")
# The stalled client's document: big enough that a handful of full-state answers fill
# the kernel's buffers and pile up in the server's.
DOCUMENT_CHARS = 600_000
FULL_STATE_REQUESTS = 12


def doc_url(server: RunningServer, room: CreatedRoom, person: Person) -> str:
    return f"{server.sync_url(room.room.slug)}/{DOC}?token={person.token}"


def live(server: RunningServer, room: CreatedRoom) -> LiveDocument | None:
    for document in server.app_state.hub.documents.values():
        if document.info.room_id == room.room.id and document.info.name == DOC:
            return document
    return None


def peers_of(server: RunningServer, room: CreatedRoom, person: Person) -> list[WebSocketPeer]:
    """The sync connections of ``person`` on the document."""
    document = live(server, room)
    who = f"{person.role.value} {person.id[:8]}"
    if document is None:
        return []
    return [peer for peer in document.peers if isinstance(peer, WebSocketPeer) and peer.who == who]


class Writer:
    """A pycrdt document whose edits become y-websocket update frames."""

    def __init__(self) -> None:
        self.doc: Doc[Any] = Doc()
        self.text = self.doc.get("text", type=Text)

    def insert(self, value: str) -> bytes:
        before = self.doc.get_state()
        self.text.insert(len(self.text), value)
        return encode_update(self.doc.get_update(before))


@pytest.fixture
async def stall_server(sqlite_url: str) -> AsyncIterator[RunningServer]:
    # Room for megabytes of backlog, and a stall period longer than any test: only the
    # action under test ends the connection.
    settings = fast_settings(
        sqlite_url,
        send_buffer_limit=256 * 1024 * 1024,
        send_stall_seconds=600.0,
        close_grace_seconds=1.0,
        max_message_size=2 * 1024 * 1024,
    )
    async with run_server(settings) as running:
        yield running


async def stalled_member(
    server: RunningServer, room: CreatedRoom, member: Person, *, backlog: bool = True
) -> tuple[StalledClient, Writer]:
    """A member who wrote a big document, asked for it again and again, and stopped
    reading, with the server holding a backlog for it."""
    client = await StalledClient.open(doc_url(server, room, member))
    writer = Writer()
    await client.send(writer.insert("x" * DOCUMENT_CHARS))
    for _ in range(FULL_STATE_REQUESTS):
        await client.send(EMPTY_STATE)

    def held() -> bool:
        return any(peer.buffered > 2 * DOCUMENT_CHARS for peer in peers_of(server, room, member))

    if backlog:
        await eventually(held, 10, "the server to hold a backlog for the stalled member")
    return client, writer


async def revoked_while_stalled(
    server: RunningServer,
    revoke: Callable[[CreatedRoom, Person, Person], Awaitable[None]],
    code: int,
    bo_stays: bool = True,
) -> None:
    """Ann stalls and is revoked; Bo, a member who stays (unless his token expires with
    Ann's), keeps editing and never sees what Ann sent after."""
    room = await server.create_room()
    fac = await join(server, room, Role.FACILITATOR, "Fay")
    ann = await join(server, room, Role.MEMBER, "Ann")
    bo = await join(server, room, Role.MEMBER, "Bo")
    stalled, writer = await stalled_member(server, room, ann)
    (ann_peer,) = peers_of(server, room, ann)
    bo_client = await open_synced(server.sync_url(room.room.slug) + f"/{DOC}", bo.token)
    try:
        await revoke(room, fac, ann)
        await eventually(lambda: ann_peer.closing, 15, "the server to close Ann's connection")
        # Whatever Ann sends from now on must not count.
        with contextlib.suppress(OSError):
            await stalled.send(writer.insert("EVIL"))
            await stalled.send(EMPTY_STATE)

        def gone() -> bool:
            document = live(server, room)
            return document is not None and ann_peer not in document.peers

        # The handler ends (its session leaves the document) within the grace, not when
        # the client finally reads or a keepalive gives up.
        await eventually(gone, 5, "Ann's session to end")
        document = live(server, room)
        assert document is not None
        if bo_stays:
            assert document.holders == 1

        close = await stalled.read_to_end()
        # The close frame could not go out behind megabytes Ann never read: aborted.
        assert close is None or close.code == code, close

        # Nothing of the late edit anywhere: live, relayed, stored.
        if bo_stays:
            bo_client.insert(0, "bo ")
            await eventually(lambda: (server.live_text(room, DOC) or "").startswith("bo "))
            assert bo_client.is_open
        assert "EVIL" not in (server.live_text(room, DOC) or "")
        assert "EVIL" not in str(bo_client.text)
        stored = await server.stored_document(room, DOC)
        assert "EVIL" not in str(stored.get("text", type=Text))
        assert str(stored.get("text", type=Text)).count("x") == DOCUMENT_CHARS
    finally:
        stalled.close()
        await bo_client.close()


async def test_a_removed_member_who_stops_reading_cannot_edit_after_the_removal(
    stall_server: RunningServer,
) -> None:
    async def remove(room: CreatedRoom, fac: Person, ann: Person) -> None:
        await fac.ok("DELETE", f"/participants/{ann.id}", status=204)

    await revoked_while_stalled(stall_server, remove, 4403)


async def test_an_expired_token_stops_a_stalled_connection_at_the_expiry(
    sqlite_url: str,
) -> None:
    settings = fast_settings(
        sqlite_url,
        send_buffer_limit=256 * 1024 * 1024,
        send_stall_seconds=600.0,
        close_grace_seconds=1.0,
        max_message_size=2 * 1024 * 1024,
        # Long enough to set up the backlog, short enough to wait for.
        token_ttl_seconds=6,
    )
    async with run_server(settings) as server:

        async def expire(room: CreatedRoom, fac: Person, ann: Person) -> None:
            return  # the expiry comes by itself

        await revoked_while_stalled(server, expire, 4401, bo_stays=False)


async def test_a_lock_applies_to_the_next_frame_of_a_stalled_member(
    stall_server: RunningServer,
) -> None:
    server = stall_server
    room = await server.create_room()
    fac = await join(server, room, Role.FACILITATOR, "Fay")
    ann = await join(server, room, Role.MEMBER, "Ann")
    bo = await join(server, room, Role.MEMBER, "Bo")
    stalled, writer = await stalled_member(server, room, ann)
    bo_client = await open_synced(server.sync_url(room.room.slug) + f"/{DOC}", bo.token)
    try:
        await fac.ok("PUT", f"/documents/{DOC}/lock", {"locked": True})
        await stalled.send(writer.insert("EVIL"))
        # An awareness update after the edit: once Bo has it, the server has handled
        # the edit before it (the frames of one socket are handled in order).
        marker = AwarenessEntry(writer.doc.client_id, 1, {"user": {"name": "after-evil"}})
        await stalled.send(encode_awareness(encode_awareness_update([marker])))
        await bo_client.wait_until(
            lambda: any(b"after-evil" in update for update in bo_client.awareness_frames)
        )
        assert "EVIL" not in (server.live_text(room, DOC) or "")
        assert "EVIL" not in str(bo_client.text)
        (ann_peer,) = peers_of(server, room, ann)
        assert not ann_peer.closing  # a lock leaves the socket open, read-only
    finally:
        stalled.close()
        await bo_client.close()


async def test_a_client_that_keeps_asking_for_the_whole_document_is_closed_with_4429(
    server: RunningServer,
) -> None:
    room = await server.create_room()
    ann = await join(server, room, Role.MEMBER, "Ann")
    bo = await join(server, room, Role.MEMBER, "Bo")
    url = server.sync_url(room.room.slug) + f"/{DOC}"
    greedy = await open_synced(url, ann.token)
    bo_client = await open_synced(url, bo.token)
    try:
        limit = server.settings.max_sync_requests_per_minute
        # One step 1 went out with the handshake: the rest of the burst is allowed...
        for _ in range(limit - 1):
            await greedy.send(EMPTY_STATE)
        bo_client.insert(0, "still fine")
        await greedy.wait_text("still fine")
        assert greedy.is_open
        # ...and one more is not.
        await greedy.send(EMPTY_STATE)
        code, reason = await greedy.wait_closed()
        assert (code, reason) == (4429, "too many sync requests")
        # Others are unaffected; a new connection starts with a new allowance.
        again = await open_synced(url, ann.token)
        bo_client.insert(0, "and ")
        await again.wait_text("and still fine")
        await again.close()
    finally:
        await greedy.close()
        await bo_client.close()


async def test_a_reader_too_slow_for_its_budget_gets_1013_when_it_reads_again(
    sqlite_url: str,
) -> None:
    settings = fast_settings(
        sqlite_url,
        send_buffer_limit=512 * 1024,
        send_stall_seconds=0.2,
        # Time for the client to start reading again and take the close frame.
        close_grace_seconds=30.0,
        max_message_size=2 * 1024 * 1024,
    )
    async with run_server(settings) as server:
        room = await server.create_room()
        ann = await join(server, room, Role.MEMBER, "Ann")
        stalled, _ = await stalled_member(server, room, ann, backlog=False)
        try:

            def dropped() -> bool:
                document = live(server, room)
                return document is not None and document.holders == 0

            await eventually(dropped, 10, "the server to give up on Ann")
            close = await stalled.read_to_end(20)
            assert close is not None, "no close frame"
            assert (close.code, close.reason) == (1013, "send buffer overflow")
        finally:
            stalled.close()
