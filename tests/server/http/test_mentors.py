"""A mentor from outside the cohort: a learner invites their manager by email to mentor
their action plan. The manager signs in with the email's link, gets a seat as
``mentor``, and sees and comments on that plan only: not the other documents, their
threads, their versions or exports, the room's general threads, who else is in the
room, or what happens elsewhere in it (live events about it arrive as ``hidden``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from pycrdt import XmlFragment
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from rooms.accounts import CreationPolicy
from tests.server.http.test_accounts import Browser, bearer, events_of
from tests.support.harness import RunningServer, run_server
from tests.support.settings import fast_settings
from tests.support.smtp import SmtpServer, running_smtp_server, text_of
from tests.support.threads_client import event_connection
from tests.support.timing import timeout
from tests.support.yclient import open_synced


async def close_code(ws: ClientConnection) -> int | None:
    """Read until the server closes the connection; its close code."""
    with contextlib.suppress(ConnectionClosed):
        while True:
            await asyncio.wait_for(ws.recv(), timeout(10))
    return ws.close_code


@pytest.fixture
async def mail() -> AsyncIterator[SmtpServer]:
    async with running_smtp_server() as server:
        yield server


@pytest.fixture
async def site(mail: SmtpServer, database_url: str) -> AsyncIterator[RunningServer]:
    async with run_server(fast_settings(database_url, smtp_url=mail.url)) as running:
        await running.app_state.accounts.set_policy(CreationPolicy.ANYONE)
        yield running


class Cohort:
    """A room with a facilitator, a learner with an action plan and a guide, and the
    learner's manager invited to mentor the plan."""

    def __init__(self, site: RunningServer) -> None:
        self.site = site
        self.browsers: list[Browser] = []

    def browser(self) -> Browser:
        opened = Browser(self.site)
        self.browsers.append(opened)
        return opened

    async def close(self) -> None:
        for b in self.browsers:
            await b.close()


async def api(
    b: Browser, method: str, path: str, joined: dict[str, Any], body: Any = None
) -> httpx.Response:
    return await b.http.request(
        method, f"/api/rooms/{joined['room']}{path}", json=body, headers=bearer(joined)
    )


@pytest.fixture
async def cohort(site: RunningServer, mail: SmtpServer) -> AsyncIterator[dict[str, Any]]:
    c = Cohort(site)
    try:
        fay, lu, boss = c.browser(), c.browser(), c.browser()
        await fay.sign_in(mail, "fay@example.com")
        room = await fay.create_room("Leaders", ["best-practices"])
        await lu.sign_in(mail, "lu@example.com")
        learner = (
            await lu.http.post("/api/account/join", json={"invite": room["invites"]["member"]})
        ).json()
        plan = await api(
            lu, "POST", "/documents", learner, {"name": "Lu plan", "template": "action-plan"}
        )
        assert plan.status_code == 201, plan.text
        # Something elsewhere in the room: a general question and a comment on the guide.
        general = await api(
            fay, "POST", "/threads", room["join"], {"kind": "question", "body": "Anyone?"}
        )
        on_guide = await api(
            fay,
            "POST",
            "/threads",
            room["join"],
            {"kind": "comment", "body": "On the guide", "document": "Best-practices guide"},
        )
        assert general.status_code == on_guide.status_code == 201
        on_plan = await api(
            lu,
            "POST",
            "/threads",
            learner,
            {"kind": "comment", "body": "My first goal", "document": "Lu plan"},
        )
        assert on_plan.status_code == 201

        sent = await api(
            lu,
            "POST",
            "/documents/Lu plan/mentor/invitation",
            learner,
            {"email": "boss@corp.example"},
        )
        assert sent.status_code == 202, sent.text
        message = await mail.next_message()
        assert "Mentor of “Lu plan”" in text_of(message)
        signed = await boss.open_link(message)
        assert signed["next"] == f"/room/{room['room']}?doc=Lu%20plan"
        mentor = await boss.room_token(room["room"])
        yield {
            "fay": fay,
            "lu": lu,
            "boss": boss,
            "room": room,
            "learner": learner,
            "mentor": mentor,
            "on_plan": on_plan.json()["thread"]["id"],
            "on_guide": on_guide.json()["thread"]["id"],
            "general": general.json()["thread"]["id"],
        }
    finally:
        await c.close()


