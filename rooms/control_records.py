"""Records of the facilitator's controls, and the storage interface they need."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from rooms.records import DocumentInfo, Invite
from rooms.roles import Role


@dataclass(frozen=True, slots=True)
class VersionInfo:
    id: int
    document_id: int
    name: str
    # manual, lock, session or restore
    reason: str
    created_by: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    actor_id: str | None
    actor_name: str
    action: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RoomControls:
    spotlight_id: str | None = None
    timer_started_at: datetime | None = None
    timer_ends_at: datetime | None = None
    timer_label: str | None = None


class ControlStore(Protocol):
    """Durable state of the facilitator's controls. Each method is one transaction."""

    async def participant_active(self, participant_id: str) -> bool:
        """Whether the participant exists and was not removed."""
        ...

    async def remove_participant(self, participant_id: str) -> None: ...

    async def rotate_invite(self, room_id: int, role: Role, code: str) -> Invite:
        """Revoke the role's current invite codes and store ``code`` in their place."""
        ...

    async def document_by_id(self, document_id: int) -> DocumentInfo | None: ...

    async def set_document_locked(self, document_id: int, locked: bool) -> None: ...

    async def describe_document(
        self, document_id: int, template: str | None, created_by: str | None
    ) -> None: ...

    async def set_document_mentor(self, document_id: int, mentor_id: str | None) -> None: ...

    async def room_controls(self, room_id: int) -> RoomControls: ...

    async def set_spotlight(self, room_id: int, participant_id: str | None) -> None: ...

    async def set_timer(
        self,
        room_id: int,
        started_at: datetime | None,
        ends_at: datetime | None,
        label: str | None,
    ) -> None: ...

    async def save_version(
        self, document_id: int, name: str, reason: str, created_by: str | None, state: bytes
    ) -> VersionInfo: ...

    async def list_versions(self, document_id: int) -> list[VersionInfo]:
        """Newest first."""
        ...

    async def get_version(self, version_id: int) -> tuple[VersionInfo, bytes] | None: ...

    async def record(
        self,
        room_id: int,
        actor_id: str | None,
        actor_name: str,
        action: str,
        details: dict[str, Any],
    ) -> None:
        """Append to the room's audit log."""
        ...

    async def audit_log(self, room_id: int, limit: int, before_id: int | None) -> list[AuditEntry]:
        """Newest first."""
        ...
