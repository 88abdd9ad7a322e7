"""A WebSocket client that stops reading: a raw TCP socket with a tiny receive buffer,
driven by websockets' sans-I/O client protocol, for testing what the server does with a
client that does not drain what it is sent.

What it reads must be what the socket carries: a frame WebSocket forbids, and on
``/sync`` a text frame or a binary frame that is no y-protocol message, on ``/events`` a
binary frame or a text frame that is no JSON room message, raises an ``AssertionError``
from the read (:meth:`StalledClient.read_to_end`). A connection that ends in the middle
of a frame (the server aborted it) is no failure."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from urllib.parse import urlsplit

from websockets.client import ClientProtocol
from websockets.frames import Close, Frame, Opcode
from websockets.http11 import Response
from websockets.protocol import State
from websockets.uri import parse_uri

from crdt.protocol import ProtocolError, decode_message
from tests.support.timing import timeout


class StalledClient:
    """Sends what the test asks and reads nothing unless told to (:meth:`read_to_end`)."""

    def __init__(self, sock: socket.socket, protocol: ClientProtocol, path: str = "") -> None:
        self.sock = sock
        self.protocol = protocol
        self.frames: list[Frame] = []
        # What the socket carries, to check each frame against: "sync", "events" or "".
        self.kind = path.split("/")[1] if path.count("/") >= 2 else ""

    @classmethod
    async def open(cls, url: str, *, receive_buffer: int = 4096) -> StalledClient:
        parts = urlsplit(url)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # Set before connecting, so the window the client offers stays small.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        sock.setblocking(False)
        loop = asyncio.get_running_loop()
        await loop.sock_connect(sock, (parts.hostname or "127.0.0.1", parts.port or 80))
        protocol = ClientProtocol(parse_uri(url), max_size=None)
        protocol.send_request(protocol.connect())
        client = cls(sock, protocol, parts.path)
        await client._flush()
        async with asyncio.timeout(timeout(5)):
            while protocol.state is State.CONNECTING:
                data = await loop.sock_recv(sock, 65536)
                if not data:
                    raise ConnectionError("closed during the handshake")
                protocol.receive_data(data)
                client._take_events()
        if protocol.handshake_exc is not None:
            raise protocol.handshake_exc
        return client

    def _take_events(self) -> None:
        for event in self.protocol.events_received():
            if isinstance(event, Frame):
                self.frames.append(event)
                _check_frame(event, self.kind)
            elif isinstance(event, Response) and event.status_code != 101:
                raise ConnectionError(f"handshake answered {event.status_code}")
        failure = self.protocol.parser_exc
        if failure is not None and not isinstance(failure, EOFError):
            raise AssertionError(
                f"the server sent what WebSocket forbids: {failure!r}"
            ) from failure

    async def _flush(self) -> None:
        data = b"".join(self.protocol.data_to_send())
        if data:
            await asyncio.get_running_loop().sock_sendall(self.sock, data)

    async def send(self, message: bytes) -> None:
        self.protocol.send_binary(message)
        await self._flush()

    async def read_to_end(self, seconds: float = 10.0) -> Close | None:
        """Read everything until the connection ends: the server's close frame, or None
        if the connection ended (reset or closed) without one."""
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout(seconds)):
                while True:
                    data = await loop.sock_recv(self.sock, 1 << 20)
                    if not data:
                        self.protocol.receive_eof()
                        self._take_events()
                        break
                    self.protocol.receive_data(data)
                    self._take_events()
                    if self.protocol.close_rcvd is not None:
                        break
        except ConnectionResetError:
            pass
        return self.protocol.close_rcvd

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


def _check_frame(frame: Frame, kind: str) -> None:
    """Fail on a frame a client of the socket (``kind``: "sync" or "events") could not
    take. A message in fragments is not checked."""
    data = bytes(frame.data)
    if frame.opcode not in (Opcode.TEXT, Opcode.BINARY) or not frame.fin:
        return
    if kind == "sync":
        if frame.opcode is Opcode.TEXT:
            raise AssertionError(f"a text frame on the sync socket: {data[:80]!r}")
        try:
            decode_message(data)
        except ProtocolError as exc:
            raise AssertionError(f"an undecodable frame {data[:40].hex()}: {exc}") from exc
    elif kind == "events":
        if frame.opcode is Opcode.BINARY:
            raise AssertionError(f"a binary frame on the event socket: {data[:80]!r}")
        try:
            message = json.loads(data)
        except ValueError as exc:
            raise AssertionError(f"not JSON on the event socket: {data[:80]!r}") from exc
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            raise AssertionError(f"not a room message on the event socket: {data[:80]!r}")
