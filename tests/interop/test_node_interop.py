"""Interop with the real npm ``yjs`` + ``y-websocket`` clients (driven through ``puppet.mjs``).

Every test starts its own server (``run_server`` on a temporary SQLite file) and its
own Node puppet process; the puppet's clients talk to the server exactly as a browser
using ``WebsocketProvider`` would.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from pycrdt import Doc, Text, XmlElement, XmlFragment, XmlText

from rooms.directory import CreatedRoom
from rooms.roles import Role
from server.config import Settings
from tests.support.harness import RunningServer, run_server
from tests.support.node_client import (
    NodeClient,
    NodePuppet,
)
from tests.support.settings import fast_settings
from tests.support.timing import eventually, timeout
from tests.support.yclient import open_synced

pytestmark = pytest.mark.node

DOC = "guide"
WAIT = timeout(10.0)
"""Timeout of every wait on a puppet event (scaled by ROUNDTABLE_TEST_TIMEOUT_SCALE)."""


# ---------------------------------------------------------------- helpers


async def connect(
    client: NodeClient,
    server: RunningServer,
    room: CreatedRoom,
    token: str,
    user: dict[str, Any] | None = None,
) -> None:
    """Connect a puppet client to the room's document ``DOC`` and wait until it is synced."""
    await client.connect(server.sync_url(room.room.slug), DOC, token, user)
    await client.wait_synced(WAIT)


async def stored_doc(server: RunningServer, room: CreatedRoom, name: str = DOC) -> Doc[Any]:
    """Flush the write-behind buffers, then rebuild the document from the database."""
    return await server.stored_document(room, name)


def doc_of(update: bytes) -> Doc[Any]:
    doc: Doc[Any] = Doc()
    doc.apply_update(update)
    return doc


def text_of(doc: Doc[Any]) -> str:
    return str(doc.get("text", type=Text))


def events_of(puppet: NodePuppet, client: NodeClient, name: str) -> list[dict[str, Any]]:
    return [e for e in puppet.events if e["event"] == name and e.get("id") == client.id]


def has_user(name: str) -> Callable[[list[dict[str, Any]]], bool]:
    def check(states: list[dict[str, Any]]) -> bool:
        return any((s["state"] or {}).get("user", {}).get("name") == name for s in states)

    return check


def forge_signature(token: str) -> str:
    """The same header and claims with a different (hence invalid) HS256 signature."""
    header, payload, signature = token.split(".")
    # The first base64url character carries six whole bits of the MAC: changing it
    # always changes the decoded signature (the last one may only change padding bits).
    first = "B" if signature[0] == "A" else "A"
    forged = f"{header}.{payload}.{first}{signature[1:]}"
    assert forged != token
    return forged


# ------------------------------------------------------------------ tests


async def test_concurrent_inserts_at_the_same_index_converge(
    server: RunningServer, puppet: NodePuppet
) -> None:
    room = await server.create_room()
    a, b = puppet.client("a"), puppet.client("b")
    await connect(a, server, room, await server.join(room, Role.MEMBER, "Ann"))
    await connect(b, server, room, await server.join(room, Role.FACILITATOR, "Bo"))
    await a.insert(0, "tail")
    await b.wait_text("tail", WAIT)

    # Both commands reach the puppet in the same event-loop turn, before the server
    # (which runs in this loop too) can relay either edit: neither client has seen the
    # other's insert when it makes its own. (Checked over repeated runs; not asserted,
    # since convergence must hold whichever way Node happens to order the events.)
    await asyncio.gather(a.insert(0, "[from a]"), b.insert(0, "(from b)"))

    outcomes = ("[from a](from b)tail", "(from b)[from a]tail")
    await eventually(
        lambda: a.text == b.text and a.text in outcomes, WAIT, "both Node clients to converge"
    )
    final = a.text
    assert final is not None
    text_a, update_a = await a.state()
    text_b, update_b = await b.state()
    assert text_a == text_b == final
    # Same content, and the same document structure once decoded by pycrdt.
    assert text_of(doc_of(update_a)) == text_of(doc_of(update_b)) == final
    assert doc_of(update_a).get_state() == doc_of(update_b).get_state()

    await eventually(lambda: server.live_text(room, DOC) == final, 5, "the server to converge")
    late = await open_synced(
        server.sync_url(room.room.slug) + f"/{DOC}", await server.join(room, Role.MEMBER, "Py")
    )
    try:
        assert str(late.text) == final
    finally:
        await late.close()


