"""SIGTERM on a real ``roundtable serve``: readiness fails first, the sockets close with
1012 one after the other over the spread, the process exits 0, and nothing is lost.

Short settings keep it quick (drain 2 s, spread 2 s); what is checked is the order of
things and how far apart the closes fall, never how long a step took. A second SIGTERM
skips the waits (with a drain and a spread far longer than the test), and the steps of
:class:`server.shutdown.Shutdown` are checked on their own with stand-in sockets.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from rooms.roles import Role
from server.shutdown import Shutdown
from tests.support.cluster import (
    DOC,
    Database,
    Launcher,
    ServeProcess,
    doc_url,
    join_over_http,
    poll,
)
from tests.support.timing import timeout
from tests.support.yclient import YClient, open_synced

SYNC_CLIENTS = 6
EVENT_CLIENTS = 2
DRAIN = 2.0
SPREAD = 2.0
SETTINGS = {
    "ROUNDTABLE_DRAIN_SECONDS": str(DRAIN),
    "ROUNDTABLE_CLOSE_SPREAD_SECONDS": str(SPREAD),
    "ROUNDTABLE_FLUSH_INTERVAL": "5",
}


@asynccontextmanager
async def database_of(url: str) -> AsyncIterator[Database]:
    database = Database(url)
    try:
        yield database
    finally:
        await database.close()


async def ready_status(served: ServeProcess) -> tuple[int, str]:
    """The status of ``/ready`` and the ``status`` it names; (0, "gone") when nothing
    answers."""
    try:
        async with httpx.AsyncClient(base_url=served.http) as http:
            response = await http.get("/ready", timeout=2)
    except httpx.TransportError:
        return 0, "gone"
    return response.status_code, response.json()["status"]


async def has_status(served: ServeProcess, wanted: tuple[int, str]) -> bool:
    status = await ready_status(served)
    assert status != (0, "gone"), "the server stopped answering before /ready failed"
    return status == wanted


async def closed_at(wait_closed: asyncio.Future[None] | asyncio.Event) -> float:
    """The loop time at which ``wait_closed`` completed."""
    if isinstance(wait_closed, asyncio.Event):
        await wait_closed.wait()
    else:
        await wait_closed
    return asyncio.get_running_loop().time()


def holds_all(client: YClient, words: list[str]) -> bool:
    return all(word in str(client.text) for word in words)


async def read_events(ws: ClientConnection) -> None:
    """Read the event socket until the server closes it."""
    try:
        async for _ in ws:
            pass
    except ConnectionClosed:
        pass


async def test_sigterm_drains_then_closes_sockets_spread_out_and_loses_nothing(
    launcher: Launcher, tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'rt.db'}"
    served = await launcher.start("a", database_url=url, env=SETTINGS)
    async with database_of(url) as database:
        room = await database.create_room()
    token = await join_over_http(served.http, room, Role.MEMBER, "Ann")
    clients: list[YClient] = []
    sockets: list[ClientConnection] = []
    try:
        clients = list(
            await asyncio.gather(
                *(open_synced(doc_url(served, room), token) for _ in range(SYNC_CLIENTS))
            )
        )
        events_url = f"ws://127.0.0.1:{served.port}/events/{room.room.slug}?token={token}"
        for _ in range(EVENT_CLIENTS):
            sockets.append(await connect(events_url, open_timeout=timeout(5)))
        readers = [asyncio.create_task(read_events(ws)) for ws in sockets]
        words = [f"word{i}" for i in range(SYNC_CLIENTS)]
        for client, word in zip(clients, words, strict=True):
            client.insert(0, word + " ")
        for client in clients:
            await client.wait_until(partial(holds_all, client, words))
        assert await ready_status(served) == (200, "ready")

        closes = [asyncio.create_task(closed_at(c.closed)) for c in clients] + [
            asyncio.create_task(closed_at(reader)) for reader in readers
        ]
        served.process.send_signal(signal.SIGTERM)
        # Readiness fails first, while every socket is still open.
        await poll(lambda: has_status(served, (503, "draining")), 10, "/ready to answer draining")
        assert not any(task.done() for task in closes), "a socket closed before /ready failed"
        # Still serving during the drain.
        assert (await ready_status(served))[0] == 503
        async with httpx.AsyncClient(base_url=served.http) as http:
            assert (await http.get("/health")).status_code == 200
        # New sockets are sent elsewhere: a proxy retries another instance on a 503.
        with pytest.raises(InvalidStatus) as refused:
            await connect(doc_url(served, room) + f"?token={token}", open_timeout=timeout(5))
        assert refused.value.response.status_code == 503
        assert b"restarting" in refused.value.response.body

        async with asyncio.timeout(timeout(DRAIN + SPREAD + 10)):
            times = await asyncio.gather(*closes)
        codes = [client.ws.close_code for client in clients] + [ws.close_code for ws in sockets]
        assert codes == [1012] * len(codes), codes
        reasons = {client.ws.close_reason for client in clients} | {
            ws.close_reason for ws in sockets
        }
        assert reasons == {"server restarting"}
        # Spread out: evenly over the spread, the first and last are (n-1)/n of it apart;
        # a slow machine only pulls them further apart.
        count = len(times)
        assert max(times) - min(times) >= 0.5 * SPREAD * (count - 1) / count, sorted(times)

        code = await asyncio.wait_for(served.process.wait(), timeout(30))
        assert code == 0, served.log()[-4000:]
    finally:
        for client in clients:
            await client.close()
        for ws in sockets:
            await ws.close()

    # Every edit was stored before the process exited.
    again = await launcher.start("a-again", database_url=url, env=SETTINGS)
    reader = await open_synced(doc_url(again, room, DOC), token)
    try:
        assert sorted(str(reader.text).split()) == sorted(words)
    finally:
        await reader.close()


async def test_a_second_sigterm_skips_the_wait(launcher: Launcher, tmp_path: Path) -> None:
    # A drain and a spread far longer than the test may take: only the second signal
    # can get the process to stop in time.
    url = f"sqlite+aiosqlite:///{tmp_path / 'rt.db'}"
    slow = {"ROUNDTABLE_DRAIN_SECONDS": "600", "ROUNDTABLE_CLOSE_SPREAD_SECONDS": "600"}
    served = await launcher.start("a", database_url=url, env=slow)
    async with database_of(url) as database:
        room = await database.create_room()
    token = await join_over_http(served.http, room, Role.MEMBER, "Ann")
    clients = [await open_synced(doc_url(served, room), token) for _ in range(2)]
    try:
        clients[0].insert(0, "kept")
        await clients[1].wait_text("kept")
        served.process.send_signal(signal.SIGTERM)
        await poll(lambda: has_status(served, (503, "draining")), 10, "/ready to answer draining")
        assert all(client.is_open for client in clients)
        served.process.send_signal(signal.SIGTERM)
        for client in clients:
            assert (await client.wait_closed(10))[0] == 1012
        assert await asyncio.wait_for(served.process.wait(), timeout(30)) == 0, served.log()
    finally:
        for client in clients:
            await client.close()
    async with database_of(url) as database:
        assert await database.text(room) == "kept"


class Recorder:
    """Stands in for the sockets and for uvicorn: notes what was closed, and the stop."""

    def __init__(self) -> None:
        self.closed: list[str] = []
        self.stopped = asyncio.Event()

    def closer(self, name: str) -> Callable[[], None]:
        return lambda: self.closed.append(name)

    def stop(self) -> None:
        self.stopped.set()


async def test_hurrying_closes_every_open_socket_and_stops() -> None:
    shutdown = Shutdown(drain_seconds=600, spread_seconds=600)
    recorder = Recorder()
    for name in ("a", "b", "c"):
        shutdown.register(recorder.closer(name))
    gone = shutdown.register(recorder.closer("gone"))
    gone()  # this socket ended on its own before the shutdown
    shutdown.begin(recorder.stop)
    assert shutdown.draining
    shutdown.hurry()
    async with asyncio.timeout(timeout(5)):
        await recorder.stopped.wait()
    assert recorder.closed == ["a", "b", "c"]
    assert shutdown.open_sockets == 0


async def test_a_socket_opened_during_the_spread_is_closed_too() -> None:
    shutdown = Shutdown(drain_seconds=0, spread_seconds=600)
    recorder = Recorder()
    shutdown.register(recorder.closer("first"))
    shutdown.register(recorder.closer("second"))
    shutdown.begin(recorder.stop)
    # The first closes at once, the second waits its turn in the spread.
    async with asyncio.timeout(timeout(5)):
        while recorder.closed != ["first"]:  # noqa: ASYNC110 (nothing to wait on)
            await asyncio.sleep(0.01)
    shutdown.register(recorder.closer("late"))
    shutdown.hurry()
    async with asyncio.timeout(timeout(5)):
        await recorder.stopped.wait()
    assert recorder.closed == ["first", "second", "late"]
