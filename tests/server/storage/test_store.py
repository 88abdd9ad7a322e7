"""SqlStore on SQLite and PostgreSQL: records, the update log, compaction and races."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from pycrdt import Doc, Map, Text
from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from crdt.document import SyncDocument, compact
from rooms.live.writer import DocumentWriter, WriterSettings
from rooms.ports import StoreError
from rooms.records import DocumentInfo, StoredDocument
from rooms.roles import Role
from server.storage.migrate import alembic_config, upgrade
from server.storage.participants import SqlParticipantStore
from server.storage.store import SqlStore, create_engine
from server.storage.tables import ParticipantRow, UpdateRow, utcnow
from tests.server.storage.conftest import open_store, opened_store
from tests.support.encoding import keystrokes, text_of
from tests.support.timing import timeout

# Writers in these tests never flush on their own: the tests call flush() themselves.
NEVER = 3600.0


# The newest migration: the schema every upgrade must end at.
HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[SqlStore]:
    async with opened_store(database_url) as sql_store:
        yield sql_store


_slugs = itertools.count(1)


async def new_document(store: SqlStore, name: str = "notes") -> DocumentInfo:
    room = await store.create_room(f"room-{next(_slugs)}", "A room", {})
    return await store.create_document(room.id, name)


def map_entry(key: str, value: str, client_id: int) -> bytes:
    """An update from an independent client that sets one key of the map ``entries``."""
    doc: Doc[Any] = Doc(client_id=client_id)
    doc.get("entries", type=Map)[key] = value
    return doc.get_update()


def entries_of(stored: StoredDocument) -> dict[str, object]:
    entries = SyncDocument(stored.snapshot, stored.updates).ydoc.get("entries", type=Map)
    return dict(entries.items())


async def log_ids(engine: AsyncEngine, document_id: int) -> list[int]:
    async with engine.connect() as connection:
        rows = await connection.scalars(
            select(UpdateRow.id).where(UpdateRow.document_id == document_id).order_by(UpdateRow.id)
        )
        return list(rows)


# --- records -------------------------------------------------------------------------------


async def test_rooms_and_invites_round_trip(store: SqlStore) -> None:
    codes = {Role.FACILITATOR: "fac-code", Role.MEMBER: "mem-code", Role.OBSERVER: "obs-code"}
    room = await store.create_room("algebra-1", "Algebra, week 1", codes)
    assert (room.slug, room.title) == ("algebra-1", "Algebra, week 1")
    assert room.id > 0

    found = await store.get_room("algebra-1")
    assert found is not None
    assert (found.id, found.slug, found.title) == (room.id, room.slug, room.title)
    assert await store.get_room("no-such-room") is None

    for role, code in codes.items():
        invite = await store.get_invite(code)
        assert invite is not None
        assert (invite.code, invite.role, invite.revoked) == (code, role, False)
        assert invite.room.id == room.id
        assert invite.room.slug == "algebra-1"

    listed = await store.list_invites(room.id)
    assert sorted((i.code, i.role) for i in listed) == sorted((c, r) for r, c in codes.items())
    assert all(i.room.id == room.id for i in listed)

    other = await store.create_room("algebra-2", "Algebra, week 2", {Role.MEMBER: "other-code"})
    assert [i.code for i in await store.list_invites(other.id)] == ["other-code"]
    assert await store.list_invites(other.id + 1000) == []


async def test_get_invite_of_unknown_code_is_none(store: SqlStore) -> None:
    await store.create_room("room", "Room", {Role.MEMBER: "known"})
    assert await store.get_invite("unknown") is None
    assert await store.get_invite("") is None
    assert await store.get_invite("KNOWN") is None


async def test_participants_are_stored(store: SqlStore) -> None:
    room = await store.create_room("room", "Room", {})
    participants = SqlParticipantStore(store.engine)
    ann = await participants.add_participant(room.id, "Ann", Role.FACILITATOR)
    bo = await participants.add_participant(room.id, "Bo", Role.OBSERVER)
    assert ann.id != bo.id
    assert (ann.room_id, ann.name, ann.role) == (room.id, "Ann", Role.FACILITATOR)
    assert (bo.room_id, bo.name, bo.role) == (room.id, "Bo", Role.OBSERVER)
    async with store.engine.connect() as connection:
        rows = (
            await connection.execute(
                select(
                    ParticipantRow.id,
                    ParticipantRow.room_id,
                    ParticipantRow.name,
                    ParticipantRow.role,
                ).order_by(ParticipantRow.name)
            )
        ).all()
    assert [tuple(r) for r in rows] == [
        (ann.id, room.id, "Ann", "facilitator"),
        (bo.id, room.id, "Bo", "observer"),
    ]


async def test_documents_round_trip(store: SqlStore) -> None:
    room = await store.create_room("room", "Room", {})
    other_room = await store.create_room("other", "Other", {})
    assert await store.list_documents(room.id) == []
    assert await store.get_document(room.id, "notes") is None

    notes = await store.create_document(room.id, "notes")
    plan = await store.create_document(room.id, "plan")
    elsewhere = await store.create_document(other_room.id, "notes")
    assert len({notes.id, plan.id, elsewhere.id}) == 3
    assert (notes.room_id, notes.name) == (room.id, "notes")

    found = await store.get_document(room.id, "notes")
    assert found is not None
    assert (found.id, found.room_id, found.name) == (notes.id, room.id, "notes")
    assert [(d.id, d.name) for d in await store.list_documents(room.id)] == [
        (notes.id, "notes"),
        (plan.id, "plan"),
    ]
    assert [d.id for d in await store.list_documents(other_room.id)] == [elsewhere.id]

    assert await store.load_document(notes.id) == StoredDocument(None, 0, [], ())
    with pytest.raises(StoreError):
        await store.load_document(elsewhere.id + 1000)


async def test_read_back_timestamps_are_timezone_aware(store: SqlStore) -> None:
    room = await store.create_room("room", "Room", {})
    document = await store.create_document(room.id, "notes")
    assert room.created_at.tzinfo is not None
    assert document.created_at.tzinfo is not None
    found_room = await store.get_room("room")
    found_document = await store.get_document(room.id, "notes")
    listed = await store.list_documents(room.id)
    assert found_room is not None
    assert found_document is not None
    for read_back in (found_room.created_at, found_document.created_at, listed[0].created_at):
        assert read_back.utcoffset() is not None
        assert read_back.astimezone(UTC).utcoffset() == UTC.utcoffset(None)
    assert found_room == room
    assert found_document == document


async def test_create_document_is_idempotent(store: SqlStore) -> None:
    room = await store.create_room("room", "Room", {})
    first = await store.create_document(room.id, "notes")
    again = await store.create_document(room.id, "notes")
    assert again.id == first.id
    assert len(await store.list_documents(room.id)) == 1


async def test_concurrent_create_document_returns_one_document(store: SqlStore) -> None:
    room = await store.create_room("room", "Room", {})
    created = await asyncio.gather(*(store.create_document(room.id, "notes") for _ in range(4)))
    assert len({d.id for d in created}) == 1
    assert [d.id for d in await store.list_documents(room.id)] == [created[0].id]


# --- the update log -----------------------------------------------------------------------


async def test_append_and_load_keep_order(store: SqlStore) -> None:
    document = await new_document(store)
    updates = keystrokes("hello, world")
    await store.append_updates(document.id, updates[:5])
    await store.append_updates(document.id, [])
    await store.append_updates(document.id, updates[5:])
    stored = await store.load_document(document.id)
    assert stored.updates == updates
    assert stored.snapshot is None
    assert stored.snapshot_version == 0
    assert list(stored.update_ids) == await log_ids(store.engine, document.id)
    assert text_of(stored) == "hello, world"


async def test_logs_of_documents_are_separate(store: SqlStore) -> None:
    first = await new_document(store, "first")
    second = await new_document(store, "second")
    await store.append_updates(first.id, [b"one", b"two"])
    await store.append_updates(second.id, [b"three"])
    assert (await store.load_document(first.id)).updates == [b"one", b"two"]
    assert (await store.load_document(second.id)).updates == [b"three"]
    assert await store.storage_stats(first.id) == (2, 6, 0)
    assert await store.storage_stats(second.id) == (1, 5, 0)


async def test_replace_snapshot_deletes_only_rows_it_folded_in(store: SqlStore) -> None:
    document = await new_document(store)
    updates = keystrokes("abcdef")
    await store.append_updates(document.id, updates[:3])
    stored = await store.load_document(document.id)
    # Appended after the load: not in the snapshot, so they must survive.
    await store.append_updates(document.id, updates[3:])
    snapshot = compact(stored.snapshot, stored.updates)
    assert await store.replace_snapshot(document.id, 0, snapshot, stored.update_ids)

    after = await store.load_document(document.id)
    assert after.snapshot == snapshot
    assert after.snapshot_version == 1
    assert after.updates == updates[3:]
    assert text_of(after) == "abcdef"
    assert await store.storage_stats(document.id) == (
        3,
        sum(len(u) for u in updates[3:]),
        len(snapshot),
    )


async def test_replace_snapshot_with_stale_version_changes_nothing(store: SqlStore) -> None:
    document = await new_document(store)
    updates = keystrokes("abcd")
    await store.append_updates(document.id, updates[:2])
    first = await store.load_document(document.id)
    first_snapshot = compact(None, first.updates)
    assert await store.replace_snapshot(document.id, 0, first_snapshot, first.update_ids)
    await store.append_updates(document.id, updates[2:])
    before = await store.load_document(document.id)
    ids_before = await log_ids(store.engine, document.id)

    # Version 0 is stale now: another compaction already moved it to 1.
    assert not await store.replace_snapshot(document.id, 0, b"stale snapshot", before.update_ids)
    assert not await store.replace_snapshot(document.id, 7, b"future snapshot", before.update_ids)
    after = await store.load_document(document.id)
    assert after == before
    assert after.snapshot == first_snapshot
    assert after.snapshot_version == 1
    assert await log_ids(store.engine, document.id) == ids_before
    assert text_of(after) == "abcd"


async def test_upgrade_twice_is_a_no_op(store: SqlStore) -> None:
    document = await new_document(store)
    await store.append_updates(document.id, [b"kept"])
    await upgrade(store.engine)
    await upgrade(store.engine)
    async with store.engine.connect() as connection:
        versions = (await connection.execute(text("SELECT version_num FROM alembic_version"))).all()
    assert [tuple(v) for v in versions] == [(HEAD,)]
    assert (await store.load_document(document.id)).updates == [b"kept"]
    assert await store.get_document(document.room_id, "notes") is not None


async def test_concurrent_upgrades_on_postgres_migrate_once(postgres_url: str) -> None:
    engines = [create_engine(postgres_url) for _ in range(3)]
    try:
        await asyncio.gather(*(upgrade(engine) for engine in engines))
        async with engines[0].connect() as connection:
            versions = (
                await connection.execute(text("SELECT version_num FROM alembic_version"))
            ).all()
        assert [tuple(v) for v in versions] == [(HEAD,)]
        store = SqlStore(engines[1])
        document = await new_document(store)
        assert await store.load_document(document.id) == StoredDocument(None, 0, [], ())
    finally:
        for engine in engines:
            await engine.dispose()


async def test_get_or_create_setting_keeps_the_first_value(store: SqlStore) -> None:
    made: list[str] = []

    def make() -> str:
        made.append(f"value-{len(made)}")
        return made[-1]

    first = await store.get_or_create_setting("secret", make)
    second = await store.get_or_create_setting("secret", make)
    assert first == second == "value-0"
    assert made == ["value-0"]
    other = await store.get_or_create_setting("other", make)
    assert other == "value-1"


async def test_concurrent_get_or_create_setting_agrees(store: SqlStore) -> None:
    values = iter(f"candidate-{i}" for i in range(100))
    results = await asyncio.gather(
        *(store.get_or_create_setting("secret", lambda: next(values)) for _ in range(5))
    )
    assert len(set(results)) == 1
    assert results[0].startswith("candidate-")
    assert await store.get_or_create_setting("secret", lambda: "late") == results[0]


# --- compaction through the writer ---------------------------------------------------------

KEYSTROKES = 10_000
FLUSH_EVERY = 50
COMPACT_THRESHOLD = 200


@pytest.mark.timeout(300)
async def test_ten_thousand_keystrokes_stay_compact(store: SqlStore) -> None:
    document = await new_document(store)
    content = "".join("abcdefghijklmnopqrstuvwxyz .,\n"[i % 30] for i in range(KEYSTROKES))
    updates = keystrokes(content)
    writer = DocumentWriter(
        store,
        document.id,
        "room/notes",
        WriterSettings(flush_interval=NEVER, compact_threshold=COMPACT_THRESHOLD),
    )
    most_rows = 0
    try:
        for count, update in enumerate(updates, 1):
            writer.enqueue(update)
            if count % FLUSH_EVERY == 0:
                await writer.flush()
                rows, _, _ = await store.storage_stats(document.id)
                most_rows = max(most_rows, rows)
            if count == KEYSTROKES - FLUSH_EVERY:
                # A cold load between compactions: the snapshot plus a tail of the log.
                midway = await store.load_document(document.id)
                assert midway.snapshot is not None
                assert 0 < len(midway.updates) < COMPACT_THRESHOLD
                assert text_of(midway) == content[:count]
        assert not writer.dirty
        assert writer.flushed_updates == KEYSTROKES
    finally:
        await writer.close()

    rows, log_bytes, snapshot_bytes = await store.storage_stats(document.id)
    encoded = len(SyncDocument(None, updates).encode_state())
    print(
        f"\n{store.engine.dialect.name}: {rows} log rows ({most_rows} at most), "
        f"{log_bytes} log bytes, {snapshot_bytes} snapshot bytes, encoded state {encoded} bytes, "
        f"raw updates {sum(len(u) for u in updates)} bytes"
    )
    assert most_rows < COMPACT_THRESHOLD + FLUSH_EVERY
    assert rows < COMPACT_THRESHOLD + FLUSH_EVERY
    assert snapshot_bytes > 0
    assert log_bytes + snapshot_bytes <= 4 * encoded

    cold = await store.load_document(document.id)
    assert cold.snapshot is not None
    assert len(cold.snapshot) == snapshot_bytes
    assert len(cold.updates) == rows < COMPACT_THRESHOLD + FLUSH_EVERY
    assert text_of(cold) == content


async def _interleave_two_writers(first: SqlStore, second: SqlStore, document_id: int) -> None:
    """Two writers of one document, as two processes would run them, both compacting."""
    a_text = "".join("abcdefghijklmnopqrstuvwxyz"[i % 26] for i in range(300))
    b_text = "".join("0123456789"[i % 10] for i in range(300))
    a_updates = keystrokes(a_text, client_id=1111)
    b_updates = keystrokes(b_text, client_id=2222)
    settings = WriterSettings(flush_interval=NEVER, compact_threshold=20)
    writer_a = DocumentWriter(first, document_id, "a/notes", settings)
    writer_b = DocumentWriter(second, document_id, "b/notes", settings)
    try:
        for round_number, start in enumerate(range(0, 300, 10)):
            for a_update, b_update in zip(
                a_updates[start : start + 10], b_updates[start : start + 10], strict=True
            ):
                writer_a.enqueue(a_update)
                writer_b.enqueue(b_update)
            # Flushes run together; each compacts once its own count reaches the threshold.
            await asyncio.gather(writer_a.flush(), writer_b.flush())
            if round_number % 3 == 0:
                await asyncio.gather(writer_a.compact(), writer_b.compact())
        await asyncio.gather(writer_a.compact(), writer_b.compact())
    finally:
        await asyncio.gather(writer_a.close(), writer_b.close())

    stored = await first.load_document(document_id)
    assert stored.snapshot is not None
    merged = text_of(stored)
    assert len(merged) == 600
    assert "".join(c for c in merged if c.isalpha()) == a_text
    assert "".join(c for c in merged if c.isdigit()) == b_text
    assert merged == str(SyncDocument(None, a_updates + b_updates).ydoc.get("content", type=Text))
    assert text_of(await second.load_document(document_id)) == merged


async def test_two_writers_compacting_concurrently_lose_nothing(store: SqlStore) -> None:
    document = await new_document(store)
    await _interleave_two_writers(store, store, document.id)


async def test_two_stores_on_postgres_compacting_concurrently_lose_nothing(
    postgres_url: str,
) -> None:
    first = await open_store(postgres_url)
    second = await open_store(postgres_url)
    try:
        document = await new_document(first)
        await _interleave_two_writers(first, second, document.id)
    finally:
        await first.close()
        await second.close()


class HookedStore(SqlStore):
    """A SqlStore that runs ``after_load`` between a compaction's read and its write."""

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine)
        self.after_load: Callable[[], Awaitable[None]] | None = None

    async def load_document(self, document_id: int) -> StoredDocument:
        stored = await super().load_document(document_id)
        hook, self.after_load = self.after_load, None
        if hook is not None:
            await hook()
        return stored


