"""The WebSocket peer's send queue: never waits on a client, drops one that stays stuck."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from starlette.websockets import WebSocket
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame, Opcode

from server.sockets.peer import SERVER_SEND, WebSocketPeer, abort
from tests.support.timing import eventually, timeout


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
    await eventually(lambda: socket.closed is not None, what="the close")
    assert socket.closed == (1013, "send buffer overflow")
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
    await eventually(lambda: socket.closed is not None, what="the close")
    assert socket.closed == (1013, "send buffer overflow")


class FakeTransport:
    """An asyncio transport whose buffer holds what the client has not read, if told
    the client is not reading (``unread``)."""

    def __init__(self, wire: list[tuple[str, bytes]]) -> None:
        self.wire = wire
        self.unread = False
        self.buffer = 0
        self.aborted = False

    def write(self, data: bytes) -> None:
        self.wire.append(("direct", data))
        if self.unread:
            self.buffer += len(data)

    def get_write_buffer_size(self) -> int:
        return self.buffer

    def is_closing(self) -> bool:
        return self.aborted

    def abort(self) -> None:
        self.aborted = True


class FakeConnection:
    def __init__(self, extensions: list[object] | None = None) -> None:
        self.extensions = extensions or []


def sansio_protocol(wire: list[tuple[str, bytes]]) -> WebSocketsSansIOProtocol:
    """uvicorn's protocol object with only what the direct path reads."""
    protocol = WebSocketsSansIOProtocol.__new__(WebSocketsSansIOProtocol)
    protocol.conn = cast(Any, FakeConnection())
    protocol.writable = asyncio.Event()
    protocol.writable.set()
    protocol.close_sent = False
    protocol.transport = cast(Any, FakeTransport(wire))
    return protocol


class SansIOSocket:
    """A Starlette WebSocket as served by uvicorn's sans-I/O protocol: ``send_bytes``
    waits while the transport pushes back, like uvicorn's own send."""

    def __init__(self, protocol: WebSocketsSansIOProtocol, wire: list[tuple[str, bytes]]) -> None:
        self.scope = {SERVER_SEND: protocol.send}
        self.protocol = protocol
        self.wire = wire

    async def send_bytes(self, data: bytes) -> None:
        await self.protocol.writable.wait()
        self.wire.append(("queued", Frame(Opcode.BINARY, data).serialize(mask=False)))

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        await self.protocol.writable.wait()
        self.wire.append(("close", str(code).encode()))


async def _sansio_peer(
    **limits: Any,
) -> tuple[list[tuple[str, bytes]], SansIOSocket, asyncio.Task[None], Any]:
    """A peer on uvicorn's sans-I/O protocol: what reached the wire, the socket, the
    handler's task and the peer."""
    wire: list[tuple[str, bytes]] = []
    socket = SansIOSocket(sansio_protocol(wire), wire)
    task, (peer,) = await _handler(cast(Any, socket), **limits)
    return wire, socket, task, peer


async def test_frames_go_straight_to_the_transport_serialized_once_per_broadcast() -> None:
    wire, _socket, task, peer = await _sansio_peer(buffer_limit=1000, stall_seconds=1)
    message = b"\x00\x02\x03abc"
    peer.send(message)
    expected = Frame(Opcode.BINARY, message).serialize(mask=False)
    # Written at the end of the loop turn.
    assert wire == []
    await eventually(lambda: bool(wire))
    assert wire == [("direct", expected)]
    assert peer.direct_frames == 1
    task.cancel()


async def test_frames_of_one_loop_turn_go_out_in_one_write() -> None:
    wire, _socket, task, peer = await _sansio_peer(buffer_limit=1000, stall_seconds=1)
    messages = [b"\x00\x02\x01a", b"\x00\x02\x02bc", b"\x01\x03xyz"]
    for message in messages:
        peer.send(message)
    assert peer.buffered == sum(len(m) + 2 for m in messages)
    await eventually(lambda: bool(wire))
    frames = b"".join(Frame(Opcode.BINARY, m).serialize(mask=False) for m in messages)
    assert wire == [("direct", frames)]
    assert peer.direct_frames == 3 and peer.buffered == 0
    # The next turn's frame is a write of its own.
    peer.send(b"\x00\x02\x01d")
    await eventually(lambda: len(wire) == 2)
    assert wire[1] == ("direct", b"\x82\x04\x00\x02\x01d")
    task.cancel()


async def test_frames_held_for_the_turn_are_dropped_by_a_close() -> None:
    wire, _socket, task, peer = await _sansio_peer(buffer_limit=1000, stall_seconds=1)
    peer.send(b"held")
    peer.close(4403, "removed")
    assert peer.buffered == 0
    await eventually(lambda: bool(wire))
    assert wire == [("close", b"4403")]
    await peer.finish()
    assert task.cancelled()


