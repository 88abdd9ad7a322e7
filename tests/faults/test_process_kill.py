"""SIGKILL of a server process in the middle of a 50-client editing session.

Fifty real ``yjs`` + ``y-websocket`` clients (one Node puppet process) type unique
markers into one document, a few edits a second each, and a server process is killed
with SIGKILL while they type: no shutdown, no last flush.

The guarantee under test. The server stores edits write-behind: an edit reaches the
database at most ``ROUNDTABLE_FLUSH_INTERVAL`` seconds after it arrived, so a killed
process takes the edits younger than that out of storage with it. They are not lost:
the clients that typed them (and every client that had received them) still hold them,
reconnect on their own, and in the sync handshake send the server every update it
lacks, which the server then stores. Edits typed while the clients were cut off go the
same way. Nothing older than the flush window is lost from storage even if a client
never comes back: that part was stored before the kill.

Each session ends when every client holds the same text, made of every marker ever
typed, and the database then holds exactly that text.

Two deployments:

- the default one: one ``serve`` process on SQLite without Redis, killed and started
  again on the same port, as a supervisor would;
- ``serve --workers 2`` on PostgreSQL and Redis: the worker holding the most clients is
  killed, its clients reconnect to the same port (to the surviving worker: uvicorn's
  supervisor is held paused until they have, then it starts a new worker). The
  survivor had received the killed worker's last edits through Redis; their clients'
  sync then adds nothing it lacks. It stores them itself once the killed worker has
  missed three heartbeats (``server/redis_broker.py``, ``DocumentHub._take_over``).

Every marker has the same length and is inserted at a multiple of that length of the
text its client holds, whatever that state: the text is always a concatenation of
whole markers (no insert can split one), so it is checked exactly, marker by marker.

Run with ``-s`` to see the figures: edits typed, edits not in storage at the kill, how
long until the clients were synced again, and how long the convergence took.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import re
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from rooms.directory import CreatedRoom
from rooms.roles import Role
from tests.support.cluster import DOC, Database, Launcher, ServeProcess, join_over_http, poll
from tests.support.node_client import NodePuppet, require_node_puppet
from tests.support.timing import eventually, timeout

pytestmark = pytest.mark.node

CLIENTS = 50
# Each client inserts a marker this many times a second, on average (the load).
EDITS_PER_SECOND = 2.0
TICK = 0.1
# Long enough that at the kill the last flush certainly left edits unstored.
FLUSH_INTERVAL = 2.0
# Markers typed after a flush was seen and before the kill (about half a second's worth).
TYPED_BEFORE_KILL = 50
# Markers typed once every client is synced again, before the typing stops.
TYPED_AFTER_RESYNC = 100
MARKER_LENGTH = len("c00n000 ")
SEED = 20240611


def marker(client: int, number: int) -> str:
    """The ``number``-th marker of client ``client``: always ``MARKER_LENGTH`` long."""
    assert number < 1000, "a client typed more markers than its format holds"
    word = f"c{client:02d}n{number:03d} "
    assert len(word) == MARKER_LENGTH
    return word


def markers_of(text: str) -> Counter[str]:
    """The markers a text is made of (it is always a concatenation of whole markers)."""
    assert len(text) % MARKER_LENGTH == 0, f"not a concatenation of markers: {text!r}"
    return Counter(text[i : i + MARKER_LENGTH] for i in range(0, len(text), MARKER_LENGTH))


class TypingPuppet(NodePuppet):
    """The puppet, with two additions for fifty clients' worth of events."""

    async def post(self, command: dict[str, Any]) -> None:
        """Send a command without waiting for its ack (:class:`Editors` counts the acks).

        ``send`` waits for the ack by scanning every event since the command at each new
        event, which under fifty clients' traffic costs far more than the typing itself.
        """
        stdin = self._process.stdin
        assert stdin is not None, "the puppet has no stdin"
        stdin.write((json.dumps(command) + "\n").encode())
        await stdin.drain()

    async def wait_beyond(self, count: int) -> bool:
        """Wait until more than ``count`` events arrived; False once the puppet exited."""
        async with self._cond:
            await self._cond.wait_for(lambda: len(self.events) > count or self._eof)
        return len(self.events) > count


