from __future__ import annotations

from rooms.roles import Role
from tests.harness import RunningServer
from tests.threads_client import event_feed, events_url, join
from tests.yclient import open_synced


async def test_smoke(server: RunningServer) -> None:
    room = await server.create_room()
    fac = await join(server, room, Role.FACILITATOR, "Fay")
    ann = await join(server, room, Role.MEMBER, "Ann")
    url = server.sync_url(room.room.slug) + "/guide"
    a = await open_synced(url, ann.token)
    f = await open_synced(url, fac.token)
    a.insert(0, "hello")
    await f.wait_text("hello")
    await fac.ok("PUT", "/documents/guide/lock", {"locked": True})
    a.insert(5, " locked")
    f.insert(0, ">")
    await a.wait_text(">hello locked")
    stored = await server.stored_document(room, "guide")
    assert str(stored.get("text", type=__import__("pycrdt").Text)) == ">hello"
    async with event_feed(events_url(server, ann)) as feed:
        await ann.call("GET", "/")
        await feed.wait_for(lambda m: m["type"] == "roster" and len(m["participants"]) == 1)
        await fac.ok("DELETE", f"/participants/{ann.id}", status=204)
        await feed.wait_for(lambda m: m.get("type") == "participant.removed")
    code, _ = await a.wait_closed()
    assert code == 4403
    assert (await ann.call("GET", "/threads")).status_code == 403
    doc = await fac.ok("POST", "/documents", {"name": "plan", "template": "action-plan"}, 201)
    assert doc["document"]["template"] == "action-plan"
    v = await fac.ok("POST", "/documents/plan/versions", {"name": "v1"}, 201)
    md = await fac.call("GET", "/documents/plan/export?format=markdown")
    assert md.text.startswith("# Action plan")
    restored = await fac.ok("POST", f"/documents/plan/versions/{v['version']['id']}/restore")
    assert restored["backup"]["reason"] == "restore"
    audit = await fac.ok("GET", "/audit")
    actions = [e["action"] for e in audit["entries"]]
    assert "participant.removed" in actions and "document.lock" in actions, actions
    async with fac.client() as client:
        state = (await client.get(f"{server.http}/api/rooms/{room.room.slug}")).json()
    assert state["documents"][0]["locked"] is True
    for c in (a, f):
        await c.close()
