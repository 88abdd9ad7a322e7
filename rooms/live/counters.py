"""Plain counters of this process's live traffic, read by the metrics endpoint.

The hot paths (every frame a client sends, every broadcast) only add to integers of
one process-wide :data:`COUNTERS`; ``server/metrics.py`` copies what changed into the
Prometheus metrics about once a second. Nothing here knows Prometheus.

An update counter holds two figures in one integer, so that each received update and
each broadcast costs a single addition: :data:`UPDATE` per update plus its bytes. A
reader takes the difference of two readings and splits it with :func:`unpack`; that is
exact as long as fewer than ``UPDATE`` bytes (1 TiB) went by between the readings.
"""

from __future__ import annotations

# One update in a packed counter; the bytes go below it.
UPDATE = 1 << 40
# Samples kept for a histogram between two readings; beyond, they are left out (the
# reader takes them every second, so only a process without one ever gets there).
MAX_SAMPLES = 4096


def unpack(delta: int) -> tuple[int, int]:
    """(updates, bytes) of the difference of two readings of a packed counter."""
    updates, size = divmod(delta, UPDATE)
    return updates, size


class LiveCounters:
    """What happened in this process since it started. Counters only grow; the
    connection counts go up and down; sample lists are emptied by their reader."""

    __slots__ = (
        "catch_up_sizes",
        "event_connections",
        "event_resyncs",
        "event_slow_readers",
        "flush_failures",
        "flush_seconds",
        "sync_connections",
        "sync_slow_readers",
        "updates_received",
        "updates_sent",
    )

    def __init__(self) -> None:
        # Packed: document updates clients sent (sync step 2 and update messages).
        self.updates_received = 0
        # Packed: updates delivered to clients; a broadcast to n peers counts n.
        self.updates_sent = 0
        # Open sockets: /sync (from the handshake to the end) and /events.
        self.sync_connections = 0
        self.event_connections = 0
        # Connections closed because their client did not read what was sent to it.
        self.sync_slow_readers = 0
        self.event_slow_readers = 0
        # Write-behind: seconds each successful write took; failed writes.
        self.flush_seconds: list[float] = []
        self.flush_failures = 0
        # Events sent to each event socket that reconnected with ``after``, and the
        # reconnects that had missed too much and were told to resync instead.
        self.catch_up_sizes: list[float] = []
        self.event_resyncs = 0

    def flushed(self, seconds: float) -> None:
        """A write-behind flush stored its batch in ``seconds``."""
        if len(self.flush_seconds) < MAX_SAMPLES:
            self.flush_seconds.append(seconds)

    def caught_up(self, events: int) -> None:
        """A reconnecting event socket was sent the ``events`` it had missed."""
        if len(self.catch_up_sizes) < MAX_SAMPLES:
            self.catch_up_sizes.append(events)


COUNTERS = LiveCounters()