async def test_awareness_crosses_and_is_removed_when_a_client_goes(
    server: RunningServer, puppet: NodePuppet
) -> None:
    room = await server.create_room()
    a, b = puppet.client("a"), puppet.client("b")
    await connect(a, server, room, await server.join(room, Role.MEMBER, "Ann"))
    await connect(b, server, room, await server.join(room, Role.OBSERVER, "Bo"))

    await a.set_awareness("user", {"name": "Ann", "color": "#d1495b"})
    states = await b.wait_awareness(has_user("Ann"), WAIT)
    [ann] = [s for s in states if has_user("Ann")([s])]
    assert ann["state"]["user"] == {"name": "Ann", "color": "#d1495b"}
    ann_id = ann["clientID"]
    assert ann_id in server.live_document(room, DOC).awareness.states

    await a.destroy()
    await b.wait_awareness(lambda states: all(s["clientID"] != ann_id for s in states), WAIT)
    assert ann_id not in server.live_document(room, DOC).awareness.states

    # A clean destroy() announces its own removal (a null state) before closing. A client
    # that vanishes (a killed tab, a dropped network) says nothing: only the server's
    # removal update, sent when the connection ends, can tell the others.
    other = await NodePuppet.start(ready_timeout=timeout(15.0))
    try:
        k = other.client("k")
        await connect(k, server, room, await server.join(room, Role.MEMBER, "Kim"))
        await k.set_awareness("user", {"name": "Kim"})
        states = await b.wait_awareness(has_user("Kim"), WAIT)
        [kim_id] = [s["clientID"] for s in states if has_user("Kim")([s])]
        other.kill()
        await b.wait_awareness(lambda states: all(s["clientID"] != kim_id for s in states), WAIT)
    finally:
        await other.close()
    assert server.live_document(room, DOC).awareness.states == {}

    # b learnt both from the server, not by losing its own connection (y-websocket also
    # drops every remote state when its socket closes).
    assert events_of(puppet, b, "close") == []
    assert [e["status"] for e in events_of(puppet, b, "status")] == ["connecting", "connected"]


async def test_late_joiner_receives_everything_written_before(
    server: RunningServer, puppet: NodePuppet
) -> None:
    room = await server.create_room()
    a, b = puppet.client("a"), puppet.client("b")
    await connect(a, server, room, await server.join(room, Role.MEMBER, "Ann"), {"name": "Ann"})
    await connect(b, server, room, await server.join(room, Role.MEMBER, "Bo"))
    await a.insert(0, "hello world")
    await b.wait_text("hello world", WAIT)
    await b.insert(11, ", again")
    await a.wait_text("hello world, again", WAIT)
    await a.delete(0, 6)
    await a.insert(0, "goodbye ")
    await a.xml_insert_paragraph("first paragraph")
    expected = "goodbye world, again"
    await b.wait_text(expected, WAIT)
    await eventually(lambda: server.live_text(room, DOC) == expected, 5, "the server text")

    late = puppet.client("late")
    await connect(late, server, room, await server.join(room, Role.OBSERVER, "Cy"))
    # Everything arrives in the handshake: no edit happened after the join.
    text, update = await late.state()
    assert text == expected
    synced = doc_of(update)
    assert text_of(synced) == expected
    assert str(synced.get("default", type=XmlFragment)) == "<paragraph>first paragraph</paragraph>"
    assert synced.get_state() == server.live_document(room, DOC).sync.state_vector()
    # Presence too: the server sends the states it knows to a newcomer.
    await late.wait_awareness(has_user("Ann"), WAIT)


async def test_observer_edits_reach_nobody_and_are_not_stored(
    server: RunningServer, puppet: NodePuppet
) -> None:
    room = await server.create_room()
    url = server.sync_url(room.room.slug) + f"/{DOC}"
    member, observer = puppet.client("member"), puppet.client("observer")
    await connect(member, server, room, await server.join(room, Role.MEMBER, "Ann"))
    await member.insert(0, "base")
    py = await open_synced(url, await server.join(room, Role.MEMBER, "Py"))
    try:
        await py.wait_text("base")
        await connect(observer, server, room, await server.join(room, Role.OBSERVER, "Obs"))
        await observer.wait_text("base", WAIT)

        await observer.insert(0, "vandal ")
        # Searched from the connect: the server currently sends this notice during the
        # handshake already (see test_observer_is_not_denied_before_it_edits).
        denied = await observer.wait_permission_denied(WAIT)
        assert "read-only" in denied["reason"]
        await observer.insert(0, "more ")
        # The awareness update goes after the second edit on the same socket: once the
        # member sees it, the server has handled (and dropped) both edits.
        await observer.set_awareness("user", {"name": "Obs"})
        await member.wait_awareness(has_user("Obs"), WAIT)

        # Markers through both receivers' sockets: had the server relayed the observer's
        # edits, they would have been queued to these clients before the markers.
        await member.insert(4, "!")
        await py.wait_text("base!")
        await observer.wait_text("more vandal base!", WAIT)
        py.insert(5, "?")
        await observer.wait_text("more vandal base!?", WAIT)
        await member.wait_text("base!?", WAIT)
        assert "vandal" not in (member.text or "")
        assert str(py.text) == "base!?"
        member_text, _ = await member.state()
        assert member_text == "base!?"
        assert server.live_text(room, DOC) == "base!?"

        assert text_of(await stored_doc(server, room)) == "base!?"
        # One notice per connection, however many edits were dropped.
        assert len(events_of(puppet, observer, "permission-denied")) == 1
        # The observer stays connected (read-only, not refused).
        assert events_of(puppet, observer, "close") == []
    finally:
        await py.close()


