"""Rooms and how people get into them: creation, invites, joining."""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass

from rooms.records import DocumentInfo, Participant, Room
from rooms.roles import Role
from rooms.store import DocumentLimitReached, Store

MAX_NAME_LENGTH = 64
MAX_TITLE_LENGTH = 200
MAX_DOCUMENT_NAME_LENGTH = 100
_DOCUMENT_NAME = re.compile(r"^[\w][\w .\-]*$")


class RefusedError(Exception):
    """A request the domain refuses; ``status`` is the matching HTTP status."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class CreatedRoom:
    room: Room
    invites: dict[Role, str]


def clean_text(value: object, field: str, max_length: int) -> str:
    """Trim a user-supplied label and refuse empty, overlong or control-character text."""
    if not isinstance(value, str):
        raise RefusedError(422, "invalid_" + field, f"{field} must be a string")
    text = value.strip()
    if not text:
        raise RefusedError(422, "invalid_" + field, f"{field} must not be empty")
    if len(text) > max_length:
        raise RefusedError(
            422, "invalid_" + field, f"{field} must be at most {max_length} characters"
        )
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in text):
        raise RefusedError(422, "invalid_" + field, f"{field} must not contain control characters")
    return text


def require_bool(value: object, field: str) -> bool:
    if not isinstance(value, bool):
        raise RefusedError(422, f"invalid_{field}", f"{field} must be true or false")
    return value


def bounded_int(raw: str, name: str, low: int, high: int) -> int:
    """A query parameter holding an integer from ``low`` to ``high`` (ASCII digits only)."""
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 18) or not low <= int(raw) <= high:
        raise RefusedError(400, "invalid_query", f"{name} must be an integer from {low} to {high}")
    return int(raw)


async def existing_document(store: Store, room: Room, name: object) -> DocumentInfo:
    """The room's document called ``name``: 422 for an invalid name, 404 if there is none."""
    if not isinstance(name, str) or not valid_document_name(name):
        raise RefusedError(422, "invalid_document", "document must be a document name")
    info = await store.get_document(room.id, name)
    if info is None:
        raise RefusedError(404, "unknown_document", "no such document in this room")
    return info


def valid_document_name(name: str) -> bool:
    return 0 < len(name) <= MAX_DOCUMENT_NAME_LENGTH and bool(_DOCUMENT_NAME.fullmatch(name))


def slugify(title: str) -> str:
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_title.lower())
    base = "-".join(words)[:40].strip("-") or "room"
    return f"{base}-{secrets.token_hex(3)}"


async def new_document(store: Store, room: Room, name: str, limit: int) -> DocumentInfo:
    """Create a document in ``room``, unless the room already holds ``limit`` (0: no limit)."""
    try:
        return await store.create_document(room.id, name, limit)
    except DocumentLimitReached:
        raise RefusedError(
            409, "too_many_documents", f"a room holds at most {limit} documents"
        ) from None


class RoomDirectory:
    """Creates rooms, turns invites into participants, and finds rooms and documents."""

    def __init__(self, store: Store, max_documents: int = 0) -> None:
        self._store = store
        self._max_documents = max_documents
        self._rooms: dict[str, Room] = {}

    async def create_room(self, title: object, slug: str | None = None) -> CreatedRoom:
        clean_title = clean_text(title, "title", MAX_TITLE_LENGTH)
        invites = {role: secrets.token_urlsafe(12) for role in Role}
        room = await self._store.create_room(slug or slugify(clean_title), clean_title, invites)
        self._rooms[room.slug] = room
        return CreatedRoom(room, invites)

    async def room(self, slug: str) -> Room | None:
        # Rooms are never renamed or deleted, so a process may keep them once read.
        room = self._rooms.get(slug)
        if room is None:
            room = await self._store.get_room(slug)
            if room is not None:
                self._rooms[slug] = room
        return room

    async def join(self, invite_code: object, name: object) -> tuple[Participant, Room]:
        if not isinstance(invite_code, str) or not invite_code:
            raise RefusedError(422, "invalid_invite", "invite must be a non-empty string")
        display_name = clean_text(name, "name", MAX_NAME_LENGTH)
        invite = await self._store.get_invite(invite_code)
        if invite is None or invite.revoked:
            raise RefusedError(404, "unknown_invite", "this invite is unknown or was revoked")
        participant = await self._store.add_participant(invite.room.id, display_name, invite.role)
        return participant, invite.room

    async def documents(self, room: Room) -> list[DocumentInfo]:
        return await self._store.list_documents(room.id)

    async def find_document(self, room: Room, name: str) -> DocumentInfo | None:
        """The room's document called ``name``, if there is one."""
        if not valid_document_name(name):
            raise RefusedError(400, "invalid_document_name", "invalid document name")
        return await self._store.get_document(room.id, name)

    async def open_document(self, room: Room, name: str, role: Role) -> DocumentInfo:
        """Find a document, creating it when an editor asks for a new name."""
        info = await self.find_document(room, name)
        if info is not None:
            return info
        if not role.can_create_documents:
            raise RefusedError(403, "forbidden", f"a {role} cannot create documents")
        return await new_document(self._store, room, name, self._max_documents)
