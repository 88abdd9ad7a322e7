"""The room event socket ``/events/{room}?token=...&after=SEQ``, end to end.

Real servers (uvicorn in the test's loop) and real WebSocket clients: refusals and
their close codes, the client's own messages (ping, and what is refused), ``ready``,
live events rendered for each reader, catch-up after a reconnect (rendered with the
current state), ``resync``, two servers sharing PostgreSQL and Redis, and a client
that stops reading.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

import server.sockets.events as events_endpoint
from rooms.directory import CreatedRoom
from rooms.live.peer import CloseCode
from rooms.ports import StoreError
from rooms.records import Participant, Room
from rooms.roles import Role
from rooms.threads import Thread
from server.redis_broker import RedisBroker
from server.tokens import TokenSigner
from tests.support.harness import RunningServer, run_server
from tests.support.settings import fast_settings
from tests.support.threads_client import EventFeed, Person, events_url, join, open_events
from tests.support.timing import eventually, timeout

# One signing key for both servers of a test: a token issued by one works on the other.
SECRET = "event-socket-test-secret-key-0123456789abcdef0123456789"


# ------------------------------------------------------------------ clients


@dataclass
class Socket:
    """One raw connection to ``/events``: every message it got, and how it closed."""

    ws: ClientConnection
    feed: EventFeed
    reader: asyncio.Task[None]

    @property
    def messages(self) -> list[dict[str, Any]]:
        """What the server sent, without roster updates (presence is not tested here)."""
        return [m for m in self.feed.messages if m["type"] != "roster"]

    def seqs(self) -> list[int]:
        return [m["seq"] for m in self.feed.events()]

    async def send(self, message: str | bytes) -> None:
        await self.ws.send(message)

    async def ping(self) -> None:
        """Send a ping and wait for its pong."""
        pongs = sum(1 for m in self.messages if m["type"] == "pong")
        await self.ws.send(json.dumps({"type": "ping"}))
        await eventually(
            lambda: sum(1 for m in self.messages if m["type"] == "pong") > pongs,
            what="a pong",
        )

    async def event(self, seq: int) -> dict[str, Any]:
        """The event numbered ``seq``, once it arrived."""
        return await self.feed.wait_for(lambda m: m.get("seq") == seq and "data" in m)

    async def ready(self) -> dict[str, Any]:
        return await self.feed.wait_for(lambda m: m["type"] in ("ready", "resync"))

    async def closed(self) -> tuple[int | None, str | None]:
        """Wait for the server to close the connection; its close code and reason."""
        await asyncio.wait_for(asyncio.shield(self.reader), timeout(5.0))
        return self.ws.close_code, self.ws.close_reason


@asynccontextmanager
async def open_socket(url: str, **options: Any) -> AsyncIterator[Socket]:
    """Connect without waiting for anything; read every message in the background."""
    async with open_events(url, **options) as connection:
        yield Socket(connection.ws, connection.feed, connection.reader)


@asynccontextmanager
async def live(url: str) -> AsyncIterator[Socket]:
    """Connect and wait for ``ready`` (or ``resync``)."""
    async with open_socket(url) as socket:
        await socket.ready()
        yield socket


async def refused(url: str) -> tuple[list[dict[str, Any]], int | None]:
    """The messages and close code of a connection the server refuses."""
    async with open_socket(url) as socket:
        code, _ = await socket.closed()
        return socket.messages, code


async def all_see(sockets: Iterable[Socket], seq: int) -> None:
    """Wait until every socket got the event numbered ``seq``."""
    for socket in sockets:
        await socket.event(seq)


@dataclass
class Cast:
    """A room with a facilitator, two members and an observer."""

    room: CreatedRoom
    fay: Person
    ann: Person
    bob: Person
    olga: Person

    @property
    def everyone(self) -> list[Person]:
        return [self.fay, self.ann, self.bob, self.olga]


async def cast(server: RunningServer, title: str = "Reading group") -> Cast:
    room = await server.create_room(title)
    return Cast(
        room,
        await join(server, room, Role.FACILITATOR, "Fay"),
        await join(server, room, Role.MEMBER, "Ann"),
        await join(server, room, Role.MEMBER, "Bob"),
        await join(server, room, Role.OBSERVER, "Olga"),
    )


def name_of(author: dict[str, Any] | None) -> str | None:
    return None if author is None else str(author["name"])


def forged_token(room: CreatedRoom) -> str:
    signer = TokenSigner("another-secret-that-is-long-enough-0123456789", 3600)
    now = datetime.now(UTC)
    participant = Participant("forger", room.room.id, "Mallory", Role.FACILITATOR, now)
    return signer.issue(participant, room.room)[0]


# ------------------------------------------------------------------ refusals


async def test_a_missing_or_forged_token_is_refused_with_4401(server: RunningServer) -> None:
    room = await server.create_room()
    base = f"ws://127.0.0.1:{server.port}/events/{room.room.slug}"
    for url in (base, f"{base}?token=", f"{base}?token=abc", f"{base}?token={forged_token(room)}"):
        messages, code = await refused(url)
        assert code == CloseCode.UNAUTHORIZED, url
        assert [m["type"] for m in messages] == ["error"], url
        assert messages[0]["message"], url


async def test_a_token_of_another_room_is_refused_with_4403(server: RunningServer) -> None:
    here = await server.create_room("Here")
    there = await server.create_room("There")
    ann = await join(server, here, Role.MEMBER, "Ann")
    messages, code = await refused(
        f"ws://127.0.0.1:{server.port}/events/{there.room.slug}?token={ann.token}"
    )
    assert code == CloseCode.FORBIDDEN
    assert messages == [{"type": "error", "message": "token is for another room"}]


async def test_an_unknown_room_is_refused_with_4404(server: RunningServer) -> None:
    now = datetime.now(UTC)
    ghost_room = Room(10**6, "no-such-room", "Nowhere", now)
    ghost = Participant("ghost", ghost_room.id, "Gus", Role.FACILITATOR, now)
    token, _ = server.app_state.signer.issue(ghost, ghost_room)
    messages, code = await refused(
        f"ws://127.0.0.1:{server.port}/events/no-such-room?token={token}"
    )
    assert code == CloseCode.NOT_FOUND
    assert messages == [{"type": "error", "message": "no such room"}]


async def test_an_after_that_is_not_a_sequence_number_is_refused_with_4400(
    server: RunningServer,
) -> None:
    room = await server.create_room()
    ann = await join(server, room, Role.MEMBER, "Ann")
    for after in ["abc", "-1", "", "1.5", "1e3", "+3", "0x10", "9" * 19]:
        messages, code = await refused(f"{events_url(server, ann)}&after={after}")
        assert code == CloseCode.BAD_REQUEST, after
        assert [m["type"] for m in messages] == ["error"], after


# ------------------------------------------------------------------ client messages


async def test_a_ping_gets_a_pong_and_the_connection_stays(server: RunningServer) -> None:
    room = await server.create_room()
    ann = await join(server, room, Role.MEMBER, "Ann")
    async with live(events_url(server, ann)) as socket:
        await socket.ping()
        await socket.ping()
        # The largest message a client may send is still answered.
        padded = json.dumps({"type": "ping", "pad": ""})
        padded = json.dumps({"type": "ping", "pad": "x" * (1024 - len(padded))})
        assert len(padded) == events_endpoint.MAX_CLIENT_MESSAGE
        await socket.send(padded)
        await eventually(lambda: sum(m["type"] == "pong" for m in socket.messages) == 3)
        assert [m["type"] for m in socket.messages] == ["ready", "pong", "pong", "pong"]
        assert socket.messages[1] == {"type": "pong"}
        assert not socket.reader.done()


BAD_MESSAGES: list[tuple[str | bytes, int]] = [
    (b'{"type":"ping"}', CloseCode.UNSUPPORTED_DATA),
    ("not json", CloseCode.BAD_REQUEST),
    ('{"type":"ping"', CloseCode.BAD_REQUEST),
    ('["ping"]', CloseCode.BAD_REQUEST),
    ('"ping"', CloseCode.BAD_REQUEST),
    ("{}", CloseCode.BAD_REQUEST),
    ('{"type":"pong"}', CloseCode.BAD_REQUEST),
    ('{"type":"subscribe","room":"x"}', CloseCode.BAD_REQUEST),
    (json.dumps({"type": "ping", "pad": "x" * 1024}), CloseCode.MESSAGE_TOO_BIG),
]


async def test_a_bad_client_message_closes_only_that_connection(server: RunningServer) -> None:
    people = await cast(server)
    async with live(events_url(server, people.bob)) as bystander:
        for seq, (message, code) in enumerate(BAD_MESSAGES, start=1):
            async with live(events_url(server, people.ann)) as socket:
                await socket.send(message)
                closed_with, _ = await socket.closed()
                assert closed_with == code, message
                assert [m["type"] for m in socket.messages] == ["ready"], message
            # Bob's connection is untouched: it answers pings and gets the next event.
            await bystander.ping()
            thread = await people.fay.start(f"Still here? ({seq})")
            event = await bystander.event(seq)
            assert event["type"] == "thread.created"
            assert event["data"]["thread"]["id"] == thread["id"]
        assert bystander.seqs() == list(range(1, len(BAD_MESSAGES) + 1))
        assert not bystander.reader.done()


# ------------------------------------------------------------------ ready


async def test_a_fresh_connection_is_ready_at_the_latest_seq(server: RunningServer) -> None:
    people = await cast(server)
    async with live(events_url(server, people.ann)) as empty:
        assert empty.messages == [{"type": "ready", "seq": 0}]
    for n in range(3):
        await people.fay.start(f"Topic {n}")
    for person in people.everyone:
        async with live(events_url(server, person)) as socket:
            assert socket.messages == [{"type": "ready", "seq": 3}], person.name
    # Another room's events do not count.
    other = await cast(server, "Elsewhere")
    await other.fay.start("Hello")
    async with live(events_url(server, people.bob)) as socket:
        assert socket.messages == [{"type": "ready", "seq": 3}]


# ------------------------------------------------------------------ live


async def test_every_change_reaches_everyone_in_order_rendered_for_each(
    server: RunningServer,
) -> None:
    people = await cast(server)
    fay, ann, bob, olga = people.everyone
    async with (
        live(events_url(server, fay)) as fay_s,
        live(events_url(server, ann)) as ann_s,
        live(events_url(server, bob)) as bob_s,
        live(events_url(server, olga)) as olga_s,
    ):
        sockets = {"Fay": fay_s, "Ann": ann_s, "Bob": bob_s, "Olga": olga_s}

        async def seen(seq: int, type: str) -> dict[str, dict[str, Any]]:
            """Everyone's copy of event ``seq``, keyed by name."""
            await all_see(sockets.values(), seq)
            copies = {name: await s.event(seq) for name, s in sockets.items()}
            for name, copy in copies.items():
                assert copy["type"] == type, (name, copy)
            return copies

        # 1. Ann asks anonymously: only Fay and Ann (the asker) see who asked.
        question = await ann.start("Why is the sky blue?", kind="question", anonymous=True)
        assert question["post_first"] is False
        for name, copy in (await seen(1, "thread.created")).items():
            assert copy["data"]["thread"]["id"] == question["id"]
            asker = "Ann" if name in ("Fay", "Ann") else None
            assert name_of(copy["data"]["thread"]["author"]) == asker, name
        # 2. Fay resolves it.
        await fay.ok("PATCH", f"/threads/{question['id']}", {"status": "resolved"})
        for copy in (await seen(2, "thread.updated")).values():
            assert copy["data"]["thread"]["status"] == "resolved"
        # 3. Fay makes new questions post-first.
        await fay.ok("PATCH", "/settings", {"post_first_questions": True})
        settings = await seen(3, "settings.updated")
        for copy in settings.values():
            assert copy["data"] == {
                "observers_can_ask": False,
                "post_first_questions": True,
                "max_participants": None,
                "guests_allowed": True,
            }
        # 4. Ann asks another, anonymous and (by the room's setting) post-first.
        post_first = await ann.start("Why is grass green?", kind="question", anonymous=True)
        assert post_first["post_first"] is True
        created = await seen(4, "thread.created")
        for name, copy in created.items():
            thread = copy["data"]["thread"]
            assert set(copy["data"]) == {"thread"}
            assert thread["id"] == post_first["id"]
            assert thread["anonymous"] and thread["post_first"]
            asker = "Ann" if name in ("Fay", "Ann") else None
            assert name_of(thread["author"]) == asker, name
            assert name_of(thread["comments"][0]["author"]) == asker, name
            assert thread["comments"][0]["body"] == "Why is grass green?"
            assert thread["mine"] is (name == "Ann")
        opening_id = post_first["comments"][0]["id"]

        # 5. Fay answers: withheld from Bob (a member who has not answered), not from
        #    the asker, the facilitator or the observer.
        answer = (await fay.reply(post_first["id"], "Chlorophyll"))["comment"]
        replied = await seen(5, "comment.created")
        for name, copy in replied.items():
            comment = copy["data"]["comment"]
            assert comment["id"] == answer["id"]
            if name == "Bob":
                assert comment["state"] == "withheld"
                assert comment["body"] is None and comment["author"] is None
                assert copy["data"]["thread"]["withheld_count"] == 1
            else:
                assert comment["state"] == "visible"
                assert comment["body"] == "Chlorophyll"
                assert name_of(comment["author"]) == "Fay"
                assert copy["data"]["thread"]["withheld_count"] == 0
            assert copy["data"]["thread"]["reply_count"] == 1
            # Only the author of a reply gets the whole thread with it.
            assert ("comments" in copy["data"]["thread"]) is (name == "Fay"), name

        # 6. Fay edits her answer.
        await fay.ok("PATCH", f"/comments/{answer['id']}", {"body": "Chlorophyll, mostly"})
        edited = await seen(6, "comment.updated")
        assert edited["Bob"]["data"]["comment"]["state"] == "withheld"
        assert edited["Bob"]["data"]["comment"]["body"] is None
        for name in ("Fay", "Ann", "Olga"):
            comment = edited[name]["data"]["comment"]
            assert comment["body"] == "Chlorophyll, mostly", name
            assert comment["edited_at"] is not None, name

        # 7. Bob reacts to the question.
        await bob.ok("PUT", f"/comments/{opening_id}/reactions/curious")
        reacted = await seen(7, "comment.updated")
        for name, copy in reacted.items():
            comment = copy["data"]["comment"]
            assert comment["id"] == opening_id
            assert comment["reactions"] == {"curious": {"count": 1, "mine": name == "Bob"}}
            assert comment["by_asker"] is True
            assert name_of(comment["author"]) == ("Ann" if name in ("Fay", "Ann") else None)

        # 8. Bob answers: his own reply brings him the whole thread, Fay's answer included.
        bobs = (await bob.reply(post_first["id"], "Because of the light"))["comment"]
        second = await seen(8, "comment.created")
        bob_thread = second["Bob"]["data"]["thread"]
        assert [c["body"] for c in bob_thread["comments"]] == [
            "Why is grass green?",
            "Chlorophyll, mostly",
            "Because of the light",
        ]
        assert bob_thread["withheld_count"] == 0
        for name in ("Fay", "Ann", "Olga"):
            assert "comments" not in second[name]["data"]["thread"]
            assert second[name]["data"]["comment"]["body"] == "Because of the light"

        # 9. Fay hides Bob's answer: its body stays with Fay and Bob only.
        await fay.ok("POST", f"/comments/{bobs['id']}/moderation", {"action": "hide"})
        hidden = await seen(9, "comment.updated")
        for name, copy in hidden.items():
            comment = copy["data"]["comment"]
            assert comment["state"] == "hidden", name
            expected = "Because of the light" if name in ("Fay", "Bob") else None
            assert comment["body"] == expected, name

        # 10. Fay deletes her answer: no body for anyone.
        await fay.ok("DELETE", f"/comments/{answer['id']}")
        deleted = await seen(10, "comment.updated")
        for name, copy in deleted.items():
            comment = copy["data"]["comment"]
            assert comment["id"] == answer["id"]
            assert comment["state"] == "deleted" and comment["body"] is None, name

        # 11. Fay locks the thread.
        await fay.ok("PATCH", f"/threads/{post_first['id']}", {"locked": True})
        locked = await seen(11, "thread.updated")
        for name, copy in locked.items():
            assert set(copy["data"]) == {"thread"}
            thread = copy["data"]["thread"]
            assert thread["id"] == post_first["id"] and thread["locked"] is True
            assert name_of(thread["author"]) == ("Ann" if name in ("Fay", "Ann") else None)

        # Everyone got every event once, numbered 1..11, after "ready" at 0.
        for name, socket in sockets.items():
            assert socket.messages[0] == {"type": "ready", "seq": 0}, name
            assert socket.seqs() == list(range(1, 12)), name
            assert [m["type"] for m in socket.messages if "data" in m] == [
                "thread.created",
                "thread.updated",
                "settings.updated",
                "thread.created",
                "comment.created",
                "comment.updated",
                "comment.updated",
                "comment.created",
                "comment.updated",
                "comment.updated",
                "thread.updated",
            ], name


