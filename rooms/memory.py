"""The storage ports in memory, for fast tests of the domain.

:class:`MemoryStore`, :class:`MemoryParticipantStore`, :class:`MemoryThreadStore` and
:class:`MemoryControlStore` share one :class:`MemoryState`, as the SQL adapters share one
database: a participant added through the participant store can be mentioned through the
thread store and spotlighted through the control store.
They behave as the SQL adapters do (``tests/contract`` checks both): the same ordering
and paging, ids counted per kind from 1, ``None`` or defaults for unknown ids where SQL
finds no row, and :class:`StoreError` where SQL breaks a key or a foreign key.
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from rooms.control_records import AuditEntry, RoomControls, VersionInfo
from rooms.participation_records import (
    ActivityBucket,
    DocumentActivity,
    PresenceSpan,
    ThreadCounts,
    UnansweredQuestion,
)
from rooms.ports import DocumentLimitReached, ParticipantLimitReached, StoreError
from rooms.presence import least_used_colour
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
    Anchor,
    Author,
    Comment,
    CommentState,
    NewThread,
    Reaction,
    RoomSettings,
    Thread,
    ThreadKind,
    ThreadQuery,
    ThreadStatus,
)


def _now() -> datetime:
    return datetime.now(UTC)


def _require(found: bool, what: str) -> None:
    """Refuse a write that would break a key, as the database does."""
    if not found:
        raise StoreError(what)


@dataclass
class MemoryRoom:
    room: Room
    settings: RoomSettings = field(default_factory=RoomSettings)
    controls: RoomControls = field(default_factory=RoomControls)
    # (seq, type, data as JSON, created_at); seq is the index + 1.
    events: list[tuple[int, str, str, datetime]] = field(default_factory=list)


@dataclass
class MemoryDocument:
    info: DocumentInfo
    snapshot: bytes | None = None
    version: int = 0
    # (update id, update), oldest first.
    log: list[tuple[int, bytes]] = field(default_factory=list)
    # Yjs client id -> the participant who claimed it.
    claims: dict[int, str] = field(default_factory=dict)


@dataclass
class MemoryThread:
    id: int
    room_id: int
    document_id: int | None
    kind: ThreadKind
    author_id: str
    anonymous: bool
    anchor: Anchor | None
    status: ThreadStatus
    locked: bool
    post_first: bool
    accepted_comment_id: int | None
    reply_count: int
    created_at: datetime
    last_activity_at: datetime


@dataclass
class MemoryComment:
    id: int
    thread_id: int
    author_id: str
    is_reply: bool
    body: str
    state: CommentState
    created_at: datetime
    edited_at: datetime | None = None
    # Participant ids.
    mentions: list[str] = field(default_factory=list)
    # (participant id, reaction), oldest first.
    reactions: list[tuple[str, Reaction]] = field(default_factory=list)


@dataclass
class MemoryAuditEntry:
    room_id: int
    entry: AuditEntry
    # The details as JSON, read back fresh each time.
    details: str


@dataclass
class MemoryState:
    """Everything the four memory adapters store: one "database"."""

    rooms: dict[int, MemoryRoom] = field(default_factory=dict)
    invites: dict[str, Invite] = field(default_factory=dict)
    participants: dict[str, Participant] = field(default_factory=dict)
    documents: dict[int, MemoryDocument] = field(default_factory=dict)
    threads: dict[int, MemoryThread] = field(default_factory=dict)
    comments: dict[int, MemoryComment] = field(default_factory=dict)
    versions: dict[int, tuple[VersionInfo, bytes]] = field(default_factory=dict)
    audit: dict[int, MemoryAuditEntry] = field(default_factory=dict)
    # Process run id -> when it last said it serves (time.time()).
    runs: dict[str, float] = field(default_factory=dict)
    # (document id, participant id, bucket) -> [added, removed, edits].
    activity: dict[tuple[int, str, datetime], list[int]] = field(default_factory=dict)
    # (room id, span), in the order recorded.
    presence: list[tuple[int, PresenceSpan]] = field(default_factory=list)
    # (comment id, participant id, reaction) -> when it was given.
    reacted_at: dict[tuple[int, str, Reaction], datetime] = field(default_factory=dict)
    # Set to an exception to make every write fail, as a broken database would.
    fail_writes: Exception | None = None
    # One id sequence per kind of row, as each table has its own.
    sequences: dict[str, Iterator[int]] = field(default_factory=dict, repr=False)

    def next_id(self, kind: str) -> int:
        return next(self.sequences.setdefault(kind, itertools.count(1)))

    def check_writable(self) -> None:
        if self.fail_writes is not None:
            raise StoreError(str(self.fail_writes)) from self.fail_writes

    def room_by_id(self, room_id: int) -> Room | None:
        found = self.rooms.get(room_id)
        return None if found is None else found.room

    def author(self, participant_id: str) -> Author:
        return Author.of(self.participants[participant_id])


class MemoryStore:
    """A :class:`rooms.ports.Store` in dicts; on a state of its own unless given one."""

    def __init__(self, state: MemoryState | None = None) -> None:
        self.state = MemoryState() if state is None else state

    async def create_room(self, slug: str, title: str, invites: dict[Role, str]) -> Room:
        state = self.state
        state.check_writable()
        _require(all(r.room.slug != slug for r in state.rooms.values()), f"slug {slug} taken")
        _require(not set(invites.values()) & state.invites.keys(), "invite code taken")
        room = Room(state.next_id("room"), slug, title, _now())
        state.rooms[room.id] = MemoryRoom(room)
        for role, code in invites.items():
            state.invites[code] = Invite(code, room, role)
        return room

    async def get_room(self, slug: str) -> Room | None:
        return next((r.room for r in self.state.rooms.values() if r.room.slug == slug), None)

    async def get_invite(self, code: str) -> Invite | None:
        return self.state.invites.get(code)

    async def list_invites(self, room_id: int) -> list[Invite]:
        return [i for i in self.state.invites.values() if i.room.id == room_id and not i.revoked]

    async def list_documents(self, room_id: int) -> list[DocumentInfo]:
        return [d.info for d in self.state.documents.values() if d.info.room_id == room_id]

    async def get_document(self, room_id: int, name: str) -> DocumentInfo | None:
        for doc in self.state.documents.values():
            if doc.info.room_id == room_id and doc.info.name == name:
                return doc.info
        return None

    async def create_document(self, room_id: int, name: str, limit: int = 0) -> DocumentInfo:
        state = self.state
        state.check_writable()
        # The limit first: a full room refuses even a name it holds, as SQL does.
        held = sum(1 for doc in state.documents.values() if doc.info.room_id == room_id)
        if 0 < limit <= held:
            raise DocumentLimitReached
        existing = await self.get_document(room_id, name)
        if existing is not None:
            return existing
        _require(room_id in state.rooms, f"no room {room_id}")
        info = DocumentInfo(state.next_id("document"), room_id, name, _now())
        state.documents[info.id] = MemoryDocument(info)
        return info

    async def load_document(self, document_id: int) -> StoredDocument:
        doc = self.state.documents.get(document_id)
        if doc is None:
            raise StoreError(f"no document {document_id}")
        return StoredDocument(
            doc.snapshot, doc.version, [u for _, u in doc.log], tuple(i for i, _ in doc.log)
        )

    async def append_updates(
        self,
        document_id: int,
        updates: Sequence[bytes],
        activity: Sequence[TextActivity] = (),
    ) -> None:
        if not updates:
            return
        state = self.state
        state.check_writable()
        doc = state.documents.get(document_id)
        if doc is None:
            raise StoreError(f"no document {document_id}")
        doc.log.extend((state.next_id("update"), u) for u in updates)
        for part in activity:
            key = (document_id, part.participant_id, part.bucket)
            sums = state.activity.setdefault(key, [0, 0, 0])
            sums[0] += part.added
            sums[1] += part.removed
            sums[2] += part.edits

    def _room_activity(self, room_id: int) -> list[tuple[int, str, datetime, list[int]]]:
        documents = self.state.documents
        return [
            (document_id, participant_id, bucket, sums)
            for (document_id, participant_id, bucket), sums in self.state.activity.items()
            if document_id in documents and documents[document_id].info.room_id == room_id
        ]

    async def activity_totals(
        self, room_id: int, participant_id: str | None = None
    ) -> list[DocumentActivity]:
        totals: dict[tuple[int, str], DocumentActivity] = {}
        for document_id, person, bucket, (added, removed, edits) in self._room_activity(room_id):
            if participant_id is not None and person != participant_id:
                continue
            before = totals.get((document_id, person))
            if before is not None:
                added, removed, edits = (
                    before.added + added,
                    before.removed + removed,
                    before.edits + edits,
                )
                bucket = max(bucket, before.last_bucket)
            totals[(document_id, person)] = DocumentActivity(
                document_id, person, added, removed, edits, bucket
            )
        return [totals[key] for key in sorted(totals)]

    async def activity_buckets(
        self, room_id: int, since: datetime | None = None
    ) -> list[ActivityBucket]:
        sums: dict[tuple[datetime, int], list[int]] = {}
        for document_id, _, bucket, (added, removed, edits) in self._room_activity(room_id):
            if since is not None and bucket < since:
                continue
            total = sums.setdefault((bucket, document_id), [0, 0, 0])
            total[0] += added
            total[1] += removed
            total[2] += edits
        return [
            ActivityBucket(document_id, bucket, *sums[(bucket, document_id)])
            for bucket, document_id in sorted(sums)
        ]

    async def replace_snapshot(
        self,
        document_id: int,
        expected_version: int,
        snapshot: bytes,
        folded_update_ids: Sequence[int],
    ) -> bool:
        self.state.check_writable()
        doc = self.state.documents.get(document_id)
        if doc is None or doc.version != expected_version:
            return False
        doc.snapshot = snapshot
        doc.version += 1
        folded = set(folded_update_ids)
        doc.log = [(i, u) for i, u in doc.log if i not in folded]
        return True

    async def claim_clients(
        self, document_id: int, participant_id: str, client_ids: Sequence[int]
    ) -> dict[int, str]:
        if not client_ids:
            return {}
        state = self.state
        state.check_writable()
        doc = state.documents.get(document_id)
        if doc is None:
            raise StoreError(f"no document {document_id}")
        # Only a new claim names the participant, so only a new claim needs them to exist.
        unclaimed = any(c not in doc.claims for c in client_ids)
        _require(
            not unclaimed or participant_id in state.participants,
            f"no participant {participant_id}",
        )
        return {c: doc.claims.setdefault(c, participant_id) for c in client_ids}

    async def document_authors(self, document_id: int) -> dict[int, str]:
        doc = self.state.documents.get(document_id)
        return {} if doc is None else dict(doc.claims)

    async def append_event(self, room_id: int, type: str, data: dict[str, Any]) -> RoomEvent:
        self.state.check_writable()
        room = self.state.rooms.get(room_id)
        if room is None:
            raise StoreError(f"no room {room_id}")
        seq, stored, created_at = len(room.events) + 1, json.dumps(data), _now()
        room.events.append((seq, type, stored, created_at))
        return RoomEvent(room_id, seq, type, data, created_at)

    async def events_since(self, room_id: int, after_seq: int, limit: int) -> list[RoomEvent]:
        room = self.state.rooms.get(room_id)
        events = [] if room is None else room.events[max(after_seq, 0) :][:limit]
        return [RoomEvent(room_id, seq, t, json.loads(d), at) for seq, t, d, at in events]

    async def last_event_seq(self, room_id: int) -> int:
        room = self.state.rooms.get(room_id)
        return 0 if room is None else len(room.events)

    async def begin_run(self, run_id: str, *, sole: bool, stale_after: float) -> list[str]:
        runs = self.state.runs
        self.state.check_writable()
        # Its record is inserted, never overwritten: the same id twice breaks the key.
        _require(run_id not in runs, f"run {run_id} is recorded already")
        now = time.time()
        others = dict(runs)
        for other, at in others.items():
            if sole or now - at > stale_after:
                del runs[other]
        runs[run_id] = now
        return sorted(others)

    async def renew_run(self, run_id: str) -> None:
        self.state.check_writable()
        if run_id in self.state.runs:
            self.state.runs[run_id] = time.time()

    async def end_run(self, run_id: str) -> bool:
        self.state.check_writable()
        return self.state.runs.pop(run_id, None) is not None

    async def close(self) -> None:
        return None


class MemoryParticipantStore:
    """A :class:`rooms.ports.ParticipantStore` in dicts."""

    def __init__(self, state: MemoryState) -> None:
        self.state = state

    async def add_participant(
        self, room_id: int, name: str, role: Role, limit: int = 0, account_id: str | None = None
    ) -> Participant:
        state = self.state
        state.check_writable()
        if account_id is not None:
            for seat in state.participants.values():
                if seat.room_id == room_id and seat.account_id == account_id:
                    return seat
        held = sum(
            1
            for p in state.participants.values()
            if p.room_id == room_id and p.role is not Role.FACILITATOR and not p.removed
        )
        if 0 < limit <= held:
            raise ParticipantLimitReached
        _require(room_id in state.rooms, f"no room {room_id}")
        colour = least_used_colour(
            p.colour for p in state.participants.values() if p.room_id == room_id and not p.removed
        )
        participant = Participant(
            uuid.uuid4().hex, room_id, name, role, _now(), account_id=account_id, colour=colour
        )
        state.participants[participant.id] = participant
        return participant

    async def get_participant(self, participant_id: str) -> Participant | None:
        return self.state.participants.get(participant_id)

    async def list_participants(
        self, room_id: int, limit: int | None = None, after: Participant | None = None
    ) -> list[Participant]:
        found = sorted(
            (p for p in self.state.participants.values() if p.room_id == room_id),
            key=lambda p: (p.created_at, p.id),
        )
        if after is not None:
            found = [p for p in found if (p.created_at, p.id) > (after.created_at, after.id)]
        found = [p for p in found if not p.removed]
        return found if limit is None else found[:limit]

    async def standing(self, participant_id: str) -> tuple[Role, str] | None:
        participant = self.state.participants.get(participant_id)
        if participant is None or participant.removed:
            return None
        return participant.role, participant.name

    async def remove_participant(self, participant_id: str) -> None:
        self.state.check_writable()
        participant = self.state.participants.get(participant_id)
        if participant is not None:
            self.state.participants[participant_id] = replace(participant, removed=True)

    async def set_role(self, participant_id: str, role: Role) -> None:
        self.state.check_writable()
        participant = self.state.participants.get(participant_id)
        if participant is not None:
            self.state.participants[participant_id] = replace(participant, role=role)

    async def count_role(self, room_id: int, role: Role) -> int:
        return sum(
            1
            for p in self.state.participants.values()
            if p.room_id == room_id and p.role is role and not p.removed
        )

    async def add_presence(
        self, room_id: int, participant_id: str, started_at: datetime, ended_at: datetime
    ) -> None:
        state = self.state
        state.check_writable()
        _require(room_id in state.rooms, f"no room {room_id}")
        _require(participant_id in state.participants, f"no participant {participant_id}")
        for moment in (started_at, ended_at):
            _require(moment.tzinfo is not None, "timestamps must be aware")
        state.presence.append((room_id, PresenceSpan(participant_id, started_at, ended_at)))

    async def presence_spans(
        self, room_id: int, participant_id: str | None = None
    ) -> list[PresenceSpan]:
        found = [
            span
            for room, span in self.state.presence
            if room == room_id and participant_id in (None, span.participant_id)
        ]
        return sorted(found, key=lambda s: (s.started_at, s.participant_id))


class MemoryThreadStore:
    """A :class:`rooms.ports.ThreadStore` in dicts."""

    def __init__(self, state: MemoryState) -> None:
        self.state = state

    def _check_mentions(self, mention_ids: Sequence[str]) -> None:
        _require(len(set(mention_ids)) == len(mention_ids), "a participant mentioned twice")
        for mentioned in mention_ids:
            _require(mentioned in self.state.participants, f"no participant {mentioned}")

    def _insert_comment(
        self, thread_id: int, author_id: str, body: str, mention_ids: Sequence[str], reply: bool
    ) -> int:
        comment = MemoryComment(
            self.state.next_id("comment"),
            thread_id,
            author_id,
            reply,
            body,
            CommentState.VISIBLE,
            _now(),
            mentions=list(mention_ids),
        )
        self.state.comments[comment.id] = comment
        return comment.id

    async def create_thread(self, draft: NewThread) -> int:
        state = self.state
        state.check_writable()
        _require(draft.room_id in state.rooms, f"no room {draft.room_id}")
        _require(
            draft.document_id is None or draft.document_id in state.documents,
            f"no document {draft.document_id}",
        )
        _require(draft.author_id in state.participants, f"no participant {draft.author_id}")
        self._check_mentions(draft.mention_ids)
        now = _now()
        thread = MemoryThread(
            id=state.next_id("thread"),
            room_id=draft.room_id,
            document_id=draft.document_id,
            kind=ThreadKind(draft.kind),
            author_id=draft.author_id,
            anonymous=draft.anonymous,
            anchor=draft.anchor,
            status=ThreadStatus.OPEN,
            locked=False,
            post_first=draft.post_first,
            accepted_comment_id=None,
            reply_count=0,
            created_at=now,
            last_activity_at=now,
        )
        state.threads[thread.id] = thread
        self._insert_comment(thread.id, draft.author_id, draft.body, draft.mention_ids, False)
        return thread.id

    async def add_comment(
        self, thread_id: int, author_id: str, body: str, mention_ids: Sequence[str]
    ) -> int:
        state = self.state
        state.check_writable()
        thread = state.threads.get(thread_id)
        if thread is None:
            raise StoreError(f"no thread {thread_id}")
        _require(author_id in state.participants, f"no participant {author_id}")
        self._check_mentions(mention_ids)
        thread.reply_count += 1
        thread.last_activity_at = _now()
        return self._insert_comment(thread_id, author_id, body, mention_ids, True)

    async def thread_of_comment(self, comment_id: int) -> int | None:
        comment = self.state.comments.get(comment_id)
        return None if comment is None else comment.thread_id

    async def edit_comment(self, comment_id: int, body: str, mention_ids: Sequence[str]) -> None:
        self.state.check_writable()
        comment = self.state.comments.get(comment_id)
        # Mentions of a comment that is not there break a key; a bare edit changes nothing.
        _require(comment is not None or not mention_ids, f"no comment {comment_id}")
        self._check_mentions(mention_ids)
        if comment is not None:
            comment.body, comment.edited_at = body, _now()
            comment.mentions = list(mention_ids)

    async def set_comment_state(self, comment_id: int, state: CommentState) -> None:
        self.state.check_writable()
        comment = self.state.comments.get(comment_id)
        if comment is None:
            return
        counted_before = not comment.state.erased
        comment.state = CommentState(state)
        if state.erased:
            comment.body, comment.mentions, comment.reactions = "", [], []
            thread = self.state.threads[comment.thread_id]
            if comment.is_reply and counted_before:
                thread.reply_count -= 1
            if thread.accepted_comment_id == comment_id:
                thread.accepted_comment_id = None

    async def update_thread(
        self,
        thread_id: int,
        *,
        status: ThreadStatus | None = None,
        locked: bool | None = None,
        accepted_comment_id: int | bool | None = False,
    ) -> None:
        if status is None and locked is None and accepted_comment_id is False:
            return
        self.state.check_writable()
        thread = self.state.threads.get(thread_id)
        if thread is None:
            return
        if status is not None:
            thread.status = ThreadStatus(status)
        if locked is not None:
            thread.locked = locked
        if accepted_comment_id is not False:
            # SQL stores True as 1.
            thread.accepted_comment_id = (
                None if accepted_comment_id is None else int(accepted_comment_id)
            )

    async def set_reaction(
        self, comment_id: int, participant_id: str, reaction: Reaction, on: bool
    ) -> bool:
        self.state.check_writable()
        comment = self.state.comments.get(comment_id)
        key = (participant_id, reaction)
        if comment is None:
            # Taking back what was never given changes nothing; giving it breaks a key.
            _require(not on, f"no comment {comment_id}")
            return False
        if on == (key in comment.reactions):
            return False
        if on:
            _require(participant_id in self.state.participants, f"no participant {participant_id}")
            comment.reactions.append(key)
            self.state.reacted_at[(comment_id, participant_id, reaction)] = _now()
        else:
            comment.reactions.remove(key)
        return True

    def _comment(self, row: MemoryComment) -> Comment:
        reactions: dict[str, list[str]] = {}
        for participant_id, reaction in row.reactions:
            reactions.setdefault(reaction.value, []).append(participant_id)
        mentioned = sorted((self.state.author(m) for m in row.mentions), key=lambda a: a.name)
        return Comment(
            id=row.id,
            thread_id=row.thread_id,
            author=self.state.author(row.author_id),
            body=row.body,
            state=row.state,
            created_at=row.created_at,
            edited_at=row.edited_at,
            reactions={k: tuple(v) for k, v in reactions.items()},
            mentions=tuple(mentioned),
        )

    def _thread(self, row: MemoryThread) -> Thread:
        document = None if row.document_id is None else self.state.documents[row.document_id]
        comments = sorted(
            (c for c in self.state.comments.values() if c.thread_id == row.id),
            key=lambda c: c.id,
        )
        return Thread(
            id=row.id,
            room_id=row.room_id,
            document=None if document is None else document.info.name,
            kind=row.kind,
            author=self.state.author(row.author_id),
            anonymous=row.anonymous,
            anchor=row.anchor,
            status=row.status,
            locked=row.locked,
            post_first=row.post_first,
            accepted_comment_id=row.accepted_comment_id,
            reply_count=row.reply_count,
            created_at=row.created_at,
            last_activity_at=row.last_activity_at,
            comments=tuple(self._comment(c) for c in comments),
        )

    async def load_thread(self, thread_id: int) -> Thread | None:
        row = self.state.threads.get(thread_id)
        return None if row is None else self._thread(row)

    async def list_threads(self, room_id: int, query: ThreadQuery) -> list[Thread]:
        def wanted(t: MemoryThread) -> bool:
            if t.room_id != room_id:
                return False
            if query.document_id is not None and t.document_id != query.document_id:
                return False
            if query.general is not None and query.general != (t.document_id is None):
                return False
            if query.kind is not None and t.kind != query.kind:
                return False
            if query.status is not None and t.status != query.status:
                return False
            if query.author_id is not None and t.author_id != query.author_id:
                return False
            if query.answer_state is not None:
                if t.kind != ThreadKind.QUESTION:
                    return False
                if query.answer_state == "accepted":
                    return t.accepted_comment_id is not None
                if t.accepted_comment_id is not None:
                    return False
                # Any other word than these two means "answered", as in SQL.
                return (t.reply_count == 0) == (query.answer_state == "unanswered")
            return True

        def unanswered_first(t: MemoryThread) -> int:
            waiting = t.kind == ThreadKind.QUESTION and t.reply_count == 0
            return 0 if waiting and t.accepted_comment_id is None else 1

        found = [t for t in self.state.threads.values() if wanted(t)]
        found.sort(key=lambda t: (t.last_activity_at, t.id), reverse=True)
        found.sort(key=unanswered_first)
        page = found[query.offset :][: query.limit]
        return [self._thread(t) for t in page]

    async def mentions_of(
        self, room_id: int, participant_id: str, limit: int, offset: int
    ) -> list[tuple[int, int]]:
        found = [
            (c.thread_id, c.id)
            for c in self.state.comments.values()
            if participant_id in c.mentions and self.state.threads[c.thread_id].room_id == room_id
        ]
        found.sort(key=lambda ids: ids[1], reverse=True)
        return found[offset:][:limit]

    async def room_settings(self, room_id: int) -> RoomSettings:
        room = self.state.rooms.get(room_id)
        return RoomSettings() if room is None else room.settings

    async def participation_counts(
        self,
        room_id: int,
        *,
        participant_id: str | None = None,
        include_anonymous: bool = True,
    ) -> list[ThreadCounts]:
        state = self.state
        counts: dict[str, dict[str, Any]] = {}

        def add(person: str, key: str, at: datetime) -> None:
            if participant_id is not None and person != participant_id:
                return
            mine = counts.setdefault(person, {"last_at": at})
            mine[key] = mine.get(key, 0) + 1
            mine["last_at"] = max(mine["last_at"], at)

        for comment in state.comments.values():
            thread = state.threads[comment.thread_id]
            if thread.room_id != room_id or comment.state.erased:
                continue
            anonymous = thread.anonymous and comment.author_id == thread.author_id
            if anonymous and not include_anonymous:
                continue
            author, at = comment.author_id, comment.created_at
            if thread.kind is ThreadKind.COMMENT:
                add(author, "comments", at)
            elif not comment.is_reply:
                add(author, "questions", at)
                if thread.anonymous:
                    add(author, "anonymous_questions", at)
            else:
                add(author, "answers", at)
                if thread.accepted_comment_id == comment.id:
                    add(author, "accepted_answers", at)
            for giver, _ in comment.reactions:
                if giver != author:
                    add(author, "reactions_received", at)
        for comment in state.comments.values():
            thread = state.threads[comment.thread_id]
            if thread.room_id != room_id:
                continue
            for giver, reaction in comment.reactions:
                given_at = state.reacted_at.get((comment.id, giver, reaction), comment.created_at)
                add(giver, "reactions_given", given_at)
        return [ThreadCounts(person, **mine) for person, mine in sorted(counts.items())]

    async def unanswered_questions(self, room_id: int) -> list[UnansweredQuestion]:
        state = self.state
        found = []
        for thread in state.threads.values():
            if (
                thread.room_id != room_id
                or thread.kind is not ThreadKind.QUESTION
                or thread.status is not ThreadStatus.OPEN
                or thread.reply_count != 0
                or thread.accepted_comment_id is not None
            ):
                continue
            opening = min(
                (c for c in state.comments.values() if c.thread_id == thread.id),
                key=lambda c: c.id,
            )
            if opening.state.erased:
                continue
            document = (
                None
                if thread.document_id is None
                else state.documents[thread.document_id].info.name
            )
            found.append(
                UnansweredQuestion(
                    thread.id,
                    document,
                    opening.body,
                    thread.author_id,
                    thread.anonymous,
                    thread.created_at,
                )
            )
        return sorted(found, key=lambda q: (q.asked_at, q.thread_id))

    async def update_room_settings(self, room_id: int, settings: RoomSettings) -> None:
        self.state.check_writable()
        room = self.state.rooms.get(room_id)
        if room is not None:
            room.settings = settings


class MemoryControlStore:
    """A :class:`rooms.ports.ControlStore` in dicts."""

    def __init__(self, state: MemoryState) -> None:
        self.state = state

    async def rotate_invite(self, room_id: int, role: Role, code: str) -> Invite:
        state = self.state
        state.check_writable()
        room = state.room_by_id(room_id)
        if room is None:
            raise StoreError(f"no room {room_id}")
        _require(code not in state.invites, "invite code taken")
        for old in list(state.invites.values()):
            if old.room.id == room_id and old.role is role and not old.revoked:
                state.invites[old.code] = replace(old, revoked=True)
        invite = Invite(code, room, role)
        state.invites[code] = invite
        return invite

    async def document_by_id(self, document_id: int) -> DocumentInfo | None:
        doc = self.state.documents.get(document_id)
        return None if doc is None else doc.info

    def _change_document(self, document_id: int, **changes: Any) -> None:
        self.state.check_writable()
        doc = self.state.documents.get(document_id)
        if doc is not None:
            doc.info = replace(doc.info, **changes)

    async def set_document_locked(
        self, document_id: int, locked: bool, by: str | None = None
    ) -> None:
        self._change_document(document_id, locked=locked, locked_by=by if locked else None)

    async def describe_document(
        self, document_id: int, template: str | None, created_by: str | None
    ) -> None:
        self._change_document(document_id, template=template, created_by=created_by)

    async def set_document_mentor(self, document_id: int, mentor_id: str | None) -> None:
        self._change_document(document_id, mentor_id=mentor_id)

    async def room_controls(self, room_id: int) -> RoomControls:
        room = self.state.rooms.get(room_id)
        return RoomControls() if room is None else room.controls

    def _change_controls(self, room_id: int, **changes: Any) -> None:
        self.state.check_writable()
        room = self.state.rooms.get(room_id)
        if room is not None:
            room.controls = replace(room.controls, **changes)

    async def set_spotlight(self, room_id: int, participant_id: str | None) -> None:
        self._change_controls(room_id, spotlight_id=participant_id)

    async def set_timer(
        self,
        room_id: int,
        started_at: datetime | None,
        ends_at: datetime | None,
        label: str | None,
    ) -> None:
        for moment in (started_at, ends_at):
            _require(moment is None or moment.tzinfo is not None, "timestamps must be aware")
        self._change_controls(
            room_id, timer_started_at=started_at, timer_ends_at=ends_at, timer_label=label
        )

    async def save_version(
        self, document_id: int, name: str, reason: str, created_by: str | None, state: bytes
    ) -> VersionInfo:
        self.state.check_writable()
        _require(document_id in self.state.documents, f"no document {document_id}")
        info = VersionInfo(
            self.state.next_id("version"), document_id, name, reason, created_by, _now()
        )
        self.state.versions[info.id] = (info, state)
        return info

    async def list_versions(self, document_id: int) -> list[VersionInfo]:
        found = [v for v, _ in self.state.versions.values() if v.document_id == document_id]
        return sorted(found, key=lambda v: v.id, reverse=True)

    async def get_version(self, version_id: int) -> tuple[VersionInfo, bytes] | None:
        return self.state.versions.get(version_id)

    async def record(
        self,
        room_id: int,
        actor_id: str | None,
        actor_name: str,
        action: str,
        details: dict[str, Any],
    ) -> None:
        self.state.check_writable()
        stored = json.dumps(details)
        _require(room_id in self.state.rooms, f"no room {room_id}")
        entry = AuditEntry(self.state.next_id("audit"), _now(), actor_id, actor_name, action)
        self.state.audit[entry.id] = MemoryAuditEntry(room_id, entry, stored)

    async def audit_log(self, room_id: int, limit: int, before_id: int | None) -> list[AuditEntry]:
        found = [
            replace(a.entry, details=json.loads(a.details))
            for a in self.state.audit.values()
            if a.room_id == room_id and (before_id is None or a.entry.id < before_id)
        ]
        found.sort(key=lambda e: e.id, reverse=True)
        return found[:limit]
