"""A :class:`rooms.live.peer.Peer` over a Starlette WebSocket, with its own send queue."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque

from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame, Opcode

from rooms.live.counters import COUNTERS
from rooms.live.peer import CloseCode

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


class _HeldFrames:
    """The peers holding frames for the end of this loop turn, when each writes what it
    holds to its transport at once: one system call per peer however many frames a
    turn gave it (a busy document's readers get several per turn under load)."""

    def __init__(self) -> None:
        self.peers: list[WebSocketPeer] = []
        self.scheduled = False
        self.loop: asyncio.AbstractEventLoop | None = None

    def add(self, peer: WebSocketPeer) -> None:
        loop = asyncio.get_running_loop()
        if loop is not self.loop:
            # A new event loop (tests run several in turn): what an old one held is gone.
            self.loop, self.peers, self.scheduled = loop, [], False
        self.peers.append(peer)
        if not self.scheduled:
            self.scheduled = True
            loop.call_soon(self.flush)

    def flush(self) -> None:
        self.scheduled = False
        peers, self.peers = self.peers, []
        for peer in peers:
            peer._write_held()


_HELD = _HeldFrames()


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


def server_protocol(websocket: WebSocket) -> WebSocketsSansIOProtocol | None:
    """uvicorn's sans-I/O protocol behind ``websocket``, when it serves it."""
    scope = getattr(websocket, "scope", None) or {}
    protocol = getattr(scope.get(SERVER_SEND), "__self__", None)
    return protocol if isinstance(protocol, WebSocketsSansIOProtocol) else None


def direct_protocol(websocket: WebSocket) -> WebSocketsSansIOProtocol | None:
    """uvicorn's sans-I/O protocol behind ``websocket``, if frames can be written to its
    transport as they are: no extension (such as compression) changes them per connection."""
    protocol = server_protocol(websocket)
    if protocol is not None and not protocol.conn.extensions:
        return protocol
    return None


def abort(websocket: WebSocket) -> bool:
    """Drop the connection at once, unsent bytes and all, unless it is already closed:
    for a client that does not read even its close frame. True if it was aborted."""
    protocol = server_protocol(websocket)
    transport = getattr(protocol, "transport", None)
    if transport is None or (transport.is_closing() and not transport.get_write_buffer_size()):
        return False
    transport.abort()
    return True


async def close_or_abort(websocket: WebSocket, code: int, reason: str, grace: float) -> None:
    """Send the close frame, waiting at most ``grace`` seconds for the transport to take
    it, and drop the connection if it is still open once the grace is over: the close
    frame may sit behind bytes the client does not read, or not have gone out at all."""
    loop = asyncio.get_running_loop()
    loop.call_at(loop.time() + grace, abort, websocket)
    with contextlib.suppress(Exception):
        await asyncio.wait_for(websocket.close(code, reason), grace)


class WebSocketPeer:
    """Sends each frame at once when it can, else queues it for a writer task.

    When the connection is served by uvicorn's sans-I/O protocol without extensions, a
    frame is written straight to the socket's transport while nothing is queued or in
    flight and the transport accepts writes; the serialized frame is shared by every peer
    of a broadcast. Otherwise (and whenever the transport pushes back) frames queue and the
    writer task sends them in order through the ASGI interface.

    Every byte handed over for the client counts against its budget from that moment,
    whether it waits in this queue or in the transport's buffer, until the client reads
    it. A client that reads too slowly is disconnected when its unread bytes stay above
    ``buffer_limit`` for ``stall_seconds`` (a burst that drains in time is fine), or at
    once when they pass ``HARD_LIMIT_FACTOR`` times the limit. The rest of the room never
    waits for it.

    :meth:`close` ends the connection at once: the handler is cancelled, so not one more
    frame of the client is read, let alone applied; what is queued is dropped; the close
    frame goes out as soon as the transport takes it, and the connection is aborted if
    that has not happened within ``close_grace`` seconds.
    """

    def __init__(
        self,
        websocket: WebSocket,
        buffer_limit: int,
        stall_seconds: float,
        who: str,
        close_grace: float = 2.0,
    ) -> None:
        self._websocket = websocket
        self._buffer_limit = buffer_limit
        self._stall_seconds = stall_seconds
        self._close_grace = close_grace
        self.who = who
        self._queue: deque[bytes] = deque()
        self._queued = 0
        self._wakeup = asyncio.Event()
        self._closing: tuple[int, str] | None = None
        self._stall_check: asyncio.TimerHandle | None = None
        self._handler = asyncio.current_task()
        protocol = server_protocol(websocket)
        self._transport = getattr(protocol, "transport", None)
        self._direct = direct_protocol(websocket)
        self._in_flight = False
        # Frames for the transport, written at the end of this loop turn (_HELD).
        self._held: list[bytes] | None = None
        self._held_bytes = 0
        # Started with the first frame that has to wait: most connections never need one.
        self._writer: asyncio.Task[None] | None = None
        self._closer: asyncio.Task[None] | None = None
        self.overflowed = False
        # Whether this peer cancelled its handler to stop reading the client.
        self.stopped_handler = False
        self.direct_frames = 0

    @property
    def closing(self) -> bool:
        return self._closing is not None

    @property
    def buffered(self) -> int:
        """Bytes handed over for the client and not yet read: queued here, or waiting in
        the transport's buffer (what the kernel holds is not counted)."""
        transport = self._transport
        in_transport = transport.get_write_buffer_size() if transport is not None else 0
        return self._queued + self._held_bytes + in_transport

    def send(self, frame: bytes) -> None:
        if self._closing is not None:
            return
        held = self._held
        if held is not None:
            wire = _Wire.of(frame)
            held.append(wire)
            self._held_bytes += len(wire)
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
            wire = _Wire.of(frame)
            self._held = [wire]
            self._held_bytes = len(wire)
            _HELD.add(self)
        else:
            self._queue.append(frame)
            self._queued += len(frame)
            self._start_writer()
            self._wakeup.set()
            self._check_budget()

    def _write_held(self) -> None:
        """Write the frames held this loop turn to the transport, as one write."""
        held = self._held
        self._held = None
        self._held_bytes = 0
        direct = self._direct
        if held is None or direct is None or self._closing is not None:
            return
        if direct.close_sent or direct.transport.is_closing():
            return
        direct.transport.write(held[0] if len(held) == 1 else b"".join(held))
        self.direct_frames += len(held)
        self._check_budget()

    def _check_budget(self) -> None:
        buffered = self.buffered
        if buffered <= self._buffer_limit:
            return
        if buffered > self._buffer_limit * HARD_LIMIT_FACTOR:
            self._overflow()
        elif self._stall_check is None:
            self._stall_check = asyncio.get_running_loop().call_later(
                self._stall_seconds, self._check_stall
            )

    def close(self, code: int, reason: str) -> None:
        """End the connection with ``code``; nothing more from the client is read."""
        if self._closing is not None:
            return
        self._closing = (code, reason)
        self._held = None
        self._held_bytes = 0
        self._queue.clear()
        self._queued = 0
        self._drained_below_limit()
        loop = asyncio.get_running_loop()
        if self._writer is not None:
            # It may be waiting on a transport the client does not drain.
            self._writer.cancel()
        self._closer = loop.create_task(
            close_or_abort(self._websocket, code, reason, self._close_grace)
        )
        # The handler is blocked on receive; cancelling it stops reading the client.
        handler = self._handler
        if handler is not None and handler is not asyncio.current_task():
            self.stopped_handler = True
            handler.cancel()

    def _start_writer(self) -> None:
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._write())

    def _check_stall(self) -> None:
        self._stall_check = None
        if self._closing is None and self.buffered > self._buffer_limit:
            self._overflow()

    def _drained_below_limit(self) -> None:
        if self._stall_check is not None:
            self._stall_check.cancel()
            self._stall_check = None

    def _overflow(self) -> None:
        log.warning(
            "disconnecting %s: %d bytes unread (limit %d)",
            self.who,
            self.buffered,
            self._buffer_limit,
        )
        self.overflowed = True
        COUNTERS.sync_slow_readers += 1
        self.close(CloseCode.TRY_AGAIN_LATER, "send buffer overflow")

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
                    # Counted here until the transport has it, then in its buffer.
                    self._queued -= len(frame)
                    if self.buffered <= self._buffer_limit:
                        self._drained_below_limit()
        except asyncio.CancelledError:
            raise
        except Exception:
            # The client went away mid-send; the handler sees the disconnect.
            return

    async def finish(self) -> None:
        """The handler is done: stop sending, or see the close through (within the
        grace, after which the connection is aborted)."""
        self._handler = None
        self._drained_below_limit()
        if self._writer is not None:
            self._writer.cancel()
        if self._closer is not None:
            await asyncio.shield(self._closer)
