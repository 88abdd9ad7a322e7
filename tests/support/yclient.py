"""A Python y-websocket client on pycrdt, for driving the server from tests.

What goes wrong on the client's side fails the test: a text frame on the sync socket,
a frame that does not decode, an update that does not apply, a send that fails for
any reason but a closed connection. The client records the first such failure, and
every wait, :meth:`YClient.close` and every read of what it received raises it (an
``AssertionError`` whose cause is the failure). The server closing the connection,
with whatever code, is no failure: :meth:`YClient.wait_closed` reports the code.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol

from pycrdt import Doc, Text, TransactionEvent
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from crdt.protocol import (
    AwarenessUpdate,
    PermissionDenied,
    ProtocolError,
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


class UnexpectedFrame(AssertionError):
    """The server sent something a y-websocket client cannot take."""


class YClient:
    """Connects to ``/sync/{room}/{doc}``, keeps a pycrdt Doc in sync, records what arrives."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.doc: Doc[Any] = Doc()
        self._text: Text = self.doc.get("text", type=Text)
        self._frames: list[bytes] = []
        self._denied: list[str] = []
        self._awareness_frames: list[bytes] = []
        self.synced = asyncio.Event()
        self.closed = asyncio.Event()
        # The first thing that went wrong on this client's side, raised by every helper.
        self.failure: BaseException | None = None
        self._changed = asyncio.Condition()
        self._remote = False
        self._sending: set[asyncio.Task[None]] = set()
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

    # ------------------------------------------------------------ failures

    def _fail(self, exc: BaseException) -> None:
        if self.failure is None:
            self.failure = exc

    def check(self) -> None:
        """Raise the client's failure, if it had one."""
        if self.failure is not None:
            raise AssertionError(f"the sync test client failed: {self.failure!r}") from self.failure

    # ------------------------------------------------- what arrived (checked)

    @property
    def text(self) -> Text:
        self.check()
        return self._text

    @property
    def frames(self) -> list[bytes]:
        """Every binary frame received, in order."""
        self.check()
        return self._frames

    @property
    def denied(self) -> list[str]:
        """The reasons of the permission-denied messages received."""
        self.check()
        return self._denied

    @property
    def awareness_frames(self) -> list[bytes]:
        """The payloads of the awareness messages received."""
        self.check()
        return self._awareness_frames

    @property
    def is_open(self) -> bool:
        self.check()
        return not self.closed.is_set()

    # ------------------------------------------------------------- reading

    def _on_local_change(self, event: TransactionEvent) -> None:
        if self._remote:
            return
        update: bytes = event.update
        task = asyncio.get_running_loop().create_task(self._send(encode_update(update)))
        self._sending.add(task)
        task.add_done_callback(self._sent)

    def _sent(self, task: asyncio.Task[None]) -> None:
        self._sending.discard(task)
        if not task.cancelled():
            # Retrieved here: _send recorded it already.
            task.exception()

    def _apply(self, update: bytes) -> None:
        self._remote = True
        try:
            self.doc.apply_update(update)
        finally:
            self._remote = False

    async def _read(self) -> None:
        try:
            async for frame in self.ws:
                if not isinstance(frame, bytes):
                    raise UnexpectedFrame(f"a text frame on the sync socket: {_short(frame)}")
                self._frames.append(frame)
                try:
                    message = decode_message(frame)
                except ProtocolError as exc:
                    raise UnexpectedFrame(
                        f"an undecodable frame {_short(frame.hex())}: {exc}"
                    ) from exc
                if isinstance(message, SyncStep1):
                    await self._send(encode_sync_step2(self.doc.get_update(message.state_vector)))
                elif isinstance(message, SyncStep2):
                    self._apply(message.update)
                    self.synced.set()
                elif isinstance(message, SyncUpdate):
                    self._apply(message.update)
                elif isinstance(message, AwarenessUpdate):
                    self._awareness_frames.append(message.update)
                elif isinstance(message, PermissionDenied):
                    self._denied.append(message.reason)
                async with self._changed:
                    self._changed.notify_all()
        except ConnectionClosed:
            # The server closed the connection (with any code): wait_closed tells which.
            pass
        except Exception as exc:
            self._fail(exc)
        finally:
            self.closed.set()
            async with self._changed:
                self._changed.notify_all()

    # ------------------------------------------------------------- sending

    async def _send(self, frame: bytes | str) -> None:
        try:
            await self.ws.send(frame)
        except ConnectionClosed:
            # Sending to a closed connection drops the frame, as a browser would.
            pass
        except Exception as exc:
            self._fail(exc)
            async with self._changed:
                self._changed.notify_all()
            raise

    async def send(self, frame: bytes | str) -> None:
        self.check()
        await self._send(frame)

    async def send_awareness(self, update: bytes) -> None:
        await self.send(encode_awareness(update))

    async def edits_sent(self) -> None:
        """Wait until every local edit made so far went out (each goes from a task of
        its own, in order)."""
        if self._sending:
            _, pending = await asyncio.wait(set(self._sending), timeout=timeout(5))
            assert not pending, "local edits were not sent in time"
        self.check()

    def insert(self, index: int, value: str) -> None:
        self.text.insert(index, value)

    # --------------------------------------------------------------- waits

    async def wait_until(self, condition: Callable[[], bool], seconds: float = 5.0) -> None:
        """Wait until ``condition()`` holds (re-checked whenever a frame arrived), or
        raise TimeoutError; raise the client's failure as soon as it has one."""
        try:
            async with asyncio.timeout(timeout(seconds)), self._changed:
                await self._changed.wait_for(lambda: self.failure is not None or condition())
        except TimeoutError:
            self.check()
            raise
        self.check()

    async def wait_text(self, value: str, seconds: float = 5.0) -> None:
        try:
            await self.wait_until(lambda: str(self._text) == value, seconds)
        except TimeoutError:
            raise AssertionError(
                f"text is {_short(str(self._text))}, expected {_short(value)}"
            ) from None

    async def wait_synced(self, seconds: float = 5.0) -> None:
        await self.wait_until(self.synced.is_set, seconds)

    async def wait_closed(self, seconds: float = 5.0) -> tuple[int | None, str]:
        """The close code and reason the server sent."""
        async with asyncio.timeout(timeout(seconds)):
            await self.closed.wait()
        self.check()
        return self.ws.close_code, self.ws.close_reason or ""

    async def close(self) -> None:
        """Close the connection; raise the client's failure if it had one."""
        await self.ws.close()
        # Edits still being sent end at once on the closed connection (a failure among
        # them is recorded).
        tasks: set[asyncio.Task[None]] = {self._reader, *self._sending}
        _, pending = await asyncio.wait(tasks, timeout=timeout(5))
        if pending:
            for task in pending:
                task.cancel()
            self._fail(AssertionError("the client's tasks did not end after the close"))
        self.check()


async def open_synced(url: str, token: str) -> YClient:
    client = await YClient.open(url, token)
    await client.wait_synced()
    return client


class Closable(Protocol):
    async def close(self) -> None: ...


async def close_all(*clients: Closable) -> None:
    """Close every client, then raise the first failure any of them had."""
    failures: list[BaseException] = []
    for client in clients:
        try:
            await client.close()
        except Exception as exc:
            failures.append(exc)
    if failures:
        raise failures[0]


def text_of(update: bytes) -> str:
    doc: Doc[Any] = Doc()
    doc.apply_update(update)
    return str(doc.get("text", type=Text))


def _short(text: str) -> str:
    return repr(text) if len(text) <= 80 else f"{text[:60]!r}... ({len(text)} characters)"
