"""Rooms and how people get into them: creation, invites, joining."""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass
from typing import Protocol, TypeGuard

from rooms.errors import Conflict, Forbidden, Invalid, NotFound
from rooms.ports import DocumentLimitReached, ParticipantLimitReached, ParticipantStore, Store
from rooms.records import DocumentInfo, Invite, Participant, Room
from rooms.roles import INVITE_ROLES, Role
from rooms.threads import RoomSettings

MAX_NAME_LENGTH = 64
MAX_TITLE_LENGTH = 200
MAX_DOCUMENT_NAME_LENGTH = 100
_DOCUMENT_NAME = re.compile(r"^[\w][\w .\-]*$")
# Invite codes and participant ids are made by the server from URL-safe ASCII.
_CODE = re.compile(r"[A-Za-z0-9_\-]{1,64}")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
# Bidirectional embeddings, overrides (U+202E shows "exe.txt" as "txt.exe") and isolates.
_BIDI_CONTROLS = frozenset(map(chr, (*range(0x202A, 0x202F), *range(0x2066, 0x206A))))
_MULTILINE_CONTROLS = frozenset("\n\t")


@dataclass(frozen=True, slots=True)
class CreatedRoom:
    room: Room
    invites: dict[Role, str]


def clean_text(value: object, field: str, max_length: int, *, multiline: bool = False) -> str:
    """``value`` as text to store: NFC, trimmed, 1 to ``max_length`` characters (counted
    after normalisation), or a 422 ``invalid_<field>`` :class:`~rooms.errors.Refused`.

    Every piece of free text a person sends goes through here: names, titles, version
    names, timer labels, comment bodies, quotes. Refused: anything but a string; lone
    surrogates (JSON's ``"\\ud800"`` parses to one; it is not Unicode text and cannot be
    stored as UTF-8); control characters; bidirectional embeddings, overrides and
    isolates. One-line text also refuses every other invisible format character (the
    bidi marks U+200E, U+200F and U+061C, zero-width spaces and joiners, soft hyphens),
    so that a name looks like what it is. ``multiline`` text (comment bodies, quotes)
    keeps line feeds (CRLF becomes LF), tabs, the joiners of emoji sequences and the
    scripts that need them, and the bidi marks of right-to-left writing.
    """
    code = "invalid_" + field
    if not isinstance(value, str):
        raise Invalid(code, f"{field} must be a string")
    if _SURROGATE.search(value):
        raise Invalid(code, f"{field} must be Unicode text (it holds a lone surrogate)")
    if multiline:
        value = value.replace("\r\n", "\n")
    text = unicodedata.normalize("NFC", value).strip()
    if not text:
        raise Invalid(code, f"{field} must not be empty")
    if len(text) > max_length:
        raise Invalid(code, f"{field} must be at most {max_length:,} characters")
    for ch in text:
        category = unicodedata.category(ch)
        if category == "Cc" and not (multiline and ch in _MULTILINE_CONTROLS):
            raise Invalid(code, f"{field} must not contain control characters")
        if ch in _BIDI_CONTROLS or (category == "Cf" and not multiline):
            raise Invalid(
                code, f"{field} must not contain bidirectional or invisible format characters"
            )
    return text


def is_code(value: object) -> TypeGuard[str]:
    """Whether ``value`` can be an invite code or a participant id. Anything else (a lone
    surrogate, or a NUL, which PostgreSQL refuses) names nobody and is not looked up."""
    return isinstance(value, str) and _CODE.fullmatch(value) is not None


async def existing_document(store: Store, room: Room, name: object) -> DocumentInfo:
    """The room's document called ``name``: 422 for an invalid name, 404 if there is none."""
    found = document_name(name)
    if found is None:
        raise Invalid("invalid_document", "document must be a document name")
    info = await store.get_document(room.id, found)
    if info is None:
        raise NotFound("unknown_document", "no such document in this room")
    return info


