"""People with accounts: sign-in by email, signed-in browsers, one seat per room.

No passwords. Asking to sign in stores a sign-in (:class:`SignInTicket` carries what the
email must hold): a link token and a six-digit code, both stored only as hashes, used
once, valid for minutes. Redeeming either finds or creates the account (signing in is
signing up) and does what the email was for: a guest keeping their seat, or an
invitation to a room. A signed-in browser is a :class:`DeviceSession` whose token is
stored hashed too.

An account has one participant per room whatever the device: joining again returns the
same seat, and a removed seat keeps the account out of that room.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from rooms.account_records import Account, DeviceSession, Purpose, Seat, SignIn
from rooms.directory import MAX_NAME_LENGTH, CreatedRoom, RoomDirectory, clean_text, is_code
from rooms.emails import email_domain, normalise_email
from rooms.errors import Conflict, Forbidden, Gone, Invalid, Limited, NotFound, Unauthenticated
from rooms.events import RoomEvents
from rooms.ports import AccountStore, ParticipantLimitReached, ParticipantStore
from rooms.records import Participant, Room
from rooms.roles import Role

SIGN_IN_MINUTES = 15
INVITATION_DAYS = 7
# Wrong codes a sign-in takes before it can no longer be used at all.
MAX_CODE_FAILURES = 5
LIMIT_WINDOW = timedelta(hours=1)
# A session's last use is written at most this often.
TOUCH_INTERVAL = timedelta(minutes=1)
MAX_NEXT_LENGTH = 300
MAX_DEVICE_LENGTH = 200
FORMER_PARTICIPANT = "A former participant"
REMOVED = "you were removed from this room"
# Higher ranks first: an invite of a higher role lifts a seat to it.
_RANK = {Role.MENTOR: 0, Role.OBSERVER: 1, Role.MEMBER: 2, Role.FACILITATOR: 3}


class CreationPolicy(StrEnum):
    """Who may create rooms: anyone signed in, or the admins and those listed."""

    ANYONE = "anyone"
    LISTED = "listed"


POLICY_SETTING = "room_creation"


def _now() -> datetime:
    return datetime.now(UTC)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def safe_next(value: object) -> str | None:
    """``value`` if it is a path on this server to go to after signing in, else None:
    never another site (``//host``, ``/\\host``, a scheme), never control characters."""
    if not isinstance(value, str) or not value.startswith("/") or len(value) > MAX_NEXT_LENGTH:
        return None
    if value.startswith("//") or "\\" in value or not value.isascii():
        return None
    if any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in value):
        return None
    return value


