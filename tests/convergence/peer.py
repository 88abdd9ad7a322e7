"""A pycrdt y-websocket client whose outgoing updates the fuzzer delivers.

Every update the client makes is held for a random time and then sent, so updates
leave in another order than they were made (the server receives updates whose
dependencies have not arrived yet), and some are sent twice. The client can go offline
(a clean close, or the connection cut without a close frame) and come back to either
server process; the handshake is the usual y-websocket one: the client sends its sync
step 1, answers the server's step 1 with a step 2 holding everything the server lacks,
and applies the server's step 2. Held updates that come due while it is offline go out
after it is back (late duplicates of what its step 2 carried).

A close the server initiates with 1013 (try again later) is answered the way
y-websocket does: reconnect after a short backoff. Any other close the server
initiates is recorded in :attr:`Peer.errors`: no honest client should get one.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from pycrdt import Doc, TransactionEvent, write_var_uint
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from crdt.protocol import (
    SyncStep1,
    SyncStep2,
    SyncUpdate,
    decode_message,
    encode_sync_step1,
    encode_sync_step2,
    encode_update,
)
from tests.convergence.content import Content, content_of
from tests.convergence.editing import Editor
from tests.support.timing import timeout

REMOTE = "remote"
TRY_AGAIN_LATER = 1013


@dataclass
class Delivery:
    """How a client's updates travel: held up to ``max_delay`` seconds, some twice."""

    max_delay: float
    duplicate_rate: float


@dataclass
class PeerStats:
    frames: int = 0
    reorders: int = 0
    duplicates: int = 0
    reconnects: int = 0
    drops: int = 0
    retries: int = 0


@dataclass
class _Held:
    seq: int
    frame: bytes = field(compare=False)
    duplicate: bool = field(compare=False, default=False)


