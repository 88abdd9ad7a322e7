"""The storage ports: what the domain asks of durable storage, and how storage fails.

Four protocols, all backed by one database (or one :class:`rooms.memory.MemoryState`),
so that what one of them writes the others read:

- :class:`Store`: rooms and their invites, documents (with the room's document limit),
  each document's snapshot and update log, Yjs client-id claims, the room event log
  with its gapless sequence numbers, the records of the processes serving, and the
  text activity stored with the updates (for participation). The live documents
  (:mod:`rooms.live`), the room events and the room directory use it.
- :class:`ParticipantStore`: participants joining (with the room's participant limit),
  looked up and listed, their standing and removal, their time present. The room
  directory, the comment service, the controls and the server's authentication use it.
- :class:`ThreadStore`: comment threads and questions with their comments, reactions
  and mentions, and a room's settings. The comment service (:mod:`rooms.comments`) and
  the controls use it.
- :class:`ControlStore`: what a facilitator changes: invite rotation, a document's
  lock, description and mentor, the room's spotlight and timer, saved document
  versions, and the room's audit log. The controls service (:mod:`rooms.controls`)
  uses it.

Adapters: ``server.storage.store.SqlStore``,
``server.storage.participants.SqlParticipantStore``,
``server.storage.threads.SqlThreadStore`` and
``server.storage.controls.SqlControlStore`` (SQLAlchemy 2 async on SQLite or
PostgreSQL, sharing one engine), and :class:`rooms.memory.MemoryStore`,
:class:`rooms.memory.MemoryParticipantStore`, :class:`rooms.memory.MemoryThreadStore`
and :class:`rooms.memory.MemoryControlStore` (plain dicts, sharing one state) for
tests. ``tests/contract`` runs the same assertions against both.

The records the ports carry live next to the domain that uses them:
:mod:`rooms.records`, :mod:`rooms.threads` and :mod:`rooms.control_records`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from rooms.account_records import Account, DeviceSession, Seat, SignIn
from rooms.control_records import AuditEntry, RoomControls, VersionInfo
from rooms.participation_records import (
    ActivityBucket,
    DocumentActivity,
    PresenceSpan,
    ThreadCounts,
    UnansweredQuestion,
)
from rooms.records import (
    DocumentInfo,
    Invite,
    Participant,
    Room,
    RoomEvent,
    StoredDocument,
    TextActivity,
)
from rooms.roles import Role
from rooms.threads import (
    CommentState,
    NewThread,
    Reaction,
    RoomSettings,
    Thread,
    ThreadQuery,
    ThreadStatus,
)


class StoreError(Exception):
    """Storage failed; the caller keeps its data and may retry."""


class DocumentLimitReached(Exception):
    """The room already holds as many documents as it may."""


class ParticipantLimitReached(Exception):
    """The room already holds as many members and observers as it may."""


class Store(Protocol):
    """Durable state: rooms, invites, documents and their update logs."""

    async def create_room(self, slug: str, title: str, invites: dict[Role, str]) -> Room: ...

    async def get_room(self, slug: str) -> Room | None: ...

    async def get_invite(self, code: str) -> Invite | None:
        """The invite, revoked or not (see :attr:`Invite.revoked`)."""
        ...

    async def list_invites(self, room_id: int) -> list[Invite]:
        """The room's invites that were not revoked, oldest first."""
        ...

    async def list_documents(self, room_id: int) -> list[DocumentInfo]:
        """The room's documents in order of creation."""
        ...

    async def get_document(self, room_id: int, name: str) -> DocumentInfo | None: ...

    async def create_document(self, room_id: int, name: str, limit: int = 0) -> DocumentInfo:
        """Create the document, or return it if another caller already did.

        With ``limit`` above 0, raise :class:`DocumentLimitReached` if the room already
        holds that many documents (even when one of them is called ``name``);
        concurrent creations (in any process) cannot pass it.
        """
        ...

    async def load_document(self, document_id: int) -> StoredDocument:
        """The snapshot and the log after it, oldest first; :class:`StoreError` for an
        unknown document."""
        ...

    async def append_updates(
        self,
        document_id: int,
        updates: Sequence[bytes],
        activity: Sequence[TextActivity] = (),
    ) -> None:
        """Append to the log in one transaction: all are stored or none.

        ``activity`` (what these updates did to the text, per participant and bucket) is
        added to the document's sums in the same transaction: a batch that fails is
        counted nowhere, a stored one exactly once. Nothing more is written without it.
        """
        ...

    async def activity_totals(
        self, room_id: int, participant_id: str | None = None
    ) -> list[DocumentActivity]:
        """Text activity per document and participant of the room (or of one participant)."""
        ...

    async def activity_buckets(
        self, room_id: int, since: datetime | None = None
    ) -> list[ActivityBucket]:
        """Everyone's text activity per document and bucket (from the bucket ``since``
        on), oldest bucket first."""
        ...

    async def replace_snapshot(
        self,
        document_id: int,
        expected_version: int,
        snapshot: bytes,
        folded_update_ids: Sequence[int],
    ) -> bool:
        """Store ``snapshot`` and delete the log rows ``folded_update_ids``, atomically.

        Returns False, changing nothing, if the snapshot version is no longer
        ``expected_version`` (another compaction won the race) or there is no such
        document.
        """
        ...

    async def claim_clients(
        self, document_id: int, participant_id: str, client_ids: Sequence[int]
    ) -> dict[int, str]:
        """Give each of ``client_ids`` that nobody holds in the document to
        ``participant_id``, and return the owner of every one of them. The first claim
        wins, in every process; a claim never changes."""
        ...

    async def document_authors(self, document_id: int) -> dict[int, str]:
        """Every claimed client id of the document and the participant who owns it."""
        ...

    async def append_event(self, room_id: int, type: str, data: dict[str, Any]) -> RoomEvent:
        """Store an event with the room's next sequence number, atomically.

        ``data`` is stored as JSON: :meth:`events_since` reads back what JSON keeps of
        it (lists for tuples, string keys)."""
        ...

    async def events_since(self, room_id: int, after_seq: int, limit: int) -> list[RoomEvent]:
        """The room's events with ``seq > after_seq``, oldest first, at most ``limit``."""
        ...

    async def last_event_seq(self, room_id: int) -> int:
        """The sequence number of the room's latest event (0 before the first)."""
        ...

    async def begin_run(self, run_id: str, *, sole: bool, stale_after: float) -> list[str]:
        """Record that the process ``run_id`` serves from now on, and return the other
        records found: processes running now, or ones that did not stop cleanly
        (:meth:`end_run`) and may have relayed edits they never stored. With ``sole``
        (no other process shares this database) each is a dead process's and removed;
        otherwise only those not renewed for ``stale_after`` seconds are removed."""
        ...

    async def renew_run(self, run_id: str) -> None:
        """Mark the process ``run_id`` as alive now."""
        ...

    async def end_run(self, run_id: str) -> bool:
        """Remove the record of the process ``run_id``: it stopped cleanly, everything it
        relayed is stored. Returns whether the record was there, that is whether the
        process had not already removed it itself on a clean stop."""
        ...

    async def close(self) -> None: ...