async def test_observer_is_not_denied_before_it_edits(
    server: RunningServer, puppet: NodePuppet
) -> None:
    room = await server.create_room()
    member, observer = puppet.client("member"), puppet.client("observer")
    await connect(member, server, room, await server.join(room, Role.MEMBER, "Ann"))
    await member.insert(0, "base")
    await connect(observer, server, room, await server.join(room, Role.OBSERVER, "Obs"))
    await observer.wait_text("base", WAIT)
    # The observer's sync step 2 went out before it was synced; this awareness update
    # follows it on the same socket. Once the member sees it, the server has handled
    # the step 2; once the observer sees the member's next edit, anything the server
    # sent the observer in between has arrived.
    await observer.set_awareness("user", {"name": "Obs"})
    await member.wait_awareness(has_user("Obs"), WAIT)
    await member.insert(4, "!")
    await observer.wait_text("base!", WAIT)
    assert events_of(puppet, observer, "permission-denied") == []

    await observer.insert(0, "vandal ")
    denied = await observer.wait_permission_denied(WAIT)
    assert "read-only" in denied["reason"]


async def test_forged_token_gets_nothing(server: RunningServer, puppet: NodePuppet) -> None:
    room = await server.create_room()
    writer = puppet.client("writer")
    await connect(writer, server, room, await server.join(room, Role.MEMBER, "Ann"))
    await writer.insert(0, "private notes")
    await eventually(lambda: server.live_text(room, DOC) == "private notes", 5, "the write")

    forged = forge_signature(await server.join(room, Role.FACILITATOR, "Eve"))
    eve = puppet.client("eve")
    await eve.connect(server.sync_url(room.room.slug), DOC, forged)
    close = await eve.wait_close(WAIT)
    assert close["code"] == 4401
    # 4400-4499 is terminal for y-websocket >= 3.1: it emits 'closed' and stops
    # reconnecting (the status history below would show an attempt made meanwhile).
    closed = await eve.wait_event("closed", WAIT)
    assert closed["code"] == 4401
    denied = await eve.wait_permission_denied(WAIT)
    assert denied["reason"] == "invalid token"

    assert events_of(puppet, eve, "synced") == []
    assert eve.text is None, "no document update may reach the client"
    text, update = await eve.state()
    assert text == ""
    assert text_of(doc_of(update)) == ""
    assert doc_of(update).get_state() == Doc().get_state()
    assert [e["status"] for e in events_of(puppet, eve, "status")] == [
        "connecting",
        "connected",
        "disconnected",
    ]
    # The writer is unaffected.
    assert events_of(puppet, writer, "close") == []


async def test_document_survives_a_server_restart(sqlite_url: str, puppet: NodePuppet) -> None:
    # A write-behind window far longer than the test: only the shutdown flush can
    # store the edit.
    settings: Settings = fast_settings(sqlite_url, flush_interval=600.0)
    async with run_server(settings) as first:
        room = await first.create_room()
        old_token = await first.join(room, Role.MEMBER, "Ann")
        a = puppet.client("a")
        await connect(a, first, room, old_token)
        await a.insert(0, "written before the restart")
        await a.xml_insert_paragraph("kept paragraph")
        await eventually(
            lambda: first.live_text(room, DOC) == "written before the restart",
            5,
            "the server to receive the edit",
        )
        assert first.live_document(room, DOC).writer.dirty, "the edit must not be stored yet"
        # The block ends with `a` still connected: shutting down must flush anyway.
    close = await a.wait_close(WAIT)
    # A restart is transient for y-websocket (it keeps reconnecting), not a refusal.
    assert close["code"] == 1012
    assert events_of(puppet, a, "closed") == []
    # Destroy it before the new server exists: it must not re-upload its copy.
    await a.destroy()

    async with run_server(settings) as second:
        assert second.live_text(room, DOC) is None
        b = puppet.client("b")
        await connect(b, second, room, await second.join(room, Role.MEMBER, "Bo"))
        text, update = await b.state()
        assert text == "written before the restart"
        assert (
            str(doc_of(update).get("default", type=XmlFragment))
            == "<paragraph>kept paragraph</paragraph>"
        )

        # A token issued by the first server is still valid: the secret is the same.
        c = puppet.client("c")
        await connect(c, second, room, old_token)
        text, _ = await c.state()
        assert text == "written before the restart"
        await c.insert(0, "> ")
        await b.wait_text("> written before the restart", WAIT)


