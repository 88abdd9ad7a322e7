"""PostgreSQL down for 10 s under a live editing session: the server stays up, loses nothing.

The test's own PostgreSQL server is crashed (``pg_ctl stop -m immediate``: every
connection dropped, no checkpoint) while clients keep typing, left down for
``OUTAGE_SECONDS`` and started again on the same port and data. During the outage the
server keeps relaying edits between connected clients, holds the edits it could not
store in memory and retries them with backoff, reports itself not ready on ``/ready``
(alive on ``/health``),
and answers what needs the database with a clear error: HTTP 503 ``storage_unavailable``
with ``Retry-After``, and close 1013 on a socket that cannot be admitted without it (one
to a document the process holds is admitted from memory). Once the
database is back, every edit is stored, and every client holds the same text.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from rooms.directory import CreatedRoom
from rooms.roles import Role
from server.outage import REASON
from tests.support.cluster import PostgresServer, close_all, converge, poll, text_of_stored
from tests.support.harness import RunningServer, run_server
from tests.support.settings import fast_settings
from tests.support.timing import eventually
from tests.support.yclient import YClient, open_synced

pytestmark = [pytest.mark.postgres]

OUTAGE_SECONDS = 10.0
"""How long the database stays down: the fault's length, not a wait for a condition."""
TYPING_INTERVAL = 0.1
DOCUMENTS = ("guide", "plan")
CLIENTS_PER_DOCUMENT = 5


class Typist:
    """A client that types unique markers at random marker boundaries until stopped."""

    def __init__(self, name: str, client: YClient, seed: int) -> None:
        self.name = name
        self.client = client
        self.typed: list[str] = []
        self._random = random.Random(seed)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._type())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def type_one(self) -> None:
        marker = f"[{self.name}.{len(self.typed)}]"
        text = str(self.client.text)
        # Between two markers, never inside one: each stays findable in the final text.
        boundaries = [0, *(i + 1 for i, c in enumerate(text) if c == "]")]
        self.client.insert(self._random.choice(boundaries), marker)
        self.typed.append(marker)

    async def _type(self) -> None:
        while True:
            self.type_one()
            await asyncio.sleep(TYPING_INTERVAL)  # the typing pace (load), not a wait


async def stored_texts(server: RunningServer, room: CreatedRoom) -> dict[str, str]:
    """Each document's text as the database holds it (nothing flushed first)."""
    store = server.app_state.store
    texts = {}
    for name in DOCUMENTS:
        info = await store.get_document(room.room.id, name)
        assert info is not None
        texts[name] = text_of_stored(await store.load_document(info.id))
    return texts


def typed_text(typist: Typist) -> Callable[[], str | None]:
    return lambda: str(typist.client.text)


def failed_flushes(server: RunningServer) -> int:
    return sum(d.writer.failures for d in server.app_state.hub.documents.values())


def live(server: RunningServer, room: CreatedRoom, name: str) -> Callable[[], str | None]:
    return lambda: server.live_text(room, name)


@pytest.fixture
async def typists() -> AsyncIterator[list[Typist]]:
    started: list[Typist] = []
    try:
        yield started
    finally:
        for typist in started:
            await typist.stop()
        await close_all(t.client for t in started)


