"""The broker that fans document traffic and room events out across server processes.

A process publishes binary messages on a channel per document (and one per room) and
receives what the other processes publish there. Messages carry the publishing
process's origin id, so a process ignores its own echoes. Two implementations: the
in-process :class:`LocalBroker` (one process, nothing to fan out) and the Redis
broker in ``server/``. :class:`MemoryBus` links several brokers inside one event
loop, for tests of multi-process behaviour without Redis.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Protocol

Handler = Callable[[bytes], None]
ReconnectCallback = Callable[[], Awaitable[None]]
# Called with the origin id of another process that stopped (it died, or left).
GoneCallback = Callable[[bytes], Awaitable[None]]


def new_origin() -> bytes:
    """A 16-byte id for this process, fresh at every start."""
    return uuid.uuid4().bytes


class Broker(Protocol):
    """Publish/subscribe between server processes. ``publish`` never waits."""

    @property
    def origin(self) -> bytes: ...

    @property
    def shared(self) -> bool:
        """Whether other processes may hold the same documents."""
        ...

    async def subscribe(self, channel: str, handler: Handler) -> None:
        """Deliver the channel's messages to ``handler``; returns once subscribed."""
        ...

    async def unsubscribe(self, channel: str) -> None: ...

    def publish(self, channel: str, message: bytes) -> None:
        """Queue ``message`` for the other processes; dropped if the broker is down."""
        ...

    @property
    def connection(self) -> int | None:
        """Which connection to the other processes is up: a number that changes each
        time it comes back after an outage (messages published meanwhile were lost),
        or None while it is away."""
        ...

    def on_reconnect(self, callback: ReconnectCallback) -> None:
        """Run ``callback`` after the connection came back (messages may have been lost)."""
        ...

    def on_process_gone(self, callback: GoneCallback) -> None:
        """Run ``callback`` with the origin of another process once it is known gone."""
        ...

    async def close(self) -> None: ...


class LocalBroker:
    """The broker of a single process: there is nobody to fan out to."""

    def __init__(self) -> None:
        self._origin = new_origin()

    @property
    def origin(self) -> bytes:
        return self._origin

    @property
    def shared(self) -> bool:
        return False

    async def subscribe(self, channel: str, handler: Handler) -> None:
        return None

    async def unsubscribe(self, channel: str) -> None:
        return None

    def publish(self, channel: str, message: bytes) -> None:
        return None

    @property
    def connection(self) -> int | None:
        return 0

    def on_reconnect(self, callback: ReconnectCallback) -> None:
        return None

    def on_process_gone(self, callback: GoneCallback) -> None:
        return None

    async def close(self) -> None:
        return None


class MemoryBus:
    """Connects :class:`MemoryBroker` instances, as Redis connects processes."""

    def __init__(self) -> None:
        self.brokers: list[MemoryBroker] = []
        self.log: list[tuple[str, bytes]] = []

    def broker(self) -> MemoryBroker:
        broker = MemoryBroker(self)
        self.brokers.append(broker)
        return broker


class MemoryBroker:
    def __init__(self, bus: MemoryBus) -> None:
        self._bus = bus
        self._origin = new_origin()
        self.handlers: dict[str, Handler] = {}
        self._connected = True
        self._connections = 0
        self._reconnect_callbacks: list[ReconnectCallback] = []
        self._gone_callbacks: list[GoneCallback] = []

    @property
    def origin(self) -> bytes:
        return self._origin

    @property
    def shared(self) -> bool:
        return True

    async def subscribe(self, channel: str, handler: Handler) -> None:
        self.handlers[channel] = handler

    async def unsubscribe(self, channel: str) -> None:
        self.handlers.pop(channel, None)

    def publish(self, channel: str, message: bytes) -> None:
        if not self.connected:
            return
        self._bus.log.append((channel, message))
        loop = asyncio.get_running_loop()
        for broker in self._bus.brokers:
            handler = broker.handlers.get(channel)
            if handler is not None and broker.connected:
                loop.call_soon(handler, message)

    @property
    def connected(self) -> bool:
        return self._connected

    @connected.setter
    def connected(self, connected: bool) -> None:
        if connected and not self._connected:
            self._connections += 1
        self._connected = connected

    @property
    def connection(self) -> int | None:
        return self._connections if self._connected else None

    def on_reconnect(self, callback: ReconnectCallback) -> None:
        self._reconnect_callbacks.append(callback)

    def on_process_gone(self, callback: GoneCallback) -> None:
        self._gone_callbacks.append(callback)

    async def process_gone(self, origin: bytes) -> None:
        """Test hook: learn that the process of ``origin`` stopped."""
        for callback in self._gone_callbacks:
            await callback(origin)

    async def reconnect(self) -> None:
        """Test hook: come back after ``connected`` was False, and heal."""
        self.connected = True
        for callback in self._reconnect_callbacks:
            await callback()

    async def close(self) -> None:
        self.handlers.clear()
