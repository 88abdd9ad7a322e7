"""Records of the facilitator's controls, which a :class:`rooms.ports.ControlStore` keeps."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


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
