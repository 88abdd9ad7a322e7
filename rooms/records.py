"""Plain records the domain passes around; storage adapters build them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

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


@dataclass(frozen=True, slots=True)
class DocumentInfo:
    id: int
    room_id: int
    name: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class StoredDocument:
    """What storage holds for one document: a snapshot and the log after it."""

    snapshot: bytes | None
    snapshot_version: int
    updates: list[bytes] = field(default_factory=list)
    # Highest log row id read, so that compaction deletes only what it folded in.
    last_update_id: int = 0