async def test_xml_fragment_paragraph_reaches_clients_and_server(
    server: RunningServer, puppet: NodePuppet
) -> None:
    room = await server.create_room()
    a, b = puppet.client("a"), puppet.client("b")
    await connect(a, server, room, await server.join(room, Role.MEMBER, "Ann"))
    await connect(b, server, room, await server.join(room, Role.MEMBER, "Bo"))

    await a.xml_insert_paragraph("Hello, rich text")
    # Updates from one socket are relayed in order: the marker comes after the paragraph.
    await a.insert(0, "marker")
    await b.wait_text("marker", WAIT)
    await b.state()
    state_event = puppet.latest(lambda e: e["event"] == "state" and e.get("id") == b.id)
    assert state_event is not None
    assert state_event["xml"] == "<paragraph>Hello, rich text</paragraph>"

    fragment = server.live_document(room, DOC).sync.ydoc.get("default", type=XmlFragment)
    [paragraph] = list(fragment.children)
    assert isinstance(paragraph, XmlElement)
    assert paragraph.tag == "paragraph"
    [content] = list(paragraph.children)
    assert isinstance(content, XmlText)
    assert str(content) == "Hello, rich text"

    stored = (await stored_doc(server, room)).get("default", type=XmlFragment)
    assert str(stored) == "<paragraph>Hello, rich text</paragraph>"


async def test_offline_edit_is_merged_on_reconnect(
    server: RunningServer, puppet: NodePuppet
) -> None:
    room = await server.create_room()
    a, b = puppet.client("a"), puppet.client("b")
    await connect(a, server, room, await server.join(room, Role.MEMBER, "Ann"))
    await connect(b, server, room, await server.join(room, Role.MEMBER, "Bo"))
    await a.insert(0, "base")
    await b.wait_text("base", WAIT)

    await a.disconnect()
    await a.wait_close(WAIT, include_local=True)
    await a.insert(0, "offline ")
    await b.insert(4, " online")
    await eventually(
        lambda: server.live_text(room, DOC) == "base online", 5, "b's edit at the server"
    )
    await a.wait_text("offline base", WAIT)

    await a.reconnect()
    await a.wait_synced(WAIT)
    await a.wait_text("offline base online", WAIT)
    await b.wait_text("offline base online", WAIT)
    await eventually(
        lambda: server.live_text(room, DOC) == "offline base online", 5, "the merge at the server"
    )
    assert text_of(await stored_doc(server, room)) == "offline base online"
    py = await open_synced(
        server.sync_url(room.room.slug) + f"/{DOC}", await server.join(room, Role.MEMBER, "Py")
    )
    try:
        assert str(py.text) == "offline base online"
    finally:
        await py.close()


async def test_undo_that_writes_a_crossed_item_lands_where_the_client_put_it(
    server: RunningServer, puppet: NodePuppet
) -> None:
    """Yjs' undo manager, bringing back a deleted paragraph whose text was brought back
    once before, writes an item whose left origin lies right of its right origin
    (docs/yjs-crossed-redo.md). The server takes it without its right origin: the
    client keeps its connection and its edits, and the other client, the server, a
    client joining later and the stored document all read what the client shows."""
    room = await server.create_room()
    a, b = puppet.client("a"), puppet.client("b")
    await connect(a, server, room, await server.join(room, Role.MEMBER, "Ann"))
    await connect(b, server, room, await server.join(room, Role.MEMBER, "Bo"))
    await b.watch_xml()
    await a.track_undo()
    await a.xml_insert_paragraph("c")
    await a.xml_edit({"do": "insertText", "path": [0, 0], "index": 1, "text": ".fu"})
    await a.xml_edit({"do": "delete", "path": [0, 0], "index": 1, "length": 3})
    await a.undo()
    await a.xml_edit({"do": "insertText", "path": [0, 0], "index": 3, "text": "Z"})
    await a.xml_edit({"do": "delete", "path": [], "index": 0})
    await a.undo()
    expected = "<paragraph>c.fZu</paragraph>"
    assert (await a.xml_dump())["xml"] == expected
    await b.wait_xml(lambda event: event["xml"] == expected, WAIT)
    sync = server.live_document(room, DOC).sync
    assert sync.uncrossed == 1
    assert str(sync.ydoc.get("default", type=XmlFragment)) == expected
    assert not events_of(puppet, a, "close")
    late = puppet.client("late")
    await connect(late, server, room, await server.join(room, Role.MEMBER, "Cy"))
    assert (await late.xml_dump())["xml"] == expected
    stored = await stored_doc(server, room)
    assert str(stored.get("default", type=XmlFragment)) == expected
