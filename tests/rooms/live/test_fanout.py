"""Several hubs linked by a MemoryBus behave as one server: the fan-out logic without Redis."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest
from pycrdt import Awareness, Doc, Text, get_state

from crdt.awareness import AwarenessEntry, encode_awareness_update
from crdt.document import decode_state_vector
from crdt.protocol import (
    AwarenessUpdate,
    SyncStep1,
    SyncStep2,
    SyncUpdate,
    decode_message,
    encode_awareness,
    encode_sync_step1,
    encode_sync_step2,
    encode_update,
)
from rooms.live.broker import MemoryBroker, MemoryBus
from rooms.live.document import LiveDocument
from rooms.live.envelope import Kind, decode
from rooms.live.fanout import document_channel
from rooms.live.hub import DocumentHub, HubSettings
from rooms.live.session import SyncSession
from rooms.live.writer import WriterSettings
from rooms.memory import MemoryStore
from rooms.records import DocumentInfo, StoredDocument
from rooms.roles import Role
from tests.support.timing import eventually

SLOW_FLUSH = WriterSettings(flush_interval=600)


class GatedStore(MemoryStore):
    """Counts appends, and can hold document loads until the test opens the gate."""

    def __init__(self) -> None:
        super().__init__()
        self.gate: asyncio.Event | None = None
        self.loading = asyncio.Event()

    async def load_document(self, document_id: int) -> StoredDocument:
        self.loading.set()
        if self.gate is not None:
            await self.gate.wait()
        return await super().load_document(document_id)


@dataclass(eq=False)
class FakePeer:
    frames: list[bytes] = field(default_factory=list)

    def send(self, frame: bytes) -> None:
        self.frames.append(frame)

    def close(self, code: int, reason: str) -> None:
        return None


class Client:
    """A pycrdt document connected to one hub through a session, without sockets."""

    def __init__(self, document: LiveDocument, role: Role = Role.MEMBER) -> None:
        self.doc: Doc[Any] = Doc()
        self.peer = FakePeer()
        self.session = SyncSession(document, self.peer, role, "client", f"p{self.doc.client_id}")
        # Its client id is its own, as a claim on first use would make it.
        document.owners[self.doc.client_id] = self.session.participant_id
        self.awareness: list[bytes] = []
        self._seen = 0
        self.session.start()
        self.session.receive(encode_sync_step1(self.doc.get_state()))
        self.pump()

    def cursor(self, name: str) -> bytes:
        """An awareness update for this client's own client id."""
        return encode_awareness_update(
            [AwarenessEntry(self.doc.client_id, 1, {"user": {"name": name}})]
        )

    def pump(self) -> None:
        for frame in self.peer.frames[self._seen :]:
            message = decode_message(frame)
            if isinstance(message, SyncStep1):
                self.session.receive(encode_sync_step2(self.doc.get_update(message.state_vector)))
            elif isinstance(message, SyncStep2 | SyncUpdate):
                self.doc.apply_update(message.update)
            elif isinstance(message, AwarenessUpdate):
                self.awareness.append(message.update)
        self._seen = len(self.peer.frames)

    def awareness_updates(self) -> list[bytes]:
        self.pump()
        return self.awareness

    @property
    def text(self) -> str:
        self.pump()
        return str(self.doc.get("text", type=Text))

    def insert(self, index: int, value: str) -> None:
        before = self.doc.get_state()
        self.doc.get("text", type=Text).insert(index, value)
        self.session.receive(encode_update(self.doc.get_update(before)))


def _hub(store: MemoryStore, broker: MemoryBroker, **settings: Any) -> DocumentHub:
    values: dict[str, Any] = {"writer": SLOW_FLUSH, "idle_unload_seconds": 600}
    values.update(settings)
    return DocumentHub(store, HubSettings(**values), broker)


async def _document(store: MemoryStore) -> DocumentInfo:
    room = await store.create_room("room", "Room", {})
    return await store.create_document(room.id, "guide")


def _stored_text(store: MemoryStore, document_id: int) -> str:
    doc: Doc[Any] = Doc()
    stored = store.state.documents[document_id]
    for update in (stored.snapshot, *(u for _, u in stored.log)):
        if update:
            doc.apply_update(update)
    return str(doc.get("text", type=Text))