async def test_the_mentor_is_seated_as_mentor_of_the_plan(cohort: dict[str, Any]) -> None:
    boss, mentor = cohort["boss"], cohort["mentor"]
    assert mentor["role"] == "mentor"
    state = (await api(boss, "GET", "", mentor)).json()
    assert state["you"]["role"] == "mentor"
    assert [d["name"] for d in state["documents"]] == ["Lu plan"]
    assert state["documents"][0]["mentor_id"] == mentor["participant"]["id"]
    listed = (await api(boss, "GET", "/documents", mentor)).json()["documents"]
    assert [d["name"] for d in listed] == ["Lu plan"]
    people = (await api(boss, "GET", "/participants", mentor)).json()["participants"]
    assert sorted(p["name"] for p in people) == ["Boss", "Fay", "Lu"]


async def test_the_mentor_sees_and_comments_on_the_plan_only(cohort: dict[str, Any]) -> None:
    boss, mentor = cohort["boss"], cohort["mentor"]
    threads = (await api(boss, "GET", "/threads", mentor)).json()["threads"]
    assert [t["id"] for t in threads] == [cohort["on_plan"]]
    for hidden in (cohort["on_guide"], cohort["general"]):
        assert (await api(boss, "GET", f"/threads/{hidden}", mentor)).status_code == 404
        reply = await api(boss, "POST", f"/threads/{hidden}/comments", mentor, {"body": "Hi"})
        assert reply.status_code == 404
    guide = await api(boss, "GET", "/threads?document=Best-practices guide", mentor)
    assert guide.status_code == 404
    for path in (
        "/documents/Best-practices guide/versions",
        "/documents/Best-practices guide/export?format=markdown",
    ):
        assert (await api(boss, "GET", path, mentor)).status_code == 404, path
    # On the plan: comment, reply.
    reply = await api(
        boss, "POST", f"/threads/{cohort['on_plan']}/comments", mentor, {"body": "Good goal"}
    )
    assert reply.status_code == 201, reply.text
    started = await api(
        boss,
        "POST",
        "/threads",
        mentor,
        {"kind": "comment", "body": "Check-in?", "document": "Lu plan"},
    )
    assert started.status_code == 201
    elsewhere = await api(
        boss,
        "POST",
        "/threads",
        mentor,
        {"kind": "comment", "body": "x", "document": "Best-practices guide"},
    )
    assert elsewhere.status_code == 404
    general = await api(boss, "POST", "/threads", mentor, {"kind": "question", "body": "x"})
    assert general.status_code == 403
    # The mentor cannot create documents, lock, rotate invites or react.
    assert (await api(boss, "POST", "/documents", mentor, {"name": "Mine"})).status_code == 403
    assert (await api(boss, "GET", "/invites", mentor)).status_code == 403


async def test_the_mentor_reads_the_plan_live_and_nothing_else(
    cohort: dict[str, Any], site: RunningServer
) -> None:
    mentor = cohort["mentor"]
    url = f"ws://127.0.0.1:{site.port}/sync/{cohort['room']['room']}"
    plan = await open_synced(f"{url}/{quote('Lu plan')}", mentor["token"])
    try:
        assert "Action plan" in str(plan.doc.get("default", type=XmlFragment))
    finally:
        await plan.close()
    for name in ("Best-practices guide", "Not there yet"):
        async with connect(f"{url}/{quote(name)}?token={mentor['token']}") as ws:
            assert await close_code(ws) == 4404, name


