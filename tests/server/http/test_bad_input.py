"""Bad input on the sync socket: a clear close code, other clients unaffected, storage intact."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pycrdt import Doc, Text

from crdt.document import SyncDocument
from crdt.protocol import encode_awareness, encode_update
from rooms.directory import CreatedRoom
from rooms.roles import Role
from tests.support.harness import RunningServer, run_server
from tests.support.settings import fast_settings
from tests.support.yclient import YClient, open_synced

MAX_MESSAGE = 64 * 1024


@pytest.fixture
async def small_server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    settings = fast_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'rt.db'}",
        max_message_size=MAX_MESSAGE,
        max_awareness_bytes=1024,
    )
    async with run_server(settings) as running:
        yield running


async def _stored_text(server: RunningServer, room: CreatedRoom) -> tuple[str, int]:
    await server.app_state.hub.flush_all()
    info = await server.app_state.store.get_document(room.room.id, "guide")
    assert info is not None
    stored = await server.app_state.store.load_document(info.id)
    doc = SyncDocument(stored.snapshot, stored.updates).ydoc
    return str(doc.get("text", type=Text)), len(stored.updates)


def _valid_update(text: str) -> bytes:
    doc: Doc[Any] = Doc()
    doc.get("text", type=Text).insert(0, text)
    return doc.get_update()


BAD_FRAMES: dict[str, tuple[bytes | str, int]] = {
    "empty frame": (b"", 1002),
    "truncated varuint": (b"\x80", 1002),
    "truncated payload": (b"\x00\x02\x10\x01\x02", 1002),
    "unknown message type": (b"\x07", 1002),
    "unknown sync type": (b"\x00\x05\x00", 1002),
    "trailing bytes": (b"\x03\x00", 1002),
    "refused update bytes": (b"\x00\x02\x03\xff\xff\xff", 1007),
    "random update bytes": (encode_update(bytes(range(7, 60))), 1007),
    "invalid state vector": (b"\x00\x00\x02\x05\xff", 1007),
    "malformed awareness": (encode_awareness(b"\x01\x01\x01\x03{x}"), 1002),
    "oversized awareness state": (
        encode_awareness(b"\x01\x01\x01\x80\x10" + b'{"a":"' + b"x" * 2040 + b'"}'),
        1009,
    ),
    "text frame": ("hello", 1003),
    "oversized message": (encode_update(b"\x00" * (MAX_MESSAGE + 10)), 1009),
}


@pytest.mark.parametrize("case", list(BAD_FRAMES))
async def test_bad_frame_closes_only_that_connection(
    small_server: RunningServer, case: str
) -> None:
    frame, expected_code = BAD_FRAMES[case]
    room = await small_server.create_room()
    url = small_server.sync_url(room.room.slug) + "/guide"
    alice = await open_synced(url, await small_server.join(room, Role.MEMBER, "Alice"))
    bob = await open_synced(url, await small_server.join(room, Role.MEMBER, "Bob"))
    alice.insert(0, "before")
    await bob.wait_text("before")
    stored_before = await _stored_text(small_server, room)
    assert stored_before[0] == "before"

    mallory = await open_synced(url, await small_server.join(room, Role.MEMBER, "Mallory"))
    await mallory.send(frame)
    code, reason = await mallory.wait_closed()
    assert code == expected_code, reason
    assert reason

    assert await _stored_text(small_server, room) == stored_before
    bob.insert(6, " after")
    await alice.wait_text("before after")
    latecomer = await open_synced(url, await small_server.join(room, Role.OBSERVER))
    await latecomer.wait_text("before after")
    for client in (alice, bob, latecomer):
        await client.close()


async def test_valid_update_just_under_the_cap_is_accepted(small_server: RunningServer) -> None:
    room = await small_server.create_room()
    url = small_server.sync_url(room.room.slug) + "/guide"
    writer = await open_synced(url, await small_server.join(room, Role.MEMBER))
    reader = await open_synced(url, await small_server.join(room, Role.MEMBER))
    big = "x" * (MAX_MESSAGE - 200)
    await writer.send(encode_update(_valid_update(big)))
    await reader.wait_text(big)
    assert writer.is_open
    for client in (writer, reader):
        await client.close()


async def test_unknown_room_and_bad_document_name(small_server: RunningServer) -> None:
    room = await small_server.create_room()
    token = await small_server.join(room, Role.MEMBER)
    base = f"ws://127.0.0.1:{small_server.port}/sync"
    bad_name = await YClient.open(f"{base}/{room.room.slug}/%2e%2e", token)
    assert (await bad_name.wait_closed())[0] == 4400
    assert not any(f[0] == 0 for f in bad_name.frames)
