"""Threads and questions by role: who may do what, and what each participant sees.

The role matrix runs on SQLite (the ``server`` fixture); one compact end-to-end test
runs on every database (``database_url``). A refused action must store nothing and
publish no room event: :func:`refuse` compares a full snapshot of the room's threads,
settings and last event number before and after.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from rooms.directory import CreatedRoom
from rooms.roles import Role
from rooms.threads import RoomSettings, Thread, ThreadQuery
from server.storage.tables import CommentRow, MentionRow, ReactionRow
from tests.support.harness import RunningServer, run_server
from tests.support.settings import fast_settings
from tests.support.threads_client import EventFeed, Person, event_feed, events_url, join

REACTIONS = ("aha", "thanks", "agree", "curious", "celebrate")


@dataclass
class Cohort:
    server: RunningServer
    room: CreatedRoom
    fay: Person  # facilitator
    ann: Person  # member
    bob: Person  # member
    olive: Person  # observer

    @property
    def everyone(self) -> tuple[Person, ...]:
        return (self.fay, self.ann, self.bob, self.olive)


async def make_cohort(server: RunningServer, title: str = "Reading group") -> Cohort:
    room = await server.create_room(title)
    return Cohort(
        server,
        room,
        await join(server, room, Role.FACILITATOR, "Fay"),
        await join(server, room, Role.MEMBER, "Ann"),
        await join(server, room, Role.MEMBER, "Bob"),
        await join(server, room, Role.OBSERVER, "Olive"),
    )


@pytest.fixture
async def cohort(server: RunningServer) -> Cohort:
    return await make_cohort(server)


Snapshot = tuple[int, list[Thread], RoomSettings]


async def snapshot(c: Cohort) -> Snapshot:
    """Everything a thread action could change: the threads (with comments, reactions
    and mentions), the room settings, and the room's last event number."""
    state = c.server.app_state
    room_id = c.room.room.id
    threads = await state.threads.list_threads(room_id, ThreadQuery(limit=100))
    return (
        await state.store.last_event_seq(room_id),
        sorted(threads, key=lambda t: t.id),
        await state.threads.room_settings(room_id),
    )


async def refuse(
    c: Cohort,
    person: Person,
    method: str,
    path: str,
    body: Any,
    status: int,
    code: str,
) -> None:
    """``person``'s request is refused with ``status``/``code`` and changes nothing.

    Not for use just after an event socket closed: leaving records a presence event.
    """
    before = await snapshot(c)
    response = await person.call(method, path, body)
    what = f"{person.name} ({person.role}) {method} {path} {body!r}"
    assert response.status_code == status, (what, response.status_code, response.text)
    error = response.json()["error"]
    assert error["code"] == code, (what, error)
    assert isinstance(error["message"], str) and error["message"], what
    assert await snapshot(c) == before, f"refused {what} changed storage or published"


async def last_seq(c: Cohort) -> int:
    return await c.server.app_state.store.last_event_seq(c.room.room.id)


async def stored_comment(server: RunningServer, comment_id: int) -> tuple[str, str, int, int]:
    """(body, state, mention rows, reaction rows) of a comment, straight from SQL."""
    async with server.app_state.store.engine.connect() as conn:
        row = (
            await conn.execute(
                select(CommentRow.body, CommentRow.state).where(CommentRow.id == comment_id)
            )
        ).one()
        mentions = await conn.scalar(
            select(func.count()).select_from(MentionRow).where(MentionRow.comment_id == comment_id)
        )
        reactions = await conn.scalar(
            select(func.count())
            .select_from(ReactionRow)
            .where(ReactionRow.comment_id == comment_id)
        )
    return row.body, row.state, int(mentions or 0), int(reactions or 0)


def opening(thread: dict[str, Any]) -> int:
    comment_id: int = thread["comments"][0]["id"]
    return comment_id


def comment_in(thread: dict[str, Any], comment_id: int) -> dict[str, Any]:
    found: dict[str, Any] = next(c for c in thread["comments"] if c["id"] == comment_id)
    return found


async def reply_id(person: Person, thread_id: int, body: str = "An answer", **fields: Any) -> int:
    data = await person.ok(
        "POST", f"/threads/{thread_id}/comments", {"body": body, **fields}, status=201
    )
    comment_id: int = data["comment"]["id"]
    return comment_id


async def listed(person: Person, query: str = "") -> list[int]:
    data = await person.ok("GET", f"/threads{query}")
    return [t["id"] for t in data["threads"]]


async def wait_event(
    feed: EventFeed, type: str, thread_id: int, comment_id: int | None = None
) -> dict[str, Any]:
    def match(message: dict[str, Any]) -> bool:
        if message.get("type") != type:
            return False
        data = message["data"]
        if data["thread"]["id"] != thread_id:
            return False
        return comment_id is None or data.get("comment", {}).get("id") == comment_id

    return await feed.wait_for(match)


# Starting threads


