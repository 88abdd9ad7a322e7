"""Getting into a room, and listing who did: the participant cap, join limits, and the
paginated participants list.

- A room takes at most its ``max_participants`` setting (a facilitator sets it; null
  means the server's ``max_participants_per_room``, 0 no cap) members and observers; the
  join past it gets 409 ``room_full`` and nothing is created; facilitators always get
  in; a removal frees a place; concurrent joins cannot pass the cap (SQLite and
  PostgreSQL).
- ``POST /api/join`` is limited per invite code and per client address over a sliding
  minute: the join past a limit gets 429 ``too_many_joins`` with ``Retry-After``;
  another invite, another address go on; the defaults let a whole cohort in from one
  address. :class:`server.rate_limit.SlidingWindow` and :class:`JoinLimits` are also
  driven with an explicit clock.
- ``GET /participants`` pages with ``limit`` and ``after``: walking it gives everyone
  once, in order of joining, also when people join with the same timestamp and when
  someone is removed mid-walk (SQLite and PostgreSQL).

Real servers (uvicorn in the test's loop) and real HTTP clients; the second client
address is 127.0.0.2, a real loopback address of its own.
"""

from __future__ import annotations

import asyncio
import math
import ssl
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, insert, select

from rooms.directory import CreatedRoom
from rooms.roles import Role
from server.rate_limit import JoinLimits, SlidingWindow
from server.storage.tables import ParticipantRow
from tests.server.http.test_controls import room_state
from tests.support.harness import RunningServer, run_server
from tests.support.settings import fast_settings
from tests.support.threads_client import Person, event_feed, events_url, join

OTHER_ADDRESS = "127.0.0.2"


# Building an SSL context takes about 30 ms of the event loop the server runs in too:
# one for every client.
_TLS = ssl.create_default_context()


def client(server: RunningServer, address: str | None = None) -> httpx.AsyncClient:
    """An HTTP client of ``server``, connecting from ``address`` (a loopback address)."""
    transport = httpx.AsyncHTTPTransport(local_address=address, verify=_TLS) if address else None
    return httpx.AsyncClient(base_url=server.http, transport=transport, verify=_TLS)


async def post_join(
    server: RunningServer, invite: str, name: str, address: str | None = None
) -> httpx.Response:
    async with client(server, address) as http:
        return await http.post("/api/join", json={"invite": invite, "name": name})


async def count_participants(server: RunningServer, room: CreatedRoom) -> int:
    """Every participant row of the room, removed ones included."""
    async with server.app_state.store.engine.connect() as connection:
        counted = await connection.scalar(
            select(func.count())
            .select_from(ParticipantRow)
            .where(ParticipantRow.room_id == room.room.id)
        )
    return int(counted or 0)


def error_of(response: httpx.Response) -> str:
    code: str = response.json()["error"]["code"]
    return code


# ------------------------------------------------------------ participant cap


async def test_a_room_full_by_its_cap_refuses_the_next_join_and_creates_nothing(
    database_url: str,
) -> None:
    async with run_server(fast_settings(database_url)) as server:
        room = await server.create_room()
        fac = await join(server, room, Role.FACILITATOR, "Fay")
        async with event_feed(events_url(server, fac)) as feed:
            data = await fac.ok("PATCH", "/settings", {"max_participants": 3})
            assert data["settings"]["max_participants"] == 3
            event = await feed.wait_for(lambda m: m.get("type") == "settings.updated")
            assert event["data"]["max_participants"] == 3

        members = [await join(server, room, Role.MEMBER, f"M{i}") for i in range(2)]
        observer = await join(server, room, Role.OBSERVER, "Obs")
        before = await count_participants(server, room)
        seq = await server.app_state.store.last_event_seq(room.room.id)
        for role in (Role.MEMBER, Role.OBSERVER):
            full = await post_join(server, room.invites[role], "One too many")
            assert full.status_code == 409, full.text
            assert error_of(full) == "room_full"
            assert "3" in full.json()["error"]["message"]
        assert await count_participants(server, room) == before
        assert await server.app_state.store.last_event_seq(room.room.id) == seq

        # Facilitators are not counted and always get in, to manage a full room.
        fac2 = await post_join(server, room.invites[Role.FACILITATOR], "Flo")
        assert fac2.status_code == 200, fac2.text

        # A removal frees a place; the cap can be raised, lifted (0) or given back to
        # the server's default (null, here no cap).
        await fac.ok("DELETE", f"/participants/{members[0].id}", status=204)
        assert (await post_join(server, room.invites[Role.MEMBER], "In")).status_code == 200
        assert (await post_join(server, room.invites[Role.MEMBER], "Out")).status_code == 409
        await fac.ok("PATCH", "/settings", {"max_participants": 4})
        assert (await post_join(server, room.invites[Role.OBSERVER], "4th")).status_code == 200
        assert (await post_join(server, room.invites[Role.OBSERVER], "5th")).status_code == 409
        await fac.ok("PATCH", "/settings", {"max_participants": 0})
        assert (await post_join(server, room.invites[Role.MEMBER], "Free")).status_code == 200
        await fac.ok("PATCH", "/settings", {"max_participants": None})
        assert (await post_join(server, room.invites[Role.MEMBER], "Any")).status_code == 200
        # Everyone admitted before the cap was reached keeps their access.
        for person in (members[1], observer):
            assert (await person.call("GET", "/documents")).status_code == 200


