"""The :class:`rooms.live.broker.Broker` on Redis pub/sub (redis-py asyncio with hiredis).

One subscriber connection per process carries every channel it listens to; publishes
go through a separate pooled client, pipelined so that messages queued together cost
one round trip. If Redis goes away the process keeps serving its own clients:
publishes are dropped (and counted), the subscriber reconnects with backoff, and once
it is subscribed again the reconnect callbacks heal every loaded document.

Every process says it is alive on the control channel every ``heartbeat_seconds``
and goodbye when it closes. A process not heard from for three heartbeats (while this
one is connected) is gone: the gone callbacks run with its origin.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from rooms.live.broker import GoneCallback, Handler, ReconnectCallback, new_origin

log = logging.getLogger("roundtable.broker")

_MAX_BACKOFF = 5.0
_SUBSCRIBE_TIMEOUT = 5.0
_CONTROL = "control"
# Control messages: one of these bytes, then the sender's origin.
_ALIVE = b"A"
_BYE = b"B"
# Heartbeats a process may miss before it counts as gone.
_MISSED_HEARTBEATS = 3
# Lag samples kept until the metrics read them (server/metrics.py).
_MAX_LAG_SAMPLES = 1024


class RedisBroker:
    def __init__(
        self,
        url: str,
        prefix: str = "roundtable",
        heartbeat_seconds: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = url
        # Channel names are the domain's names under this prefix, so that several
        # deployments can share one Redis.
        self._prefix = prefix + ":"
        self._control = self._prefix + _CONTROL
        self._heartbeat_seconds = heartbeat_seconds
        self._heartbeat: asyncio.Task[None] | None = None
        self._clock = clock
        # Other processes, by origin: when each was last heard from (``clock`` time).
        self._seen: dict[bytes, float] = {}
        self._gone_callbacks: list[GoneCallback] = []
        # Called only for a process that went silent, not one that said goodbye.
        self._died_callbacks: list[Callable[[bytes], None]] = []
        self._origin = new_origin()
        self._redis: Redis = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
        self._handlers: dict[str, Handler] = {}
        self._confirmations: dict[str, asyncio.Future[None]] = {}
        self._callbacks: list[ReconnectCallback] = []
        self._pubsub: PubSub | None = None
        self._outbox: deque[tuple[str, bytes]] = deque()
        self._wakeup = asyncio.Event()
        self.connected = asyncio.Event()
        self.dropped = 0
        self.published = 0
        # Times the subscriber connection came back after Redis was lost.
        self.reconnects = 0
        # Seconds this process's own heartbeats took from publish to its subscriber, one
        # per heartbeat: the broker's lag, sampled (the metrics take and empty the list).
        self.lag_samples: list[float] = []
        self._probe_sent: float | None = None
        self._reader: asyncio.Task[None] | None = None
        self._publisher: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def origin(self) -> bytes:
        return self._origin

    @property
    def shared(self) -> bool:
        return True

    async def start(self) -> None:
        """Connect; waits for the first connection so a misconfigured URL fails early."""
        await self._redis.ping()
        loop = asyncio.get_running_loop()
        self._reader = loop.create_task(self._read())
        self._publisher = loop.create_task(self._publish())
        async with asyncio.timeout(_SUBSCRIBE_TIMEOUT):
            await self.connected.wait()
        self._heartbeat = loop.create_task(self._beat())

    def on_reconnect(self, callback: ReconnectCallback) -> None:
        self._callbacks.append(callback)

    @property
    def connection(self) -> int | None:
        return self.reconnects if self.connected.is_set() else None

    def on_process_gone(self, callback: GoneCallback) -> None:
        self._gone_callbacks.append(callback)

    def on_process_died(self, callback: Callable[[bytes], None]) -> None:
        """Run ``callback`` with the origin of a process that went silent (it died:
        a process that stops cleanly says goodbye), before the gone callbacks."""
        self._died_callbacks.append(callback)

    @property
    def silence_seconds(self) -> float:
        """How long another process may go unheard before it counts as gone."""
        return _MISSED_HEARTBEATS * self._heartbeat_seconds

    @property
    def processes(self) -> set[bytes]:
        """The other processes heard from lately."""
        return set(self._seen)

    async def subscribe(self, channel: str, handler: Handler) -> None:
        channel = self._prefix + channel
        self._handlers[channel] = handler
        pubsub = self._pubsub
        if pubsub is None or not self.connected.is_set():
            # Subscribed when the connection comes back; healing covers the gap.
            return
        confirmed = self._expect(channel)
        try:
            await pubsub.subscribe(channel)
            async with asyncio.timeout(_SUBSCRIBE_TIMEOUT):
                await confirmed
        except (RedisError, OSError, TimeoutError) as exc:
            log.warning("could not subscribe to %s now (%s); will on reconnect", channel, exc)

    async def unsubscribe(self, channel: str) -> None:
        channel = self._prefix + channel
        self._handlers.pop(channel, None)
        pubsub = self._pubsub
        if pubsub is not None and self.connected.is_set():
            with contextlib.suppress(RedisError, OSError):
                await pubsub.unsubscribe(channel)

    def publish(self, channel: str, message: bytes) -> None:
        if not self.connected.is_set():
            self.dropped += 1
            return
        self._outbox.append((self._prefix + channel, message))
        self._wakeup.set()

    def _expect(self, channel: str) -> asyncio.Future[None]:
        future = self._confirmations.get(channel)
        if future is None or future.done():
            future = asyncio.get_running_loop().create_future()
            self._confirmations[channel] = future
        return future

    async def _read(self) -> None:
        backoff = 0.1
        first = True
        while True:
            pubsub = self._redis.pubsub()
            reader: asyncio.Task[None] | None = None
            try:
                # Always at least the control channel: a PubSub connection that is not
                # subscribed to anything does not deliver later subscription replies.
                channels = [self._control, *self._handlers]
                waits = [self._expect(c) for c in channels]
                await pubsub.subscribe(*channels)
                self._pubsub = pubsub
                reader = asyncio.get_running_loop().create_task(self._consume(pubsub))
                if waits:
                    async with asyncio.timeout(_SUBSCRIBE_TIMEOUT):
                        await asyncio.gather(*waits)
                if not first:
                    # Counted before it shows as connected (see connection).
                    self.reconnects += 1
                self.connected.set()
                # Documents opened during this attempt registered after the channel
                # list above was taken: subscribe them now.
                late = [c for c in self._handlers if c not in channels]
                if late:
                    await pubsub.subscribe(*late)
                backoff = 0.1
                if not first:
                    log.info("Redis is back: resubscribed to %d channels", len(channels))
                    self._probe_sent = None
                    # Heartbeats were lost with the connection, not the processes.
                    now = self._clock()
                    self._seen = dict.fromkeys(self._seen, now)
                    self._spawn(self._heal())
                first = False
                await reader
            except asyncio.CancelledError:
                if reader is not None:
                    reader.cancel()
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
                raise
            except (RedisError, OSError, TimeoutError) as exc:
                if reader is not None:
                    reader.cancel()
                if self.connected.is_set() or first:
                    log.warning("lost Redis (%s); serving local clients, reconnecting", exc)
                self.connected.clear()
                self._pubsub = None
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _MAX_BACKOFF)

    async def _consume(self, pubsub: PubSub) -> None:
        while True:
            message: dict[str, Any] | None = await pubsub.get_message(timeout=None)
            if message is None:
                continue
            kind = message["type"]
            channel = message["channel"].decode()
            if kind == "subscribe":
                future = self._confirmations.get(channel)
                if future is not None and not future.done():
                    future.set_result(None)
            elif kind == "message" and channel == self._control:
                self._on_control(message["data"])
            elif kind == "message":
                handler = self._handlers.get(channel)
                if handler is not None:
                    try:
                        handler(message["data"])
                    except Exception:
                        log.exception("handler for %s failed", channel)

    def _on_control(self, data: bytes) -> None:
        kind, origin = data[:1], data[1:]
        if origin == self._origin and kind == _ALIVE and self._probe_sent is not None:
            if len(self.lag_samples) < _MAX_LAG_SAMPLES:
                self.lag_samples.append(time.monotonic() - self._probe_sent)
            self._probe_sent = None
        if origin == self._origin or not origin:
            return
        if kind == _ALIVE:
            self._seen[origin] = self._clock()
        elif kind == _BYE:
            self._seen.pop(origin, None)
            self._spawn(self._gone(origin))

    async def _beat(self) -> None:
        while True:
            if self.connected.is_set():
                if self._probe_sent is None:
                    # Its arrival back here is timed (a slow one is timed, not replaced).
                    self._probe_sent = time.monotonic()
                self.publish(_CONTROL, _ALIVE + self._origin)
                deadline = self._clock() - _MISSED_HEARTBEATS * self._heartbeat_seconds
                for origin, seen in list(self._seen.items()):
                    if seen < deadline:
                        del self._seen[origin]
                        log.warning("process %s went silent: taking over", origin.hex()[:8])
                        for died in self._died_callbacks:
                            died(origin)
                        self._spawn(self._gone(origin))
            await asyncio.sleep(self._heartbeat_seconds)

    async def _gone(self, origin: bytes) -> None:
        for callback in self._gone_callbacks:
            try:
                await callback(origin)
            except Exception:
                log.exception("taking over from a process that is gone failed")

    async def _heal(self) -> None:
        for callback in self._callbacks:
            try:
                await callback()
            except Exception:
                log.exception("healing after the Redis reconnect failed")

    async def _publish(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._outbox:
                batch = list(self._outbox)
                self._outbox.clear()
                # A pooled connection from before an outage fails once and is then
                # replaced: try each batch twice before dropping it.
                for attempt in (1, 2):
                    try:
                        async with self._redis.pipeline(transaction=False) as pipe:
                            for channel, message in batch:
                                pipe.publish(channel, message)
                            await pipe.execute()
                        self.published += len(batch)
                        break
                    except (RedisError, OSError) as exc:
                        if attempt == 2:
                            self.dropped += len(batch)
                            log.warning("dropped %d broker messages: %s", len(batch), exc)

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        if self.connected.is_set():
            # The others need not wait for our heartbeats to stop.
            with contextlib.suppress(RedisError, OSError):
                await self._redis.publish(self._control, _BYE + self._origin)
        for task in (self._heartbeat, self._reader, self._publisher, *self._tasks):
            if task is not None:
                task.cancel()
        for task in (self._heartbeat, self._reader, self._publisher, *self._tasks):
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        await self._redis.aclose()