@pytest.mark.parametrize("observers_can_ask", [False, True])
async def test_starting_threads_by_role(cohort: Cohort, observers_can_ask: bool) -> None:
    c = cohort
    if observers_can_ask:
        await c.fay.ok("PATCH", "/settings", {"observers_can_ask": True})
    started: dict[int, Person] = {}
    for person in (c.fay, c.ann, c.olive):
        for kind in ("comment", "question"):
            allowed = person.role is not Role.OBSERVER or (kind == "question" and observers_can_ask)
            body = {"body": f"{kind} from {person.name}", "kind": kind}
            if not allowed:
                await refuse(c, person, "POST", "/threads", body, 403, "forbidden")
                continue
            seq = await last_seq(c)
            thread = await person.start(**body)
            assert await last_seq(c) == seq + 1
            assert thread["kind"] == kind
            assert thread["author"] == {"id": person.id, "name": person.name, "role": person.role}
            assert thread["mine"] is True
            assert (thread["status"], thread["locked"], thread["reply_count"]) == ("open", False, 0)
            assert thread["answer_state"] == ("unanswered" if kind == "question" else None)
            assert thread["anonymous"] is False and thread["post_first"] is False
            assert [(x["body"], x["reply"]) for x in thread["comments"]] == [
                (f"{kind} from {person.name}", False)
            ]
            started[thread["id"]] = person
    # Everyone in the room reads them all, observers included.
    for reader in c.everyone:
        threads = (await reader.ok("GET", "/threads"))["threads"]
        assert {t["id"] for t in threads} == set(started)
        for t in threads:
            author = started[t["id"]]
            assert t["comments"][0]["body"] == f"{t['kind']} from {author.name}"
            assert t["mine"] is (reader is author)
    for bad, code in [
        ({"body": "x", "kind": "poll"}, "invalid_kind"),
        ({"body": "   "}, "invalid_body"),
        ({"body": 7}, "invalid_body"),
        ({"body": "x", "document": "nope"}, "unknown_document"),
    ]:
        status = 404 if code == "unknown_document" else 422
        await refuse(c, c.ann, "POST", "/threads", bad, status, code)


# Replies


async def test_replies_by_role_and_observers_in_their_own_question(cohort: Cohort) -> None:
    c = cohort
    comment = await c.ann.start("A comment thread")
    question = await c.ann.start("A question", kind="question")
    for thread in (comment, question):
        for count, person in enumerate((c.fay, c.bob, c.ann), start=1):
            data = await person.reply(thread["id"], f"reply from {person.name}")
            assert data["thread"]["reply_count"] == count
            assert data["comment"]["reply"] is True and data["comment"]["mine"] is True
            assert data["comment"]["author"]["name"] == person.name
        await refuse(
            c,
            c.olive,
            "POST",
            f"/threads/{thread['id']}/comments",
            {"body": "hi"},
            403,
            "forbidden",
        )
    assert (await c.olive.thread(question["id"]))["answer_state"] == "answered"

    # With the room setting on, an observer asks and may reply in their own question only.
    await c.fay.ok("PATCH", "/settings", {"observers_can_ask": True})
    own = await c.olive.start("Observer question", kind="question")
    data = await c.olive.reply(own["id"], "More detail from the asker")
    assert data["comment"]["by_asker"] is True and data["thread"]["reply_count"] == 1
    await c.bob.reply(own["id"], "Bob answers")
    for thread in (comment, question):
        await refuse(
            c,
            c.olive,
            "POST",
            f"/threads/{thread['id']}/comments",
            {"body": "hi"},
            403,
            "forbidden",
        )
    await refuse(c, c.bob, "POST", "/threads/999999/comments", {"body": "x"}, 404, "unknown_thread")
    await refuse(
        c, c.bob, "POST", f"/threads/{question['id']}/comments", {"body": ""}, 422, "invalid_body"
    )
    await refuse(
        c,
        c.bob,
        "POST",
        f"/threads/{question['id']}/comments",
        {"body": "x\u202ey"},
        422,
        "invalid_body",
    )


# Editing and deleting


async def test_only_the_author_edits_or_deletes_a_comment(cohort: Cohort) -> None:
    c = cohort
    thread = await c.ann.start("First draft", kind="question")
    tid, first = thread["id"], opening(thread)
    bobs = await reply_id(c.bob, tid, "Bob's reply")
    fays = await reply_id(c.fay, tid, "Fay's reply")
    # Every other role on a member's comment; a member on a facilitator's and a peer's.
    for comment_id, person in [
        (first, c.fay),
        (first, c.bob),
        (first, c.olive),
        (fays, c.ann),
        (bobs, c.ann),
    ]:
        path = f"/comments/{comment_id}"
        await refuse(c, person, "PATCH", path, {"body": "mine now"}, 403, "forbidden")
        await refuse(c, person, "DELETE", path, None, 403, "forbidden")

    edited = await c.ann.ok("PATCH", f"/comments/{first}", {"body": "Second draft"})
    assert edited["comment"]["body"] == "Second draft"
    assert edited["comment"]["edited_at"] is not None
    seen = await c.bob.thread(tid)
    assert comment_in(seen, first)["body"] == "Second draft"
    assert comment_in(seen, first)["edited_at"] is not None
    await refuse(c, c.ann, "PATCH", f"/comments/{first}", {"body": " "}, 422, "invalid_body")

    # Facilitators edit and delete their own comments like anyone else.
    await c.fay.ok("PATCH", f"/comments/{fays}", {"body": "Fay, revised"})
    await c.fay.ok("DELETE", f"/comments/{fays}")

    deleted = await c.bob.ok("DELETE", f"/comments/{bobs}")
    assert deleted["comment"]["state"] == "deleted" and deleted["comment"]["body"] is None
    assert deleted["thread"]["reply_count"] == 0
    assert deleted["thread"]["answer_state"] == "unanswered"
    for person in c.everyone:
        view = comment_in(await person.thread(tid), bobs)
        assert (view["state"], view["body"], view["mentions"]) == ("deleted", None, [])
    assert (await stored_comment(c.server, bobs))[:2] == ("", "deleted")
    await refuse(c, c.bob, "DELETE", f"/comments/{bobs}", None, 409, "already_deleted")
    await refuse(c, c.bob, "PATCH", f"/comments/{bobs}", {"body": "back"}, 409, "not_editable")
    await refuse(c, c.bob, "DELETE", "/comments/999999", None, 404, "unknown_comment")

    # An observer who asked edits and deletes their own question's comments.
    await c.fay.ok("PATCH", "/settings", {"observers_can_ask": True})
    own = await c.olive.start("Observer asks", kind="question")
    changed = await c.olive.ok("PATCH", f"/comments/{opening(own)}", {"body": "Observer asks v2"})
    assert changed["comment"]["body"] == "Observer asks v2"
    await c.olive.ok("DELETE", f"/comments/{opening(own)}")
    assert (await stored_comment(c.server, opening(own)))[:2] == ("", "deleted")


