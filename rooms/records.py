"""Plain records the domain passes around; storage adapters build them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rooms.roles import Role


@dataclass(frozen=True, slots=True)
class Room:
    id: int
    slug: str
    title: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Invite:
    code: str
    room: Room
    role: Role
    revoked: bool = False


@dataclass(frozen=True, slots=True)
class Participant:
    id: str
    room_id: int
    name: str
    role: Role
    created_at: datetime
    removed: bool = False
    # The account whose seat this is; None for a guest, who joined with a name only.
    account_id: str | None = None

    @property
    def guest(self) -> bool:
        return self.account_id is None


@dataclass(frozen=True, slots=True)
class DocumentInfo:
    id: int
    room_id: int
    name: str
    created_at: datetime
    locked: bool = False
    template: str | None = None
    created_by: str | None = None
    mentor_id: str | None = None
    # The display name of who locked it (None while unlocked).
    locked_by: str | None = None


@dataclass(frozen=True, slots=True)
class RoomEvent:
    """Something that happened in a room; ``seq`` is gapless and increasing per room."""

    room_id: int
    seq: int
    type: str
    data: dict[str, Any]
    created_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "type": self.type,
            "data": self.data,
            "at": self.created_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class StoredDocument:
    """What storage holds for one document: a snapshot and the log after it."""

    snapshot: bytes | None
    snapshot_version: int
    updates: list[bytes] = field(default_factory=list)
    # Ids of the log rows read, so that compaction deletes exactly what it folded in.
    # (Not "every id up to the highest": on PostgreSQL ids are taken when a row is
    # inserted, not when it commits, so a lower id can still commit later.)
    update_ids: tuple[int, ...] = ()
