"""Records of people with accounts: the account, a sign-in email, a signed-in browser."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from rooms.records import Participant, Room
from rooms.roles import Role


@dataclass(frozen=True, slots=True)
class Account:
    id: str
    email: str
    name: str
    created_at: datetime
    admin: bool = False


class Purpose(StrEnum):
    """What redeeming a sign-in email does besides signing in."""

    SIGN_IN = "sign_in"
    # A guest keeps their seat: the participant becomes the account's.
    KEEP_SEAT = "keep_seat"
    # A facilitator invited this address: it gets a seat in the room with the role.
    INVITATION = "invitation"


@dataclass(frozen=True, slots=True)
class SignIn:
    """One sign-in email as stored: hashes of its link and code, never the secrets."""

    email: str
    link_hash: str
    code_hash: str
    purpose: Purpose
    address: str
    created_at: datetime
    expires_at: datetime
    next: str | None = None
    name: str | None = None
    participant_id: str | None = None
    room_id: int | None = None
    role: Role | None = None
    # An invitation to mentor this document.
    document_id: int | None = None
    id: int = 0
    used_at: datetime | None = None
    failed_codes: int = 0


@dataclass(frozen=True, slots=True)
class DeviceSession:
    """A browser an account is signed in on."""

    id: str
    account_id: str
    device: str
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Seat:
    """An account's participant in one room, and what happened there since its last visit."""

    room: Room
    participant: Participant
    new_activity: int
    last_activity: datetime | None
