"""The facilitator's controls, end to end: locks on live sockets, removals, invites, the
timer, the spotlight, ending the session, who may use them, and the audit log.

Every test runs real servers (``run_server``) with real clients: the Python
y-websocket client of :mod:`tests.support.yclient`, the real npm ``yjs`` + ``y-websocket``
clients of the Node puppet, and the room event socket. Nothing waits a fixed time:
ordering proofs use barriers (an awareness update goes out on the same socket after an
edit: once the others receive it, the server has handled the edit and would have
relayed it before).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pycrdt import Doc, Text
from websockets.asyncio.client import ClientConnection, connect

from crdt.awareness import AwarenessEntry, encode_awareness_update, parse_awareness_update
from crdt.protocol import PermissionDenied, decode_message
from rooms.directory import CreatedRoom
from rooms.roles import Role
from tests.support.harness import RunningServer, run_server
from tests.support.node_client import NodePuppet
from tests.support.settings import cluster_settings, fast_settings
from tests.support.threads_client import (
    EventFeed,
    Person,
    event_feed,
    events_url,
    join,
    read_events,
)
from tests.support.timing import eventually, timeout
from tests.support.yclient import YClient, close_all, open_synced

DOC = "guide"
WAIT = timeout(10.0)
LOCKED = "locked"


# ------------------------------------------------------------------ fixtures


# ------------------------------------------------------------------- helpers


def doc_url(server: RunningServer, room: CreatedRoom, name: str = DOC) -> str:
    return f"{server.sync_url(room.room.slug)}/{name}"


def text_of(doc: Doc[Any]) -> str:
    return str(doc.get("text", type=Text))


async def stored_text(server: RunningServer, room: CreatedRoom, name: str = DOC) -> str:
    return text_of(await server.stored_document(room, name))


async def version_text(server: RunningServer, version_id: int) -> str:
    found = await server.app_state.control_store.get_version(version_id)
    assert found is not None, f"version {version_id} is not stored"
    doc: Doc[Any] = Doc()
    doc.apply_update(found[1])
    return text_of(doc)


async def room_state(person: Person) -> dict[str, Any]:
    """GET /api/rooms/{room} (the room's live state) as ``person``."""
    async with person.client() as client:
        response = await client.get(f"{person.http}/api/rooms/{person.room}")
    assert response.status_code == 200, response.text
    state: dict[str, Any] = response.json()
    return state


async def last_seq(server: RunningServer, room: CreatedRoom) -> int:
    return await server.app_state.store.last_event_seq(room.room.id)


def on(person: Person, server: RunningServer) -> Person:
    """The same participant (same token) talking to another server's HTTP API."""
    return replace(person, http=server.http)


def error_code(response: httpx.Response) -> str:
    code: str = response.json()["error"]["code"]
    return code


def denials(client: YClient) -> list[str]:
    """The permission-denied auth messages the client received, decoded from its frames."""
    return [
        message.reason
        for message in map(decode_message, client.frames)
        if isinstance(message, PermissionDenied)
    ]


def append(client: YClient, value: str) -> None:
    client.insert(len(str(client.text)), value)


_clocks = itertools.count(1)


async def barrier(sender: YClient, *watchers: YClient) -> None:
    """Send an awareness update on ``sender``'s socket and wait until ``sender`` and every
    watcher (on the same document) received it back.

    The server handles a socket's frames in order and relays to a peer in order: after
    this, it has handled everything ``sender`` sent before, and each watcher has
    received anything the server relayed from it (or sent to it) before.
    """
    await sender.edits_sent()
    client_id, clock = sender.doc.client_id, next(_clocks)
    state = {"user": {"name": f"barrier {clock}"}}
    await sender.send_awareness(encode_awareness_update([AwarenessEntry(client_id, clock, state)]))

    def seen(client: YClient) -> Callable[[], bool]:
        return lambda: any(
            entry.client_id == client_id and entry.clock == clock
            for frame in client.awareness_frames
            for entry in parse_awareness_update(frame, 1 << 20)
        )

    for client in (sender, *watchers):
        await client.wait_until(seen(client))


async def poll(check: Callable[[], Awaitable[bool]], what: str, seconds: float = 5.0) -> None:
    """Wait until an I/O-bound condition holds (re-checked every 20 ms), or fail."""
    try:
        async with asyncio.timeout(timeout(seconds)):
            while not await check():  # noqa: ASYNC110 (no event to wait on)
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


class EventSocket:
    """A raw ``/events/{room}`` connection that also reports how it was closed.

    A frame the reader cannot take fails the test: :meth:`wait_ready`,
    :meth:`wait_closed`, :meth:`close` and the feed's waits raise it."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.feed = EventFeed()
        self._reader = asyncio.create_task(read_events(ws, self.feed))

    async def wait_ready(self) -> None:
        await self.feed.wait_for(lambda m: m["type"] in ("ready", "resync"))

    async def wait_closed(self) -> tuple[int | None, str]:
        """The close code and reason the server sent."""
        await asyncio.wait_for(asyncio.shield(self._reader), timeout(5))
        return self.ws.close_code, self.ws.close_reason or ""

    async def close(self) -> None:
        await self.ws.close()
        await asyncio.wait_for(self._reader, timeout(5))


async def open_events(url: str) -> EventSocket:
    return EventSocket(await connect(url, open_timeout=timeout(5)))


def is_event(kind: str, **data: Any) -> Callable[[dict[str, Any]], bool]:
    return lambda m: (
        m.get("type") == kind
        and all(m.get("data", {}).get(key) == value for key, value in data.items())
    )


# ------------------------------------------------------- locks on live sockets


async def test_lock_applies_at_once_to_open_sockets_and_unlock_lifts_it(
    server: RunningServer,
) -> None:
    room = await server.create_room()
    fac = await join(server, room, Role.FACILITATOR, "Fay")
    ann = await join(server, room, Role.MEMBER, "Ann")
    bo = await join(server, room, Role.MEMBER, "Bo")
    url = doc_url(server, room)
    f = await open_synced(url, fac.token)
    a = await open_synced(url, ann.token)
    # Ann's second tab: it edits nothing while the document is locked.
    a2 = await open_synced(url, ann.token)
    b = await open_synced(url, bo.token)
    try:
        a.insert(0, "base")
        await f.wait_text("base")
        await b.wait_text("base")
        await a2.wait_text("base")

        # A lock on another document of the room leaves this one's sockets alone.
        await fac.ok("POST", "/documents", {"name": "notes"}, status=201)
        await fac.ok("PUT", "/documents/notes/lock", {"locked": True})
        append(a2, "?")
        await f.wait_text("base?")
        await b.wait_text("base?")
        assert denials(a2) == []

        locked = await fac.ok("PUT", f"/documents/{DOC}/lock", {"locked": True})
        assert locked["document"]["locked"] is True

        # Edits made after the lock response: dropped, whoever sent them.
        a.insert(4, " ann")
        b.insert(0, "bo ")
        await barrier(a, f, b, a2)
        await barrier(b, f, a, a2)
        # Each is told, once per connection, why the edit was dropped, whether or not
        # they had edited before the lock (Ann had).
        for client in (a, b):
            assert len(denials(client)) == 1, denials(client)
            assert LOCKED in denials(client)[0]
            assert client.denied == denials(client)
        b.insert(0, "again ")
        await barrier(b, f)
        assert len(denials(b)) == 1, "one notice per connection, however many edits"
        assert b.is_open and a.is_open, "a lock makes members read-only, it does not drop them"

        # The facilitator still edits; what the others receive holds nothing dropped.
        # (A dropped edit stays in its sender's copy, placed against the facilitator's
        # by client id: only what remains without it is compared.)
        f.insert(0, ">")
        await a2.wait_text(">base?")
        await b.wait_until(lambda: str(b.text).replace("again bo ", "") == ">base?")
        await a.wait_until(lambda: str(a.text).replace(" ann", "") == ">base?")
        assert str(f.text) == ">base?"
        assert server.live_text(room, DOC) == ">base?"
        assert await stored_text(server, room) == ">base?"

        # A member who connects while the document is locked is read-only from the start.
        cy = await join(server, room, Role.MEMBER, "Cy")
        c = await open_synced(url, cy.token)
        c.insert(0, "cy ")
        await barrier(c, f)
        assert len(denials(c)) == 1 and LOCKED in denials(c)[0]
        assert str(f.text) == ">base?"
        await c.close()

        unlocked = await fac.ok("PUT", f"/documents/{DOC}/lock", {"locked": False})
        assert unlocked["document"]["locked"] is False
        # At once, on the socket already open: the member's next edit is accepted.
        a2.insert(0, "[a2]")
        await f.wait_text("[a2]>base?")
        append(f, "<")
        await a2.wait_text("[a2]>base?<")
        assert await stored_text(server, room) == "[a2]>base?<"
        assert denials(a2) == [] and denials(f) == []
    finally:
        await close_all(f, a, a2, b)


async def test_a_member_who_edited_before_the_lock_is_told_when_an_edit_is_dropped(
    server: RunningServer,
) -> None:
    room = await server.create_room()
    fac = await join(server, room, Role.FACILITATOR, "Fay")
    ann = await join(server, room, Role.MEMBER, "Ann")
    url = doc_url(server, room)
    f = await open_synced(url, fac.token)
    a = await open_synced(url, ann.token)
    try:
        a.insert(0, "base")
        await f.wait_text("base")
        await fac.ok("PUT", f"/documents/{DOC}/lock", {"locked": True})
        a.insert(4, " more")
        # The notice would go out while the server handles the edit: before the barrier.
        await barrier(a, f)
        assert str(f.text) == "base"
        assert len(denials(a)) == 1, denials(a)
    finally:
        await close_all(f, a)


@pytest.mark.node
async def test_after_unlock_a_connection_whose_edit_was_dropped_resyncs(
    server: RunningServer, puppet: NodePuppet
) -> None:
    """An edit dropped while locked stays in its sender's copy, and the sender's later
    edits build on it. On unlock the server closes that connection with 4000 (resync);
    y-websocket reconnects, sends what the server lacks, and everyone agrees again."""
    room = await server.create_room()
    fac = await join(server, room, Role.FACILITATOR, "Fay")
    ann = await join(server, room, Role.MEMBER, "Ann")
    url = doc_url(server, room)
    f = await open_synced(url, fac.token)
    node = puppet.client("ann")
    try:
        await node.connect(server.sync_url(room.room.slug), DOC, ann.token)
        await node.wait_synced(WAIT)
        await node.insert(0, "base")
        await f.wait_text("base")
        await fac.ok("PUT", f"/documents/{DOC}/lock", {"locked": True})
        await node.insert(4, " dropped")
        await node.wait_permission_denied(WAIT)
        await fac.ok("PUT", f"/documents/{DOC}/lock", {"locked": False})
        # The reconnect brings the dropped edit back: it was kept, not lost.
        await f.wait_text("base dropped")
        await node.insert(0, "after ")
        await f.wait_text("after base dropped")
        await node.wait_text("after base dropped", WAIT)
        assert server.live_text(room, DOC) == "after base dropped"
        assert await stored_text(server, room) == "after base dropped"
    finally:
        await close_all(f)


@pytest.mark.node
async def test_lock_with_a_node_y_websocket_member(
    server: RunningServer, puppet: NodePuppet
) -> None:
    room = await server.create_room()
    fac = await join(server, room, Role.FACILITATOR, "Fay")
    ann = await join(server, room, Role.MEMBER, "Ann")
    bo = await join(server, room, Role.MEMBER, "Bo")
    url = doc_url(server, room)
    f = await open_synced(url, fac.token)
    b = await open_synced(url, bo.token)
    node, node_tab = puppet.client("ann"), puppet.client("ann-tab")
    try:
        for client in (node, node_tab):
            await client.connect(server.sync_url(room.room.slug), DOC, ann.token)
            await client.wait_synced(WAIT)
        f.insert(0, "base")
        await node.wait_text("base", WAIT)
        await node_tab.wait_text("base", WAIT)

        await fac.ok("PUT", f"/documents/{DOC}/lock", {"locked": True})
        await node.insert(0, "node ")
        denied = await node.wait_permission_denied(WAIT)
        assert LOCKED in denied["reason"]
        await node.insert(0, "again ")
        # The awareness update follows the second edit on the same socket.
        await node.set_awareness("user", {"name": "Ann"})

        def saw_ann() -> bool:
            return any(
                (entry.state or {}).get("user", {}).get("name") == "Ann"
                for frame in b.awareness_frames
                for entry in parse_awareness_update(frame, 1 << 20)
            )

        await b.wait_until(saw_ann)
        # The facilitator still edits; the Node member receives it (read-only, connected).
        append(f, "!")
        await node.wait_text("again node base!", WAIT)
        await b.wait_text("base!")
        await node_tab.wait_text("base!", WAIT)
        assert server.live_text(room, DOC) == "base!"
        assert await stored_text(server, room) == "base!"
        assert len([e for e in puppet.events if e["event"] == "permission-denied"]) == 1
        assert not [e for e in puppet.events if e["event"] == "close"]

        unlocking = puppet.mark()
        await fac.ok("PUT", f"/documents/{DOC}/lock", {"locked": False})
        # At once, on the socket already open: the other tab's next edit is accepted.
        await node_tab.insert(0, "ok ")
        # The connection whose edits were dropped is closed with 4000 (resync) and
        # reconnects; its sync sends the edits it kept, which arrive late.
        closed = await node.wait_close(WAIT, since=unlocking)
        assert closed["code"] == 4000, closed
        await node.wait_synced(WAIT, since=puppet.events.index(closed))
        # Nothing is lost and every copy agrees again. "ok " and "again node " were
        # both typed at the start, neither tab seeing the other's: Yjs orders the two
        # by client id.
        merged = ("ok again node base!", "again node ok base!")
        await f.wait_until(lambda: str(f.text) in merged)
        text = str(f.text)
        await b.wait_text(text)
        await node.wait_text(text, WAIT)
        await node_tab.wait_text(text, WAIT)
        assert server.live_text(room, DOC) == text
        assert await stored_text(server, room) == text
        # Only the diverged connection was closed, once; the other tab stayed open.
        closes = [e for e in puppet.events[unlocking:] if e["event"] == "close"]
        assert closes == [closed], closes
    finally:
        await close_all(f, b)


@pytest.mark.redis
@pytest.mark.postgres
async def test_a_lock_made_on_one_process_applies_at_once_to_sockets_on_another(
    postgres_url: str, redis_url: str
) -> None:
    settings = cluster_settings(postgres_url, redis_url)
    async with run_server(settings) as a, run_server(settings) as b:
        room = await a.create_room()
        fac = await join(a, room, Role.FACILITATOR, "Fay")
        ann = await join(a, room, Role.MEMBER, "Ann")
        cy = await join(a, room, Role.MEMBER, "Cy")
        member = await open_synced(doc_url(a, room), ann.token)
        quiet = await open_synced(doc_url(a, room), cy.token)
        # Cy's second tab: it edits nothing while the document is locked.
        quiet_tab = await open_synced(doc_url(a, room), cy.token)
        fac_a = await open_synced(doc_url(a, room), fac.token)
        fac_b = await open_synced(doc_url(b, room), fac.token)
        try:
            async with event_feed(events_url(a, ann)) as feed:
                member.insert(0, "base")
                await fac_b.wait_text("base")
                await fac_a.wait_text("base")

                await on(fac, b).ok("PUT", f"/documents/{DOC}/lock", {"locked": True})
                await feed.wait_for(is_event("document.locked", document=DOC, locked=True))

                member.insert(4, " ann")
                quiet.insert(0, "cy ")
                # Server A has handled both edits and relayed nothing of them to its
                # own clients...
                await barrier(member, fac_a, quiet)
                await barrier(quiet, fac_a, member)
                assert len(denials(quiet)) == 1 and LOCKED in denials(quiet)[0]
                # ... nor to B: a later edit on A crosses Redis after anything A
                # published before it.
                append(fac_a, "!")
                await fac_b.wait_text("base!")
                # The facilitator on B still edits, and A relays it.
                fac_b.insert(0, ">")
                await fac_a.wait_text(">base!")
                await member.wait_until(lambda: str(member.text).replace(" ann", "") == ">base!")
                await quiet.wait_until(lambda: str(quiet.text).replace("cy ", "") == ">base!")
                assert a.live_text(room, DOC) == ">base!"
                assert b.live_text(room, DOC) == ">base!"
                await a.app_state.hub.flush_all()
                assert await stored_text(b, room) == ">base!"

                await on(fac, b).ok("PUT", f"/documents/{DOC}/lock", {"locked": False})
                await feed.wait_for(is_event("document.locked", document=DOC, locked=False))
                # Lifted at once on A's open sockets too.
                await quiet_tab.wait_text(">base!")
                quiet_tab.insert(0, "[cy]")
                await fac_b.wait_text("[cy]>base!")
                await a.app_state.hub.flush_all()
                assert await stored_text(b, room) == "[cy]>base!"
        finally:
            await close_all(member, quiet, quiet_tab, fac_a, fac_b)


# ------------------------------------------------ locks: versions, state, events


async def test_locking_saves_a_version_shows_in_the_room_state_and_reaches_event_feeds(
    server: RunningServer,
) -> None:
    room = await server.create_room()
    fac = await join(server, room, Role.FACILITATOR, "Fay")
    ann = await join(server, room, Role.MEMBER, "Ann")
    obs = await join(server, room, Role.OBSERVER, "Obs")
    f = await open_synced(doc_url(server, room), fac.token)
    try:
        f.insert(0, "before the lock")
        await f.wait_text("before the lock")
        async with (
            event_feed(events_url(server, ann)) as member_feed,
            event_feed(events_url(server, obs)) as observer_feed,
        ):
            assert (await room_state(ann))["documents"][0]["locked"] is False
            response = await fac.ok("PUT", f"/documents/{DOC}/lock", {"locked": True})
            assert response["document"]["name"] == DOC
            assert response["document"]["locked"] is True
            assert response["document"]["locked_by"] == "Fay"

            versions = (await fac.ok("GET", f"/documents/{DOC}/versions"))["versions"]
            assert len(versions) == 1
            [version] = versions
            assert version["reason"] == "lock"
            assert version["created_by"] == fac.id
            assert "Fay" in version["name"]
            assert await version_text(server, version["id"]) == "before the lock"

            for feed in (member_feed, observer_feed):
                locked = await feed.wait_for(is_event("document.locked", locked=True))
                assert locked["data"]["document"] == DOC
                assert locked["data"]["by"] == "Fay"
                assert isinstance(locked["data"]["document_id"], int)
                saved = await feed.wait_for(is_event("version.saved", document=DOC))
                assert saved["data"]["version"]["id"] == version["id"]
                assert saved["seq"] < locked["seq"]

            for person in (ann, obs, fac):
                state = await room_state(person)
                assert [(d["name"], d["locked"], d["locked_by"]) for d in state["documents"]] == [
                    (DOC, True, "Fay")
                ]
            listed = await ann.ok("GET", "/documents")
            assert listed["documents"][0]["locked"] is True
            assert listed["documents"][0]["locked_by"] == "Fay"

            # Locking a locked document changes nothing: no version, no event.
            seq = await last_seq(server, room)
            again = await fac.ok("PUT", f"/documents/{DOC}/lock", {"locked": True})
            assert again["document"]["locked"] is True
            assert await last_seq(server, room) == seq
            assert len((await fac.ok("GET", f"/documents/{DOC}/versions"))["versions"]) == 1

            # Unlocking saves no version, and reaches the feeds too.
            await fac.ok("PUT", f"/documents/{DOC}/lock", {"locked": False})
            for feed in (member_feed, observer_feed):
                await feed.wait_for(is_event("document.locked", document=DOC, locked=False))
            assert len((await fac.ok("GET", f"/documents/{DOC}/versions"))["versions"]) == 1
            unlocked = (await room_state(ann))["documents"][0]
            assert (unlocked["locked"], unlocked["locked_by"]) == (False, None)
            # Locked again later: a new version.
            await fac.ok("PUT", f"/documents/{DOC}/lock", {"locked": True})
            versions = (await fac.ok("GET", f"/documents/{DOC}/versions"))["versions"]
            assert [v["reason"] for v in versions] == ["lock", "lock"]

            # Bad requests change nothing.
            seq = await last_seq(server, room)
            for body in ({"locked": "yes"}, {"locked": 1}, {}, {"locked": False, "x": 1}):
                response = await fac.call("PUT", f"/documents/{DOC}/lock", body)
                assert response.status_code == 422, (body, response.text)
            missing = await fac.call("PUT", "/documents/nowhere/lock", {"locked": True})
            assert missing.status_code == 404
            assert error_code(missing) == "unknown_document"
            assert await last_seq(server, room) == seq
            assert (await room_state(ann))["documents"][0]["locked"] is True
    finally:
        await f.close()


# ---------------------------------------------------------------- removal


async def test_removing_a_participant_closes_their_sockets_and_voids_their_token(
    server: RunningServer,
) -> None:
    room = await server.create_room()
    other_room = await server.create_room("Another room")
    fac = await join(server, room, Role.FACILITATOR, "Fay")
    fac2 = await join(server, room, Role.FACILITATOR, "Flo")
    ann = await join(server, room, Role.MEMBER, "Ann")
    bo = await join(server, room, Role.MEMBER, "Bo")
    obs = await join(server, room, Role.OBSERVER, "Obs")
    stranger = await join(server, other_room, Role.MEMBER, "Stranger")
    guide = await open_synced(doc_url(server, room), ann.token)
    notes = await open_synced(doc_url(server, room, "notes"), ann.token)
    guide_tab = await open_synced(doc_url(server, room), ann.token)
    f = await open_synced(doc_url(server, room), fac.token)
    b = await open_synced(doc_url(server, room), bo.token)
    ann_events = await open_events(events_url(server, ann))
    try:
        await ann_events.wait_ready()
        async with event_feed(events_url(server, bo)) as bo_feed:
            await fac.ok("DELETE", f"/participants/{ann.id}", status=204)

            for client in (guide, notes, guide_tab):
                code, reason = await client.wait_closed()
                assert code == 4403, (code, reason)
                assert "removed" in reason
            removed = await ann_events.feed.wait_for(is_event("participant.removed"))
            assert removed["data"] == {"participant_id": ann.id, "name": "Ann"}
            code, _ = await ann_events.wait_closed()
            assert code == 4403
            await bo_feed.wait_for(is_event("participant.removed", participant_id=ann.id))

            # Others keep working.
            b.insert(0, "still here")
            await f.wait_text("still here")
            assert b.is_open and f.is_open

        # The token is void: HTTP, new sync sockets, new event sockets.
        for method, path in (("GET", "/threads"), ("GET", "/documents"), ("GET", "/roster")):
            response = await ann.call(method, path)
            assert response.status_code == 403, (path, response.text)
            assert error_code(response) == "removed"
        async with ann.client() as http:
            response = await http.get(f"{server.http}/api/rooms/{room.room.slug}")
        assert response.status_code == 403 and error_code(response) == "removed"
        retry = await YClient.open(doc_url(server, room), ann.token)
        code, reason = await retry.wait_closed()
        assert code == 4403 and "removed" in reason
        assert [type(decode_message(frame)) for frame in retry.frames] == [PermissionDenied]
        retry_events = await open_events(events_url(server, ann))
        code, _ = await retry_events.wait_closed()
        assert code == 4403
        assert retry_events.feed.messages[0]["type"] == "error"
        assert await server.app_state.participants.standing(ann.id) is None

        # Refusals, each changing nothing.
        seq = await last_seq(server, room)
        for target, status, code_name in (
            (fac2.id, 403, "forbidden"),  # a facilitator
            (fac.id, 403, "forbidden"),  # oneself
            (ann.id, 404, "unknown_participant"),  # already removed
            (uuid.uuid4().hex, 404, "unknown_participant"),
            (stranger.id, 404, "unknown_participant"),  # of another room
        ):
            response = await fac.call("DELETE", f"/participants/{target}")
            assert response.status_code == status, (target, response.text)
            assert error_code(response) == code_name
        assert await last_seq(server, room) == seq
        for person in (fac, fac2, stranger):
            assert await server.app_state.participants.standing(person.id) is not None
        assert (await stranger.call("GET", "/documents")).status_code == 200
        assert (await fac2.call("GET", "/audit")).status_code == 200

        # An observer can be removed too.
        await fac.ok("DELETE", f"/participants/{obs.id}", status=204)
        assert error_code(await obs.call("GET", "/documents")) == "removed"
    finally:
        await close_all(guide, notes, guide_tab, f, b, ann_events)


@pytest.mark.redis
@pytest.mark.postgres
async def test_a_removal_made_on_one_process_closes_sockets_on_another(
    postgres_url: str, redis_url: str
) -> None:
    settings = cluster_settings(postgres_url, redis_url)
    async with run_server(settings) as a, run_server(settings) as b:
        room = await a.create_room()
        fac = await join(a, room, Role.FACILITATOR, "Fay")
        ann = await join(a, room, Role.MEMBER, "Ann")
        sync_a = await open_synced(doc_url(a, room), ann.token)
        notes_a = await open_synced(doc_url(a, room, "notes"), ann.token)
        sync_b = await open_synced(doc_url(b, room), ann.token)
        events_a = await open_events(events_url(a, ann))
        try:
            await events_a.wait_ready()
            await on(fac, b).ok("DELETE", f"/participants/{ann.id}", status=204)
            for client in (sync_a, notes_a, sync_b):
                code, _ = await client.wait_closed()
                assert code == 4403
            await events_a.feed.wait_for(is_event("participant.removed", participant_id=ann.id))
            code, _ = await events_a.wait_closed()
            assert code == 4403

            assert error_code(await ann.call("GET", "/documents")) == "removed"
            assert error_code(await on(ann, b).call("GET", "/documents")) == "removed"
            retry = await YClient.open(doc_url(a, room), ann.token)
            code, _ = await retry.wait_closed()
            assert code == 4403
            retry_events = await open_events(events_url(b, ann))
            code, _ = await retry_events.wait_closed()
            assert code == 4403
        finally:
            await close_all(sync_a, notes_a, sync_b, events_a)


# ---------------------------------------------------------------- invites


async def test_rotating_an_invite_revokes_the_old_code(server: RunningServer) -> None:
    room = await server.create_room()
    fac = await join(server, room, Role.FACILITATOR, "Fay")
    ann = await join(server, room, Role.MEMBER, "Ann")
    old = (await fac.ok("GET", "/invites"))["invites"]
    assert old == {role.value: code for role, code in room.invites.items()}

    async with event_feed(events_url(server, ann)) as feed:
        rotated = await fac.ok("POST", "/invites/member/rotate")
        assert rotated["role"] == "member"
        new = rotated["code"]
        assert isinstance(new, str) and new and new != old["member"]
        event = await feed.wait_for(is_event("invite.rotated", role="member"))
        # Members hear of the rotation, never of the code.
        assert new not in json.dumps(event)

    async with httpx.AsyncClient(base_url=server.http) as client:
        refused = await client.post("/api/join", json={"invite": old["member"], "name": "Late"})
        assert refused.status_code == 404
        assert error_code(refused) == "unknown_invite"
        joined = await client.post("/api/join", json={"invite": new, "name": "Late"})
        assert joined.status_code == 200, joined.text
        assert joined.json()["role"] == "member"

    assert (await fac.ok("GET", "/invites"))["invites"] == {**old, "member": new}
    # Participants who joined with the old code keep their access.
    assert (await ann.call("GET", "/documents")).status_code == 200

    # Rotating again revokes the code just issued; other roles' codes keep working.
    newer = (await fac.ok("POST", "/invites/member/rotate"))["code"]
    async with httpx.AsyncClient(base_url=server.http) as client:
        assert (
            await client.post("/api/join", json={"invite": new, "name": "X"})
        ).status_code == 404
        observer = await client.post("/api/join", json={"invite": old["observer"], "name": "O"})
        assert observer.status_code == 200
    assert (await fac.ok("GET", "/invites"))["invites"] == {**old, "member": newer}

    seq = await last_seq(server, room)
    for role in ("admin", "FACILITATOR", "members"):
        response = await fac.call("POST", f"/invites/{role}/rotate")
        assert response.status_code == 404, (role, response.text)
        assert error_code(response) == "unknown_role"
    assert await last_seq(server, room) == seq
    assert (await fac.ok("GET", "/invites"))["invites"] == {**old, "member": newer}


# --------------------------------------------------------- timer and session


@pytest.mark.parametrize("bad", [-1, "10", True, 1.5, None])
async def test_timer_refuses_bad_seconds(server: RunningServer, bad: object) -> None:
    room = await server.create_room()
    fac = await join(server, room, Role.FACILITATOR, "Fay")
    seq = await last_seq(server, room)
    response = await fac.call("PUT", "/timer", {"seconds": bad, "label": "x"})
    assert response.status_code == 422, response.text
    assert error_code(response) == "invalid_seconds"
    assert await last_seq(server, room) == seq
    assert (await room_state(fac))["timer"] is None


async def test_timer_start_and_stop_reach_the_room(database_url: str) -> None:
    async with run_server(fast_settings(database_url)) as server:
        room = await server.create_room()
        fac = await join(server, room, Role.FACILITATOR, "Fay")
        ann = await join(server, room, Role.MEMBER, "Ann")
        assert (await room_state(ann))["timer"] is None
        async with event_feed(events_url(server, ann)) as feed:
            before = datetime.now(UTC)
            timer = (await fac.ok("PUT", "/timer", {"seconds": 300, "label": "Break"}))["timer"]
            started = datetime.fromisoformat(timer["started_at"])
            ends = datetime.fromisoformat(timer["ends_at"])
            assert ends - started == timedelta(seconds=300)
            assert before - timedelta(seconds=1) <= started <= datetime.now(UTC)
            assert timer["label"] == "Break"

            event = await feed.wait_for(is_event("timer.started"))
            assert event["data"]["ends_at"] == timer["ends_at"]
            assert event["data"]["seconds"] == 300
            assert event["data"]["label"] == "Break"
            assert event["data"]["by"] == "Fay"

            shown = (await room_state(ann))["timer"]
            assert shown is not None
            assert datetime.fromisoformat(shown["ends_at"]) == ends
            assert datetime.fromisoformat(shown["started_at"]) == started
            assert shown["label"] == "Break"

            # Restarting replaces the timer; the bounds are accepted, no label is fine.
            for seconds in (1, 86400):
                restarted = (await fac.ok("PUT", "/timer", {"seconds": seconds}))["timer"]
                assert restarted["label"] is None
            await feed.wait_for(is_event("timer.started", seconds=86400))
            shown = (await room_state(ann))["timer"]
            assert shown is not None and shown["label"] is None
            assert datetime.fromisoformat(shown["ends_at"]) == datetime.fromisoformat(
                restarted["ends_at"]
            )

            await fac.ok("DELETE", "/timer", status=204)
            stopped = await feed.wait_for(is_event("timer.stopped"))
            assert stopped["data"]["by"] == "Fay"
            assert (await room_state(ann))["timer"] is None

        # A timer whose end has passed is not shown.
        past = datetime.now(UTC) - timedelta(minutes=5)
        await server.app_state.control_store.set_timer(
            room.room.id, past, past + timedelta(seconds=60), "Over"
        )
        assert (await room_state(ann))["timer"] is None


async def test_spotlight_on_and_off(server: RunningServer) -> None:
    room = await server.create_room()
    fac = await join(server, room, Role.FACILITATOR, "Fay")
    ann = await join(server, room, Role.MEMBER, "Ann")
    async with event_feed(events_url(server, ann)) as feed:
        await fac.ok("PUT", "/spotlight", status=204)
        started = await feed.wait_for(is_event("spotlight.started"))
        assert started["data"]["participant"] == {"id": fac.id, "name": "Fay"}
        assert (await room_state(ann))["spotlight"] == {"id": fac.id, "name": "Fay"}
        await fac.ok("DELETE", "/spotlight", status=204)
        await feed.wait_for(is_event("spotlight.ended", by="Fay"))
        assert (await room_state(ann))["spotlight"] is None


async def test_ending_the_session_saves_every_document_and_clears_timer_and_spotlight(
    database_url: str,
) -> None:
    async with run_server(fast_settings(database_url)) as server:
        room = await server.create_room()
        fac = await join(server, room, Role.FACILITATOR, "Fay")
        ann = await join(server, room, Role.MEMBER, "Ann")
        guide = await open_synced(doc_url(server, room), fac.token)
        notes = await open_synced(doc_url(server, room, "notes"), ann.token)
        try:
            guide.insert(0, "guide text")
            notes.insert(0, "notes text")
            await fac.ok("POST", "/documents", {"name": "empty"}, status=201)
            await eventually(
                lambda: (
                    server.live_text(room, DOC) == "guide text"
                    and server.live_text(room, "notes") == "notes text"
                ),
                what="both edits on the server",
            )
            await fac.ok("PUT", f"/documents/{DOC}/lock", {"locked": True})
            await fac.ok("PUT", "/timer", {"seconds": 600, "label": "Sprint"})
            await fac.ok("PUT", "/spotlight", status=204)
            state = await room_state(ann)
            assert state["spotlight"] == {"id": fac.id, "name": "Fay"}
            assert state["timer"] is not None

            async with event_feed(events_url(server, ann)) as feed:
                ended = (await fac.ok("POST", "/session/end"))["versions"]
                assert [v["reason"] for v in ended] == ["session"] * 3
                assert all(v["created_by"] == fac.id for v in ended)
                texts = {}
                for name in (DOC, "notes", "empty"):
                    listed = (await ann.ok("GET", f"/documents/{name}/versions"))["versions"]
                    [mine] = [v for v in listed if v["reason"] == "session"]
                    assert mine["id"] in {v["id"] for v in ended}
                    texts[name] = await version_text(server, mine["id"])
                assert texts == {DOC: "guide text", "notes": "notes text", "empty": ""}

                event = await feed.wait_for(is_event("session.ended"))
                assert event["data"] == {"by": "Fay", "versions": 3}
                saved = [e for e in feed.events() if e["type"] == "version.saved"]
                assert {e["data"]["version"]["id"] for e in saved} == {v["id"] for v in ended}

            state = await room_state(ann)
            assert state["timer"] is None
            assert state["spotlight"] is None
            # Ending the session does not unlock anything.
            assert {d["name"]: d["locked"] for d in state["documents"]} == {
                DOC: True,
                "notes": False,
                "empty": False,
            }
        finally:
            await close_all(guide, notes)


# ------------------------------------------------------------ who may act


@pytest.mark.parametrize("role", [Role.MEMBER])
async def test_every_control_is_refused_to_members_and_observers(
    server: RunningServer, role: Role
) -> None:
    room = await server.create_room()
    fac = await join(server, room, Role.FACILITATOR, "Fay")
    bo = await join(server, room, Role.MEMBER, "Bo")
    una = await join(server, room, role, "Una")
    await fac.ok("POST", "/documents", {"name": DOC, "template": "action-plan"}, status=201)
    version = (await fac.ok("POST", f"/documents/{DOC}/versions", {"name": "v1"}, status=201))[
        "version"
    ]
    store, controls = server.app_state.store, server.app_state.control_store
    seq = await last_seq(server, room)
    audit = await controls.audit_log(room.room.id, 500, None)
    invites = (await fac.ok("GET", "/invites"))["invites"]
    state = await room_state(fac)
    content = await fac.call("GET", f"/documents/{DOC}/export?format=markdown")

    attempts: list[tuple[str, str, dict[str, Any] | None]] = [
        ("PUT", f"/documents/{DOC}/lock", {"locked": True}),
        ("PUT", f"/documents/{DOC}/lock", {"locked": False}),
        ("DELETE", f"/participants/{bo.id}", None),
        ("DELETE", f"/participants/{una.id}", None),
        ("DELETE", f"/participants/{fac.id}", None),
        ("POST", "/invites/member/rotate", None),
        ("POST", "/invites/facilitator/rotate", None),
        ("PUT", "/timer", {"seconds": 60, "label": "mine"}),
        ("DELETE", "/timer", None),
        ("PUT", "/spotlight", None),
        ("DELETE", "/spotlight", None),
        ("POST", "/session/end", None),
        ("POST", f"/documents/{DOC}/versions", {"name": "mine"}),
        ("POST", f"/documents/{DOC}/versions/{version['id']}/restore", None),
        ("GET", "/audit", None),
        ("GET", "/audit?limit=1", None),
        ("GET", "/invites", None),
    ]
    for method, path, body in attempts:
        response = await una.call(method, path, body)
        assert response.status_code == 403, (role, method, path, response.text)
        assert error_code(response) == "forbidden", (method, path)

    # Nothing changed: no room event, no audit entry, no version, same state.
    assert await last_seq(server, room) == seq
    assert await controls.audit_log(room.room.id, 500, None) == audit
    versions = (await una.ok("GET", f"/documents/{DOC}/versions"))["versions"]
    assert [v["id"] for v in versions] == [version["id"]]
    assert (await fac.ok("GET", "/invites"))["invites"] == invites
    after = await room_state(fac)
    assert {key: after[key] for key in ("documents", "timer", "spotlight")} == {
        key: state[key] for key in ("documents", "timer", "spotlight")
    }
    info = await store.get_document(room.room.id, DOC)
    assert info is not None and info.locked is False
    for person in (fac, bo, una):
        assert await server.app_state.participants.standing(person.id) is not None
    again = await fac.call("GET", f"/documents/{DOC}/export?format=markdown")
    assert again.text == content.text
    # What every participant may do, they still may.
    assert (await una.call("GET", f"/documents/{DOC}/versions/{version['id']}")).status_code == 200


# ------------------------------------------------------------------- audit


async def test_audit_log_records_actions_joins_and_presence_with_time_and_actor(
    server: RunningServer,
) -> None:
    room = await server.create_room()
    other = await server.create_room("Elsewhere")
    start = datetime.now(UTC) - timedelta(seconds=1)
    fac = await join(server, room, Role.FACILITATOR, "Fay")
    ann = await join(server, room, Role.MEMBER, "Ann")
    obs = await join(server, room, Role.OBSERVER, "Obs")
    await join(server, other, Role.MEMBER, "Out")
    controls = server.app_state.control_store

    async def actions() -> list[str]:
        return [e.action for e in await controls.audit_log(room.room.id, 500, None)]

    # An event socket is the participant's presence: recorded when it opens and closes.
    async with event_feed(events_url(server, ann)):
        assert (await actions())[0] == "presence.entered"
    await poll(lambda: _first_is(actions, "presence.left"), "presence.left in the audit log")

    await fac.ok("POST", "/documents", {"name": DOC}, status=201)
    await fac.ok("PUT", f"/documents/{DOC}/lock", {"locked": True})
    await fac.ok("PUT", f"/documents/{DOC}/lock", {"locked": False})
    await fac.ok("PUT", "/timer", {"seconds": 60, "label": "Go"})
    await fac.ok("DELETE", "/timer", status=204)
    await fac.ok("PUT", "/spotlight", status=204)
    await fac.ok("DELETE", "/spotlight", status=204)
    await fac.ok("POST", "/invites/observer/rotate")
    saved = (await fac.ok("POST", f"/documents/{DOC}/versions", {"name": "v"}, status=201))[
        "version"
    ]
    await fac.ok("DELETE", f"/participants/{obs.id}", status=204)
    await fac.ok("POST", "/session/end")
    end = datetime.now(UTC) + timedelta(seconds=1)

    # Facilitators only.
    for person, code in ((ann, "forbidden"), (obs, "removed")):
        response = await person.call("GET", "/audit")
        assert response.status_code == 403 and error_code(response) == code

    body = await fac.ok("GET", "/audit")
    assert body["next_before"] is None
    entries = body["entries"]
    fay = {"id": fac.id, "name": "Fay"}
    assert [(e["action"], e["actor"], e["details"]) for e in reversed(entries)] == [
        ("participant.joined", fay, {"role": "facilitator"}),
        ("participant.joined", {"id": ann.id, "name": "Ann"}, {"role": "member"}),
        ("participant.joined", {"id": obs.id, "name": "Obs"}, {"role": "observer"}),
        ("presence.entered", {"id": ann.id, "name": "Ann"}, {}),
        ("presence.left", {"id": ann.id, "name": "Ann"}, {}),
        ("document.created", fay, {"document": DOC, "template": None}),
        ("document.lock", fay, {"document": DOC}),
        ("document.unlock", fay, {"document": DOC}),
        ("timer.started", fay, {"seconds": 60, "label": "Go"}),
        ("timer.stopped", fay, {}),
        ("spotlight.started", fay, {}),
        ("spotlight.ended", fay, {}),
        ("invite.rotated", fay, {"role": "observer"}),
        ("version.saved", fay, {"document": DOC, "version": saved["id"]}),
        ("participant.removed", fay, {"participant": obs.id, "name": "Obs"}),
        ("session.ended", fay, {"versions": 1}),
    ]
    ids = [e["id"] for e in entries]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids)
    times = [datetime.fromisoformat(e["at"]) for e in entries]
    assert all(start <= at <= end for at in times), (start, times, end)
    assert times == sorted(times, reverse=True)

    # Pages: newest first, ``before`` an id, ``next_before`` while a page is full.
    pages: list[list[dict[str, Any]]] = []
    path = "/audit?limit=5"
    while True:
        page = await fac.ok("GET", path)
        pages.append(page["entries"])
        assert len(page["entries"]) <= 5
        if page["next_before"] is None:
            break
        assert page["next_before"] == page["entries"][-1]["id"]
        path = f"/audit?limit=5&before={page['next_before']}"
    assert [len(p) for p in pages] == [5, 5, 5, 1]
    assert [e for p in pages for e in p] == entries
    middle = ids[7]
    below = (await fac.ok("GET", f"/audit?before={middle}&limit=2"))["entries"]
    assert [e["id"] for e in below] == ids[8:10]
    exactly = await fac.ok("GET", f"/audit?limit={len(entries)}")
    assert exactly["next_before"] == ids[-1]
    assert (await fac.ok("GET", f"/audit?before={ids[-1]}")) == {
        "entries": [],
        "next_before": None,
    }

    for query in ("limit=0", "limit=501", "limit=x", "limit=-1", "before=0", "before=abc"):
        response = await fac.call("GET", f"/audit?{query}")
        assert response.status_code == 400, (query, response.text)
        assert error_code(response) == "invalid_query"


async def _first_is(actions: Callable[[], Awaitable[list[str]]], action: str) -> bool:
    return (await actions())[0] == action
