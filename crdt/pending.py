"""Updates that wait for edits the document does not have yet.

An update can arrive before one it builds on: after a reconnect, across processes, after
a Redis outage. The CRDT core would keep it pending itself, but yrs 0.28 loses one of
several pending updates when the gap fills (docs/yrs-pending-updates.md), so the server
keeps them here, keyed by the first id each waits for, and hands the core only updates
whose dependencies are all present.

The buffer is bounded per document and per source (a connection or a process): a source
that sends only updates nobody can integrate fills its own share and is refused.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from crdt.update import ID, Update


class PendingLimitReached(ValueError):
    """The source (or the document) holds as many waiting updates as it may."""


@dataclass(frozen=True, slots=True)
class PendingLimits:
    updates: int = 512
    bytes: int = 8 * 1024 * 1024
    updates_per_source: int = 128
    bytes_per_source: int = 2 * 1024 * 1024


@dataclass(slots=True)
class Waiting:
    data: bytes
    update: Update
    source: object | None
    check: bool


class PendingUpdates:
    __slots__ = ("_by_client", "_bytes", "_count", "_limits", "_source_bytes", "_source_count")

    def __init__(self, limits: PendingLimits | None = None) -> None:
        self._limits = limits or PendingLimits()
        # client -> [(clock, waiting)]: the update waits until the client's clock passes.
        self._by_client: dict[int, list[tuple[int, Waiting]]] = {}
        self._count = 0
        self._bytes = 0
        self._source_count: Counter[object] = Counter()
        self._source_bytes: Counter[object] = Counter()

    def __len__(self) -> int:
        return self._count

    @property
    def size(self) -> int:
        return self._bytes

    def clients(self) -> list[int]:
        """The clients some update waits on."""
        return list(self._by_client)

    def add(self, waiting: Waiting, on: ID, *, counted: bool = True) -> None:
        """Keep ``waiting`` until the document holds ``on``; raises PendingLimitReached.

        ``counted=False`` puts back an update taken out by :meth:`take` (it is already
        within the limits)."""
        size = len(waiting.data)
        if counted:
            limits, source = self._limits, waiting.source
            if (
                self._source_count[source] + 1 > limits.updates_per_source
                or self._source_bytes[source] + size > limits.bytes_per_source
            ):
                raise PendingLimitReached("too many updates waiting for edits the server lacks")
            if self._count + 1 > limits.updates or self._bytes + size > limits.bytes:
                raise PendingLimitReached("the document holds too many updates waiting for edits")
        self._by_client.setdefault(on[0], []).append((on[1], waiting))
        self._count += 1
        self._bytes += size
        self._source_count[waiting.source] += 1
        self._source_bytes[waiting.source] += size

    def take(self, client: int, next_clock: int) -> list[Waiting]:
        """Remove and return the updates waiting on ``client`` below ``next_clock``,
        oldest first. Put back those that still wait with ``add(..., counted=False)``."""
        entries = self._by_client.get(client)
        if not entries:
            return []
        taken = [waiting for clock, waiting in entries if clock < next_clock]
        if not taken:
            return []
        kept = [(clock, waiting) for clock, waiting in entries if clock >= next_clock]
        if kept:
            self._by_client[client] = kept
        else:
            del self._by_client[client]
        for waiting in taken:
            size = len(waiting.data)
            self._count -= 1
            self._bytes -= size
            self._source_count[waiting.source] -= 1
            self._source_bytes[waiting.source] -= size
            if not self._source_count[waiting.source]:
                del self._source_count[waiting.source]
                del self._source_bytes[waiting.source]
        return taken

    def entries(self) -> dict[int, list[tuple[int, Waiting]]]:
        """The waiting updates by the client whose clock each waits to pass."""
        return self._by_client

    def waiting_from(self, source: object) -> int:
        return self._source_count[source]