async def test_compaction_keeps_an_append_committed_out_of_id_order(postgres_url: str) -> None:
    store = HookedStore(create_engine(postgres_url))
    await upgrade(store.engine)
    other_process = create_engine(postgres_url)
    try:
        document = await new_document(store)
        await store.append_updates(document.id, [map_entry("first", "1", client_id=1)])
        async with other_process.connect() as connection:
            # Another process's append_updates: its INSERT has drawn a row id, not committed.
            in_flight = await connection.begin()
            await connection.execute(
                insert(UpdateRow).values(
                    document_id=document.id,
                    data=map_entry("second", "2", client_id=2),
                    created_at=utcnow(),
                )
            )
            # This process appends and commits a row with a higher id.
            await store.append_updates(document.id, [map_entry("third", "3", client_id=3)])

            async def commit_other() -> None:
                await in_flight.commit()

            store.after_load = commit_other
            writer = DocumentWriter(
                store, document.id, "room/notes", WriterSettings(flush_interval=NEVER)
            )
            await asyncio.wait_for(writer.compact(), timeout())

        stored = await store.load_document(document.id)
        assert stored.snapshot_version == 1
        assert entries_of(stored) == {"first": "1", "second": "2", "third": "3"}
    finally:
        await store.close()
        await other_process.dispose()


async def test_storage_stats_count_rows_and_bytes(store: SqlStore) -> None:
    document = await new_document(store)
    assert await store.storage_stats(document.id) == (0, 0, 0)
    await store.append_updates(document.id, [b"a" * 10, b"b" * 32])
    assert await store.storage_stats(document.id) == (2, 42, 0)
    stored = await store.load_document(document.id)
    assert await store.replace_snapshot(document.id, 0, b"s" * 7, stored.update_ids)
    assert await store.storage_stats(document.id) == (0, 0, 7)
    async with store.engine.connect() as connection:
        total = await connection.scalar(select(func.count()).select_from(UpdateRow))
    assert total == 0
