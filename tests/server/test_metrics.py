"""The metrics of several processes: each plain counter reaches its metric, the shared
directory is prepared before the workers start, and ``roundtable serve --workers 2``
answers a scrape with every worker's figures, which a worker's death takes out of the
live gauges (and leaves in the counters)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.websockets import WebSocket

from rooms.live.counters import COUNTERS, UPDATE, LiveCounters
from rooms.live.writer import DocumentWriter, WriterSettings
from rooms.memory import MemoryStore
from rooms.ports import StoreError
from rooms.roles import Role
from server.metrics import ProcessMetrics, forget_dead_processes
from server.metrics_dir import MULTIPROCESS_VARIABLE, prepare_directory
from server.redis_broker import RedisBroker
from server.sockets.peer import WebSocketPeer
from server.state import AppState
from tests.support.cluster import (
    Database,
    Launcher,
    RedisProxy,
    ServeProcess,
    converge,
    doc_url,
    join_over_http,
    poll,
)
from tests.support.encoding import keystrokes
from tests.support.timing import eventually, timeout
from tests.support.yclient import YClient, close_all, open_synced

TOKEN = "metrics-test-token-0123456789"


# ------------------------------------------------------------ one process, no server


async def test_each_counter_reaches_its_metric() -> None:
    counters = LiveCounters()
    broker = RedisBroker("redis://127.0.0.1:9/0")
    outbox = SimpleNamespace(sent=0, failed=0, pending=0)
    hub = SimpleNamespace(broker=broker, documents={})
    metrics = ProcessMetrics(
        cast(AppState, SimpleNamespace(hub=hub, outbox=outbox)), None, counters
    )
    assert metrics.registry is not None
    read = metrics.registry.get_sample_value

    counters.updates_received += 3 * UPDATE + 100  # three updates, 100 bytes in all
    counters.updates_sent += (UPDATE + 10) * 4  # one 10-byte update to four clients
    counters.sync_connections, counters.event_connections = 5, 2
    counters.sync_slow_readers += 1
    counters.event_slow_readers += 2
    counters.flush_failures += 3
    counters.flushed(0.02)
    counters.caught_up(7)
    counters.event_resyncs += 1
    broker.reconnects += 1
    broker.dropped += 4
    broker.lag_samples.append(0.003)
    outbox.sent, outbox.failed, outbox.pending = 2, 1, 3
    hub.documents = {1: object(), 2: object()}
    expected = {
        ("roundtable_updates_received_total", ()): 3,
        ("roundtable_update_bytes_received_total", ()): 100,
        ("roundtable_updates_sent_total", ()): 4,
        ("roundtable_update_bytes_sent_total", ()): 40,
        ("roundtable_connections", (("socket", "sync"),)): 5,
        ("roundtable_connections", (("socket", "events"),)): 2,
        ("roundtable_slow_reader_drops_total", (("socket", "sync"),)): 1,
        ("roundtable_slow_reader_drops_total", (("socket", "events"),)): 2,
        ("roundtable_flush_failures_total", ()): 3,
        ("roundtable_flush_seconds_count", ()): 1,
        ("roundtable_flush_seconds_sum", ()): 0.02,
        ("roundtable_event_catch_up_events_sum", ()): 7,
        ("roundtable_event_resyncs_total", ()): 1,
        ("roundtable_broker_reconnects_total", ()): 1,
        ("roundtable_broker_dropped_messages_total", ()): 4,
        ("roundtable_broker_lag_seconds_sum", ()): 0.003,
        ("roundtable_emails_sent_total", ()): 2,
        ("roundtable_emails_failed_total", ()): 1,
        ("roundtable_emails_queued", ()): 3,
        ("roundtable_documents_loaded", ()): 2,
        ("roundtable_processes", ()): 1,
    }

    def readings() -> dict[tuple[str, tuple[tuple[str, str], ...]], float | None]:
        return {(name, labels): read(name, dict(labels)) for name, labels in expected}

    metrics.copy()
    assert readings() == expected
    # The samples were taken; a second copy with nothing new changes nothing.
    assert counters.flush_seconds == counters.catch_up_sizes == broker.lag_samples == []
    metrics.copy()
    assert readings() == expected
    counters.sync_connections = 0
    counters.updates_received += UPDATE + 1
    metrics.copy()
    assert read("roundtable_connections", {"socket": "sync"}) == 0
    assert read("roundtable_updates_received_total") == 4
    assert read("roundtable_update_bytes_received_total") == 101


async def test_failed_and_timed_flushes_are_counted() -> None:
    store = MemoryStore()
    room = await store.create_room("room", "Room", {})
    document = await store.create_document(room.id, "notes")
    writer = DocumentWriter(store, document.id, "room/notes", WriterSettings(flush_interval=3600))
    failures, timed = COUNTERS.flush_failures, len(COUNTERS.flush_seconds)
    store.state.fail_writes = OSError("database is down")
    writer.enqueue(keystrokes("a")[0])
    with pytest.raises(StoreError):
        await writer.flush()
    assert (COUNTERS.flush_failures, len(COUNTERS.flush_seconds)) == (failures + 1, timed)
    store.state.fail_writes = None
    await writer.close()
    assert (COUNTERS.flush_failures, len(COUNTERS.flush_seconds)) == (failures + 1, timed + 1)


class UnreadSocket:
    """A WebSocket whose client reads nothing: sends never finish."""

    closed: tuple[int, str] | None = None

    async def send_bytes(self, data: bytes) -> None:
        await asyncio.Event().wait()

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        self.closed = (code, reason or "")


async def test_a_slow_reader_dropped_is_counted() -> None:
    socket = UnreadSocket()
    dropped = COUNTERS.sync_slow_readers
    made: list[WebSocketPeer] = []

    async def handler() -> None:
        # The connection's handler owns its peer, as the sync endpoint's does.
        made.append(WebSocketPeer(cast(WebSocket, socket), 100, 60, "test"))
        await asyncio.Event().wait()

    task = asyncio.create_task(handler())
    await eventually(lambda: bool(made))
    (peer,) = made
    peer.send(b"z" * 50)
    assert COUNTERS.sync_slow_readers == dropped
    peer.send(b"z" * 400)  # past four times the limit: dropped at once
    await eventually(lambda: socket.closed is not None, what="the close")
    assert socket.closed == (1013, "send buffer overflow")
    await eventually(task.done, what="the handler to stop")
    assert COUNTERS.sync_slow_readers == dropped + 1


def test_the_directory_is_emptied_of_metrics_files(tmp_path: Path) -> None:
    directory = tmp_path / "metrics"
    directory.mkdir()
    (directory / "counter_4242.db").write_bytes(b"from an earlier run")
    (directory / "notes.txt").write_text("not ours")
    environ: dict[str, str] = {}
    assert prepare_directory(environ, str(directory)) == str(directory)
    assert environ[MULTIPROCESS_VARIABLE] == str(directory)
    assert sorted(p.name for p in directory.iterdir()) == ["notes.txt"]


def test_a_directory_is_made_when_none_is_named(tmp_path: Path) -> None:
    environ: dict[str, str] = {}
    made = Path(prepare_directory(environ, None))
    try:
        assert made.is_dir() and not any(made.iterdir())
        assert environ[MULTIPROCESS_VARIABLE] == str(made)
    finally:
        made.rmdir()
    # One named by the variable is the operator's: used as it is, never emptied.
    given = tmp_path / "given"
    given.mkdir()
    (given / "counter_1.db").write_bytes(b"")
    assert prepare_directory({MULTIPROCESS_VARIABLE: str(given)}, str(tmp_path / "x")) == str(given)
    assert (given / "counter_1.db").exists()
    with pytest.raises(ValueError, match="not a directory"):
        prepare_directory({MULTIPROCESS_VARIABLE: str(tmp_path / "missing")}, None)


def test_the_live_gauges_of_a_killed_process_are_forgotten(tmp_path: Path) -> None:
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    dead = int(ended.stdout)
    for pid in (dead, os.getpid()):
        (tmp_path / f"gauge_liveall_{pid}.db").write_bytes(b"")
        (tmp_path / f"gauge_livesum_{pid}.db").write_bytes(b"")
        (tmp_path / f"counter_{pid}.db").write_bytes(b"")
    forget_dead_processes(str(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [
            f"counter_{dead}.db",
            f"counter_{os.getpid()}.db",
            f"gauge_liveall_{os.getpid()}.db",
            f"gauge_livesum_{os.getpid()}.db",
        ]
    )


@pytest.mark.redis
async def test_the_broker_times_its_own_heartbeats_and_counts_reconnects(
    redis_url: str, prefix: str
) -> None:
    proxy = RedisProxy(redis_url)
    await proxy.start()
    broker = RedisBroker(proxy.url, prefix, heartbeat_seconds=0.05)
    await broker.start()
    try:
        await eventually(lambda: len(broker.lag_samples) >= 3, 5, "heartbeats to be timed")
        assert all(0 <= lag < timeout(5) for lag in broker.lag_samples)
        assert broker.reconnects == 0
        proxy.cut()
        await eventually(lambda: broker.reconnects == 1, 10, "the broker to reconnect")
        broker.lag_samples.clear()
        await eventually(lambda: bool(broker.lag_samples), 5, "heartbeats timed again")
    finally:
        await broker.close()
        await proxy.close()


# ------------------------------------------------------------ two worker processes


Series = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(served: ServeProcess) -> Series:
    """Every series of a scrape; none while no worker answers (both being replaced)."""
    try:
        async with httpx.AsyncClient(base_url=served.http, timeout=timeout(5)) as client:
            answer = await client.get("/metrics", headers={"authorization": f"Bearer {TOKEN}"})
    except httpx.TransportError:
        return {}
    assert answer.status_code == 200, answer.text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def per_process(series: Series, name: str, **labels: str) -> dict[int, float]:
    """A live gauge's value in each process (by its pid label)."""
    found: dict[int, float] = {}
    for (sample, sample_labels), value in series.items():
        rest = dict(sample_labels)
        pid = rest.pop("pid", None)
        if sample == name and rest == labels and pid is not None:
            found[int(pid)] = value
    return found


