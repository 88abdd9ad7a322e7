"""Participation: who took part in a room, and how, for its facilitators and for each
person about themselves.

Everything comes from sums storage keeps as things happen (no document is read or
replayed): the text activity stored with each batch of edits (``Store.activity_*``),
GROUP BY counts over threads, comments and reactions
(``ThreadStore.participation_counts``, ``unanswered_questions``), and the recorded
event-socket connections (``ParticipantStore.presence_spans``). Several processes
sharing one database therefore give the same numbers, before and after a restart.

Time present is the union of a person's recorded connections (tabs and devices that
overlap count once). A connection is recorded when it closes; for people in the roster
now (``here_now``), the time since their earliest open connection entered (the
roster's ``since``, shared by every process) is added up to now.

Anonymous questions count for their asker in :meth:`Participation.room_report` (the
facilitators' view, which names askers anyway) and never in
:meth:`Participation.own_report`: what people wrote in their own anonymous questions,
the reactions it got and the threads themselves are left out of it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from rooms.comment_views import Viewer
from rooms.controls import may_see
from rooms.errors import Forbidden
from rooms.participation_records import (
    ActivityBucket,
    ActivitySeries,
    DocumentActivity,
    DocumentShare,
    OwnReport,
    OwnThread,
    PersonReport,
    PresenceSpan,
    RoomReport,
    ThreadCounts,
    WaitingQuestion,
)
from rooms.ports import ParticipantStore, Store, ThreadStore
from rooms.presence import Roster, colour_for
from rooms.records import ACTIVITY_BUCKET_SECONDS, DocumentInfo, Participant, Room, activity_bucket
from rooms.roles import Role
from rooms.threads import ThreadQuery

# Characters of a question or thread shown in a report.
TEXT_CHARS = 200
# Buckets of the activity chart at most: the last 24 hours.
MAX_BUCKETS = 24 * 3600 // ACTIVITY_BUCKET_SECONDS
# Threads listed in a person's own report at most (the newest).
MAX_OWN_THREADS = 200


def _now() -> datetime:
    return datetime.now(UTC)


def present_seconds(spans: Iterable[PresenceSpan]) -> int:
    """The time covered by ``spans``, counting overlaps once, in whole seconds."""
    total = timedelta()
    start: datetime | None = None
    end: datetime | None = None
    for span in sorted(spans, key=lambda s: s.started_at):
        if end is None or start is None or span.started_at > end:
            if start is not None and end is not None:
                total += end - start
            start, end = span.started_at, span.ended_at
        elif span.ended_at > end:
            end = span.ended_at
    if start is not None and end is not None:
        total += end - start
    return int(total.total_seconds())


def activity_series(
    buckets: Iterable[ActivityBucket], names: dict[int, str], now: datetime
) -> tuple[ActivitySeries, ...]:
    """One series per document with activity, from its first bucket to now's, in the
    order of ``names``; a bucket without edits is 0."""
    per_document: dict[int, dict[datetime, ActivityBucket]] = {}
    for bucket in buckets:
        per_document.setdefault(bucket.document_id, {})[bucket.bucket] = bucket
    last = activity_bucket(now)
    step = timedelta(seconds=ACTIVITY_BUCKET_SECONDS)
    series = []
    for document_id, name in names.items():
        found = per_document.get(document_id)
        if not found:
            continue
        start = max(min(found), last - step * (MAX_BUCKETS - 1))
        count = max(int((last - start) / step) + 1, 1)
        moments = [start + step * n for n in range(count)]
        series.append(
            ActivitySeries(
                document=name,
                bucket_seconds=ACTIVITY_BUCKET_SECONDS,
                start=start,
                edits=tuple(found[m].edits if m in found else 0 for m in moments),
                added=tuple(found[m].added if m in found else 0 for m in moments),
            )
        )
    return tuple(series)


def _latest(*moments: datetime | None) -> datetime | None:
    known = [m for m in moments if m is not None]
    return max(known) if known else None


class Participation:
    """Builds participation reports from storage's sums and the live roster."""

    def __init__(
        self,
        store: Store,
        participants: ParticipantStore,
        threads: ThreadStore,
        roster: Roster,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._store = store
        self._participants = participants
        self._threads = threads
        self._roster = roster
        self._clock = clock

    async def room_report(self, room: Room, viewer: Viewer) -> RoomReport:
        """Everyone's participation (facilitators only); anonymous questions count for
        their askers."""
        if viewer.role is not Role.FACILITATOR:
            raise Forbidden("forbidden", "only facilitators see everyone's participation")
        now = self._clock()
        documents = await self._store.list_documents(room.id)
        names = {d.id: d.name for d in documents}
        activity = await self._store.activity_totals(room.id)
        counts = {c.participant_id: c for c in await self._threads.participation_counts(room.id)}
        spans: dict[str, list[PresenceSpan]] = {}
        for span in await self._participants.presence_spans(room.id):
            spans.setdefault(span.participant_id, []).append(span)
        here = await self._here_now(room)
        for person_id, since in here.items():
            if since is not None:
                open_span = PresenceSpan(person_id, min(since, now), now)
                spans.setdefault(person_id, []).append(open_span)
        people = {p.id: p for p in await self._participants.list_participants(room.id)}
        # Removed people stay in the report if they took part.
        for person_id in {a.participant_id for a in activity} | counts.keys():
            if person_id not in people:
                found = await self._participants.get_participant(person_id)
                if found is not None and found.room_id == room.id:
                    people[person_id] = found
        reports = []
        for person in people.values():
            report = self._person(
                person,
                [a for a in activity if a.participant_id == person.id],
                names,
                counts.get(person.id, ThreadCounts(person.id)),
                spans.get(person.id, []),
                person.id in here,
            )
            if person.removed and not report.contributed:
                continue
            reports.append(report)
        reports.sort(key=lambda r: (r.participant.name.casefold(), r.participant.id))
        unanswered = []
        for question in await self._threads.unanswered_questions(room.id):
            asker = people.get(question.asker_id) or await self._participants.get_participant(
                question.asker_id
            )
            unanswered.append(
                WaitingQuestion(
                    replace(question, text=question.text[:TEXT_CHARS]),
                    "" if asker is None else asker.name,
                    max(int((now - question.asked_at).total_seconds()), 0),
                )
            )
        since = activity_bucket(now) - timedelta(seconds=ACTIVITY_BUCKET_SECONDS * MAX_BUCKETS)
        buckets = await self._store.activity_buckets(room.id, since)
        return RoomReport(
            generated_at=now,
            people=tuple(reports),
            not_contributed=tuple(
                r.participant.id
                for r in reports
                if not r.contributed
                and not r.participant.removed
                and r.participant.role is not Role.FACILITATOR
            ),
            unanswered=tuple(unanswered),
            activity=activity_series(buckets, names, now),
            documents=tuple(names.values()),
        )

    async def own_report(self, room: Room, viewer: Viewer) -> OwnReport:
        """The reader's own contribution: nothing of anyone else's, and nothing they
        asked anonymously. A mentor's covers the documents they mentor."""
        now = self._clock()
        person = await self._participants.get_participant(viewer.id)
        if person is None or person.room_id != room.id:
            raise Forbidden("forbidden", "not a participant of this room")
        documents = [d for d in await self._store.list_documents(room.id) if may_see(viewer, d)]
        names = {d.id: d.name for d in documents}
        activity = [
            a
            for a in await self._store.activity_totals(room.id, viewer.id)
            if a.document_id in names
        ]
        found = await self._threads.participation_counts(
            room.id, participant_id=viewer.id, include_anonymous=False
        )
        counts = found[0] if found else ThreadCounts(viewer.id)
        spans = await self._participants.presence_spans(room.id, viewer.id)
        here = await self._here_now(room)
        since = here.get(viewer.id)
        if since is not None:
            spans.append(PresenceSpan(viewer.id, min(since, now), now))
        report = self._person(person, activity, names, counts, spans, viewer.id in here)
        return OwnReport(now, report, await self._own_threads(room, viewer, documents))

    async def _own_threads(
        self, room: Room, viewer: Viewer, documents: list[DocumentInfo]
    ) -> tuple[OwnThread, ...]:
        seen = {d.name for d in documents}
        threads = await self._threads.list_threads(
            room.id, ThreadQuery(author_id=viewer.id, limit=MAX_OWN_THREADS)
        )
        own = [
            OwnThread(
                thread_id=t.id,
                document=t.document,
                kind=t.kind.value,
                text=t.opening.body[:TEXT_CHARS],
                replies=t.reply_count,
                accepted=t.accepted_comment_id is not None,
                created_at=t.created_at,
            )
            for t in threads
            if not t.anonymous
            and t.comments
            and not t.opening.state.erased
            and ((t.document is None and viewer.role.sees_room) or t.document in seen)
        ]
        own.sort(key=lambda t: (t.created_at, t.thread_id), reverse=True)
        return tuple(own)

    async def _here_now(self, room: Room) -> dict[str, datetime | None]:
        """Who is in the roster now, each with when their earliest open connection
        entered (None when no process said)."""
        here: dict[str, datetime | None] = {}
        for row in await self._roster.known_roster(room.id):
            since = row.get("since")
            here[str(row["id"])] = (
                datetime.fromtimestamp(since, UTC) if isinstance(since, int | float) else None
            )
        return here

    def _person(
        self,
        person: Participant,
        activity: list[DocumentActivity],
        names: dict[int, str],
        counts: ThreadCounts,
        spans: list[PresenceSpan],
        here_now: bool,
    ) -> PersonReport:
        order = list(names)
        shares = [
            DocumentShare(names[a.document_id], a.added, a.removed, a.edits)
            for a in sorted(activity, key=lambda a: order.index(a.document_id))
            if a.document_id in names
        ]
        last_edit = max((a.last_bucket for a in activity), default=None)
        return PersonReport(
            participant=person,
            colour=colour_for(person.id, person.colour),
            here_now=here_now,
            present_seconds=present_seconds(spans),
            added=sum(s.added for s in shares),
            removed=sum(s.removed for s in shares),
            documents=tuple(shares),
            counts=counts,
            last_active_at=_latest(last_edit, counts.last_at),
        )