def _live_text(document: LiveDocument) -> str:
    return str(document.sync.ydoc.get("text", type=Text))


async def test_updates_cross_processes_and_are_stored_once() -> None:
    bus, store = MemoryBus(), GatedStore()
    info = await _document(store)
    hub_a, hub_b = _hub(store, bus.broker()), _hub(store, bus.broker())
    doc_a = await hub_a.acquire(info, "room")
    doc_b = await hub_b.acquire(info, "room")
    alice, bob = Client(doc_a), Client(doc_b)
    alice.insert(0, "hello")
    await eventually(lambda: bob.text == "hello", what="bob to see alice's edit")
    bob.insert(5, " world")
    await eventually(lambda: alice.text == "hello world")
    await hub_a.flush_all()
    await hub_b.flush_all()
    log = store.state.documents[info.id].log
    assert len(log) == 2, "each update is stored once, by the process its client used"
    assert _stored_text(store, info.id) == "hello world"


async def test_updates_of_one_loop_turn_go_out_in_one_message() -> None:
    bus, store = MemoryBus(), MemoryStore()
    info = await _document(store)
    hub_a, hub_b = _hub(store, bus.broker()), _hub(store, bus.broker())
    doc_a = await hub_a.acquire(info, "room")
    doc_b = await hub_b.acquire(info, "room")
    alice = Client(doc_a)
    for i in range(10):
        alice.insert(i, "x")
    await eventually(lambda: _live_text(doc_b) == "x" * 10)
    kinds = [decode(message).kind for _, message in bus.log]
    assert kinds.count(Kind.UPDATES) == 1


async def test_what_is_published_while_loading_is_not_lost() -> None:
    bus, store = MemoryBus(), GatedStore()
    info = await _document(store)
    broker_a, broker_b = bus.broker(), bus.broker()
    hub_a, hub_b = _hub(store, broker_a), _hub(store, broker_b)
    alice = Client(await hub_a.acquire(info, "room"))
    store.gate, store.loading = asyncio.Event(), asyncio.Event()
    loading_b = asyncio.create_task(hub_b.acquire(info, "room"))
    await store.loading.wait()
    # B has subscribed and is reading storage; A's client writes now, unstored.
    channel = document_channel(info.id)
    deliver = broker_b.handlers[channel]
    received: list[Kind] = []

    def note(message: bytes) -> None:
        received.append(decode(message).kind)
        deliver(message)

    broker_b.handlers[channel] = note
    alice.insert(0, "written during the load")
    await eventually(lambda: Kind.UPDATES in received, what="A's update to reach B mid-load")
    # A is cut off before B asks the others for what storage lacks: only what B kept
    # while it loaded can bring the edit.
    broker_a.connected = False
    store.gate.set()
    doc_b = await loading_b
    assert _live_text(doc_b) == "written during the load"


async def test_a_new_process_gets_what_others_have_not_stored_yet() -> None:
    bus, store = MemoryBus(), MemoryStore()
    info = await _document(store)
    hub_a, hub_b = _hub(store, bus.broker()), _hub(store, bus.broker())
    alice = Client(await hub_a.acquire(info, "room"))
    alice.insert(0, "not stored yet")
    assert store.state.documents[info.id].log == []
    bob = Client(await hub_b.acquire(info, "room"))
    await eventually(lambda: bob.text == "not stored yet", what="the load-time sync exchange")


async def test_processes_converge_after_the_broker_comes_back() -> None:
    bus, store = MemoryBus(), MemoryStore()
    info = await _document(store)
    broker_b = bus.broker()
    hub_a, hub_b = _hub(store, bus.broker()), _hub(store, broker_b)
    hub_c = _hub(store, bus.broker())
    alice = Client(await hub_a.acquire(info, "room"))
    bob = Client(await hub_b.acquire(info, "room"))
    carol = Client(await hub_c.acquire(info, "room"))
    alice.insert(0, "base")
    await eventually(lambda: bob.text == carol.text == "base")
    broker_b.connected = False
    alice.insert(4, " from A")
    bob.insert(0, "B: ")
    await eventually(lambda: " from A" in carol.text, what="A's edit to reach C")
    # C's marker goes out after A's edit was delivered and after B's was sent (or
    # dropped): once it reaches A, whatever could cross to or from B has had its chance.
    carol.insert(len(carol.text), " [C]")
    await eventually(lambda: alice.text.endswith(" [C]"), what="C's marker to reach A")
    assert alice.text == carol.text == "base from A [C]", "B's edit went out while cut off"
    assert bob.text == "B: base", "an edit reached B while it was cut off"
    await broker_b.reconnect()
    await eventually(
        lambda: alice.text == bob.text == carol.text == "B: base from A [C]", what="healing"
    )


