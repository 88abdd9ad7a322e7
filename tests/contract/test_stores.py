"""The storage ports' contract: the same assertions on every backend.

Each test gets the four stores of one backend, sharing its state as the application
shares one database: ``memory`` (rooms/memory.py), ``sqlite`` and ``postgres`` (the SQL
adapters in server/storage on one engine). A behaviour asserted here is what the domain
may rely on, whichever backend runs it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from rooms.control_records import RoomControls
from rooms.memory import (
    MemoryControlStore,
    MemoryParticipantStore,
    MemoryState,
    MemoryStore,
    MemoryThreadStore,
)
from rooms.ports import (
    ControlStore,
    DocumentLimitReached,
    ParticipantLimitReached,
    ParticipantStore,
    Store,
    StoreError,
    ThreadStore,
)
from rooms.records import DocumentInfo, Invite, Participant, Room, RoomEvent, StoredDocument
from rooms.roles import Role
from rooms.threads import (
    Anchor,
    Author,
    CommentState,
    NewThread,
    Reaction,
    RoomSettings,
    ThreadKind,
    ThreadQuery,
    ThreadStatus,
)
from server.storage.controls import SqlControlStore
from server.storage.migrate import upgrade
from server.storage.participants import SqlParticipantStore
from server.storage.store import SqlStore, create_engine
from server.storage.threads import SqlThreadStore
from tests.support.services import fresh_postgres_database
from tests.support.timing import timeout


@dataclass
class Stores:
    store: Store
    participants: ParticipantStore
    threads: ThreadStore
    controls: ControlStore


@asynccontextmanager
async def sql_stores(url: str) -> AsyncIterator[Stores]:
    """The four SQL adapters on one engine, as ``server.app.open_state`` builds them."""
    engine = create_engine(url)
    await upgrade(engine)
    store = SqlStore(engine)
    try:
        yield Stores(
            store,
            SqlParticipantStore(engine),
            SqlThreadStore(engine),
            SqlControlStore(engine),
        )
    finally:
        await store.close()


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def stores(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Stores]:
    if request.param == "memory":
        state = MemoryState()
        yield Stores(
            MemoryStore(state),
            MemoryParticipantStore(state),
            MemoryThreadStore(state),
            MemoryControlStore(state),
        )
    elif request.param == "sqlite":
        async with sql_stores(f"sqlite+aiosqlite:///{tmp_path / 'contract.db'}") as sql:
            yield sql
    else:
        # Skips with the reason when PostgreSQL is unreachable (fails in CI).
        async with fresh_postgres_database() as url, sql_stores(url) as sql:
            yield sql


# --- helpers -----------------------------------------------------------------------------

CODES = {Role.FACILITATOR: "fac-code", Role.MEMBER: "mem-code", Role.OBSERVER: "obs-code"}


def recent(moment: datetime, since: datetime) -> bool:
    """``moment`` is timezone-aware UTC and was taken between ``since`` and now."""
    return moment.utcoffset() == timedelta(0) and since <= moment <= datetime.now(UTC)


async def tick() -> None:
    """Let the clock move, so that timestamps taken before and after differ."""
    await asyncio.sleep(0.002)


@dataclass
class Cast:
    room: Room
    document: DocumentInfo
    ann: Participant
    bob: Participant
    cat: Participant

    def author(self, participant: Participant) -> Author:
        return Author.of(participant)


async def cast(stores: Stores, slug: str = "room") -> Cast:
    store = stores.store
    room = await store.create_room(slug, "Room", {})
    document = await store.create_document(room.id, "notes")
    ann = await stores.participants.add_participant(room.id, "Ann", Role.MEMBER)
    bob = await stores.participants.add_participant(room.id, "Bob", Role.MEMBER)
    cat = await stores.participants.add_participant(room.id, "Cat", Role.FACILITATOR)
    return Cast(room, document, ann, bob, cat)


def draft(
    room_id: int,
    author: Participant,
    body: str,
    *,
    kind: ThreadKind = ThreadKind.COMMENT,
    document_id: int | None = None,
    mentions: tuple[str, ...] = (),
    anchor: Anchor | None = None,
    anonymous: bool = False,
    post_first: bool = False,
) -> NewThread:
    return NewThread(
        room_id, document_id, kind, author.id, anonymous, anchor, post_first, body, mentions
    )


# --- rooms and invites ---------------------------------------------------------------------


async def test_a_room_is_found_by_its_slug(stores: Stores) -> None:
    before = datetime.now(UTC)
    room = await stores.store.create_room("algebra-1", "Algebra, week 1", {})
    assert (room.slug, room.title) == ("algebra-1", "Algebra, week 1")
    assert recent(room.created_at, before)
    assert await stores.store.get_room("algebra-1") == room
    assert await stores.store.get_room("algebra-2") is None
    other = await stores.store.create_room("algebra-2", "Algebra, week 2", {})
    assert other.id != room.id
    assert await stores.store.get_room("algebra-2") == other


async def test_invites_name_their_room_and_role(stores: Stores) -> None:
    store = stores.store
    room = await store.create_room("room", "Room", CODES)
    other = await store.create_room("other", "Other", {Role.MEMBER: "other-code"})
    for role, code in CODES.items():
        assert await store.get_invite(code) == Invite(code, room, role)
    assert await store.get_invite("unknown") is None
    assert await store.get_invite("MEM-CODE") is None
    listed = await store.list_invites(room.id)
    assert sorted(listed, key=lambda i: i.code) == sorted(
        (Invite(code, room, role) for role, code in CODES.items()), key=lambda i: i.code
    )
    assert await store.list_invites(other.id) == [Invite("other-code", other, Role.MEMBER)]
    assert await store.list_invites(other.id + 1000) == []


async def test_rotating_an_invite_revokes_the_roles_codes(stores: Stores) -> None:
    store, controls = stores.store, stores.controls
    room = await store.create_room("room", "Room", CODES)
    other = await store.create_room("other", "Other", {Role.MEMBER: "other-code"})
    rotated = await controls.rotate_invite(room.id, Role.MEMBER, "new-mem-code")
    assert rotated == Invite("new-mem-code", room, Role.MEMBER)
    assert await store.get_invite("mem-code") == Invite("mem-code", room, Role.MEMBER, True)
    assert await store.get_invite("new-mem-code") == rotated
    listed = await store.list_invites(room.id)
    assert {i.code for i in listed} == {"fac-code", "obs-code", "new-mem-code"}
    assert listed[-1] == rotated, "oldest first: the new code comes last"
    assert all(not i.revoked for i in listed)
    again = await controls.rotate_invite(room.id, Role.MEMBER, "newer-mem-code")
    assert await store.get_invite("new-mem-code") == replace(rotated, revoked=True)
    assert [i.code for i in await store.list_invites(room.id)][-1] == again.code
    assert await store.list_invites(other.id) == [Invite("other-code", other, Role.MEMBER)]


# --- participants --------------------------------------------------------------------------


async def test_a_participant_joins_and_is_found(stores: Stores) -> None:
    room = await stores.store.create_room("room", "Room", {})
    before = datetime.now(UTC)
    ann = await stores.participants.add_participant(room.id, "Ann", Role.OBSERVER)
    assert (ann.room_id, ann.name, ann.role, ann.removed) == (room.id, "Ann", Role.OBSERVER, False)
    assert recent(ann.created_at, before)
    bob = await stores.participants.add_participant(room.id, "Ann", Role.MEMBER)
    assert bob.id != ann.id, "names need not be unique, ids are"
    assert await stores.participants.get_participant(ann.id) == ann
    assert await stores.participants.get_participant("nobody") is None
    assert await stores.participants.standing(ann.id) is not None
    assert await stores.participants.standing("nobody") is None


async def test_removal_is_seen_by_lookup_and_listing(stores: Stores) -> None:
    c = await cast(stores)
    await stores.participants.remove_participant(c.bob.id)
    assert await stores.participants.standing(c.bob.id) is None
    assert await stores.participants.standing(c.ann.id) is not None
    assert await stores.participants.get_participant(c.bob.id) == replace(c.bob, removed=True)
    assert await stores.participants.list_participants(c.room.id) == sorted(
        [c.ann, c.cat], key=lambda p: (p.created_at, p.id)
    )
    await stores.participants.remove_participant(c.bob.id)  # again: nothing changes
    await stores.participants.remove_participant("nobody")
    assert await stores.participants.get_participant(c.bob.id) == replace(c.bob, removed=True)


async def test_participants_are_listed_in_order_of_joining_and_paged(stores: Stores) -> None:
    store, participants = stores.store, stores.participants
    room = await store.create_room("room", "Room", {})
    other = await store.create_room("other", "Other", {})
    joined = []
    for i in range(7):
        joined.append(await participants.add_participant(room.id, f"P{i}", Role.MEMBER))
        await participants.add_participant(other.id, f"O{i}", Role.MEMBER)
    assert [p.created_at for p in joined] == sorted(p.created_at for p in joined)
    # "Order of joining" is (created_at, id): ids break a tie of timestamps.
    in_order = sorted(joined, key=lambda p: (p.created_at, p.id))
    assert await participants.list_participants(room.id) == in_order
    assert await participants.list_participants(room.id, limit=3) == in_order[:3]
    assert (
        await participants.list_participants(room.id, limit=3, after=in_order[2]) == in_order[3:6]
    )
    assert await participants.list_participants(room.id, after=in_order[-1]) == []
    assert await participants.list_participants(room.id + 1000) == []

    # A page starts right after the one it follows, even once that one was removed.
    await participants.remove_participant(in_order[2].id)
    await participants.remove_participant(in_order[4].id)
    page = await participants.list_participants(room.id, limit=2, after=in_order[2])
    assert page == [in_order[3], in_order[5]]
    assert await participants.list_participants(room.id) == [
        p for i, p in enumerate(in_order) if i not in (2, 4)
    ]


async def test_the_participant_limit_counts_members_and_observers_not_removed(
    stores: Stores,
) -> None:
    store = stores.store
    room = await store.create_room("room", "Room", {})
    other = await store.create_room("other", "Other", {})
    await stores.participants.add_participant(room.id, "Fay", Role.FACILITATOR, limit=2)
    ann = await stores.participants.add_participant(room.id, "Ann", Role.MEMBER, limit=2)
    await stores.participants.add_participant(room.id, "Obi", Role.OBSERVER, limit=2)
    with pytest.raises(ParticipantLimitReached):
        await stores.participants.add_participant(room.id, "Bob", Role.MEMBER, limit=2)
    # The limit looks at the room, not at who joins: the caller passes 0 to let one in.
    with pytest.raises(ParticipantLimitReached):
        await stores.participants.add_participant(room.id, "Fred", Role.FACILITATOR, limit=2)
    fred = await stores.participants.add_participant(room.id, "Fred", Role.FACILITATOR)
    bob = await stores.participants.add_participant(room.id, "Bob", Role.MEMBER, limit=0)
    assert await stores.participants.add_participant(other.id, "Oli", Role.MEMBER, limit=1)
    await stores.participants.remove_participant(ann.id)
    await stores.participants.remove_participant(bob.id)
    cy = await stores.participants.add_participant(room.id, "Cy", Role.MEMBER, limit=2)
    listed = await stores.participants.list_participants(room.id)
    assert {p.name for p in listed} == {"Fay", "Obi", "Fred", "Cy"}
    assert fred in listed
    assert cy in listed


async def test_concurrent_joins_cannot_pass_the_limit(stores: Stores) -> None:
    room = await stores.store.create_room("room", "Room", {})
    results = await asyncio.gather(
        *(stores.participants.add_participant(room.id, f"P{i}", Role.MEMBER, 3) for i in range(8)),
        return_exceptions=True,
    )
    joined = [r for r in results if isinstance(r, Participant)]
    assert len(joined) == 3
    assert all(isinstance(r, ParticipantLimitReached) for r in results if r not in joined)
    assert len(await stores.participants.list_participants(room.id)) == 3


async def test_joining_takes_the_colour_least_used_in_the_room(stores: Stores) -> None:
    """A participant's colour is an index into the palette of 12: the one least used among
    the room's people not removed, the lowest among equals. Other rooms do not count."""
    participants = stores.participants
    room = await stores.store.create_room("room", "Room", {})
    other = await stores.store.create_room("other", "Other", {})
    await participants.add_participant(other.id, "Oli", Role.MEMBER)
    roles = [Role.FACILITATOR, Role.MEMBER, Role.OBSERVER]
    # With a cap and without: the colour is chosen the same way.
    twelve = [
        await participants.add_participant(room.id, f"P{i}", roles[i % 3], limit=(i % 2) * 50)
        for i in range(12)
    ]
    assert [p.colour for p in twelve] == list(range(12))
    assert [(await participants.get_participant(p.id)) for p in twelve] == twelve
    # All twelve in use once: the 13th and 14th take the lowest again.
    thirteenth = await participants.add_participant(room.id, "P12", Role.MEMBER)
    fourteenth = await participants.add_participant(room.id, "P13", Role.MEMBER, limit=50)
    assert (thirteenth.colour, fourteenth.colour) == (0, 1)
    # Removal frees a colour: 5 is then the one least used.
    await participants.remove_participant(twelve[5].id)
    assert (await participants.add_participant(room.id, "P14", Role.MEMBER)).colour == 5
    listed = await participants.list_participants(room.id)
    assert sorted(p.colour for p in listed if p.colour is not None) == sorted([*range(12), 0, 1])