# Locking


async def test_lock_is_for_facilitators_and_holds_off_everyone_else(cohort: Cohort) -> None:
    c = cohort
    thread = await c.ann.start("Lock me", kind="question")
    tid, first = thread["id"], opening(thread)
    bobs = await reply_id(c.bob, tid, "Bob's answer")
    path = f"/threads/{tid}"
    for person in (c.ann, c.bob, c.olive):
        await refuse(c, person, "PATCH", path, {"locked": True}, 403, "forbidden")
    for flag in ("yes", None):
        await refuse(c, c.fay, "PATCH", path, {"locked": flag}, 422, "invalid_locked")
    # A refused field refuses the whole change: the author's resolve is not applied either.
    await refuse(c, c.ann, "PATCH", path, {"status": "resolved", "locked": True}, 403, "forbidden")

    locked = await c.fay.ok("PATCH", path, {"locked": True})
    assert locked["thread"]["locked"] is True
    assert (await c.bob.thread(tid))["locked"] is True

    for person, method, target, body in [
        (c.bob, "POST", f"/threads/{tid}/comments", {"body": "late"}),
        (c.ann, "POST", f"/threads/{tid}/comments", {"body": "late"}),
        (c.ann, "PATCH", f"/comments/{first}", {"body": "edited while locked"}),
        (c.bob, "PATCH", f"/comments/{bobs}", {"body": "edited while locked"}),
        (c.bob, "PUT", f"/comments/{first}/reactions/aha", None),
        (c.ann, "PUT", f"/comments/{bobs}/reactions/thanks", None),
        (c.ann, "DELETE", f"/comments/{bobs}/reactions/thanks", None),
    ]:
        await refuse(c, person, method, target, body, 409, "thread_locked")
    await refuse(c, c.ann, "PATCH", path, {"locked": False}, 403, "forbidden")

    # The facilitator still replies, edits and reacts in a locked thread.
    fays = await reply_id(c.fay, tid, "Closing note")
    await c.fay.ok("PATCH", f"/comments/{fays}", {"body": "Closing note, edited"})
    reacted = await c.fay.ok("PUT", f"/comments/{bobs}/reactions/thanks")
    assert reacted["comment"]["reactions"] == {"thanks": {"count": 1, "mine": True}}

    unlocked = await c.fay.ok("PATCH", path, {"locked": False})
    assert unlocked["thread"]["locked"] is False
    data = await c.bob.reply(tid, "Now I may")
    assert data["thread"]["reply_count"] == 3


# Reactions


async def test_reactions_counts_mine_and_idempotent_toggles(cohort: Cohort) -> None:
    c = cohort
    thread = await c.ann.start("React to me")
    tid, first = thread["id"], opening(thread)
    aha = f"/comments/{first}/reactions/aha"

    first_put = await c.bob.ok("PUT", aha)
    assert first_put["comment"]["reactions"] == {"aha": {"count": 1, "mine": True}}
    seq = await last_seq(c)
    again = await c.bob.ok("PUT", aha)
    assert again["comment"]["reactions"] == {"aha": {"count": 1, "mine": True}}
    assert await last_seq(c) == seq, "a reaction given twice published an event"

    await c.fay.ok("PUT", aha)
    await c.ann.ok("PUT", aha)  # reacting to one's own comment is fine
    for person in c.everyone:
        view = comment_in(await person.thread(tid), first)
        assert view["reactions"] == {"aha": {"count": 3, "mine": person is not c.olive}}
    for method in ("PUT", "DELETE"):
        await refuse(c, c.olive, method, aha, None, 403, "forbidden")
    await refuse(
        c, c.bob, "PUT", f"/comments/{first}/reactions/love", None, 422, "invalid_reaction"
    )
    await refuse(c, c.bob, "PUT", "/comments/999999/reactions/aha", None, 404, "unknown_comment")

    for name in REACTIONS:
        await c.bob.ok("PUT", f"/comments/{first}/reactions/{name}")
    view = comment_in(await c.bob.thread(tid), first)
    assert list(view["reactions"]) == sorted(REACTIONS)
    assert view["reactions"]["thanks"] == {"count": 1, "mine": True}

    taken = await c.bob.ok("DELETE", aha)
    assert taken["comment"]["reactions"]["aha"] == {"count": 2, "mine": False}
    seq = await last_seq(c)
    taken = await c.bob.ok("DELETE", aha)
    assert taken["comment"]["reactions"]["aha"] == {"count": 2, "mine": False}
    assert await last_seq(c) == seq, "taking back a missing reaction published an event"
    for name in REACTIONS[1:]:
        await c.bob.ok("DELETE", f"/comments/{first}/reactions/{name}")
    assert comment_in(await c.ann.thread(tid), first)["reactions"] == {
        "aha": {"count": 2, "mine": True}
    }

    # A deleted comment loses its reactions and takes no new ones.
    bobs = await reply_id(c.bob, tid, "short-lived")
    await c.ann.ok("PUT", f"/comments/{bobs}/reactions/agree")
    await c.bob.ok("DELETE", f"/comments/{bobs}")
    assert await stored_comment(c.server, bobs) == ("", "deleted", 0, 0)
    assert comment_in(await c.ann.thread(tid), bobs)["reactions"] == {}
    await refuse(c, c.ann, "PUT", f"/comments/{bobs}/reactions/agree", None, 409, "invalid_state")


