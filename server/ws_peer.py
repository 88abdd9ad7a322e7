"""A :class:`rooms.peer.Peer` over a Starlette WebSocket, with its own send queue."""

from __future__ import annotations

import asyncio
import logging
from collections import deque

from starlette.websockets import WebSocket

from rooms.peer import CloseCode

log = logging.getLogger("roundtable.sync")

# A queue this many times over the limit is dropped at once, whatever the grace period.
HARD_LIMIT_FACTOR = 4


class WebSocketPeer:
    """Queues frames without waiting; a writer task sends them in order.

    A client that reads too slowly is disconnected when its unsent bytes stay above
    ``buffer_limit`` for ``stall_seconds`` (a burst that drains in time is fine), or
    at once when they pass ``HARD_LIMIT_FACTOR`` times the limit. The rest of the room
    never waits for it.
    """

    def __init__(
        self, websocket: WebSocket, buffer_limit: int, stall_seconds: float, who: str
    ) -> None:
        self._websocket = websocket
        self._buffer_limit = buffer_limit
        self._stall_seconds = stall_seconds
        self.who = who
        self._queue: deque[bytes] = deque()
        self._buffered = 0
        self._wakeup = asyncio.Event()
        self._closing: tuple[int, str] | None = None
        self._stall_check: asyncio.TimerHandle | None = None
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
            if self._buffered > self._buffer_limit * HARD_LIMIT_FACTOR:
                self._overflow()
                return
            if self._stall_check is None:
                self._stall_check = asyncio.get_running_loop().call_later(
                    self._stall_seconds, self._check_stall
                )
        self._wakeup.set()

    def close(self, code: int, reason: str) -> None:
        if self._closing is None:
            self._closing = (code, reason)
            self._wakeup.set()

    def _check_stall(self) -> None:
        self._stall_check = None
        if self._closing is None and self._buffered > self._buffer_limit:
            self._overflow()

    def _drained_below_limit(self) -> None:
        if self._stall_check is not None:
            self._stall_check.cancel()
            self._stall_check = None

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
        self._buffered = 0
        self._drained_below_limit()
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
                    await websocket.send_bytes(frame)
                    # Counted until sent: a frame stuck in flight is still unsent.
                    self._buffered -= len(frame)
                    if self._buffered <= self._buffer_limit:
                        self._drained_below_limit()
                if self._closing is not None:
                    code, reason = self._closing
                    await websocket.close(code, reason)
                    return
        except asyncio.CancelledError:
            raise
        except Exception:
            # The client went away mid-send; the handler sees the disconnect.
            return

    async def finish(self, grace: float = 5.0) -> None:
        """Send what is queued (and the close frame, if closing), or give up after ``grace``."""
        self._drained_below_limit()
        if self._closing is None:
            self._writer.cancel()
        try:
            await asyncio.wait_for(asyncio.shield(self._writer), grace)
        except (TimeoutError, asyncio.CancelledError):
            self._writer.cancel()