@dataclass(frozen=True, slots=True)
class SignInTicket:
    """What one sign-in email must carry: the link's token and the code, in the clear
    (storage has only their hashes)."""

    email: str
    token: str
    code: str
    expires_at: datetime
    purpose: Purpose


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A redeemed sign-in: the account, where to go next, and the seat it got (if any)."""

    account: Account
    next: str | None
    seat: Participant | None = None
    # A guest seat could not be kept: the account already has a seat in that room.
    seat_kept: bool = True
    # An invitation to mentor this document (in ``room``) was redeemed.
    mentor_of: int | None = None
    room: Room | None = None


class Accounts:
    """Sign-in, sessions and seats. ``secret`` keys the codes' hashes (a six-digit code
    hashed without a key could be found from its hash in a million tries)."""

    def __init__(
        self,
        store: AccountStore,
        participants: ParticipantStore,
        directory: RoomDirectory,
        secret: str,
        *,
        per_email: int = 5,
        per_address: int = 30,
        session_days: int = 30,
        events: RoomEvents | None = None,
    ) -> None:
        self._store = store
        self._events = events
        self._participants = participants
        self._directory = directory
        self._key = hashlib.sha256(("sign-in codes:" + secret).encode()).digest()
        self._per_email = per_email
        self._per_address = per_address
        self._session_lifetime = timedelta(days=session_days)

    @property
    def store(self) -> AccountStore:
        return self._store

    # Asking to sign in

    async def request(
        self,
        email: object,
        address: str,
        *,
        purpose: Purpose = Purpose.SIGN_IN,
        next_path: object = None,
        name: object = None,
        participant_id: str | None = None,
        room: Room | None = None,
        role: Role | None = None,
        document_id: int | None = None,
        now: datetime | None = None,
    ) -> SignInTicket:
        """Store a sign-in for ``email`` and return what its email must carry.

        The answer does not depend on whether an account exists. Limited per address and
        per client ``address`` over an hour (an invitation only per address: a
        facilitator invites a whole cohort from one place).
        """
        now = now or _now()
        normalised = normalise_email(email)
        display_name = None if name is None else clean_text(name, "name", MAX_NAME_LENGTH)
        by_email, by_address = await self._store.recent_sign_ins(
            normalised, address, now - LIMIT_WINDOW
        )
        self._limit(by_email, self._per_email, now, "for this email address")
        if purpose is not Purpose.INVITATION:
            self._limit(by_address, self._per_address, now, "from your network")
        lifetime = (
            timedelta(days=INVITATION_DAYS)
            if purpose is Purpose.INVITATION
            else timedelta(minutes=SIGN_IN_MINUTES)
        )
        token = secrets.token_urlsafe(32)
        code = f"{secrets.randbelow(10**6):06d}"
        link_hash = _digest(token)
        await self._store.add_sign_in(
            SignIn(
                email=normalised,
                link_hash=link_hash,
                code_hash=self._code_hash(link_hash, code),
                purpose=purpose,
                address=address[:64],
                created_at=now,
                expires_at=now + lifetime,
                next=safe_next(next_path),
                name=display_name,
                participant_id=participant_id,
                room_id=None if room is None else room.id,
                role=role,
                document_id=document_id,
            )
        )
        return SignInTicket(normalised, token, code, now + lifetime, purpose)

    def _limit(self, recent: list[datetime], limit: int, now: datetime, where: str) -> None:
        if 0 < limit <= len(recent):
            wait = recent[-limit] + LIMIT_WINDOW - now
            raise Limited(
                "too_many_sign_ins",
                f"too many sign-in emails {where}: try again later",
                max(1, int(wait.total_seconds()) + 1),
            )

    def _code_hash(self, link_hash: str, code: str) -> str:
        return hmac.new(self._key, f"{link_hash}:{code}".encode(), hashlib.sha256).hexdigest()

    # Redeeming a sign-in

    async def redeem_link(self, token: object, now: datetime | None = None) -> SignedIn:
        now = now or _now()
        if not isinstance(token, str) or not is_code(token):
            raise NotFound("unknown_link", "this sign-in link is not one of ours")
        link_hash = _digest(token)
        sign_in = await self._store.use_link(link_hash, now, MAX_CODE_FAILURES)
        if sign_in is None:
            found = await self._store.sign_in_by_link(link_hash)
            if found is None:
                raise NotFound("unknown_link", "this sign-in link is not one of ours")
            if found.used_at is not None:
                raise Gone("link_used", "this sign-in link was already used")
            raise Gone("link_expired", "this sign-in link has expired")
        return await self._complete(sign_in)

    async def redeem_code(
        self, email: object, code: object, now: datetime | None = None
    ) -> SignedIn:
        now = now or _now()
        normalised = normalise_email(email)
        typed = "".join(code.split()) if isinstance(code, str) else ""
        live = await self._store.live_sign_ins(normalised, now, MAX_CODE_FAILURES)
        if not live:
            raise Gone("code_expired", "this code has expired: ask for a new email")
        match = None
        if len(typed) == 6 and typed.isascii() and typed.isdigit():
            for sign_in in live:
                expected = sign_in.code_hash
                if hmac.compare_digest(expected, self._code_hash(sign_in.link_hash, typed)):
                    match = sign_in
                    break
        if match is None:
            await self._store.fail_codes([s.id for s in live])
            raise Unauthenticated("wrong_code", "that code is not right: check the email")
        if not await self._store.use_sign_in(match.id, now):
            raise Gone("code_expired", "this code was already used")
        return await self._complete(match)

    async def _complete(self, sign_in: SignIn) -> SignedIn:
        account = await self._store.account_by_email(sign_in.email)
        if account is None:
            name = sign_in.name or name_from_email(sign_in.email)
            account = await self._store.create_account(sign_in.email, name)
        if sign_in.purpose is Purpose.KEEP_SEAT and sign_in.participant_id is not None:
            kept = await self._store.attach(sign_in.participant_id, account.id)
            seat = await self._participants.get_participant(sign_in.participant_id)
            if not kept or seat is None:
                return SignedIn(account, sign_in.next, None, False)
            room = await self._store.room(seat.room_id)
            if self._events is not None and room is not None:
                await self._events.publish_or_log(
                    room.id, "participant.updated", {"participant_id": seat.id, "guest": False}
                )
            return SignedIn(account, sign_in.next, seat, True, room=room)
        if sign_in.purpose is Purpose.INVITATION and sign_in.room_id is not None:
            room_role = sign_in.role or Role.MEMBER
            seat, _ = await self._seat_in_room(account, sign_in.room_id, room_role)
            room = await self._store.room(sign_in.room_id)
            return SignedIn(account, sign_in.next, seat, mentor_of=sign_in.document_id, room=room)
        return SignedIn(account, sign_in.next)

    # Signed-in browsers

    async def start_session(
        self, account: Account, device: str, now: datetime | None = None
    ) -> tuple[str, DeviceSession]:
        """A new session and the token its cookie holds."""
        now = now or _now()
        token = secrets.token_urlsafe(32)
        session = DeviceSession(
            id=uuid.uuid4().hex,
            account_id=account.id,
            device=_device(device),
            created_at=now,
            last_used_at=now,
            expires_at=now + self._session_lifetime,
        )
        await self._store.add_session(session, _digest(token))
        return token, session

    async def session(
        self, token: str | None, now: datetime | None = None
    ) -> tuple[DeviceSession, Account] | None:
        """The live session a cookie's token names, its expiry pushed on by use."""
        if not token or not is_code(token):
            return None
        now = now or _now()
        found = await self._store.session_by_token(_digest(token), now)
        if found is None:
            return None
        session, account = found
        if now - session.last_used_at >= TOUCH_INTERVAL:
            await self._store.touch_session(session.id, now, now + self._session_lifetime)
        return session, account

    async def sessions(self, account: Account) -> list[DeviceSession]:
        return await self._store.list_sessions(account.id)

    async def end_session(self, account: Account, session_id: str) -> None:
        if not is_code(session_id) or not await self._store.end_session(account.id, session_id):
            raise NotFound("unknown_session", "no such session of yours")
        await self._announce(account, [session_id])

    async def end_sessions(self, account: Account) -> None:
        await self._announce(account, await self._store.end_sessions(account.id))

    async def _announce(self, account: Account, session_ids: list[str]) -> None:
        """Tell the account's rooms, so that the connections those browsers hold close."""
        if not session_ids or self._events is None:
            return
        for seat in await self._store.seats(account.id):
            await self._events.publish_or_log(
                seat.room.id,
                "participant.signed_out",
                {"participant_id": seat.participant.id, "sessions": session_ids},
            )

    # The account

    async def rename(self, account: Account, name: object) -> Account:
        clean = clean_text(name, "name", MAX_NAME_LENGTH)
        await self._store.rename_account(account.id, clean)
        renamed = await self._store.account(account.id)
        if renamed is None:
            raise NotFound("unknown_account", "this account no longer exists")
        return renamed

    async def delete(self, account: Account) -> list[Seat]:
        """Forget the account; returns the seats it held (now a former participant's,
        removed from their rooms)."""
        seats = await self._store.seats(account.id)
        await self._store.delete_account(account.id, FORMER_PARTICIPANT)
        return seats

    # Seats

    async def join(self, account: Account, invite_code: object) -> tuple[Participant, Room, bool]:
        """The account's seat in the invite's room: the one it has, or a new one (then
        the last item is True)."""
        if not is_code(invite_code):
            raise Invalid("invalid_invite", "invite must be an invite code")
        invite = await self._directory.invite(invite_code)
        seat, new = await self._seat_in_room(account, invite.room.id, invite.role)
        return seat, invite.room, new

    async def _seat_in_room(
        self, account: Account, room_id: int, role: Role
    ) -> tuple[Participant, bool]:
        seat = await self._store.seat(account.id, room_id)
        if seat is not None:
            if seat.removed:
                raise Forbidden("removed", REMOVED)
            if _RANK[role] > _RANK[seat.role]:
                await self._participants.set_role(seat.id, role)
                seat = await self._participants.get_participant(seat.id) or seat
            return seat, False
        cap = 0 if role is Role.FACILITATOR else await self._directory.participant_cap(room_id)
        try:
            added = await self._participants.add_participant(
                room_id, account.name, role, cap, account_id=account.id
            )
            return added, True
        except ParticipantLimitReached:
            raise Conflict(
                "room_full", f"this room is full: it takes {cap} participants at most"
            ) from None

    async def seat_for(self, account: Account, room: Room, seq: int) -> Participant:
        """The account's seat in ``room``, noting the visit (``seq``: the room's latest event)."""
        seat = await self._store.seat(account.id, room.id)
        if seat is None:
            raise NotFound("not_a_member", "you have no seat in this room")
        if seat.removed:
            raise Forbidden("removed", REMOVED)
        await self._store.mark_seen(seat.id, seq)
        return seat

    async def seats(self, account: Account) -> list[Seat]:
        return await self._store.seats(account.id)

    # Who may create rooms

    async def policy(self) -> CreationPolicy:
        value = await self._store.get_setting(POLICY_SETTING)
        return CreationPolicy(value) if value in set(CreationPolicy) else CreationPolicy.LISTED

    async def set_policy(self, policy: CreationPolicy) -> None:
        await self._store.set_setting(POLICY_SETTING, policy.value)

    async def may_create_rooms(self, account: Account) -> bool:
        if account.admin or await self.policy() is CreationPolicy.ANYONE:
            return True
        listed = set(await self._store.room_creators())
        return account.email in listed or "@" + email_domain(account.email) in listed

    async def create_room(self, account: Account, title: str) -> tuple[CreatedRoom, Participant]:
        """A new room with the account as its first facilitator."""
        if not await self.may_create_rooms(account):
            raise Forbidden(
                "not_allowed_to_create",
                "this server lets only the people its administrators list create rooms",
            )
        created = await self._directory.create_room(title)
        seat = await self._participants.add_participant(
            created.room.id, account.name, Role.FACILITATOR, account_id=account.id
        )
        return created, seat