# Moderation


async def test_moderation_by_facilitators_and_its_states(cohort: Cohort) -> None:
    c = cohort
    thread = await c.ann.start("Moderated thread")
    tid = thread["id"]
    bobs = await reply_id(c.bob, tid, "Something rude", mentions=[c.ann.id])
    await c.fay.ok("PUT", f"/comments/{bobs}/reactions/curious")
    path = f"/comments/{bobs}/moderation"
    for person, action in [(c.ann, "hide"), (c.bob, "remove"), (c.olive, "hide")]:
        await refuse(c, person, "POST", path, {"action": action}, 403, "forbidden")
    await refuse(c, c.fay, "POST", path, {"action": "delete"}, 422, "invalid_action")
    await refuse(c, c.fay, "POST", path, {}, 422, "invalid_action")
    await refuse(
        c, c.fay, "POST", "/comments/999999/moderation", {"action": "hide"}, 404, "unknown_comment"
    )

    async def views() -> dict[str, dict[str, Any]]:
        return {p.name: comment_in(await p.thread(tid), bobs) for p in c.everyone}

    # (action, status or error code, state afterwards)
    steps: list[tuple[str, int | str, str]] = [
        ("unhide", "invalid_state", "visible"),
        ("hide", 200, "hidden"),
        ("hide", "invalid_state", "hidden"),
        ("unhide", 200, "visible"),
        ("hide", 200, "hidden"),
        ("remove", 200, "removed"),
        ("remove", "invalid_state", "removed"),
        ("hide", "invalid_state", "removed"),
        ("unhide", "invalid_state", "removed"),
    ]
    for action, outcome, state in steps:
        if isinstance(outcome, str):
            # refuse() checks that nothing changed, so the views are as before.
            await refuse(c, c.fay, "POST", path, {"action": action}, 409, outcome)
            continue
        seq = await last_seq(c)
        data = await c.fay.ok("POST", path, {"action": action})
        assert data["comment"]["state"] == state
        assert await last_seq(c) == seq + 1
        seen = await views()
        assert {v["state"] for v in seen.values()} == {state}, (action, seen)
        bodies = {name: v["body"] for name, v in seen.items()}
        if state == "visible":
            assert set(bodies.values()) == {"Something rude"}
            assert seen["Ann"]["mentions"] == [{"id": c.ann.id, "name": "Ann"}]
        elif state == "hidden":
            # Only facilitators and the author read a hidden comment.
            assert bodies == {
                "Fay": "Something rude",
                "Ann": None,
                "Bob": "Something rude",
                "Olive": None,
            }
            assert seen["Ann"]["mentions"] == [] and seen["Olive"]["mentions"] == []
            await refuse(c, c.bob, "PATCH", f"/comments/{bobs}", {"body": "x"}, 409, "not_editable")
            assert (await c.ann.thread(tid))["reply_count"] == 1
        else:
            assert set(bodies.values()) == {None}
            assert all(v["reactions"] == {} and v["mentions"] == [] for v in seen.values())
    assert await stored_comment(c.server, bobs) == ("", "removed", 0, 0)
    assert (await c.ann.thread(tid))["reply_count"] == 0
    assert (await c.ann.ok("GET", "/mentions"))["mentions"] == []
    await refuse(c, c.bob, "DELETE", f"/comments/{bobs}", None, 409, "already_deleted")
    await refuse(c, c.ann, "PUT", f"/comments/{bobs}/reactions/aha", None, 409, "invalid_state")

    # A facilitator may hide the opening comment too; its author still reads it.
    first = opening(thread)
    await c.fay.ok("POST", f"/comments/{first}/moderation", {"action": "hide"})
    assert comment_in(await c.ann.thread(tid), first)["body"] == "Moderated thread"
    assert comment_in(await c.bob.thread(tid), first)["body"] is None
    # The author may still delete a hidden comment of theirs: the text is erased.
    await c.ann.ok("DELETE", f"/comments/{first}")
    assert (await stored_comment(c.server, first))[:2] == ("", "deleted")


# Room settings


