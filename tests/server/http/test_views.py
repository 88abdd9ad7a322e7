"""The HTTP views (server.http.views) and the room events (built by the domain) show a
document, a version, the settings and the timer the same way; an export downloads as a
file named after its document."""

from __future__ import annotations

from typing import Any

from rooms.roles import Role
from tests.support.harness import RunningServer
from tests.support.threads_client import EventFeed, event_feed, events_url, join


def _event(feed: EventFeed, type: str) -> Any:
    return feed.wait_for(lambda m: m.get("type") == type)


async def test_responses_and_events_show_the_same_records(server: RunningServer) -> None:
    room = await server.create_room("Views")
    fay = await join(server, room, Role.FACILITATOR, "Fay")
    ann = await join(server, room, Role.MEMBER, "Ann")
    async with event_feed(events_url(server, fay)) as feed:
        created = await fay.ok(
            "POST",
            "/documents",
            {"name": "Plan", "template": "action-plan", "mentor": ann.id},
            status=201,
        )
        assert created["document"]["mentor_id"] == ann.id
        assert (await _event(feed, "document.created"))["data"] == created
        listed = await fay.ok("GET", "/documents")
        assert listed["documents"] == [created["document"]]

        updated = await fay.ok("PATCH", "/documents/Plan", {"mentor": None})
        assert (await _event(feed, "document.updated"))["data"] == updated

        saved = await fay.ok("POST", "/documents/Plan/versions", {"name": "First"}, status=201)
        event = await _event(feed, "version.saved")
        assert event["data"] == {"document": "Plan", "version": saved["version"]}
        versions = await fay.ok("GET", "/documents/Plan/versions")
        assert versions["versions"] == [saved["version"]]

        await fay.ok("POST", f"/documents/Plan/versions/{saved['version']['id']}/restore")
        restored = await _event(feed, "document.restored")
        assert restored["data"]["version"] == saved["version"]

        settings = await fay.ok("PATCH", "/settings", {"max_participants": 7})
        assert (await _event(feed, "settings.updated"))["data"] == settings["settings"]
        assert (await fay.ok("GET", "/settings")) == settings

        timer = await fay.ok("PUT", "/timer", {"seconds": 60, "label": "Go"})
        event = await _event(feed, "timer.started")
        assert event["data"] == {**timer["timer"], "seconds": 60, "by": "Fay"}
        await fay.ok("PUT", "/spotlight", status=204)
        async with fay.client() as client:
            state = (await client.get(f"{fay.http}/api/rooms/{fay.room}")).json()
        assert state["timer"] == timer["timer"]
        assert state["spotlight"] == {"id": fay.id, "name": "Fay"}
        assert state["settings"] == settings["settings"]
        assert state["documents"] == [updated["document"]]


async def test_an_export_is_a_download_named_after_its_document(server: RunningServer) -> None:
    room = await server.create_room("Exports")
    fay = await join(server, room, Role.FACILITATOR, "Fay")
    await fay.ok("POST", "/documents", {"name": "Café notes"}, status=201)
    version = (await fay.ok("POST", "/documents/Café notes/versions", {"name": "V"}, 201))[
        "version"
    ]
    for path, media_type, filename in [
        ("/documents/Café notes/export?format=markdown", "text/markdown", "Caf%C3%A9%20notes.md"),
        ("/documents/Café notes/export?format=html", "text/html", "Caf%C3%A9%20notes.html"),
        (
            f"/documents/Café notes/versions/{version['id']}/export?format=html",
            "text/html",
            "Caf%C3%A9%20notes.html",
        ),
    ]:
        response = await fay.call("GET", path)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == f"{media_type}; charset=utf-8"
        assert response.headers["content-disposition"] == (
            f"attachment; filename*=UTF-8''{filename}"
        )
    missing = await fay.call("GET", "/documents/Café notes/export")
    assert missing.status_code == 400
    assert missing.json()["error"] == {
        "code": "invalid_format",
        "message": "format must be markdown or html",
    }