class ParticipantStore(Protocol):
    """Durable participants: joining, lookup, listing, standing and removal."""

    async def add_participant(
        self, room_id: int, name: str, role: Role, limit: int = 0, account_id: str | None = None
    ) -> Participant:
        """Store a new participant, a guest or (with ``account_id``) an account's seat.

        With ``limit`` above 0, raise :class:`ParticipantLimitReached` if the room already
        holds that many members and observers who were not removed; concurrent joins (in
        any process) cannot pass it. An account has one seat per room: when another
        request stored it first, that seat is returned.
        """
        ...

    async def get_participant(self, participant_id: str) -> Participant | None: ...

    async def list_participants(
        self, room_id: int, limit: int | None = None, after: Participant | None = None
    ) -> list[Participant]:
        """The room's participants who were not removed, in order of joining; with
        ``after``, only those who joined after that one (removed or not)."""
        ...

    async def standing(self, participant_id: str) -> tuple[Role, str] | None:
        """The role and name of the participant, or None if there is none or they were
        removed."""
        ...

    async def remove_participant(self, participant_id: str) -> None: ...

    async def set_role(self, participant_id: str, role: Role) -> None: ...

    async def count_role(self, room_id: int, role: Role) -> int:
        """How many participants who were not removed hold ``role`` in the room."""
        ...

    async def add_presence(
        self, room_id: int, participant_id: str, started_at: datetime, ended_at: datetime
    ) -> None:
        """Record one event-socket connection of the participant, once it closed."""
        ...

    async def presence_spans(
        self, room_id: int, participant_id: str | None = None
    ) -> list[PresenceSpan]:
        """The room's recorded connections (or one participant's), by start."""
        ...


