"""Soak: many connections over many documents, cycle after cycle, watching the server's RSS.

    make soak MINUTES=5
    .venv/bin/python -m bench.soak --minutes 5 --redis-url redis://127.0.0.1:6379/0

One Roundtable process is started (`bench.servers.start_roundtable`, SQLite in a
temporary directory, log level info, ``ROUNDTABLE_IDLE_UNLOAD_SECONDS=1``, the abuse
limits off since every client connects from one address; with ``--redis-url``, Redis
pub/sub under a channel prefix of its own). The ``--connections`` sync clients are
spread evenly over the ``--documents`` documents, and the documents evenly over
``--rooms`` rooms: by default 1,000 connections, 100 documents, 10 rooms, so 10 clients
per document and 100 participants per room. Every participant joins by invite once,
before the first cycle, and reconnects with the same token in every cycle. Cycles run
until the time is up (or ``--cycles`` are done); one cycle:

1. opens every sync socket (at most ``--open-concurrency`` handshakes at a time); each
   client syncs (step 1 / step 2), then appends ``--edits`` markers ``[cycle:client:k]``
   at the end of the document's text, one update each, and sends one awareness state.
   In the first cycle the first client of each document also writes the document's
   seed text at its start: ``--document-bytes`` (64 KiB) beginning with the marker
   ``[0:document:0]``, so that each document weighs on memory as a real one does. The
   first client of each document (``--events-share``, 1 in 10 by default) also opens
   its room's events socket and sends a presence message naming its document;
2. waits until every client holds every marker of its document and the copies of each
   document are equal (convergence), and every events socket saw its own presence in a
   roster;
3. closes every socket (the server must answer with code 1000), then waits until the
   server has unloaded every document: ``/health`` reports no document loaded, the
   server log has one ``roundtable.hub: unloaded`` line per ``loaded`` line, and with
   Redis ``PUBSUB CHANNELS <prefix>:*`` lists no document, room or presence channel,
   only the process's ``control`` channel (so every listener was removed);
4. reads the server's VmRSS from ``/proc/PID/status``.

Errors are anything unexpected: a failed join or connection, a close the client did not
ask for or a close code other than 1000, a permission-denied message, a sync,
convergence, presence or unload timeout, copies that differ, a channel left subscribed,
and every WARNING or ERROR line (or traceback) in the server log. After the last cycle
the server is stopped and the stored text of every document is read back from SQLite:
it must hold every marker any client sent, exactly once.

Writes the report as JSON (``--out``) and prints a summary; RSS figures are in KiB, as
``/proc`` gives them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import re
import signal
import sys
import tempfile
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pycrdt import Doc, Text, TextEvent
from redis.asyncio import Redis
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from bench.servers import ROOT, Running, _post, start_roundtable, stop
from crdt.awareness import AwarenessEntry, encode_awareness_update
from crdt.document import SyncDocument
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
from server.storage.store import SqlStore, create_engine

DEFAULT_OUT = ROOT / "bench" / "results" / "soak.json"
ADMIN_TOKEN = "soak-admin-token-" + uuid.uuid4().hex
# Joins of the participants before the first cycle, at most this many at a time.
JOIN_CONCURRENCY = 16
# Each cycle's markers: [cycle:client:edit]. Markers are appended at the end of the text
# (seed texts inserted at its start), so no insert ever lands inside one: each stays
# contiguous.
MARKER = re.compile(r"\[(\d+):(\d+):(\d+)\]")
NORMAL_CLOSE = 1000
# What each document's seed text is made of (no brackets, so no marker can appear in it).
FILLER = "Notes of the cohort, written over many sessions; kept here for the soak. "
# How often the waits that have no event to wait on (the server's state, seen from
# outside) look again, inside their deadline.
POLL_SECONDS = 0.05
# At most this many error messages are kept per cycle (all are counted).
KEPT_ERRORS = 50


@dataclass(frozen=True)
class SoakConfig:
    connections: int = 1000
    documents: int = 100
    rooms: int = 10
    edits_per_client: int = 2
    # Each document starts with this much text, written in the first cycle by its first
    # client: a document with content weighs on memory as a real one does.
    document_bytes: int = 64 * 1024
    # Share of each document's clients that also open the room's events socket.
    events_share: float = 0.1
    # Stop after this many cycles, or once this many seconds have passed (whichever
    # comes first; at least one of them must be given).
    cycles: int | None = None
    seconds: float | None = None
    redis_url: str | None = None
    redis_prefix: str | None = None
    idle_unload_seconds: float = 1.0
    # The server's write-behind interval; None keeps its default.
    flush_interval: float | None = None
    open_concurrency: int = 100
    # Multiplies every timeout (slow machines).
    timeout_scale: float = 1.0
    # Pin the server to this CPU core (taskset); None leaves it unpinned.
    server_core: int | None = None
    stop_on_error: bool = False
    # Where the database and the server log go; a temporary directory when None.
    workdir: Path | None = None
    progress: bool = False

    def __post_init__(self) -> None:
        if self.cycles is None and self.seconds is None:
            raise ValueError("give cycles or seconds")
        if self.documents % self.rooms or self.connections % self.documents:
            raise ValueError("documents must divide evenly into rooms, connections into documents")

    @property
    def clients_per_document(self) -> int:
        return self.connections // self.documents

    @property
    def documents_per_room(self) -> int:
        return self.documents // self.rooms

    @property
    def events_per_document(self) -> int:
        return round(self.events_share * self.clients_per_document)


@dataclass(frozen=True)
class Participant:
    """One sync client's seat: connection ``index`` edits document ``document``."""

    index: int
    document: int
    room: str
    name: str
    token: str
    participant_id: str
    events: bool