async def test_awareness_crosses_and_leaves_with_the_connection() -> None:
    bus, store = MemoryBus(), MemoryStore()
    info = await _document(store)
    hub_a, hub_b = _hub(store, bus.broker()), _hub(store, bus.broker())
    alice = Client(await hub_a.acquire(info, "room"))
    bob = Client(await hub_b.acquire(info, "room"))
    alice.session.receive(encode_awareness(alice.cursor("Alice")))
    await eventually(lambda: any(b"Alice" in u for u in bob.awareness_updates()))
    alice.session.end()
    await eventually(lambda: bob.awareness_updates()[-1].endswith(b"null"))


async def test_a_late_process_learns_existing_awareness() -> None:
    bus, store = MemoryBus(), MemoryStore()
    info = await _document(store)
    hub_a, hub_b = _hub(store, bus.broker()), _hub(store, bus.broker())
    alice = Client(await hub_a.acquire(info, "room"))
    alice.session.receive(encode_awareness(alice.cursor("Alice")))
    doc_b = await hub_b.acquire(info, "room")
    await eventually(
        lambda: alice.doc.client_id in doc_b.awareness.states, what="the awareness query"
    )


async def test_states_of_a_silent_process_expire() -> None:
    bus, store = MemoryBus(), MemoryStore()
    info = await _document(store)
    broker_a = bus.broker()
    hub_a = _hub(store, broker_a)
    hub_b = _hub(store, bus.broker(), awareness_timeout_seconds=0.1, awareness_sweep_seconds=0.02)
    alice = Client(await hub_a.acquire(info, "room"))
    bob = Client(await hub_b.acquire(info, "room"))
    alice.session.receive(encode_awareness(alice.cursor("Alice")))
    await eventually(lambda: any(b"Alice" in u for u in bob.awareness_updates()))
    broker_a.connected = False  # A dies: its states stop being renewed
    await eventually(lambda: bob.awareness_updates()[-1].endswith(b"null"), what="the expiry sweep")
    await hub_b.close()


async def test_unload_stores_what_a_dead_process_never_stored() -> None:
    bus, store = MemoryBus(), MemoryStore()
    info = await _document(store)
    hub_a = _hub(store, bus.broker())
    hub_b = _hub(store, bus.broker(), idle_unload_seconds=0.01)
    alice = Client(await hub_a.acquire(info, "room"))
    doc_b = await hub_b.acquire(info, "room")
    alice.insert(0, "only in memory")
    await eventually(lambda: _live_text(doc_b) == "only in memory")
    # A is gone before its write-behind flush; B is the last holder of the edit.
    hub_b.release(doc_b)
    await eventually(lambda: not hub_b.documents, what="B to unload")
    assert _stored_text(store, info.id) == "only in memory"


async def test_a_single_process_stores_nothing_twice_on_unload() -> None:
    store = MemoryStore()
    info = await _document(store)
    hub = DocumentHub(store, HubSettings(writer=SLOW_FLUSH, idle_unload_seconds=0.01))
    document = await hub.acquire(info, "room")
    Client(document).insert(0, "once")
    hub.release(document)
    await eventually(lambda: not hub.documents)
    assert len(store.state.documents[info.id].log) == 1


