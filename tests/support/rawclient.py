"""A WebSocket client that stops reading: a raw TCP socket with a tiny receive buffer,
driven by websockets' sans-I/O client protocol, for testing what the server does with a
client that does not drain what it is sent."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from urllib.parse import urlsplit

from websockets.client import ClientProtocol
from websockets.frames import Close, Frame
from websockets.http11 import Response
from websockets.protocol import State
from websockets.uri import parse_uri

from tests.support.timing import timeout


class StalledClient:
    """Sends what the test asks and reads nothing unless told to (:meth:`read_to_end`)."""

    def __init__(self, sock: socket.socket, protocol: ClientProtocol) -> None:
        self.sock = sock
        self.protocol = protocol
        self.frames: list[Frame] = []

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
        client = cls(sock, protocol)
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
            elif isinstance(event, Response) and event.status_code != 101:
                raise ConnectionError(f"handshake answered {event.status_code}")

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