async def test_settings_are_read_by_all_and_changed_by_facilitators(cohort: Cohort) -> None:
    c = cohort
    defaults = {
        "observers_can_ask": False,
        "post_first_questions": False,
        "max_participants": None,
        "guests_allowed": True,
    }
    for person in c.everyone:
        assert (await person.ok("GET", "/settings"))["settings"] == defaults
    for person in (c.ann, c.bob, c.olive):
        await refuse(c, person, "PATCH", "/settings", {"observers_can_ask": True}, 403, "forbidden")
    for body, code in [
        ({}, "invalid_change"),
        ({"anonymous_questions": True}, "invalid_change"),
        ({"observers_can_ask": "yes"}, "invalid_observers_can_ask"),
        ({"observers_can_ask": None}, "invalid_observers_can_ask"),
        ({"post_first_questions": 1}, "invalid_post_first_questions"),
    ]:
        await refuse(c, c.fay, "PATCH", "/settings", body, 422, code)

    async with event_feed(events_url(c.server, c.olive)) as feed:
        data = await c.fay.ok("PATCH", "/settings", {"observers_can_ask": True})
        assert data["settings"] == {
            "observers_can_ask": True,
            "post_first_questions": False,
            "max_participants": None,
            "guests_allowed": True,
        }
        event = await feed.wait_for(lambda m: m.get("type") == "settings.updated")
        assert event["data"] == data["settings"]
        # Changing one setting keeps the other.
        data = await c.fay.ok("PATCH", "/settings", {"post_first_questions": True})
        assert data["settings"] == {
            "observers_can_ask": True,
            "post_first_questions": True,
            "max_participants": None,
            "guests_allowed": True,
        }
    for person in c.everyone:
        assert (await person.ok("GET", "/settings"))["settings"] == data["settings"]


# Anonymity


async def test_anonymous_question_hides_the_asker_from_peers(cohort: Cohort) -> None:
    c = cohort
    async with (
        event_feed(events_url(c.server, c.bob)) as bob_feed,
        event_feed(events_url(c.server, c.fay)) as fay_feed,
    ):
        question = await c.ann.start(
            "Is this a silly question?", kind="question", anonymous=True, mentions=[c.bob.id]
        )
        qid = question["id"]
        assert question["anonymous"] is True and question["author"]["name"] == "Ann"
        asker_reply = await reply_id(c.ann, qid, "To clarify: the second part")
        bobs = await reply_id(c.bob, qid, "Not silly at all")

        # HTTP: peers (member and observer) see no asker anywhere, nor the asker's replies.
        for peer in (c.bob, c.olive):
            thread = await peer.thread(qid)
            listing = (await peer.ok("GET", "/threads?kind=question"))["threads"]
            assert [t["id"] for t in listing] == [qid]
            for view in (thread, listing[0]):
                assert view["author"] is None and view["anonymous"] is True
                assert view["mine"] is False
                comments = {x["id"]: x for x in view["comments"]}
                for asker_comment in (opening(question), asker_reply):
                    assert comments[asker_comment]["author"] is None
                    assert comments[asker_comment]["by_asker"] is True
                assert comments[bobs]["author"]["name"] == "Bob"
                assert comments[bobs]["by_asker"] is False
                assert c.ann.id not in json.dumps(view), "the asker's id leaked"
        # The facilitator and the asker see the name.
        for insider in (c.fay, c.ann):
            thread = await insider.thread(qid)
            listing = (await insider.ok("GET", "/threads?kind=question"))["threads"]
            for view in (thread, listing[0]):
                assert view["author"]["name"] == "Ann"
                assert comment_in(view, asker_reply)["author"]["name"] == "Ann"
                assert comment_in(view, asker_reply)["by_asker"] is True
            assert thread["mine"] is (insider is c.ann)

        # The mention does not reveal the asker either.
        mention = (await c.bob.ok("GET", "/mentions"))["mentions"][0]
        assert mention["thread"]["author"] is None and mention["comment"]["author"] is None

        # Events: rendered per reader.
        created = await wait_event(bob_feed, "thread.created", qid)
        assert created["data"]["thread"]["author"] is None
        assert c.ann.id not in json.dumps(created)
        created = await wait_event(fay_feed, "thread.created", qid)
        assert created["data"]["thread"]["author"]["name"] == "Ann"
        peer_view = await wait_event(bob_feed, "comment.created", qid, asker_reply)
        assert peer_view["data"]["comment"]["author"] is None
        assert peer_view["data"]["comment"]["by_asker"] is True
        assert peer_view["data"]["thread"]["author"] is None
        assert c.ann.id not in json.dumps(peer_view)
        fay_view = await wait_event(fay_feed, "comment.created", qid, asker_reply)
        assert fay_view["data"]["comment"]["author"]["name"] == "Ann"
        assert fay_view["data"]["thread"]["author"]["name"] == "Ann"
        bob_own = await wait_event(bob_feed, "comment.created", qid, bobs)
        assert bob_own["data"]["comment"]["author"]["name"] == "Bob"
        assert bob_own["data"]["thread"]["author"] is None


async def test_anonymous_is_only_for_questions_by_non_facilitators(cohort: Cohort) -> None:
    c = cohort
    for person, body in [
        (c.fay, {"body": "x", "kind": "question", "anonymous": True}),
        (c.ann, {"body": "x", "kind": "comment", "anonymous": True}),
        (c.ann, {"body": "x", "anonymous": True}),
    ]:
        await refuse(c, person, "POST", "/threads", body, 422, "invalid_anonymous")
    await refuse(
        c,
        c.ann,
        "POST",
        "/threads",
        {"body": "x", "kind": "question", "anonymous": "yes"},
        422,
        "invalid_anonymous",
    )
    # An observer allowed to ask may ask anonymously.
    await c.fay.ok("PATCH", "/settings", {"observers_can_ask": True})
    question = await c.olive.start("Shy observer", kind="question", anonymous=True)
    assert (await c.bob.thread(question["id"]))["author"] is None
    assert (await c.fay.thread(question["id"]))["author"]["name"] == "Olive"
    # A member's question that is not anonymous shows the name to everyone.
    named = await c.ann.start("Open question", kind="question", anonymous=False)
    assert (await c.bob.thread(named["id"]))["author"]["name"] == "Ann"