def document_name(document: int) -> str:
    return f"soak-{document:04d}"


def marker(cycle: int, client: int, edit: int) -> str:
    return f"[{cycle}:{client}:{edit}]"


def seed_text(document: int, size: int) -> str:
    """A document's first content: its marker ``[0:document:0]``, then filler."""
    head = marker(0, document, 0)
    return head + (FILLER * (size // len(FILLER) + 1))[: max(0, size - len(head))]


async def _connect(url: str, open_timeout: float) -> ClientConnection:
    return await connect(
        url,
        max_size=None,
        open_timeout=open_timeout,
        ping_interval=None,
        compression=None,
        proxy=None,
    )


class SyncClient:
    """A lean y-websocket client on pycrdt: sync, append markers, await everyone's.

    Markers are looked for in what each change inserts (the text's deltas), not in the
    whole text after every frame: a marker is always inserted whole, in one piece.
    """

    def __init__(
        self,
        seat: Participant,
        url: str,
        own: list[str],
        expected: set[str],
        cycle: int,
        seed: str | None = None,
    ) -> None:
        self.seat = seat
        self.url = url
        self.own = own
        self.seed = seed
        self.pending = set(expected)
        self.cycle = cycle
        self.doc: Doc[Any] = Doc()
        self.text = self.doc.get("text", type=Text)
        # pycrdt keeps an observed document alive until it is unobserved (see close).
        self._subscription = self.text.observe(self._on_text)
        self.synced = asyncio.Event()
        self.complete = asyncio.Event()
        # The connection is over (refused, dropped or closed): nothing more will come.
        self.gone = asyncio.Event()
        self.sent: list[str] = []
        self.errors: list[str] = []
        self.awareness_frames = 0
        self._closing = False
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None

    def _error(self, what: str) -> None:
        self.errors.append(
            f"sync client {self.seat.index} on {document_name(self.seat.document)}: {what}"
        )

    async def open(self, open_timeout: float) -> None:
        try:
            self._ws = await _connect(f"{self.url}?token={self.seat.token}", open_timeout)
            await self._ws.send(encode_sync_step1(self.doc.get_state()))
        except Exception as exc:  # refused, timed out, or a failed handshake
            self._error(f"could not connect: {exc!r}")
            self.gone.set()
            return
        self._reader = asyncio.create_task(self._read(self._ws))

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for frame in ws:
                if not isinstance(frame, bytes):
                    self._error("text frame from the server")
                    continue
                try:
                    message = decode_message(frame)
                except ProtocolError as exc:
                    self._error(f"malformed frame from the server: {exc}")
                    continue
                if isinstance(message, SyncStep1):
                    await ws.send(encode_sync_step2(self.doc.get_update(message.state_vector)))
                elif isinstance(message, SyncStep2):
                    self.doc.apply_update(message.update)
                    if not self.synced.is_set():
                        self.synced.set()
                        await self._edit(ws)
                elif isinstance(message, SyncUpdate):
                    self.doc.apply_update(message.update)
                elif isinstance(message, AwarenessUpdate):
                    self.awareness_frames += 1
                elif isinstance(message, PermissionDenied):
                    self._error(f"permission denied: {message.reason}")
                self._check()
        except ConnectionClosed:
            pass
        finally:
            if not self._closing:
                self._error(f"closed by the server: {ws.close_code} {ws.close_reason or ''}")
            self.gone.set()

    async def _edit(self, ws: ClientConnection) -> None:
        if self.seed is not None:
            before = self.doc.get_state()
            self.text.insert(0, self.seed)
            await ws.send(encode_update(self.doc.get_update(before)))
            self.sent.append(self.seed[: self.seed.index("]") + 1])
        for value in self.own:
            before = self.doc.get_state()
            self.text.insert(len(self.text), value)
            await ws.send(encode_update(self.doc.get_update(before)))
            self.sent.append(value)
        state = {"user": {"name": self.seat.name, "cycle": self.cycle}, "cursor": None}
        await ws.send(
            encode_awareness(
                encode_awareness_update([AwarenessEntry(self.doc.client_id, 1, state)])
            )
        )

    def _on_text(self, event: TextEvent) -> None:
        # TextEvent declares its fields as slots only: delta is a list of dicts.
        delta: list[dict[str, Any]] = getattr(event, "delta", [])
        for change in delta:
            inserted = change.get("insert")
            if isinstance(inserted, str) and self.pending:
                self.pending = {value for value in self.pending if value not in inserted}

    def _check(self) -> None:
        if not self.pending and self.synced.is_set():
            self.complete.set()

    async def close(self, close_timeout: float) -> None:
        self._closing = True
        ws = self._ws
        try:
            if ws is None:
                return
            async with asyncio.timeout(close_timeout):
                await ws.close()
                if self._reader is not None:
                    await self._reader
        except TimeoutError:
            self._error("closing timed out")
            return
        finally:
            self.text.unobserve(self._subscription)
        if ws.close_code != NORMAL_CLOSE and not self.errors:
            self._error(f"closed with {ws.close_code} {ws.close_reason or ''}")


class EventsClient:
    """The room's events socket of one participant: presence in, roster out."""

    def __init__(self, seat: Participant, url: str) -> None:
        self.seat = seat
        self.url = url
        self.document = document_name(seat.document)
        self.ready = asyncio.Event()
        # A roster listed this participant in its document.
        self.seen = asyncio.Event()
        self.gone = asyncio.Event()
        self.errors: list[str] = []
        self.largest_roster = 0
        self._closing = False
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None

    def _error(self, what: str) -> None:
        self.errors.append(f"events client {self.seat.index} in {self.seat.room}: {what}")

    async def open(self, open_timeout: float) -> None:
        try:
            self._ws = await _connect(f"{self.url}?token={self.seat.token}", open_timeout)
        except Exception as exc:
            self._error(f"could not connect: {exc!r}")
            self.gone.set()
            return
        self._reader = asyncio.create_task(self._read(self._ws))

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for raw in ws:
                if not isinstance(raw, str):
                    self._error("binary frame from the server")
                    continue
                message = json.loads(raw)
                kind = message.get("type")
                if kind == "ready":
                    presence = {"type": "presence", "document": self.document, "state": "active"}
                    await ws.send(json.dumps(presence))
                    self.ready.set()
                elif kind == "roster":
                    rows = message["participants"]
                    self.largest_roster = max(self.largest_roster, len(rows))
                    if any(
                        row["id"] == self.seat.participant_id and row["document"] == self.document
                        for row in rows
                    ):
                        self.seen.set()
                elif kind in ("error", "resync", "token.expired"):
                    self._error(f"unexpected message {raw[:200]}")
        except ConnectionClosed:
            pass
        finally:
            if not self._closing:
                self._error(f"closed by the server: {ws.close_code} {ws.close_reason or ''}")
            self.gone.set()

    async def close(self, close_timeout: float) -> None:
        self._closing = True
        ws = self._ws
        if ws is None:
            return
        try:
            async with asyncio.timeout(close_timeout):
                await ws.close()
                if self._reader is not None:
                    await self._reader
        except TimeoutError:
            self._error("closing timed out")
            return
        if ws.close_code != NORMAL_CLOSE and not self.errors:
            self._error(f"closed with {ws.close_code} {ws.close_reason or ''}")


async def _wait_all(pairs: list[tuple[asyncio.Event, asyncio.Event]], seconds: float) -> int:
    """Wait until each pair's first event is set or its second (gone) is; at most
    ``seconds``. Returns how many first events are set."""

    async def one(done: asyncio.Event, gone: asyncio.Event) -> None:
        if done.is_set() or gone.is_set():
            return
        waiters = {asyncio.create_task(done.wait()), asyncio.create_task(gone.wait())}
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    tasks = [asyncio.create_task(one(done, gone)) for done, gone in pairs]
    if tasks:
        _, pending = await asyncio.wait(tasks, timeout=seconds)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    return sum(done.is_set() for done, _ in pairs)


class ServerLog:
    """Reads the server's log as it grows: load and unload lines, warnings and errors."""

    LINE = re.compile(r"^\S+ \S+ (?P<level>[A-Z]+)\s+(?P<name>\S+): (?P<message>.*)$")

    def __init__(self, path: Path) -> None:
        self.path = path
        self.loaded = 0
        self.unloaded = 0
        # WARNING and ERROR lines, and tracebacks, in order.
        self.problems: list[str] = []
        # The server's last words on a clean stop (server/app.py).
        self.stopped_cleanly = False
        self._offset = 0
        self._partial = b""

    def scan(self) -> None:
        if not self.path.exists():
            return
        with self.path.open("rb") as log:
            log.seek(self._offset)
            data = log.read()
        self._offset += len(data)
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()
        for raw in lines:
            line = raw.decode("utf-8", "replace")
            match = self.LINE.match(line)
            if match is None:
                if line.startswith("Traceback"):
                    self.problems.append(line)
                continue
            level, name, message = match["level"], match["name"], match["message"]
            if name == "roundtable" and message == "all updates stored; stopped":
                self.stopped_cleanly = True
            if name == "roundtable.hub":
                if message.startswith("loaded "):
                    self.loaded += 1
                elif message.startswith("unloaded "):
                    self.unloaded += 1
            if level in ("WARNING", "ERROR", "CRITICAL"):
                self.problems.append(line)


class RedisView:
    """The server's Redis subscriptions, seen from outside (PUBSUB)."""

    def __init__(self, url: str, prefix: str) -> None:
        self.prefix = prefix + ":"
        self._redis: Redis = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)

    async def channels(self) -> list[str]:
        """The prefix's channels with a subscriber, without the prefix."""
        raw = await self._redis.pubsub_channels(self.prefix.replace("*", r"\*") + "*")
        names = [c.decode() if isinstance(c, bytes) else str(c) for c in raw]
        return sorted(name[len(self.prefix) :] for name in names)

    async def subscribers(self, channels: list[str]) -> dict[str, int]:
        if not channels:
            return {}
        counts = await self._redis.pubsub_numsub(*(self.prefix + c for c in channels))
        return {
            (n.decode() if isinstance(n, bytes) else str(n))[len(self.prefix) :]: int(count)
            for n, count in counts
        }

    async def close(self) -> None:
        await self._redis.aclose()


def kinds(channels: list[str]) -> dict[str, int]:
    """How many channels of each kind (doc, room, presence, control)."""
    return dict(Counter(channel.split(":", 1)[0] for channel in channels))


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of ``pid``, in KiB."""
    values: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_pid(running: Running) -> int:
    """The pid of the Roundtable process itself (taskset execs it, keeping its pid)."""
    (pid,) = running.pids
    command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    if b"server.cli" not in command:
        raise RuntimeError(f"process {pid} is not the Roundtable server: {command!r}")
    return pid


@contextlib.contextmanager
def stderr_to(path: Path) -> Iterator[None]:
    """Point this process's standard error at ``path`` meanwhile: a server started now
    inherits it, so its log lands in the file (bench.servers keeps the inherited one)."""
    sys.stderr.flush()
    saved = os.dup(2)
    with path.open("ab") as log:
        os.dup2(log.fileno(), 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _json_request(url: str, body: dict[str, Any] | None, token: str | None) -> dict[str, Any]:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data, headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        result: dict[str, Any] = json.load(response)
        return result


def machine() -> dict[str, Any]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        # Other work on the machine stretches every duration (not the RSS figures).
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


@dataclass
class Soak:
    config: SoakConfig
    workdir: Path
    prefix: str | None
    running: Running | None = None
    pid: int = 0
    http: str = ""
    ws: str = ""
    rooms: list[dict[str, Any]] = field(default_factory=list)
    seats: list[Participant] = field(default_factory=list)
    log: ServerLog | None = None
    redis: RedisView | None = None
    # Markers each document's clients sent (the stored text must hold them all).
    sent: dict[int, list[str]] = field(default_factory=dict)
    errors_before: list[str] = field(default_factory=list)

    def timeout(self, seconds: float) -> float:
        return seconds * self.config.timeout_scale

    @property
    def database_url(self) -> str:
        # bench.servers puts the database here.
        return f"sqlite+aiosqlite:///{self.workdir / 'roundtable.db'}"

    def server_env(self) -> dict[str, str]:
        config = self.config
        env = {
            "ROUNDTABLE_LOG_LEVEL": "info",
            "ROUNDTABLE_IDLE_UNLOAD_SECONDS": str(config.idle_unload_seconds),
            "ROUNDTABLE_ADMIN_TOKEN": ADMIN_TOKEN,
            "ROUNDTABLE_MAX_CONNECTION_ATTEMPTS_PER_MINUTE": "0",
            "ROUNDTABLE_MAX_MESSAGES_PER_SECOND": "0",
            # The soak joins its 1,000 participants from one address at once.
            "ROUNDTABLE_MAX_JOINS_PER_ADDRESS_PER_MINUTE": "0",
            "ROUNDTABLE_MAX_JOINS_PER_INVITE_PER_MINUTE": "0",
            # An empty value is unset: no Redis unless asked for.
            "ROUNDTABLE_REDIS_URL": config.redis_url or "",
        }
        if config.redis_url is not None and self.prefix is not None:
            env["ROUNDTABLE_REDIS_PREFIX"] = self.prefix
        if config.flush_interval is not None:
            env["ROUNDTABLE_FLUSH_INTERVAL"] = str(config.flush_interval)
        return env

    # Setting up

    async def start(self) -> None:
        log_path = self.workdir / "server.log"
        self.log = ServerLog(log_path)

        def started() -> Running:
            with stderr_to(log_path):
                return start_roundtable(
                    self.workdir, core=self.config.server_core, env=self.server_env()
                )

        self.running = await asyncio.to_thread(started)
        self.pid = server_pid(self.running)
        sync_url = self.running.target["urls"][0]
        base = sync_url.split("/sync/", 1)[0]
        self.ws = base
        self.http = "http" + base.removeprefix("ws")
        if self.config.redis_url is not None and self.prefix is not None:
            self.redis = RedisView(self.config.redis_url, self.prefix)

    async def create_rooms_and_join(self) -> None:
        config = self.config
        assert self.running is not None and self.running.room is not None
        self.rooms = [self.running.room]
        for number in range(1, config.rooms):
            self.rooms.append(
                await asyncio.to_thread(
                    _json_request,
                    f"{self.http}/api/rooms",
                    {"title": f"Soak {number}"},
                    ADMIN_TOKEN,
                )
            )
        limit = asyncio.Semaphore(JOIN_CONCURRENCY)

        async def join(index: int) -> Participant | None:
            document = index % config.documents
            room = self.rooms[document // config.documents_per_room]
            name = f"soak {index}"
            async with limit:
                try:
                    joined = await asyncio.to_thread(
                        _post,
                        f"{self.http}/api/join",
                        {"invite": room["invites"]["member"], "name": name},
                    )
                except Exception as exc:
                    self.errors_before.append(f"join of participant {index} failed: {exc!r}")
                    return None
            return Participant(
                index,
                document,
                room["room"],
                name,
                joined["token"],
                joined["participant"]["id"],
                events=index // config.documents < config.events_per_document,
            )

        joined = await asyncio.gather(*(join(i) for i in range(config.connections)))
        self.seats = [seat for seat in joined if seat is not None]

    # One cycle

    def alive(self) -> bool:
        return self.running is not None and self.running.processes[0].poll() is None

    async def cycle(self, number: int) -> dict[str, Any]:
        config = self.config
        assert self.log is not None
        started = time.monotonic()
        cpu_before = cpu_seconds(self.pid), time.process_time()
        loaded_before, unloaded_before = self.log.loaded, self.log.unloaded
        problems_before = len(self.log.problems)
        own = {
            seat.index: [marker(number, seat.index, k) for k in range(config.edits_per_client)]
            for seat in self.seats
        }
        expected: dict[int, set[str]] = {}
        for seat in self.seats:
            expected.setdefault(seat.document, set()).update(own[seat.index])
        # In the first cycle each document's first client writes its seed text.
        seeds: dict[int, str] = {}
        if number == 1 and config.document_bytes > 0:
            for seat in self.seats:
                if seat.index == seat.document:
                    seeds[seat.index] = seed_text(seat.document, config.document_bytes)
                    expected[seat.document].add(marker(0, seat.document, 0))
        clients = [
            SyncClient(
                seat,
                f"{self.ws}/sync/{seat.room}/{document_name(seat.document)}",
                own[seat.index],
                expected[seat.document],
                number,
                seeds.get(seat.index),
            )
            for seat in self.seats
        ]
        watchers = [
            EventsClient(seat, f"{self.ws}/events/{seat.room}")
            for seat in self.seats
            if seat.events
        ]
        everyone: list[SyncClient | EventsClient] = [*clients, *watchers]
        limit = asyncio.Semaphore(config.open_concurrency)
        open_timeout = self.timeout(30)

        async def open_one(client: SyncClient | EventsClient) -> None:
            async with limit:
                await client.open(open_timeout)

        await asyncio.gather(*(open_one(c) for c in everyone))
        synced = await _wait_all([(c.synced, c.gone) for c in clients], self.timeout(60))
        opened_at = time.monotonic()
        converged = await _wait_all([(c.complete, c.gone) for c in clients], self.timeout(60))
        seen = await _wait_all([(w.seen, w.gone) for w in watchers], self.timeout(30))
        converged_at = time.monotonic()

        errors: list[str] = []
        for client in clients:
            if not client.gone.is_set() and not client.synced.is_set():
                errors.append(f"sync client {client.seat.index}: not synced in time")
            elif client.synced.is_set() and not client.complete.is_set():
                errors.append(
                    f"sync client {client.seat.index} on {document_name(client.seat.document)}:"
                    f" {len(client.pending)} markers missing (convergence timeout)"
                )
        for watcher in watchers:
            if not watcher.seen.is_set():
                errors.append(f"events client {watcher.seat.index}: own presence not in a roster")
        texts: dict[int, set[str]] = {}
        for client in clients:
            if client.complete.is_set():
                texts.setdefault(client.seat.document, set()).add(str(client.text))
        diverged = sorted(d for d, found in texts.items() if len(found) > 1)
        errors.extend(f"copies of {document_name(d)} differ" for d in diverged)

        rss_connected = proc_status(self.pid).get("VmRSS", 0)
        redis_connected: dict[str, Any] | None = None
        if self.redis is not None:
            channels = await self.redis.channels()
            counts = await self.redis.subscribers([c for c in channels if c.startswith("doc:")])
            redis_connected = {
                "channels": kinds(channels),
                # How many document channels have 1, 2... subscribers (1: this process).
                "doc_subscribers": {str(k): v for k, v in Counter(counts.values()).items()},
            }

        close_timeout = self.timeout(20)
        await asyncio.gather(*(c.close(close_timeout) for c in everyone))
        closed_at = time.monotonic()
        for someone in everyone:
            errors.extend(someone.errors)
        for client in clients:
            self.sent.setdefault(client.seat.document, []).extend(client.sent)

        unload = await self.wait_unloaded(loaded_before)
        unloaded_at = time.monotonic()
        errors.extend(unload.pop("errors"))
        self.log.scan()
        problems = self.log.problems[problems_before:]
        errors.extend(f"server log: {line}" for line in problems)
        if not self.alive():
            errors.append("the server process exited")
        status = proc_status(self.pid) if self.alive() else {}
        server_cpu = cpu_seconds(self.pid) - cpu_before[0] if self.alive() else None
        return {
            "cycle": number,
            "connections": len(clients),
            "synced": synced,
            "converged": converged,
            "events_sockets": len(watchers),
            "presence_seen": seen,
            "largest_roster": max((w.largest_roster for w in watchers), default=0),
            "awareness_frames_received": sum(c.awareness_frames for c in clients),
            "edits_sent": sum(len(c.sent) for c in clients),
            "documents_diverged": len(diverged),
            "error_count": len(errors),
            "errors": errors[:KEPT_ERRORS],
            "rss_kb": status.get("VmRSS", 0),
            "rss_connected_kb": rss_connected,
            "hwm_kb": status.get("VmHWM", 0),
            "loaded_lines": self.log.loaded - loaded_before,
            "unloaded_lines": self.log.unloaded - unloaded_before,
            **unload,
            "redis_connected": redis_connected,
            "database_bytes": sum(
                p.stat().st_size for p in self.workdir.glob("roundtable.db*") if p.is_file()
            ),
            "cpu_s": {
                "server": None if server_cpu is None else round(server_cpu, 2),
                "generator": round(time.process_time() - cpu_before[1], 2),
            },
            "durations_s": {
                "open_and_sync": round(opened_at - started, 3),
                "converge": round(converged_at - opened_at, 3),
                "close": round(closed_at - converged_at, 3),
                "unload": round(unloaded_at - closed_at, 3),
                "total": round(unloaded_at - started, 3),
            },
        }

    async def wait_unloaded(self, loaded_before: int) -> dict[str, Any]:
        """Wait until no document is loaded, each load of the cycle has its unload line
        in the log and (with Redis) only the control channel is subscribed."""
        assert self.log is not None
        deadline = time.monotonic() + self.timeout(self.config.idle_unload_seconds + 30)
        health: dict[str, Any] = {}
        channels: list[str] = []
        while True:
            self.log.scan()
            try:
                health = await asyncio.to_thread(_json_request, f"{self.http}/health", None, None)
            except Exception as exc:
                health = {"error": repr(exc)}
            if self.redis is not None:
                channels = [c for c in await self.redis.channels() if c != "control"]
            loaded = health.get("documents_loaded")
            done = (
                loaded == 0
                and self.log.unloaded == self.log.loaded
                and self.log.loaded > loaded_before
                and not channels
            )
            if done or time.monotonic() > deadline or not self.alive():
                break
            await asyncio.sleep(POLL_SECONDS)
        errors = []
        if health.get("documents_loaded") != 0:
            errors.append(f"documents still loaded after the cycle: {health}")
        if self.log.unloaded != self.log.loaded:
            errors.append(
                f"server log: {self.log.loaded} loads but {self.log.unloaded} unloads so far"
            )
        if channels:
            errors.append(f"Redis channels still subscribed after unloading: {kinds(channels)}")
        return {
            "documents_loaded_after": health.get("documents_loaded"),
            "listeners_left": None if self.redis is None else kinds(channels),
            "errors": errors,
        }

    # Afterwards

    async def verify_stored(self) -> dict[str, Any]:
        """Every marker sent is in its document's stored text, once."""
        engine = create_engine(self.database_url)
        store = SqlStore(engine)
        missing = duplicated = unexpected = found_total = 0
        problems: list[str] = []
        try:
            room_ids: dict[str, int] = {}
            for room in self.rooms:
                record = await store.get_room(room["room"])
                assert record is not None, room["room"]
                room_ids[room["room"]] = record.id
            for document in range(self.config.documents):
                name = document_name(document)
                slug = self.rooms[document // self.config.documents_per_room]["room"]
                info = await store.get_document(room_ids[slug], name)
                sent = set(self.sent.get(document, []))
                if info is None:
                    missing += len(sent)
                    problems.append(f"{name}: not stored at all")
                    continue
                stored = await store.load_document(info.id)
                text = str(
                    SyncDocument(stored.snapshot, stored.updates).ydoc.get("text", type=Text)
                )
                found = Counter(m.group(0) for m in MARKER.finditer(text))
                found_total += sum(found.values())
                lacking = sent - set(found)
                doubled = [value for value, count in found.items() if count > 1]
                extra = set(found) - sent
                missing += len(lacking)
                duplicated += len(doubled)
                unexpected += len(extra)
                if lacking or doubled or extra:
                    problems.append(
                        f"{name}: {len(lacking)} missing, {len(doubled)} doubled, "
                        f"{len(extra)} never sent"
                    )
        finally:
            await store.close()
        return {
            "documents": self.config.documents,
            "edits_sent": sum(len(v) for v in self.sent.values()),
            "edits_stored": found_total,
            "missing": missing,
            "duplicated": duplicated,
            "unexpected": unexpected,
            "problems": problems[:KEPT_ERRORS],
        }

    async def close(self) -> int | None:
        if self.redis is not None:
            await self.redis.close()
        if self.running is None:
            return None
        await asyncio.to_thread(stop, self.running)
        return self.running.processes[0].returncode


def summarise(
    cycles: list[dict[str, Any]], stored: dict[str, Any], extra_errors: list[str]
) -> dict[str, Any]:
    rss = [c["rss_kb"] for c in cycles]
    settled = rss[1:]
    slope = None
    if len(settled) >= 2:
        xs = range(len(settled))
        mean_x, mean_y = sum(xs) / len(settled), sum(settled) / len(settled)
        num = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, settled, strict=True))
        den = sum((x - mean_x) ** 2 for x in xs)
        slope = round(num / den, 1)
    errors = sum(c["error_count"] for c in cycles) + len(extra_errors)
    errors += stored["missing"] + stored["duplicated"] + stored["unexpected"]
    return {
        "cycles": len(cycles),
        "connections_total": sum(c["connections"] for c in cycles),
        "events_sockets_total": sum(c["events_sockets"] for c in cycles),
        "edits_sent": stored["edits_sent"],
        "edits_stored": stored["edits_stored"],
        "errors": errors,
        "rss_first_kb": rss[0] if rss else None,
        "rss_second_kb": rss[1] if len(rss) > 1 else None,
        "rss_last_kb": rss[-1] if rss else None,
        "rss_max_kb": max(rss) if rss else None,
        "rss_min_kb": min(rss) if rss else None,
        "growth_kb": rss[-1] - rss[0] if rss else None,
        "growth_after_warmup_kb": rss[-1] - rss[1] if len(rss) > 1 else None,
        # Least-squares slope of the RSS after the warm-up cycle.
        "slope_kb_per_cycle": slope,
        "rss_connected_max_kb": max((c["rss_connected_kb"] for c in cycles), default=None),
        "hwm_kb": cycles[-1]["hwm_kb"] if cycles else None,
        "every_cycle_unloaded": all(c["documents_loaded_after"] == 0 for c in cycles),
        "unload_s_max": max((c["durations_s"]["unload"] for c in cycles), default=None),
        "cycle_s_mean": (
            round(sum(c["durations_s"]["total"] for c in cycles) / len(cycles), 3)
            if cycles
            else None
        ),
    }


