"""A Yjs client id belongs to the participant who first used it in a document.

Cursors (awareness) for an id another participant holds are dropped; a live update with
structs under another participant's id is refused (close 4403) with nothing applied,
relayed or stored. The claims are stored with the document, so they hold on another
process and after a restart. A participant's second tab or reconnect with the same id
is the same participant and goes on.

Ordering proofs use barriers: an awareness update sent after the frame under test, on
the same socket, is handled after it; once a watcher sees it, the server has decided.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

from pycrdt import Doc, Text

from crdt.awareness import AwarenessEntry, encode_awareness_update, parse_awareness_update
from crdt.protocol import encode_sync_step2, encode_update
from rooms.directory import CreatedRoom
from rooms.roles import Role
from server.storage.store import SqlStore, create_engine
from tests.support.harness import RunningServer, run_server
from tests.support.settings import cluster_settings, fast_settings
from tests.support.threads_client import Person, join
from tests.support.timing import eventually
from tests.support.yclient import YClient, open_synced

DOC = "guide"


def url(server: RunningServer, room: CreatedRoom) -> str:
    return f"{server.sync_url(room.room.slug)}/{DOC}"


def cursor(client_id: int, clock: int, name: str) -> bytes:
    return encode_awareness_update([AwarenessEntry(client_id, clock, {"user": {"name": name}})])


def names_seen(client: YClient) -> dict[int, list[str]]:
    """Every cursor name the client was sent, by client id, in order."""
    seen: dict[int, list[str]] = {}
    for update in client.awareness_frames:
        for entry in parse_awareness_update(update, 1 << 20):
            if entry.state is not None:
                seen.setdefault(entry.client_id, []).append(entry.state["user"]["name"])
    return seen


async def barrier(sender: YClient, watcher: YClient, name: str) -> None:
    """Send ``sender``'s own cursor called ``name`` and wait until ``watcher`` has it."""
    own = sender.doc.client_id
    await sender.send_awareness(cursor(own, len(sender.awareness_frames) + 100, name))
    await watcher.wait_until(lambda: name in names_seen(watcher).get(own, []))


def forged_structs(client_id: int, value: str, base: YClient) -> bytes:
    """A Yjs update inserting ``value`` under ``client_id``, at the next clock of that
    client in ``base``'s document (so the structs are new to the server)."""
    doc: Doc[Any] = Doc(client_id=client_id)
    doc.apply_update(base.doc.get_update())
    before = doc.get_state()
    doc.get("text", type=Text).insert(0, value)
    return doc.get_update(before)


def forged_update(client_id: int, value: str, base: YClient) -> bytes:
    """The y-websocket update message of :func:`forged_structs`."""
    return encode_update(forged_structs(client_id, value, base))


async def test_a_cursor_under_another_participants_client_id_is_dropped(
    server: RunningServer,
) -> None:
    room = await server.create_room()
    ann = await join(server, room, Role.MEMBER, "Ann")
    obs = await join(server, room, Role.OBSERVER, "Obs")
    bo = await join(server, room, Role.MEMBER, "Bo")
    a = await open_synced(url(server, room), ann.token)
    o = await open_synced(url(server, room), obs.token)
    b = await open_synced(url(server, room), bo.token)
    try:
        ann_id = a.doc.client_id
        await a.send_awareness(cursor(ann_id, 1, "Ann"))
        await b.wait_until(lambda: "Ann" in names_seen(b).get(ann_id, []))
        # The observer reuses Ann's client id with a higher clock.
        await o.send_awareness(cursor(ann_id, 50, "Mallory"))
        await barrier(o, b, "Obs")
        assert names_seen(b)[ann_id] == ["Ann"]
        assert server.app_state.hub.documents  # the document is loaded
        (document,) = server.app_state.hub.documents.values()
        assert document.awareness.states[ann_id]["user"]["name"] == "Ann"
        # The forger's socket stays open for its own cursor; Ann goes on.
        assert o.is_open
        await a.send_awareness(cursor(ann_id, 2, "Ann again"))
        await b.wait_until(lambda: "Ann again" in names_seen(b)[ann_id])
    finally:
        for client in (a, o, b):
            await client.close()


