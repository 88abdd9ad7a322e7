"""Participation over HTTP, on SQLite and PostgreSQL: the facilitators' report (JSON and
CSV) after real edits through Yjs clients and real comments, questions, answers,
accepts and reactions; members are refused it; a member's own summary holds nothing of
anyone else and nothing they asked anonymously."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pycrdt import XmlElement, XmlFragment, XmlText

from rooms.directory import CreatedRoom
from rooms.presence import COLOURS
from rooms.roles import Role
from tests.support.cluster import poll
from tests.support.harness import RunningServer, run_server
from tests.support.settings import fast_settings
from tests.support.threads_client import Person, event_feed, events_url, join
from tests.support.yclient import YClient, close_all, open_synced

PERSON_FIELDS = {
    "participant_id",
    "name",
    "role",
    "guest",
    "removed_from_room",
    "colour",
    "here_now",
    "present_seconds",
    "added",
    "removed",
    "documents",
    "comments",
    "questions",
    "anonymous_questions",
    "answers",
    "accepted_answers",
    "reactions_given",
    "reactions_received",
    "last_active_at",
    "contributed",
}


@pytest.fixture
async def site(database_url: str) -> AsyncIterator[RunningServer]:
    async with run_server(fast_settings(database_url)) as running:
        yield running


def write(client: YClient, paragraph: str) -> XmlText:
    """Append a paragraph to the document's content, as one edit; its text."""
    root = client.doc.get("default", type=XmlFragment)
    with client.doc.transaction():
        node = root.children.append(XmlElement("paragraph"))
        text: XmlText = node.children.append(XmlText())
        text.insert(0, paragraph)
    return text


async def report_once(fay: Person, person: Person, added: int, removed: int = 0) -> dict[str, Any]:
    """The report, once the text ``person`` wrote is stored and counted."""
    found: dict[str, Any] = {}

    async def counted() -> bool:
        found.update(await fay.ok("GET", "/participation"))
        row = row_of(found, person)
        return (row["added"], row["removed"]) == (added, removed)

    await poll(counted, 10, f"{person.name}'s text to be counted")
    return found


def row_of(report: dict[str, Any], person: Person) -> dict[str, Any]:
    row: dict[str, Any] = next(p for p in report["people"] if p["participant_id"] == person.id)
    return row


async def cohort(site: RunningServer) -> tuple[CreatedRoom, Person, Person, Person, Person]:
    room = await site.create_room("Participation")
    return (
        room,
        await join(site, room, Role.FACILITATOR, "Fay"),
        await join(site, room, Role.MEMBER, "Ann"),
        await join(site, room, Role.MEMBER, "Bob"),
        await join(site, room, Role.OBSERVER, "=Olive"),
    )