async def test_a_process_that_is_gone_has_its_unstored_updates_stored_by_a_survivor() -> None:
    bus, store = MemoryBus(), MemoryStore()
    info = await _document(store)
    broker_a, broker_b = bus.broker(), bus.broker()
    hub_a, hub_b = _hub(store, broker_a), _hub(store, broker_b)
    alice = Client(await hub_a.acquire(info, "room"))
    bob = Client(await hub_b.acquire(info, "room"))
    alice.insert(0, "[from A]")
    await eventually(lambda: bob.text == "[from A]")
    bob.insert(8, "[from B]")
    await eventually(lambda: alice.text == "[from A][from B]")
    # A dies before its write-behind flush, with B's clients still connected.
    broker_a.connected = False
    await broker_b.process_gone(broker_a.origin)
    doc_b = hub_b.documents[info.id]
    await doc_b.writer.flush()
    log = store.state.documents[info.id].log
    # What storage lacked (A's update) is stored with B's pending one, in its place.
    assert len(log) == 1
    assert set(decode_state_vector(get_state(log[0][1]))) == {
        alice.doc.client_id,
        bob.doc.client_id,
    }
    assert _stored_text(store, info.id) == "[from A][from B]"
    # Once taken over, nothing is left to take over.
    assert broker_a.origin not in doc_b.remote_origins
    await broker_b.process_gone(broker_a.origin)
    await doc_b.writer.flush()
    assert len(store.state.documents[info.id].log) == 1
    await hub_b.close()


async def test_a_process_gone_after_storing_everything_leaves_nothing_to_store() -> None:
    bus, store = MemoryBus(), MemoryStore()
    info = await _document(store)
    broker_a, broker_b = bus.broker(), bus.broker()
    hub_a, hub_b = _hub(store, broker_a), _hub(store, broker_b)
    alice = Client(await hub_a.acquire(info, "room"))
    doc_b = await hub_b.acquire(info, "room")
    alice.insert(0, "stored by A")
    await eventually(lambda: _live_text(doc_b) == "stored by A")
    await hub_a.close()
    await broker_b.process_gone(broker_a.origin)
    await hub_b.close()
    assert len(store.state.documents[info.id].log) == 1


async def test_an_update_that_waits_counts_its_process_as_one_this_copy_holds() -> None:
    bus, store = MemoryBus(), MemoryStore()
    info = await _document(store)
    broker_a, broker_b = bus.broker(), bus.broker()
    hub_a, hub_b = _hub(store, broker_a), _hub(store, broker_b)
    alice = Client(await hub_a.acquire(info, "room"))
    doc_b = await hub_b.acquire(info, "room")
    # B misses both of Alice's edits; A then goes silent (it answers no request).
    broker_b.connected = False

    def updates() -> list[tuple[str, bytes]]:
        return [(c, m) for c, m in bus.log if decode(m).kind is Kind.UPDATES]

    alice.insert(0, "one ")
    await eventually(lambda: len(updates()) == 1, what="A to publish the first edit")
    alice.insert(4, "two")
    await eventually(lambda: len(updates()) == 2, what="A to publish the second edit")
    channel, second = updates()[-1]
    broker_a.connected = False
    broker_b.connected = True
    # The second edit reaches B and waits for the first.
    broker_b.handlers[channel](second)
    assert doc_b.sync.waiting == 1
    assert _live_text(doc_b) == ""
    # Should A die now, B is a copy that will hold A's edit once it goes in.
    assert doc_b.remote_origins == {broker_a.origin}
    await hub_a.close()
    await hub_b.close()


async def test_the_awareness_sweep_drops_silent_remote_states_and_keeps_local_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = MemoryStore()
    info = await _document(store)
    hub = _hub(store, MemoryBus().broker())
    document = await hub.acquire(info, "room")
    ann = Client(document)
    # Both states were last renewed long ago (pycrdt stamps them with its clock).
    monkeypatch.setattr(Awareness, "_get_time", lambda self: 1_000)
    ann.session.receive(encode_awareness(ann.cursor("Ann")))
    remote = AwarenessEntry(4242, 1, {"user": {"name": "Rae on another process"}})
    document.apply_remote_awareness(encode_awareness_update([remote]))
    monkeypatch.undo()
    assert set(document.awareness.states) == {ann.doc.client_id, 4242}
    seen = len(ann.awareness_updates())
    document.expire_awareness()
    # Ann's connection is here and renews its own state; Rae's process went silent.
    assert set(document.awareness.states) == {ann.doc.client_id}
    assert len(ann.awareness_updates()) == seen + 1
    await hub.close()