async def test_concurrent_joins_take_different_colours(stores: Stores) -> None:
    room = await stores.store.create_room("room", "Room", {})
    joined = await asyncio.gather(
        *(stores.participants.add_participant(room.id, f"P{i}", Role.MEMBER) for i in range(8))
    )
    assert sorted(p.colour for p in joined if p.colour is not None) == list(range(8))


# --- documents -----------------------------------------------------------------------------


async def test_documents_are_created_once_and_listed_in_order(stores: Stores) -> None:
    store = stores.store
    room = await store.create_room("room", "Room", {})
    other = await store.create_room("other", "Other", {})
    assert await store.list_documents(room.id) == []
    before = datetime.now(UTC)
    notes = await store.create_document(room.id, "notes")
    assert notes == DocumentInfo(notes.id, room.id, "notes", notes.created_at)
    assert recent(notes.created_at, before)
    plan = await store.create_document(room.id, "plan")
    elsewhere = await store.create_document(other.id, "notes")
    assert len({notes.id, plan.id, elsewhere.id}) == 3
    assert await store.create_document(room.id, "notes") == notes
    assert await store.list_documents(room.id) == [notes, plan]
    assert await store.list_documents(other.id) == [elsewhere]
    assert await store.get_document(room.id, "notes") == notes
    assert await store.get_document(other.id, "notes") == elsewhere
    assert await store.get_document(room.id, "Notes") is None
    assert await stores.controls.document_by_id(plan.id) == plan
    assert await stores.controls.document_by_id(plan.id + 1000) is None


