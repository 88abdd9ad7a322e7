"""The limits at their documented defaults, not the shrunken values the other tests use.

Where the behaviour is cheap to drive, a real server with default limits shows it: a
1 MiB message is taken and one byte more closes 1009; a connection's first 500 messages
(``message_burst``) are taken at once and a flood beyond ``max_messages_per_second``
(100) closes 4429; a room takes 500 documents (``max_documents_per_room``) and refuses
the next; a close frame stuck behind bytes the client does not read is aborted after
``close_grace_seconds`` (2 s); an address makes 600 connection attempts a minute and the
next handshake gets HTTP 429. Every default in README.md's configuration table and in
docs/reliability.md's table of limits is also checked against :class:`Settings`.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
import time
from dataclasses import fields
from pathlib import Path
from typing import Any

import httpx
import pytest
from pycrdt import Doc, Text
from sqlalchemy import insert
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.protocol import State

from crdt.protocol import encode_sync_step1, encode_update
from rooms.roles import Role
from server.config import Settings
from server.sockets.peer import WebSocketPeer
from server.storage.tables import DocumentRow
from tests.support.harness import RunningServer
from tests.support.rawclient import StalledClient
from tests.support.timing import eventually, timeout
from tests.support.yclient import YClient, open_synced

ROOT = Path(__file__).resolve().parents[3]
DOC = "guide"
MIB = 1024 * 1024
DEFAULTS = Settings()
# The documented defaults (README.md, docs/reliability.md), which the tests hold the
# server to.
MAX_MESSAGE_SIZE = MIB
MESSAGES_PER_SECOND = 100
MESSAGE_BURST = 500
DOCUMENTS_PER_ROOM = 500
CLOSE_GRACE_SECONDS = 2.0
CONNECTION_ATTEMPTS_PER_MINUTE = 600


def doc_url(server: RunningServer, slug: str, name: str = DOC) -> str:
    return f"{server.sync_url(slug)}/{name}"


def text_update(text: str, client_id: int | None = None) -> bytes:
    doc: Doc[Any] = Doc() if client_id is None else Doc(client_id=client_id)
    doc.get("text", type=Text).insert(0, text)
    return doc.get_update()


def update_message(size: int, letter: str) -> tuple[bytes, str]:
    """A y-websocket update message of exactly ``size`` bytes, inserting a text of
    ``letter`` repeated, and that text."""
    # One client id for every try: its encoded length is part of the size.
    client_id = 1_000_000 + ord(letter)
    length = size - 64
    for _ in range(3):
        message = encode_update(text_update(letter * length, client_id))
        if len(message) == size:
            return message, letter * length
        length += size - len(message)
    raise AssertionError(f"no update message of {size} bytes")


async def test_the_limits_tested_here_are_the_defaults_the_server_applies(
    server: RunningServer,
) -> None:
    documented = {
        "max_message_size": MAX_MESSAGE_SIZE,
        "max_messages_per_second": MESSAGES_PER_SECOND,
        "message_burst": MESSAGE_BURST,
        "max_documents_per_room": DOCUMENTS_PER_ROOM,
        "close_grace_seconds": CLOSE_GRACE_SECONDS,
        "max_connection_attempts_per_minute": CONNECTION_ATTEMPTS_PER_MINUTE,
    }
    for name, value in documented.items():
        assert getattr(DEFAULTS, name) == value, name
        assert getattr(server.settings, name) == value, f"the test server changes {name}"


async def test_a_1_mib_message_is_taken_and_one_byte_more_closes_1009(
    server: RunningServer,
) -> None:
    room = await server.create_room()
    url = doc_url(server, room.room.slug)
    writer = await open_synced(url, await server.join(room, Role.MEMBER, "Ann"))
    reader = await open_synced(url, await server.join(room, Role.MEMBER, "Bo"))
    try:
        at_the_cap, text = update_message(MAX_MESSAGE_SIZE, "x")
        await writer.send(at_the_cap)
        await reader.wait_text(text, seconds=15)
        assert writer.is_open

        mallory = await open_synced(url, await server.join(room, Role.MEMBER, "Mallory"))
        over_the_cap, _ = update_message(MAX_MESSAGE_SIZE + 1, "y")
        await mallory.send(over_the_cap)
        code, _ = await mallory.wait_closed(15)
        assert code == 1009
        await mallory.close()

        reader.insert(0, "after ")
        await eventually(
            lambda: server.live_text(room, DOC) == "after " + text, 15, "an edit after the refusal"
        )
        stored = await server.stored_document(room, DOC)
        assert str(stored.get("text", type=Text)) == "after " + text
    finally:
        await writer.close()
        await reader.close()


async def test_a_burst_of_500_messages_is_taken_and_a_flood_beyond_100_a_second_closes_4429(
    server: RunningServer,
) -> None:
    room = await server.create_room()
    url = doc_url(server, room.room.slug)
    token = await server.join(room, Role.MEMBER)
    # One character an update, each after the one before: the text the server holds
    # tells how many updates it took.
    draft: Doc[Any] = Doc()
    typed = draft.get("text", type=Text)
    updates = []
    for index in range(3000):
        before = draft.get_state()
        typed.insert(index, "abcdefghijklmnopqrstuvwxyz"[index % 26])
        updates.append(encode_update(draft.get_update(before)))
    text = str(typed)
    burst = MESSAGE_BURST

    opened = time.monotonic()
    # A bare connection: no handshake messages, the whole budget for the updates.
    async with connect(f"{url}?token={token}", open_timeout=timeout(5)) as flooder:
        for update in updates[:burst]:
            await flooder.send(update)
        await eventually(
            lambda: server.live_text(room, DOC) == text[:burst] or flooder.state is not State.OPEN,
            15,
            "the burst to be applied",
        )
        assert flooder.state is State.OPEN, "a burst within message_burst was refused"
        with contextlib.suppress(ConnectionClosed):
            for update in updates[burst:]:
                await flooder.send(update)
        await asyncio.wait_for(flooder.wait_closed(), timeout(15))
    elapsed = time.monotonic() - opened
    assert (flooder.close_code, flooder.close_reason) == (4429, "too many messages")
    taken = len(server.live_text(room, DOC) or "")
    assert server.live_text(room, DOC) == text[:taken]
    # The bucket holds 500 at the start and gains 100 a second at most since then.
    allowed = burst + math.ceil(MESSAGES_PER_SECOND * elapsed)
    assert burst <= taken <= allowed < len(text), (taken, elapsed)
    stored = await server.stored_document(room, DOC)
    assert str(stored.get("text", type=Text)) == text[:taken]


async def test_a_room_takes_500_documents_and_refuses_the_next(server: RunningServer) -> None:
    room = await server.create_room()
    limit = DOCUMENTS_PER_ROOM
    async with server.app_state.store.engine.begin() as connection:
        await connection.execute(
            insert(DocumentRow),
            [{"room_id": room.room.id, "name": f"doc-{n}"} for n in range(1, limit)],
        )
    facilitator = await server.join(room, Role.FACILITATOR, "Fay")
    member = await server.join(room, Role.MEMBER, "Ann")
    headers = {"authorization": f"Bearer {facilitator}"}
    async with httpx.AsyncClient(base_url=server.http, headers=headers) as api:
        last = await api.post(f"/api/rooms/{room.room.slug}/documents", json={"name": "last"})
        assert last.status_code == 201, last.text
        refused = await api.post(f"/api/rooms/{room.room.slug}/documents", json={"name": "more"})
        assert refused.status_code == 409, refused.text
        assert refused.json()["error"]["code"] == "too_many_documents"

    by_socket = await YClient.open(doc_url(server, room.room.slug, "by-socket"), member)
    code, reason = await by_socket.wait_closed()
    await by_socket.close()
    assert (code, reason) == (4409, f"a room holds at most {limit} documents")
    documents = await server.app_state.store.list_documents(room.room.id)
    assert len(documents) == limit
    assert "more" not in {d.name for d in documents}
    existing = await open_synced(doc_url(server, room.room.slug, "last"), member)
    await existing.close()


async def connection_ends(client: StalledClient) -> None:
    """Read the client's socket until the server's end of the connection is gone."""
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(timeout(10)):
        with contextlib.suppress(ConnectionResetError):
            while await loop.sock_recv(client.sock, 1 << 20):
                pass


async def test_a_close_frame_stuck_behind_unread_bytes_is_aborted_after_2_seconds(
    server: RunningServer,
) -> None:
    room = await server.create_room()
    token = await server.join(room, Role.MEMBER)
    stalled = await StalledClient.open(f"{doc_url(server, room.room.slug)}?token={token}")
    try:
        # The whole document, asked for again and again: megabytes the client never
        # reads, fewer than send_buffer_limit (4 MiB) so that only the close ends it.
        await stalled.send(encode_update(text_update("x" * 600_000)))
        for _ in range(6):
            await stalled.send(encode_sync_step1(b"\x00"))

        def peer() -> WebSocketPeer | None:
            for document in server.app_state.hub.documents.values():
                for candidate in document.peers:
                    if isinstance(candidate, WebSocketPeer):
                        return candidate
            return None

        def backlog() -> bool:
            found = peer()
            return found is not None and found.buffered > 256 * 1024

        await eventually(backlog, 10, "the server to hold bytes the client does not read")
        found = peer()
        assert found is not None and not found.closing
        held: WebSocketPeer = found
        loop = asyncio.get_running_loop()
        sent = loop.time()
        await stalled.send(b"\x07")  # an unknown message type: close 1002
        await eventually(lambda: held.closing, 5, "the server to close the connection")
        closing = loop.time()
        assert held.buffered > 0, "the close frame went out: nothing to abort"
        await eventually(lambda: held.buffered == 0, 10, "the connection to be aborted")
        aborted = loop.time()
        assert aborted - sent >= CLOSE_GRACE_SECONDS - 0.01, aborted - sent
        assert aborted - closing <= CLOSE_GRACE_SECONDS + timeout(0.3), aborted - closing
        await connection_ends(stalled)
    finally:
        stalled.close()


async def test_an_address_makes_600_connection_attempts_a_minute(server: RunningServer) -> None:
    room = await server.create_room()
    url = doc_url(server, room.room.slug)
    for attempt in range(CONNECTION_ATTEMPTS_PER_MINUTE):
        async with connect(url, open_timeout=timeout(5)) as refused:
            await refused.wait_closed()
        assert refused.close_code == 4401, attempt
    with pytest.raises(InvalidStatus) as too_many:
        async with connect(url, open_timeout=timeout(5)):
            pass
    assert too_many.value.response.status_code == 429


# ------------------------------------------------ the documented defaults themselves


def _number(text: str) -> float | None:
    """``1 MiB``, ``64 KiB``, ``5 s``, ``100/s`` or a plain number; None for other text."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(MiB|KiB|s|/s)?", text.strip())
    if match is None:
        return None
    unit = match.group(2) or ""
    return float(match.group(1)) * {"MiB": MIB, "KiB": 1024}.get(unit, 1)