@pytest.mark.redis
@pytest.mark.postgres
async def test_two_workers_are_summed_and_a_stopped_one_drops_out(
    postgres_url: str,
    redis_url: str,
    prefix: str,
    launcher: Launcher,
    database: Database,
    tmp_path: Path,
) -> None:
    directory = tmp_path / "metrics"
    directory.mkdir()
    # Left by an earlier run: emptied before the workers start, so not summed in.
    (directory / "gauge_liveall_4242.db").write_bytes(b"\0" * 16)
    served = await launcher.start(
        "metered",
        database_url=postgres_url,
        redis_url=redis_url,
        prefix=prefix,
        workers=2,
        env={
            "ROUNDTABLE_METRICS_TOKEN": TOKEN,
            "ROUNDTABLE_METRICS_DIR": str(directory),
            # A stopped worker closes its sockets at once.
            "ROUNDTABLE_DRAIN_SECONDS": "0",
            "ROUNDTABLE_CLOSE_SPREAD_SECONDS": "0",
        },
    )
    assert not (directory / "gauge_liveall_4242.db").exists()
    room = await database.create_room()
    url = doc_url(served, room)
    clients: list[YClient] = []

    async def open_clients(count: int) -> None:
        async def one(index: int) -> YClient:
            token = await join_over_http(served.http, room, Role.MEMBER, f"Member {index}")
            return await open_synced(url, token)

        start = len(clients)
        clients.extend(await asyncio.gather(*(one(i) for i in range(start, start + count))))

    series: Series = {}

    async def both_workers_counted() -> bool:
        nonlocal series
        series = await scrape(served)
        counts = per_process(series, "roundtable_connections", socket="sync")
        return sum(counts.values()) == len(clients) and len(counts) == 2

    try:
        # Which worker accepts a connection is the kernel's choice: open more until
        # both hold some.
        await open_clients(4)
        while True:
            await poll(both_workers_counted, 10, f"a scrape to count {len(clients)} clients")
            counts = per_process(series, "roundtable_connections", socket="sync")
            if all(counts.values()):
                break
            assert len(clients) < 40, f"every connection went to one worker: {counts}"
            await open_clients(4)
        assert sorted(per_process(series, "roundtable_processes")) == sorted(counts)
        before = series[("roundtable_updates_received_total", frozenset())]
        words = [f"word{n}" for n in range(len(clients))]
        for client, word in zip(clients, words, strict=True):
            client.insert(0, word + " ")
        await converge({str(n): _text_of(c) for n, c in enumerate(clients)}, words, 15)

        async def edits_counted() -> bool:
            nonlocal series
            series = await scrape(served)
            total = series.get(("roundtable_updates_received_total", frozenset()), 0)
            return total >= before + len(clients)

        # Each worker counts its own clients' edits; the scrape sums them.
        await poll(edits_counted, 10, "the edits on both workers to be counted")
        received = series[("roundtable_updates_received_total", frozenset())]

        # One worker stops (SIGTERM): its clients are closed, its gauges leave the sums,
        # its counts stay in the counters. uvicorn starts a new worker in its place.
        stopped, closing = next(iter(counts.items()))
        os.kill(stopped, signal.SIGTERM)
        left = len(clients) - int(closing)

        async def stopped_one_gone() -> bool:
            nonlocal series
            series = await scrape(served)
            now = per_process(series, "roundtable_connections", socket="sync")
            return bool(series) and stopped not in now and sum(now.values()) == left

        await poll(stopped_one_gone, 30, "the stopped worker's connections to leave the sum")
        assert stopped not in per_process(series, "roundtable_processes")
        assert sum(not c.is_open for c in clients) == closing
        assert series[("roundtable_updates_received_total", frozenset())] >= received

        # The other is killed (SIGKILL: it cannot say so): a scrape finds it gone.
        (killed,) = (pid for pid in counts if pid != stopped)
        os.kill(killed, signal.SIGKILL)

        async def killed_one_gone() -> bool:
            nonlocal series
            series = await scrape(served)
            now = per_process(series, "roundtable_connections", socket="sync")
            return bool(series) and killed not in now and sum(now.values()) == 0

        await poll(killed_one_gone, 30, "the killed worker's connections to leave the sum")
        assert killed not in per_process(series, "roundtable_processes")
    finally:
        await close_all(*clients)


def _text_of(client: YClient) -> Callable[[], str | None]:
    return lambda: str(client.text)
