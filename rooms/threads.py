"""Comment threads and questions: the records a :class:`rooms.ports.ThreadStore` keeps."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

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

    @property
    def erased(self) -> bool:
        """Whether the comment's body is gone (deleted or removed)."""
        return self in (CommentState.DELETED, CommentState.REMOVED)


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
        return not self.state.erased


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
    # Whether invite links take guests (a name, no account). Off: joining needs an
    # account, so that a removed person cannot come back as a new guest.
    guests_allowed: bool = True


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