# Post first


def assert_withheld(view: dict[str, Any]) -> None:
    assert view["state"] == "withheld"
    assert (view["body"], view["author"], view["by_asker"]) == (None, None, False)
    assert (view["reactions"], view["mentions"], view["edited_at"]) == ({}, [], None)


async def test_post_first_question_withholds_answers_until_a_member_replies(
    cohort: Cohort,
) -> None:
    c = cohort
    cleo = await join(c.server, c.room, Role.MEMBER, "Cleo")
    question = await c.ann.start("What do you think?", kind="question", post_first=True)
    qid = question["id"]
    assert question["post_first"] is True
    asker_note = await reply_id(c.ann, qid, "Asker adds context")
    fays = await reply_id(c.fay, qid, "Facilitator's answer")
    async with event_feed(events_url(c.server, cleo)) as feed:
        bobs = await reply_id(c.bob, qid, "Bob's answer", mentions=[cleo.id])
        event = await wait_event(feed, "comment.created", qid, bobs)
        assert_withheld(event["data"]["comment"])
        assert event["data"]["thread"]["withheld_count"] == 2
        assert "Bob's answer" not in json.dumps(event)

        # Cleo has not replied: others' replies are withheld, the asker's are not.
        thread = await cleo.thread(qid)
        listing = (await cleo.ok("GET", "/threads"))["threads"][0]
        mention = (await cleo.ok("GET", "/mentions"))["mentions"][0]
        for view in (thread, listing):
            assert (view["reply_count"], view["withheld_count"]) == (3, 2)
            assert comment_in(view, opening(question))["body"] == "What do you think?"
            assert comment_in(view, asker_note)["body"] == "Asker adds context"
            assert_withheld(comment_in(view, fays))
            assert_withheld(comment_in(view, bobs))
        assert_withheld(mention["comment"])
        assert mention["thread"]["withheld_count"] == 2

        # Facilitators, observers, the asker and members who replied see everything.
        for person in (c.fay, c.olive, c.ann, c.bob):
            view = await person.thread(qid)
            assert view["withheld_count"] == 0, person.name
            assert comment_in(view, fays)["body"] == "Facilitator's answer"
            assert comment_in(view, bobs)["body"] == "Bob's answer"

        # Cleo's reply returns the whole thread, and her own event carries it too.
        data = await cleo.reply(qid, "Cleo's answer")
        cleos = data["comment"]["id"]
        assert data["thread"]["withheld_count"] == 0
        assert comment_in(data["thread"], fays)["body"] == "Facilitator's answer"
        assert comment_in(data["thread"], bobs)["author"]["name"] == "Bob"
        own = await wait_event(feed, "comment.created", qid, cleos)
        assert comment_in(own["data"]["thread"], bobs)["body"] == "Bob's answer"

    # Deleting her reply afterwards does not hide the others again.
    await cleo.ok("DELETE", f"/comments/{cleos}")
    view = await cleo.thread(qid)
    assert view["withheld_count"] == 0
    assert comment_in(view, bobs)["body"] == "Bob's answer"
    # Another member who has not replied still sees them withheld.
    dan = await join(c.server, c.room, Role.MEMBER, "Dan")
    view = await dan.thread(qid)
    assert_withheld(comment_in(view, bobs))
    assert view["withheld_count"] >= 2


# Mentions


