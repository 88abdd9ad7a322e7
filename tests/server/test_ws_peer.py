"""The WebSocket peer's send queue: never waits on a client, drops one that stays stuck."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from starlette.websockets import WebSocket

from server.ws_peer import WebSocketPeer
from tests.timing import eventually, timeout


class StuckSocket:
    """A WebSocket whose sends block until ``release`` is set, as a client that stops reading."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.closed: tuple[int, str] | None = None
        self.release = asyncio.Event()

    async def send_bytes(self, data: bytes) -> None:
        await self.release.wait()
        self.sent.append(data)

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        self.closed = (code, reason or "")


async def _handler(socket: StuckSocket, **limits: Any) -> tuple[asyncio.Task[None], list[Any]]:
    """Run a fake connection handler that owns a peer, as the sync endpoint does."""
    made: list[Any] = []

    async def handler() -> None:
        peer = WebSocketPeer(cast(WebSocket, socket), who="test", **limits)
        made.append(peer)
        await asyncio.Event().wait()

    task = asyncio.create_task(handler())
    await eventually(lambda: bool(made))
    return task, made


async def test_frames_are_sent_in_order() -> None:
    socket = StuckSocket()
    socket.release.set()
    task, (peer,) = await _handler(socket, buffer_limit=1000, stall_seconds=1)
    for i in range(5):
        peer.send(bytes([i]))
    await eventually(lambda: len(socket.sent) == 5)
    assert socket.sent == [b"\x00", b"\x01", b"\x02", b"\x03", b"\x04"]
    peer.close(4403, "bye")
    await eventually(lambda: socket.closed is not None)
    assert socket.closed == (4403, "bye")
    task.cancel()


async def test_burst_that_drains_in_time_is_kept() -> None:
    socket = StuckSocket()
    task, (peer,) = await _handler(socket, buffer_limit=100, stall_seconds=timeout(1))
    peer.send(b"x" * 150)
    assert peer.buffered == 150
    socket.release.set()
    await eventually(lambda: peer.buffered == 0)
    assert not peer.overflowed and not task.done()
    task.cancel()


async def test_stuck_client_over_the_limit_is_dropped_after_the_grace_period() -> None:
    socket = StuckSocket()
    task, (peer,) = await _handler(socket, buffer_limit=100, stall_seconds=0.05)
    peer.send(b"a" * 60)
    peer.send(b"b" * 60)
    assert not peer.overflowed
    await eventually(lambda: task.done(), what="the handler to be cancelled")
    assert peer.overflowed
    assert task.cancelled()
    # Later sends are ignored rather than queued.
    peer.send(b"c" * 60)
    assert peer.buffered == 0


async def test_hard_limit_drops_at_once() -> None:
    socket = StuckSocket()
    task, (peer,) = await _handler(socket, buffer_limit=100, stall_seconds=60)
    peer.send(b"z" * 401)
    assert peer.overflowed
    await eventually(lambda: task.done())
    assert task.cancelled()
