"""The storage interface the domain needs, and an in-memory implementation for tests."""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from rooms.records import DocumentInfo, Invite, Participant, Room, RoomEvent, StoredDocument
from rooms.roles import Role


class DocumentLimitReached(Exception):
    """The room already holds as many documents as it may."""


class ParticipantLimitReached(Exception):
    """The room already holds as many members and observers as it may."""


class StoreError(Exception):
    """Storage failed; the caller keeps its data and may retry."""


class Store(Protocol):
    """Durable state: rooms, invites, participants, documents and their update logs."""

    async def create_room(self, slug: str, title: str, invites: dict[Role, str]) -> Room: ...

    async def get_room(self, slug: str) -> Room | None: ...

    async def get_invite(self, code: str) -> Invite | None: ...

    async def list_invites(self, room_id: int) -> list[Invite]: ...

    async def add_participant(
        self, room_id: int, name: str, role: Role, limit: int = 0
    ) -> Participant:
        """Store a new participant.

        With ``limit`` above 0, raise :class:`ParticipantLimitReached` if the room already
        holds that many members and observers who were not removed; concurrent joins (in
        any process) cannot pass it.
        """
        ...

    async def list_documents(self, room_id: int) -> list[DocumentInfo]: ...

    async def get_document(self, room_id: int, name: str) -> DocumentInfo | None: ...

    async def create_document(self, room_id: int, name: str, limit: int = 0) -> DocumentInfo:
        """Create the document, or return it if another caller already did.

        With ``limit`` above 0, raise :class:`DocumentLimitReached` if the room already
        holds that many documents; concurrent creations (in any process) cannot pass it.
        """
        ...

    async def load_document(self, document_id: int) -> StoredDocument: ...

    async def append_updates(self, document_id: int, updates: Sequence[bytes]) -> None:
        """Append to the log in one transaction: all are stored or none."""
        ...

    async def replace_snapshot(
        self,
        document_id: int,
        expected_version: int,
        snapshot: bytes,
        folded_update_ids: Sequence[int],
    ) -> bool:
        """Store ``snapshot`` and delete the log rows ``folded_update_ids``, atomically.

        Returns False, changing nothing, if the snapshot version is no longer
        ``expected_version`` (another compaction won the race).
        """
        ...

    async def claim_clients(
        self, document_id: int, participant_id: str, client_ids: Sequence[int]
    ) -> dict[int, str]:
        """Give each of ``client_ids`` that nobody holds in the document to
        ``participant_id``, and return the owner of every one of them. The first claim
        wins, in every process; a claim never changes."""
        ...

    async def append_event(self, room_id: int, type: str, data: dict[str, Any]) -> RoomEvent:
        """Store an event with the room's next sequence number, atomically."""
        ...

    async def events_since(self, room_id: int, after_seq: int, limit: int) -> list[RoomEvent]:
        """The room's events with ``seq > after_seq``, oldest first, at most ``limit``."""
        ...

    async def last_event_seq(self, room_id: int) -> int:
        """The sequence number of the room's latest event (0 before the first)."""
        ...

    async def begin_run(self, run_id: str, *, sole: bool, stale_after: float) -> list[str]:
        """Record that the process ``run_id`` serves from now on, and return the other
        records found: processes running now, or ones that did not stop cleanly
        (:meth:`end_run`) and may have relayed edits they never stored. With ``sole``
        (no other process shares this database) each is a dead process's and removed;
        otherwise only those not renewed for ``stale_after`` seconds are removed."""
        ...

    async def renew_run(self, run_id: str) -> None:
        """Mark the process ``run_id`` as alive now."""
        ...

    async def end_run(self, run_id: str) -> None:
        """The process ``run_id`` stopped cleanly: everything it relayed is stored."""
        ...

    async def close(self) -> None: ...


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class _MemoryDocument:
    info: DocumentInfo
    snapshot: bytes | None = None
    version: int = 0
    log: list[tuple[int, bytes]] = field(default_factory=list)