def valid_document_name(name: str) -> bool:
    return 0 < len(name) <= MAX_DOCUMENT_NAME_LENGTH and bool(_DOCUMENT_NAME.fullmatch(name))


def document_name(value: object) -> str | None:
    """``value`` as a document name in NFC, or None if it cannot be one. Every lookup and
    creation goes through here, so a name typed with combining accents (as some keyboard
    layouts do) finds the document whose name was typed precomposed."""
    if not isinstance(value, str):
        return None
    name = unicodedata.normalize("NFC", value)
    return name if valid_document_name(name) else None


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
        raise Conflict("too_many_documents", f"a room holds at most {limit} documents") from None


class RoomSettingsSource(Protocol):
    async def room_settings(self, room_id: int) -> RoomSettings: ...


class RoomDirectory:
    """Creates rooms, turns invites into participants, and finds rooms and documents.

    A room holds at most its ``max_participants`` setting (read from ``settings``), or
    else ``max_participants`` members and observers (0: no cap); facilitators always get
    in, so that someone can still manage a full room.
    """

    def __init__(
        self,
        store: Store,
        participants: ParticipantStore,
        max_documents: int = 0,
        max_participants: int = 0,
        settings: RoomSettingsSource | None = None,
    ) -> None:
        self._store = store
        self._participants = participants
        self._max_documents = max_documents
        self._max_participants = max_participants
        self._settings = settings
        self._rooms: dict[str, Room] = {}

    async def create_room(self, title: str, slug: str | None = None) -> CreatedRoom:
        clean_title = clean_text(title, "title", MAX_TITLE_LENGTH)
        invites = {role: secrets.token_urlsafe(12) for role in INVITE_ROLES}
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

    async def join(self, invite_code: str, name: str) -> tuple[Participant, Room]:
        if not is_code(invite_code):
            raise Invalid("invalid_invite", "invite must be an invite code")
        display_name = clean_text(name, "name", MAX_NAME_LENGTH)
        invite = await self.invite(invite_code)
        if (
            self._settings is not None
            and not (await self._settings.room_settings(invite.room.id)).guests_allowed
        ):
            raise Forbidden(
                "sign_in_required", "this room takes only people who sign in with their email"
            )
        cap = 0 if invite.role is Role.FACILITATOR else await self.participant_cap(invite.room)
        try:
            participant = await self._participants.add_participant(
                invite.room.id, display_name, invite.role, cap
            )
        except ParticipantLimitReached:
            raise Conflict(
                "room_full", f"this room is full: it takes {cap} participants at most"
            ) from None
        return participant, invite.room

    async def invite(self, invite_code: str) -> Invite:
        """The invite of ``invite_code``, or a 404 when it is unknown or was replaced."""
        invite = await self._store.get_invite(invite_code)
        if invite is None or invite.revoked:
            raise NotFound("unknown_invite", "this invite is unknown or was revoked")
        return invite

    async def participant_cap(self, room: Room | int) -> int:
        """Members and observers the room (or room id) takes at most (0: no cap)."""
        room_id = room if isinstance(room, int) else room.id
        if self._settings is not None:
            own = (await self._settings.room_settings(room_id)).max_participants
            if own is not None:
                return own
        return self._max_participants

    async def documents(self, room: Room) -> list[DocumentInfo]:
        return await self._store.list_documents(room.id)

    async def find_document(self, room: Room, name: str) -> DocumentInfo | None:
        """The room's document called ``name``, if there is one."""
        return await self._store.get_document(room.id, _named(name))

    async def open_document(self, room: Room, name: str, role: Role) -> DocumentInfo:
        """Find a document, creating it when an editor asks for a new name."""
        name = _named(name)
        info = await self.find_document(room, name)
        if info is not None:
            return info
        if not role.can_create_documents:
            raise Forbidden("forbidden", f"a {role} cannot create documents")
        return await new_document(self._store, room, name, self._max_documents)


def _named(name: str) -> str:
    found = document_name(name)
    if found is None:
        raise Invalid("invalid_document_name", "invalid document name")
    return found
