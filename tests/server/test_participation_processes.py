"""Participation across processes: two ``roundtable serve`` processes sharing PostgreSQL
and Redis. People edit and comment through both; the report from either process has
the same numbers, and a restarted process gives them unchanged."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pycrdt import XmlElement, XmlFragment, XmlText

from rooms.directory import CreatedRoom
from rooms.roles import Role
from tests.support.cluster import Database, Launcher, ServeProcess, doc_url, poll
from tests.support.threads_client import Person
from tests.support.yclient import YClient, close_all, open_synced

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


async def join_at(host: ServeProcess, room: CreatedRoom, role: Role, name: str) -> Person:
    async with httpx.AsyncClient(base_url=host.http) as client:
        response = await client.post("/api/join", json={"invite": room.invites[role], "name": name})
    response.raise_for_status()
    body = response.json()
    return Person(host.http, room.room.slug, body["token"], body["participant"]["id"], name, role)


def at(host: ServeProcess, person: Person) -> Person:
    """The same person, asking ``host``."""
    return Person(host.http, person.room, person.token, person.id, person.name, person.role)


def write(client: YClient, paragraph: str) -> None:
    with client.doc.transaction():
        node = client.doc.get("default", type=XmlFragment).children.append(XmlElement("p"))
        node.children.append(XmlText()).insert(0, paragraph)


def steady(report: dict[str, Any]) -> dict[str, Any]:
    """The report without what moves with the clock."""
    return {
        "people": report["people"],
        "not_contributed": report["not_contributed"],
        "unanswered": [{**q, "waiting_seconds": None} for q in report["unanswered"]],
        # A series grows by a bucket when the clock passes into the next one.
        "activity": [
            (s["document"], s["start"], sum(s["edits"]), sum(s["added"]))
            for s in report["activity"]
        ],
    }


async def test_the_report_is_the_same_from_every_process_and_after_a_restart(
    launcher: Launcher, postgres_url: str, redis_url: str, prefix: str, database: Database
) -> None:
    common: dict[str, Any] = {
        "database_url": postgres_url,
        "redis_url": redis_url,
        "prefix": prefix,
    }
    a = await launcher.start("a", **common)
    b = await launcher.start("b", **common)
    room = await database.create_room()
    fay = await join_at(a, room, Role.FACILITATOR, "Fay")
    ann = await join_at(a, room, Role.MEMBER, "Ann")
    bob = await join_at(b, room, Role.MEMBER, "Bob")
    await fay.ok("POST", "/documents", {"name": "doc"}, 201)
    anns = await open_synced(doc_url(a, room, "doc"), ann.token)
    bobs = await open_synced(doc_url(b, room, "doc"), bob.token)
    try:
        write(anns, "Hello")
        write(bobs, "Hey")
        await anns.edits_sent()
        await bobs.edits_sent()
        # Each has the other's paragraph: both processes hold both edits.
        await anns.wait_until(lambda: len(anns.doc.get("default", type=XmlFragment).children) == 2)
        await bobs.wait_until(lambda: len(bobs.doc.get("default", type=XmlFragment).children) == 2)
    finally:
        await close_all(anns, bobs)
    talk = await ann.start("Look", document="doc")
    await bob.reply(talk["id"], "Seen")
    await bob.start("Who knows?", kind="question", anonymous=True)

    reports: dict[str, dict[str, Any]] = {}

    async def counted() -> bool:
        for name, host in (("a", a), ("b", b)):
            reports[name] = await at(host, fay).ok("GET", "/participation")
        rows = {p["name"]: p for p in reports["a"]["people"]}
        return (rows["Ann"]["added"], rows["Bob"]["added"]) == (5, 3)

    await poll(counted, 15, "both processes' edits to be counted")
    assert steady(reports["a"]) == steady(reports["b"])
    rows = {p["name"]: p for p in reports["a"]["people"]}
    assert (rows["Ann"]["documents"], rows["Bob"]["documents"]) == (
        [{"document": "doc", "added": 5, "removed": 0, "edits": 1}],
        [{"document": "doc", "added": 3, "removed": 0, "edits": 1}],
    )
    assert (rows["Ann"]["comments"], rows["Bob"]["comments"]) == (1, 1)
    assert (rows["Bob"]["questions"], rows["Bob"]["anonymous_questions"]) == (1, 1)
    (question,) = reports["a"]["unanswered"]
    assert (question["asker_name"], question["anonymous"]) == ("Bob", True)

    # B restarts: the numbers stay, counted from storage alone.
    await b.stop()
    b = await launcher.start("b2", **common, port=b.port)
    again = await at(b, fay).ok("GET", "/participation")
    assert steady(again) == steady(reports["a"])
    bobs_own = await at(b, bob).ok("GET", "/participation/me")
    assert (bobs_own["person"]["added"], bobs_own["person"]["questions"]) == (3, 0)
