"""What the HTTP API shows of the domain's records, and how an export is downloaded.

Thread views stay in :mod:`rooms.comment_views`: they decide what each participant may
see (anonymity, post-first, moderation), and the event socket renders live events
with them through :meth:`rooms.comments.Comments.render`. The data of the other room
events is built by the domain in the same shapes as these views.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.responses import Response

from rooms.control_records import AuditEntry, VersionInfo
from rooms.controls import Export, ExportFormat, SessionState, Timer
from rooms.records import DocumentInfo, Participant
from rooms.threads import RoomSettings

# The media type and file extension of each export format.
DOWNLOADS: dict[ExportFormat, tuple[str, str]] = {
    ExportFormat.MARKDOWN: ("text/markdown; charset=utf-8", ".md"),
    ExportFormat.HTML: ("text/html; charset=utf-8", ".html"),
}


def person_json(participant: Participant) -> dict[str, Any]:
    return {
        "id": participant.id,
        "name": participant.name,
        "role": participant.role.value,
        "guest": participant.guest,
    }


def document_json(info: DocumentInfo) -> dict[str, Any]:
    return {
        "name": info.name,
        "created_at": info.created_at.isoformat(),
        "locked": info.locked,
        "locked_by": info.locked_by,
        "template": info.template,
        "created_by": info.created_by,
        "mentor_id": info.mentor_id,
    }


def version_json(version: VersionInfo) -> dict[str, Any]:
    return {
        "id": version.id,
        "name": version.name,
        "reason": version.reason,
        "created_by": version.created_by,
        "created_at": version.created_at.isoformat(),
    }


def audit_json(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": entry.at.isoformat(),
        "actor": None
        if entry.actor_id is None
        else {"id": entry.actor_id, "name": entry.actor_name},
        "action": entry.action,
        "details": entry.details,
    }


def settings_json(settings: RoomSettings) -> dict[str, Any]:
    return {
        "observers_can_ask": settings.observers_can_ask,
        "post_first_questions": settings.post_first_questions,
        "max_participants": settings.max_participants,
        "guests_allowed": settings.guests_allowed,
    }


def timer_json(timer: Timer) -> dict[str, Any]:
    return {
        "started_at": None if timer.started_at is None else timer.started_at.isoformat(),
        "ends_at": timer.ends_at.isoformat(),
        "label": timer.label,
    }


def session_json(state: SessionState) -> dict[str, Any]:
    """The spotlight and the timer, as the room state shows them."""
    spotlight = state.spotlight
    return {
        "spotlight": None if spotlight is None else {"id": spotlight.id, "name": spotlight.name},
        "timer": None if state.timer is None else timer_json(state.timer),
    }


def download(export: Export) -> Response:
    """The exported content as a file to save, named after its document."""
    media_type, extension = DOWNLOADS[export.format]
    filename = export.document + extension
    return Response(
        export.content,
        media_type=media_type,
        headers={"content-disposition": f"attachment; filename*=UTF-8''{quote(filename)}"},
    )
