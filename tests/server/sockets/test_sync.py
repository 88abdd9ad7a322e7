"""The sync endpoint with Python clients: handshake, fan-out, roles, refusals."""

from __future__ import annotations

from typing import Any

from pycrdt import Doc, Text

from crdt.protocol import decode_message, encode_sync_step1, encode_update
from rooms.roles import Role
from server.tokens import TokenSigner
from tests.support.harness import RunningServer
from tests.support.timing import eventually
from tests.support.yclient import YClient, open_synced


async def test_two_editors_converge_and_late_joiner_gets_everything(server: RunningServer) -> None:
    room = await server.create_room()
    url = server.sync_url(room.room.slug) + "/guide"
    a = await open_synced(url, await server.join(room, Role.MEMBER, "Ann"))
    b = await open_synced(url, await server.join(room, Role.FACILITATOR, "Bo"))
    a.insert(0, "hello")
    await b.wait_text("hello")
    b.insert(5, " world")
    await a.wait_text("hello world")
    late = await open_synced(url, await server.join(room, Role.OBSERVER, "Cy"))
    await late.wait_text("hello world")
    for client in (a, b, late):
        await client.close()


async def test_server_sends_step1_first_and_no_update_before_handshake(
    server: RunningServer,
) -> None:
    room = await server.create_room()
    url = server.sync_url(room.room.slug) + "/guide"
    writer = await open_synced(url, await server.join(room, Role.MEMBER))
    # A second client that never sends its step 1 stays outside the broadcast set.
    silent = await YClient.open(url, await server.join(room, Role.MEMBER), handshake=False)
    await silent.wait_until(lambda: len(silent.frames) >= 1)
    writer.insert(0, "secret draft")
    observer = await open_synced(url, await server.join(room, Role.MEMBER))
    await observer.wait_text("secret draft")
    kinds = [type(decode_message(f)).__name__ for f in silent.frames]
    assert kinds == ["SyncStep1"]
    # Once it asks, it gets the state, then live updates.
    await silent.send(encode_sync_step1(Doc().get_state()))
    await silent.wait_text("secret draft")
    writer.insert(0, ">")
    await silent.wait_text(">secret draft")
    for client in (writer, silent, observer):
        await client.close()


async def test_observer_updates_are_dropped_not_stored(server: RunningServer) -> None:
    room = await server.create_room()
    url = server.sync_url(room.room.slug) + "/guide"
    member = await open_synced(url, await server.join(room, Role.MEMBER))
    member.insert(0, "base")
    observer = await open_synced(url, await server.join(room, Role.OBSERVER, "Obs"))
    await observer.wait_text("base")
    observer.insert(0, "vandal ")
    await observer.wait_until(lambda: bool(observer.denied))
    assert "read-only" in observer.denied[0]
    # A sync step 2 from the observer is dropped too.
    rogue: Doc[Any] = Doc()
    rogue.get("text", type=Text).insert(0, "step2 vandal")
    await observer.send(bytes([0, 1]) + encode_update(rogue.get_update())[2:])
    member.insert(4, "!")
    await observer.wait_text("vandal base!")
    await member.wait_text("base!")
    doc = await server.stored_document(room, "guide")
    assert str(doc.get("text", type=Text)) == "base!"
    fresh = await open_synced(url, await server.join(room, Role.MEMBER))
    await fresh.wait_text("base!")
    for client in (member, observer, fresh):
        await client.close()


async def test_observer_cannot_create_a_document(server: RunningServer) -> None:
    room = await server.create_room()
    url = server.sync_url(room.room.slug) + "/new-doc"
    observer = await YClient.open(url, await server.join(room, Role.OBSERVER))
    code, reason = await observer.wait_closed()
    assert code == 4403
    assert "cannot create" in reason
    assert observer.denied and not any(f[0] == 0 for f in observer.frames)
    assert await server.app_state.store.get_document(room.room.id, "new-doc") is None


async def test_forged_expired_and_foreign_tokens_get_no_document_data(
    server: RunningServer,
) -> None:
    room = await server.create_room()
    other = await server.create_room("Another room")
    url = server.sync_url(room.room.slug) + "/guide"
    editor = await open_synced(url, await server.join(room, Role.MEMBER))
    editor.insert(0, "private")
    good = await server.join(room, Role.MEMBER)
    header, payload, _ = good.split(".")
    forged_signature = f"{header}.{payload}.c2lnbmF0dXJl"
    wrong_key = TokenSigner("another-secret-key-that-is-long-enough-0123", 60)
    participant = await server.app_state.participants.add_participant(
        room.room.id, "Eve", Role.MEMBER
    )
    forged_key, _ = wrong_key.issue(participant, room.room)
    expired_signer = TokenSigner(server.settings.secret_key or "", -10)
    expired, _ = expired_signer.issue(participant, room.room)
    cases = {
        None: 4401,
        "": 4401,
        "not-a-token": 4401,
        forged_signature: 4401,
        forged_key: 4401,
        expired: 4401,
        await server.join(other, Role.FACILITATOR): 4403,
    }
    for token, expected in cases.items():
        client = await YClient.open(url, token)
        code, _ = await client.wait_closed()
        assert code == expected, token
        assert all(f[0] == 2 for f in client.frames), "only an auth message may arrive"
    await editor.close()


async def test_awareness_crosses_and_is_removed_on_disconnect(server: RunningServer) -> None:
    room = await server.create_room()
    url = server.sync_url(room.room.slug) + "/guide"
    a = await open_synced(url, await server.join(room, Role.MEMBER))
    b = await open_synced(url, await server.join(room, Role.OBSERVER))
    state = b'{"user":{"name":"Ann"}}'
    await a.send_awareness(bytes([1, 42, 1, len(state)]) + state)
    await b.wait_until(lambda: any(b'"Ann"' in f for f in b.awareness_frames))
    await a.close()
    await b.wait_until(lambda: any(f.endswith(b"null") for f in b.awareness_frames))
    await b.close()


async def test_idle_documents_are_unloaded(sqlite_url: str) -> None:
    from tests.support.harness import run_server
    from tests.support.settings import fast_settings

    async with run_server(fast_settings(sqlite_url, idle_unload_seconds=0.05)) as running:
        room = await running.create_room()
        url = running.sync_url(room.room.slug) + "/guide"
        client = await open_synced(url, await running.join(room, Role.MEMBER))
        client.insert(0, "kept")
        await eventually(lambda: running.live_text(room, "guide") == "kept")
        await client.close()
        await eventually(lambda: not running.app_state.hub.documents, what="the unload")
        again = await open_synced(url, await running.join(room, Role.MEMBER))
        await again.wait_text("kept")
        await again.close()