async def test_the_server_default_cap_applies_to_rooms_without_their_own(
    sqlite_url: str,
) -> None:
    async with run_server(fast_settings(sqlite_url, max_participants_per_room=2)) as server:
        room = await server.create_room()
        fac = await join(server, room, Role.FACILITATOR, "Fay")
        assert (await fac.ok("GET", "/settings"))["settings"]["max_participants"] is None
        for name in ("A", "B"):
            assert (await post_join(server, room.invites[Role.MEMBER], name)).status_code == 200
        refused = await post_join(server, room.invites[Role.OBSERVER], "C")
        assert refused.status_code == 409 and error_of(refused) == "room_full"
        # A room's own setting wins over the default, upwards or to no cap at all.
        await fac.ok("PATCH", "/settings", {"max_participants": 0})
        assert (await post_join(server, room.invites[Role.OBSERVER], "C")).status_code == 200
        other = await server.create_room("Other")
        await join(server, other, Role.MEMBER, "X")
        await join(server, other, Role.MEMBER, "Y")
        assert (await post_join(server, other.invites[Role.MEMBER], "Z")).status_code == 409


async def test_concurrent_joins_cannot_pass_the_cap(database_url: str) -> None:
    async with run_server(fast_settings(database_url)) as server:
        room = await server.create_room()
        fac = await join(server, room, Role.FACILITATOR, "Fay")
        await fac.ok("PATCH", "/settings", {"max_participants": 10})
        responses = await asyncio.gather(
            *(post_join(server, room.invites[Role.MEMBER], f"P{i}") for i in range(30))
        )
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [200] * 10 + [409] * 20
        # Ten members and the facilitator.
        assert await count_participants(server, room) == 11


async def test_only_facilitators_set_the_cap_and_bad_values_are_refused(
    server: RunningServer,
) -> None:
    room = await server.create_room()
    fac = await join(server, room, Role.FACILITATOR, "Fay")
    ann = await join(server, room, Role.MEMBER, "Ann")
    obs = await join(server, room, Role.OBSERVER, "Obs")
    for person in (ann, obs):
        response = await person.call("PATCH", "/settings", {"max_participants": 1})
        assert response.status_code == 403 and error_of(response) == "forbidden", person.name
        settings = (await person.ok("GET", "/settings"))["settings"]
        assert settings["max_participants"] is None
    for bad in (-1, 100_001, "10", 2.5, True, [3]):
        response = await fac.call("PATCH", "/settings", {"max_participants": bad})
        assert response.status_code == 422, (bad, response.text)
        assert error_of(response) == "invalid_max_participants"
    # Other settings are kept when the cap changes, and the cap when they change.
    await fac.ok("PATCH", "/settings", {"observers_can_ask": True})
    await fac.ok("PATCH", "/settings", {"max_participants": 25})
    data = await fac.ok("PATCH", "/settings", {"post_first_questions": True})
    assert data["settings"] == {
        "observers_can_ask": True,
        "post_first_questions": True,
        "max_participants": 25,
        "guests_allowed": True,
    }
    # The room state a client reads on arrival carries it too.
    assert (await room_state(ann))["settings"]["max_participants"] == 25


# ----------------------------------------------------------------- join limits


def limited(url: str, per_invite: int, per_address: int) -> Any:
    return run_server(
        fast_settings(
            url,
            max_joins_per_invite_per_minute=per_invite,
            max_joins_per_address_per_minute=per_address,
        )
    )