async def test_order_is_kept_when_the_transport_pushes_back() -> None:
    wire, socket, task, peer = await _sansio_peer(buffer_limit=10_000, stall_seconds=5)
    peer.send(b"0")
    await eventually(lambda: len(wire) == 1, what="the end of the loop turn")
    socket.protocol.writable.clear()  # the transport's buffer is full
    peer.send(b"1")
    # The writer task takes the frame and waits on the transport.
    await eventually(lambda: peer._in_flight, what="the writer to take frame 1")
    socket.protocol.writable.set()
    # Writable again, but a frame is still in flight: this one must wait its turn.
    peer.send(b"2")
    peer.send(b"3")
    await eventually(lambda: len(wire) == 4)
    peer.send(b"4")
    await eventually(lambda: len(wire) == 5)
    # Short unmasked binary frames: a two-byte header, then the payload.
    assert all(frame[0] == 0x82 and frame[1] < 126 for _, frame in wire)
    payloads = [frame[2:] for _, frame in wire]
    assert payloads == [b"0", b"1", b"2", b"3", b"4"]
    assert [how for how, _ in wire] == ["direct", "queued", "queued", "queued", "direct"]
    task.cancel()


async def test_a_negotiated_extension_keeps_frames_on_the_asgi_path() -> None:
    wire: list[tuple[str, bytes]] = []
    protocol = sansio_protocol(wire)
    protocol.conn = cast(Any, FakeConnection([object()]))  # e.g. permessage-deflate
    socket = SansIOSocket(protocol, wire)
    task, (peer,) = await _handler(cast(Any, socket), buffer_limit=1000, stall_seconds=1)
    peer.send(b"x")
    await eventually(lambda: len(wire) == 1)
    assert wire[0][0] == "queued"
    assert peer.direct_frames == 0
    task.cancel()


async def test_bytes_in_the_transport_buffer_count_against_the_budget() -> None:
    wire: list[tuple[str, bytes]] = []
    protocol = sansio_protocol(wire)
    transport = cast(FakeTransport, protocol.transport)
    transport.unread = True
    socket = SansIOSocket(protocol, wire)
    task, (peer,) = await _handler(cast(Any, socket), buffer_limit=100, stall_seconds=60)
    # Written straight to the transport, which keeps it: the client reads nothing.
    peer.send(b"w" * 300)
    await eventually(lambda: bool(wire), what="the end of the loop turn")
    assert peer.buffered > 300 and not peer.overflowed
    peer.send(b"v" * 200)
    await eventually(lambda: peer.overflowed, what="the budget check at the end of the turn")
    await eventually(lambda: task.done())
    assert task.cancelled()


async def test_close_stops_reading_at_once_and_drops_what_is_queued() -> None:
    socket = StuckSocket()
    task, (peer,) = await _handler(socket, buffer_limit=1000, stall_seconds=60)
    peer.send(b"queued behind a client that does not read")
    peer.close(4403, "removed")
    assert peer.closing and peer.buffered == 0
    # The handler, blocked on the client, is cancelled: nothing more is read from it.
    await eventually(lambda: task.done())
    assert task.cancelled() and peer.stopped_handler
    socket.release.set()
    await eventually(lambda: socket.closed is not None)
    assert socket.closed == (4403, "removed")
    assert socket.sent == []
    peer.send(b"after the close")
    assert peer.buffered == 0


async def test_a_close_frame_that_cannot_go_out_is_aborted_after_the_grace() -> None:
    wire: list[tuple[str, bytes]] = []
    protocol = sansio_protocol(wire)
    transport = cast(FakeTransport, protocol.transport)
    transport.unread = True
    socket = SansIOSocket(protocol, wire)
    task, (peer,) = await _handler(
        cast(Any, socket), buffer_limit=10_000, stall_seconds=60, close_grace=0.05
    )
    peer.send(b"a" * 5000)
    socket.protocol.writable.clear()  # the transport's buffer is over its high-water mark
    peer.close(4401, "token expired")
    await eventually(lambda: transport.aborted, what="the connection to be aborted")
    assert ("close", b"4401") not in wire
    await peer.finish()
    assert task.cancelled()


async def test_a_close_frame_that_went_out_leaves_the_connection_to_its_close_handshake() -> None:
    wire, socket, task, peer = await _sansio_peer(buffer_limit=10_000, stall_seconds=60)
    peer.close(4403, "removed")
    await peer.finish()
    assert wire == [("close", b"4403")]
    transport = cast(FakeTransport, socket.protocol.transport)
    # What the grace timer does when it fires: a transport that is closing with nothing
    # left to send is left alone; one still open (no close reply) is aborted.
    transport.is_closing = lambda: True  # type: ignore[method-assign]
    assert not abort(cast(Any, socket)) and not transport.aborted
    transport.is_closing = lambda: False  # type: ignore[method-assign]
    assert abort(cast(Any, socket)) and transport.aborted
    task.cancel()