@pytest.fixture
async def puppet() -> AsyncIterator[TypingPuppet]:
    """One ``node puppet.mjs`` process hosting the real yjs + y-websocket clients."""
    require_node_puppet()
    started = await TypingPuppet.start(ready_timeout=timeout(15.0))
    assert isinstance(started, TypingPuppet)
    try:
        yield started
    finally:
        await started.close()


@dataclass
class Editors:
    """Fifty puppet clients on one document, the markers they typed, and what they report.

    :meth:`watch` reads every puppet event once, as it arrives, and keeps what the tests
    wait on: each client's text, when it synced and saw its connection close, the acks
    of the typing batches, and any error.
    """

    puppet: TypingPuppet
    ids: list[str] = field(default_factory=lambda: [f"t{i:02d}" for i in range(CLIENTS)])
    texts: dict[str, str] = field(default_factory=dict)
    synced_at: dict[str, list[float]] = field(default_factory=dict)
    closed_at: dict[str, list[float]] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)
    typed: list[str] = field(default_factory=list)
    posted: int = 0
    acked: int = 0
    _cursor: int = 0
    _counts: list[int] = field(default_factory=lambda: [0] * CLIENTS)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _typing: asyncio.Task[None] | None = None

    def catch_up(self) -> None:
        events = self.puppet.events
        now = time.monotonic()
        for event in events[self._cursor :]:
            kind, client = event["event"], str(event.get("id"))
            if kind == "text":
                self.texts[client] = event["text"]
            elif kind == "synced":
                self.synced_at.setdefault(client, []).append(now)
            elif kind == "close" and not event.get("local"):
                self.closed_at.setdefault(client, []).append(now)
            elif kind == "ack" and event.get("op") == "batch" and "seq" not in event:
                self.acked += 1
            elif kind in ("error", "closed", "permission-denied", "_invalid"):
                self.errors.append(event)
        self._cursor = len(events)

    async def watch(self) -> None:
        """Read each event as it arrives, so the times noted are its arrival times."""
        while await self.puppet.wait_beyond(self._cursor):
            self.catch_up()

    def check(self) -> None:
        self.catch_up()
        assert not self.errors, f"the puppet reported errors: {self.errors[:5]}"

    async def connect(self, server: ServeProcess, room: CreatedRoom) -> None:
        tokens = await asyncio.gather(
            *(join_over_http(server.http, room, Role.MEMBER, f"Editor {c}") for c in self.ids)
        )
        for client, token in zip(self.ids, tokens, strict=True):
            await self.puppet.client(client).connect(server.sync_url(room.room.slug), DOC, token)
        await self.wait_synced(self.ids, 0.0, "every client to sync")

    def closed_since(self, moment: float) -> list[str]:
        return [c for c in self.ids if any(at >= moment for at in self.closed_at.get(c, []))]

    async def wait_closed(self, count: int, since: float, what: str) -> list[str]:
        def closed() -> bool:
            self.check()
            return len(self.closed_since(since)) >= count

        await eventually(closed, 10, what)
        return self.closed_since(since)

    async def wait_synced(self, clients: list[str], since: float, what: str) -> float:
        """Wait until each of ``clients`` synced after ``since``; return when the last did."""

        def synced() -> bool:
            self.check()
            return all(any(at >= since for at in self.synced_at.get(c, [])) for c in clients)

        await eventually(synced, 30, what)
        return max(max(self.synced_at[c]) for c in clients)

    # ------------------------------------------------------------------ typing

    def start_typing(self) -> None:
        self._typing = asyncio.create_task(self._type(), name="editors-typing")

    async def wait_typed(self, count: int, what: str) -> None:
        """Wait until ``count`` markers were typed in all (the typing goes on)."""

        def typed() -> bool:
            if self._typing is not None and self._typing.done():
                self._typing.result()
                raise AssertionError("the typing stopped on its own")
            return len(self.typed) >= count

        await eventually(typed, 20, what)

    async def stop_typing(self) -> None:
        """Stop, and wait until the puppet has made every edit it was sent."""
        assert self._typing is not None
        self._stop.set()
        await self._typing

        def all_made() -> bool:
            self.check()
            return self.acked == self.posted

        await eventually(all_made, 10, "the puppet to make every edit sent")

    async def cancel_typing(self) -> None:
        if self._typing is not None and not self._typing.done():
            self._typing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._typing

    def _caught_up(self) -> bool:
        self.check()
        return self.posted - self.acked <= 1

    async def _type(self) -> None:
        chance = EDITS_PER_SECOND * TICK
        chooser = random.Random(SEED)
        started = time.monotonic()
        tick = 0
        while not self._stop.is_set():
            self.check()
            if self.posted - self.acked > 3:
                # Node is behind: let it catch up rather than queue edits without bound.
                await eventually(self._caught_up, 10, "the puppet to make the edits sent")
            ops: list[dict[str, Any]] = []
            for number, client in enumerate(self.ids):
                if chooser.random() >= chance:
                    continue
                # The client's text is at least this long now (a text only grows here),
                # and any multiple of the marker length lies between two markers.
                known = len(self.texts.get(client, "")) // MARKER_LENGTH
                word = marker(number, self._counts[number])
                self._counts[number] += 1
                index = MARKER_LENGTH * chooser.randint(0, known)
                ops.append({"op": "insert", "id": client, "index": index, "text": word})
                self.typed.append(word)
            if ops:
                self.posted += 1
                await self.puppet.post({"op": "batch", "id": None, "ops": ops})
            tick += 1
            # The typing pace (load generation), cut short by stop_typing.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._stop.wait(), max(0.0, started + tick * TICK - time.monotonic())
                )

    # ------------------------------------------------------------ convergence

    def describe(self) -> str:
        wanted = Counter(self.typed)
        distinct = Counter(self.texts.get(c, "") for c in self.ids)
        lines = [f"{len(self.typed)} markers typed; {len(distinct)} distinct client texts"]
        for text, holders in distinct.most_common(5):
            have = Counter(text[i : i + MARKER_LENGTH] for i in range(0, len(text), MARKER_LENGTH))
            missing = wanted - have
            lines.append(
                f"  {holders} clients: {len(text)} chars, {sum(missing.values())} markers "
                f"missing (e.g. {sorted(missing)[:5]}), extra {sorted(have - wanted)[:5]}"
            )
        return "\n".join(lines)

    async def converge(self) -> str:
        """Wait until every client holds the same text of every marker typed; return it."""
        length = MARKER_LENGTH * len(self.typed)

        def converged() -> bool:
            self.check()
            texts = {self.texts.get(c) for c in self.ids}
            return len(texts) == 1 and len(next(iter(texts)) or "") == length

        try:
            await eventually(converged, 20, "every client to hold every marker")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self.describe()}") from None
        final = self.texts[self.ids[0]]
        assert len(set(self.typed)) == len(self.typed)
        assert markers_of(final) == Counter(self.typed), self.describe()
        return final