async def test_the_document_limit_is_per_room(stores: Stores) -> None:
    store = stores.store
    room = await store.create_room("room", "Room", {})
    other = await store.create_room("other", "Other", {})
    notes = await store.create_document(room.id, "notes", limit=2)
    assert await store.create_document(room.id, "notes", limit=2) == notes
    await store.create_document(room.id, "plan", limit=2)
    with pytest.raises(DocumentLimitReached):
        await store.create_document(room.id, "extra", limit=2)
    # A full room refuses even a name it holds (the SQL adapters count before they look).
    with pytest.raises(DocumentLimitReached):
        await store.create_document(room.id, "notes", limit=2)
    assert await store.create_document(other.id, "notes", limit=1)
    extra = await store.create_document(room.id, "extra", limit=3)
    assert [d.name for d in await store.list_documents(room.id)] == ["notes", "plan", "extra"]
    assert await store.get_document(room.id, "extra") == extra


async def test_concurrent_creations_cannot_pass_the_limit(stores: Stores) -> None:
    room = await stores.store.create_room("room", "Room", {})
    results = await asyncio.gather(
        *(stores.store.create_document(room.id, f"doc-{i}", 3) for i in range(8)),
        return_exceptions=True,
    )
    created = [r for r in results if isinstance(r, DocumentInfo)]
    assert len(created) == 3
    assert all(isinstance(r, DocumentLimitReached) for r in results if r not in created)
    assert sorted(await stores.store.list_documents(room.id), key=lambda d: d.id) == sorted(
        created, key=lambda d: d.id
    )


async def test_lock_description_and_mentor_of_a_document(stores: Stores) -> None:
    c = await cast(stores)
    controls, store = stores.controls, stores.store
    plan = await store.create_document(c.room.id, "plan")
    await controls.set_document_locked(c.document.id, True)
    await controls.describe_document(c.document.id, "action-plan", c.cat.id)
    await controls.set_document_mentor(c.document.id, c.ann.id)
    changed = replace(
        c.document, locked=True, template="action-plan", created_by=c.cat.id, mentor_id=c.ann.id
    )
    assert await controls.document_by_id(c.document.id) == changed
    assert await store.get_document(c.room.id, "notes") == changed
    assert await store.list_documents(c.room.id) == [changed, plan]
    await controls.set_document_locked(c.document.id, False)
    await controls.describe_document(c.document.id, None, None)
    await controls.set_document_mentor(c.document.id, None)
    assert await controls.document_by_id(c.document.id) == c.document
    assert await controls.document_by_id(plan.id) == plan
    # Unknown documents: nothing to change, nothing raised.
    await controls.set_document_locked(plan.id + 1000, True)
    await controls.describe_document(plan.id + 1000, "x", None)
    await controls.set_document_mentor(plan.id + 1000, c.ann.id)


async def test_a_lock_remembers_who_locked_it_until_unlocked(stores: Stores) -> None:
    c = await cast(stores)
    controls, store = stores.controls, stores.store
    await controls.set_document_locked(c.document.id, True, "Ann Lee")
    locked = replace(c.document, locked=True, locked_by="Ann Lee")
    assert await controls.document_by_id(c.document.id) == locked
    assert await store.get_document(c.room.id, "notes") == locked
    assert await store.list_documents(c.room.id) == [locked]
    # Locked again by someone else: the newest name.
    await controls.set_document_locked(c.document.id, True, "Bob")
    assert (await controls.document_by_id(c.document.id)) == replace(locked, locked_by="Bob")
    # Unlocking forgets the name, whatever is passed.
    await controls.set_document_locked(c.document.id, False, "Bob")
    assert await controls.document_by_id(c.document.id) == c.document
    assert (await store.get_document(c.room.id, "notes")) == c.document


# --- the update log ------------------------------------------------------------------------


async def test_the_update_log_keeps_order_and_compacts_what_was_folded(stores: Stores) -> None:
    store = stores.store
    room = await store.create_room("room", "Room", {})
    notes = await store.create_document(room.id, "notes")
    plan = await store.create_document(room.id, "plan")
    assert await store.load_document(notes.id) == StoredDocument(None, 0, [], ())
    await store.append_updates(notes.id, [b"a", b"b"])
    await store.append_updates(plan.id, [b"x"])
    await store.append_updates(notes.id, [b"c"])
    await store.append_updates(notes.id, [])
    loaded = await store.load_document(notes.id)
    assert (loaded.snapshot, loaded.snapshot_version, loaded.updates) == (
        None,
        0,
        [b"a", b"b", b"c"],
    )
    assert len(set(loaded.update_ids)) == 3
    assert list(loaded.update_ids) == sorted(loaded.update_ids)

    folded = loaded.update_ids[:2]
    assert await store.replace_snapshot(notes.id, 0, b"ab", folded)
    after = await store.load_document(notes.id)
    assert after == StoredDocument(b"ab", 1, [b"c"], loaded.update_ids[2:])
    # A compaction that read an older version gives up and changes nothing.
    assert not await store.replace_snapshot(notes.id, 0, b"stale", loaded.update_ids)
    assert await store.load_document(notes.id) == after
    assert not await store.replace_snapshot(plan.id + 1000, 0, b"x", [])
    assert (await store.load_document(plan.id)).updates == [b"x"]

    await store.append_updates(notes.id, [b"d"])
    latest = await store.load_document(notes.id)
    assert latest.updates == [b"c", b"d"]
    assert latest.update_ids[0] == loaded.update_ids[2]
    assert latest.update_ids[1] > latest.update_ids[0]
    assert await store.replace_snapshot(notes.id, 1, b"abcd", latest.update_ids)
    assert await store.load_document(notes.id) == StoredDocument(b"abcd", 2, [], ())


async def test_an_unknown_document_has_no_log(stores: Stores) -> None:
    with pytest.raises(StoreError):
        await stores.store.load_document(1000)
    with pytest.raises(StoreError):
        await stores.store.append_updates(1000, [b"a"])
    await stores.store.append_updates(1000, [])  # nothing to store, nothing checked


# --- client-id claims ----------------------------------------------------------------------


async def test_the_first_claim_of_a_client_id_wins(stores: Stores) -> None:
    c = await cast(stores)
    store = stores.store
    plan = await store.create_document(c.room.id, "plan")
    assert await store.claim_clients(c.document.id, c.ann.id, [1, 2]) == {1: c.ann.id, 2: c.ann.id}
    assert await store.claim_clients(c.document.id, c.bob.id, [2, 3]) == {2: c.ann.id, 3: c.bob.id}
    assert await store.claim_clients(c.document.id, c.bob.id, []) == {}
    # Another document: the same client id is free there.
    assert await store.claim_clients(plan.id, c.bob.id, [1]) == {1: c.bob.id}
    # Taken ids answer their owner, whoever asks.
    assert await store.claim_clients(c.document.id, c.cat.id, [3, 1]) == {3: c.bob.id, 1: c.ann.id}
    assert await store.document_authors(c.document.id) == {1: c.ann.id, 2: c.ann.id, 3: c.bob.id}
    assert await store.document_authors(plan.id) == {1: c.bob.id}
    assert await store.claim_clients(c.document.id, "nobody", [1]) == {1: c.ann.id}
    with pytest.raises(StoreError):
        await store.claim_clients(c.document.id, "nobody", [9])
    with pytest.raises(StoreError):
        await store.claim_clients(plan.id + 1000, c.ann.id, [9])
    assert await store.claim_clients(c.document.id, c.cat.id, [9]) == {9: c.cat.id}


