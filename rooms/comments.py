"""Comment threads and questions: who may do what, input checks, and live events.

Every method takes the acting :class:`Viewer` and typed inputs (:class:`ThreadDraft`,
:class:`CommentDraft`, :class:`ThreadChanges`, :class:`SettingsChanges`,
:class:`ThreadFilter`), checks their values (text, lengths, allowed words, ids) and
raises a :class:`~rooms.errors.Refused` for anything not allowed; nothing is stored
then. Reading JSON into these inputs is the edge's work (:mod:`server.http.inputs`).
After a change is stored, a room event names the thread (and comment) that changed;
the event carries ids only, and :meth:`Comments.render` turns it into what one
participant may see, read fresh from storage, so a comment deleted since is not
replayed to anyone.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any, Final

from crdt.anchors import canonical, check_in_document, decode_relative_position
from crdt.protocol import ProtocolError
from rooms.comment_views import Viewer, comment_view, thread_meta, thread_view
from rooms.directory import clean_text, existing_document, is_code
from rooms.errors import Conflict, Forbidden, Invalid, NotFound
from rooms.events import RoomEvents
from rooms.live.hub import DocumentHub
from rooms.ports import ParticipantStore, Store, ThreadStore
from rooms.records import DocumentInfo, Participant, Room, RoomEvent
from rooms.roles import Role
from rooms.threads import (
    Anchor,
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

log = logging.getLogger("roundtable.comments")

MAX_BODY_CHARS = 10_000
MAX_QUOTE_CHARS = 2_000
MAX_MENTIONS = 20
MAX_PAGE = 100
# The largest participant cap a room may set (0 is no cap).
MAX_PARTICIPANT_CAP = 100_000
# What a question's answers may be, for listing them.
ANSWER_STATES = ("unanswered", "answered", "accepted")


class Unset(Enum):
    """The value of a field that a change leaves as it is (where None means something)."""

    UNSET = "unset"


UNSET: Final = Unset.UNSET


@dataclass(frozen=True, slots=True)
class AnchorDraft:
    """The passage a new thread is about: two Yjs relative positions, base64 as the
    client encoded them (``Y.encodeRelativePosition``), and the text the range held."""

    start: str
    end: str
    quote: str


@dataclass(frozen=True, slots=True)
class ThreadDraft:
    """A thread to start: its opening comment, and where and how it is asked."""

    body: str
    # A ThreadKind value.
    kind: str = ThreadKind.COMMENT
    # The name of one of the room's documents; None: a thread about the room.
    document: str | None = None
    # A passage of the document (which then must be given).
    anchor: AnchorDraft | None = None
    # Only questions can be anonymous, and not a facilitator's.
    anonymous: bool = False
    # Only questions can be post-first; None: as the room's settings say.
    post_first: bool | None = None
    # Ids of the participants the body mentions.
    mentions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CommentDraft:
    """The text of a reply, or the new text of an edited comment."""

    body: str
    # Ids of the participants the body mentions.
    mentions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ThreadChanges:
    """What to change in a thread; None (or UNSET) leaves a field as it is."""

    # A ThreadStatus value: resolve or reopen.
    status: str | None = None
    locked: bool | None = None
    # A reply of the question to accept as its answer; None takes the acceptance back.
    accepted_comment_id: int | Unset | None = UNSET

    @property
    def empty(self) -> bool:
        return (
            self.status is None
            and self.locked is None
            and isinstance(self.accepted_comment_id, Unset)
        )


@dataclass(frozen=True, slots=True)
class SettingsChanges:
    """Room settings to change; None (or UNSET) leaves a setting as it is."""

    observers_can_ask: bool | None = None
    post_first_questions: bool | None = None
    # None: the server's default; 0: no cap.
    max_participants: int | Unset | None = UNSET
    guests_allowed: bool | None = None

    @property
    def empty(self) -> bool:
        return (
            self.observers_can_ask is None
            and self.post_first_questions is None
            and isinstance(self.max_participants, Unset)
            and self.guests_allowed is None
        )


@dataclass(frozen=True, slots=True)
class ThreadFilter:
    """Which threads to list, one page at a time; None means any."""

    # The name of one of the room's documents.
    document: str | None = None
    # True: only threads about the room (no document); False: only document threads.
    general: bool | None = None
    kind: ThreadKind | None = None
    status: ThreadStatus | None = None
    # For questions: one of ANSWER_STATES.
    answer_state: str | None = None
    # Only the threads the viewer started.
    mine: bool = False
    limit: int = 50
    offset: int = 0


def _body(value: str) -> str:
    return clean_text(value, "body", MAX_BODY_CHARS, multiline=True)


def _positive_id(value: int, field: str) -> int:
    if not 0 < value < 2**63:
        raise Invalid(f"invalid_{field}", f"{field} must be a positive integer")
    return value


class Comments:
    def __init__(
        self,
        store: Store,
        threads: ThreadStore,
        participants: ParticipantStore,
        events: RoomEvents,
        hub: DocumentHub,
    ) -> None:
        self._store = store
        self._threads = threads
        self._participants = participants
        self._events = events
        self._hub = hub
        # Loads in flight, shared by the connections rendering the same live event.
        self._loading: dict[tuple[int, int], asyncio.Task[Thread | None]] = {}

    # Reading

    async def thread(self, room: Room, thread_id: int, viewer: Viewer | None = None) -> Thread:
        """The room's thread; with ``viewer``, only one they may see."""
        if not 0 < thread_id < 2**63:
            raise NotFound("unknown_thread", "no such thread in this room")
        thread = await self._threads.load_thread(thread_id)
        if thread is None or thread.room_id != room.id:
            raise NotFound("unknown_thread", "no such thread in this room")
        if viewer is not None and not await self._reaches(room, viewer, thread.document):
            raise NotFound("unknown_thread", "no such thread in this room")
        return thread

    async def _reaches(self, room: Room, viewer: Viewer, document: str | None) -> bool:
        """Whether ``viewer`` may see what is on ``document`` (None: the room's general
        threads): a mentor from outside the cohort only what is on the documents they
        mentor."""
        if viewer.role.sees_room:
            return True
        return await self._is_mentor(room, viewer, document)

    async def _mentored(self, room: Room, viewer: Viewer) -> list[DocumentInfo]:
        return [d for d in await self._store.list_documents(room.id) if d.mentor_id == viewer.id]

    async def list_threads(self, room: Room, viewer: Viewer, filters: ThreadFilter) -> list[Thread]:
        """One page of the room's threads: unanswered questions first, then by latest
        activity."""
        document_id = None
        if filters.document is not None:
            document = await existing_document(self._store, room, filters.document)
            if not await self._reaches(room, viewer, document.name):
                raise NotFound("unknown_document", "no such document in this room")
            document_id = document.id
        elif not viewer.role.sees_room:
            # A mentor: the threads of the documents they mentor, one page of them all.
            found: list[Thread] = []
            for mentored in await self._mentored(room, viewer):
                found += await self.list_threads(
                    room,
                    viewer,
                    replace(
                        filters,
                        document=mentored.name,
                        offset=0,
                        limit=filters.offset + filters.limit,
                    ),
                )
            found.sort(key=lambda t: t.last_activity_at, reverse=True)
            return found[filters.offset : filters.offset + filters.limit]
        query = ThreadQuery(
            document_id=document_id,
            general=filters.general,
            kind=filters.kind,
            status=filters.status,
            answer_state=filters.answer_state,
            author_id=viewer.id if filters.mine else None,
            limit=filters.limit,
            offset=filters.offset,
        )
        return await self._threads.list_threads(room.id, query)

    async def mentions(
        self, room: Room, viewer: Viewer, limit: int, offset: int
    ) -> list[tuple[Thread, int]]:
        found = await self._threads.mentions_of(room.id, viewer.id, limit, offset)
        threads: dict[int, Thread | None] = {}
        result = []
        for thread_id, comment_id in found:
            if thread_id not in threads:
                threads[thread_id] = await self._threads.load_thread(thread_id)
            thread = threads[thread_id]
            if thread is not None and await self._reaches(room, viewer, thread.document):
                result.append((thread, comment_id))
        return result

    async def participants(
        self, room: Room, limit: int | None = None, after: str | None = None
    ) -> list[Participant]:
        """The room's participants in order of joining: at most ``limit``, starting after
        the participant whose id is ``after`` (the last of the previous page)."""
        cursor = None
        if after is not None:
            cursor = await self._participants.get_participant(after) if is_code(after) else None
            if cursor is None or cursor.room_id != room.id:
                raise Invalid("invalid_query", "after must be the id of a participant of this room")
        return await self._participants.list_participants(room.id, limit, cursor)

    async def participants_for(
        self, room: Room, viewer: Viewer, limit: int | None = None, after: str | None = None
    ) -> list[Participant]:
        """:meth:`participants` as ``viewer`` may see them: a mentor from outside the
        cohort sees the facilitators, the people whose documents they mentor, and
        themselves (a page may then hold fewer than ``limit``)."""
        people = await self.participants(room, limit, after)
        if viewer.role.sees_room:
            return people
        owners = {d.created_by for d in await self._mentored(room, viewer)}
        return [
            p for p in people if p.id == viewer.id or p.role is Role.FACILITATOR or p.id in owners
        ]

    async def settings(self, room: Room) -> RoomSettings:
        return await self._threads.room_settings(room.id)

    # Writing

    async def create_thread(self, room: Room, viewer: Viewer, draft: ThreadDraft) -> Thread:
        if draft.kind not in [k.value for k in ThreadKind]:
            raise Invalid("invalid_kind", "kind must be 'comment' or 'question'")
        kind = ThreadKind(draft.kind)
        settings = await self._threads.room_settings(room.id)
        document = None
        if draft.document is not None:
            document = await existing_document(self._store, room, draft.document)
        mentor = document is not None and document.mentor_id == viewer.id
        if not viewer.role.sees_room and not mentor:
            if document is not None:
                raise NotFound("unknown_document", "no such document in this room")
            raise Forbidden("forbidden", "a mentor starts threads on the documents they mentor")
        if (
            not viewer.role.can_edit
            and not mentor
            and not (kind is ThreadKind.QUESTION and settings.observers_can_ask)
        ):
            raise Forbidden(
                "forbidden",
                "observers may ask questions only when the room allows it"
                if kind is ThreadKind.QUESTION
                else "observers cannot start threads",
            )
        if draft.anonymous and kind is not ThreadKind.QUESTION:
            raise Invalid("invalid_anonymous", "only questions can be anonymous")
        if draft.anonymous and viewer.is_facilitator:
            raise Invalid("invalid_anonymous", "facilitators ask under their name")
        if kind is ThreadKind.QUESTION:
            post_first = (
                settings.post_first_questions if draft.post_first is None else draft.post_first
            )
        elif draft.post_first is not None:
            raise Invalid("invalid_post_first", "only questions can be post-first")
        else:
            post_first = False
        text = _body(draft.body)
        anchor = None
        if draft.anchor is not None:
            if document is None:
                raise Invalid("invalid_anchor", "an anchor needs a document")
            anchor = await self._anchor(room, document, draft.anchor)
        mentions = await self._mentions(room, draft.mentions)
        thread_id = await self._threads.create_thread(
            NewThread(
                room_id=room.id,
                document_id=None if document is None else document.id,
                kind=kind,
                author_id=viewer.id,
                anonymous=draft.anonymous,
                anchor=anchor,
                post_first=post_first,
                body=text,
                mention_ids=mentions,
            )
        )
        await self._publish(room, "thread.created", thread_id)
        return await self.thread(room, thread_id)

    async def reply(
        self, room: Room, viewer: Viewer, thread_id: int, draft: CommentDraft
    ) -> tuple[Thread, int]:
        """Store a reply; returns the thread and the new comment's id."""
        thread = await self.thread(room, thread_id, viewer)
        if (
            not viewer.role.can_edit
            and viewer.id != thread.author.id
            and not await self._is_mentor(room, viewer, thread.document)
        ):
            raise Forbidden("forbidden", "observers cannot reply")
        self._check_unlocked(thread, viewer)
        text = _body(draft.body)
        mentions = await self._mentions(room, draft.mentions)
        comment_id = await self._threads.add_comment(thread.id, viewer.id, text, mentions)
        await self._publish(room, "comment.created", thread.id, comment_id)
        return await self.thread(room, thread.id), comment_id

    async def edit(
        self, room: Room, viewer: Viewer, comment_id: int, draft: CommentDraft
    ) -> Thread:
        thread, comment = await self._comment(room, comment_id)
        if comment.author.id != viewer.id:
            raise Forbidden("forbidden", "only its author can edit a comment")
        if comment.state is not CommentState.VISIBLE:
            raise Conflict("not_editable", f"this comment is {comment.state.value}")
        self._check_unlocked(thread, viewer)
        text = _body(draft.body)
        mentions = await self._mentions(room, draft.mentions)
        await self._threads.edit_comment(comment.id, text, mentions)
        await self._publish(room, "comment.updated", thread.id, comment.id)
        return await self.thread(room, thread.id)

    async def delete(self, room: Room, viewer: Viewer, comment_id: int) -> Thread:
        thread, comment = await self._comment(room, comment_id)
        if comment.author.id != viewer.id:
            raise Forbidden(
                "forbidden", "only its author can delete a comment; facilitators remove"
            )
        if comment.state.erased:
            raise Conflict("already_deleted", f"this comment is {comment.state.value}")
        await self._threads.set_comment_state(comment.id, CommentState.DELETED)
        await self._publish(room, "comment.updated", thread.id, comment.id)
        return await self.thread(room, thread.id)

    async def moderate(self, room: Room, viewer: Viewer, comment_id: int, action: str) -> Thread:
        """Hide, unhide or remove a comment (``action``)."""
        if not viewer.is_facilitator:
            raise Forbidden("forbidden", "only facilitators moderate comments")
        thread, comment = await self._comment(room, comment_id)
        allowed = {
            "hide": ({CommentState.VISIBLE}, CommentState.HIDDEN),
            "unhide": ({CommentState.HIDDEN}, CommentState.VISIBLE),
            "remove": ({CommentState.VISIBLE, CommentState.HIDDEN}, CommentState.REMOVED),
        }
        if action not in allowed:
            raise Invalid("invalid_action", "action must be hide, unhide or remove")
        sources, target = allowed[action]
        if comment.state not in sources:
            raise Conflict(
                "invalid_state", f"cannot {action} a comment that is {comment.state.value}"
            )
        await self._threads.set_comment_state(comment.id, target)
        await self._publish(room, "comment.updated", thread.id, comment.id)
        return await self.thread(room, thread.id)

    async def react(
        self, room: Room, viewer: Viewer, comment_id: int, reaction: str, on: bool
    ) -> Thread:
        """Give (``on``) or take back a reaction (a Reaction value) to a comment."""
        if not viewer.role.can_edit:
            raise Forbidden("forbidden", f"{viewer.role.label.lower()}s cannot react")
        if reaction not in [r.value for r in Reaction]:
            raise Invalid(
                "invalid_reaction", f"reaction must be one of {[r.value for r in Reaction]}"
            )
        thread, comment = await self._comment(room, comment_id)
        self._check_unlocked(thread, viewer)
        if comment.state.erased:
            raise Conflict("invalid_state", f"this comment is {comment.state.value}")
        if await self._threads.set_reaction(comment.id, viewer.id, Reaction(reaction), on):
            await self._publish(room, "comment.updated", thread.id, comment.id)
        return await self.thread(room, thread.id)

    async def update_thread(
        self, room: Room, viewer: Viewer, thread_id: int, changes: ThreadChanges
    ) -> Thread:
        """Resolve or reopen (``status``), lock (``locked``), accept an answer."""
        thread = await self.thread(room, thread_id, viewer)
        if changes.empty:
            raise Invalid("invalid_change", "nothing to change")
        owner = viewer.id == thread.author.id or viewer.is_facilitator
        status = None
        if changes.status is not None:
            if changes.status not in [s.value for s in ThreadStatus]:
                raise Invalid("invalid_status", "status must be 'open' or 'resolved'")
            if not owner:
                raise Forbidden(
                    "forbidden", "only the thread's author or a facilitator resolves it"
                )
            status = ThreadStatus(changes.status)
        locked = changes.locked
        if locked is not None and not viewer.is_facilitator:
            raise Forbidden("forbidden", "only facilitators lock threads")
        accepted: int | bool | None = False
        if not isinstance(changes.accepted_comment_id, Unset):
            if thread.kind is not ThreadKind.QUESTION:
                raise Invalid("not_a_question", "only questions have accepted answers")
            if not owner:
                raise Forbidden("forbidden", "only the asker or a facilitator accepts an answer")
            if changes.accepted_comment_id is None:
                accepted = None
            else:
                answer = thread.comment(
                    _positive_id(changes.accepted_comment_id, "accepted_comment_id")
                )
                if answer is None or answer.id == thread.opening.id:
                    raise Invalid("invalid_answer", "that is not a reply in this thread")
                if not answer.counts_as_reply:
                    raise Conflict("invalid_answer", f"that reply is {answer.state.value}")
                accepted = answer.id
        await self._threads.update_thread(
            thread.id, status=status, locked=locked, accepted_comment_id=accepted
        )
        await self._publish(room, "thread.updated", thread.id)
        return await self.thread(room, thread.id)

    async def update_settings(
        self, room: Room, viewer: Viewer, changes: SettingsChanges
    ) -> RoomSettings:
        if not viewer.is_facilitator:
            raise Forbidden("forbidden", "only facilitators change room settings")
        current = await self._threads.room_settings(room.id)
        if changes.empty:
            raise Invalid("invalid_change", "nothing to change")
        settings = RoomSettings(
            observers_can_ask=current.observers_can_ask
            if changes.observers_can_ask is None
            else changes.observers_can_ask,
            post_first_questions=current.post_first_questions
            if changes.post_first_questions is None
            else changes.post_first_questions,
            max_participants=current.max_participants
            if isinstance(changes.max_participants, Unset)
            else _participant_cap(changes.max_participants),
            guests_allowed=current.guests_allowed
            if changes.guests_allowed is None
            else changes.guests_allowed,
        )
        await self._threads.update_room_settings(room.id, settings)
        await self._events.publish_or_log(room.id, "settings.updated", _settings_data(settings))
        return settings

    # Live events

    async def render(self, event: RoomEvent, viewer: Viewer) -> dict[str, Any]:
        """``event`` as ``viewer`` may see it, with the thread's current state.

        If the thread cannot be read, the event goes out with its ids only (the client
        can fetch the thread); the sequence stays gapless.
        """
        message = event.to_json()
        if not viewer.role.sees_room and not await self._mentor_sees(event, viewer):
            # Kept in the sequence (a client asks for what follows the last it saw).
            return {"seq": event.seq, "type": "hidden", "data": {}, "at": message["at"]}
        if event.type == "participant.signed_out":
            # Which browsers signed out is the person's own business.
            message["data"] = {"participant_id": event.data.get("participant_id")}
            return message
        if not event.type.startswith(("thread.", "comment.")):
            return message
        try:
            thread = await self._thread_for(event)
        except Exception:
            log.exception("could not read thread %s to render an event", event.data)
            return message
        if thread is None:
            return message
        comment = thread.comment(int(event.data.get("comment_id", 0)))
        if event.type == "thread.created" or (
            comment is not None and comment.author.id == viewer.id
        ):
            # A new thread, or the viewer's own reply (which may reveal a post-first
            # question's answers): send it whole.
            data: dict[str, Any] = {"thread": thread_view(thread, viewer)}
        else:
            data = {"thread": thread_meta(thread, viewer)}
        if comment is not None:
            data["comment"] = comment_view(comment, thread, viewer)
        message["data"] = data
        return message

    async def _mentor_sees(self, event: RoomEvent, viewer: Viewer) -> bool:
        """Whether a mentor from outside the cohort sees ``event``: what happens on the
        documents they mentor, to themselves, and the session's clock and spotlight."""
        kind, data = event.type, event.data
        if kind.startswith(("timer.", "spotlight.", "session.")):
            return True
        if kind.startswith("participant."):
            return data.get("participant_id") == viewer.id
        if kind.startswith(("thread.", "comment.")):
            thread = await self._threads.load_thread(int(data.get("thread_id", 0)))
            return thread is not None and await self._mentors(
                event.room_id, viewer, thread.document
            )
        document = data.get("document")
        if isinstance(document, dict):
            document = document.get("name")
        if isinstance(document, str):
            return await self._mentors(event.room_id, viewer, document)
        return False

    async def _thread_for(self, event: RoomEvent) -> Thread | None:
        # Every connection of the room renders a live event at about the same moment:
        # they share one read while it is in flight. Nothing is kept after it, so a
        # later render (a catch-up) reads the state as it is then.
        key = (event.room_id, event.seq)
        task = self._loading.get(key)
        if task is None:
            task = asyncio.get_running_loop().create_task(
                self._threads.load_thread(int(event.data["thread_id"]))
            )
            self._loading[key] = task
            task.add_done_callback(lambda _: self._loading.pop(key, None))
        return await asyncio.shield(task)

    async def _publish(
        self, room: Room, type: str, thread_id: int, comment_id: int | None = None
    ) -> None:
        data: dict[str, Any] = {"thread_id": thread_id}
        if comment_id is not None:
            data["comment_id"] = comment_id
        await self._events.publish_or_log(room.id, type, data)

    # Checks

    def _check_unlocked(self, thread: Thread, viewer: Viewer) -> None:
        if thread.locked and not viewer.is_facilitator:
            raise Conflict("thread_locked", "a facilitator locked this thread")

    async def _comment(self, room: Room, comment_id: int) -> tuple[Thread, Comment]:
        if not 0 < comment_id < 2**63:
            raise NotFound("unknown_comment", "no such comment in this room")
        thread_id = await self._threads.thread_of_comment(comment_id)
        if thread_id is None:
            raise NotFound("unknown_comment", "no such comment in this room")
        thread = await self._threads.load_thread(thread_id)
        comment = None if thread is None else thread.comment(comment_id)
        if thread is None or comment is None or thread.room_id != room.id:
            raise NotFound("unknown_comment", "no such comment in this room")
        return thread, comment

    async def _is_mentor(self, room: Room, viewer: Viewer, document: str | None) -> bool:
        """Whether the viewer is the chosen mentor of the document (who may comment on it)."""
        return await self._mentors(room.id, viewer, document)

    async def _mentors(self, room_id: int, viewer: Viewer, document: str | None) -> bool:
        if document is None:
            return False
        info = await self._store.get_document(room_id, document)
        return info is not None and info.mentor_id == viewer.id

    async def _anchor(self, room: Room, document: DocumentInfo, draft: AnchorDraft) -> Anchor:
        quote = clean_text(draft.quote, "quote", MAX_QUOTE_CHARS, multiline=True)
        async with self._hub.holding(document, room.slug) as live:
            state_vector = live.sync.state_vector()
            root_of = live.sync.root_of
        positions = []
        for end, value in (("start", draft.start), ("end", draft.end)):
            try:
                position = decode_relative_position(base64.b64decode(value, validate=True))
                check_in_document(position, state_vector, root_of)
            # b64decode raises ValueError for a string that is not ASCII.
            except (ProtocolError, ValueError) as exc:
                raise Invalid("invalid_anchor", f"anchor {end}: {exc}") from exc
            positions.append(canonical(position))
        return Anchor(positions[0], positions[1], quote)

    async def _mentions(self, room: Room, mentioned: Sequence[str]) -> tuple[str, ...]:
        if not all(is_code(m) for m in mentioned):
            raise Invalid("invalid_mentions", "mentions must be a list of participant ids")
        ids = tuple(dict.fromkeys(mentioned))
        if len(ids) > MAX_MENTIONS:
            raise Invalid("invalid_mentions", f"at most {MAX_MENTIONS} people can be mentioned")
        for participant_id in ids:
            participant = await self._participants.get_participant(participant_id)
            if participant is None or participant.room_id != room.id or participant.removed:
                raise Invalid("invalid_mentions", "a mentioned participant is not in this room")
        return ids


def _participant_cap(value: int | None) -> int | None:
    if value is None:
        return None
    if not 0 <= value <= MAX_PARTICIPANT_CAP:
        raise Invalid(
            "invalid_max_participants",
            f"max_participants must be null (the server's default), 0 (no cap) or an "
            f"integer up to {MAX_PARTICIPANT_CAP}",
        )
    return value


def _settings_data(settings: RoomSettings) -> dict[str, Any]:
    """The data of a ``settings.updated`` room event (as ``GET /settings`` shows them)."""
    return {
        "observers_can_ask": settings.observers_can_ask,
        "post_first_questions": settings.post_first_questions,
        "max_participants": settings.max_participants,
        "guests_allowed": settings.guests_allowed,
    }
