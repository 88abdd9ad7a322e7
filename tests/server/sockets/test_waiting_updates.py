"""Updates that arrive before what they build on wait on the server, and are asked for."""

from __future__ import annotations

import asyncio
from typing import Any

from pycrdt import Doc, Text
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from crdt.pending import PendingLimits
from crdt.protocol import (
    SyncStep1,
    decode_message,
    encode_sync_step2,
    encode_update,
)
from rooms.live.peer import CloseCode
from rooms.roles import Role
from tests.support.harness import RunningServer
from tests.support.timing import timeout
from tests.support.yclient import open_synced


def typed_updates(client_id: int, *pieces: str) -> tuple[Doc[Any], list[bytes]]:
    """A document of ``client_id`` typing ``pieces`` one after another at the end."""
    doc: Doc[Any] = Doc(client_id=client_id)
    text = doc.get("text", type=Text)
    updates: list[bytes] = []
    for piece in pieces:
        before = doc.get_state()
        text += piece
        updates.append(doc.get_update(before))
    return doc, updates


async def next_step1(ws: ClientConnection) -> SyncStep1:
    async with asyncio.timeout(timeout(5)):
        while True:
            frame = await ws.recv()
            if isinstance(frame, bytes):
                message = decode_message(frame)
                if isinstance(message, SyncStep1):
                    return message


async def test_an_update_that_arrives_early_waits_and_its_sender_is_asked(
    server: RunningServer,
) -> None:
    room = await server.create_room()
    url = server.sync_url(room.room.slug) + "/guide"
    watcher = await open_synced(url, await server.join(room, Role.MEMBER, "Wes"))
    token = await server.join(room, Role.MEMBER, "Mo")
    doc, (_first, second) = typed_updates(4242, "one ", "two")
    async with connect(f"{url}?token={token}", open_timeout=timeout(5)) as ws:
        handshake = await next_step1(ws)
        # What y-websocket answers first (here: the client has nothing yet).
        await ws.send(encode_sync_step2(Doc().get_update(handshake.state_vector)))
        await ws.send(encode_update(second))
        # The server cannot place "two" before "one": it keeps it and asks the client
        # for what it lacks, with its state vector.
        asked = await next_step1(ws)
        assert asked.state_vector == b"\x00"
        assert server.live_text(room, "guide") == ""
        # The client's answer (what y-websocket sends) brings "one"; both go in.
        await ws.send(encode_sync_step2(doc.get_update(asked.state_vector)))
        await watcher.wait_text("one two")
        assert server.live_text(room, "guide") == "one two"
    await watcher.close()


async def test_a_connection_that_sends_only_orphans_is_closed(server: RunningServer) -> None:
    room = await server.create_room()
    url = server.sync_url(room.room.slug) + "/guide"
    writer = await open_synced(url, await server.join(room, Role.MEMBER, "Wri"))
    writer.insert(0, "kept")
    token = await server.join(room, Role.MEMBER, "Orphan")
    limit = PendingLimits().updates_per_source
    _, updates = typed_updates(777, *(f"{n} " for n in range(limit + 2)))
    async with connect(f"{url}?token={token}", open_timeout=timeout(5)) as ws:
        try:
            async with asyncio.timeout(timeout(10)):
                # Never the first: every later one waits for it.
                for update in updates[1:]:
                    await ws.send(encode_update(update))
                await ws.wait_closed()
        except ConnectionClosed:
            pass
        assert ws.close_code == CloseCode.POLICY_VIOLATION
        assert ws.close_reason and "waiting" in ws.close_reason
    # Others are unaffected and nothing of the orphans went in.
    late = await open_synced(url, await server.join(room, Role.OBSERVER, "Late"))
    writer.insert(4, "!")
    await late.wait_text("kept!")
    assert server.live_text(room, "guide") == "kept!"
    await writer.close()
    await late.close()