# --- room events ---------------------------------------------------------------------------


async def test_room_events_are_numbered_per_room_without_gaps(stores: Stores) -> None:
    store = stores.store
    room = await store.create_room("room", "Room", {})
    other = await store.create_room("other", "Other", {})
    assert await store.last_event_seq(room.id) == 0
    assert await store.events_since(room.id, 0, 10) == []
    before = datetime.now(UTC)
    first = await store.append_event(room.id, "comment.created", {"thread": 1, "ids": [1, 2]})
    assert first == RoomEvent(
        room.id, 1, "comment.created", {"thread": 1, "ids": [1, 2]}, first.created_at
    )
    assert recent(first.created_at, before)
    elsewhere = await store.append_event(other.id, "x", {})
    assert elsewhere.seq == 1
    second = await store.append_event(room.id, "thread.locked", {"thread": 1})
    third = await store.append_event(room.id, "x", {"nested": {"a": None, "b": True}})
    assert (second.seq, third.seq) == (2, 3)
    assert await store.last_event_seq(room.id) == 3
    assert await store.last_event_seq(other.id) == 1
    assert await store.last_event_seq(other.id + 1000) == 0
    assert await store.events_since(room.id, 0, 10) == [first, second, third]
    assert await store.events_since(room.id, 1, 10) == [second, third]
    assert await store.events_since(room.id, 0, 2) == [first, second]
    assert await store.events_since(room.id, 1, 1) == [second]
    assert await store.events_since(room.id, 3, 10) == []
    assert await store.events_since(other.id, 0, 10) == [elsewhere]
    assert await store.events_since(other.id + 1000, 0, 10) == []


async def test_event_data_reads_back_as_json(stores: Stores) -> None:
    room = await stores.store.create_room("room", "Room", {})
    data: dict[Any, Any] = {"pair": (1, 2), 3: "three"}
    stored = await stores.store.append_event(room.id, "x", data)
    assert stored.data is data
    (loaded,) = await stores.store.events_since(room.id, 0, 10)
    assert loaded.data == {"pair": [1, 2], "3": "three"}
    assert loaded.created_at == stored.created_at


async def test_an_event_needs_its_room(stores: Stores) -> None:
    with pytest.raises(StoreError):
        await stores.store.append_event(1000, "x", {})
    assert await stores.store.last_event_seq(1000) == 0


# --- process runs --------------------------------------------------------------------------


async def test_process_runs_report_the_others_and_remove_the_dead(stores: Stores) -> None:
    store = stores.store
    assert await store.begin_run("a", sole=False, stale_after=60) == []
    assert await store.begin_run("c", sole=False, stale_after=60) == ["a"]
    assert await store.begin_run("b", sole=False, stale_after=60) == ["a", "c"]
    assert await store.end_run("c") is True
    assert await store.end_run("c") is False
    assert await store.end_run("never-began") is False
    # Sole: every other record is a dead process's; all are reported, then removed.
    assert await store.begin_run("d", sole=True, stale_after=60) == ["a", "b"]
    assert await store.begin_run("e", sole=False, stale_after=60) == ["d"]


async def test_runs_not_renewed_in_time_are_removed(stores: Stores) -> None:
    store = stores.store
    await store.begin_run("kept", sole=False, stale_after=60)
    await store.begin_run("stale", sole=False, stale_after=60)
    await store.renew_run("ghost")  # renewing what never began records nothing
    # Staleness is wall-clock time since the last renewal: some has to pass. "kept" is
    # renewed just before each check, well within the window even on a slow machine.
    window = timeout(0.5)
    await asyncio.sleep(window * 1.5)
    await store.renew_run("kept")
    assert await store.begin_run("new", sole=False, stale_after=window) == ["kept", "stale"]
    assert await store.begin_run("newer", sole=False, stale_after=window) == ["kept", "new"]


async def test_a_run_begins_once(stores: Stores) -> None:
    await stores.store.begin_run("a", sole=False, stale_after=60)
    await stores.store.begin_run("b", sole=False, stale_after=60)
    with pytest.raises(StoreError):
        await stores.store.begin_run("a", sole=True, stale_after=60)
    # Nothing changed: "b" is still recorded.
    assert await stores.store.begin_run("c", sole=False, stale_after=60) == ["a", "b"]


# --- threads and comments ------------------------------------------------------------------


async def test_a_thread_is_stored_with_its_opening_comment(stores: Stores) -> None:
    c = await cast(stores)
    threads = stores.threads
    anchor = Anchor(b"\x01\x02", b"\x03", "quoted text")
    before = datetime.now(UTC)
    thread_id = await threads.create_thread(
        draft(
            c.room.id,
            c.ann,
            "Why?",
            kind=ThreadKind.QUESTION,
            document_id=c.document.id,
            mentions=(c.cat.id, c.bob.id),
            anchor=anchor,
            anonymous=True,
            post_first=True,
        )
    )
    thread = await threads.load_thread(thread_id)
    assert thread is not None
    assert (thread.id, thread.room_id, thread.document) == (thread_id, c.room.id, "notes")
    assert (thread.kind, thread.author, thread.anonymous) == (
        ThreadKind.QUESTION,
        c.author(c.ann),
        True,
    )
    assert (thread.anchor, thread.status, thread.locked, thread.post_first) == (
        anchor,
        ThreadStatus.OPEN,
        False,
        True,
    )
    assert (thread.accepted_comment_id, thread.reply_count) == (None, 0)
    assert recent(thread.created_at, before)
    assert thread.last_activity_at == thread.created_at
    (opening,) = thread.comments
    assert thread.opening == opening
    assert (opening.thread_id, opening.author, opening.body) == (thread_id, c.author(c.ann), "Why?")
    assert (opening.state, opening.edited_at, opening.reactions) == (CommentState.VISIBLE, None, {})
    assert recent(opening.created_at, before)
    # Mentions come in order of name.
    assert opening.mentions == (c.author(c.bob), c.author(c.cat))
    assert await threads.thread_of_comment(opening.id) == thread_id
    assert await threads.thread_of_comment(opening.id + 1000) is None
    assert await threads.load_thread(thread_id + 1000) is None

    general = await threads.create_thread(draft(c.room.id, c.bob, "Hello all"))
    loaded = await threads.load_thread(general)
    assert loaded is not None
    assert (loaded.document, loaded.anchor, loaded.kind) == (None, None, ThreadKind.COMMENT)
    assert loaded.opening.mentions == ()