class ThreadStore(Protocol):
    """Durable threads. Each method is one transaction."""

    async def create_thread(self, draft: NewThread) -> int:
        """Store a thread with its opening comment and mentions; returns the thread id."""
        ...

    async def add_comment(
        self, thread_id: int, author_id: str, body: str, mention_ids: Sequence[str]
    ) -> int:
        """Store a reply and count it on the thread; returns the comment id."""
        ...

    async def load_thread(self, thread_id: int) -> Thread | None: ...

    async def list_threads(self, room_id: int, query: ThreadQuery) -> list[Thread]:
        """Questions without answers first, then by latest activity."""
        ...

    async def thread_of_comment(self, comment_id: int) -> int | None: ...

    async def edit_comment(
        self, comment_id: int, body: str, mention_ids: Sequence[str]
    ) -> None: ...

    async def set_comment_state(self, comment_id: int, state: CommentState) -> None:
        """Change a comment's state; deleting or removing erases its body and mentions."""
        ...

    async def update_thread(
        self,
        thread_id: int,
        *,
        status: ThreadStatus | None = None,
        locked: bool | None = None,
        accepted_comment_id: int | bool | None = False,
    ) -> None:
        """Change the given fields; ``accepted_comment_id=False`` leaves it unchanged."""
        ...

    async def set_reaction(
        self, comment_id: int, participant_id: str, reaction: Reaction, on: bool
    ) -> bool:
        """Add or take back a reaction; returns whether anything changed."""
        ...

    async def mentions_of(
        self, room_id: int, participant_id: str, limit: int, offset: int
    ) -> list[tuple[int, int]]:
        """(thread id, comment id) of comments that mention the participant, newest first."""
        ...

    async def room_settings(self, room_id: int) -> RoomSettings: ...

    async def participation_counts(
        self,
        room_id: int,
        *,
        participant_id: str | None = None,
        include_anonymous: bool = True,
    ) -> list[ThreadCounts]:
        """Each participant's part in the room's threads (see :class:`ThreadCounts`);
        only those with something counted. Without ``include_anonymous``, what askers
        wrote in their own anonymous questions (the opening, their replies there, the
        reactions those got) is left out, and ``anonymous_questions`` is 0."""
        ...

    async def unanswered_questions(self, room_id: int) -> list[UnansweredQuestion]:
        """Open questions with no reply and no accepted answer (the opening not deleted),
        oldest first."""
        ...

    async def update_room_settings(self, room_id: int, settings: RoomSettings) -> None: ...


class ControlStore(Protocol):
    """Durable state of the facilitator's controls. Each method is one transaction."""

    async def rotate_invite(self, room_id: int, role: Role, code: str) -> Invite:
        """Revoke the role's current invite codes and store ``code`` in their place."""
        ...

    async def document_by_id(self, document_id: int) -> DocumentInfo | None: ...

    async def set_document_locked(
        self, document_id: int, locked: bool, by: str | None = None
    ) -> None:
        """Lock or unlock a document; a lock remembers ``by``, who locked it (a display
        name), and unlocking forgets it."""
        ...

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


