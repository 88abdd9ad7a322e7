"""DocumentWriter on the in-memory store: batches, failures and retries, compaction."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import pytest
from pycrdt import Text

from crdt.document import SyncDocument
from rooms.live.writer import DocumentWriter, WriterSettings
from rooms.memory import MemoryStore
from rooms.ports import StoreError
from rooms.records import DocumentInfo, StoredDocument, TextActivity
from tests.support.encoding import keystrokes, text_of
from tests.support.timing import eventually, timeout

# Writers that never flush on their own: the test calls flush() itself.
NEVER = 3600.0


class RecordingStore(MemoryStore):
    """A MemoryStore that records every append and can hold calls at a gate."""

    def __init__(self) -> None:
        super().__init__()
        self.append_calls: list[list[bytes]] = []
        self.activity_calls: list[list[TextActivity]] = []
        self.appending = asyncio.Event()
        self.append_gate: asyncio.Event | None = None
        self.loads = 0
        self.load_gate: asyncio.Event | None = None
        self.fail_snapshots: Exception | None = None
        self.replace_results: list[bool] = []

    async def append_updates(
        self, document_id: int, updates: Sequence[bytes], activity: Sequence[TextActivity] = ()
    ) -> None:
        self.append_calls.append(list(updates))
        self.activity_calls.append(list(activity))
        self.appending.set()
        if self.append_gate is not None:
            await self.append_gate.wait()
        await super().append_updates(document_id, updates, activity)

    async def load_document(self, document_id: int) -> StoredDocument:
        stored = await super().load_document(document_id)
        self.loads += 1
        if self.load_gate is not None:
            await self.load_gate.wait()
        return stored

    async def replace_snapshot(
        self,
        document_id: int,
        expected_version: int,
        snapshot: bytes,
        folded_update_ids: Sequence[int],
    ) -> bool:
        if self.fail_snapshots is not None:
            raise StoreError(str(self.fail_snapshots))
        replaced = await super().replace_snapshot(
            document_id, expected_version, snapshot, folded_update_ids
        )
        self.replace_results.append(replaced)
        return replaced

    def log(self, document_id: int) -> list[bytes]:
        return [update for _, update in self.state.documents[document_id].log]


@pytest.fixture
def store() -> RecordingStore:
    return RecordingStore()


@pytest.fixture
async def document(store: RecordingStore) -> DocumentInfo:
    room = await store.create_room("room", "Room", {})
    return await store.create_document(room.id, "notes")


@pytest.fixture
async def writers(store: RecordingStore) -> AsyncIterator[list[DocumentWriter]]:
    """Writers a test registers here are closed (timers cancelled) at its end."""
    created: list[DocumentWriter] = []
    yield created
    store.state.fail_writes = None
    if store.append_gate is not None:
        store.append_gate.set()
    for writer in created:
        await writer.close()


def new_writer(
    store: MemoryStore,
    document: DocumentInfo,
    writers: list[DocumentWriter],
    **settings: float,
) -> DocumentWriter:
    values: dict[str, float] = {"flush_interval": NEVER}
    values.update(settings)
    writer = DocumentWriter(
        store,
        document.id,
        "room/notes",
        WriterSettings(
            flush_interval=values["flush_interval"],
            compact_threshold=int(values.get("compact_threshold", 200)),
            max_retry_delay=values.get("max_retry_delay", 5.0),
        ),
    )
    writers.append(writer)
    return writer


async def test_flush_stores_pending_updates_in_one_batch(
    store: RecordingStore, document: DocumentInfo, writers: list[DocumentWriter]
) -> None:
    writer = new_writer(store, document, writers)
    updates = keystrokes("hello")
    assert not writer.dirty
    await writer.flush()
    assert store.append_calls == []
    for update in updates:
        writer.enqueue(update)
    assert writer.dirty
    await writer.flush()
    assert not writer.dirty
    assert store.append_calls == [updates]
    assert store.log(document.id) == updates
    assert writer.flushed_updates == 5
    await writer.flush()
    assert len(store.append_calls) == 1


async def test_a_batch_being_written_still_counts_as_dirty(
    store: RecordingStore, document: DocumentInfo, writers: list[DocumentWriter]
) -> None:
    # The hub must not unload a document whose last updates are still on their way.
    writer = new_writer(store, document, writers)
    store.append_gate = asyncio.Event()
    writer.enqueue(keystrokes("a")[0])
    flushing = asyncio.create_task(writer.flush())
    await asyncio.wait_for(store.appending.wait(), timeout())
    assert writer.dirty
    store.append_gate.set()
    await flushing
    assert not writer.dirty


async def test_failed_flush_keeps_updates_pending_and_retries_store_each_once_in_order(
    store: RecordingStore, document: DocumentInfo, writers: list[DocumentWriter]
) -> None:
    writer = new_writer(store, document, writers)
    updates = keystrokes("abcdefgh")
    store.state.fail_writes = OSError("database is down")
    for update in updates[:3]:
        writer.enqueue(update)
    with pytest.raises(StoreError):
        await writer.flush()
    assert writer.dirty
    assert writer.failures == 1
    assert store.log(document.id) == []

    for update in updates[3:6]:
        writer.enqueue(update)
    with pytest.raises(StoreError):
        await writer.flush()
    assert writer.dirty
    assert writer.failures == 2
    assert writer.flushed_updates == 0

    store.state.fail_writes = None
    for update in updates[6:]:
        writer.enqueue(update)
    await writer.flush()
    assert not writer.dirty
    assert writer.failures == 0
    assert writer.flushed_updates == len(updates)
    assert store.log(document.id) == updates
    assert store.append_calls[-1] == updates
    await writer.flush()
    assert store.log(document.id) == updates
    assert text_of(await store.load_document(document.id)) == "abcdefgh"


async def test_text_activity_is_stored_with_its_batch_once(
    store: RecordingStore, document: DocumentInfo, writers: list[DocumentWriter]
) -> None:
    """What each person's edits added and removed goes in with the batch that holds
    them: a failed write counts nothing, its retry counts everything once."""
    writer = new_writer(store, document, writers)
    ann, ben = "ann", "ben"
    updates = keystrokes("abcd")
    writer.enqueue(updates[0], ann, 1, 0)
    writer.enqueue(updates[1], ann, 1, 0)
    writer.enqueue(updates[2], ben, 5, 2)
    # Not a person's edit (another process's, stored by it): not counted here.
    writer.enqueue(updates[3])
    store.state.fail_writes = OSError("database is down")
    with pytest.raises(StoreError):
        await writer.flush()
    assert await store.activity_totals(document.room_id) == []
    writer.enqueue(keystrokes("abcde")[4], ann, 1, 1)
    store.state.fail_writes = None
    await writer.flush()
    totals = {
        a.participant_id: (a.added, a.removed, a.edits)
        for a in await store.activity_totals(document.room_id)
    }
    assert totals == {ann: (3, 1, 3), ben: (5, 2, 1)}
    # The failed call and the retry carried the same counts, the retry with the new edit.
    assert len(store.activity_calls) == 2
    await writer.flush()
    assert len(store.activity_calls) == 2
    writer.enqueue(keystrokes("abcdef")[5])
    await writer.flush()
    # A batch with no person's edit in it stores no activity.
    assert store.activity_calls[-1] == []


async def test_updates_enqueued_during_a_failing_flush_stay_after_the_batch(
    store: RecordingStore, document: DocumentInfo, writers: list[DocumentWriter]
) -> None:
    writer = new_writer(store, document, writers)
    updates = keystrokes("abcdef")
    for update in updates[:3]:
        writer.enqueue(update)
    store.append_gate = asyncio.Event()
    flushing = asyncio.create_task(writer.flush())
    await asyncio.wait_for(store.appending.wait(), timeout())
    # While the write is in flight, more updates arrive; then the write fails.
    for update in updates[3:]:
        writer.enqueue(update)
    store.state.fail_writes = OSError("connection reset")
    store.append_gate.set()
    with pytest.raises(StoreError):
        await asyncio.wait_for(flushing, timeout())
    assert writer.dirty
    store.state.fail_writes = None
    await writer.flush()
    assert store.log(document.id) == updates
    assert text_of(await store.load_document(document.id)) == "abcdef"


async def test_timer_flushes_within_the_interval(
    store: RecordingStore, document: DocumentInfo, writers: list[DocumentWriter]
) -> None:
    writer = new_writer(store, document, writers, flush_interval=0.01)
    updates = keystrokes("timer")
    for update in updates:
        writer.enqueue(update)
    await eventually(lambda: not writer.dirty, what="the timer's flush")
    assert store.log(document.id) == updates
    assert store.append_calls == [updates]
    writer.enqueue(keystrokes("!")[0])
    await eventually(lambda: len(store.append_calls) == 2, what="a second timed flush")


async def test_timer_retries_until_the_store_recovers(
    store: RecordingStore, document: DocumentInfo, writers: list[DocumentWriter]
) -> None:
    writer = new_writer(store, document, writers, flush_interval=0.01, max_retry_delay=0.05)
    updates = keystrokes("retry me")
    store.state.fail_writes = OSError("database is down")
    for update in updates[:4]:
        writer.enqueue(update)
    await eventually(lambda: writer.failures >= 3, what="three failed timed flushes")
    assert writer.dirty
    assert store.log(document.id) == []
    for update in updates[4:]:
        writer.enqueue(update)
    store.state.fail_writes = None
    await eventually(lambda: not writer.dirty, what="the retry after recovery")
    assert writer.failures == 0
    assert store.log(document.id) == updates
    assert writer.flushed_updates == len(updates)
    assert text_of(await store.load_document(document.id)) == "retry me"


async def test_close_cancels_the_timer_and_flushes(
    store: RecordingStore, document: DocumentInfo, writers: list[DocumentWriter]
) -> None:
    writer = new_writer(store, document, writers)
    updates = keystrokes("bye")
    for update in updates:
        writer.enqueue(update)
    await writer.close()
    assert store.log(document.id) == updates
    assert not writer.dirty


async def test_close_raises_when_the_final_write_fails(
    store: RecordingStore, document: DocumentInfo, writers: list[DocumentWriter]
) -> None:
    writer = new_writer(store, document, writers)
    writer.enqueue(keystrokes("x")[0])
    store.state.fail_writes = OSError("disk full")
    with pytest.raises(StoreError):
        await writer.close()
    assert writer.dirty
    store.state.fail_writes = None
    await writer.close()
    assert not writer.dirty
    assert len(store.log(document.id)) == 1


async def test_flush_compacts_once_the_log_reaches_the_threshold(
    store: RecordingStore, document: DocumentInfo, writers: list[DocumentWriter]
) -> None:
    writer = new_writer(store, document, writers, compact_threshold=4)
    updates = keystrokes("abcdefghij")
    for update in updates[:3]:
        writer.enqueue(update)
    await writer.flush()
    assert store.state.documents[document.id].snapshot is None
    writer.enqueue(updates[3])
    await writer.flush()
    stored = await store.load_document(document.id)
    assert stored.snapshot is not None
    assert stored.snapshot_version == 1
    assert stored.updates == []
    assert text_of(stored) == "abcd"
    for update in updates[4:]:
        writer.enqueue(update)
    await writer.flush()
    stored = await store.load_document(document.id)
    assert stored.snapshot_version == 2
    assert stored.updates == []
    assert text_of(stored) == "abcdefghij"


async def test_failed_compaction_keeps_the_log_and_is_tried_again(
    store: RecordingStore, document: DocumentInfo, writers: list[DocumentWriter]
) -> None:
    writer = new_writer(store, document, writers, compact_threshold=2)
    updates = keystrokes("abcd")
    store.fail_snapshots = OSError("snapshot write failed")
    for update in updates[:2]:
        writer.enqueue(update)
    await writer.flush()  # the append succeeded: the compaction failure does not raise
    assert not writer.dirty
    assert store.log(document.id) == updates[:2]
    assert store.state.documents[document.id].snapshot is None
    store.fail_snapshots = None
    writer.enqueue(updates[2])
    await writer.flush()
    stored = await store.load_document(document.id)
    assert stored.snapshot_version == 1
    assert stored.updates == []
    assert text_of(stored) == "abc"


async def test_concurrent_compactions_one_wins_and_nothing_is_lost(
    store: RecordingStore, document: DocumentInfo, writers: list[DocumentWriter]
) -> None:
    first = new_writer(store, document, writers)
    second = new_writer(store, document, writers)
    a_updates = keystrokes("aaaa", client_id=1)
    b_updates = keystrokes("bbbb", client_id=2)
    for a_update, b_update in zip(a_updates, b_updates, strict=True):
        first.enqueue(a_update)
        await first.flush()
        second.enqueue(b_update)
        await second.flush()
    # Both read the same version before either writes its snapshot.
    gate = store.load_gate = asyncio.Event()
    compactions = asyncio.gather(first.compact(), second.compact())
    await eventually(lambda: store.loads == 2, what="both compactions' reads")
    gate.set()
    await asyncio.wait_for(compactions, timeout())
    assert sorted(store.replace_results) == [False, True]
    stored = await store.load_document(document.id)
    assert stored.snapshot_version == 1
    assert stored.updates == []
    assert text_of(stored) == str(
        SyncDocument(None, a_updates + b_updates).ydoc.get("content", type=Text)
    )
    assert sorted(text_of(stored)) == sorted("aaaabbbb")

    # The loser appends again later; nothing of it is lost either.
    second.enqueue(keystrokes("c", client_id=3)[0])
    await second.flush()
    assert sorted(text_of(await store.load_document(document.id))) == sorted("aaaabbbbc")


async def test_compaction_keeps_log_updates_that_wait_for_edits_not_stored_yet(
    store: RecordingStore, document: DocumentInfo, writers: list[DocumentWriter]
) -> None:
    # This process stores "b" and "c" before another process has stored the "a" they
    # build on: the snapshot cannot hold them yet, so they stay in the log.
    updates = keystrokes("abc")
    writer = new_writer(store, document, writers, compact_threshold=2)
    writer.enqueue(updates[1])
    writer.enqueue(updates[2])
    await writer.flush()  # reaches the threshold: compacts
    stored = await store.load_document(document.id)
    assert stored.snapshot_version == 1
    assert stored.updates == updates[1:]
    other = new_writer(store, document, writers, compact_threshold=2)
    other.enqueue(updates[0])
    await other.flush()
    await other.compact()
    stored = await store.load_document(document.id)
    assert text_of(stored) == "abc"
    assert stored.updates == []