async def test_postgres_down_for_ten_seconds_loses_no_edit(
    postgres_server: PostgresServer, typists: list[Typist]
) -> None:
    settings = fast_settings(postgres_server.url, flush_interval=0.2, max_flush_retry_delay=1.0)
    async with run_server(settings) as server, httpx.AsyncClient(base_url=server.http) as http:
        room = await server.create_room()
        token = await server.join(room, Role.MEMBER, "Ann")
        for d, name in enumerate(DOCUMENTS):
            url = f"{server.sync_url(room.room.slug)}/{name}"
            for c in range(CLIENTS_PER_DOCUMENT):
                client = await open_synced(url, token)
                typists.append(Typist(f"{name}{c}", client, seed=d * 100 + c))
        by_document = {name: [t for t in typists if t.name.startswith(name)] for name in DOCUMENTS}
        for typist in typists:
            typist.start()
        await converge(
            {t.name: typed_text(t) for t in by_document["guide"]},
            ["[guide0.0]", "[guide4.0]"],
        )

        await postgres_server.crash()
        crashed = time.monotonic()
        typed_before = sum(len(t.typed) for t in typists)
        headers = {"Authorization": f"Bearer {token}"}

        # Down: edits keep flowing between the connected clients, flushes fail and are
        # kept, and what needs the database gets a clear, retryable answer.
        await eventually(lambda: failed_flushes(server) >= 2, 10, "flushes to fail and be retried")
        ready = await http.get("/ready")
        assert ready.status_code == 503, ready.text
        assert ready.json()["failed"] == ["database"]
        # Alive all the same: nothing to restart.
        assert (await http.get("/health")).status_code == 200
        listing = await http.get(f"/api/rooms/{room.room.slug}/documents", headers=headers)
        assert listing.status_code == 503, listing.text
        assert listing.json()["error"]["code"] == "storage_unavailable"
        assert listing.headers["retry-after"] == "5"
        # A socket to a document this process holds is admitted from memory: the
        # participant's standing and the document were read before, and the room's
        # events keep them current (RoomEvents.remembered).
        joining = await open_synced(f"{server.sync_url(room.room.slug)}/guide", token)
        typed = by_document["guide"][0].typed[0]
        await joining.wait_until(lambda: typed in str(joining.text))
        await joining.close()
        # One that needs storage (a document not read yet) cannot be admitted.
        refused = await YClient.open(f"{server.sync_url(room.room.slug)}/notes", token)
        code, reason = await refused.wait_closed()
        assert (code, reason) == (1013, REASON)
        marker = by_document["plan"][0].typed[-1]
        await by_document["plan"][-1].client.wait_until(
            lambda: marker in str(by_document["plan"][-1].client.text)
        )
        assert all(t.client.is_open for t in typists)

        remaining = OUTAGE_SECONDS - (time.monotonic() - crashed)
        await asyncio.sleep(max(remaining, 0))  # the outage's length (the fault), not a wait
        typed_during = sum(len(t.typed) for t in typists) - typed_before
        failures = failed_flushes(server)
        await postgres_server.start()
        restarted = time.monotonic()

        # Up again: everything held in memory reaches the database, and new clients join.
        await poll(lambda: _ready(http), 10, "the server to find the database again")
        late = await open_synced(f"{server.sync_url(room.room.slug)}/guide", token)
        for typist in typists:
            await typist.stop()
        for typist in typists:
            typist.type_one()  # one more each, after the outage
        finals = {}
        for name in DOCUMENTS:
            group = by_document[name]
            probes: dict[str, Callable[[], str | None]] = {t.name: typed_text(t) for t in group}
            probes["server"] = live(server, room, name)
            if name == "guide":
                probes["late joiner"] = lambda: str(late.text)
            finals[name] = await converge(probes, [m for t in group for m in t.typed], 15)
        await late.close()

        async def all_stored() -> bool:
            return await stored_texts(server, room) == finals

        await poll(all_stored, 15, "every edit to be stored")
        stored_after = time.monotonic() - restarted
        print(
            f"PostgreSQL down {OUTAGE_SECONDS:.0f}s: {typed_during} edits typed during the "
            f"outage, {failures} failed flushes retried; all stored {stored_after:.2f}s "
            f"after the restart"
        )
        # Nothing is stored twice: each document's text has each marker once.
        for name, text in finals.items():
            for typist in by_document[name]:
                for typed in typist.typed:
                    assert text.count(typed) == 1, typed
        assert all(t.client.is_open for t in typists)


async def _ready(http: httpx.AsyncClient) -> bool:
    return (await http.get("/ready")).status_code == 200