# ------------------------------------------------------------------ catch-up


async def changes_while_away(people: Cast, thread_id: int) -> dict[str, int]:
    """Five changes: Bob replies, edits and deletes his reply; Fay starts a thread and
    resolves the first. Returns the ids involved."""
    reply = (await people.bob.reply(thread_id, "First draft"))["comment"]
    await people.bob.ok("PATCH", f"/comments/{reply['id']}", {"body": "Second draft"})
    await people.bob.ok("DELETE", f"/comments/{reply['id']}")
    other = await people.fay.start("Another topic")
    await people.fay.ok("PATCH", f"/threads/{thread_id}", {"status": "resolved"})
    return {"reply": reply["id"], "other": other["id"]}


def check_caught_up(socket: Socket, last: int, thread_id: int, ids: dict[str, int]) -> None:
    """The five missed events, in order, with the current state, then ``ready``."""
    missed = socket.messages[: socket.messages.index({"type": "ready", "seq": last + 5})]
    assert [m["seq"] for m in missed] == list(range(last + 1, last + 6))
    assert [m["type"] for m in missed] == [
        "comment.created",
        "comment.updated",
        "comment.updated",
        "thread.created",
        "thread.updated",
    ]
    for event in missed[:3]:
        comment = event["data"]["comment"]
        assert comment["id"] == ids["reply"]
        # Deleted while Ann was away: even its creation is replayed without a body.
        assert comment["state"] == "deleted", event
        assert comment["body"] is None, event
    for event in (*missed[:3], missed[4]):
        assert event["data"]["thread"]["id"] == thread_id
        assert event["data"]["thread"]["status"] == "resolved", event
    assert missed[3]["data"]["thread"]["id"] == ids["other"]


