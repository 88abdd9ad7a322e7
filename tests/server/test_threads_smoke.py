from __future__ import annotations

from rooms.roles import Role
from tests.harness import RunningServer
from tests.threads_client import event_feed, events_url, join


async def test_smoke(server: RunningServer) -> None:
    room = await server.create_room()
    fac = await join(server, room, Role.FACILITATOR, "Fay")
    ann = await join(server, room, Role.MEMBER, "Ann")
    bob = await join(server, room, Role.MEMBER, "Bob")
    async with event_feed(events_url(server, bob)) as feed:
        q = await ann.start("Why?", kind="question", anonymous=True, post_first=True)
        assert q["author"]["name"] == "Ann"
        ev = await feed.wait_for(lambda m: m.get("type") == "thread.created")
        assert ev["data"]["thread"]["author"] is None
        r = await fac.reply(q["id"], "Because")
        ev = await feed.wait_for(lambda m: m.get("type") == "comment.created")
        assert ev["data"]["comment"]["state"] == "withheld", ev
        t = await bob.thread(q["id"])
        assert t["comments"][1]["body"] is None and t["withheld_count"] == 1
        mine = await bob.reply(q["id"], "My answer")
        assert mine["thread"]["comments"][1]["body"] == "Because"
        await ann.ok("PATCH", f"/threads/{q['id']}", {"accepted_comment_id": r["comment"]["id"]})
        ev = await feed.wait_for(lambda m: m.get("type") == "thread.updated")
        assert ev["data"]["thread"]["answer_state"] == "accepted"
    listing = await bob.ok("GET", "/threads?kind=question")
    assert len(listing["threads"]) == 1
    schema = await bob.ok("GET", "/../../openapi.json")
    assert "/api/rooms/{room}/threads" in schema["paths"]
