"""A :class:`rooms.peer.Peer` over a Starlette WebSocket, with its own send queue."""

from __future__ import annotations

import asyncio
import logging
from collections import deque

from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame, Opcode

from rooms.peer import CloseCode

log = logging.getLogger("roundtable.sync")

# A queue this many times over the limit is dropped at once, whatever the grace period.
HARD_LIMIT_FACTOR = 4


class _Wire:
    """The bytes on the wire of the last message sent: a broadcast sends one message to
    many peers, and an unmasked server frame is the same for each, so it is built once."""

    message: bytes | None = None
    frame: bytes = b""

    @classmethod
    def of(cls, message: bytes) -> bytes:
        if cls.message is not message:
            cls.frame = Frame(Opcode.BINARY, message).serialize(mask=False)
            cls.message = message
        return cls.frame


SERVER_SEND = "roundtable.server_send"


class KeepServerSend:
    """ASGI middleware that keeps the server's own ``send`` of a WebSocket connection in
    its scope, before Starlette wraps it, so that :func:`direct_protocol` can find it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            scope[SERVER_SEND] = send
        await self.app(scope, receive, send)


def direct_protocol(websocket: WebSocket) -> WebSocketsSansIOProtocol | None:
    """uvicorn's sans-I/O protocol behind ``websocket``, if frames can be written to its
    transport as they are: no extension (such as compression) changes them per connection."""
    scope = getattr(websocket, "scope", None) or {}
    protocol = getattr(scope.get(SERVER_SEND), "__self__", None)
    if isinstance(protocol, WebSocketsSansIOProtocol) and not protocol.conn.extensions:
        return protocol
    return None


class WebSocketPeer:
    """Sends each frame at once when it can, else queues it for a writer task.

    When the connection is served by uvicorn's sans-I/O protocol without extensions, a
    frame is written straight to the socket's transport while nothing is queued or in
    flight and the transport accepts writes; the serialized frame is shared by every peer
    of a broadcast. Otherwise (and whenever the transport pushes back) frames queue and the
    writer task sends them in order through the ASGI interface.

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
        self._direct = direct_protocol(websocket)
        self._in_flight = False
        # Started with the first frame that has to wait: most connections never need one.
        self._writer: asyncio.Task[None] | None = None
        self.overflowed = False
        self.direct_frames = 0

    @property
    def buffered(self) -> int:
        return self._buffered

    def send(self, frame: bytes) -> None:
        if self._closing is not None:
            return
        direct = self._direct
        if (
            direct is not None
            and not self._queue
            and not self._in_flight
            and direct.writable.is_set()
            and not direct.close_sent
            and not direct.transport.is_closing()
        ):
            direct.transport.write(_Wire.of(frame))
            self.direct_frames += 1
            return
        self._queue.append(frame)
        self._start_writer()
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
            self._start_writer()
            self._wakeup.set()

    def _start_writer(self) -> None:
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._write())

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
        if self._writer is not None:
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
                    self._in_flight = True
                    await websocket.send_bytes(frame)
                    self._in_flight = False
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
        writer = self._writer
        if writer is None:
            return
        if self._closing is None:
            writer.cancel()
        try:
            await asyncio.wait_for(asyncio.shield(writer), grace)
        except (TimeoutError, asyncio.CancelledError):
            writer.cancel()
