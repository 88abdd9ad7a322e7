"""Participation reports on the memory adapters: what each person did, counted from
storage's sums; the facilitators' view (anonymous questions count for their askers)
and each person's own (nothing of anyone else, nothing anonymous)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from rooms.comment_views import Viewer
from rooms.comments import CommentDraft, ThreadChanges, ThreadDraft
from rooms.errors import Forbidden
from rooms.live.broker import LocalBroker
from rooms.participation import Participation, present_seconds
from rooms.participation_records import PersonReport, PresenceSpan
from rooms.presence import Presence, Roster
from rooms.records import ACTIVITY_BUCKET_SECONDS, TextActivity, activity_bucket
from rooms.roles import Role
from tests.support.domain import Cohort, Domain


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Setup:
    cohort: Cohort
    participation: Participation
    roster: Roster
    clock: Clock


@pytest.fixture
async def setup(domain: Domain, cohort: Cohort) -> AsyncIterator[Setup]:
    roster = Roster(LocalBroker())
    clock = Clock(datetime.now(UTC))
    participation = Participation(domain.store, domain.participants, domain.threads, roster, clock)
    yield Setup(cohort, participation, roster, clock)
    await roster.close()


async def seat_mentor(c: Cohort) -> Viewer:
    """A mentor, seated as an emailed invitation seats one (there is no invite link)."""
    seated = await c.domain.participants.add_participant(c.room.id, "Meg", Role.MENTOR)
    return Viewer(seated.id, seated.role, seated.name)


def person(people: tuple[PersonReport, ...], viewer: Viewer) -> PersonReport:
    return next(p for p in people if p.participant.id == viewer.id)


def test_time_present_counts_overlapping_connections_once() -> None:
    at = datetime(2026, 12, 6, 18, 0, tzinfo=UTC)

    def span(start: int, end: int) -> PresenceSpan:
        return PresenceSpan("p", at + timedelta(seconds=start), at + timedelta(seconds=end))

    assert present_seconds([]) == 0
    # Two tabs overlapping, one inside another, then a later visit.
    assert present_seconds([span(0, 100), span(50, 150), span(60, 70), span(200, 230)]) == 180
    assert present_seconds([span(200, 230), span(0, 100)]) == 130
    assert present_seconds([span(0, 100), span(100, 120)]) == 120


def test_activity_buckets_are_five_minutes_in_utc() -> None:
    moment = datetime(2026, 12, 6, 18, 7, 59, 900_000, tzinfo=UTC)
    assert activity_bucket(moment) == datetime(2026, 12, 6, 18, 5, tzinfo=UTC)
    local = datetime.fromisoformat("2026-12-06T20:04:00+02:00")
    assert activity_bucket(local) == datetime(2026, 12, 6, 18, 0, tzinfo=UTC)
    assert ACTIVITY_BUCKET_SECONDS == 300


async def test_only_facilitators_see_everyones_participation(setup: Setup) -> None:
    c = setup.cohort
    for viewer in (c.ann, c.olive):
        with pytest.raises(Forbidden) as refused:
            await setup.participation.room_report(c.room, viewer)
        assert refused.value.reason == "forbidden"
    mentor = await seat_mentor(c)
    with pytest.raises(Forbidden):
        await setup.participation.room_report(c.room, mentor)
    report = await setup.participation.room_report(c.room, c.fay)
    assert [p.participant.name for p in report.people] == ["Ann", "Bob", "Fay", "Meg", "Olive"]


async def test_the_report_counts_text_threads_reactions_and_presence(setup: Setup) -> None:
    c, domain = setup.cohort, setup.cohort.domain
    comments = domain.comments
    guide = await c.document("Guide")
    plan = await c.document("Plan")
    now = setup.clock.now
    bucket = activity_bucket(now)
    earlier = bucket - timedelta(seconds=2 * ACTIVITY_BUCKET_SECONDS)
    await domain.store.append_updates(
        guide.id,
        [b"u1", b"u2"],
        [TextActivity(c.ann.id, earlier, 400, 30, 50), TextActivity(c.bob.id, bucket, 5, 0, 1)],
    )
    await domain.store.append_updates(guide.id, [b"u3"], [TextActivity(c.ann.id, bucket, 0, 7, 2)])
    await domain.store.append_updates(plan.id, [b"u4"], [TextActivity(c.ann.id, bucket, 12, 0, 1)])

    # Ann: a comment; Bob replies; Ann asks a question anonymously, Bob answers, accepted.
    talk = await comments.create_thread(c.room, c.ann, ThreadDraft("Look", document="Guide"))
    _, bob_reply = await comments.reply(c.room, c.bob, talk.id, CommentDraft("Indeed"))
    asked = await comments.create_thread(
        c.room, c.ann, ThreadDraft("Why?", kind="question", anonymous=True)
    )
    _, answer = await comments.reply(c.room, c.bob, asked.id, CommentDraft("Because"))
    await comments.update_thread(c.room, c.ann, asked.id, ThreadChanges(accepted_comment_id=answer))
    await comments.react(c.room, c.ann, bob_reply, "thanks", True)
    await comments.react(c.room, c.fay, talk.opening.id, "aha", True)
    # A deleted reply does not count.
    _, oops = await comments.reply(c.room, c.bob, talk.id, CommentDraft("Oops"))
    await comments.delete(c.room, c.bob, oops)

    at = now - timedelta(minutes=30)
    await domain.participants.add_presence(c.room.id, c.ann.id, at, at + timedelta(minutes=10))
    await domain.participants.add_presence(
        c.room.id, c.ann.id, at + timedelta(minutes=5), at + timedelta(minutes=20)
    )
    await setup.roster.enter(c.room.id, "tab", Presence(c.bob.id, "Bob", "member"))

    report = await setup.participation.room_report(c.room, c.fay)
    assert report.generated_at == now
    assert report.documents == ("Guide", "Plan")
    ann, bob = person(report.people, c.ann), person(report.people, c.bob)
    assert (ann.added, ann.removed, ann.present_seconds, ann.here_now) == (412, 37, 1200, False)
    assert [(d.document, d.added, d.removed, d.edits) for d in ann.documents] == [
        ("Guide", 400, 37, 52),
        ("Plan", 12, 0, 1),
    ]
    assert (ann.counts.comments, ann.counts.questions, ann.counts.anonymous_questions) == (1, 1, 1)
    assert (ann.counts.reactions_given, ann.counts.reactions_received) == (1, 1)
    assert ann.contributed and ann.colour.startswith("#")
    assert ann.last_active_at is not None and ann.last_active_at >= bucket
    assert (bob.here_now, bob.present_seconds, bob.added) == (True, 0, 5)
    assert (bob.counts.comments, bob.counts.answers, bob.counts.accepted_answers) == (1, 1, 1)
    assert bob.counts.reactions_received == 1
    fay = person(report.people, c.fay)
    assert (fay.counts.reactions_given, fay.contributed) == (1, False)
    # Facilitators are never "not contributed"; observers are.
    assert report.not_contributed == (c.olive.id,)
    (guide_series, plan_series) = report.activity
    assert (guide_series.document, guide_series.start) == ("Guide", earlier)
    assert guide_series.edits == (50, 0, 3)
    assert guide_series.added == (400, 0, 5)
    assert (plan_series.start, plan_series.edits, plan_series.added) == (bucket, (1,), (12,))


async def test_removed_people_stay_when_they_took_part(setup: Setup) -> None:
    c, domain = setup.cohort, setup.cohort.domain
    quiet = await c.join(Role.MEMBER, "Quinn")
    await domain.comments.create_thread(c.room, c.bob, ThreadDraft("Hello"))
    await domain.controls.remove(c.room, c.fay, c.bob.id)
    await domain.controls.remove(c.room, c.fay, quiet.id)
    report = await setup.participation.room_report(c.room, c.fay)
    names = [(p.participant.name, p.participant.removed) for p in report.people]
    assert names == [("Ann", False), ("Bob", True), ("Fay", False), ("Olive", False)]
    assert set(report.not_contributed) == {c.ann.id, c.olive.id}


async def test_unanswered_questions_oldest_first_with_their_wait(setup: Setup) -> None:
    c, comments = setup.cohort, setup.cohort.domain.comments
    first = await comments.create_thread(
        c.room, c.ann, ThreadDraft("x" * 300, kind="question", anonymous=True)
    )
    second = await comments.create_thread(c.room, c.bob, ThreadDraft("Where?", kind="question"))
    answered = await comments.create_thread(c.room, c.bob, ThreadDraft("How?", kind="question"))
    await comments.reply(c.room, c.ann, answered.id, CommentDraft("So"))
    await comments.create_thread(c.room, c.bob, ThreadDraft("Not a question"))
    setup.clock.now = second.created_at + timedelta(seconds=640)
    report = await setup.participation.room_report(c.room, c.fay)
    assert [w.question.thread_id for w in report.unanswered] == [first.id, second.id]
    oldest, newer = report.unanswered
    assert (oldest.asker_name, oldest.question.anonymous) == ("Ann", True)
    assert oldest.question.text == "x" * 200
    assert newer.waiting_seconds == 640
    assert oldest.waiting_seconds >= 640


async def test_own_report_leaves_out_anonymous_questions_and_other_people(setup: Setup) -> None:
    c, domain = setup.cohort, setup.cohort.domain
    comments = domain.comments
    guide = await c.document("Guide")
    bucket = activity_bucket(setup.clock.now)
    await domain.store.append_updates(
        guide.id,
        [b"u"],
        [TextActivity(c.ann.id, bucket, 40, 2, 3), TextActivity(c.bob.id, bucket, 9, 0, 1)],
    )
    secret = await comments.create_thread(
        c.room, c.ann, ThreadDraft("Secret?", kind="question", anonymous=True)
    )
    await comments.reply(c.room, c.ann, secret.id, CommentDraft("More about my secret"))
    await comments.react(c.room, c.bob, secret.opening.id, "curious", True)
    open_question = await comments.create_thread(
        c.room, c.ann, ThreadDraft("Open?", kind="question", document="Guide")
    )
    _, answer = await comments.reply(c.room, c.bob, open_question.id, CommentDraft("Yes"))
    await comments.update_thread(
        c.room, c.ann, open_question.id, ThreadChanges(accepted_comment_id=answer)
    )
    talk = await comments.create_thread(c.room, c.bob, ThreadDraft("Bob's"))
    _, mine = await comments.reply(c.room, c.ann, talk.id, CommentDraft("Ann's reply"))
    await comments.react(c.room, c.bob, mine, "agree", True)

    own = await setup.participation.own_report(c.room, c.ann)
    me = own.person
    assert me.participant.id == c.ann.id
    assert (me.added, me.removed, [d.document for d in me.documents]) == (40, 2, ["Guide"])
    assert (me.counts.questions, me.counts.anonymous_questions) == (1, 0)
    # Her reply inside her own anonymous question is left out too.
    assert (me.counts.comments, me.counts.answers) == (1, 0)
    # Only the reaction on her signed reply; the one on her anonymous question is not.
    assert me.counts.reactions_received == 1
    assert [(t.thread_id, t.kind, t.accepted, t.replies) for t in own.threads] == [
        (open_question.id, "question", True, 1)
    ]
    # The facilitator's view counts the anonymous question for Ann.
    report = await setup.participation.room_report(c.room, c.fay)
    ann = person(report.people, c.ann)
    assert (ann.counts.questions, ann.counts.anonymous_questions, ann.counts.answers) == (2, 1, 1)
    assert ann.counts.reactions_received == 2


async def test_a_mentor_sees_their_own_work_on_the_documents_they_mentor(setup: Setup) -> None:
    c, domain = setup.cohort, setup.cohort.domain
    mentor = await seat_mentor(c)
    await c.document("Plan", mentor=mentor)
    await c.document("Other")
    await domain.comments.create_thread(c.room, mentor, ThreadDraft("Nice", document="Plan"))
    own = await setup.participation.own_report(c.room, mentor)
    assert own.person.counts.comments == 1
    assert [t.document for t in own.threads] == ["Plan"]


async def test_the_open_visit_of_someone_here_now_counts_up_to_now(setup: Setup) -> None:
    c = setup.cohort
    now = setup.clock.now
    # A visit that ended 10 minutes ago after 20, and a tab open for 15 minutes now,
    # which overlaps another recorded visit of 5 minutes.
    await c.domain.participants.add_presence(
        c.room.id, c.ann.id, now - timedelta(minutes=30), now - timedelta(minutes=10)
    )
    await c.domain.participants.add_presence(
        c.room.id, c.ann.id, now - timedelta(minutes=12), now - timedelta(minutes=7)
    )
    since = (now - timedelta(minutes=15)).timestamp()
    await setup.roster.enter(c.room.id, "tab", Presence(c.ann.id, "Ann", "member", since=since))
    await setup.roster.enter(c.room.id, "old", Presence(c.bob.id, "Bob", "member"))
    report = await setup.participation.room_report(c.room, c.fay)
    ann, bob = person(report.people, c.ann), person(report.people, c.bob)
    assert (ann.here_now, ann.present_seconds) == (True, 30 * 60)
    # A process that does not say since when counts nothing open.
    assert (bob.here_now, bob.present_seconds) == (True, 0)
    own = await setup.participation.own_report(c.room, c.ann)
    assert (own.person.here_now, own.person.present_seconds) == (True, 30 * 60)