def creator_pattern(value: str) -> str:
    """An address or ``@domain`` as listed for room creation, normalised."""
    text = value.strip()
    if text.startswith("@"):
        domain = normalise_email("x" + text).rpartition("@")[2]
        return "@" + domain
    return normalise_email(text)


def name_from_email(email: str) -> str:
    """A first display name for a new account: the address's local part, tidied."""
    local = email.partition("@")[0]
    words = [w for w in local.replace("_", ".").replace("-", ".").split(".") if w]
    name = " ".join(w[:1].upper() + w[1:] for w in words)[:MAX_NAME_LENGTH]
    try:
        return clean_text(name, "name", MAX_NAME_LENGTH)
    except Invalid:
        return "New participant"


def _device(user_agent: str) -> str:
    """A short description of the browser from its User-Agent, for the device list."""
    ua = user_agent or ""
    browser = next(
        (
            label
            for key, label in (
                ("Edg/", "Edge"),
                ("OPR/", "Opera"),
                ("Firefox/", "Firefox"),
                ("Chrome/", "Chrome"),
                ("Safari/", "Safari"),
            )
            if key in ua
        ),
        "A browser",
    )
    system = next(
        (
            label
            for key, label in (
                ("iPhone", "iPhone"),
                ("iPad", "iPad"),
                ("Android", "Android"),
                ("Windows", "Windows"),
                ("Mac OS X", "macOS"),
                ("CrOS", "ChromeOS"),
                ("Linux", "Linux"),
            )
            if key in ua
        ),
        None,
    )
    text = browser if system is None else f"{browser} on {system}"
    if "Headless" in ua:
        text += " (headless)"
    return text[:MAX_DEVICE_LENGTH]