async def test_replies_are_counted_and_move_the_thread(stores: Stores) -> None:
    c = await cast(stores)
    threads = stores.threads
    thread_id = await threads.create_thread(draft(c.room.id, c.ann, "Question"))
    created = await threads.load_thread(thread_id)
    assert created is not None
    await tick()
    first = await threads.add_comment(thread_id, c.bob.id, "First", [c.ann.id])
    await tick()
    second = await threads.add_comment(thread_id, c.cat.id, "Second", [])
    thread = await threads.load_thread(thread_id)
    assert thread is not None
    assert thread.reply_count == 2
    assert thread.last_activity_at > created.last_activity_at
    assert thread.created_at == created.created_at
    assert [(r.id, r.author, r.body) for r in thread.replies] == [
        (first, c.author(c.bob), "First"),
        (second, c.author(c.cat), "Second"),
    ]
    assert thread.comments[0] == created.opening
    assert thread.replies[0].mentions == (c.author(c.ann),)
    assert first > thread.opening.id
    assert second > first
    assert await threads.thread_of_comment(second) == thread_id
    assert thread.comment(first) == thread.replies[0]


async def test_editing_replaces_the_body_and_mentions(stores: Stores) -> None:
    c = await cast(stores)
    threads = stores.threads
    thread_id = await threads.create_thread(draft(c.room.id, c.ann, "Hi Bob", mentions=(c.bob.id,)))
    reply = await threads.add_comment(thread_id, c.bob.id, "Hi", [])
    before = await threads.load_thread(thread_id)
    assert before is not None
    await tick()
    await threads.edit_comment(before.opening.id, "Hi Cat", [c.cat.id])
    await threads.edit_comment(reply, "Hello", [])
    after = await threads.load_thread(thread_id)
    assert after is not None
    assert (after.opening.body, after.opening.mentions) == ("Hi Cat", (c.author(c.cat),))
    assert after.opening.edited_at is not None
    assert after.opening.edited_at > before.opening.created_at
    assert after.opening.created_at == before.opening.created_at
    assert after.replies[0].body == "Hello"
    # An edit is no activity and no reply.
    assert (after.last_activity_at, after.reply_count) == (before.last_activity_at, 1)
    assert await threads.mentions_of(c.room.id, c.bob.id, 10, 0) == []
    assert await threads.mentions_of(c.room.id, c.cat.id, 10, 0) == [(thread_id, before.opening.id)]
    await threads.edit_comment(reply + 1000, "nothing there", [])


async def test_comment_states_hide_erase_and_uncount(stores: Stores) -> None:
    c = await cast(stores)
    threads = stores.threads
    thread_id = await threads.create_thread(
        draft(c.room.id, c.ann, "Q", kind=ThreadKind.QUESTION, mentions=(c.bob.id,))
    )
    hidden = await threads.add_comment(thread_id, c.bob.id, "hidden one", [c.ann.id])
    deleted = await threads.add_comment(thread_id, c.cat.id, "deleted one", [c.ann.id])
    await threads.set_reaction(deleted, c.ann.id, Reaction.THANKS, True)
    await threads.update_thread(thread_id, accepted_comment_id=deleted)

    await threads.set_comment_state(hidden, CommentState.HIDDEN)
    thread = await threads.load_thread(thread_id)
    assert thread is not None
    hidden_comment = thread.comment(hidden)
    assert hidden_comment is not None
    assert (hidden_comment.state, hidden_comment.body) == (CommentState.HIDDEN, "hidden one")
    assert hidden_comment.mentions == (c.author(c.ann),)
    assert thread.reply_count == 2

    await threads.set_comment_state(deleted, CommentState.DELETED)
    thread = await threads.load_thread(thread_id)
    assert thread is not None
    erased = thread.comment(deleted)
    assert erased is not None
    assert (erased.state, erased.body, erased.mentions, erased.reactions) == (
        CommentState.DELETED,
        "",
        (),
        {},
    )
    assert (thread.reply_count, thread.accepted_comment_id) == (1, None)
    # Erasing what is erased counts nothing twice.
    await threads.set_comment_state(deleted, CommentState.REMOVED)
    thread = await threads.load_thread(thread_id)
    assert thread is not None
    assert thread.reply_count == 1
    assert thread.comment(deleted) == replace(erased, state=CommentState.REMOVED)
    assert await threads.mentions_of(c.room.id, c.ann.id, 10, 0) == [(thread_id, hidden)]

    # The opening comment is no reply: erasing it leaves the count.
    await threads.set_comment_state(thread.opening.id, CommentState.REMOVED)
    thread = await threads.load_thread(thread_id)
    assert thread is not None
    assert (thread.opening.body, thread.reply_count) == ("", 1)
    assert await threads.mentions_of(c.room.id, c.bob.id, 10, 0) == []
    await threads.set_comment_state(deleted + 1000, CommentState.DELETED)


async def test_an_erased_comment_made_visible_again_stays_empty_and_uncounted(
    stores: Stores,
) -> None:
    # What the SQL adapters do today: the count and the body are not restored.
    c = await cast(stores)
    threads = stores.threads
    thread_id = await threads.create_thread(draft(c.room.id, c.ann, "Q"))
    reply = await threads.add_comment(thread_id, c.bob.id, "A", [])
    await threads.set_comment_state(reply, CommentState.REMOVED)
    await threads.set_comment_state(reply, CommentState.VISIBLE)
    thread = await threads.load_thread(thread_id)
    assert thread is not None
    assert (thread.reply_count, thread.replies[0].state, thread.replies[0].body) == (
        0,
        CommentState.VISIBLE,
        "",
    )


async def test_update_thread_changes_only_what_it_is_given(stores: Stores) -> None:
    c = await cast(stores)
    threads = stores.threads
    thread_id = await threads.create_thread(draft(c.room.id, c.ann, "Q", kind=ThreadKind.QUESTION))
    answer = await threads.add_comment(thread_id, c.bob.id, "A", [])
    before = await threads.load_thread(thread_id)
    assert before is not None
    await threads.update_thread(thread_id, status=ThreadStatus.RESOLVED)
    await threads.update_thread(thread_id, locked=True)
    await threads.update_thread(thread_id, accepted_comment_id=answer)
    await threads.update_thread(thread_id)
    thread = await threads.load_thread(thread_id)
    assert thread == replace(
        before, status=ThreadStatus.RESOLVED, locked=True, accepted_comment_id=answer
    )
    await threads.update_thread(thread_id, status=ThreadStatus.OPEN, accepted_comment_id=None)
    assert await threads.load_thread(thread_id) == replace(before, locked=True)
    await threads.update_thread(thread_id, locked=False, accepted_comment_id=False)
    assert await threads.load_thread(thread_id) == before
    await threads.update_thread(thread_id + 1000, locked=True)


async def test_reactions_are_given_once_and_taken_back(stores: Stores) -> None:
    c = await cast(stores)
    threads = stores.threads
    thread_id = await threads.create_thread(draft(c.room.id, c.ann, "Nice"))
    thread = await threads.load_thread(thread_id)
    assert thread is not None
    comment_id = thread.opening.id
    assert await threads.set_reaction(comment_id, c.bob.id, Reaction.AHA, True)
    assert not await threads.set_reaction(comment_id, c.bob.id, Reaction.AHA, True)
    await tick()
    assert await threads.set_reaction(comment_id, c.cat.id, Reaction.THANKS, True)
    await tick()
    assert await threads.set_reaction(comment_id, c.ann.id, Reaction.AHA, True)
    await tick()
    assert await threads.set_reaction(comment_id, c.bob.id, Reaction.THANKS, True)
    loaded = await threads.load_thread(thread_id)
    assert loaded is not None
    # Each reaction's givers oldest first; reactions in order of their first giving.
    assert loaded.opening.reactions == {
        "aha": (c.bob.id, c.ann.id),
        "thanks": (c.cat.id, c.bob.id),
    }
    assert list(loaded.opening.reactions) == ["aha", "thanks"]
    assert await threads.set_reaction(comment_id, c.bob.id, Reaction.AHA, False)
    assert not await threads.set_reaction(comment_id, c.bob.id, Reaction.AHA, False)
    assert not await threads.set_reaction(comment_id, c.bob.id, Reaction.CELEBRATE, False)
    assert not await threads.set_reaction(comment_id + 1000, c.bob.id, Reaction.AHA, False)
    loaded = await threads.load_thread(thread_id)
    assert loaded is not None
    assert loaded.opening.reactions == {"aha": (c.ann.id,), "thanks": (c.cat.id, c.bob.id)}


