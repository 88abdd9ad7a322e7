"""Removing a participant for good: the removal can replace the invite of their role.

A removal blocks one participant id. Until people have lasting accounts, the person
behind it could join again at once through the same invite link and get a new
participant; ``DELETE /participants/{id}`` with ``{"rotate_invite": true}`` replaces
that role's invite in the same action (announced and audited as a rotation), so the
old link stops working. Without the option the removal is what it always was.

Real servers and clients throughout: HTTP, sync sockets and the room event socket.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from rooms.directory import CreatedRoom
from rooms.roles import Role
from tests.server.http.test_controls import (
    doc_url,
    error_code,
    is_event,
    last_seq,
    open_events,
)
from tests.support.harness import RunningServer
from tests.support.threads_client import Person, event_feed, events_url, join
from tests.support.yclient import YClient, close_all, open_synced


async def join_with(server: RunningServer, invite: str, name: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.http) as client:
        return await client.post("/api/join", json={"invite": invite, "name": name})


async def audit_actions(server: RunningServer, room: CreatedRoom) -> list[tuple[str, Any]]:
    """(action, details) of the room's audit log, oldest first."""
    entries = await server.app_state.control_store.audit_log(room.room.id, 500, None)
    return [(e.action, e.details) for e in reversed(entries)]


async def test_removal_with_rotate_invite_keeps_the_person_out(server: RunningServer) -> None:
    room = await server.create_room()
    fac = await join(server, room, Role.FACILITATOR, "Fay")
    ann = await join(server, room, Role.MEMBER, "Ann")
    bo = await join(server, room, Role.MEMBER, "Bo")
    obs = await join(server, room, Role.OBSERVER, "Obs")
    old = dict((await fac.ok("GET", "/invites"))["invites"])
    ann_sync = await open_synced(doc_url(server, room), ann.token)
    bo_sync = await open_synced(doc_url(server, room), bo.token)
    fac_sync = await open_synced(doc_url(server, room), fac.token)
    ann_events = await open_events(events_url(server, ann))
    try:
        await ann_events.wait_ready()
        async with event_feed(events_url(server, bo)) as bo_feed:
            removed = await fac.ok(
                "DELETE", f"/participants/{ann.id}", {"rotate_invite": True}, status=200
            )
            new = removed["invite"]["code"]
            assert removed == {
                "participant_id": ann.id,
                "invite": {
                    "role": "member",
                    "code": new,
                    "link": f"{server.http}/join/{new}",
                },
            }
            assert isinstance(new, str) and len(new) >= 16 and new != old["member"]

            # Ann's sockets close as on any removal.
            code, reason = await ann_sync.wait_closed()
            assert code == 4403 and "removed" in reason
            code, _ = await ann_events.wait_closed()
            assert code == 4403
            # The others hear of the removal and of the rotation as of any rotation:
            # the role, never the code.
            await bo_feed.wait_for(is_event("participant.removed", participant_id=ann.id))
            rotated = await bo_feed.wait_for(is_event("invite.rotated", role="member"))
            assert new not in json.dumps(rotated)
            assert rotated["seq"] > (await bo_feed.wait_for(is_event("participant.removed")))["seq"]

            # Everyone else goes on: Bo's edits reach the facilitator.
            bo_sync.insert(0, "still here")
            await fac_sync.wait_text("still here")
            assert bo_sync.is_open and fac_sync.is_open

        # The old member link is dead; the new one works; other roles' links are kept.
        refused = await join_with(server, old["member"], "Ann again")
        assert refused.status_code == 404 and error_code(refused) == "unknown_invite"
        joined = await join_with(server, new, "Late")
        assert joined.status_code == 200, joined.text
        assert joined.json()["role"] == "member"
        assert (await join_with(server, old["observer"], "O")).status_code == 200
        assert (await fac.ok("GET", "/invites"))["invites"] == {**old, "member": new}

        # Ann's token is refused everywhere.
        assert error_code(await ann.call("GET", "/documents")) == "removed"
        retry = await YClient.open(doc_url(server, room), ann.token)
        code, _ = await retry.wait_closed()
        assert code == 4403
        # Participants who joined with the old link keep their access.
        for person in (bo, obs, fac):
            assert (await person.call("GET", "/documents")).status_code == 200, person.name

        controls = ("participant.removed", "invite.rotated")
        assert [e for e in await audit_actions(server, room) if e[0] in controls] == [
            ("participant.removed", {"participant": ann.id, "name": "Ann"}),
            ("invite.rotated", {"role": "member"}),
        ]

        # An observer's removal replaces the observer link only.
        invites = (await fac.ok("GET", "/invites"))["invites"]
        out = await fac.ok("DELETE", f"/participants/{obs.id}", {"rotate_invite": True})
        assert out["invite"]["role"] == "observer"
        assert (await fac.ok("GET", "/invites"))["invites"] == {
            **invites,
            "observer": out["invite"]["code"],
        }
    finally:
        await close_all(ann_sync, bo_sync, fac_sync, ann_events)


