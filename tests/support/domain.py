"""The domain services on in-memory storage, wired as ``server.app.open_state`` wires
them on SQL: one :class:`MemoryState` behind the four stores, a :class:`DocumentHub`
on a :class:`LocalBroker`, :class:`RoomEvents`, :class:`Comments`, :class:`Controls`
and a :class:`RoomDirectory` that reads each room's own participant cap.

Nothing runs in the background: the hub's writer never flushes on its own and no
document is unloaded while a test runs; :meth:`Domain.close` stores what is pending.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from crdt.content import append_blocks, edit, replace_with, to_markdown
from rooms.comment_views import Viewer
from rooms.comments import Comments
from rooms.controls import Controls
from rooms.directory import CreatedRoom, RoomDirectory
from rooms.errors import Refused
from rooms.events import RoomEvents
from rooms.live.broker import LocalBroker
from rooms.live.hub import DocumentHub, HubSettings
from rooms.live.writer import WriterSettings
from rooms.memory import (
    MemoryControlStore,
    MemoryParticipantStore,
    MemoryState,
    MemoryStore,
    MemoryThreadStore,
)
from rooms.records import DocumentInfo, Room
from rooms.roles import Role

NEVER = 3600.0


@dataclass
class Domain:
    state: MemoryState
    store: MemoryStore
    participants: MemoryParticipantStore
    threads: MemoryThreadStore
    control_store: MemoryControlStore
    hub: DocumentHub
    events: RoomEvents
    directory: RoomDirectory
    comments: Comments
    controls: Controls

    @classmethod
    def build(cls, *, max_documents: int = 0, max_participants: int = 0) -> Domain:
        state = MemoryState()
        store = MemoryStore(state)
        participants = MemoryParticipantStore(state)
        threads = MemoryThreadStore(state)
        control_store = MemoryControlStore(state)
        broker = LocalBroker()
        hub = DocumentHub(
            store,
            HubSettings(writer=WriterSettings(flush_interval=NEVER), idle_unload_seconds=NEVER),
            broker,
        )
        events = RoomEvents(store, broker)
        return cls(
            state=state,
            store=store,
            participants=participants,
            threads=threads,
            control_store=control_store,
            hub=hub,
            events=events,
            directory=RoomDirectory(store, participants, max_documents, max_participants, threads),
            comments=Comments(store, threads, participants, events, hub),
            controls=Controls(
                store, control_store, threads, participants, events, hub, max_documents
            ),
        )

    async def close(self) -> None:
        await self.hub.close(attempts=1)

    async def join(self, room: CreatedRoom, role: Role, name: str) -> Viewer:
        """A new participant of ``room`` with ``role``, as the edge sees them."""
        participant, _ = await self.directory.join(room.invites[role], name)
        return Viewer(participant.id, participant.role, participant.name)

    async def published(self, room: Room, after: int = 0) -> list[tuple[str, dict[str, Any]]]:
        """The room's events after ``after``: (type, data), oldest first."""
        return [(e.type, e.data) for e in await self.store.events_since(room.id, after, 10_000)]

    async def last_seq(self, room: Room) -> int:
        return await self.store.last_event_seq(room.id)

    async def write(self, room: Room, info: DocumentInfo, *paragraphs: str) -> None:
        """Make the document's content these paragraphs, as one edit of the live document."""
        wanted = edit(b"", append_blocks([("paragraph", {}, p) for p in paragraphs]))
        async with self.hub.holding(info, room.slug) as live:
            live.apply_client_update(edit(live.sync.encode_state(), replace_with(wanted)), None)

    async def markdown(self, room: Room, info: DocumentInfo) -> str:
        """The live document's content, as Markdown."""
        return to_markdown(await self.controls.current_state(room, info))

    def fingerprint(self) -> str:
        """Everything stored, and the content of every loaded document."""
        s = self.state
        stored = (s.rooms, s.invites, s.participants, s.documents, s.threads, s.comments)
        live = sorted((i, d.sync.encode_state()) for i, d in self.hub.documents.items())
        return repr((stored, s.versions, s.audit, live))

    @contextlib.asynccontextmanager
    async def refuses(self, kind: type[Refused], reason: str) -> AsyncIterator[None]:
        """The block raises exactly ``kind`` with ``reason``, and changes nothing: no
        stored row, no room event, no audit entry, no edit of a live document."""
        before = self.fingerprint()
        with pytest.raises(kind) as caught:
            yield
        assert type(caught.value) is kind, caught.value
        assert caught.value.reason == reason, caught.value
        assert self.fingerprint() == before, "a refused request changed something"


@dataclass
class Cohort:
    """A room with a facilitator (Fay), two members (Ann, Bob) and an observer (Olive)."""

    domain: Domain
    created: CreatedRoom
    fay: Viewer
    ann: Viewer
    bob: Viewer
    olive: Viewer

    @classmethod
    async def gather(cls, domain: Domain, title: str = "Reading group") -> Cohort:
        created = await domain.directory.create_room(title)
        return cls(
            domain,
            created,
            await domain.join(created, Role.FACILITATOR, "Fay"),
            await domain.join(created, Role.MEMBER, "Ann"),
            await domain.join(created, Role.MEMBER, "Bob"),
            await domain.join(created, Role.OBSERVER, "Olive"),
        )

    @property
    def room(self) -> Room:
        return self.created.room

    async def join(self, role: Role, name: str) -> Viewer:
        return await self.domain.join(self.created, role, name)

    async def document(self, name: str, mentor: Viewer | None = None) -> DocumentInfo:
        """A document of the room, created by Fay (with ``mentor`` as its mentor)."""
        info = await self.domain.directory.open_document(self.room, name, Role.FACILITATOR)
        if mentor is not None:
            await self.domain.control_store.set_document_mentor(info.id, mentor.id)
        found = await self.domain.control_store.document_by_id(info.id)
        assert found is not None
        return found

    async def published(self, after: int = 0) -> list[tuple[str, dict[str, Any]]]:
        return await self.domain.published(self.room, after)

    async def last_seq(self) -> int:
        return await self.domain.last_seq(self.room)

    def refuses(
        self, kind: type[Refused], reason: str
    ) -> contextlib.AbstractAsyncContextManager[None]:
        return self.domain.refuses(kind, reason)