async def test_mentions_of_a_participant_newest_first_and_paged(stores: Stores) -> None:
    c = await cast(stores)
    other = await cast(stores, "other")
    threads = stores.threads
    first = await threads.create_thread(draft(c.room.id, c.ann, "1", mentions=(c.bob.id,)))
    second = await threads.create_thread(draft(c.room.id, c.cat, "2", mentions=(c.bob.id,)))
    reply = await threads.add_comment(first, c.ann.id, "3", [c.bob.id, c.cat.id])
    await threads.add_comment(second, c.ann.id, "no mention", [])
    await threads.create_thread(draft(other.room.id, other.ann, "x", mentions=(c.bob.id,)))
    loaded_first = await threads.load_thread(first)
    loaded_second = await threads.load_thread(second)
    assert loaded_first is not None
    assert loaded_second is not None
    expected = [
        (first, reply),
        (second, loaded_second.opening.id),
        (first, loaded_first.opening.id),
    ]
    assert await threads.mentions_of(c.room.id, c.bob.id, 10, 0) == expected
    assert await threads.mentions_of(c.room.id, c.bob.id, 2, 0) == expected[:2]
    assert await threads.mentions_of(c.room.id, c.bob.id, 2, 2) == expected[2:]
    assert await threads.mentions_of(c.room.id, c.cat.id, 10, 0) == [(first, reply)]
    assert await threads.mentions_of(c.room.id, c.ann.id, 10, 0) == []


async def test_thread_lists_filter_sort_and_page(stores: Stores) -> None:
    c = await cast(stores)
    other = await cast(stores, "other")
    threads = stores.threads
    question, comment = ThreadKind.QUESTION, ThreadKind.COMMENT

    async def thread(author: Participant, kind: ThreadKind, on_document: bool) -> int:
        await tick()
        document_id = c.document.id if on_document else None
        return await threads.create_thread(
            draft(c.room.id, author, "t", kind=kind, document_id=document_id)
        )

    unanswered = await thread(c.ann, question, False)
    answered = await thread(c.bob, question, True)
    accepted = await thread(c.ann, question, False)
    on_document = await thread(c.bob, comment, True)
    resolved = await thread(c.cat, comment, False)
    await threads.update_thread(resolved, status=ThreadStatus.RESOLVED)
    await tick()
    await threads.add_comment(answered, c.cat.id, "an answer", [])
    await tick()
    answer = await threads.add_comment(accepted, c.cat.id, "the answer", [])
    await threads.update_thread(accepted, accepted_comment_id=answer)
    await threads.create_thread(draft(other.room.id, other.ann, "elsewhere", kind=question))

    async def listed(**query: Any) -> list[int]:
        return [t.id for t in await threads.list_threads(c.room.id, ThreadQuery(**query))]

    # Questions nobody answered first, then by latest activity.
    everything = [unanswered, accepted, answered, resolved, on_document]
    assert await listed() == everything
    assert await listed(limit=2) == everything[:2]
    assert await listed(limit=2, offset=2) == everything[2:4]
    assert await listed(offset=5) == []
    assert await listed(document_id=c.document.id) == [answered, on_document]
    assert await listed(general=True) == [unanswered, accepted, resolved]
    assert await listed(general=False) == [answered, on_document]
    assert await listed(kind=question) == [unanswered, accepted, answered]
    assert await listed(kind=comment) == [resolved, on_document]
    assert await listed(status=ThreadStatus.RESOLVED) == [resolved]
    assert await listed(status=ThreadStatus.OPEN) == [unanswered, accepted, answered, on_document]
    assert await listed(author_id=c.ann.id) == [unanswered, accepted]
    assert await listed(answer_state="unanswered") == [unanswered]
    assert await listed(answer_state="answered") == [answered]
    assert await listed(answer_state="accepted") == [accepted]
    assert await listed(kind=question, general=True, author_id=c.ann.id, limit=1) == [unanswered]

    # Activity moves a thread up, but not past the questions nobody answered.
    await tick()
    await threads.add_comment(on_document, c.ann.id, "a reply", [])
    assert await listed() == [unanswered, on_document, accepted, answered, resolved]
    # A question whose only answer is deleted waits for one again; within that group
    # too, the latest activity comes first.
    await threads.set_comment_state(answer, CommentState.DELETED)
    assert await listed() == [accepted, unanswered, on_document, answered, resolved]
    assert await listed(answer_state="unanswered") == [accepted, unanswered]
    assert await listed(answer_state="accepted") == []
    full = await threads.list_threads(c.room.id, ThreadQuery(document_id=c.document.id))
    assert full == [await threads.load_thread(on_document), await threads.load_thread(answered)]


async def test_writes_that_break_a_key_raise_store_error_and_store_nothing(
    stores: Stores,
) -> None:
    c = await cast(stores)
    threads, controls = stores.threads, stores.controls
    thread_id = await threads.create_thread(draft(c.room.id, c.ann, "Q"))
    bad_drafts = [
        draft(c.room.id + 1000, c.ann, "no such room"),
        draft(c.room.id, c.ann, "no such document", document_id=c.document.id + 1000),
        replace(draft(c.room.id, c.ann, "no such author"), author_id="nobody"),
        draft(c.room.id, c.ann, "no such mention", mentions=("nobody",)),
        draft(c.room.id, c.ann, "mentioned twice", mentions=(c.bob.id, c.bob.id)),
    ]
    for bad in bad_drafts:
        with pytest.raises(StoreError):
            await threads.create_thread(bad)
    with pytest.raises(StoreError):
        await threads.add_comment(thread_id + 1000, c.ann.id, "no such thread", [])
    with pytest.raises(StoreError):
        await threads.add_comment(thread_id, "nobody", "no such author", [])
    with pytest.raises(StoreError):
        await threads.add_comment(thread_id, c.bob.id, "no such mention", ["nobody"])
    with pytest.raises(StoreError):
        await threads.edit_comment(thread_id + 1000, "no such comment", [c.bob.id])
    with pytest.raises(StoreError):
        await threads.set_reaction(thread_id + 1000, c.bob.id, Reaction.AHA, True)
    with pytest.raises(StoreError):
        await controls.rotate_invite(c.room.id + 1000, Role.MEMBER, "fresh")
    await controls.rotate_invite(c.room.id, Role.MEMBER, "taken")
    with pytest.raises(StoreError):
        await controls.rotate_invite(c.room.id, Role.OBSERVER, "taken")
    with pytest.raises(StoreError):
        await controls.save_version(c.document.id + 1000, "v", "manual", None, b"state")
    with pytest.raises(StoreError):
        await controls.record(c.room.id + 1000, None, "x", "y", {})
    with pytest.raises(StoreError):
        # A timestamp without a timezone.
        await controls.set_timer(c.room.id, datetime(2030, 1, 1), None, None)

    listed = await threads.list_threads(c.room.id, ThreadQuery())
    assert [(t.id, t.reply_count, len(t.comments)) for t in listed] == [(thread_id, 0, 1)]
    assert [i.code for i in await stores.store.list_invites(c.room.id)] == ["taken"]
    assert await controls.list_versions(c.document.id) == []
    assert await controls.room_controls(c.room.id) == RoomControls()