class AccountStore(Protocol):
    """People with accounts: sign-in emails, signed-in browsers, seats, room creators.

    Every check that must hold across processes (a link used once, a code's failed
    tries, the sign-in limits) is decided by storage in one statement.
    """

    async def recent_sign_ins(
        self, email: str, address: str, since: datetime
    ) -> tuple[list[datetime], list[datetime]]:
        """When the sign-in emails since ``since`` were asked for: for ``email`` and from
        ``address``, each oldest first."""
        ...

    async def add_sign_in(self, sign_in: SignIn) -> int: ...

    async def use_link(self, link_hash: str, now: datetime, max_failures: int) -> SignIn | None:
        """Mark the sign-in of this link used and return it, if it is unused, unexpired
        and not locked by wrong codes; None otherwise (nothing changes)."""
        ...

    async def sign_in_by_link(self, link_hash: str) -> SignIn | None: ...

    async def live_sign_ins(self, email: str, now: datetime, max_failures: int) -> list[SignIn]:
        """The address's sign-ins that may still be used, newest first."""
        ...

    async def use_sign_in(self, sign_in_id: int, now: datetime) -> bool:
        """Mark one sign-in used; False if it was used meanwhile."""
        ...

    async def fail_codes(self, sign_in_ids: Sequence[int]) -> None:
        """Count a wrong code against each of these sign-ins."""
        ...

    async def account(self, account_id: str) -> Account | None: ...

    async def account_by_email(self, email: str) -> Account | None: ...

    async def create_account(self, email: str, name: str, admin: bool = False) -> Account:
        """A new account, or the one another request created for the address first."""
        ...

    async def rename_account(self, account_id: str, name: str) -> None:
        """Rename the account and every seat of it."""
        ...

    async def set_admin(self, account_id: str, admin: bool) -> None: ...

    async def list_admins(self) -> list[Account]: ...

    async def delete_account(self, account_id: str, former_name: str) -> None:
        """Forget the account: its sessions and sign-ins go; its seats stay, removed,
        with no account and ``former_name`` for a name."""
        ...

    async def add_session(self, session: DeviceSession, token_hash: str) -> None: ...

    async def session_by_token(
        self, token_hash: str, now: datetime
    ) -> tuple[DeviceSession, Account] | None:
        """The unexpired session with this token and its account."""
        ...

    async def session_alive(self, session_id: str) -> bool:
        """Whether the session exists and has not expired."""
        ...

    async def touch_session(self, session_id: str, now: datetime, expires_at: datetime) -> None: ...

    async def list_sessions(self, account_id: str) -> list[DeviceSession]:
        """The account's sessions, most recently used first."""
        ...

    async def end_session(self, account_id: str, session_id: str) -> bool: ...

    async def end_sessions(self, account_id: str) -> list[str]:
        """End every session of the account; their ids."""
        ...

    async def seat(self, account_id: str, room_id: int) -> Participant | None:
        """The account's participant in the room (removed or not)."""
        ...

    async def seats(self, account_id: str, include_removed: bool = False) -> list[Seat]:
        """The account's participants (not removed ones, unless asked), with their rooms,
        most recently active first."""
        ...

    async def attach(self, participant_id: str, account_id: str) -> bool:
        """Make a guest participant the account's seat; False if it is not a guest or
        the account already has a seat in that room."""
        ...

    async def mark_seen(self, participant_id: str, seq: int) -> None: ...

    async def room(self, room_id: int) -> Room | None: ...

    async def room_creators(self) -> list[str]:
        """Addresses and ``@domains`` that may create rooms when the instance lists them."""
        ...

    async def add_room_creator(self, pattern: str) -> None: ...

    async def remove_room_creator(self, pattern: str) -> bool: ...

    async def get_setting(self, key: str) -> str | None: ...

    async def set_setting(self, key: str, value: str) -> None: ...
