"""Comments on in-memory storage: who may do what, what each participant sees, and the
room events that announce each change.

The cohort (tests/support/domain.py) is Fay (facilitator), Ann and Bob (members) and
Olive (observer). A refusal is checked with ``cohort.refuses``: the right error and
reason, and nothing stored or published.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from crdt.anchors import PositionKind, RelativePosition, canonical
from rooms.comment_views import Viewer, comment_view, thread_meta, thread_view
from rooms.comments import (
    MAX_BODY_CHARS,
    MAX_MENTIONS,
    MAX_PARTICIPANT_CAP,
    AnchorDraft,
    CommentDraft,
    SettingsChanges,
    ThreadChanges,
    ThreadDraft,
    ThreadFilter,
)
from rooms.errors import Conflict, Forbidden, Invalid, NotFound
from rooms.records import RoomEvent
from rooms.roles import Role
from rooms.threads import (
    Anchor,
    Author,
    CommentState,
    RoomSettings,
    Thread,
    ThreadKind,
    ThreadStatus,
)
from tests.support.domain import Cohort

COMMENT = ThreadKind.COMMENT.value
QUESTION = ThreadKind.QUESTION.value


def _author(viewer: Viewer) -> dict[str, str]:
    return {"id": viewer.id, "name": viewer.name, "role": viewer.role.value}


async def _thread(c: Cohort, who: Viewer, body: str = "A thought", **fields: Any) -> Thread:
    return await c.domain.comments.create_thread(c.room, who, ThreadDraft(body, **fields))


async def _reply(c: Cohort, who: Viewer, thread: Thread, body: str = "A reply") -> int:
    _, comment_id = await c.domain.comments.reply(c.room, who, thread.id, CommentDraft(body))
    return comment_id


async def _settings(c: Cohort, **changes: Any) -> RoomSettings:
    return await c.domain.comments.update_settings(c.room, c.fay, SettingsChanges(**changes))


# Starting threads


async def test_a_member_starts_a_thread_announced_by_its_id(cohort: Cohort) -> None:
    c = cohort
    thread = await _thread(c, c.ann, "  Chapter 2 is the key  ")
    assert thread.room_id == c.room.id
    assert thread.kind is ThreadKind.COMMENT
    assert thread.author == Author(c.ann.id, "Ann", Role.MEMBER)
    assert (thread.status, thread.locked, thread.post_first) == (ThreadStatus.OPEN, False, False)
    assert (thread.document, thread.anchor, thread.anonymous) == (None, None, False)
    assert thread.reply_count == 0
    assert [(x.author.id, x.body) for x in thread.comments] == [(c.ann.id, "Chapter 2 is the key")]
    assert await c.published() == [("thread.created", {"thread_id": thread.id})]
    assert await c.domain.comments.thread(c.room, thread.id) == thread


async def test_observers_start_questions_only_when_the_room_allows(cohort: Cohort) -> None:
    c = cohort
    async with c.refuses(Forbidden, "forbidden"):
        await _thread(c, c.olive, kind=COMMENT)
    async with c.refuses(Forbidden, "forbidden"):
        await _thread(c, c.olive, kind=QUESTION)
    await _settings(c, observers_can_ask=True)
    question = await _thread(c, c.olive, "Why?", kind=QUESTION)
    assert (question.kind, question.author.id) == (ThreadKind.QUESTION, c.olive.id)
    async with c.refuses(Forbidden, "forbidden"):
        await _thread(c, c.olive, kind=COMMENT)


async def test_an_observer_comments_on_the_document_they_mentor(cohort: Cohort) -> None:
    c = cohort
    await c.document("Plan", mentor=c.olive)
    await c.document("Notes")
    mentored = await _thread(c, c.olive, "Good start", document="Plan")
    assert (mentored.document, mentored.author.id) == ("Plan", c.olive.id)
    async with c.refuses(Forbidden, "forbidden"):
        await _thread(c, c.olive, document="Notes")
    async with c.refuses(Forbidden, "forbidden"):
        await _thread(c, c.olive)

    on_plan = await _thread(c, c.bob, document="Plan")
    on_notes = await _thread(c, c.bob, document="Notes")
    assert await _reply(c, c.olive, on_plan, "Try this") > 0
    async with c.refuses(Forbidden, "forbidden"):
        await _reply(c, c.olive, on_notes)


async def test_observers_reply_only_to_their_own_questions(cohort: Cohort) -> None:
    c = cohort
    await _settings(c, observers_can_ask=True)
    own = await _thread(c, c.olive, "Why?", kind=QUESTION)
    await _reply(c, c.ann, own, "Because")
    await _reply(c, c.olive, own, "Thanks!")
    thread = await c.domain.comments.thread(c.room, own.id)
    assert [x.author.id for x in thread.replies] == [c.ann.id, c.olive.id]
    assert thread.reply_count == 2

    others = await _thread(c, c.ann, kind=QUESTION)
    async with c.refuses(Forbidden, "forbidden"):
        await _reply(c, c.olive, others)


@pytest.mark.parametrize(
    ("who", "fields", "kind", "reason"),
    [
        ("ann", {"kind": "poll"}, Invalid, "invalid_kind"),
        ("ann", {"kind": COMMENT, "anonymous": True}, Invalid, "invalid_anonymous"),
        ("fay", {"kind": QUESTION, "anonymous": True}, Invalid, "invalid_anonymous"),
        ("ann", {"kind": COMMENT, "post_first": True}, Invalid, "invalid_post_first"),
        ("ann", {"body": "  \n "}, Invalid, "invalid_body"),
        ("ann", {"body": "x" * (MAX_BODY_CHARS + 1)}, Invalid, "invalid_body"),
        ("ann", {"body": "a\x00b"}, Invalid, "invalid_body"),
        ("ann", {"document": "Nowhere"}, NotFound, "unknown_document"),
        ("ann", {"document": "../etc"}, Invalid, "invalid_document"),
        ("ann", {"mentions": ("not an id",)}, Invalid, "invalid_mentions"),
    ],
)
async def test_a_thread_draft_is_checked(
    cohort: Cohort, who: str, fields: dict[str, Any], kind: type[Invalid], reason: str
) -> None:
    viewer: Viewer = getattr(cohort, who)
    draft = {"body": "Hello", **fields}
    async with cohort.refuses(kind, reason):
        await cohort.domain.comments.create_thread(cohort.room, viewer, ThreadDraft(**draft))


async def test_bodies_are_stored_clean(cohort: Cohort) -> None:
    c = cohort
    thread = await _thread(c, c.ann, "  line one\r\nline two\t \n")
    assert thread.opening.body == "line one\nline two"
    longest = await _thread(c, c.ann, "x" * MAX_BODY_CHARS)
    assert len(longest.opening.body) == MAX_BODY_CHARS


async def test_post_first_follows_the_room_unless_the_question_says(cohort: Cohort) -> None:
    c = cohort
    assert (await _thread(c, c.ann, kind=QUESTION)).post_first is False
    assert (await _thread(c, c.ann, kind=QUESTION, post_first=True)).post_first is True
    await _settings(c, post_first_questions=True)
    assert (await _thread(c, c.ann, kind=QUESTION)).post_first is True
    assert (await _thread(c, c.ann, kind=QUESTION, post_first=False)).post_first is False
    assert (await _thread(c, c.ann, kind=COMMENT)).post_first is False


def _b64(position: RelativePosition) -> str:
    return base64.b64encode(canonical(position)).decode()


CONTENT_END = RelativePosition(PositionKind.ROOT, root="default")


async def test_an_anchor_points_into_its_document(cohort: Cohort) -> None:
    c = cohort
    await c.document("Guide")
    draft = AnchorDraft(_b64(CONTENT_END), _b64(CONTENT_END), "  the passage ")
    thread = await _thread(c, c.ann, document="Guide", anchor=draft)
    assert thread.anchor == Anchor(canonical(CONTENT_END), canonical(CONTENT_END), "the passage")
    shown = thread_meta(thread, c.bob)["anchor"]
    assert shown == {"start": draft.start, "end": draft.end, "quote": "the passage"}

    async with c.refuses(Invalid, "invalid_anchor"):
        await _thread(c, c.ann, anchor=draft)
    bad_positions = [
        _b64(RelativePosition(PositionKind.ROOT, root="title")),
        _b64(RelativePosition(PositionKind.ITEM, client=99, clock=0)),
        "%%%",
        "",
    ]
    for bad in bad_positions:
        async with c.refuses(Invalid, "invalid_anchor"):
            await _thread(c, c.ann, document="Guide", anchor=AnchorDraft(draft.start, bad, "q"))
    async with c.refuses(Invalid, "invalid_quote"):
        await _thread(c, c.ann, document="Guide", anchor=AnchorDraft(draft.start, draft.end, ""))


async def test_a_thread_of_another_room_is_not_found(cohort: Cohort) -> None:
    c = cohort
    other = await c.domain.directory.create_room("Other")
    stranger = await c.domain.join(other, Role.MEMBER, "Sam")
    theirs = await c.domain.comments.create_thread(other.room, stranger, ThreadDraft("Elsewhere"))
    for thread_id in (theirs.id, 0, -1, 10_000, 2**63):
        with pytest.raises(NotFound) as refused:
            await c.domain.comments.thread(c.room, thread_id)
        assert refused.value.reason == "unknown_thread"
    async with c.refuses(NotFound, "unknown_thread"):
        await _reply(c, c.ann, theirs)
    async with c.refuses(NotFound, "unknown_comment"):
        await c.domain.comments.edit(c.room, c.ann, theirs.opening.id, CommentDraft("Mine"))
    async with c.refuses(NotFound, "unknown_comment"):
        await c.domain.comments.moderate(c.room, c.fay, theirs.opening.id, "hide")
    async with c.refuses(NotFound, "unknown_comment"):
        await c.domain.comments.delete(c.room, c.ann, 0)


# What each participant sees


async def test_an_anonymous_question_hides_its_asker_from_peers(cohort: Cohort) -> None:
    c = cohort
    question = await _thread(c, c.ann, "Is it only me?", kind=QUESTION, anonymous=True)
    await _reply(c, c.bob, question, "No")
    await _reply(c, c.ann, question, "Phew")
    thread = await c.domain.comments.thread(c.room, question.id)
    # Storage knows who asked; only the views hide it.
    assert thread.anonymous and thread.author.id == c.ann.id

    def authors(viewer: Viewer) -> list[Any]:
        view = thread_view(thread, viewer)
        return [view["author"]] + [x["author"] for x in view["comments"]]

    ann, bob = _author(c.ann), _author(c.bob)
    for peer in (c.bob, c.olive):
        assert authors(peer) == [None, None, bob, None]
    for insider in (c.fay, c.ann):
        assert authors(insider) == [ann, ann, bob, ann]
    peer_view = thread_view(thread, c.bob)
    assert peer_view["anonymous"] is True and peer_view["mine"] is False
    assert [x["by_asker"] for x in peer_view["comments"]] == [True, False, True]
    assert [x["body"] for x in peer_view["comments"]] == ["Is it only me?", "No", "Phew"]
    assert thread_view(thread, c.ann)["mine"] is True


async def test_a_post_first_question_withholds_answers_until_a_member_replies(
    cohort: Cohort,
) -> None:
    c = cohort
    cy, dee = await c.join(Role.MEMBER, "Cy"), await c.join(Role.MEMBER, "Dee")
    await _settings(c, post_first_questions=True)
    question = await _thread(c, c.ann, "What is a monad?", kind=QUESTION)
    await _reply(c, c.ann, question, "Asker's hint")
    bob_reply = await _reply(c, c.bob, question, "Bob's answer")

    async def bodies(viewer: Viewer) -> list[tuple[str, str | None]]:
        thread = await c.domain.comments.thread(c.room, question.id)
        return [(x["state"], x["body"]) for x in thread_view(thread, viewer)["comments"]]

    async def meta(viewer: Viewer) -> dict[str, Any]:
        return thread_meta(await c.domain.comments.thread(c.room, question.id), viewer)

    everything = [
        ("visible", "What is a monad?"),
        ("visible", "Asker's hint"),
        ("visible", "Bob's answer"),
    ]
    for sees_all in (c.fay, c.ann, c.bob, c.olive):
        assert await bodies(sees_all) == everything
        assert (await meta(sees_all))["withheld_count"] == 0
    withheld = [*everything[:2], ("withheld", None)]
    assert await bodies(cy) == withheld
    assert (await meta(cy))["withheld_count"] == 1
    assert (await meta(cy))["reply_count"] == 2
    thread = await c.domain.comments.thread(c.room, question.id)
    hidden = comment_view(thread.comments[2], thread, cy)
    assert hidden["author"] is None and hidden["reactions"] == {} and hidden["mentions"] == []

    cy_reply = await _reply(c, cy, question, "Cy's answer")
    assert await bodies(cy) == [*everything, ("visible", "Cy's answer")]
    await c.domain.comments.delete(c.room, cy, cy_reply)
    # Having replied once is enough, even after deleting the reply.
    assert await bodies(cy) == [*everything, ("deleted", None)]
    # Dee still waits for her own answer; a deleted reply is not one she waits for.
    assert await bodies(dee) == [*withheld, ("withheld", None)]
    assert (await meta(dee))["withheld_count"] == 1
    assert bob_reply != cy_reply


async def test_a_hidden_comment_is_read_only_by_its_author_and_facilitators(
    cohort: Cohort,
) -> None:
    c = cohort
    thread = await _thread(c, c.ann)
    reply = await c.domain.comments.reply(
        c.room, c.bob, thread.id, CommentDraft("Ask @Ann", mentions=(c.ann.id,))
    )
    hidden = await c.domain.comments.moderate(c.room, c.fay, reply[1], "hide")
    comment = hidden.comment(reply[1])
    assert comment is not None and comment.state is CommentState.HIDDEN

    def seen(viewer: Viewer) -> tuple[str | None, list[Any]]:
        assert comment is not None
        view = comment_view(comment, hidden, viewer)
        assert view["state"] == "hidden"
        return view["body"], view["mentions"]

    mention = [{"id": c.ann.id, "name": "Ann"}]
    assert seen(c.fay) == ("Ask @Ann", mention)
    assert seen(c.bob) == ("Ask @Ann", mention)
    assert seen(c.ann) == (None, [])
    assert seen(c.olive) == (None, [])
    # A hidden reply still counts as a reply.
    assert hidden.reply_count == 1


# Live events as each participant sees them


async def _event(c: Cohort, after: int, type: str) -> RoomEvent:
    found = [e for e in await c.domain.store.events_since(c.room.id, after, 100) if e.type == type]
    assert len(found) == 1, found
    return found[0]


async def test_a_new_thread_renders_whole_for_everyone(cohort: Cohort) -> None:
    c = cohort
    question = await _thread(c, c.ann, "Anyone?", kind=QUESTION, anonymous=True)
    event = await _event(c, 0, "thread.created")
    rendered = await c.domain.comments.render(event, c.bob)
    assert rendered["seq"] == event.seq and rendered["type"] == "thread.created"
    assert rendered["data"] == {"thread": thread_view(question, c.bob)}
    assert rendered["data"]["thread"]["author"] is None
    rendered = await c.domain.comments.render(event, c.fay)
    assert rendered["data"]["thread"]["author"] == _author(c.ann)


async def test_a_reply_renders_whole_only_for_its_author(cohort: Cohort) -> None:
    c = cohort
    cy = await c.join(Role.MEMBER, "Cy")
    question = await _thread(c, c.ann, "Q", kind=QUESTION, post_first=True)
    seq = await c.last_seq()
    bob_reply = await _reply(c, c.bob, question, "Bob's answer")
    event = await _event(c, seq, "comment.created")
    assert event.data == {"thread_id": question.id, "comment_id": bob_reply}

    own = await c.domain.comments.render(event, c.bob)
    assert "comments" in own["data"]["thread"]
    assert own["data"]["comment"]["body"] == "Bob's answer"
    for_cy = (await c.domain.comments.render(event, cy))["data"]
    assert "comments" not in for_cy["thread"]
    assert for_cy["thread"]["withheld_count"] == 1
    assert for_cy["comment"]["state"] == "withheld" and for_cy["comment"]["body"] is None
    for_ann = (await c.domain.comments.render(event, c.ann))["data"]
    assert for_ann["comment"]["body"] == "Bob's answer"


async def test_an_event_renders_the_thread_as_it_is_now(cohort: Cohort) -> None:
    c = cohort
    thread = await _thread(c, c.ann)
    seq = await c.last_seq()
    reply = await _reply(c, c.bob, thread, "Regrettable")
    event = await _event(c, seq, "comment.created")
    await c.domain.comments.delete(c.room, c.bob, reply)
    # A catch-up after the deletion replays no body.
    later = (await c.domain.comments.render(event, c.ann))["data"]["comment"]
    assert (later["state"], later["body"]) == ("deleted", None)


async def test_other_events_render_as_stored(cohort: Cohort) -> None:
    c = cohort
    await _settings(c, observers_can_ask=True)
    event = await _event(c, 0, "settings.updated")
    assert await c.domain.comments.render(event, c.ann) == event.to_json()
    gone = RoomEvent(c.room.id, 99, "thread.updated", {"thread_id": 4242}, datetime.now(UTC))
    assert await c.domain.comments.render(gone, c.ann) == gone.to_json()


# Questions: answers, resolving, locking


async def test_the_asker_or_a_facilitator_accepts_an_answer(cohort: Cohort) -> None:
    c = cohort
    question = await _thread(c, c.ann, "Q", kind=QUESTION)
    assert thread_meta(question, c.ann)["answer_state"] == "unanswered"
    first = await _reply(c, c.bob, question, "Maybe")
    second = await _reply(c, c.fay, question, "Surely")

    async with c.refuses(Forbidden, "forbidden"):
        await c.domain.comments.update_thread(
            c.room, c.bob, question.id, ThreadChanges(accepted_comment_id=first)
        )
    seq = await c.last_seq()
    accepted = await c.domain.comments.update_thread(
        c.room, c.ann, question.id, ThreadChanges(accepted_comment_id=first)
    )
    assert accepted.accepted_comment_id == first
    assert thread_meta(accepted, c.bob)["answer_state"] == "accepted"
    assert [x["accepted"] for x in thread_view(accepted, c.bob)["comments"]] == [
        False,
        True,
        False,
    ]
    assert await c.published(seq) == [("thread.updated", {"thread_id": question.id})]

    switched = await c.domain.comments.update_thread(
        c.room, c.fay, question.id, ThreadChanges(accepted_comment_id=second)
    )
    assert switched.accepted_comment_id == second
    taken_back = await c.domain.comments.update_thread(
        c.room, c.ann, question.id, ThreadChanges(accepted_comment_id=None)
    )
    assert taken_back.accepted_comment_id is None
    assert thread_meta(taken_back, c.ann)["answer_state"] == "answered"


async def test_only_a_live_reply_of_the_question_can_be_accepted(cohort: Cohort) -> None:
    c = cohort
    question = await _thread(c, c.ann, "Q", kind=QUESTION)
    other = await _thread(c, c.ann, "Other Q", kind=QUESTION)
    elsewhere = await _reply(c, c.bob, other)
    deleted = await _reply(c, c.bob, question, "Oops")
    await c.domain.comments.delete(c.room, c.bob, deleted)
    removed = await _reply(c, c.bob, question, "Rude")
    await c.domain.comments.moderate(c.room, c.fay, removed, "remove")
    hidden = await _reply(c, c.bob, question, "Hidden")
    await c.domain.comments.moderate(c.room, c.fay, hidden, "hide")

    def accept(comment_id: int) -> ThreadChanges:
        return ThreadChanges(accepted_comment_id=comment_id)

    for comment_id in (question.opening.id, elsewhere, 4242):
        async with c.refuses(Invalid, "invalid_answer"):
            await c.domain.comments.update_thread(c.room, c.ann, question.id, accept(comment_id))
    async with c.refuses(Invalid, "invalid_accepted_comment_id"):
        await c.domain.comments.update_thread(c.room, c.ann, question.id, accept(0))
    for comment_id in (deleted, removed):
        async with c.refuses(Conflict, "invalid_answer"):
            await c.domain.comments.update_thread(c.room, c.ann, question.id, accept(comment_id))
    # A hidden reply still counts as one.
    updated = await c.domain.comments.update_thread(c.room, c.ann, question.id, accept(hidden))
    assert updated.accepted_comment_id == hidden

    comment_thread = await _thread(c, c.ann)
    answer = await _reply(c, c.bob, comment_thread)
    async with c.refuses(Invalid, "not_a_question"):
        await c.domain.comments.update_thread(c.room, c.ann, comment_thread.id, accept(answer))


async def test_deleting_the_accepted_answer_takes_the_acceptance_back(cohort: Cohort) -> None:
    c = cohort
    question = await _thread(c, c.ann, "Q", kind=QUESTION)
    answer = await _reply(c, c.bob, question)
    await c.domain.comments.update_thread(
        c.room, c.ann, question.id, ThreadChanges(accepted_comment_id=answer)
    )
    after = await c.domain.comments.delete(c.room, c.bob, answer)
    assert (after.accepted_comment_id, after.reply_count) == (None, 0)
    assert thread_meta(after, c.ann)["answer_state"] == "unanswered"


async def test_the_author_or_a_facilitator_resolves_and_reopens(cohort: Cohort) -> None:
    c = cohort
    thread = await _thread(c, c.ann)

    async def status(who: Viewer, value: str) -> ThreadStatus:
        changed = await c.domain.comments.update_thread(
            c.room, who, thread.id, ThreadChanges(status=value)
        )
        return changed.status

    assert await status(c.ann, "resolved") is ThreadStatus.RESOLVED
    assert await status(c.ann, "open") is ThreadStatus.OPEN
    assert await status(c.fay, "resolved") is ThreadStatus.RESOLVED
    for other in (c.bob, c.olive):
        async with c.refuses(Forbidden, "forbidden"):
            await status(other, "open")
    async with c.refuses(Invalid, "invalid_status"):
        await status(c.ann, "closed")
    async with c.refuses(Invalid, "invalid_change"):
        await c.domain.comments.update_thread(c.room, c.fay, thread.id, ThreadChanges())


async def test_only_facilitators_lock_and_a_lock_stops_everyone_else(cohort: Cohort) -> None:
    c = cohort
    thread = await _thread(c, c.ann)
    bob_reply = await _reply(c, c.bob, thread, "Before the lock")
    async with c.refuses(Forbidden, "forbidden"):
        await c.domain.comments.update_thread(c.room, c.ann, thread.id, ThreadChanges(locked=True))
    locked = await c.domain.comments.update_thread(
        c.room, c.fay, thread.id, ThreadChanges(locked=True)
    )
    assert locked.locked is True

    async with c.refuses(Conflict, "thread_locked"):
        await _reply(c, c.bob, thread)
    async with c.refuses(Conflict, "thread_locked"):
        await c.domain.comments.edit(c.room, c.ann, thread.opening.id, CommentDraft("Changed"))
    async with c.refuses(Conflict, "thread_locked"):
        await c.domain.comments.react(c.room, c.ann, bob_reply, "thanks", True)
    # The facilitator still speaks in a locked thread.
    await _reply(c, c.fay, thread, "Closing remarks")

    unlocked = await c.domain.comments.update_thread(
        c.room, c.fay, thread.id, ThreadChanges(locked=False)
    )
    assert unlocked.locked is False
    await _reply(c, c.bob, thread, "After the lock")
    final = await c.domain.comments.thread(c.room, thread.id)
    assert [x.body for x in final.replies] == [
        "Before the lock",
        "Closing remarks",
        "After the lock",
    ]


# Editing and deleting one's own comments


async def test_only_its_author_edits_a_visible_comment(cohort: Cohort) -> None:
    c = cohort
    thread = await _thread(c, c.ann, "Frist")
    opening = thread.opening.id
    for other in (c.bob, c.fay):
        async with c.refuses(Forbidden, "forbidden"):
            await c.domain.comments.edit(c.room, other, opening, CommentDraft("Hijack"))
    async with c.refuses(Invalid, "invalid_body"):
        await c.domain.comments.edit(c.room, c.ann, opening, CommentDraft(" "))

    seq = await c.last_seq()
    edited = await c.domain.comments.edit(
        c.room, c.ann, opening, CommentDraft(" First, @Bob ", mentions=(c.bob.id,))
    )
    assert edited.opening.body == "First, @Bob"
    assert edited.opening.edited_at is not None
    assert edited.opening.mentions == (Author(c.bob.id, "Bob", Role.MEMBER),)
    assert thread.opening.edited_at is None
    assert await c.published(seq) == [
        ("comment.updated", {"thread_id": thread.id, "comment_id": opening})
    ]

    await c.domain.comments.moderate(c.room, c.fay, opening, "hide")
    async with c.refuses(Conflict, "not_editable"):
        await c.domain.comments.edit(c.room, c.ann, opening, CommentDraft("Sorry"))


async def test_only_its_author_deletes_a_comment_and_only_once(cohort: Cohort) -> None:
    c = cohort
    thread = await _thread(c, c.ann)
    reply = await _reply(c, c.bob, thread, "Regrettable")
    assert (await c.domain.comments.thread(c.room, thread.id)).reply_count == 1
    for other in (c.ann, c.fay):
        async with c.refuses(Forbidden, "forbidden"):
            await c.domain.comments.delete(c.room, other, reply)

    seq = await c.last_seq()
    after = await c.domain.comments.delete(c.room, c.bob, reply)
    deleted = after.comment(reply)
    assert deleted is not None
    assert (deleted.state, deleted.body, after.reply_count) == (CommentState.DELETED, "", 0)
    assert comment_view(deleted, after, c.fay)["body"] is None
    assert await c.published(seq) == [
        ("comment.updated", {"thread_id": thread.id, "comment_id": reply})
    ]
    async with c.refuses(Conflict, "already_deleted"):
        await c.domain.comments.delete(c.room, c.bob, reply)
    async with c.refuses(Conflict, "not_editable"):
        await c.domain.comments.edit(c.room, c.bob, reply, CommentDraft("Back"))


# Moderation


async def test_facilitators_hide_unhide_and_remove(cohort: Cohort) -> None:
    c = cohort
    thread = await _thread(c, c.ann)
    reply = await _reply(c, c.bob, thread, "Off topic")
    moderate = c.domain.comments.moderate

    async def state_after(action: str) -> tuple[CommentState, str, int]:
        after = await moderate(c.room, c.fay, reply, action)
        comment = after.comment(reply)
        assert comment is not None
        return comment.state, comment.body, after.reply_count

    for who in (c.ann, c.bob, c.olive):
        async with c.refuses(Forbidden, "forbidden"):
            await moderate(c.room, who, reply, "hide")
    async with c.refuses(Invalid, "invalid_action"):
        await moderate(c.room, c.fay, reply, "ban")
    async with c.refuses(Conflict, "invalid_state"):
        await moderate(c.room, c.fay, reply, "unhide")

    assert await state_after("hide") == (CommentState.HIDDEN, "Off topic", 1)
    async with c.refuses(Conflict, "invalid_state"):
        await moderate(c.room, c.fay, reply, "hide")
    assert await state_after("unhide") == (CommentState.VISIBLE, "Off topic", 1)
    assert await state_after("hide") == (CommentState.HIDDEN, "Off topic", 1)
    assert await state_after("remove") == (CommentState.REMOVED, "", 0)
    for action in ("hide", "unhide", "remove"):
        async with c.refuses(Conflict, "invalid_state"):
            await moderate(c.room, c.fay, reply, action)
    assert [t for t, _ in await c.published()].count("comment.updated") == 4


async def test_removing_a_visible_comment_erases_it(cohort: Cohort) -> None:
    c = cohort
    thread = await _thread(c, c.ann)
    reply = await c.domain.comments.reply(
        c.room, c.bob, thread.id, CommentDraft("Hey @Ann", mentions=(c.ann.id,))
    )
    await c.domain.comments.react(c.room, c.ann, reply[1], "aha", True)
    after = await c.domain.comments.moderate(c.room, c.fay, reply[1], "remove")
    removed = after.comment(reply[1])
    assert removed is not None
    assert (removed.state, removed.body) == (CommentState.REMOVED, "")
    assert (removed.reactions, removed.mentions) == ({}, ())
    assert await c.domain.comments.mentions(c.room, c.ann, 10, 0) == []


# Reactions


async def test_members_and_facilitators_react_once_each(cohort: Cohort) -> None:
    c = cohort
    thread = await _thread(c, c.ann)
    reply = await _reply(c, c.bob, thread, "Insight")
    react = c.domain.comments.react
    seq = await c.last_seq()
    await react(c.room, c.ann, reply, "aha", True)
    await react(c.room, c.fay, reply, "aha", True)
    after = await react(c.room, c.ann, reply, "thanks", True)
    # Giving the same reaction twice changes nothing and announces nothing.
    again = await react(c.room, c.ann, reply, "aha", True)
    assert again == after
    comment = after.comment(reply)
    assert comment is not None
    assert comment.reactions == {"aha": (c.ann.id, c.fay.id), "thanks": (c.ann.id,)}
    assert comment_view(comment, after, c.ann)["reactions"] == {
        "aha": {"count": 2, "mine": True},
        "thanks": {"count": 1, "mine": True},
    }
    assert comment_view(comment, after, c.bob)["reactions"] == {
        "aha": {"count": 2, "mine": False},
        "thanks": {"count": 1, "mine": False},
    }
    assert len(await c.published(seq)) == 3

    taken_back = await react(c.room, c.ann, reply, "aha", False)
    comment = taken_back.comment(reply)
    assert comment is not None and comment.reactions == {"aha": (c.fay.id,), "thanks": (c.ann.id,)}
    assert len(await c.published(seq)) == 4
    await react(c.room, c.ann, reply, "aha", False)
    assert len(await c.published(seq)) == 4


async def test_reactions_are_checked(cohort: Cohort) -> None:
    c = cohort
    thread = await _thread(c, c.ann)
    reply = await _reply(c, c.bob, thread)
    async with c.refuses(Forbidden, "forbidden"):
        await c.domain.comments.react(c.room, c.olive, reply, "aha", True)
    async with c.refuses(Invalid, "invalid_reaction"):
        await c.domain.comments.react(c.room, c.ann, reply, "love", True)
    async with c.refuses(NotFound, "unknown_comment"):
        await c.domain.comments.react(c.room, c.ann, 4242, "aha", True)
    await c.domain.comments.delete(c.room, c.bob, reply)
    async with c.refuses(Conflict, "invalid_state"):
        await c.domain.comments.react(c.room, c.ann, reply, "aha", True)


# Mentions


async def test_mentions_name_people_in_the_room_and_are_listed_for_them(cohort: Cohort) -> None:
    c = cohort
    first = await c.domain.comments.create_thread(
        c.room, c.ann, ThreadDraft("@Bob @Fay look", mentions=(c.bob.id, c.fay.id, c.bob.id))
    )
    # Mentioned twice, stored once; shown by name.
    assert [m.id for m in first.opening.mentions] == [c.bob.id, c.fay.id]
    assert comment_view(first.opening, first, c.olive)["mentions"] == [
        {"id": c.bob.id, "name": "Bob"},
        {"id": c.fay.id, "name": "Fay"},
    ]
    second = await _thread(c, c.fay)
    _, reply = await c.domain.comments.reply(
        c.room, c.fay, second.id, CommentDraft("@Bob again", mentions=(c.bob.id,))
    )
    found = await c.domain.comments.mentions(c.room, c.bob, 10, 0)
    assert [(t.id, comment_id) for t, comment_id in found] == [
        (second.id, reply),
        (first.id, first.opening.id),
    ]
    paged = await c.domain.comments.mentions(c.room, c.bob, 1, 1)
    assert [(t.id, comment_id) for t, comment_id in paged] == [(first.id, first.opening.id)]
    assert await c.domain.comments.mentions(c.room, c.ann, 10, 0) == []


async def test_only_people_in_the_room_can_be_mentioned(cohort: Cohort) -> None:
    c = cohort
    other = await c.domain.directory.create_room("Other")
    stranger = await c.domain.join(other, Role.MEMBER, "Sam")
    gone = await c.join(Role.MEMBER, "Gone")
    await c.domain.participants.remove_participant(gone.id)
    crowd = tuple([(await c.join(Role.MEMBER, f"P{i}")).id for i in range(MAX_MENTIONS + 1)])
    for mentions in ((stranger.id,), (gone.id,), ("nobody",), ("a b",), crowd):
        async with c.refuses(Invalid, "invalid_mentions"):
            await c.domain.comments.create_thread(
                c.room, c.ann, ThreadDraft("Hi", mentions=mentions)
            )
    thread = await c.domain.comments.create_thread(
        c.room, c.ann, ThreadDraft("Hi all", mentions=crowd[:MAX_MENTIONS])
    )
    assert len(thread.opening.mentions) == MAX_MENTIONS


# Room settings


async def test_only_facilitators_change_settings_one_field_at_a_time(cohort: Cohort) -> None:
    c = cohort
    assert await c.domain.comments.settings(c.room) == RoomSettings(False, False, None)
    async with c.refuses(Forbidden, "forbidden"):
        await c.domain.comments.update_settings(
            c.room, c.ann, SettingsChanges(observers_can_ask=True)
        )
    async with c.refuses(Invalid, "invalid_change"):
        await c.domain.comments.update_settings(c.room, c.fay, SettingsChanges())
    for cap in (-1, MAX_PARTICIPANT_CAP + 1):
        async with c.refuses(Invalid, "invalid_max_participants"):
            await _settings(c, max_participants=cap)

    assert await _settings(c, observers_can_ask=True) == RoomSettings(True, False, None)
    assert await _settings(c, max_participants=12) == RoomSettings(True, False, 12)
    assert await _settings(c, post_first_questions=True) == RoomSettings(True, True, 12)
    assert await _settings(c, max_participants=None) == RoomSettings(True, True, None)
    assert await _settings(c, max_participants=0, observers_can_ask=False) == RoomSettings(
        False, True, 0
    )
    assert await c.domain.comments.settings(c.room) == RoomSettings(False, True, 0)
    published = await c.published()
    assert [t for t, _ in published] == ["settings.updated"] * 5
    assert published[-1][1] == {
        "observers_can_ask": False,
        "post_first_questions": True,
        "max_participants": 0,
        "guests_allowed": True,
    }


# Listing threads


async def test_threads_are_filtered_and_unanswered_questions_come_first(cohort: Cohort) -> None:
    c = cohort
    await c.document("Guide")
    general = await _thread(c, c.ann, "General")
    on_guide = await _thread(c, c.bob, "About the guide", document="Guide")
    waiting = await _thread(c, c.bob, "Waiting?", kind=QUESTION)
    answered = await _thread(c, c.ann, "Answered?", kind=QUESTION)
    accepted = await _thread(c, c.ann, "Accepted?", kind=QUESTION, document="Guide")
    await _reply(c, c.fay, answered)
    answer = await _reply(c, c.fay, accepted)
    await c.domain.comments.update_thread(
        c.room, c.ann, accepted.id, ThreadChanges(accepted_comment_id=answer)
    )
    await c.domain.comments.update_thread(
        c.room, c.ann, general.id, ThreadChanges(status="resolved")
    )
    # Fixed activity times, oldest first in order of creation, so that ties cannot decide.
    start = datetime(2024, 1, 1, tzinfo=UTC)
    for i, thread in enumerate((general, on_guide, waiting, answered, accepted)):
        c.domain.state.threads[thread.id].last_activity_at = start + timedelta(minutes=i)

    async def listed(viewer: Viewer = c.ann, **fields: Any) -> list[int]:
        found = await c.domain.comments.list_threads(c.room, viewer, ThreadFilter(**fields))
        return [t.id for t in found]

    assert await listed() == [waiting.id, accepted.id, answered.id, on_guide.id, general.id]
    # A reply brings its thread up.
    await _reply(c, c.bob, general, "Bump")
    assert await listed() == [waiting.id, general.id, accepted.id, answered.id, on_guide.id]

    assert await listed(document="Guide") == [accepted.id, on_guide.id]
    assert await listed(general=True) == [waiting.id, general.id, answered.id]
    assert await listed(general=False) == [accepted.id, on_guide.id]
    assert await listed(kind=ThreadKind.COMMENT) == [general.id, on_guide.id]
    assert await listed(status=ThreadStatus.RESOLVED) == [general.id]
    assert await listed(answer_state="unanswered") == [waiting.id]
    assert await listed(answer_state="answered") == [answered.id]
    assert await listed(answer_state="accepted") == [accepted.id]
    assert await listed(mine=True) == [general.id, accepted.id, answered.id]
    assert await listed(c.bob, mine=True) == [waiting.id, on_guide.id]
    assert await listed(limit=2) == [waiting.id, general.id]
    assert await listed(limit=2, offset=2) == [accepted.id, answered.id]
    assert await listed(offset=5) == []

    with pytest.raises(NotFound) as unknown:
        await listed(document="Nowhere")
    assert unknown.value.reason == "unknown_document"
    with pytest.raises(Invalid) as invalid:
        await listed(document="")
    assert invalid.value.reason == "invalid_document"


async def test_participants_are_listed_page_by_page(cohort: Cohort) -> None:
    c = cohort
    comments = c.domain.comments
    everyone = await comments.participants(c.room)
    assert sorted(p.name for p in everyone) == ["Ann", "Bob", "Fay", "Olive"]
    first = await comments.participants(c.room, limit=2)
    rest = await comments.participants(c.room, after=first[-1].id)
    assert first + rest == everyone
    assert await comments.participants(c.room, after=everyone[-1].id) == []

    await c.domain.participants.remove_participant(c.bob.id)
    assert c.bob.id not in [p.id for p in await comments.participants(c.room)]
    other = await c.domain.directory.create_room("Other")
    stranger = await c.domain.join(other, Role.MEMBER, "Sam")
    for after in (stranger.id, "nobody", "a b"):
        with pytest.raises(Invalid) as refused:
            await comments.participants(c.room, after=after)
        assert refused.value.reason == "invalid_query"
