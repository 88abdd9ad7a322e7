"""A :class:`rooms.peer.Peer` over a Starlette WebSocket, with its own send queue."""

from __future__ import annotations

import asyncio
import logging
from collections import deque

from starlette.websockets import WebSocket

from rooms.peer import CloseCode

log = logging.getLogger("roundtable.sync")


class WebSocketPeer:
    """Queues frames without waiting; a writer task sends them in order.

    If the queue grows past ``buffer_limit`` bytes (a client that reads too slowly)
    the peer stops its writer and the connection's handler, and the connection is
    dropped: the rest of the room never waits for it.
    """

    def __init__(self, websocket: WebSocket, buffer_limit: int, who: str) -> None:
        self._websocket = websocket
        self._buffer_limit = buffer_limit
        self.who = who
        self._queue: deque[bytes] = deque()
        self._buffered = 0
        self._wakeup = asyncio.Event()
        self._closing: tuple[int, str] | None = None
        self._handler = asyncio.current_task()
        self._writer = asyncio.get_running_loop().create_task(self._write())
        self.overflowed = False

    @property
    def buffered(self) -> int:
        return self._buffered

    def send(self, frame: bytes) -> None:
        if self._closing is not None:
            return
        self._queue.append(frame)
        self._buffered += len(frame)
        if self._buffered > self._buffer_limit:
            self._overflow()
            return
        self._wakeup.set()

    def close(self, code: int, reason: str) -> None:
        if self._closing is None:
            self._closing = (code, reason)
            self._wakeup.set()

    def _overflow(self) -> None:
        log.warning(
            "disconnecting %s: %d bytes unsent (limit %d)",
            self.who,
            self._buffered,
            self._buffer_limit,
        )
        self.overflowed = True
        self._closing = (CloseCode.TRY_AGAIN_LATER, "send buffer overflow")
        self._queue.clear()
        self._writer.cancel()
        # The handler is blocked on receive; cancelling it ends the connection.
        if self._handler is not None and self._handler is not asyncio.current_task():
            self._handler.cancel()

    async def _write(self) -> None:
        websocket = self._websocket
        try:
            while True:
                await self._wakeup.wait()
                self._wakeup.clear()
                while self._queue:
                    frame = self._queue.popleft()
                    self._buffered -= len(frame)
                    await websocket.send_bytes(frame)
                if self._closing is not None:
                    code, reason = self._closing
                    await websocket.close(code, reason)
                    return
        except asyncio.CancelledError:
            raise
        except Exception:
            # The client went away mid-send; the handler sees the disconnect.
            return

    async def finish(self, timeout: float = 5.0) -> None:
        """Send what is queued (and the close frame, if closing), or give up after ``timeout``."""
        if self._closing is None:
            self._writer.cancel()
        try:
            await asyncio.wait_for(asyncio.shield(self._writer), timeout)
        except (TimeoutError, asyncio.CancelledError):
            self._writer.cancel()