# --- room settings, spotlight and timer ----------------------------------------------------


async def test_room_settings_default_and_change(stores: Stores) -> None:
    room = await stores.store.create_room("room", "Room", {})
    other = await stores.store.create_room("other", "Other", {})
    threads = stores.threads
    assert await threads.room_settings(room.id) == RoomSettings()
    changed = RoomSettings(observers_can_ask=True, post_first_questions=True, max_participants=12)
    await threads.update_room_settings(room.id, changed)
    assert await threads.room_settings(room.id) == changed
    assert await threads.room_settings(other.id) == RoomSettings()
    no_cap = RoomSettings(max_participants=0)
    await threads.update_room_settings(room.id, no_cap)
    assert await threads.room_settings(room.id) == no_cap
    assert await threads.room_settings(room.id + 1000) == RoomSettings()
    await threads.update_room_settings(room.id + 1000, changed)


async def test_spotlight_and_timer(stores: Stores) -> None:
    c = await cast(stores)
    controls = stores.controls
    assert await controls.room_controls(c.room.id) == RoomControls()
    await controls.set_spotlight(c.room.id, c.cat.id)
    started = datetime(2030, 1, 1, 9, 0, 0, 123456, tzinfo=UTC)
    ends = started + timedelta(minutes=10)
    await controls.set_timer(c.room.id, started, ends, "Break")
    assert await controls.room_controls(c.room.id) == RoomControls(c.cat.id, started, ends, "Break")
    await controls.set_spotlight(c.room.id, None)
    assert await controls.room_controls(c.room.id) == RoomControls(None, started, ends, "Break")
    await controls.set_timer(c.room.id, None, None, None)
    assert await controls.room_controls(c.room.id) == RoomControls()
    assert await controls.room_controls(c.room.id + 1000) == RoomControls()
    await controls.set_spotlight(c.room.id + 1000, c.cat.id)
    await controls.set_timer(c.room.id + 1000, started, ends, "x")


# --- versions and the audit log ------------------------------------------------------------


async def test_versions_newest_first_with_their_state(stores: Stores) -> None:
    c = await cast(stores)
    controls = stores.controls
    plan = await stores.store.create_document(c.room.id, "plan")
    before = datetime.now(UTC)
    first = await controls.save_version(c.document.id, "Start", "manual", c.cat.id, b"one")
    assert (first.document_id, first.name, first.reason, first.created_by) == (
        c.document.id,
        "Start",
        "manual",
        c.cat.id,
    )
    assert recent(first.created_at, before)
    second = await controls.save_version(c.document.id, "Locked", "lock", None, b"two")
    elsewhere = await controls.save_version(plan.id, "Plan", "session", None, b"three")
    assert await controls.list_versions(c.document.id) == [second, first]
    assert await controls.list_versions(plan.id) == [elsewhere]
    assert await controls.list_versions(plan.id + 1000) == []
    assert await controls.get_version(first.id) == (first, b"one")
    assert await controls.get_version(second.id) == (second, b"two")
    assert await controls.get_version(elsewhere.id + 1000) is None


async def test_the_audit_log_newest_first_and_paged(stores: Stores) -> None:
    c = await cast(stores)
    other = await cast(stores, "other")
    controls = stores.controls
    before = datetime.now(UTC)
    for i in range(5):
        await controls.record(c.room.id, c.cat.id, "Cat", f"action-{i}", {"i": i, "pair": (i, i)})
    await controls.record(other.room.id, None, "server", "elsewhere", {})
    log = await controls.audit_log(c.room.id, 10, None)
    assert [e.action for e in log] == [f"action-{i}" for i in (4, 3, 2, 1, 0)]
    assert [e.details for e in log] == [{"i": i, "pair": [i, i]} for i in (4, 3, 2, 1, 0)]
    assert all((e.actor_id, e.actor_name) == (c.cat.id, "Cat") for e in log)
    assert all(recent(e.at, before) for e in log)
    assert [e.id for e in log] == sorted((e.id for e in log), reverse=True)
    assert await controls.audit_log(c.room.id, 2, None) == log[:2]
    assert await controls.audit_log(c.room.id, 2, log[1].id) == log[2:4]
    assert await controls.audit_log(c.room.id, 10, log[-1].id) == []
    (elsewhere,) = await controls.audit_log(other.room.id, 10, None)
    assert (elsewhere.actor_id, elsewhere.actor_name, elsewhere.action, elsewhere.details) == (
        None,
        "server",
        "elsewhere",
        {},
    )
    assert await controls.audit_log(other.room.id + 1000, 10, None) == []


# --- participation -------------------------------------------------------------------------


def _bucket(minute: int) -> datetime:
    return datetime(2026, 12, 6, 18, 0, tzinfo=UTC) + timedelta(minutes=minute)


async def test_text_activity_is_stored_with_its_updates_and_summed(stores: Stores) -> None:
    from rooms.participation_records import ActivityBucket, DocumentActivity
    from rooms.records import TextActivity

    c = await cast(stores)
    store = stores.store
    plan = await store.create_document(c.room.id, "plan")
    other = await cast(stores, "other")
    first, second = _bucket(0), _bucket(5)
    await store.append_updates(
        c.document.id,
        [b"a", b"b"],
        # The same key twice in one batch adds up.
        [TextActivity(c.ann.id, first, 10, 2, 1), TextActivity(c.ann.id, first, 5, 0, 1)],
    )
    await store.append_updates(c.document.id, [b"c"], [TextActivity(c.ann.id, first, 1, 1, 1)])
    await store.append_updates(
        c.document.id,
        [b"d"],
        [TextActivity(c.ann.id, second, 3, 0, 1), TextActivity(c.bob.id, second, 7, 4, 2)],
    )
    await store.append_updates(plan.id, [b"x"], [TextActivity(c.bob.id, first, 20, 0, 1)])
    await store.append_updates(
        other.document.id, [b"y"], [TextActivity(other.ann.id, first, 99, 0, 1)]
    )
    # Without updates nothing is stored, activity or not; without activity, nothing counted.
    await store.append_updates(c.document.id, [], [TextActivity(c.ann.id, first, 50, 0, 1)])
    await store.append_updates(c.document.id, [b"e"])
    # A batch that cannot be stored counts nothing.
    with pytest.raises(StoreError):
        await store.append_updates(1000, [b"z"], [TextActivity(c.ann.id, first, 70, 0, 1)])

    assert (await store.load_document(c.document.id)).updates == [b"a", b"b", b"c", b"d", b"e"]
    # By document, then participant.
    assert await store.activity_totals(c.room.id) == sorted(
        [
            DocumentActivity(c.document.id, c.ann.id, 19, 3, 4, second),
            DocumentActivity(c.document.id, c.bob.id, 7, 4, 2, second),
            DocumentActivity(plan.id, c.bob.id, 20, 0, 1, first),
        ],
        key=lambda a: (a.document_id, a.participant_id),
    )
    assert await store.activity_totals(c.room.id, c.bob.id) == [
        DocumentActivity(c.document.id, c.bob.id, 7, 4, 2, second),
        DocumentActivity(plan.id, c.bob.id, 20, 0, 1, first),
    ]
    assert await store.activity_buckets(c.room.id) == [
        ActivityBucket(c.document.id, first, 16, 3, 3),
        ActivityBucket(plan.id, first, 20, 0, 1),
        ActivityBucket(c.document.id, second, 10, 4, 3),
    ]
    assert await store.activity_buckets(c.room.id, since=second) == [
        ActivityBucket(c.document.id, second, 10, 4, 3),
    ]
    for found in await store.activity_buckets(c.room.id):
        assert found.bucket.utcoffset() == timedelta(0)
    assert await store.activity_totals(c.room.id + 1000) == []


