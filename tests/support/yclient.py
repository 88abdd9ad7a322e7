"""A Python y-websocket client on pycrdt, for driving the server from tests."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from pycrdt import Doc, Text, TransactionEvent
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from crdt.protocol import (
    AwarenessUpdate,
    PermissionDenied,
    SyncStep1,
    SyncStep2,
    SyncUpdate,
    decode_message,
    encode_awareness,
    encode_sync_step1,
    encode_sync_step2,
    encode_update,
)
from tests.support.timing import timeout


class YClient:
    """Connects to ``/sync/{room}/{doc}``, keeps a pycrdt Doc in sync, records what arrives."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.doc: Doc[Any] = Doc()
        self.text = self.doc.get("text", type=Text)
        self.frames: list[bytes] = []
        self.denied: list[str] = []
        self.awareness_frames: list[bytes] = []
        self.synced = asyncio.Event()
        self.closed = asyncio.Event()
        self._changed = asyncio.Condition()
        self._remote = False
        self.doc.observe(self._on_local_change)
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, url: str, token: str | None, *, handshake: bool = True) -> YClient:
        query = f"?token={token}" if token is not None else ""
        ws = await connect(url + query, max_size=None, open_timeout=timeout(5))
        client = cls(ws)
        if handshake:
            await client.send(encode_sync_step1(client.doc.get_state()))
        return client

    def _on_local_change(self, event: TransactionEvent) -> None:
        if self._remote:
            return
        update: bytes = event.update
        task = asyncio.get_running_loop().create_task(self.send(encode_update(update)))
        task.add_done_callback(lambda t: t.exception() if not t.cancelled() else None)

    def _apply(self, update: bytes) -> None:
        self._remote = True
        try:
            self.doc.apply_update(update)
        finally:
            self._remote = False

    async def _read(self) -> None:
        try:
            async for frame in self.ws:
                assert isinstance(frame, bytes)
                self.frames.append(frame)
                message = decode_message(frame)
                if isinstance(message, SyncStep1):
                    await self.send(encode_sync_step2(self.doc.get_update(message.state_vector)))
                elif isinstance(message, SyncStep2):
                    self._apply(message.update)
                    self.synced.set()
                elif isinstance(message, SyncUpdate):
                    self._apply(message.update)
                elif isinstance(message, AwarenessUpdate):
                    self.awareness_frames.append(message.update)
                elif isinstance(message, PermissionDenied):
                    self.denied.append(message.reason)
                async with self._changed:
                    self._changed.notify_all()
        except ConnectionClosed:
            pass
        finally:
            self.closed.set()
            async with self._changed:
                self._changed.notify_all()

    async def send(self, frame: bytes | str) -> None:
        with contextlib.suppress(ConnectionClosed):
            await self.ws.send(frame)

    async def send_awareness(self, update: bytes) -> None:
        await self.send(encode_awareness(update))

    def insert(self, index: int, value: str) -> None:
        self.text.insert(index, value)

    async def wait_until(self, condition: Callable[[], bool], seconds: float = 5.0) -> None:
        async with asyncio.timeout(timeout(seconds)), self._changed:
            await self._changed.wait_for(condition)

    async def wait_text(self, value: str, seconds: float = 5.0) -> None:
        try:
            await self.wait_until(lambda: str(self.text) == value, seconds)
        except TimeoutError:
            raise AssertionError(
                f"text is {_short(str(self.text))}, expected {_short(value)}"
            ) from None

    async def wait_synced(self, seconds: float = 5.0) -> None:
        async with asyncio.timeout(timeout(seconds)):
            await self.synced.wait()

    async def wait_closed(self, seconds: float = 5.0) -> tuple[int | None, str]:
        """The close code and reason the server sent."""
        async with asyncio.timeout(timeout(seconds)):
            await self.closed.wait()
        return self.ws.close_code, self.ws.close_reason or ""

    async def close(self) -> None:
        await self.ws.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._reader, timeout(5))

    @property
    def is_open(self) -> bool:
        return not self.closed.is_set()


async def open_synced(url: str, token: str) -> YClient:
    client = await YClient.open(url, token)
    await client.wait_synced()
    return client


def text_of(update: bytes) -> str:
    doc: Doc[Any] = Doc()
    doc.apply_update(update)
    return str(doc.get("text", type=Text))


def _short(text: str) -> str:
    return repr(text) if len(text) <= 80 else f"{text[:60]!r}... ({len(text)} characters)"