class MemoryStore:
    """A :class:`Store` in a dict, for fast tests of the domain."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self.rooms: dict[str, Room] = {}
        self.invites: dict[str, Invite] = {}
        self.participants: dict[str, Participant] = {}
        self.documents: dict[int, _MemoryDocument] = {}
        self.events: dict[int, list[RoomEvent]] = {}
        self.client_claims: dict[int, dict[int, str]] = {}
        self.runs: dict[str, float] = {}
        # Set to an exception to make every write fail, as a broken database would.
        self.fail_writes: Exception | None = None

    async def create_room(self, slug: str, title: str, invites: dict[Role, str]) -> Room:
        room = Room(next(self._ids), slug, title, _now())
        self.rooms[slug] = room
        for role, code in invites.items():
            self.invites[code] = Invite(code, room, role)
        return room

    async def get_room(self, slug: str) -> Room | None:
        return self.rooms.get(slug)

    async def get_invite(self, code: str) -> Invite | None:
        return self.invites.get(code)

    async def list_invites(self, room_id: int) -> list[Invite]:
        return [i for i in self.invites.values() if i.room.id == room_id]

    async def add_participant(
        self, room_id: int, name: str, role: Role, limit: int = 0
    ) -> Participant:
        held = sum(
            1
            for p in self.participants.values()
            if p.room_id == room_id and p.role is not Role.FACILITATOR and not p.removed
        )
        if 0 < limit <= held:
            raise ParticipantLimitReached
        participant = Participant(f"p{next(self._ids)}", room_id, name, role, _now())
        self.participants[participant.id] = participant
        return participant

    async def list_documents(self, room_id: int) -> list[DocumentInfo]:
        return [d.info for d in self.documents.values() if d.info.room_id == room_id]

    async def get_document(self, room_id: int, name: str) -> DocumentInfo | None:
        for doc in self.documents.values():
            if doc.info.room_id == room_id and doc.info.name == name:
                return doc.info
        return None

    async def create_document(self, room_id: int, name: str, limit: int = 0) -> DocumentInfo:
        existing = await self.get_document(room_id, name)
        if existing is not None:
            return existing
        held = sum(1 for doc in self.documents.values() if doc.info.room_id == room_id)
        if 0 < limit <= held:
            raise DocumentLimitReached
        info = DocumentInfo(next(self._ids), room_id, name, _now())
        self.documents[info.id] = _MemoryDocument(info)
        return info

    async def load_document(self, document_id: int) -> StoredDocument:
        doc = self.documents[document_id]
        return StoredDocument(
            doc.snapshot, doc.version, [u for _, u in doc.log], tuple(i for i, _ in doc.log)
        )

    async def append_updates(self, document_id: int, updates: Sequence[bytes]) -> None:
        if self.fail_writes is not None:
            raise StoreError(str(self.fail_writes)) from self.fail_writes
        doc = self.documents[document_id]
        doc.log.extend((next(self._ids), u) for u in updates)

    async def begin_run(self, run_id: str, *, sole: bool, stale_after: float) -> list[str]:
        now = time.time()
        others = {r: at for r, at in self.runs.items() if r != run_id}
        for other, at in others.items():
            if sole or now - at > stale_after:
                del self.runs[other]
        self.runs[run_id] = now
        return sorted(others)

    async def renew_run(self, run_id: str) -> None:
        self.runs[run_id] = time.time()

    async def end_run(self, run_id: str) -> None:
        self.runs.pop(run_id, None)

    async def claim_clients(
        self, document_id: int, participant_id: str, client_ids: Sequence[int]
    ) -> dict[int, str]:
        if self.fail_writes is not None:
            raise StoreError(str(self.fail_writes)) from self.fail_writes
        claims = self.client_claims.setdefault(document_id, {})
        return {c: claims.setdefault(c, participant_id) for c in client_ids}

    async def replace_snapshot(
        self,
        document_id: int,
        expected_version: int,
        snapshot: bytes,
        folded_update_ids: Sequence[int],
    ) -> bool:
        if self.fail_writes is not None:
            raise StoreError(str(self.fail_writes)) from self.fail_writes
        doc = self.documents[document_id]
        if doc.version != expected_version:
            return False
        doc.snapshot = snapshot
        doc.version += 1
        folded = set(folded_update_ids)
        doc.log = [(i, u) for i, u in doc.log if i not in folded]
        return True

    async def append_event(self, room_id: int, type: str, data: dict[str, Any]) -> RoomEvent:
        if self.fail_writes is not None:
            raise StoreError(str(self.fail_writes)) from self.fail_writes
        events = self.events.setdefault(room_id, [])
        event = RoomEvent(room_id, len(events) + 1, type, data, _now())
        events.append(event)
        return event

    async def events_since(self, room_id: int, after_seq: int, limit: int) -> list[RoomEvent]:
        return [e for e in self.events.get(room_id, []) if e.seq > after_seq][:limit]

    async def last_event_seq(self, room_id: int) -> int:
        return len(self.events.get(room_id, []))

    async def close(self) -> None:
        return None
