"""The Prometheus metrics of one server process, and how several processes share them.

The live layer counts in plain integers (:mod:`rooms.live.counters`); the broker, the
outbox and the hub keep their own figures. :class:`ProcessMetrics` copies what changed
into prometheus-client metrics about once a second, once more right before it answers
a scrape, and once at shutdown.

With several worker processes (``roundtable serve --workers N``) every process writes
its metrics to files in the directory named by ``PROMETHEUS_MULTIPROC_DIR``, which
``roundtable serve`` creates before the workers start (:mod:`server.metrics_dir`); a
scrape, whichever worker answers it, reads every process's files. Counters and
histograms of processes that stopped stay in the sums (a counter does not go back);
gauges are "live": a process that stops removes its own, and a scrape removes those of
processes that died without stopping. Without the variable (one process, tests) each
application has a registry of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, values
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from rooms.live.counters import COUNTERS, LiveCounters, unpack
from server.metrics_dir import MULTIPROCESS_VARIABLE
from server.redis_broker import RedisBroker
from server.state import AppState

log = logging.getLogger("roundtable.metrics")

# Seconds between two copies of the plain counters into the metrics.
COPY_INTERVAL = 1.0
SOCKETS = ("sync", "events")
# The files of live gauges name the process that wrote them.
_LIVE_GAUGE_FILE = re.compile(r"gauge_live\w+?_(\d+)\.db")


def shared_directory() -> str | None:
    """The directory this process shares its metrics through, or None when it keeps
    them in a registry of its own."""
    path = os.environ.get(MULTIPROCESS_VARIABLE)
    if not path:
        return None
    if values.ValueClass is values.MutexValue:
        # prometheus-client chooses where values live when it is first imported.
        log.warning(
            "%s was set after prometheus_client was imported: this process's metrics only",
            MULTIPROCESS_VARIABLE,
        )
        return None
    return path


def forget_dead_processes(path: str) -> None:
    """Remove the live gauges of processes that no longer run (killed, crashed): a
    process that stops marks itself dead, one that is killed cannot."""
    pids = {
        int(match.group(1))
        for name in os.listdir(path)
        if (match := _LIVE_GAUGE_FILE.fullmatch(name)) is not None
    }
    for pid in pids:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            mark_process_dead(pid, path)  # type: ignore[no-untyped-call]
            continue
        except PermissionError:
            # Running, under another user.
            continue
        if _zombie(pid):
            # Killed, and not yet reaped by the supervisor (which may be waiting on it).
            mark_process_dead(pid, path)  # type: ignore[no-untyped-call]


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            # "pid (command) state ...": the command may hold spaces and parentheses.
            return stat.read().rpartition(")")[2].split()[0] == "Z"
    except (OSError, IndexError):
        return False


class ProcessMetrics:
    """This process's metrics: defined once, fed from the plain counters.

    :meth:`start` runs the copying task; :meth:`exposition` answers a scrape;
    :meth:`close` copies a last time and, with a shared directory, marks the process
    dead so its live gauges leave the sums.
    """

    def __init__(
        self, state: AppState, directory: str | None, counters: LiveCounters = COUNTERS
    ) -> None:
        self._state = state
        self._counters = counters
        self.directory = directory
        # With a shared directory the values live in its files, read by a collector of
        # each scrape; the metrics then belong to no registry.
        self.registry = CollectorRegistry() if directory is None else None
        registry = self.registry
        self.connections = Gauge(
            "roundtable_connections",
            "Open WebSocket connections, by socket (sync: documents, events: rooms)",
            ["socket"],
            registry=registry,
            multiprocess_mode="liveall",
        )
        self.processes = Gauge(
            "roundtable_processes",
            "Server processes running (1 per process)",
            registry=registry,
            multiprocess_mode="liveall",
        )
        self.documents = Gauge(
            "roundtable_documents_loaded",
            "Documents loaded in memory",
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.updates_received = Counter(
            "roundtable_updates_received",
            "Document updates clients sent (sync step 2 and update messages)",
            registry=registry,
        )
        self.update_bytes_received = Counter(
            "roundtable_update_bytes_received",
            "Bytes of the document updates clients sent (without the message framing)",
            registry=registry,
        )
        self.updates_sent = Counter(
            "roundtable_updates_sent",
            "Document updates delivered to clients (a broadcast to n clients counts n)",
            registry=registry,
        )
        self.update_bytes_sent = Counter(
            "roundtable_update_bytes_sent",
            "Bytes of the document updates delivered to clients (without the framing)",
            registry=registry,
        )
        self.flush_seconds = Histogram(
            "roundtable_flush_seconds",
            "Time one write-behind flush took to store a document's batch of updates",
            registry=registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.flush_failures = Counter(
            "roundtable_flush_failures",
            "Write-behind flushes that failed (the updates stay in memory and are retried)",
            registry=registry,
        )
        self.broker_reconnects = Counter(
            "roundtable_broker_reconnects",
            "Times the connection to Redis came back after it was lost",
            registry=registry,
        )
        self.broker_dropped = Counter(
            "roundtable_broker_dropped_messages",
            "Broker messages not published because Redis was unreachable",
            registry=registry,
        )
        self.broker_lag = Histogram(
            "roundtable_broker_lag_seconds",
            "Time from publishing on Redis to arrival at the subscriber, sampled with each "
            "process's own heartbeat (every 2 s)",
            registry=registry,
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
        )
        self.slow_readers = Counter(
            "roundtable_slow_reader_drops",
            "Connections closed because their client did not read what was sent to it",
            ["socket"],
            registry=registry,
        )
        self.catch_up = Histogram(
            "roundtable_event_catch_up_events",
            "Events sent to a reconnecting event socket that it had missed",
            registry=registry,
            buckets=(0, 1, 5, 10, 25, 50, 100, 250, 500, 1000),
        )
        self.event_resyncs = Counter(
            "roundtable_event_resyncs",
            "Reconnecting event sockets that had missed too much and were told to resync",
            registry=registry,
        )
        self.emails_queued = Gauge(
            "roundtable_emails_queued",
            "Emails waiting to be sent (or being sent)",
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.emails_sent = Counter(
            "roundtable_emails_sent",
            "Emails handed to the SMTP server (or the log)",
            registry=registry,
        )
        self.emails_failed = Counter(
            "roundtable_emails_failed",
            "Emails given up on (refused, failed after the retries, or dropped)",
            registry=registry,
        )
        # Every labelled series exists from the start, at 0.
        for socket in SOCKETS:
            self.connections.labels(socket)
            self.slow_readers.labels(socket)
        self.processes.set(1)
        # What the cumulative figures read at the last copy.
        self._last = self._readings()
        self._task: asyncio.Task[None] | None = None

    def _readings(self) -> dict[str, int]:
        counters, state = self._counters, self._state
        broker = state.hub.broker
        redis = broker if isinstance(broker, RedisBroker) else None
        return {
            "updates_received": counters.updates_received,
            "updates_sent": counters.updates_sent,
            "flush_failures": counters.flush_failures,
            "event_resyncs": counters.event_resyncs,
            "sync_slow_readers": counters.sync_slow_readers,
            "event_slow_readers": counters.event_slow_readers,
            "broker_reconnects": 0 if redis is None else redis.reconnects,
            "broker_dropped": 0 if redis is None else redis.dropped,
            "emails_sent": state.outbox.sent,
            "emails_failed": state.outbox.failed,
        }

    def copy(self) -> None:
        """Bring the metrics up to date with the counters."""
        counters, state = self._counters, self._state
        now = self._readings()
        delta = {key: value - self._last[key] for key, value in now.items()}
        self._last = now
        added: list[tuple[Callable[[float], None], int]] = [
            (self.flush_failures.inc, delta["flush_failures"]),
            (self.event_resyncs.inc, delta["event_resyncs"]),
            (self.slow_readers.labels("sync").inc, delta["sync_slow_readers"]),
            (self.slow_readers.labels("events").inc, delta["event_slow_readers"]),
            (self.broker_reconnects.inc, delta["broker_reconnects"]),
            (self.broker_dropped.inc, delta["broker_dropped"]),
            (self.emails_sent.inc, delta["emails_sent"]),
            (self.emails_failed.inc, delta["emails_failed"]),
        ]
        for packed, count, size_counter in (
            ("updates_received", self.updates_received, self.update_bytes_received),
            ("updates_sent", self.updates_sent, self.update_bytes_sent),
        ):
            updates, nbytes = unpack(delta[packed])
            added += [(count.inc, updates), (size_counter.inc, nbytes)]
        for inc, amount in added:
            if amount > 0:
                inc(amount)
        flushes, counters.flush_seconds = counters.flush_seconds, []
        for seconds in flushes:
            self.flush_seconds.observe(seconds)
        catch_ups, counters.catch_up_sizes = counters.catch_up_sizes, []
        for size in catch_ups:
            self.catch_up.observe(size)
        broker = state.hub.broker
        if isinstance(broker, RedisBroker):
            lags, broker.lag_samples = broker.lag_samples, []
            for lag in lags:
                self.broker_lag.observe(lag)
        self.connections.labels("sync").set(counters.sync_connections)
        self.connections.labels("events").set(counters.event_connections)
        self.documents.set(len(state.hub.documents))
        self.emails_queued.set(state.outbox.pending)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._copy_every(COPY_INTERVAL))

    async def _copy_every(self, seconds: float) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                self.copy()
            except Exception:
                log.exception("could not update the metrics")

    def exposition(self, accept: str | None) -> tuple[bytes, str]:
        """Every process's metrics in the format ``accept`` asks for (Prometheus text
        or OpenMetrics), and its content type."""
        self.copy()
        encode, content_type = choose_encoder(accept or "")
        if self.directory is None:
            assert self.registry is not None
            return encode(self.registry), content_type
        forget_dead_processes(self.directory)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=self.directory)  # type: ignore[no-untyped-call]
        return encode(registry), content_type

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.copy()
        if self.directory is not None:
            mark_process_dead(os.getpid(), self.directory)  # type: ignore[no-untyped-call]
