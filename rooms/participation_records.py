"""Participation: the sums storage keeps or counts, and the reports built from them.

The first group is what the storage ports return (:meth:`rooms.ports.Store.activity_totals`,
:meth:`rooms.ports.ThreadStore.participation_counts`, ...): sums over stored rows, never
a replay of a document. The second is what :class:`rooms.participation.Participation`
builds from them for one reader.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rooms.records import Participant

# --- what storage sums -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DocumentActivity:
    """One participant's text activity in one document, over all its buckets."""

    document_id: int
    participant_id: str
    added: int
    removed: int
    edits: int
    # The start of the latest bucket with an edit of theirs.
    last_bucket: datetime


@dataclass(frozen=True, slots=True)
class ActivityBucket:
    """Everyone's text activity in one document within one bucket."""

    document_id: int
    bucket: datetime
    added: int
    removed: int
    edits: int


@dataclass(frozen=True, slots=True)
class ThreadCounts:
    """One participant's part in a room's threads. Deleted and removed comments do not
    count; hidden ones do (their author wrote them, facilitators still read them)."""

    participant_id: str
    # Comments in comment threads: openings and replies.
    comments: int = 0
    # Question threads they opened (anonymous ones included unless left out).
    questions: int = 0
    anonymous_questions: int = 0
    # Their replies in question threads.
    answers: int = 0
    # Their replies that are a question's accepted answer.
    accepted_answers: int = 0
    reactions_given: int = 0
    # Reactions of others on their comments.
    reactions_received: int = 0
    # Their latest comment or reaction.
    last_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class UnansweredQuestion:
    """An open question without a reply (nor an accepted answer)."""

    thread_id: int
    document: str | None
    # The opening comment's body.
    text: str
    asker_id: str
    anonymous: bool
    asked_at: datetime


@dataclass(frozen=True, slots=True)
class PresenceSpan:
    """One event-socket connection of a participant: from when to when."""

    participant_id: str
    started_at: datetime
    ended_at: datetime


# --- the reports -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DocumentShare:
    """What one person's edits did to one document."""

    document: str
    added: int
    removed: int
    edits: int


@dataclass(frozen=True, slots=True)
class PersonReport:
    participant: Participant
    colour: str
    here_now: bool
    present_seconds: int
    added: int
    removed: int
    documents: tuple[DocumentShare, ...]
    counts: ThreadCounts
    last_active_at: datetime | None

    @property
    def contributed(self) -> bool:
        """Wrote text, or any comment, question or answer."""
        c = self.counts
        wrote = any(d.edits > 0 for d in self.documents)
        return wrote or c.comments > 0 or c.questions > 0 or c.answers > 0


@dataclass(frozen=True, slots=True)
class WaitingQuestion:
    """An unanswered question as the facilitator's report shows it."""

    question: UnansweredQuestion
    asker_name: str
    waiting_seconds: int


@dataclass(frozen=True, slots=True)
class ActivitySeries:
    """One document's activity, one entry per bucket from ``start`` up to now."""

    document: str
    bucket_seconds: int
    start: datetime
    edits: tuple[int, ...]
    added: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class RoomReport:
    """The facilitator's view of everyone's participation."""

    generated_at: datetime
    # Sorted by name.
    people: tuple[PersonReport, ...]
    # Ids of people (not facilitators, not removed) who have not contributed yet.
    not_contributed: tuple[str, ...]
    # Oldest first.
    unanswered: tuple[WaitingQuestion, ...]
    activity: tuple[ActivitySeries, ...]
    # The room's document names, in order of creation.
    documents: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class OwnThread:
    """A thread the reader started, as their own report lists it."""

    thread_id: int
    document: str | None
    kind: str
    text: str
    replies: int
    accepted: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class OwnReport:
    """One participant's own contribution; nothing about anyone else, nothing anonymous."""

    generated_at: datetime
    person: PersonReport
    # Newest first.
    threads: tuple[OwnThread, ...]