async def test_live_events_elsewhere_arrive_hidden(
    cohort: dict[str, Any], site: RunningServer
) -> None:
    fay, lu, room = cohort["fay"], cohort["lu"], cohort["room"]
    async with event_connection(events_of(site, cohort["mentor"])) as events:
        await api(fay, "POST", "/threads", room["join"], {"kind": "question", "body": "Secret?"})
        await api(
            lu,
            "POST",
            f"/threads/{cohort['on_plan']}/comments",
            cohort["learner"],
            {"body": "Update"},
        )
        seen = await events.feed.wait_for(lambda m: m.get("type") == "comment.created")
        assert seen["data"]["comment"]["body"] == "Update"
        hidden = [m for m in events.feed.messages if m.get("type") == "hidden"]
        assert len(hidden) == 1
        assert hidden[0]["data"] == {}
        assert "Secret?" not in str(events.feed.messages)
        rosters = [m for m in events.feed.messages if m.get("type") == "roster"]
        assert rosters
        for roster in rosters:
            assert {p["role"] for p in roster["participants"]} <= {
                "mentor",
                "facilitator",
                "member",
            }


async def test_only_the_creator_or_a_facilitator_invites_a_mentor(
    cohort: dict[str, Any], mail: SmtpServer
) -> None:
    fay, room = cohort["fay"], cohort["room"]
    other = Browser(cohort["lu"].server)
    try:
        member = (
            await other.http.post(
                "/api/join", json={"invite": room["invites"]["member"], "name": "Mo"}
            )
        ).json()
        refused = await api(
            other,
            "POST",
            "/documents/Lu plan/mentor/invitation",
            member,
            {"email": "x@example.com"},
        )
        assert refused.status_code == 403
        by_fay = await api(
            fay,
            "POST",
            "/documents/Lu plan/mentor/invitation",
            room["join"],
            {"email": "y@example.com"},
        )
        assert by_fay.status_code == 202
        await mail.next_message()
        # A mentor cannot be given by change of role, and has no invite link.
        assert "mentor" not in room["invites"]
        change = await api(
            fay,
            "PATCH",
            f"/participants/{member['participant']['id']}",
            room["join"],
            {"role": "mentor"},
        )
        assert change.status_code == 422
    finally:
        await other.close()


async def test_a_mentor_who_is_replaced_stops_reading_the_plan(
    cohort: dict[str, Any], site: RunningServer
) -> None:
    mentor, fay, room = cohort["mentor"], cohort["fay"], cohort["room"]
    url = f"ws://127.0.0.1:{site.port}/sync/{room['room']}/{quote('Lu plan')}"
    plan = await open_synced(url, mentor["token"])
    try:
        cleared = await api(fay, "PATCH", "/documents/Lu plan", room["join"], {"mentor": None})
        assert cleared.status_code == 200
        code, reason = await plan.wait_closed(10)
        assert (code, reason) == (4403, "you no longer mentor this document")
    finally:
        await plan.close()
    assert (await api(cohort["boss"], "GET", "/threads", mentor)).json()["threads"] == []
    async with connect(f"{url}?token={mentor['token']}") as ws:
        assert await close_code(ws) == 4404


async def test_the_mentor_sees_who_is_on_the_plan_but_not_where_others_are(
    cohort: dict[str, Any], site: RunningServer
) -> None:
    room, learner = cohort["room"], cohort["learner"]
    async with (
        event_connection(events_of(site, room["join"])) as fay,
        event_connection(events_of(site, learner)) as lu,
        event_connection(events_of(site, cohort["mentor"])) as boss,
    ):
        await fay.ws.send(json.dumps({"type": "presence", "document": "Best-practices guide"}))
        await lu.ws.send(json.dumps({"type": "presence", "document": "Lu plan"}))

        def placed(message: dict[str, Any]) -> bool:
            rows = {p["name"]: p for p in message.get("participants", [])}
            return (
                message["type"] == "roster"
                and rows.get("Lu", {}).get("document") == "Lu plan"
                and "Fay" in rows
            )

        roster = await boss.feed.wait_for(placed)
        rows = {p["name"]: p for p in roster["participants"]}
        assert rows["Fay"]["document"] is None
        assert set(rows) == {"Fay", "Lu", "Boss"}
        # Fay, who sees the room, sees where she is.
        mine = await fay.feed.wait_for(
            lambda m: (
                m["type"] == "roster"
                and any(p["document"] == "Best-practices guide" for p in m["participants"])
            )
        )
        assert mine
