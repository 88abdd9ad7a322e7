"""DocumentHub on the in-memory store: loading once, idle unloading, flushing on close."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
from pycrdt import Doc, Text

from crdt.document import SyncDocument
from rooms.live.broker import MemoryBus
from rooms.live.document import LiveDocument
from rooms.live.hub import DocumentHub, HubSettings
from rooms.live.writer import WriterSettings
from rooms.memory import MemoryStore
from rooms.ports import StoreError
from rooms.records import DocumentInfo, StoredDocument, TextActivity
from tests.support.timing import eventually, timeout

NEVER = 3600.0


class CountingStore(MemoryStore):
    """A MemoryStore that counts loads and appends and can hold them at a gate."""

    def __init__(self) -> None:
        super().__init__()
        self.loads = 0
        self.load_gate: asyncio.Event | None = None
        self.fail_loads: Exception | None = None
        self.appends = 0
        self.append_gate: asyncio.Event | None = None

    async def load_document(self, document_id: int) -> StoredDocument:
        self.loads += 1
        if self.load_gate is not None:
            await self.load_gate.wait()
        if self.fail_loads is not None:
            raise StoreError(str(self.fail_loads))
        return await super().load_document(document_id)

    async def append_updates(
        self,
        document_id: int,
        updates: Sequence[bytes],
        activity: Sequence[TextActivity] = (),
    ) -> None:
        self.appends += 1
        if self.append_gate is not None:
            await self.append_gate.wait()
        await super().append_updates(document_id, updates, activity)

    def text(self, document_id: int) -> str:
        doc = self.state.documents[document_id]
        stored = SyncDocument(doc.snapshot, [u for _, u in doc.log])
        return str(stored.ydoc.get("content", type=Text))


class FakePeer:
    def __init__(self) -> None:
        self.frames: list[bytes] = []

    def send(self, frame: bytes) -> None:
        self.frames.append(frame)

    def close(self, code: int, reason: str) -> None:
        pass


class Editor:
    """A client's pycrdt document whose edits are applied to a live document."""

    def __init__(self) -> None:
        self.doc: Doc[Any] = Doc()
        self.peer = FakePeer()
        self._updates: list[bytes] = []
        self.doc.observe(lambda event: self._updates.append(event.update))

    def type(self, live: LiveDocument, content: str) -> None:
        ytext = self.doc.get("content", type=Text)
        for char in content:
            ytext += char
        updates, self._updates = self._updates, []
        for update in updates:
            live.apply_client_update(update, self.peer)


@pytest.fixture
def store() -> CountingStore:
    return CountingStore()


@pytest.fixture
async def document(store: CountingStore) -> DocumentInfo:
    room = await store.create_room("room", "Room", {})
    return await store.create_document(room.id, "notes")


def hub_settings(idle: float = NEVER, flush_interval: float = NEVER) -> HubSettings:
    return HubSettings(
        writer=WriterSettings(flush_interval=flush_interval), idle_unload_seconds=idle
    )


@pytest.fixture
async def hubs(store: CountingStore) -> AsyncIterator[list[DocumentHub]]:
    """Hubs a test registers here are closed at its end."""
    created: list[DocumentHub] = []
    yield created
    store.state.fail_writes = None
    store.fail_loads = None
    for gate in (store.append_gate, store.load_gate):
        if gate is not None:
            gate.set()
    for hub in created:
        await hub.close(attempts=1)


def new_hub(store: CountingStore, hubs: list[DocumentHub], settings: HubSettings) -> DocumentHub:
    hub = DocumentHub(store, settings)
    hubs.append(hub)
    return hub


async def test_concurrent_acquires_load_once_and_share_the_document(
    store: CountingStore, document: DocumentInfo, hubs: list[DocumentHub]
) -> None:
    hub = new_hub(store, hubs, hub_settings())
    gate = store.load_gate = asyncio.Event()
    acquires = [asyncio.create_task(hub.acquire(document, "room")) for _ in range(3)]
    await eventually(lambda: store.loads == 1, what="the first load")
    # Every acquire has started (they were scheduled together) while the load is in flight.
    assert not any(task.done() for task in acquires)
    assert hub.documents == {}
    gate.set()
    loaded = await asyncio.wait_for(asyncio.gather(*acquires), timeout())
    assert store.loads == 1
    assert loaded[0] is loaded[1] is loaded[2]
    assert loaded[0].holders == 3
    assert hub.documents == {document.id: loaded[0]}
    again = await hub.acquire(document, "room")
    assert again is loaded[0]
    assert store.loads == 1
    assert again.holders == 4


async def test_a_failed_load_fails_every_waiter_and_is_retried(
    store: CountingStore, document: DocumentInfo, hubs: list[DocumentHub]
) -> None:
    hub = new_hub(store, hubs, hub_settings())
    gate = store.load_gate = asyncio.Event()
    store.fail_loads = OSError("database is down")
    acquires = [asyncio.create_task(hub.acquire(document, "room")) for _ in range(2)]
    await eventually(lambda: store.loads == 1, what="the first load")
    gate.set()
    results = await asyncio.wait_for(asyncio.gather(*acquires, return_exceptions=True), timeout())
    assert all(isinstance(result, StoreError) for result in results)
    assert hub.documents == {}
    store.fail_loads = None
    live = await hub.acquire(document, "room")
    assert store.loads == 2
    assert live.holders == 1


async def test_released_document_is_unloaded_after_the_idle_time_once_stored(
    store: CountingStore, document: DocumentInfo, hubs: list[DocumentHub]
) -> None:
    hub = new_hub(store, hubs, hub_settings(idle=0.02))
    live = await hub.acquire(document, "room")
    Editor().type(live, "kept")
    assert live.writer.dirty
    hub.release(live)
    await eventually(lambda: document.id not in hub.documents, what="the idle unload")
    assert not live.writer.dirty
    assert store.text(document.id) == "kept"
    reloaded = await hub.acquire(document, "room")
    assert reloaded is not live
    assert store.loads == 2
    assert str(reloaded.sync.ydoc.get("content", type=Text)) == "kept"