def _documented(value: str) -> object:
    """A default as README.md writes it, as Settings would hold it."""
    value = re.sub(r"\s*\(.*\)$", "", value.strip()).strip()
    if value in ("unset", "generated once, kept in the database"):
        return None
    if value == "empty":
        return ""
    literal = value.strip("`")
    number = _number(literal)
    return literal if number is None else number


def _readme_defaults() -> dict[str, object]:
    """Each setting of README.md's configuration table, with its documented default."""
    readme = (ROOT / "README.md").read_text()
    defaults: dict[str, object] = {}
    for line in readme.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`ROUNDTABLE_"):
            continue
        names = re.findall(r"`ROUNDTABLE_(\w+)`", cells[0])
        values = cells[1].split(" / ")
        if len(values) != len(names):
            values = [cells[1]] * len(names)
        for name, value in zip(names, values, strict=True):
            defaults[name.lower()] = _documented(value)
    return defaults


def _reliability_defaults() -> dict[str, object]:
    """Each limit of docs/reliability.md's table of limits (the settings it names), with
    its documented default."""
    section = (ROOT / "docs" / "reliability.md").read_text().split("## Limits and their defaults")
    table = [line for line in section[1].split("\n\n", 3)[2].splitlines() if line.startswith("|")]
    known = {f.name for f in fields(Settings)}
    defaults: dict[str, object] = {}
    for line in table[2:]:
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        names = [n for n in re.findall(r"`(\w+)`", cells[0].split("(")[0]) if n in known]
        values = re.sub(r"\s*\(.*\)$", "", cells[1]).split(", ")
        for name, value in zip(names, values, strict=True):
            defaults[name] = _documented(value)
    return defaults


@pytest.mark.parametrize("source", ["README.md", "docs/reliability.md"])
def test_every_documented_default_is_the_settings_default(source: str) -> None:
    documented = _readme_defaults() if source == "README.md" else _reliability_defaults()
    known = {f.name for f in fields(Settings)}
    assert set(documented) <= known, f"{source} documents unknown settings"
    if source == "README.md":
        assert set(documented) == known, (
            f"settings missing from README.md: {known - set(documented)}"
        )
    wrong = {
        name: (value, getattr(DEFAULTS, name))
        for name, value in documented.items()
        if value != getattr(DEFAULTS, name)
    }
    assert not wrong, f"{source} (documented, actual): {wrong}"