async def test_the_facilitators_report_and_a_members_own(site: RunningServer) -> None:
    room, fay, ann, bob, olive = await cohort(site)
    await fay.ok("POST", "/documents", {"name": "Guide"}, 201)

    # Text: Ann types 11 units and deletes 5; Bob types 5 (the emoji is two).
    url = site.sync_url(room.room.slug) + "/Guide"
    anns, bobs = await open_synced(url, ann.token), await open_synced(url, bob.token)
    hers = write(anns, "Hello world")
    await anns.edits_sent()
    del hers[5:10]
    write(bobs, "Hi \N{WAVING HAND SIGN}")
    await anns.edits_sent()
    await bobs.edits_sent()
    await close_all(anns, bobs)
    await report_once(fay, ann, 11, 5)
    await report_once(fay, bob, 5)

    # Threads: Ann comments, Bob replies; Ann asks anonymously, Bob answers, accepted;
    # Bob asks a question nobody answers; Ann thanks Bob for his reply.
    talk = await ann.start("Look at this", document="Guide")
    reply = await bob.reply(talk["id"], "Indeed")
    secret = await ann.start("A shy question?", kind="question", anonymous=True)
    answer = await bob.reply(secret["id"], "Here is why")
    await ann.ok(
        "PATCH", f"/threads/{secret['id']}", {"accepted_comment_id": answer["comment"]["id"]}
    )
    waiting = await bob.start("Nobody knows?", kind="question", document="Guide")
    await ann.ok("PUT", f"/comments/{reply['comment']['id']}/reactions/thanks")

    # Presence: Ann is here while her event socket is open; the span counts once closed.
    async with event_feed(events_url(site, ann)):
        here = await fay.ok("GET", "/participation")
        assert row_of(here, ann)["here_now"] is True
        assert row_of(here, bob)["here_now"] is False
    spans: list[Any] = []

    async def recorded() -> bool:
        spans[:] = await site.app_state.participants.presence_spans(room.room.id, ann.id)
        return len(spans) == 1

    await poll(recorded, 10, "Ann's time in the room to be recorded")

    report = await fay.ok("GET", "/participation")
    assert [p["name"] for p in report["people"]] == ["=Olive", "Ann", "Bob", "Fay"]
    for row in report["people"]:
        assert set(row) == PERSON_FIELDS
    a, b = row_of(report, ann), row_of(report, bob)
    assert a["present_seconds"] == int((spans[0].ended_at - spans[0].started_at).total_seconds())
    assert (a["added"], a["removed"]) == (11, 5)
    assert a["documents"] == [{"document": "Guide", "added": 11, "removed": 5, "edits": 2}]
    assert (b["added"], b["removed"], b["documents"][0]["edits"]) == (5, 0, 1)
    assert (a["comments"], a["questions"], a["anonymous_questions"], a["answers"]) == (1, 1, 1, 0)
    assert (a["reactions_given"], a["reactions_received"]) == (1, 0)
    assert (b["comments"], b["questions"], b["answers"], b["accepted_answers"]) == (1, 1, 1, 1)
    assert b["reactions_received"] == 1
    assert a["contributed"] and b["contributed"] and a["last_active_at"].endswith("Z")
    assert a["colour"].startswith("#") and a["removed_from_room"] is False
    # Each has the colour stored when they joined: four people, four colours.
    assert {p["colour"] for p in report["people"]} == set(COLOURS[:4])
    assert report["not_contributed"] == [olive.id]
    (question,) = report["unanswered"]
    assert question["thread_id"] == waiting["id"]
    assert (question["asker_name"], question["document"], question["anonymous"]) == (
        "Bob",
        "Guide",
        False,
    )
    assert question["text"] == "Nobody knows?" and question["waiting_seconds"] >= 0
    (guide,) = report["activity"]
    assert (guide["document"], guide["bucket_seconds"]) == ("Guide", 300)
    assert sum(guide["added"]) == 16 and sum(guide["edits"]) == 3
    assert len(guide["added"]) == len(guide["edits"]) >= 1

    # Members and observers are refused the report, in JSON and CSV.
    for person in (ann, olive):
        for path in ("/participation", "/participation.csv"):
            refused = await person.call("GET", path)
            assert refused.status_code == 403
            assert refused.json()["error"]["code"] == "forbidden"

    # Ann's own: her signed work only; her anonymous question is nowhere in it.
    own = await ann.ok("GET", "/participation/me")
    assert set(own) == {"generated_at", "person", "threads"}
    me = own["person"]
    assert set(me) == PERSON_FIELDS - {"anonymous_questions"}
    assert (me["participant_id"], me["added"], me["removed"]) == (ann.id, 11, 5)
    assert (me["comments"], me["questions"], me["answers"]) == (1, 0, 0)
    assert [t["thread_id"] for t in own["threads"]] == [talk["id"]]
    (thread,) = own["threads"]
    assert (thread["kind"], thread["document"], thread["replies"], thread["accepted"]) == (
        "comment",
        "Guide",
        1,
        False,
    )
    text = json.dumps(own)
    for other in (bob, fay, olive):
        assert other.id not in text
    assert "shy" not in text and "Bob" not in text
    bobs_own = await bob.ok("GET", "/participation/me")
    assert (bobs_own["person"]["accepted_answers"], bobs_own["person"]["questions"]) == (1, 1)


async def test_the_report_as_csv(site: RunningServer) -> None:
    room, fay, ann, bob, _ = await cohort(site)
    await fay.ok("POST", "/documents", {"name": "Guide"}, 201)
    await fay.ok("POST", "/documents", {"name": "Plan"}, 201)
    url = site.sync_url(room.room.slug) + "/Plan"
    anns = await open_synced(url, ann.token)
    write(anns, "Plan it")
    await anns.edits_sent()
    await close_all(anns)
    await report_once(fay, ann, 7)
    await bob.start("A question?", kind="question", anonymous=True)

    async with fay.client() as client:
        response = await client.get("/participation.csv")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        f'attachment; filename="participation-{room.room.slug}.csv"'
    )
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == [
        "name",
        "role",
        "guest",
        "present_minutes",
        "added",
        "removed",
        "comments",
        "questions",
        "anonymous_questions",
        "answers",
        "accepted_answers",
        "reactions_given",
        "reactions_received",
        "last_active_at",
        "contributed",
        "added: Guide",
        "removed: Guide",
        "added: Plan",
        "removed: Plan",
    ]
    by_name = {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    # A cell a spreadsheet would run as a formula is text.
    assert set(by_name) == {"'=Olive", "Ann", "Bob", "Fay"}
    assert by_name["Ann"]["added: Plan"] == "7" and by_name["Ann"]["added"] == "7"
    assert by_name["Ann"]["contributed"] == "true" and by_name["Ann"]["guest"] == "true"
    assert by_name["Bob"]["questions"] == "1" and by_name["Bob"]["anonymous_questions"] == "1"
    assert by_name["'=Olive"]["contributed"] == "false"
    assert by_name["'=Olive"]["last_active_at"] == ""


async def test_a_participant_of_another_room_gets_nothing(site: RunningServer) -> None:
    _, fay, *_ = await cohort(site)
    elsewhere = await site.create_room("Elsewhere")
    stranger = await join(site, elsewhere, Role.FACILITATOR, "Sam")
    async with httpx.AsyncClient(base_url=site.http) as client:
        response = await client.get(
            f"/api/rooms/{fay.room}/participation",
            headers={"authorization": f"Bearer {stranger.token}"},
        )
    assert response.status_code in (401, 403)