async def test_mentions_list_newest_first_and_follow_edits(cohort: Cohort) -> None:
    c = cohort
    elsewhere = await make_cohort(c.server, "Another room")
    # Whom one can mention: the room's participants, in order of joining, for any role.
    people = (await c.olive.ok("GET", "/participants"))["participants"]
    assert people == [
        {"id": p.id, "name": p.name, "role": p.role, "guest": True} for p in c.everyone
    ]
    thread = await c.ann.start("Paging @Bob", mentions=[c.bob.id])
    tid, first = thread["id"], opening(thread)
    assert comment_in(thread, first)["mentions"] == [{"id": c.bob.id, "name": "Bob"}]
    data = await c.fay.ok(
        "POST",
        f"/threads/{tid}/comments",
        {"body": "Both of you", "mentions": [c.bob.id, c.ann.id, c.bob.id]},
        status=201,
    )
    fays = data["comment"]["id"]
    assert data["comment"]["mentions"] == [
        {"id": c.ann.id, "name": "Ann"},
        {"id": c.bob.id, "name": "Bob"},
    ]

    async def mentions_of(person: Person, query: str = "") -> list[int]:
        found = await person.ok("GET", f"/mentions{query}")
        return [m["comment"]["id"] for m in found["mentions"]]

    assert await mentions_of(c.bob) == [fays, first]
    assert await mentions_of(c.ann) == [fays]
    assert await mentions_of(c.olive) == []
    page = await c.bob.ok("GET", "/mentions?limit=1")
    assert [m["comment"]["id"] for m in page["mentions"]] == [fays]
    assert page["next_offset"] == 1
    assert page["mentions"][0]["thread"]["id"] == tid
    page = await c.bob.ok("GET", "/mentions?limit=1&offset=1")
    assert [m["comment"]["id"] for m in page["mentions"]] == [first]
    assert (await c.bob.ok("GET", "/mentions?offset=2"))["next_offset"] is None
    # Mentions in another room are not listed here.
    await elsewhere.ann.start("Other room", mentions=[elsewhere.bob.id])
    assert await mentions_of(c.bob) == [fays, first]

    too_many = [c.bob.id] + [f"p{i}" for i in range(20)]
    for method, path, bad in [
        ("POST", "/threads", [elsewhere.bob.id]),
        ("POST", f"/threads/{tid}/comments", [elsewhere.bob.id]),
        ("PATCH", f"/comments/{first}", [c.olive.id, elsewhere.bob.id]),
        ("POST", "/threads", ["no-such-participant"]),
        ("POST", f"/threads/{tid}/comments", c.bob.id),
        ("PATCH", f"/comments/{first}", [7]),
        ("POST", "/threads", too_many),
    ]:
        body = {"body": "x", "mentions": bad}
        await refuse(c, c.ann, method, path, body, 422, "invalid_mentions")

    # Editing replaces the mentions: Bob drops out, Olive comes in.
    edited = await c.ann.ok(
        "PATCH", f"/comments/{first}", {"body": "Paging @Olive", "mentions": [c.olive.id]}
    )
    assert edited["comment"]["mentions"] == [{"id": c.olive.id, "name": "Olive"}]
    assert await mentions_of(c.bob) == [fays]
    assert await mentions_of(c.olive) == [first]
    # An edit without mentions leaves none.
    await c.fay.ok("PATCH", f"/comments/{fays}", {"body": "Nobody in particular"})
    assert await mentions_of(c.bob) == []
    assert await mentions_of(c.ann) == []
    assert (await stored_comment(c.server, fays))[2] == 0
    assert (await stored_comment(c.server, first))[2] == 1


# Listing questions


async def test_question_list_order_filters_and_pages(cohort: Cohort) -> None:
    c = cohort
    await c.server.app_state.store.create_document(c.room.room.id, "notes")
    q1 = (await c.ann.start("Unanswered, general", kind="question"))["id"]
    q2 = (await c.bob.start("Will be answered", kind="question"))["id"]
    q3 = (await c.ann.start("Will be accepted", kind="question"))["id"]
    c1 = (await c.ann.start("A comment"))["id"]
    q4 = (await c.bob.start("Unanswered, on notes", kind="question", document="notes"))["id"]
    q5 = (await c.fay.start("Answered last", kind="question"))["id"]
    accepted = await reply_id(c.bob, q3)
    await c.ann.ok(
        "PATCH", f"/threads/{q3}", {"accepted_comment_id": accepted, "status": "resolved"}
    )
    await reply_id(c.fay, q2)
    await reply_id(c.bob, q5)

    # Unanswered questions first (newest activity first), then by latest activity.
    questions = [q4, q1, q5, q2, q3]
    assert await listed(c.olive, "?kind=question") == questions
    assert await listed(c.ann) == [q4, q1, q5, q2, q3, c1]
    data = await c.ann.ok("GET", "/threads?kind=question")
    assert [t["answer_state"] for t in data["threads"]] == [
        "unanswered",
        "unanswered",
        "answered",
        "answered",
        "accepted",
    ]
    assert data["next_offset"] is None
    for query, expected in [
        ("?kind=comment", [c1]),
        ("?answer_state=unanswered", [q4, q1]),
        ("?answer_state=answered", [q5, q2]),
        ("?answer_state=accepted", [q3]),
        ("?status=resolved", [q3]),
        ("?status=open", [q4, q1, q5, q2, c1]),
        ("?kind=question&status=open&answer_state=answered", [q5, q2]),
        ("?document=notes", [q4]),
        ("?general=false", [q4]),
        ("?general=true", [q1, q5, q2, q3, c1]),
        ("?general=true&kind=question&answer_state=unanswered", [q1]),
        ("?mine=true", [q1, q3, c1]),
        ("?mine=true&kind=question", [q1, q3]),
    ]:
        assert await listed(c.ann, query) == expected, query
    assert await listed(c.bob, "?mine=true") == [q4, q2]
    assert await listed(c.olive, "?mine=true") == []

    pages: list[tuple[str, list[int], int | None]] = [
        ("?kind=question&limit=2", [q4, q1], 2),
        ("?kind=question&limit=2&offset=2", [q5, q2], 4),
        ("?kind=question&limit=2&offset=4", [q3], None),
        ("?kind=question&limit=5", questions, 5),
        ("?kind=question&limit=5&offset=5", [], None),
    ]
    for query, ids, next_offset in pages:
        data = await c.ann.ok("GET", f"/threads{query}")
        assert ([t["id"] for t in data["threads"]], data["next_offset"]) == (ids, next_offset), (
            query
        )

    # Answering the oldest unanswered question moves it out of the front group.
    await reply_id(c.bob, q1)
    assert await listed(c.ann, "?kind=question") == [q4, q1, q5, q2, q3]
    assert await listed(c.ann, "?answer_state=unanswered") == [q4]

    for query in [
        "?kind=poll",
        "?status=closed",
        "?answer_state=maybe",
        "?mine=1",
        "?limit=0",
        "?limit=101",
        "?offset=-1",
        "?sort=new",
    ]:
        response = await c.ann.call("GET", f"/threads{query}")
        assert response.status_code == 400, (query, response.text)
        assert response.json()["error"]["code"] == "invalid_query"
    response = await c.ann.call("GET", "/threads?document=missing")
    assert (response.status_code, response.json()["error"]["code"]) == (404, "unknown_document")