def assert_too_many_joins(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert error["code"] == "too_many_joins"
    assert "minute" in error["message"]
    assert 1 <= int(response.headers["retry-after"]) <= 60


async def test_the_join_past_the_invite_limit_gets_429_and_other_invites_go_on(
    sqlite_url: str,
) -> None:
    async with limited(sqlite_url, per_invite=3, per_address=0) as server:
        room = await server.create_room()
        member = room.invites[Role.MEMBER]
        for i in range(3):
            assert (await post_join(server, member, f"M{i}")).status_code == 200
        before = await count_participants(server, room)
        assert_too_many_joins(await post_join(server, member, "M3"))
        # The invite is limited wherever its joins come from.
        assert_too_many_joins(await post_join(server, member, "M3", OTHER_ADDRESS))
        assert await count_participants(server, room) == before
        # Another invite of the room, or of another room, is not affected.
        observer = await post_join(server, room.invites[Role.OBSERVER], "Obs")
        assert observer.status_code == 200
        other = await server.create_room("Other")
        assert (await post_join(server, other.invites[Role.MEMBER], "X")).status_code == 200
        # A rotated invite starts afresh.
        fac = await join(server, room, Role.FACILITATOR, "Fay")
        new = (await fac.ok("POST", "/invites/member/rotate"))["code"]
        assert (await post_join(server, new, "M3")).status_code == 200


async def test_the_join_past_the_address_limit_gets_429_and_other_addresses_go_on(
    sqlite_url: str,
) -> None:
    async with limited(sqlite_url, per_invite=0, per_address=4) as server:
        room = await server.create_room()
        invites = [room.invites[Role.MEMBER], room.invites[Role.OBSERVER]]
        for i in range(4):
            response = await post_join(server, invites[i % 2], f"P{i}")
            assert response.status_code == 200, response.text
        before = await count_participants(server, room)
        # Any invite, even an unknown one: attempts from the address are counted.
        for invite in (*invites, room.invites[Role.FACILITATOR], "no-such-invite"):
            assert_too_many_joins(await post_join(server, invite, "Late"))
        assert await count_participants(server, room) == before
        for i in range(4):
            response = await post_join(server, invites[i % 2], f"Q{i}", OTHER_ADDRESS)
            assert response.status_code == 200, response.text
        assert_too_many_joins(await post_join(server, invites[0], "Q4", OTHER_ADDRESS))


async def test_unknown_invites_count_against_the_address(sqlite_url: str) -> None:
    async with limited(sqlite_url, per_invite=0, per_address=3) as server:
        room = await server.create_room()
        for guess in ("guess-1", "guess-2", "guess-3"):
            response = await post_join(server, guess, "Eve")
            assert response.status_code == 404 and error_of(response) == "unknown_invite"
        assert_too_many_joins(await post_join(server, room.invites[Role.MEMBER], "Eve"))


async def test_the_default_limits_let_a_cohort_of_200_join_from_one_address(
    sqlite_url: str,
) -> None:
    async with run_server(fast_settings(sqlite_url)) as server:
        assert server.settings.max_joins_per_address_per_minute >= 200
        room = await server.create_room()
        invite = room.invites[Role.MEMBER]
        async with client(server) as http:
            # Twenty at a time, as people clicking Join in the same minute do.
            gate = asyncio.Semaphore(20)

            async def one(i: int) -> int:
                async with gate:
                    body = {"invite": invite, "name": f"P{i}"}
                    return (await http.post("/api/join", json=body)).status_code

            statuses = await asyncio.gather(*(one(i) for i in range(200)))
        assert statuses == [200] * 200
        assert await count_participants(server, room) == 200


def test_a_sliding_window_counts_per_key_and_says_how_long_to_wait() -> None:
    window = SlidingWindow(2)
    t0 = 1000.0
    assert window.wait("a", t0) == 0
    assert window.hit("a", t0) and window.hit("a", t0 + 10)
    assert not window.hit("a", t0 + 20)
    assert window.wait("a", t0 + 20) == pytest.approx(40)
    # Refused actions are not counted: the first one leaving the window frees a place.
    assert window.hit("a", t0 + 60)
    assert window.wait("a", t0 + 60) == pytest.approx(10)
    assert window.hit("b", t0 + 20)
    assert SlidingWindow(0).wait("a", t0) == 0
    assert all(SlidingWindow(0).hit("a", t0) for _ in range(1000))


def test_join_limits_refuse_with_the_longer_wait_and_count_nothing_when_refusing() -> None:
    limits = JoinLimits(per_invite=2, per_address=3)
    t0 = 50.0
    assert limits.admit("code", "10.0.0.1", t0) is None
    assert limits.admit("code", "10.0.0.2", t0 + 15) is None
    refusal = limits.admit("code", "10.0.0.1", t0 + 30)
    assert refusal is not None
    assert refusal.retry_after == 30
    assert "with this invite" in refusal.message
    # The refused attempt was not counted against 10.0.0.1: two more pass there.
    assert limits.admit("other", "10.0.0.1", t0 + 31) is None
    assert limits.admit("third", "10.0.0.1", t0 + 32) is None
    refusal = limits.admit("fourth", "10.0.0.1", t0 + 33)
    assert refusal is not None and "from this address" in refusal.message
    assert refusal.retry_after == math.ceil(t0 + 60 - (t0 + 33))
    # Strings too long to be codes are not counted per invite, only per address.
    junk = "x" * 10_000
    assert limits.admit(junk, "10.0.0.9", t0) is None
    assert limits.admit(junk, "10.0.0.9", t0) is None
    assert limits.admit(junk, "10.0.0.9", t0) is None
    assert limits.admit(None, "10.0.0.8", t0) is None
    assert limits.admit(junk, "10.0.0.9", t0) is not None


# ------------------------------------------------------------------ pagination


async def add_people(server: RunningServer, room: CreatedRoom, count: int) -> list[dict[str, Any]]:
    """``count`` members who joined an hour ago, in groups of ten sharing one timestamp
    (as a burst of joins on a coarse clock would), with ids in no particular order;
    returned in order of joining (time, then id)."""
    base = datetime.now(UTC) - timedelta(hours=1)
    rows = [
        {
            "id": f"{(i * 7919) % 10_007:05d}-{i:04d}",
            "room_id": room.room.id,
            "name": f"Person {i}",
            "role": Role.MEMBER.value,
            "created_at": base + timedelta(milliseconds=i // 10),
        }
        for i in range(count)
    ]
    async with server.app_state.store.engine.begin() as connection:
        await connection.execute(insert(ParticipantRow), rows)
    return sorted(rows, key=lambda r: (r["created_at"], r["id"]))


async def walk(person: Person, limit: int | None) -> tuple[list[dict[str, Any]], int]:
    """Every participant, page by page; and the number of pages."""
    seen: list[dict[str, Any]] = []
    after: str | None = None
    pages = 0
    while True:
        params = {} if limit is None else {"limit": str(limit)}
        if after is not None:
            params["after"] = after
        async with person.client() as http:
            response = await http.get("/participants", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        pages += 1
        seen += page["participants"]
        after = page["next_after"]
        if after is None:
            return seen, pages
        assert after == page["participants"][-1]["id"]


async def test_walking_the_participants_pages_gives_everyone_once_in_order(
    database_url: str,
) -> None:
    async with run_server(fast_settings(database_url)) as server:
        room = await server.create_room()
        fac = await join(server, room, Role.FACILITATOR, "Fay")
        rows = await add_people(server, room, 249)
        expected = [
            {"id": r["id"], "name": r["name"], "role": "member", "guest": True} for r in rows
        ]
        # The facilitator joined last, just now.
        expected.append({"id": fac.id, "name": "Fay", "role": "facilitator", "guest": True})

        seen, pages = await walk(fac, None)
        assert seen == expected and pages == 3
        seen, pages = await walk(fac, 500)
        assert seen == expected and pages == 1
        seen, pages = await walk(fac, 7)
        assert seen == expected and pages == math.ceil(250 / 7)
        seen, pages = await walk(fac, 50)
        assert seen == expected and pages == 6  # the last page is empty

        # Removals and joins between two pages neither repeat nor skip anyone else; the
        # last participant of a page still marks the place once removed.
        first = await fac.ok("GET", "/participants?limit=100")
        assert first["participants"] == expected[:100]
        cursor = first["next_after"]
        gone = [expected[99], expected[100], expected[150]]
        for person in gone:
            await fac.ok("DELETE", f"/participants/{person['id']}", status=204)
        newcomer = await join(server, room, Role.MEMBER, "Newcomer")
        rest: list[dict[str, Any]] = []
        after = cursor
        while after is not None:
            page = await fac.ok("GET", f"/participants?limit=100&after={after}")
            rest += page["participants"]
            after = page["next_after"]
        assert rest == [p for p in expected[100:] if p not in gone] + [
            {"id": newcomer.id, "name": "Newcomer", "role": "member", "guest": True}
        ]


async def test_participants_pages_refuse_bad_queries(server: RunningServer) -> None:
    room = await server.create_room()
    other = await server.create_room("Other")
    fac = await join(server, room, Role.FACILITATOR, "Fay")
    stranger = await join(server, other, Role.MEMBER, "Stranger")
    for query in (
        "limit=0",
        "limit=501",
        "limit=ten",
        "after=nobody",
        f"after={stranger.id}",
    ):
        response = await fac.call("GET", f"/participants?{query}")
        assert response.status_code == 400, (query, response.text)
        assert error_of(response) == "invalid_query"
    page = await fac.ok("GET", "/participants")
    assert page == {
        "participants": [{"id": fac.id, "name": "Fay", "role": "facilitator", "guest": True}],
        "next_after": None,
    }