class Peer:
    """One pycrdt client with fault-injected delivery (see the module docstring)."""

    def __init__(
        self,
        name: str,
        token: str,
        rng: random.Random,
        delivery: Delivery,
        capture_timeout_ms: int = 0,
        *,
        edits: bool = True,
    ) -> None:
        self.name = name
        self.token = token
        self.rng = rng
        self.delivery = delivery
        self.immediate = False
        self.doc: Doc[Any] = Doc()
        self.editor = Editor(self.doc, rng, capture_timeout_ms) if edits else None
        self.stats = PeerStats()
        self.operations: Counter[str] = Counter()
        self.errors: list[str] = []
        # Every update the document took, in order, and whether it was the client's own
        # edit: enough to build the same document again (see :meth:`history_bytes`).
        self.history: list[tuple[bool, bytes]] = []
        self.url: str | None = None
        self.synced = asyncio.Event()
        # Bumped on every change of the document, so content is computed once per change.
        self.version = 0
        self._cached: tuple[int, Content] | None = None
        self._applying = False
        self._next_seq = 0
        self._highest_sent = -1
        self._timers: dict[int, tuple[asyncio.TimerHandle, _Held]] = {}
        self._timer_ids = 0
        self._ready: deque[_Held] = deque()
        self._wake = asyncio.Event()
        self._ws: ClientConnection | None = None
        self._online = asyncio.Event()
        self._leaving = False
        self._reader: asyncio.Task[None] | None = None
        self._retry: asyncio.Task[None] | None = None
        self._subscription = self.doc.observe(self._on_change)
        self._sender = asyncio.create_task(self._send_loop(), name=f"{name}-sender")

    # ------------------------------------------------------------- content

    @property
    def content(self) -> Content:
        if self._cached is None or self._cached[0] != self.version:
            self._cached = (self.version, content_of(self.doc))
        return self._cached[1]

    @property
    def online(self) -> bool:
        return self._online.is_set()

    # ------------------------------------------------------------- editing

    def edit(self, count: int) -> list[str]:
        assert self.editor is not None, f"{self.name} does not edit"
        done = [self.editor.operation() for _ in range(count)]
        self.operations.update(done)
        return done

    def _on_change(self, event: TransactionEvent) -> None:
        self.version += 1
        if self._applying:
            return
        update: bytes = event.update
        self.history.append((True, update))
        self._hold(encode_update(update))

    def _apply(self, update: bytes) -> None:
        self.history.append((False, update))
        self._applying = True
        try:
            with self.doc.transaction(origin=REMOTE):
                self.doc.apply_update(update)
        finally:
            self._applying = False

    def history_bytes(self) -> bytes:
        """:attr:`history` as bytes: per update a byte (1: the client's own edit, 0:
        received), its length as a varuint, and the update."""
        return b"".join(
            bytes([own]) + write_var_uint(len(update)) + update for own, update in self.history
        )

    # ------------------------------------------------------------ delivery

    def _hold(self, frame: bytes) -> None:
        seq = self._next_seq
        self._next_seq += 1
        if self.immediate:
            self._queue(_Held(seq, frame))
            return
        copies = 2 if self.rng.random() < self.delivery.duplicate_rate else 1
        loop = asyncio.get_running_loop()
        for copy in range(copies):
            held = _Held(seq, frame, duplicate=copy > 0)
            timer_id = self._timer_ids
            self._timer_ids += 1
            delay = self.rng.uniform(0, self.delivery.max_delay)
            handle = loop.call_later(delay, self._due, timer_id)
            self._timers[timer_id] = (handle, held)

    def _due(self, timer_id: int) -> None:
        _, held = self._timers.pop(timer_id)
        self._queue(held)

    def _queue(self, held: _Held) -> None:
        self._ready.append(held)
        self._wake.set()

    async def _send_loop(self) -> None:
        while True:
            if not self._ready:
                await self._wake.wait()
                self._wake.clear()
                continue
            await self._online.wait()
            ws = self._ws
            if ws is None:
                self._online.clear()
                continue
            held = self._ready[0]
            try:
                await ws.send(held.frame)
            except ConnectionClosed:
                # Gone while sending: the frame waits for the next connection (the reader
                # reconnects after a server close, the fuzzer after going offline).
                if self._ws is ws:
                    self._online.clear()
                continue
            self._ready.popleft()
            stats = self.stats
            stats.frames += 1
            stats.duplicates += held.duplicate
            stats.reorders += held.seq < self._highest_sent
            self._highest_sent = max(self._highest_sent, held.seq)

    def settle(self) -> None:
        """Editing is over: send everything held now (still shuffled), and at once from
        now on."""
        self.immediate = True
        held = [entry for _, entry in self._timers.values()]
        for handle, _ in self._timers.values():
            handle.cancel()
        self._timers.clear()
        self.rng.shuffle(held)
        for entry in held:
            self._queue(entry)

    def describe_delivery(self) -> str:
        """Where the client's frames are: for a diverging case's report."""
        state = f"online at {self.url}" if self.online else "offline"
        return (
            f"{state}, client id {self.doc.client_id}, {len(self._timers)} frames held, "
            f"{len(self._ready)} waiting to be sent, {self.stats.frames} sent"
        )

    # ---------------------------------------------------------- connection

    async def connect(self, url: str) -> None:
        """Open a connection to ``url`` (a document's sync URL) and start the handshake."""
        assert self._ws is None, f"{self.name} is connected"
        self.url = url
        self._leaving = False
        ws = await connect(f"{url}?token={self.token}", max_size=None, open_timeout=timeout(5))
        self._ws = ws
        self._reader = asyncio.create_task(self._read(ws), name=f"{self.name}-reader")
        with contextlib.suppress(ConnectionClosed):
            await ws.send(encode_sync_step1(self.doc.get_state()))
        if self._ws is ws:
            self._online.set()

    async def disconnect(self, abrupt: bool = False) -> None:
        """Go offline: a clean close, or (``abrupt``) the TCP connection cut."""
        await self._stop_retry()
        ws = self._ws
        if ws is None:
            return
        self._leaving = True
        self._online.clear()
        if abrupt:
            self.stats.drops += 1
            ws.transport.abort()
        else:
            await ws.close()
        if self._reader is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._reader, timeout(5))
        self._ws = None
        self._reader = None

    async def move(self, url: str, abrupt: bool = False) -> None:
        """Go offline, if online, and come back to ``url``."""
        await self.disconnect(abrupt)
        self.stats.reconnects += 1
        await self.connect(url)

    async def ensure_online(self, url: str) -> None:
        """Connect to ``url`` unless connected (or reconnecting after a server close)."""
        if self._retry is not None and not self._retry.done():
            return
        if self._ws is None:
            self.stats.reconnects += 1
            await self.connect(url)

    async def _stop_retry(self) -> None:
        retry = self._retry
        if retry is not None and not retry.done() and retry is not asyncio.current_task():
            retry.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await retry

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for frame in ws:
                assert isinstance(frame, bytes)
                message = decode_message(frame)
                if isinstance(message, SyncStep1):
                    update = self.doc.get_update(message.state_vector)
                    await ws.send(encode_sync_step2(update))
                elif isinstance(message, SyncStep2):
                    self._apply(message.update)
                    self.synced.set()
                elif isinstance(message, SyncUpdate):
                    self._apply(message.update)
        except ConnectionClosed:
            pass
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            # A frame the client cannot take (pycrdt refused an update, or panicked).
            self.errors.append(f"{self.name}: reading failed: {exc!r}")
            self._online.clear()
            self._ws = None
            await ws.close()
            return
        if self._leaving or self._ws is not ws:
            return
        # The server closed the connection.
        code, reason = ws.close_code, ws.close_reason or ""
        self._online.clear()
        self._ws = None
        if code == TRY_AGAIN_LATER:
            self.stats.retries += 1
        else:
            self.errors.append(f"{self.name}: the server closed the connection: {code} {reason!r}")
        if code is not None and 4400 <= code < 4500:
            return
        # Like y-websocket: reconnect after a short backoff.
        self._retry = asyncio.create_task(self._reconnect(), name=f"{self.name}-retry")

    async def _reconnect(self) -> None:
        assert self.url is not None
        failure: Exception | None = None
        for attempt in range(20):
            await asyncio.sleep(min(0.05 * 2**attempt, 1.0))
            try:
                await self.connect(self.url)
            except (OSError, InvalidStatus, TimeoutError) as exc:
                failure = exc
                continue
            self.stats.reconnects += 1
            return
        self.errors.append(f"{self.name}: could not reconnect to {self.url}: {failure}")

    async def close(self) -> None:
        await self.disconnect()
        self._sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._sender
        for handle, _ in self._timers.values():
            handle.cancel()
        self._timers.clear()
        self.doc.unobserve(self._subscription)