@pytest.fixture
async def editors(puppet: TypingPuppet) -> AsyncIterator[Editors]:
    started = Editors(puppet)
    watcher = asyncio.create_task(started.watch(), name="editors-watch")
    try:
        yield started
    finally:
        await started.cancel_typing()
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher


# ------------------------------------------------------------------- helpers


def worker_pids(serve: ServeProcess) -> list[int]:
    """The live uvicorn worker processes of a ``serve --workers N`` process."""
    pid = serve.process.pid
    children: list[str] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            children.extend((task / "children").read_text().split())
    workers = []
    for child in children:
        with contextlib.suppress(OSError):
            # Not the resource tracker; nor a dead worker not yet reaped (a zombie has
            # an empty command line).
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                workers.append(int(child))
    return workers


def connections_held(pid: int, port: int) -> int:
    """How many established TCP connections to ``port`` the process ``pid`` holds."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(FileNotFoundError):
            for line in Path(table).read_text().splitlines()[1:]:
                columns = line.split()
                local, state, inode = columns[1], columns[3], columns[9]
                if state == "01" and int(local.rsplit(":", 1)[1], 16) == port:
                    inodes.add(inode)
    held = 0
    for descriptor in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(descriptor)
            if target.startswith("socket:[") and target[len("socket:[") : -1] in inodes:
                held += 1
    return held


class NotStored(AssertionError):
    """The database does not hold the text every client holds."""


async def wait_stored(database: Database, room: CreatedRoom, text: str, by: set[str]) -> None:
    """Wait until the database holds ``text`` (``by``: the killed process's clients)."""
    last = [""]

    async def stored() -> bool:
        last[0] = await database.text(room)
        return last[0] == text

    try:
        # Within the flush window, or once survivors take over from a dead worker (three
        # missed 2 s heartbeats).
        await poll(stored, FLUSH_INTERVAL * 2 + 15, "the database to hold the clients' text")
    except AssertionError as exc:
        have, want = markers_of(last[0]), markers_of(text)
        missing = want - have
        theirs = sum(n for word, n in missing.items() if f"t{word[1:3]}" in by)
        raise NotStored(
            f"{exc}: it lacks {sum(missing.values())} of {sum(want.values())} markers "
            f"({theirs} of them typed by the killed process's clients; e.g. "
            f"{sorted(missing)[:6]}) and has {sum((have - want).values())} nobody typed"
        ) from None


# A formatted log line of the server, and the two lines `serve` prints before logging.
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ (\w+) ")
BANNER = (
    "Roundtable is starting at ",
    "Facilitator link to the demo room: ",
    "Sign in at ",
    "No SMTP server is set (ROUNDTABLE_SMTP_URL): ",
)


def unexpected_log_lines(server: ServeProcess) -> list[str]:
    """Lines logged at ERROR or above, and any unformatted line (a traceback, or a
    message of a worker process, which logs without the formatter: WARNING and up)."""
    found = []
    for line in server.log().splitlines():
        formatted = LOG_LINE.match(line)
        if formatted is not None:
            if formatted.group(1) in ("ERROR", "CRITICAL"):
                found.append(line)
        elif line.strip() and not line.startswith(BANNER):
            found.append(line)
    return found


@dataclass
class Figures:
    deployment: str
    typed_before_kill: int = 0
    stored_at_kill: int = 0
    unstored_at_kill: list[str] = field(default_factory=list)
    typed_while_cut_off: int = 0
    typed_total: int = 0
    cut_off: list[str] = field(default_factory=list)
    resynced: float | None = None
    converged: float | None = None
    stored: float | None = None
    notes: list[str] = field(default_factory=list)

    def show(self) -> None:
        def seconds(value: float | None) -> str:
            return "-" if value is None else f"{value:.2f} s"

        victims = {f"c{c[1:]}" for c in self.cut_off}
        theirs = sum(1 for word in self.unstored_at_kill if word[:3] in victims)
        print(
            f"\n[{self.deployment}] {CLIENTS} y-websocket clients typing "
            f"{EDITS_PER_SECOND:g} edits/s each, flush interval {FLUSH_INTERVAL:g} s\n"
            f"  edits typed: {self.typed_total} ({self.typed_before_kill} before the kill, "
            f"{self.typed_while_cut_off} from the kill until every client was synced again)\n"
            f"  at the kill: {self.stored_at_kill} edits stored; {len(self.unstored_at_kill)} "
            f"typed edits not stored ({theirs} of them by the killed process's clients)\n"
            f"  clients cut off by the kill: {len(self.cut_off)}\n"
            f"  kill -> every cut-off client synced again: {seconds(self.resynced)}\n"
            f"  typing stopped -> all {CLIENTS} clients equal, with every edit: "
            f"{seconds(self.converged)}\n"
            f"  clients equal -> the database holds exactly their text: {seconds(self.stored)}"
            + "".join(f"\n  {note}" for note in self.notes)
        )


async def type_until_a_flush(editors: Editors, database: Database, room: CreatedRoom) -> None:
    """Type until something is stored, and then some more (not stored yet)."""
    editors.start_typing()

    async def something_stored() -> bool:
        return bool(await database.text(room))

    await poll(something_stored, 15, "a first flush while the clients type")
    await editors.wait_typed(len(editors.typed) + TYPED_BEFORE_KILL, "more typing after it")


async def count_unstored(
    editors: Editors, database: Database, room: CreatedRoom, figures: Figures
) -> None:
    """Right after the kill: what of the edits typed until then storage lacks."""
    stored = markers_of(await database.text(room))
    assert not stored - Counter(editors.typed), "storage holds markers nobody typed"
    typed = Counter(editors.typed[: figures.typed_before_kill])
    figures.stored_at_kill = sum(stored.values())
    figures.unstored_at_kill = sorted((typed - stored).elements())
    assert figures.unstored_at_kill, "the kill came when everything typed was stored"


async def see_it_through(
    editors: Editors, database: Database, room: CreatedRoom, figures: Figures
) -> None:
    """Once the cut-off clients are synced again: type on, stop, converge, check storage."""
    await editors.wait_typed(len(editors.typed) + TYPED_AFTER_RESYNC, "typing after the resync")
    await editors.stop_typing()
    figures.typed_total = len(editors.typed)
    stopped = time.monotonic()
    final = await editors.converge()
    converged = time.monotonic()
    figures.converged = converged - stopped
    await wait_stored(database, room, final, set(figures.cut_off))
    figures.stored = time.monotonic() - converged


# --------------------------------------------------------------------- tests


async def test_sigkill_of_the_only_process_loses_no_edit(
    launcher: Launcher, sqlite_url: str, editors: Editors
) -> None:
    figures = Figures("one serve process, SQLite, no Redis")
    env = {"ROUNDTABLE_FLUSH_INTERVAL": str(FLUSH_INTERVAL)}
    first = await launcher.start("first", database_url=sqlite_url, env=env)
    database = Database(sqlite_url)
    try:
        room = await database.create_room("Kill the only process")
        await editors.connect(first, room)
        await type_until_a_flush(editors, database, room)

        figures.typed_before_kill = len(editors.typed)
        await first.kill()
        killed_at = time.monotonic()
        # Storage as the dead process left it. The clients type on, cut off.
        await count_unstored(editors, database, room, figures)
        second = await launcher.start("second", database_url=sqlite_url, env=env, port=first.port)
        figures.notes.append(f"kill -> serving again: {time.monotonic() - killed_at:.2f} s")
        figures.cut_off = await editors.wait_closed(
            CLIENTS, killed_at, "every client to see its connection close"
        )
        synced = await editors.wait_synced(
            figures.cut_off, killed_at, "every client to sync with the new process"
        )
        figures.resynced = synced - killed_at
        figures.typed_while_cut_off = len(editors.typed) - figures.typed_before_kill

        await see_it_through(editors, database, room, figures)
        for server in (first, second):
            assert not unexpected_log_lines(server), server.log()[-6000:]
    finally:
        await database.close()
        figures.show()


@pytest.mark.redis
@pytest.mark.postgres
async def test_sigkill_of_one_of_two_workers_loses_no_edit(
    launcher: Launcher,
    postgres_url: str,
    database: Database,
    redis_url: str,
    prefix: str,
    editors: Editors,
) -> None:
    figures = Figures("serve --workers 2, PostgreSQL, Redis")
    served = await launcher.start(
        "workers",
        database_url=postgres_url,
        redis_url=redis_url,
        prefix=prefix,
        workers=2,
        env={"ROUNDTABLE_FLUSH_INTERVAL": str(FLUSH_INTERVAL)},
    )
    try:
        room = await database.create_room("Kill one worker")
        await editors.connect(served, room)
        workers = worker_pids(served)
        assert len(workers) == 2, f"the workers of {served.process.pid}: {workers}"
        held = {pid: connections_held(pid, served.port) for pid in workers}
        victim = max(workers, key=lambda pid: held[pid])
        assert held[victim] > 0, f"no worker holds a connection: {held}"
        figures.notes.append(f"connections per worker before the kill: {sorted(held.values())}")
        await type_until_a_flush(editors, database, room)

        # The supervisor is held until the killed worker's clients are back, so that all
        # of them reconnect to the surviving worker, as they do whenever the respawn is
        # slower than y-websocket's first retry; then it respawns the worker.
        figures.typed_before_kill = len(editors.typed)
        os.kill(served.process.pid, signal.SIGSTOP)
        try:
            os.kill(victim, signal.SIGKILL)
            killed_at = time.monotonic()
            await count_unstored(editors, database, room, figures)
            figures.cut_off = await editors.wait_closed(
                held[victim], killed_at, f"the {held[victim]} clients of the killed worker to close"
            )
            synced = await editors.wait_synced(
                figures.cut_off, killed_at, "the killed worker's clients to sync again"
            )
        finally:
            os.kill(served.process.pid, signal.SIGCONT)
        figures.resynced = synced - killed_at
        figures.typed_while_cut_off = len(editors.typed) - figures.typed_before_kill
        assert len(figures.cut_off) == held[victim]

        def respawned() -> bool:
            current = worker_pids(served)
            return len(current) == 2 and victim not in current

        await eventually(respawned, 15, "uvicorn to start a new worker")
        [new] = set(worker_pids(served)) - set(workers)
        figures.notes.append(f"uvicorn replaced the killed worker {victim} with {new}")

        await see_it_through(editors, database, room, figures)
        assert not unexpected_log_lines(served), served.log()[-6000:]
    finally:
        figures.show()
