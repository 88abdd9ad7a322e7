"""One connection's session on a live document, without sockets: what a lock does to
the edits of each role, the one notice, the close that makes a client resend, and the
sync step 1 the server sends when a client's update waits."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from pycrdt import Doc, Text

import rooms.live.session as session_module
from crdt.protocol import (
    PermissionDenied,
    SyncStep1,
    decode_message,
    encode_sync_step1,
    encode_sync_step2,
    encode_update,
)
from rooms.live.document import LiveDocument
from rooms.live.hub import DocumentHub, HubSettings
from rooms.live.peer import CloseCode
from rooms.live.session import LOCKED_NOTICE, READ_ONLY_NOTICE, SyncSession
from rooms.live.writer import WriterSettings
from rooms.memory import MemoryParticipantStore, MemoryStore
from rooms.roles import Role


@dataclass(eq=False)
class RecordingPeer:
    frames: list[bytes] = field(default_factory=list)
    closed: list[tuple[int, str]] = field(default_factory=list)

    def send(self, frame: bytes) -> None:
        self.frames.append(frame)

    def close(self, code: int, reason: str) -> None:
        self.closed.append((code, reason))

    def denials(self) -> list[str]:
        messages = [decode_message(frame) for frame in self.frames]
        return [m.reason for m in messages if isinstance(m, PermissionDenied)]

    def step1s(self) -> int:
        return sum(isinstance(decode_message(frame), SyncStep1) for frame in self.frames)


class Connection:
    """A pycrdt document on one session, synced, that sends its edits as updates."""

    def __init__(self, document: LiveDocument, role: Role, name: str) -> None:
        self.doc: Doc[Any] = Doc()
        self.peer = RecordingPeer()
        self.session = SyncSession(document, self.peer, role, name, f"p-{name}")
        document.owners[self.doc.client_id] = self.session.participant_id
        self.session.start()
        self.session.receive(encode_sync_step1(self.doc.get_state()))
        self.session.receive(encode_sync_step2(self.doc.get_update()))

    def type(self, value: str) -> None:
        before = self.doc.get_state()
        self.doc.get("text", type=Text).insert(0, value)
        self.session.receive(encode_update(self.doc.get_update(before)))


@pytest.fixture
async def document() -> Any:
    store = MemoryStore()
    room = await store.create_room("room", "Room", {})
    info = await store.create_document(room.id, "guide")
    hub = DocumentHub(store, HubSettings(writer=WriterSettings(flush_interval=600)))
    live = await hub.acquire(info, "room")
    yield live
    await hub.close()


def text(document: LiveDocument) -> str:
    return str(document.sync.ydoc.get("text", type=Text))


def lock(locked: bool, *connections: Connection) -> None:
    for connection in connections:
        connection.session.set_locked(locked)


async def test_a_lock_drops_members_edits_with_one_notice_and_unlock_makes_them_resend(
    document: LiveDocument,
) -> None:
    fay = Connection(document, Role.FACILITATOR, "fay")
    ann = Connection(document, Role.MEMBER, "ann")
    ann.type("before ")
    lock(True, fay, ann)
    ann.type("during ")
    ann.type("again ")
    fay.type("fay ")
    assert sorted(text(document).split()) == ["before", "fay"]
    assert ann.peer.denials() == [LOCKED_NOTICE]
    assert ann.session.dropped_updates == 2
    assert fay.peer.denials() == []
    lock(False, fay, ann)
    # Ann's copy holds edits the server dropped: she is asked to reconnect (and resend).
    assert ann.peer.closed == [(CloseCode.RESYNC, "unlocked: reconnect to sync")]
    assert int(CloseCode.RESYNC) == 4000
    assert fay.peer.closed == []
    # A second lock counts afresh and tells again.
    lock(True, ann)
    ann.type("later ")
    assert ann.peer.denials() == [LOCKED_NOTICE, LOCKED_NOTICE]
    assert ann.session.dropped_updates == 1


async def test_nothing_new_is_no_refused_edit_and_an_unchanged_copy_stays_connected(
    document: LiveDocument,
) -> None:
    ann = Connection(document, Role.MEMBER, "ann")
    ann.type("kept")
    lock(True, ann)
    # y-websocket answers the server's step 1 with a step 2 even when it has nothing new.
    ann.session.receive(encode_sync_step2(ann.doc.get_update(ann.doc.get_state())))
    ann.session.receive(encode_sync_step2(ann.doc.get_update()))
    assert ann.peer.denials() == []
    assert ann.session.dropped_updates == 0
    lock(False, ann)
    assert ann.peer.closed == []
    ann.type("more ")
    assert text(document) == "more kept"


async def test_an_observer_is_told_it_is_read_only_and_never_asked_to_resend(
    document: LiveDocument,
) -> None:
    olive = Connection(document, Role.OBSERVER, "olive")
    olive.type("no ")
    olive.type("still no ")
    assert text(document) == ""
    assert olive.peer.denials() == [READ_ONLY_NOTICE]
    lock(True, olive)
    lock(False, olive)
    assert olive.peer.closed == []


async def test_a_waiting_update_makes_the_server_ask_its_client_once_per_interval(
    document: LiveDocument, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [100.0]
    monkeypatch.setattr(session_module, "time", SimpleNamespace(monotonic=lambda: now[0]))
    ann = Connection(document, Role.MEMBER, "ann")
    asked = ann.peer.step1s()
    # Two edits whose first never reached the server: the second waits for it.
    doc = ann.doc
    doc.get("text", type=Text).insert(0, "lost ")
    before = doc.get_state()
    doc.get("text", type=Text).insert(0, "waits ")
    ann.session.receive(encode_update(doc.get_update(before)))
    assert document.sync.waiting == 1
    assert ann.peer.step1s() == asked + 1
    # Its answer is still due: no second request, however much time passes.
    doc.get("text", type=Text).insert(0, "also ")
    ann.session.receive(encode_update(doc.get_update(before)))
    now[0] += 10
    ann.session.receive(encode_update(doc.get_update(before)))
    assert ann.peer.step1s() == asked + 1
    # The answer (a step 2 with everything) brings what was missing.
    ann.session.receive(encode_sync_step2(doc.get_update()))
    assert text(document) == "also waits lost "
    assert document.sync.waiting == 0
    # Another gap: asked at once (the last request was long ago)...
    before = doc.get_state()
    doc.get("text", type=Text).insert(0, "gap ")
    after_gap = doc.get_state()
    doc.get("text", type=Text).insert(0, "w1 ")
    ann.session.receive(encode_update(doc.get_update(after_gap)))
    assert ann.peer.step1s() == asked + 2
    ann.session.receive(encode_sync_step2(doc.get_update(before)))
    assert document.sync.waiting == 0
    # ...but a gap right after that waits for the interval before asking again.
    before = doc.get_state()
    doc.get("text", type=Text).insert(0, "gap2 ")
    after_gap = doc.get_state()
    doc.get("text", type=Text).insert(0, "w2 ")
    now[0] += 0.5
    ann.session.receive(encode_update(doc.get_update(after_gap)))
    assert ann.peer.step1s() == asked + 2
    now[0] += 0.6
    ann.session.receive(encode_update(doc.get_update(after_gap)))
    assert ann.peer.step1s() == asked + 3


async def test_claims_made_while_storage_is_down_hold_here_and_are_stored_later(
    document: LiveDocument,
) -> None:
    state = document._store.state  # type: ignore[attr-defined]
    people = MemoryParticipantStore(state)
    ann = await people.add_participant(document.info.room_id, "Ann", Role.MEMBER)
    bo = await people.add_participant(document.info.room_id, "Bo", Role.MEMBER)
    await document.claim(ann.id, [11])
    state.fail_writes = ConnectionRefusedError("the database is down")
    # Ann claims 11 again and 12; Bo claims 12 and 13. First use decides while down.
    await document.claim(ann.id, [11, 12])
    await document.claim(bo.id, [12, 13])
    assert document.owners == {11: ann.id, 12: ann.id, 13: bo.id}
    state.fail_writes = None
    await document.writer.flush()
    assert state.documents[document.info.id].claims == {11: ann.id, 12: ann.id, 13: bo.id}