async def test_structs_under_another_participants_client_id_are_refused(
    server: RunningServer,
) -> None:
    room = await server.create_room()
    ann = await join(server, room, Role.MEMBER, "Ann")
    bo = await join(server, room, Role.MEMBER, "Bo")
    a = await open_synced(url(server, room), ann.token)
    b = await open_synced(url(server, room), bo.token)
    try:
        a.insert(0, "Ann wrote this. ")
        await b.wait_text("Ann wrote this. ")
        forger = await open_synced(url(server, room), bo.token)
        await forger.send(forged_update(a.doc.client_id, "FORGED ", b))
        code, reason = await forger.wait_closed()
        assert code == 4403, (code, reason)
        assert reason == f"client id {a.doc.client_id} belongs to another participant"
        # Nothing applied, relayed or stored; Bo's other socket and Ann go on.
        b.insert(0, "Bo: ")
        await a.wait_text("Bo: Ann wrote this. ")
        assert str(b.text) == "Bo: Ann wrote this. "
        stored = await server.stored_document(room, DOC)
        assert str(stored.get("text", type=Text)) == "Bo: Ann wrote this. "
        assert a.is_open and b.is_open
    finally:
        for client in (a, b):
            await client.close()


async def test_the_same_participant_may_reuse_its_client_id(server: RunningServer) -> None:
    room = await server.create_room()
    ann = await join(server, room, Role.MEMBER, "Ann")
    bo = await join(server, room, Role.MEMBER, "Bo")
    b = await open_synced(url(server, room), bo.token)
    first = await open_synced(url(server, room), ann.token)
    try:
        client_id = first.doc.client_id
        first.insert(0, "one ")
        await b.wait_text("one ")
        await first.close()
        # A reconnect (or a second tab) of Ann with the same client id.
        second = await open_synced(url(server, room), ann.token)
        state_before = first.doc.get_state()
        first.doc.get("text", type=Text).insert(4, "two ")
        await second.send(encode_update(first.doc.get_update(state_before)))
        await second.send_awareness(cursor(client_id, 9, "Ann, tab two"))
        await b.wait_text("one two ")
        await b.wait_until(lambda: "Ann, tab two" in names_seen(b).get(client_id, []))
        assert second.is_open
        await second.close()
    finally:
        await b.close()


async def test_claims_hold_on_another_process_and_after_a_restart(
    postgres_url: str, redis_url: str
) -> None:
    settings = cluster_settings(postgres_url, redis_url)
    async with run_server(settings) as first, run_server(settings) as second:
        room = await first.create_room()
        ann = await join(first, room, Role.MEMBER, "Ann")
        bo = await join(first, room, Role.MEMBER, "Bo")
        a = await open_synced(url(first, room), ann.token)
        a.insert(0, "Ann's text")
        ann_id = a.doc.client_id
        await a.send_awareness(cursor(ann_id, 1, "Ann"))
        b = await open_synced(url(second, room), bo.token)
        await b.wait_text("Ann's text")
        await b.wait_until(lambda: "Ann" in names_seen(b).get(ann_id, []))
        # On the other process, Bo's second socket forges Ann's cursor and an edit.
        forger = await open_synced(url(second, room), bo.token)
        await forger.send_awareness(cursor(ann_id, 40, "Mallory"))
        await barrier(forger, b, "Bo's forger")
        assert names_seen(b)[ann_id] == ["Ann"]
        await forger.send(forged_update(ann_id, "FORGED ", b))
        code, _ = await forger.wait_closed()
        assert code == 4403
        await a.close()
        await b.close()
    # A new process on the same database knows whose id it is.
    async with run_server(replace(settings, redis_url=None)) as third:
        b = await open_synced(url(third, room), bo.token)
        await b.wait_text("Ann's text")
        forger = await open_synced(url(third, room), bo.token)
        await forger.send(forged_update(ann_id, "FORGED ", b))
        code, _ = await forger.wait_closed()
        assert code == 4403
        assert str(b.text) == "Ann's text"
        await b.close()