# '²'.isdigit() is true but int('²') fails: this once escaped as a 500.
@pytest.mark.parametrize("query", ["/threads?limit=²", "/threads?offset=²", "/mentions?limit=²"])
async def test_page_numbers_with_unicode_digits_are_refused(
    server: RunningServer, query: str
) -> None:
    ann = await join(server, await server.create_room("Digits"), Role.MEMBER, "Ann")
    response = await ann.call("GET", query)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_query"


# Rooms are separate


async def test_threads_and_comments_of_another_room_are_unknown(cohort: Cohort) -> None:
    c = cohort
    other = await make_cohort(c.server, "Other cohort")
    thread = await other.ann.start("Elsewhere", kind="question")
    tid, first = thread["id"], opening(thread)
    for method, path, body, code in [
        ("GET", f"/threads/{tid}", None, "unknown_thread"),
        ("PATCH", f"/threads/{tid}", {"status": "resolved"}, "unknown_thread"),
        ("POST", f"/threads/{tid}/comments", {"body": "x"}, "unknown_thread"),
        ("PATCH", f"/comments/{first}", {"body": "x"}, "unknown_comment"),
        ("DELETE", f"/comments/{first}", None, "unknown_comment"),
        ("PUT", f"/comments/{first}/reactions/aha", None, "unknown_comment"),
        ("POST", f"/comments/{first}/moderation", {"action": "remove"}, "unknown_comment"),
    ]:
        await refuse(c, c.fay, method, path, body, 404, code)
    assert (await other.ann.thread(tid))["comments"][0]["body"] == "Elsewhere"
    assert await listed(c.fay) == []
    # A token only works in its own room.
    stranger = Person(
        c.fay.http, other.room.room.slug, c.fay.token, c.fay.id, "Fay", Role.FACILITATOR
    )
    response = await stranger.call("GET", "/threads")
    assert (response.status_code, response.json()["error"]["code"]) == (403, "forbidden")


# End to end, on every database


async def test_roles_end_to_end(database_url: str) -> None:
    async with run_server(fast_settings(database_url)) as server:
        c = await make_cohort(server, "End to end")
        await c.fay.ok("PATCH", "/settings", {"post_first_questions": True})
        async with event_feed(events_url(server, c.bob)) as feed:
            question = await c.ann.start(
                "Anonymous and post-first", kind="question", anonymous=True, mentions=[c.bob.id]
            )
            qid = question["id"]
            assert question["post_first"] is True
            created = await wait_event(feed, "thread.created", qid)
            assert created["data"]["thread"]["author"] is None
            fays = await reply_id(c.fay, qid, "Facilitator answer")
            event = await wait_event(feed, "comment.created", qid, fays)
            assert event["data"]["comment"]["state"] == "withheld"
            assert (await c.bob.thread(qid))["withheld_count"] == 1
            mine = await c.bob.reply(qid, "Bob answers")
            assert comment_in(mine["thread"], fays)["body"] == "Facilitator answer"
            bobs = mine["comment"]["id"]

            await refuse(
                c, c.olive, "POST", f"/threads/{qid}/comments", {"body": "x"}, 403, "forbidden"
            )
            await refuse(
                c,
                c.bob,
                "PATCH",
                f"/threads/{qid}",
                {"accepted_comment_id": bobs},
                403,
                "forbidden",
            )
            accepted = await c.ann.ok("PATCH", f"/threads/{qid}", {"accepted_comment_id": bobs})
            assert accepted["thread"]["answer_state"] == "accepted"
            event = await wait_event(feed, "thread.updated", qid)
            assert event["data"]["thread"]["accepted_comment_id"] == bobs
            assert event["data"]["thread"]["author"] is None

            await c.fay.ok("PUT", f"/comments/{bobs}/reactions/thanks")
            await c.fay.ok("PUT", f"/comments/{bobs}/reactions/thanks")
            reacted = comment_in(await c.bob.thread(qid), bobs)
            assert reacted["reactions"] == {"thanks": {"count": 1, "mine": False}}

            await c.fay.ok("PATCH", f"/threads/{qid}", {"locked": True})
            await refuse(
                c, c.bob, "POST", f"/threads/{qid}/comments", {"body": "x"}, 409, "thread_locked"
            )
            await reply_id(c.fay, qid, "Locked now")

            await c.fay.ok("POST", f"/comments/{fays}/moderation", {"action": "hide"})
            assert comment_in(await c.bob.thread(qid), fays)["body"] is None
            await c.fay.ok("POST", f"/comments/{fays}/moderation", {"action": "remove"})
            assert await stored_comment(server, fays) == ("", "removed", 0, 0)
            assert comment_in(await c.fay.thread(qid), fays)["body"] is None

            other = await c.bob.start("A later comment")
            assert await listed(c.olive) == [other["id"], qid]
            unanswered = await c.bob.start("Unanswered", kind="question")
            assert await listed(c.olive) == [unanswered["id"], other["id"], qid]
            mentions = (await c.bob.ok("GET", "/mentions"))["mentions"]
            assert [m["comment"]["id"] for m in mentions] == [opening(question)]
            assert mentions[0]["thread"]["author"] is None
            assert c.ann.id not in json.dumps(await c.bob.thread(qid))
