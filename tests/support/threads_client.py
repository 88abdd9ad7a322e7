"""A participant talking to the threads API and the room event socket, for tests."""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from rooms.directory import CreatedRoom
from rooms.roles import Role
from tests.support.harness import RunningServer
from tests.support.timing import timeout

# Building an SSL context costs about 30 ms, and httpx builds one per client unless
# given one, even for the plain-HTTP test servers.
_TLS = ssl.create_default_context()


@dataclass
class Person:
    """One participant with their own token; ``api`` sends it as a Bearer token."""

    http: str
    room: str
    token: str
    id: str
    name: str
    role: Role

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            verify=_TLS,
            base_url=f"{self.http}/api/rooms/{self.room}",
            headers={"authorization": f"Bearer {self.token}"},
        )

    async def call(self, method: str, path: str, body: Any = None) -> httpx.Response:
        async with self.client() as client:
            if body is None:
                return await client.request(method, path)
            return await client.request(method, path, json=body)

    async def ok(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        response = await self.call(method, path, body)
        assert response.status_code == status, (response.status_code, response.text)
        return response.json() if response.content else None

    async def start(self, body: str = "What does this mean?", **fields: Any) -> dict[str, Any]:
        data = await self.ok("POST", "/threads", {"body": body, **fields}, status=201)
        thread: dict[str, Any] = data["thread"]
        return thread

    async def reply(self, thread_id: int, body: str = "Here is how I see it") -> dict[str, Any]:
        data: dict[str, Any] = await self.ok(
            "POST", f"/threads/{thread_id}/comments", {"body": body}, status=201
        )
        return data

    async def thread(self, thread_id: int) -> dict[str, Any]:
        thread: dict[str, Any] = (await self.ok("GET", f"/threads/{thread_id}"))["thread"]
        return thread


async def join(server: RunningServer, room: CreatedRoom, role: Role, name: str) -> Person:
    async with httpx.AsyncClient(base_url=server.http) as client:
        response = await client.post("/api/join", json={"invite": room.invites[role], "name": name})
    response.raise_for_status()
    body = response.json()
    return Person(server.http, room.room.slug, body["token"], body["participant"]["id"], name, role)


@dataclass
class EventFeed:
    """Messages from ``/events/{room}``, collected as they arrive.

    Its reader hands it every frame (:meth:`take`); a frame that is no room message (a
    binary frame, text that is not a JSON object with a ``type``) is the reader's
    failure, which :meth:`wait_for`, :meth:`events` and :meth:`check` raise from then on.
    """

    messages: list[dict[str, Any]] = field(default_factory=list)
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)
    failure: BaseException | None = None

    def events(self) -> list[dict[str, Any]]:
        self.check()
        return [m for m in self.messages if "seq" in m and m["type"] not in ("ready", "resync")]

    def check(self) -> None:
        """Raise the reader's failure, if it had one."""
        if self.failure is not None:
            raise AssertionError(
                f"the event socket's reader failed: {self.failure!r}"
            ) from self.failure

    async def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool], seconds: float = 5.0
    ) -> dict[str, Any]:
        async def look() -> dict[str, Any]:
            while True:
                self.check()
                for message in self.messages:
                    if predicate(message):
                        return message
                self._arrived.clear()
                await self._arrived.wait()

        return await asyncio.wait_for(look(), timeout(seconds))

    def _add(self, message: dict[str, Any]) -> None:
        self.messages.append(message)
        self._arrived.set()

    def _fail(self, exc: BaseException) -> None:
        if self.failure is None:
            self.failure = exc
        self._arrived.set()

    def take(self, raw: str | bytes) -> None:
        """Add one frame of the event socket, or fail if it is not a room message."""
        try:
            self._add(parse_event_message(raw))
        except AssertionError as exc:
            self._fail(exc)
            raise


def parse_event_message(raw: str | bytes) -> dict[str, Any]:
    """A frame of the event socket as its message: a JSON object with a string
    ``type``, in a text frame. Anything else fails the test."""
    if not isinstance(raw, str):
        raise AssertionError(f"a binary frame on the event socket: {raw[:80]!r}")
    try:
        message = json.loads(raw)
    except ValueError as exc:
        raise AssertionError(f"not JSON on the event socket: {raw[:80]!r} ({exc})") from exc
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise AssertionError(f"not a room message on the event socket: {raw[:80]!r}")
    return message


def events_url(server: RunningServer, person: Person, after: int | None = None) -> str:
    url = f"ws://127.0.0.1:{server.port}/events/{person.room}?token={person.token}"
    return url if after is None else f"{url}&after={after}"


@dataclass
class EventConnection:
    """One ``/events`` connection: the socket, what it received, and its reading task
    (done once the server closed it; awaiting it raises what the reader could not take,
    as :meth:`EventFeed.wait_for` does)."""

    ws: ClientConnection
    feed: EventFeed
    reader: asyncio.Task[None]


async def read_events(ws: ClientConnection, feed: EventFeed) -> None:
    """Add every message of ``ws`` to ``feed`` until the server closes the connection
    (with any code, which is no failure); raise on a frame that is not a room message."""
    with contextlib.suppress(ConnectionClosed):
        async for raw in ws:
            feed.take(raw)


@asynccontextmanager
async def open_events(url: str, **options: Any) -> AsyncIterator[EventConnection]:
    """Connect without waiting for anything; read every message in the background.

    When the block ends, a failure of the reader is raised (after what the block
    raised, if anything)."""
    feed = EventFeed()
    async with connect(url, **options) as ws:
        reader = asyncio.create_task(read_events(ws, feed))
        try:
            yield EventConnection(ws, feed, reader)
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader


@asynccontextmanager
async def event_connection(
    url: str, first: tuple[str, ...] = ("ready", "resync")
) -> AsyncIterator[EventConnection]:
    """Connect, wait for a message of a type in ``first``, and collect messages until the
    block ends."""
    async with open_events(url) as connection:
        await connection.feed.wait_for(lambda m: m["type"] in first)
        yield connection


@asynccontextmanager
async def event_feed(url: str) -> AsyncIterator[EventFeed]:
    """Connect, wait for ``ready`` (or ``resync``), and collect messages until the block ends."""
    async with event_connection(url) as connection:
        yield connection.feed