async def test_a_participant_holds_only_so_many_client_ids(server: RunningServer) -> None:
    room = await server.create_room()
    ann = await join(server, room, Role.MEMBER, "Ann")
    a = await open_synced(url(server, room), ann.token)
    try:
        for client_id in range(1, 17):
            await a.send_awareness(cursor(client_id, 1, f"tab {client_id}"))
        await a.send_awareness(cursor(17, 1, "one too many"))
        code, reason = await a.wait_closed()
        assert (code, reason) == (1008, "too many client ids")
    finally:
        await a.close()


async def test_claims_are_stored_with_the_document(server: RunningServer) -> None:
    room = await server.create_room()
    ann: Person = await join(server, room, Role.MEMBER, "Ann")
    a = await open_synced(url(server, room), ann.token)
    bo = await join(server, room, Role.MEMBER, "Bo")
    b = await open_synced(url(server, room), bo.token)
    a.insert(0, "hello")
    try:
        await b.wait_text("hello")
        info = await server.app_state.store.get_document(room.room.id, DOC)
        assert info is not None
        store = server.app_state.store
        owners = await store.claim_clients(info.id, bo.id, [a.doc.client_id, 99])
        assert owners == {a.doc.client_id: ann.id, 99: bo.id}
        await b.close()
    finally:
        await a.close()


async def first_step2_forgery(server: RunningServer, room: CreatedRoom) -> YClient:
    """Ann writes; then a fresh connection of Bo's answers the server's step 1 with a
    step 2 that adds structs under Ann's client id. Returns Bo's watching client."""
    ann = await join(server, room, Role.MEMBER, "Ann")
    bo = await join(server, room, Role.MEMBER, "Bo")
    a = await open_synced(url(server, room), ann.token)
    b = await open_synced(url(server, room), bo.token)
    a.insert(0, "Ann wrote this.")
    await b.wait_text("Ann wrote this.")
    await a.close()
    forger = await YClient.open(url(server, room), bo.token, handshake=False)
    step2 = encode_sync_step2(forged_structs(a.doc.client_id, "FORGED ", b))
    await forger.send(step2)
    return forger


async def test_a_first_sync_step_2_may_not_carry_another_participants_edits(
    server: RunningServer,
) -> None:
    room = await server.create_room()
    forger = await first_step2_forgery(server, room)
    code, reason = await forger.wait_closed()
    # 1013: a client holding a process's last edits reconnects until the process is
    # known gone and the recovery window opens; outside it, nothing is taken.
    assert code == 1013, (code, reason)
    assert "belongs to another participant" in reason
    stored = await server.stored_document(room, DOC)
    assert str(stored.get("text", type=Text)) == "Ann wrote this."


async def test_after_an_unclean_stop_a_first_sync_step_2_brings_back_lost_edits(
    sqlite_url: str,
) -> None:
    settings = fast_settings(sqlite_url)
    async with run_server(settings):
        pass  # migrations applied, stopped cleanly
    # A process that never stopped cleanly left its record behind.
    store = SqlStore(create_engine(sqlite_url))
    assert not await store.begin_run("d" * 32, sole=True, stale_after=90)
    await store.close()
    async with run_server(settings) as server:
        assert server.app_state.hub.recovery.active
        room = await server.create_room()
        forger = await first_step2_forgery(server, room)
        # Taken: in recovery this is what a client holding a dead process's last
        # (unstored) edits of another participant sends.
        await eventually(lambda: "FORGED " in (server.live_text(room, DOC) or ""))
        assert forger.is_open
        await forger.close()
    async with run_server(settings) as server:
        # That process stopped cleanly: no recovery.
        assert not server.app_state.hub.recovery.active


async def test_with_redis_only_a_recorded_process_that_went_silent_opens_recovery(
    postgres_url: str, redis_url: str
) -> None:
    settings = cluster_settings(postgres_url, redis_url)
    async with run_server(settings) as first:
        # A second process beside a running one: the first is heard, nothing to recover.
        async with run_server(settings) as second:
            check = second.app_state.run_check
            assert check is not None
            await check
            assert not second.app_state.hub.recovery.active
        # A process that died without a clean stop left its record (its origin is
        # never heard on the broker).
        await first.app_state.store.begin_run(uuid.uuid4().hex, sole=False, stale_after=90)
        async with run_server(settings) as third:
            check = third.app_state.run_check
            assert check is not None
            await check
            assert third.app_state.hub.recovery.active
        assert not first.app_state.hub.recovery.active