async def test_presence_spans_are_kept_per_room(stores: Stores) -> None:
    from rooms.participation_records import PresenceSpan

    c = await cast(stores)
    other = await cast(stores, "other")
    people = stores.participants
    await people.add_presence(c.room.id, c.bob.id, _bucket(3), _bucket(9))
    await people.add_presence(c.room.id, c.ann.id, _bucket(1), _bucket(4))
    await people.add_presence(c.room.id, c.ann.id, _bucket(2), _bucket(6))
    await people.add_presence(other.room.id, other.ann.id, _bucket(0), _bucket(1))
    assert await people.presence_spans(c.room.id) == [
        PresenceSpan(c.ann.id, _bucket(1), _bucket(4)),
        PresenceSpan(c.ann.id, _bucket(2), _bucket(6)),
        PresenceSpan(c.bob.id, _bucket(3), _bucket(9)),
    ]
    assert await people.presence_spans(c.room.id, c.bob.id) == [
        PresenceSpan(c.bob.id, _bucket(3), _bucket(9))
    ]
    with pytest.raises(StoreError):
        await people.add_presence(c.room.id, "nobody", _bucket(0), _bucket(1))
    with pytest.raises(StoreError):
        await people.add_presence(c.room.id, c.ann.id, datetime(2026, 1, 1), _bucket(1))
    assert len(await people.presence_spans(c.room.id)) == 3


async def test_participation_counts_and_unanswered_questions(stores: Stores) -> None:
    from rooms.participation_records import ThreadCounts

    c = await cast(stores)
    threads = stores.threads
    dan = await stores.participants.add_participant(c.room.id, "Dan", Role.MEMBER)

    def draft(author: Participant, kind: ThreadKind, anonymous: bool = False) -> NewThread:
        return NewThread(
            c.room.id, c.document.id, kind, author.id, anonymous, None, False, "Body", ()
        )

    before = datetime.now(UTC)
    # Ann: a comment thread (Bob replies, then deletes another reply).
    talk = await threads.create_thread(draft(c.ann, ThreadKind.COMMENT))
    bob_reply = await threads.add_comment(talk, c.bob.id, "Yes", ())
    gone = await threads.add_comment(talk, c.bob.id, "Oops", ())
    await threads.set_comment_state(gone, CommentState.DELETED)
    # Bob asks anonymously; Ann answers, accepted; Ann reacts to the question.
    secret = await threads.create_thread(draft(c.bob, ThreadKind.QUESTION, anonymous=True))
    answer = await threads.add_comment(secret, c.ann.id, "Because", ())
    await threads.update_thread(secret, accepted_comment_id=answer)
    secret_opening = (await threads.load_thread(secret)).opening.id  # type: ignore[union-attr]
    await threads.set_reaction(secret_opening, c.ann.id, Reaction.AHA, True)
    # Bob also replies in his own anonymous question: by the asker, anonymous too.
    await threads.add_comment(secret, c.bob.id, "Thanks", ())
    # Ann: a question nobody answered, and one hidden by a facilitator (still counts).
    await tick()
    waiting = await threads.create_thread(draft(c.ann, ThreadKind.QUESTION))
    await tick()
    general = await threads.create_thread(
        NewThread(c.room.id, None, ThreadKind.QUESTION, c.bob.id, True, None, False, "Why?", ())
    )
    hidden = await threads.create_thread(draft(c.ann, ThreadKind.COMMENT))
    hidden_opening = (await threads.load_thread(hidden)).opening.id  # type: ignore[union-attr]
    await threads.set_comment_state(hidden_opening, CommentState.HIDDEN)
    # Not unanswered: resolved, or the opening deleted.
    resolved = await threads.create_thread(draft(c.cat, ThreadKind.QUESTION))
    await threads.update_thread(resolved, status=ThreadStatus.RESOLVED)
    deleted = await threads.create_thread(draft(dan, ThreadKind.QUESTION))
    deleted_opening = (await threads.load_thread(deleted)).opening.id  # type: ignore[union-attr]
    await threads.set_comment_state(deleted_opening, CommentState.DELETED)
    # Reactions: Bob on Ann's opening, Ann on her own (given, not received), Cat on Bob's reply.
    talk_opening = (await threads.load_thread(talk)).opening.id  # type: ignore[union-attr]
    await threads.set_reaction(talk_opening, c.bob.id, Reaction.THANKS, True)
    await threads.set_reaction(talk_opening, c.ann.id, Reaction.AGREE, True)
    await threads.set_reaction(bob_reply, c.cat.id, Reaction.AGREE, True)
    await threads.set_reaction(bob_reply, c.cat.id, Reaction.AHA, True)
    await threads.set_reaction(bob_reply, c.cat.id, Reaction.AHA, False)

    counts = {n.participant_id: n for n in await threads.participation_counts(c.room.id)}
    assert set(counts) == {c.ann.id, c.bob.id, c.cat.id}
    for found in counts.values():
        assert found.last_at is not None and recent(found.last_at, before)
    plain = {k: replace(v, last_at=None) for k, v in counts.items()}
    assert plain[c.ann.id] == ThreadCounts(
        c.ann.id,
        comments=2,
        questions=1,
        answers=1,
        accepted_answers=1,
        reactions_given=2,
        reactions_received=1,
    )
    assert plain[c.bob.id] == ThreadCounts(
        c.bob.id,
        comments=1,
        questions=2,
        anonymous_questions=2,
        answers=1,
        reactions_given=1,
        reactions_received=2,
    )
    assert plain[c.cat.id] == ThreadCounts(c.cat.id, questions=1, reactions_given=1)

    # Without anonymity: what Bob wrote in his anonymous questions, and Ann's reaction
    # to it, are left out.
    (bob,) = await threads.participation_counts(
        c.room.id, participant_id=c.bob.id, include_anonymous=False
    )
    assert replace(bob, last_at=None) == ThreadCounts(
        c.bob.id, comments=1, reactions_given=1, reactions_received=1
    )
    (ann,) = await threads.participation_counts(c.room.id, participant_id=c.ann.id)
    assert ann == counts[c.ann.id]
    assert await threads.participation_counts(c.room.id, participant_id=dan.id) == []

    unanswered = await threads.unanswered_questions(c.room.id)
    assert [(q.thread_id, q.document, q.asker_id, q.anonymous, q.text) for q in unanswered] == [
        (waiting, "notes", c.ann.id, False, "Body"),
        (general, None, c.bob.id, True, "Why?"),
    ]
    assert unanswered[0].asked_at <= unanswered[1].asked_at
    assert recent(unanswered[0].asked_at, before)
    assert await threads.unanswered_questions(c.room.id + 1000) == []