async def run_soak(config: SoakConfig) -> dict[str, Any]:
    """Run the soak; the report (see the module docstring)."""
    with contextlib.ExitStack() as stack:
        if config.workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="rt-soak-")))
        else:
            workdir = config.workdir
            workdir.mkdir(parents=True, exist_ok=True)
        prefix = config.redis_prefix
        if config.redis_url is not None and prefix is None:
            prefix = "soak-" + uuid.uuid4().hex[:8]
        soak = Soak(config, workdir, prefix)
        began = time.monotonic()
        cycles: list[dict[str, Any]] = []
        exit_code: int | None = None
        rss_start: int | None = None
        setup_s: float | None = None
        load_before = machine()["load_average"]
        try:
            await soak.start()
            await soak.create_rooms_and_join()
            setup_s = round(time.monotonic() - began, 1)
            rss_start = proc_status(soak.pid).get("VmRSS")
            if config.progress:
                print(
                    f"server pid {soak.pid}: {len(soak.seats)} participants joined in "
                    f"{config.rooms} rooms, RSS {rss_start} KiB; cycles start",
                    flush=True,
                )
            number = 0
            while soak.alive() and not soak.errors_before:
                if config.cycles is not None and number >= config.cycles:
                    break
                if config.seconds is not None and time.monotonic() - began >= config.seconds:
                    break
                number += 1
                result = await soak.cycle(number)
                cycles.append(result)
                if config.progress:
                    print(cycle_line(result), flush=True)
                if config.stop_on_error and result["error_count"]:
                    break
        finally:
            exit_code = await soak.close()
        assert soak.log is not None
        problems_before = len(soak.log.problems)
        soak.log.scan()
        shutdown_problems = [f"server log: {p}" for p in soak.log.problems[problems_before:]]
        extra_errors = [*soak.errors_before, *shutdown_problems]
        # uvicorn re-raises SIGTERM once it has shut down gracefully.
        if exit_code not in (0, -signal.SIGTERM) or not soak.log.stopped_cleanly:
            extra_errors.append(
                f"the server did not stop cleanly: exit code {exit_code}, "
                f"final log line {'seen' if soak.log.stopped_cleanly else 'missing'}"
            )
        stored = await soak.verify_stored()
        report = {
            "machine": machine(),
            "config": {
                **{k: v for k, v in asdict(config).items() if k != "workdir"},
                "workdir": str(workdir),
                "redis_prefix": prefix,
                "clients_per_document": config.clients_per_document,
                "documents_per_room": config.documents_per_room,
                "events_per_document": config.events_per_document,
            },
            "load_average_before": load_before,
            "server": {"pid": soak.pid, "exit_code": exit_code, "rss_start_kb": rss_start},
            "setup_s": setup_s,
            "cycles": cycles,
            "stored": stored,
            "other_errors": extra_errors[:KEPT_ERRORS],
            "summary": {
                **summarise(cycles, stored, extra_errors),
                "duration_s": round(time.monotonic() - began, 1),
            },
        }
        return report