async def test_a_reconnecting_client_gets_what_it_missed_then_ready(
    server: RunningServer,
) -> None:
    people = await cast(server)
    async with live(events_url(server, people.ann)) as socket:
        thread = await people.fay.start("Shall we begin?")
        last = (await socket.event(1))["seq"]
    ids = await changes_while_away(people, thread["id"])
    async with live(events_url(server, people.ann, after=last)) as socket:
        check_caught_up(socket, last, thread["id"], ids)
        # Then live, numbered on.
        await people.fay.start("And now?")
        assert (await socket.event(last + 6))["type"] == "thread.created"
        assert socket.seqs() == list(range(last + 1, last + 7))


async def test_catch_up_renders_the_current_state_even_when_others_watched_live(
    server: RunningServer,
) -> None:
    # Same as above, but Bob watches while Ann is away, so the server renders each
    # event live (for Bob) before Ann asks for it again.
    people = await cast(server)
    async with live(events_url(server, people.ann)) as socket:
        thread = await people.fay.start("Shall we begin?")
        last = (await socket.event(1))["seq"]
    async with live(events_url(server, people.fay)) as watcher:
        ids = await changes_while_away(people, thread["id"])
        await all_see([watcher], last + 5)
        async with live(events_url(server, people.ann, after=last)) as socket:
            check_caught_up(socket, last, thread["id"], ids)


