"""The facilitator's controls, documents from templates, versions, export and the audit log.

Each method takes typed inputs (:class:`NewDocument`, :class:`TimerRequest`, plain
values), checks who may act and what the values are, and raises
:class:`~rooms.errors.Refused` otherwise, with nothing changed. A change is stored,
published as a room event (which every process delivers to the room's event sockets,
and which open sync connections watch for locks and removals), and recorded in the
audit log.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from crdt.content import append_blocks, edit, replace_with, to_html, to_markdown
from rooms.comment_views import Viewer
from rooms.control_records import AuditEntry, VersionInfo
from rooms.directory import (
    clean_text,
    document_name,
    existing_document,
    is_code,
    new_document,
)
from rooms.errors import Conflict, Forbidden, Invalid, NotFound
from rooms.events import RoomEvents
from rooms.live.document import LiveDocument
from rooms.live.hub import DocumentHub
from rooms.ports import ControlStore, ParticipantStore, Store, StoreError, ThreadStore
from rooms.records import DocumentInfo, Invite, Participant, Room
from rooms.roles import INVITE_ROLES, Role
from rooms.templates import TEMPLATES

log = logging.getLogger("roundtable.controls")

MAX_TIMER_SECONDS = 24 * 3600
MAX_VERSION_NAME = 200
MAX_TIMER_LABEL = 200


@dataclass(frozen=True, slots=True)
class NewDocument:
    """A document to create, empty or from a template, optionally with a mentor."""

    name: str
    # A key of rooms.templates.TEMPLATES.
    template: str | None = None
    # The participant id of who follows the document.
    mentor: str | None = None


@dataclass(frozen=True, slots=True)
class TimerRequest:
    """A session timer to start: how long it runs, and what it is for."""

    seconds: int
    label: str | None = None


@dataclass(frozen=True, slots=True)
class Timer:
    """The session timer everyone sees (``started_at`` is None when none is stored)."""

    started_at: datetime | None
    ends_at: datetime
    label: str | None


@dataclass(frozen=True, slots=True)
class SessionState:
    """Who is in the spotlight and the running timer, if any."""

    spotlight: Participant | None
    timer: Timer | None


class ExportFormat(StrEnum):
    MARKDOWN = "markdown"
    HTML = "html"


@dataclass(frozen=True, slots=True)
class Export:
    """A document's content (or one of its versions') in ``format``."""

    content: str
    format: ExportFormat
    # The name of the document exported.
    document: str


def _document_data(info: DocumentInfo) -> dict[str, Any]:
    """A document in room events (as the HTTP API shows it)."""
    return {
        "name": info.name,
        "created_at": info.created_at.isoformat(),
        "locked": info.locked,
        "locked_by": info.locked_by,
        "template": info.template,
        "created_by": info.created_by,
        "mentor_id": info.mentor_id,
    }


def _version_data(version: VersionInfo) -> dict[str, Any]:
    """A version in room events (as the HTTP API shows it)."""
    return {
        "id": version.id,
        "name": version.name,
        "reason": version.reason,
        "created_by": version.created_by,
        "created_at": version.created_at.isoformat(),
    }


class Controls:
    def __init__(
        self,
        store: Store,
        controls: ControlStore,
        threads: ThreadStore,
        participants: ParticipantStore,
        events: RoomEvents,
        hub: DocumentHub,
        max_documents: int = 0,
    ) -> None:
        self._store = store
        self._max_documents = max_documents
        self._controls = controls
        self._threads = threads
        self._participants = participants
        self._events = events
        self._hub = hub

    # Room state

    async def room_state(self, room: Room) -> SessionState:
        """The spotlight and the timer, for a client that just arrived."""
        state = await self._controls.room_controls(room.id)
        spotlight = None
        if state.spotlight_id is not None:
            spotlight = await self._participants.get_participant(state.spotlight_id)
        timer = None
        if state.timer_ends_at is not None and state.timer_ends_at > datetime.now(UTC):
            timer = Timer(state.timer_started_at, state.timer_ends_at, state.timer_label)
        return SessionState(spotlight, timer)

    # Documents

    async def document(self, room: Room, name: str, viewer: Viewer | None = None) -> DocumentInfo:
        """The room's document ``name``; with ``viewer``, only one they may see (404
        otherwise: a mentor learns nothing of the other documents)."""
        info = await existing_document(self._store, room, name)
        if viewer is not None and not may_see(viewer, info):
            raise NotFound("unknown_document", "no such document in this room")
        return info

    async def documents(self, room: Room, viewer: Viewer) -> list[DocumentInfo]:
        """The room's documents that ``viewer`` may see."""
        return [d for d in await self._store.list_documents(room.id) if may_see(viewer, d)]

    async def appoint_mentor(self, room: Room, document_id: int, mentor: Participant) -> None:
        """Make ``mentor`` (just seated by an invitation) the document's mentor."""
        info = await self._controls.document_by_id(document_id)
        if info is None or info.room_id != room.id:
            return
        await self._controls.set_document_mentor(info.id, mentor.id)
        updated = await self._controls.document_by_id(info.id) or info
        await self._publish(room, "document.updated", {"document": _document_data(updated)})
        await self.record(
            room,
            mentor.id,
            mentor.name,
            "document.mentor",
            {"document": info.name, "mentor": mentor.id},
        )

    async def may_appoint_mentor(self, room: Room, viewer: Viewer, name: str) -> DocumentInfo:
        """The document, if ``viewer`` may choose its mentor (its creator, a facilitator)."""
        info = await self.document(room, name)
        if not viewer.is_facilitator and info.created_by != viewer.id:
            raise Forbidden(
                "forbidden", "only the document's creator or a facilitator sets its mentor"
            )
        return info

    async def create_document(self, room: Room, viewer: Viewer, draft: NewDocument) -> DocumentInfo:
        if not viewer.role.can_create_documents:
            raise Forbidden("forbidden", f"a {viewer.role} cannot create documents")
        name = document_name(draft.name)
        if name is None:
            raise Invalid(
                "invalid_name",
                "name: 1 to 100 letters, digits, spaces, dots, dashes or underscores",
            )
        template_key = draft.template
        if template_key is not None and template_key not in TEMPLATES:
            raise Invalid("invalid_template", f"template must be one of {sorted(TEMPLATES)}")
        mentor_id = await self._mentor(room, draft.mentor)
        if await self._store.get_document(room.id, name) is not None:
            raise Conflict("document_exists", "a document with this name exists")
        info = await new_document(self._store, room, name, self._max_documents)
        await self._controls.describe_document(info.id, template_key, viewer.id)
        if mentor_id is not None:
            await self._controls.set_document_mentor(info.id, mentor_id)
        if template_key is not None:
            await self._edit(room, info, append_blocks(TEMPLATES[template_key].blocks), viewer.id)
        created = await self._controls.document_by_id(info.id) or info
        await self._publish(room, "document.created", {"document": _document_data(created)})
        await self._record(
            room, viewer, "document.created", {"document": name, "template": template_key}
        )
        return created

    async def set_mentor(
        self, room: Room, viewer: Viewer, name: str, mentor: str | None
    ) -> DocumentInfo:
        """Choose the document's mentor (a participant id), or clear it (None)."""
        info = await self.may_appoint_mentor(room, viewer, name)
        mentor_id = await self._mentor(room, mentor)
        await self._controls.set_document_mentor(info.id, mentor_id)
        updated = await self._controls.document_by_id(info.id) or info
        await self._publish(room, "document.updated", {"document": _document_data(updated)})
        await self._record(
            room, viewer, "document.mentor", {"document": info.name, "mentor": mentor_id}
        )
        return updated

    async def lock(self, room: Room, viewer: Viewer, name: str, locked: bool) -> DocumentInfo:
        self._facilitator(viewer, "lock documents")
        info = await self.document(room, name)
        if locked == info.locked:
            return info
        await self._controls.set_document_locked(info.id, locked, viewer.name)
        if locked:
            await self._save_version(room, info, f"Locked by {viewer.name}", "lock", viewer.id)
        await self._publish(
            room,
            "document.locked",
            {"document": info.name, "document_id": info.id, "locked": locked, "by": viewer.name},
        )
        await self._record(
            room, viewer, "document.lock" if locked else "document.unlock", {"document": info.name}
        )
        return await self._controls.document_by_id(info.id) or info

    # Versions and export

    async def save_version(
        self, room: Room, viewer: Viewer, name: str, version_name: str
    ) -> VersionInfo:
        """Save the content of the document called ``name`` as ``version_name``."""
        self._facilitator(viewer, "save versions")
        info = await self.document(room, name)
        label = clean_text(version_name, "name", MAX_VERSION_NAME)
        version = await self._save_version(room, info, label, "manual", viewer.id)
        await self._record(
            room, viewer, "version.saved", {"document": info.name, "version": version.id}
        )
        return version

    async def versions(
        self, room: Room, name: str, viewer: Viewer | None = None
    ) -> list[VersionInfo]:
        info = await self.document(room, name, viewer)
        return await self._controls.list_versions(info.id)

    async def version(
        self, room: Room, name: str, version_id: int, viewer: Viewer | None = None
    ) -> tuple[VersionInfo, bytes]:
        info = await self.document(room, name, viewer)
        found = None if not 0 < version_id < 2**63 else await self._controls.get_version(version_id)
        if found is None or found[0].document_id != info.id:
            raise NotFound("unknown_version", "no such version of this document")
        return found

    async def restore(self, room: Room, viewer: Viewer, name: str, version_id: int) -> VersionInfo:
        """Make the content equal to the version's, as a new edit; returns the backup."""
        self._facilitator(viewer, "restore versions")
        info = await self.document(room, name)
        version, state = await self.version(room, name, version_id)
        backup = await self._save_version(
            room, info, f"Before restoring “{version.name}”", "restore", viewer.id
        )
        await self._edit(room, info, replace_with(state), viewer.id)
        await self._publish(
            room,
            "document.restored",
            {"document": info.name, "version": _version_data(version), "by": viewer.name},
        )
        await self._record(
            room, viewer, "version.restored", {"document": info.name, "version": version.id}
        )
        return backup

    async def export(
        self,
        room: Room,
        name: str,
        format: str,
        version_id: int | None = None,
        viewer: Viewer | None = None,
    ) -> Export:
        """The document, or one of its versions, in ``format`` (an ExportFormat value)."""
        info = await self.document(room, name, viewer)
        if format not in [f.value for f in ExportFormat]:
            raise Invalid("invalid_format", "format must be markdown or html")
        if version_id is None:
            state = await self.current_state(room, info)
            title = info.name
        else:
            version, state = await self.version(room, name, version_id, viewer)
            title = f"{info.name} — {version.name}"
        if format == ExportFormat.MARKDOWN:
            return Export(to_markdown(state), ExportFormat.MARKDOWN, info.name)
        return Export(to_html(state, title), ExportFormat.HTML, info.name)

    async def current_state(self, room: Room, info: DocumentInfo) -> bytes:
        async with self._hub.holding(info, room.slug) as live:
            return live.sync.encode_state()

    # People and invites

    async def remove(
        self, room: Room, viewer: Viewer, participant_id: str, rotate_invite: bool = False
    ) -> Invite | None:
        """Remove a participant; with ``rotate_invite``, also replace the invite of their
        role (so they cannot simply join again) and return the new one."""
        self._facilitator(viewer, "remove participants")
        person = None
        if is_code(participant_id):
            person = await self._participants.get_participant(participant_id)
        if person is None or person.room_id != room.id or person.removed:
            raise NotFound("unknown_participant", "no such participant in this room")
        if person.role is Role.FACILITATOR:
            raise Forbidden("forbidden", "facilitators cannot be removed")
        await self._participants.remove_participant(person.id)
        await self._publish(
            room, "participant.removed", {"participant_id": person.id, "name": person.name}
        )
        await self._record(
            room, viewer, "participant.removed", {"participant": person.id, "name": person.name}
        )
        return await self.rotate_invite(room, viewer, person.role.value) if rotate_invite else None

    async def change_role(
        self, room: Room, viewer: Viewer, participant_id: str, role: object
    ) -> Participant:
        """Give a participant another role (facilitators). The room always keeps one
        facilitator. Their open connections are closed, to come back with the new role."""
        self._facilitator(viewer, "change roles")
        if role not in INVITE_ROLES:
            raise Invalid("invalid_role", f"role must be one of {', '.join(INVITE_ROLES)}")
        new_role = Role(str(role))
        person = None
        if is_code(participant_id):
            person = await self._participants.get_participant(participant_id)
        if person is None or person.room_id != room.id or person.removed:
            raise NotFound("unknown_participant", "no such participant in this room")
        if person.role is new_role:
            return person
        if (
            person.role is Role.FACILITATOR
            and await self._participants.count_role(room.id, Role.FACILITATOR) <= 1
        ):
            raise Conflict(
                "last_facilitator", "the room needs a facilitator: make someone else one first"
            )
        await self._participants.set_role(person.id, new_role)
        await self._publish(
            room,
            "participant.role",
            {"participant_id": person.id, "name": person.name, "role": new_role.value},
        )
        await self._record(
            room,
            viewer,
            "participant.role",
            {"participant": person.id, "from": person.role.value, "to": new_role.value},
        )
        return replace(person, role=new_role)

    async def rotate_invite(self, room: Room, viewer: Viewer, role: str) -> Invite:
        self._facilitator(viewer, "rotate invites")
        if role not in [r.value for r in INVITE_ROLES]:
            raise NotFound("unknown_role", "role must be facilitator, member or observer")
        invite = await self._controls.rotate_invite(room.id, Role(role), secrets.token_urlsafe(12))
        await self._publish(room, "invite.rotated", {"role": role})
        await self._record(room, viewer, "invite.rotated", {"role": role})
        return invite

    # Session: timer, spotlight, end

    async def start_timer(self, room: Room, viewer: Viewer, request: TimerRequest) -> Timer:
        self._facilitator(viewer, "run the timer")
        seconds = request.seconds
        if not 0 < seconds <= MAX_TIMER_SECONDS:
            raise Invalid(
                "invalid_seconds", f"seconds must be an integer from 1 to {MAX_TIMER_SECONDS}"
            )
        label = (
            None if request.label is None else clean_text(request.label, "label", MAX_TIMER_LABEL)
        )
        started = datetime.now(UTC)
        ends = started + timedelta(seconds=seconds)
        await self._controls.set_timer(room.id, started, ends, label)
        await self._publish(
            room,
            "timer.started",
            {
                "started_at": started.isoformat(),
                "ends_at": ends.isoformat(),
                "label": label,
                "seconds": seconds,
                "by": viewer.name,
            },
        )
        await self._record(room, viewer, "timer.started", {"seconds": seconds, "label": label})
        return Timer(started, ends, label)

    async def stop_timer(self, room: Room, viewer: Viewer) -> None:
        self._facilitator(viewer, "run the timer")
        await self._controls.set_timer(room.id, None, None, None)
        await self._publish(room, "timer.stopped", {"by": viewer.name})
        await self._record(room, viewer, "timer.stopped", {})

    async def spotlight(self, room: Room, viewer: Viewer, on: bool) -> None:
        self._facilitator(viewer, "spotlight")
        await self._controls.set_spotlight(room.id, viewer.id if on else None)
        if on:
            await self._publish(
                room, "spotlight.started", {"participant": {"id": viewer.id, "name": viewer.name}}
            )
        else:
            await self._publish(room, "spotlight.ended", {"by": viewer.name})
        await self._record(room, viewer, "spotlight.started" if on else "spotlight.ended", {})

    async def end_session(self, room: Room, viewer: Viewer) -> list[VersionInfo]:
        """Save a version of every document, stop the timer and the spotlight."""
        self._facilitator(viewer, "end the session")
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        saved = [
            await self._save_version(room, info, f"Session ended {stamp}", "session", viewer.id)
            for info in await self._store.list_documents(room.id)
        ]
        await self._controls.set_timer(room.id, None, None, None)
        await self._controls.set_spotlight(room.id, None)
        await self._publish(room, "session.ended", {"by": viewer.name, "versions": len(saved)})
        await self._record(room, viewer, "session.ended", {"versions": len(saved)})
        return saved

    # Audit

    async def audit_log(
        self, room: Room, viewer: Viewer, limit: int, before: int | None
    ) -> list[AuditEntry]:
        self._facilitator(viewer, "read the audit log")
        return await self._controls.audit_log(room.id, limit, before)

    async def record(
        self,
        room: Room,
        actor_id: str | None,
        actor_name: str,
        action: str,
        details: dict[str, Any],
    ) -> None:
        """Append to the audit log; a failure is logged, never raised."""
        try:
            await self._controls.record(room.id, actor_id, actor_name, action, details)
        except StoreError:
            log.exception("could not record %s in room %s", action, room.slug)

    # Helpers

    def _facilitator(self, viewer: Viewer, what: str) -> None:
        if viewer.role is not Role.FACILITATOR:
            raise Forbidden("forbidden", f"only facilitators {what}")

    async def _mentor(self, room: Room, mentor: str | None) -> str | None:
        if mentor is None:
            return None
        if not is_code(mentor):
            raise Invalid("invalid_mentor", "mentor must be a participant id")
        person = await self._participants.get_participant(mentor)
        if person is None or person.room_id != room.id or person.removed:
            raise Invalid("invalid_mentor", "the mentor is not in this room")
        return person.id

    async def _save_version(
        self, room: Room, info: DocumentInfo, name: str, reason: str, created_by: str | None
    ) -> VersionInfo:
        state = await self.current_state(room, info)
        version = await self._controls.save_version(info.id, name, reason, created_by, state)
        await self._publish(
            room, "version.saved", {"document": info.name, "version": _version_data(version)}
        )
        return version

    async def _edit(self, room: Room, info: DocumentInfo, change: Any, author: str) -> None:
        """Make ``change`` as ``author``: under a new client id that is theirs, so the
        text it writes is attributed to them and counted as their edit."""
        async with self._hub.holding(info, room.slug) as live:
            client_id = await _new_client_id(live, author)
            update = edit(live.sync.encode_state(), change, client_id)
            live.apply_client_update(update, origin=None, author=author)

    async def _publish(self, room: Room, type: str, data: dict[str, Any]) -> None:
        await self._events.publish_or_log(room.id, type, data)

    async def _record(
        self, room: Room, viewer: Viewer, action: str, details: dict[str, Any]
    ) -> None:
        await self.record(room, viewer.id, viewer.name, action, details)


def may_see(viewer: Viewer, info: DocumentInfo) -> bool:
    """Whether ``viewer`` may see the document: anyone who sees the room; a mentor from
    outside the cohort only the documents they mentor."""
    return viewer.role.sees_room or info.mentor_id == viewer.id


async def _new_client_id(live: LiveDocument, author: str) -> int:
    """A Yjs client id nobody holds in the document, claimed for ``author``."""
    while True:
        client_id = secrets.randbits(32)
        if client_id in live.owners:
            continue
        await live.claim(author, [client_id])
        if live.owners.get(client_id) == author:
            return client_id