def _mb(kib: int | None) -> str:
    return "-" if kib is None else f"{kib / 1024:.1f} MiB"


def cycle_line(cycle: dict[str, Any]) -> str:
    d = cycle["durations_s"]
    return (
        f"cycle {cycle['cycle']}: {cycle['converged']}/{cycle['connections']} converged, "
        f"{cycle['presence_seen']}/{cycle['events_sockets']} presences, "
        f"{cycle['error_count']} errors, RSS {_mb(cycle['rss_kb'])} "
        f"(connected {_mb(cycle['rss_connected_kb'])}), open+sync {d['open_and_sync']:.1f} s, "
        f"converge {d['converge']:.1f} s, close {d['close']:.1f} s, unload {d['unload']:.1f} s, "
        f"CPU server {cycle['cpu_s']['server']} s, generator {cycle['cpu_s']['generator']} s"
    )


def human_summary(report: dict[str, Any]) -> str:
    s = report["summary"]
    c = report["config"]
    stored = report["stored"]
    series = " ".join(f"{cycle['rss_kb'] / 1024:.1f}" for cycle in report["cycles"])
    after = s["growth_after_warmup_kb"]
    lines = [
        f"soak: {s['cycles']} cycles in {s['duration_s']} s; {s['connections_total']} sync "
        f"connections (+{s['events_sockets_total']} events sockets) over {c['documents']} "
        f"documents ({c['document_bytes'] // 1024} KiB each) in {c['rooms']} rooms, "
        f"Redis {'on' if c['redis_url'] else 'off'}",
        f"RSS after each cycle (MiB): {series}",
        f"RSS: after the first cycle {_mb(s['rss_first_kb'])}, after the last "
        f"{_mb(s['rss_last_kb'])}, max {_mb(s['rss_max_kb'])}, growth "
        f"{s['growth_kb'] / 1024:+.1f} MiB"
        + ("" if after is None else f" ({after / 1024:+.1f} MiB after the warm-up cycle)")
        + (
            ""
            if s["slope_kb_per_cycle"] is None
            else f", slope {s['slope_kb_per_cycle']} KiB/cycle"
        ),
        f"connected peak RSS {_mb(s['rss_connected_max_kb'])}; every cycle unloaded: "
        f"{s['every_cycle_unloaded']} (slowest unload {s['unload_s_max']} s); "
        f"stored: {stored['edits_stored']}/{stored['edits_sent']} edits, "
        f"{stored['missing']} missing, {stored['duplicated']} doubled",
        f"errors: {s['errors']}",
    ]
    for cycle in report["cycles"]:
        lines.extend(f"  cycle {cycle['cycle']}: {e}" for e in cycle["errors"][:5])
    lines.extend(f"  {e}" for e in report["other_errors"][:5])
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="how long to run cycles")
    parser.add_argument("--cycles", type=int, help="stop after this many cycles")
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--documents", type=int, default=100)
    parser.add_argument("--rooms", type=int, default=10)
    parser.add_argument("--edits", type=int, default=2, help="markers each client appends")
    parser.add_argument(
        "--document-bytes", type=int, default=64 * 1024, help="each document's seed text"
    )
    parser.add_argument("--events-share", type=float, default=0.1)
    parser.add_argument("--redis-url", help="share documents through Redis (and watch it)")
    parser.add_argument("--idle-unload-seconds", type=float, default=1.0)
    parser.add_argument("--flush-interval", type=float, help="server default when unset")
    parser.add_argument("--open-concurrency", type=int, default=100)
    parser.add_argument("--server-core", type=int, help="pin the server to this core")
    parser.add_argument("--stop-on-error", action="store_true")
    parser.add_argument("--workdir", type=Path, help="keep the database and log here")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    config = SoakConfig(
        connections=args.connections,
        documents=args.documents,
        rooms=args.rooms,
        edits_per_client=args.edits,
        document_bytes=args.document_bytes,
        events_share=args.events_share,
        cycles=args.cycles,
        seconds=args.minutes * 60,
        redis_url=args.redis_url,
        idle_unload_seconds=args.idle_unload_seconds,
        flush_interval=args.flush_interval,
        open_concurrency=args.open_concurrency,
        server_core=args.server_core,
        stop_on_error=args.stop_on_error,
        workdir=args.workdir,
        progress=True,
    )
    report = asyncio.run(run_soak(config))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(human_summary(report))
    print(f"report: {args.out}")
    sys.exit(1 if report["summary"]["errors"] else 0)


if __name__ == "__main__":
    main()