def live_sync_documents() -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, SyncDocument))


@pytest.mark.parametrize("shared", [False, True], ids=["one process", "shared broker"])
async def test_unloaded_documents_are_freed(
    store: CountingStore, hubs: list[DocumentHub], shared: bool
) -> None:
    # pycrdt keeps an observed Doc alive: the hub must let go of what it unloads, and
    # (with a shared broker) of the copy of storage it compares with before unloading.
    hub = DocumentHub(store, hub_settings(idle=0.01), MemoryBus().broker() if shared else None)
    hubs.append(hub)
    room = await store.create_room("other", "Other", {})
    infos = [await store.create_document(room.id, f"doc-{i}") for i in range(20)]
    before = live_sync_documents()
    for _ in range(3):
        for info in infos:
            live = await hub.acquire(info, "other")
            Editor().type(live, "x")
            hub.release(live)
        await eventually(lambda: not hub.documents, what="every document to unload")
        del live
    assert live_sync_documents() - before < 5, "unloaded documents stay in memory"


async def test_document_with_failing_writes_stays_loaded_while_dirty(
    store: CountingStore, document: DocumentInfo, hubs: list[DocumentHub]
) -> None:
    hub = new_hub(store, hubs, hub_settings(idle=0.01))
    live = await hub.acquire(document, "room")
    Editor().type(live, "unsaved")
    store.state.fail_writes = OSError("database is down")
    hub.release(live)
    await eventually(lambda: live.writer.failures >= 3, what="repeated unload attempts")
    assert hub.documents.get(document.id) is live
    assert live.writer.dirty
    assert store.state.documents[document.id].log == []
    store.state.fail_writes = None
    await eventually(lambda: document.id not in hub.documents, what="the unload after recovery")
    assert not live.writer.dirty
    assert store.text(document.id) == "unsaved"


async def test_acquiring_during_the_idle_window_cancels_the_unload(
    store: CountingStore, document: DocumentInfo, hubs: list[DocumentHub]
) -> None:
    hub = new_hub(store, hubs, hub_settings(idle=0.05))
    control = await store.create_document(document.room_id, "control")
    live = await hub.acquire(document, "room")
    hub.release(live)
    again = await hub.acquire(document, "room")
    assert again is live
    assert live.holders == 1
    # A document released after the re-acquire, with the same idle time, is unloaded
    # later than the cancelled unload would have been: by then it would have happened.
    control_live = await hub.acquire(control, "room")
    hub.release(control_live)
    await eventually(lambda: control.id not in hub.documents, what="the control's unload")
    assert hub.documents.get(document.id) is live
    assert store.loads == 2
    Editor().type(live, "still here")
    hub.release(live)
    await eventually(lambda: document.id not in hub.documents, what="the final unload")
    assert store.text(document.id) == "still here"


async def test_close_flushes_pending_updates(
    store: CountingStore, document: DocumentInfo, hubs: list[DocumentHub]
) -> None:
    hub = new_hub(store, hubs, hub_settings())
    other = await store.create_document(document.room_id, "other")
    first = await hub.acquire(document, "room")
    second = await hub.acquire(other, "room")
    Editor().type(first, "first")
    Editor().type(second, "second")
    assert store.appends == 0
    await hub.close()
    assert hub.documents == {}
    assert store.text(document.id) == "first"
    assert store.text(other.id) == "second"


async def test_close_retries_a_failing_write(
    store: CountingStore, document: DocumentInfo, hubs: list[DocumentHub]
) -> None:
    hub = new_hub(store, hubs, hub_settings())
    live = await hub.acquire(document, "room")
    Editor().type(live, "late")
    store.state.fail_writes = OSError("database restarting")
    closing = asyncio.create_task(hub.close(attempts=50, retry_delay=0.01))
    await eventually(lambda: store.appends >= 2, what="two failed attempts")
    assert not closing.done()
    store.state.fail_writes = None
    await asyncio.wait_for(closing, timeout())
    assert store.text(document.id) == "late"


async def test_close_raises_when_every_attempt_fails(
    store: CountingStore, document: DocumentInfo, hubs: list[DocumentHub]
) -> None:
    hub = new_hub(store, hubs, hub_settings())
    live = await hub.acquire(document, "room")
    Editor().type(live, "lost")
    store.state.fail_writes = OSError("database gone")
    with pytest.raises(StoreError):
        await hub.close(attempts=3, retry_delay=0.01)
    assert store.appends == 3
    assert live.writer.dirty


async def test_failed_unload_of_a_reacquired_document_still_retries_the_write(
    store: CountingStore, document: DocumentInfo, hubs: list[DocumentHub]
) -> None:
    hub = new_hub(store, hubs, hub_settings(idle=0.0, flush_interval=0.05))
    live = await hub.acquire(document, "room")
    Editor().type(live, "typed")
    gate = store.append_gate = asyncio.Event()
    hub.release(live)
    # The unload's final flush is in flight when a connection acquires the document again.
    await eventually(lambda: store.appends == 1, what="the unload's flush")
    again = await hub.acquire(document, "room")
    assert again is live
    store.state.fail_writes = OSError("database is down")
    gate.set()
    await eventually(lambda: live.writer.failures == 1, what="the failed flush")
    store.state.fail_writes = None
    # The writer promises a retry with backoff: at most flush_interval * 2 here.
    await eventually(lambda: not live.writer.dirty, what="the retried write")
    assert store.text(document.id) == "typed"