@pytest.mark.parametrize("body", [None, {}, {"rotate_invite": False}])
async def test_removal_without_rotate_invite_leaves_the_invites_alone(
    server: RunningServer, body: dict[str, Any] | None
) -> None:
    room = await server.create_room()
    fac = await join(server, room, Role.FACILITATOR, "Fay")
    ann = await join(server, room, Role.MEMBER, "Ann")
    old = (await fac.ok("GET", "/invites"))["invites"]

    async with event_feed(events_url(server, fac)) as feed:
        response = await fac.call("DELETE", f"/participants/{ann.id}", body)
        assert response.status_code == 204, response.text
        assert response.content == b""
        await feed.wait_for(is_event("participant.removed", participant_id=ann.id))
    assert not any(e["type"] == "invite.rotated" for e in feed.events())
    assert error_code(await ann.call("GET", "/documents")) == "removed"
    assert (await fac.ok("GET", "/invites"))["invites"] == old
    assert "invite.rotated" not in [a for a, _ in await audit_actions(server, room)]
    # As before: the same link lets the person in again, as a new participant.
    again = await join_with(server, old["member"], "Ann")
    assert again.status_code == 200
    assert again.json()["participant"]["id"] != ann.id


async def test_a_bad_removal_body_changes_nothing(server: RunningServer) -> None:
    room = await server.create_room()
    fac = await join(server, room, Role.FACILITATOR, "Fay")
    ann = await join(server, room, Role.MEMBER, "Ann")
    bo = await join(server, room, Role.MEMBER, "Bo")
    old = (await fac.ok("GET", "/invites"))["invites"]
    seq = await last_seq(server, room)

    async def refuse(who: Person, body: Any, status: int, code: str) -> None:
        response = await who.call("DELETE", f"/participants/{ann.id}", body)
        assert response.status_code == status, (body, response.text)
        assert error_code(response) == code, body

    for body, code in (
        ({"rotate_invite": "yes"}, "invalid_rotate_invite"),
        ({"rotate_invite": 1}, "invalid_rotate_invite"),
        ({"rotate_invite": None}, "invalid_rotate_invite"),
        ({"rotate": True}, "invalid_change"),
        ([True], "invalid_json"),
    ):
        await refuse(fac, body, 422 if code != "invalid_json" else 400, code)
    async with fac.client() as client:
        form = await client.request("DELETE", f"/participants/{ann.id}", content=b"x=1")
    assert form.status_code == 415, form.text
    # Members cannot remove anyone, with or without the option.
    await refuse(bo, {"rotate_invite": True}, 403, "forbidden")
    # A facilitator cannot be removed, so no facilitator link is replaced this way.
    fac2 = await join(server, room, Role.FACILITATOR, "Flo")
    response = await fac.call("DELETE", f"/participants/{fac2.id}", {"rotate_invite": True})
    assert response.status_code == 403 and error_code(response) == "forbidden"
    # An unknown participant: nothing is rotated either.
    response = await fac.call("DELETE", "/participants/nobody", {"rotate_invite": True})
    assert response.status_code == 404 and error_code(response) == "unknown_participant"

    assert await last_seq(server, room) == seq
    assert (await fac.ok("GET", "/invites"))["invites"] == old
    assert (await ann.call("GET", "/documents")).status_code == 200
