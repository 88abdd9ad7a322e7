"""Plain records the domain passes around; storage adapters build them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
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
    # An index into rooms.presence.COLOURS, chosen on joining (the one least used in the
    # room); None for someone who joined before colours were stored: theirs is hashed.
    colour: int | None = None

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


# The length of one bucket of text activity (``document_activity``), in seconds.
ACTIVITY_BUCKET_SECONDS = 300


def activity_bucket(at: datetime) -> datetime:
    """The start of the 5-minute bucket (UTC) that ``at`` (timezone-aware) falls in."""
    moment = at.astimezone(UTC)
    seconds = int(moment.timestamp()) // ACTIVITY_BUCKET_SECONDS * ACTIVITY_BUCKET_SECONDS
    return datetime.fromtimestamp(seconds, UTC)


@dataclass(frozen=True, slots=True)
class TextActivity:
    """What one participant's stored edits did to a document's text within one bucket:
    UTF-16 units inserted and deleted, and how many edits (client updates) that was."""

    participant_id: str
    # The start of its bucket (see :func:`activity_bucket`).
    bucket: datetime
    added: int
    removed: int
    edits: int
