"""Comment threads and questions: the records, and the storage interface they need."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from rooms.records import Participant
from rooms.roles import Role


class ThreadKind(StrEnum):
    COMMENT = "comment"
    QUESTION = "question"


class ThreadStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class CommentState(StrEnum):
    VISIBLE = "visible"
    # Hidden by a facilitator: its author and facilitators still read it; undoable.
    HIDDEN = "hidden"
    # Deleted by its author, or removed by a facilitator: the body is erased.
    DELETED = "deleted"
    REMOVED = "removed"


class Reaction(StrEnum):
    AHA = "aha"
    THANKS = "thanks"
    AGREE = "agree"
    CURIOUS = "curious"
    CELEBRATE = "celebrate"

    @property
    def emoji(self) -> str:
        return _REACTION_FACES[self][0]

    @property
    def label(self) -> str:
        return _REACTION_FACES[self][1]


_REACTION_FACES = {
    Reaction.AHA: ("💡", "Aha!"),
    Reaction.THANKS: ("🙏", "Thanks"),
    Reaction.AGREE: ("👍", "Agree"),
    Reaction.CURIOUS: ("🤔", "Curious"),
    Reaction.CELEBRATE: ("🎉", "Celebrate"),
}


@dataclass(frozen=True, slots=True)
class Author:
    id: str
    name: str
    role: Role

    @classmethod
    def of(cls, participant: Participant) -> Author:
        return cls(participant.id, participant.name, participant.role)


@dataclass(frozen=True, slots=True)
class Anchor:
    """A text range as two encoded Yjs relative positions, and the text it held."""

    start: bytes
    end: bytes
    quote: str


@dataclass(frozen=True, slots=True)
class Comment:
    id: int
    thread_id: int
    author: Author
    body: str
    state: CommentState
    created_at: datetime
    edited_at: datetime | None = None
    # Reaction name -> ids of the participants who gave it.
    reactions: dict[str, tuple[str, ...]] = field(default_factory=dict)
    mentions: tuple[Author, ...] = ()

    @property
    def counts_as_reply(self) -> bool:
        return self.state in (CommentState.VISIBLE, CommentState.HIDDEN)


@dataclass(frozen=True, slots=True)
class Thread:
    id: int
    room_id: int
    document: str | None
    kind: ThreadKind
    author: Author
    anonymous: bool
    anchor: Anchor | None
    status: ThreadStatus
    locked: bool
    post_first: bool
    accepted_comment_id: int | None
    reply_count: int
    created_at: datetime
    last_activity_at: datetime
    # The opening comment first, then the replies, oldest first.
    comments: tuple[Comment, ...] = ()

    def comment(self, comment_id: int) -> Comment | None:
        return next((c for c in self.comments if c.id == comment_id), None)

    @property
    def opening(self) -> Comment:
        return self.comments[0]

    @property
    def replies(self) -> tuple[Comment, ...]:
        return self.comments[1:]


@dataclass(frozen=True, slots=True)
class RoomSettings:
    observers_can_ask: bool = False
    post_first_questions: bool = False
    # Members and observers the room holds at most; None: the server's default; 0: no cap.
    max_participants: int | None = None


@dataclass(frozen=True, slots=True)
class NewThread:
    room_id: int
    document_id: int | None
    kind: ThreadKind
    author_id: str
    anonymous: bool
    anchor: Anchor | None
    post_first: bool
    body: str
    mention_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ThreadQuery:
    """Filters for listing threads; None means any."""

    document_id: int | None = None
    # True: only general threads (no document); False: only document threads.
    general: bool | None = None
    kind: ThreadKind | None = None
    status: ThreadStatus | None = None
    # For questions: "unanswered", "answered" (no accepted answer yet) or "accepted".
    answer_state: str | None = None
    author_id: str | None = None
    limit: int = 50
    offset: int = 0


class ThreadStore(Protocol):
    """Durable threads. Each method is one transaction."""

    async def get_participant(self, participant_id: str) -> Participant | None: ...

    async def list_participants(
        self, room_id: int, limit: int | None = None, after: Participant | None = None
    ) -> list[Participant]:
        """The room's participants who were not removed, in order of joining; with
        ``after``, only those who joined after that one (removed or not)."""
        ...

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

    async def update_room_settings(self, room_id: int, settings: RoomSettings) -> None: ...