async def test_a_failed_render_sends_ids_and_is_not_remembered(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = await cast(server)
    thread = await people.fay.start("Shall we begin?")
    threads = server.app_state.threads
    real_load = threads.load_thread
    failures = [StoreError("the database blinked")]

    async def flaky_load(thread_id: int) -> Thread | None:
        if failures:
            raise failures.pop()
        return await real_load(thread_id)

    monkeypatch.setattr(threads, "load_thread", flaky_load)
    async with open_socket(events_url(server, people.ann, after=0)) as socket:
        # Reading the thread failed: the event still comes, with its ids only.
        await eventually(
            lambda: {"type": "ready", "seq": 1} in socket.messages, what="ready after event 1"
        )
        assert socket.seqs() == [1]
        assert socket.messages[0]["data"] == {"thread_id": thread["id"]}
    assert not failures
    # Storage is fine again: a new connection gets event 1, read afresh.
    async with open_socket(events_url(server, people.ann, after=0)) as socket:
        await eventually(
            lambda: socket.reader.done() or {"type": "ready", "seq": 1} in socket.messages,
            what="ready, or the connection to end",
        )
        assert socket.seqs() == [1], socket.messages
        assert socket.messages[0]["data"]["thread"]["id"] == thread["id"]
        assert socket.messages[-1] == {"type": "ready", "seq": 1}


async def test_after_the_latest_seq_is_ready_at_once_with_nothing_replayed(
    server: RunningServer,
) -> None:
    people = await cast(server)
    for n in range(3):
        await people.fay.start(f"Topic {n}")
    async with live(events_url(server, people.ann, after=3)) as socket:
        assert socket.messages == [{"type": "ready", "seq": 3}]
        await people.fay.start("Topic 3")
        assert (await socket.event(4))["type"] == "thread.created"
        assert socket.seqs() == [4]
    # after=0 on a room with events is an ordinary catch-up from the start.
    async with live(events_url(server, people.ann, after=0)) as socket:
        assert socket.seqs() == [1, 2, 3, 4]
        assert socket.messages[-1] == {"type": "ready", "seq": 4}


async def test_an_after_beyond_the_latest_seq_asks_for_a_resync(server: RunningServer) -> None:
    people = await cast(server)
    async with live(events_url(server, people.ann, after=1)) as socket:
        # Nothing happened in the room yet: seq 1 is unknown here.
        assert socket.messages == [{"type": "resync", "seq": 0}]
    for n in range(2):
        await people.fay.start(f"Topic {n}")
    async with live(events_url(server, people.ann, after=7)) as socket:
        assert socket.messages == [{"type": "resync", "seq": 2}]
        # The connection goes on live from the seq it was told.
        await people.fay.start("Topic 2")
        assert (await socket.event(3))["type"] == "thread.created"
        assert socket.seqs() == [3]


async def test_missing_more_than_max_catch_up_asks_for_a_resync(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(events_endpoint, "MAX_CATCH_UP", 3)
    people = await cast(server)
    for n in range(5):
        await people.fay.start(f"Topic {n}")
    async with live(events_url(server, people.ann, after=1)) as socket:
        # Four missed, three allowed: no partial replay, a resync at the latest.
        assert socket.messages == [{"type": "resync", "seq": 5}]
        await people.fay.start("Topic 5")
        assert (await socket.event(6))["type"] == "thread.created"
        assert socket.seqs() == [6]
    async with live(events_url(server, people.ann, after=3)) as socket:
        # Exactly MAX_CATCH_UP missed (4, 5, 6) is still caught up.
        assert socket.seqs() == [4, 5, 6]
        assert socket.messages[-1] == {"type": "ready", "seq": 6}


# ------------------------------------------------------------------ two servers


def on(server: RunningServer, person: Person) -> Person:
    """``person`` talking to ``server``'s HTTP API (tokens work on every server)."""
    return replace(person, http=server.http)


def connected(server: RunningServer) -> bool:
    broker = server.app_state.hub.broker
    assert isinstance(broker, RedisBroker)
    return broker.connected.is_set()


@pytest.mark.redis
@pytest.mark.postgres
async def test_events_cross_servers_in_order_and_catch_up_on_the_other(
    postgres_url: str, redis_url: str
) -> None:
    settings = fast_settings(
        postgres_url,
        redis_url=redis_url,
        redis_prefix="rt-test-" + uuid.uuid4().hex,
        secret_key=SECRET,
    )
    async with run_server(settings) as a, run_server(settings) as b:
        await eventually(lambda: connected(a) and connected(b), 10, "both servers on Redis")
        people = await cast(a)
        fay_a, ann_a = people.fay, people.ann
        fay_b, bob_b = on(b, people.fay), on(b, people.bob)
        async with (
            live(events_url(a, people.ann)) as ann_s,
            live(events_url(b, people.bob)) as bob_s,
        ):
            assert ann_s.messages == bob_s.messages == [{"type": "ready", "seq": 0}]
            both = [ann_s, bob_s]
            # Changes alternate between the two servers' HTTP APIs.
            thread = await bob_b.start("Made on B")  # 1
            await all_see(both, 1)
            first = (await fay_a.reply(thread["id"], "Answered on A"))["comment"]  # 2
            await all_see(both, 2)
            await fay_b.ok("PATCH", f"/comments/{first['id']}", {"body": "Edited on B"})  # 3
            await all_see(both, 3)
            await ann_a.ok("PUT", f"/comments/{first['id']}/reactions/thanks")  # 4
            await all_see(both, 4)
            await fay_b.ok("PATCH", "/settings", {"observers_can_ask": True})  # 5
            await all_see(both, 5)
            for socket in both:
                assert socket.seqs() == [1, 2, 3, 4, 5]
                assert [m["type"] for m in socket.feed.events()] == [
                    "thread.created",
                    "comment.created",
                    "comment.updated",
                    "comment.updated",
                    "settings.updated",
                ]
            # Rendered for each reader, on each server.
            assert (await ann_s.event(4))["data"]["comment"]["reactions"] == {
                "thanks": {"count": 1, "mine": True}
            }
            assert (await bob_s.event(4))["data"]["comment"]["reactions"] == {
                "thanks": {"count": 1, "mine": False}
            }
            assert (await ann_s.event(3))["data"]["comment"]["body"] == "Edited on B"
            last = ann_s.seqs()[-1]

        # Ann leaves server A; three changes happen on B; she comes back on B.
        second = (await bob_b.reply(thread["id"], "Gone soon"))["comment"]  # 6
        await bob_b.ok("DELETE", f"/comments/{second['id']}")  # 7
        await fay_b.ok("PATCH", f"/threads/{thread['id']}", {"status": "resolved"})  # 8
        async with live(events_url(b, people.ann, after=last)) as socket:
            assert socket.seqs() == [6, 7, 8]
            assert socket.messages[-1] == {"type": "ready", "seq": 8}
            assert [m["type"] for m in socket.feed.events()] == [
                "comment.created",
                "comment.updated",
                "thread.updated",
            ]
            assert (await socket.event(6))["data"]["comment"]["state"] == "deleted"
            assert (await socket.event(8))["data"]["thread"]["status"] == "resolved"
            # And live again, from A's API this time.
            await fay_a.start("Back on A")
            assert (await socket.event(9))["type"] == "thread.created"
            assert socket.seqs() == [6, 7, 8, 9]


# ------------------------------------------------------------------ slow reader


async def test_a_client_that_stops_reading_is_dropped_with_1013(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(events_endpoint, "MAX_PENDING", 2)
    caplog.set_level(logging.WARNING, logger="roundtable.events")
    people = await cast(server)
    room_id = people.room.room.id
    # max_queue=1: the client library stops reading the socket once one message waits,
    # so the kernel buffers fill, then the server's send blocks, then its queue grows.
    async with (
        live(events_url(server, people.bob)) as reader,
        open_socket(
            events_url(server, people.ann), max_queue=1, max_size=None, compression=None
        ) as stalled,
    ):
        await stalled.ready()
        stalled.reader.cancel()  # stop reading: nothing is taken off the socket now
        pad = "x" * 256_000
        published = 0
        while not any("not reading" in r.getMessage() for r in caplog.records):
            assert published < 200, "the server never noticed that Ann stopped reading"
            await server.app_state.events.publish(room_id, "test.padding", {"pad": pad})
            published += 1
        # Bob, who reads, got everything and stays.
        await reader.event(published)
        assert reader.seqs() == list(range(1, published + 1))
        await reader.ping()
        # Ann, reading again, gets a gapless prefix of the events, then 1013.
        seqs: list[int] = []
        async with asyncio.timeout(timeout(5.0)):
            with contextlib.suppress(ConnectionClosed):
                async for raw in stalled.ws:
                    message = json.loads(raw)
                    if "data" in message:
                        seqs.append(message["seq"])
        assert stalled.ws.close_code == CloseCode.TRY_AGAIN_LATER
        assert stalled.ws.close_reason == "too many unread events"
        assert seqs == list(range(1, len(seqs) + 1))
        assert len(seqs) < published
