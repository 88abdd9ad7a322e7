"""Convergence fuzzer: random concurrent edits, faulty delivery, two server processes.

Each case is one new room whose document ``guide`` is edited by 2 or 3 pycrdt clients
(:mod:`tests.convergence.peer`) and 2 or 3 npm ``yjs`` + ``y-websocket`` clients
(``tests/interop/convergence.mjs``), spread over two ``roundtable serve`` processes that
share Redis and one PostgreSQL database. Clients edit the TipTap content (the
XmlFragment ``default``: paragraphs, headings, bullet lists of list items) and the
``Y.Text`` ``text``: insert, delete and format characters, insert and delete blocks and
list items, undo their own edits (:mod:`tests.convergence.editing`).

Delivery is faulty: every frame a client sends is held for a random time, so frames
leave out of order and the server gets updates whose dependencies have not arrived, and
some are sent twice; clients go offline (a clean close or a cut connection), keep
editing, and come back to either process through the usual handshake. Rounds of edits
are separated by short random pauses.

Then editing stops, every client delivers what it holds and comes online, and the case
waits until every client holds the same content. That content must also be what a
fresh pycrdt joiner and a fresh Node joiner receive, what each server process holds
(its answer to a sync step 1 with an empty state vector), and what the database holds
(snapshot and log folded with ``crdt.document.compact``; the servers compact every 20
log rows). After the last case both processes are stopped, two new ones load every
case's document from the database, and it must still be the same. Contents are
compared in one canonical JSON form (fragment tree and text deltas with their marks,
:mod:`tests.convergence.content`), and the fragment's string form among copies made by
the same library. The servers must log no error.

Randomness comes from one seed per case; case ``i`` of a run uses ``seed + i``. A
failing case prints its seed, how to replay it, the copies grouped by content with a
diff, the state vectors and what Yjs copies wait for, and saves every copy, the stored
rows, every update each pycrdt client took and the servers' logs under
``artifacts/convergence/seed-<seed>/``::

    ROUNDTABLE_CONVERGENCE_SEED=<seed> ROUNDTABLE_CONVERGENCE_CASES=1 \\
        .venv/bin/pytest tests/convergence -s

A replay makes the same decisions, not necessarily in the same interleaving: network
timing is not replayed. ``ROUNDTABLE_CONVERGENCE_FAULTS=0`` turns the delivery faults
and reconnects off (clients only edit; every frame goes out at once, in order, once),
to tell whether a divergence needs them. ``make fuzz CASES=N`` runs N cases. Every run
prints a report line.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import re
import time
from collections import Counter
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pycrdt import write_var_uint
from websockets.asyncio.client import connect

from crdt.document import compact, decode_state_vector
from crdt.protocol import SyncStep2, decode_message, encode_sync_step1
from rooms.directory import CreatedRoom
from rooms.roles import Role
from tests.convergence.content import Content, canonical, content_of, diff, state_of, xml_of
from tests.convergence.node import NodeError, NodePeers
from tests.convergence.peer import TRY_AGAIN_LATER, Delivery, Peer
from tests.support.cluster import (
    DOC,
    Database,
    Launcher,
    ServeProcess,
    doc_url,
    join_over_http,
    poll,
)
from tests.support.node_client import require_node_puppet
from tests.support.timing import eventually, timeout

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.node]

DEFAULT_CASES = 5
CASES = int(os.environ.get("ROUNDTABLE_CONVERGENCE_CASES") or DEFAULT_CASES)
_SEED = os.environ.get("ROUNDTABLE_CONVERGENCE_SEED")
FIRST_SEED = int(_SEED) if _SEED else random.SystemRandom().randrange(1, 10**9)
# ROUNDTABLE_CONVERGENCE_FAULTS=0 delivers every frame at once, in order and once, and
# keeps every client connected: whether a divergence needs faulty delivery to happen.
FAULTS = os.environ.get("ROUNDTABLE_CONVERGENCE_FAULTS", "1") != "0"
# Generous: a case takes 2 to 4 s on the 2-core development machine.
RUN_TIMEOUT = timeout(90 + 20 * CASES)
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "convergence"
# Names the case being run while it runs: what is left of a run the CRDT core crashed.
RUNNING = ARTIFACTS / "running.txt"

SERVER_ENV = {
    "ROUNDTABLE_FLUSH_INTERVAL": "0.05",
    # Compactions during the case, not only at the end.
    "ROUNDTABLE_COMPACT_THRESHOLD": "20",
    # A process whose clients all left unloads the document and loads it again.
    "ROUNDTABLE_IDLE_UNLOAD_SECONDS": "1",
    # The fuzzer connects, reconnects and sends far more than a person does.
    "ROUNDTABLE_MAX_CONNECTION_ATTEMPTS_PER_MINUTE": "0",
    "ROUNDTABLE_MAX_MESSAGES_PER_SECOND": "0",
    "ROUNDTABLE_MAX_SYNC_REQUESTS_PER_MINUTE": "0",
    "ROUNDTABLE_MAX_JOINS_PER_INVITE_PER_MINUTE": "0",
    "ROUNDTABLE_MAX_JOINS_PER_ADDRESS_PER_MINUTE": "0",
}
# How long the clients may take to agree once editing stopped, and how long a joiner or
# the database may take to hold what they agreed on.
SETTLE_SECONDS = 20.0
CATCH_UP_SECONDS = 10.0


@dataclass
class Tally:
    """What a run did, for the report line."""

    started: float = field(default_factory=time.monotonic)
    cases: int = 0
    first_seed: int = FIRST_SEED
    pycrdt_clients: int = 0
    node_clients: int = 0
    joiners: int = 0
    operations: Counter[str] = field(default_factory=Counter)
    frames: int = 0
    reorders: int = 0
    duplicates: int = 0
    lost: int = 0
    reconnects: int = 0
    cuts: int = 0
    retries: int = 0
    reloaded: int = 0
    panics: int = 0
    slowest_settle: float = 0.0

    def add(self, stats: dict[str, Any], operations: dict[str, int]) -> None:
        self.frames += int(stats.get("frames", 0))
        self.reorders += int(stats.get("reorders", 0))
        self.duplicates += int(stats.get("duplicates", 0))
        self.lost += int(stats.get("lost", 0))
        self.reconnects += int(stats.get("reconnects", 0))
        self.cuts += int(stats.get("drops", 0))
        self.retries += int(stats.get("retries", 0))
        self.operations.update(operations)

    def report(self) -> str:
        elapsed = time.monotonic() - self.started
        total = sum(n for name, n in self.operations.items() if name != "undo.none")
        kinds = ", ".join(f"{name} {n}" for name, n in sorted(self.operations.items()))
        last = self.first_seed + max(self.cases - 1, 0)
        seeds = (
            f"seed {self.first_seed}"
            if last == self.first_seed
            else (f"seeds {self.first_seed}..{last}")
        )
        return (
            f"convergence: {self.cases} cases ({seeds}"
            f"{'' if FAULTS else ', delivery faults off'}); "
            f"{self.pycrdt_clients + self.node_clients} editing clients "
            f"({self.pycrdt_clients} pycrdt, {self.node_clients} Node) and {self.joiners} "
            f"fresh joiners; {total} operations ({kinds}); {self.frames} frames sent by "
            f"editing clients, {self.reorders} out of order, {self.duplicates} duplicated, "
            f"{self.lost} lost with their connection; "
            f"{self.reconnects} reconnects ({self.cuts} cut without a close frame, "
            f"{self.retries} after a close 1013); {self.reloaded} documents loaded again by "
            f"both processes after a restart; {self.panics} panics of the CRDT core logged "
            "by the servers; "
            f"slowest settle {self.slowest_settle:.2f} s; {elapsed:.1f} s"
        )


@dataclass
class Copy:
    """One copy of a case's document, as read at the end."""

    name: str
    content: Content | None
    # The fragment's string form, and which library rendered it.
    xml: str | None = None
    library: str = "pycrdt"
    state_vector: dict[int, int] | None = None
    update: bytes | None = None
    note: str = ""


@dataclass
class Finished:
    """A case that converged: what every copy of its document holds."""

    seed: int
    room: CreatedRoom
    observer: str
    content: Content


class Divergence(AssertionError):
    pass


def replay_hint(seed: int) -> str:
    return (
        f"replay: ROUNDTABLE_CONVERGENCE_SEED={seed} ROUNDTABLE_CONVERGENCE_CASES=1 "
        ".venv/bin/pytest tests/convergence -s"
    )


def vector(state_vector: bytes) -> dict[int, int]:
    return dict(sorted(decode_state_vector(state_vector).items()))


def pycrdt_copy(name: str, update: bytes, note: str = "") -> Copy:
    doc = state_of(update)
    return Copy(name, content_of(doc), xml_of(doc), "pycrdt", vector(doc.get_state()), update, note)


def peer_copy(peer: Peer) -> Copy:
    """A pycrdt client's document as it holds it."""
    doc = peer.doc
    return Copy(
        peer.name,
        content_of(doc),
        xml_of(doc),
        "pycrdt",
        vector(doc.get_state()),
        note=peer.describe_delivery(),
    )


def whole_state(peer: Peer) -> tuple[bytes, str]:
    """A pycrdt client's whole state, and whether it reads the same in a new document."""
    doc = peer.doc
    update = doc.get_update()
    reloaded = state_of(update)
    held, read = content_of(doc), content_of(reloaded)
    if read == held and vector(reloaded.get_state()) == vector(doc.get_state()):
        return update, ""
    return update, (
        f"{peer.name}: its whole state loaded into a new document reads otherwise "
        f"(state vector {vector(reloaded.get_state())}):\n"
        + diff(held, read, peer.name, "its whole state, loaded")
    )


async def live_copy(url: str, token: str) -> bytes:
    """The whole document as a server process holds it: its answer to a sync step 1
    with an empty state vector."""
    async with (
        asyncio.timeout(timeout(10)),
        connect(f"{url}?token={token}", max_size=None) as ws,
    ):
        await ws.send(encode_sync_step1(b"\x00"))
        async for frame in ws:
            assert isinstance(frame, bytes)
            message = decode_message(frame)
            if isinstance(message, SyncStep2):
                return message.update
    raise AssertionError(f"{url} closed before it sent its sync step 2")


async def stored_rows(database: Database, room: CreatedRoom) -> tuple[bytes | None, list[bytes]]:
    document_id = await database.document_id(room)
    assert document_id is not None, "the document was never stored"
    stored = await database.store.load_document(document_id)
    return stored.snapshot, list(stored.updates)


def report(seed: int, headline: str, copies: list[Copy], expected: Content | None) -> str:
    """The copies grouped by content, each group's diff from the expected content (or the
    largest group), the state vectors where they differ, and notes."""
    groups: dict[str, list[Copy]] = {}
    for copy in copies:
        key = "(none)" if copy.content is None else canonical(copy.content)
        groups.setdefault(key, []).append(copy)
    ordered = sorted(groups.values(), key=len, reverse=True)
    if expected is not None:
        ordered.sort(key=lambda group: group[0].content != expected)
    base = ordered[0][0]
    lines = [
        f"case seed {seed}: {headline}",
        replay_hint(seed),
        f"{len(groups)} different contents:",
    ]
    for group in ordered:
        lines.append(f"- held by {', '.join(copy.name for copy in group)}")
        first = group[0]
        if first is not base and first.content is not None and base.content is not None:
            lines += [
                "  " + line
                for line in diff(base.content, first.content, base.name, first.name).splitlines()
            ]
    vectors = {copy.name: copy.state_vector for copy in copies if copy.state_vector is not None}
    if len({str(v) for v in vectors.values()}) > 1:
        lines.append("state vectors (client id: next clock):")
        lines += [f"  {name}: {v}" for name, v in vectors.items()]
    notes = [f"  {copy.name}: {copy.note}" for copy in copies if copy.note]
    if notes:
        lines += ["notes:", *notes]
    return "\n".join(lines)


def file_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name)


def save_artifacts(
    seed: int,
    text: str,
    copies: list[Copy],
    stored: tuple[bytes | None, list[bytes]],
    processes: list[ServeProcess],
) -> Path:
    """The report, every copy as one Yjs update, the stored rows and the servers' logs."""
    directory = ARTIFACTS / f"seed-{seed}"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "report.txt").write_text(text + "\n")
    for copy in copies:
        if copy.update is not None:
            (directory / f"{file_name(copy.name)}.update").write_bytes(copy.update)
    snapshot, log = stored
    if snapshot:
        (directory / "stored-snapshot.update").write_bytes(snapshot)
    for index, row in enumerate(log):
        (directory / f"stored-log-{index:04d}.update").write_bytes(row)
    for process in processes:
        (directory / f"{process.name}.log").write_text(process.log())
    return directory


# ------------------------------------------------------------------------ a case


class Case:
    """One room, its clients, their edits and the checks at the end."""

    def __init__(
        self,
        seed: int,
        processes: list[ServeProcess],
        database: Database,
        node: NodePeers,
        tally: Tally,
    ) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.processes = processes
        self.database = database
        self.node = node
        self.tally = tally
        self.peers: list[Peer] = []
        self.node_ids: list[str] = []
        self.joiners: list[Peer] = []
        self.node_joiners: list[str] = []
        self.offline_nodes: set[str] = set()
        self._room: CreatedRoom | None = None
        self._observer: str | None = None

    @property
    def room(self) -> CreatedRoom:
        assert self._room is not None
        return self._room

    def url(self, index: int) -> str:
        return doc_url(self.processes[index], self.room)

    def server(self, index: int) -> str:
        return self.processes[index].sync_url(self.room.room.slug)

    async def join(self, index: int, name: str, role: Role = Role.MEMBER) -> str:
        return await join_over_http(self.processes[index].http, self.room, role, name)

    async def observer(self) -> str:
        if self._observer is None:
            self._observer = await self.join(0, "observer", Role.OBSERVER)
        return self._observer

    async def run(self) -> Finished:
        try:
            await self.start()
            for _ in range(self.rng.randint(10, 20)):
                await self.round()
            await self.settle()
            return await self.check()
        finally:
            await self.close()

    async def start(self) -> None:
        rng = self.rng
        self._room = await self.database.create_room(f"Convergence {self.seed}")
        py_count, node_count = rng.randint(2, 3), rng.randint(2, 3)
        for i in range(py_count):
            delivery = Delivery(
                max_delay=rng.choice([0.0, 0.02, 0.08, 0.2]) * FAULTS,
                duplicate_rate=rng.choice([0.0, 0.1, 0.3]) * FAULTS,
            )
            peer = Peer(
                f"py{i}",
                await self.join(i % 2, f"py{i}"),
                random.Random(rng.getrandbits(64)),
                delivery,
                capture_timeout_ms=rng.choice([0, 0, 100]),
            )
            self.peers.append(peer)
        self.tally.pycrdt_clients += py_count
        # The first client creates the document; the others join it at once.
        await self.peers[0].connect(self.url(0))
        async with asyncio.timeout(timeout(10)):
            await self.peers[0].synced.wait()
        await asyncio.gather(
            *(peer.connect(self.url(i % 2)) for i, peer in enumerate(self.peers) if i)
        )
        for i in range(node_count):
            ident = f"s{self.seed}-node{i}"
            process = (i + 1) % 2
            await self.node.call(
                "open",
                id=ident,
                server=self.server(process),
                doc=DOC,
                token=await self.join(process, f"node{i}"),
                seed=rng.getrandbits(31),
                maxDelay=rng.choice([0, 20, 80, 200]) * FAULTS,
                dupRate=rng.choice([0.0, 0.1, 0.3]) * FAULTS,
                captureTimeout=rng.choice([0, 0, 100]),
            )
            self.node_ids.append(ident)
            self.tally.node_clients += 1

    async def round(self) -> None:
        """Every client, in a random order, edits, goes offline, comes back or moves."""
        rng = self.rng
        actors: list[Peer | str] = [*self.peers, *self.node_ids]
        rng.shuffle(actors)
        node_calls: list[Awaitable[Any]] = []
        for actor in actors:
            # Without faults every roll edits.
            roll = rng.random() if FAULTS else rng.random() + 1
            if isinstance(actor, Peer):
                if not actor.online and roll < 0.3:
                    await actor.ensure_online(self.url(rng.randrange(2)))
                elif actor.online and roll < 0.05:
                    await actor.disconnect(abrupt=rng.random() < 0.5)
                elif actor.online and roll < 0.08:
                    await actor.move(self.url(rng.randrange(2)), abrupt=rng.random() < 0.3)
                else:
                    actor.edit(rng.randint(1, 3))
                continue
            offline = actor in self.offline_nodes
            if offline and roll < 0.3:
                self.offline_nodes.discard(actor)
                node_calls.append(
                    self.node.call("online", id=actor, server=self.server(rng.randrange(2)))
                )
            elif not offline and roll < 0.05:
                self.offline_nodes.add(actor)
                node_calls.append(self.node.call("offline", id=actor))
            elif not offline and roll < 0.08:
                node_calls.append(
                    self.node.call("online", id=actor, server=self.server(rng.randrange(2)))
                )
            elif not offline and roll < 0.10:
                node_calls.append(self.node.call("drop", id=actor))
            else:
                node_calls.append(self.node.call("edit", id=actor, count=rng.randint(1, 3)))
        await asyncio.gather(*node_calls)
        # Random pacing between rounds, so edits interleave with deliveries.
        await asyncio.sleep(rng.uniform(0, 0.03))

    async def settle(self) -> None:
        """Stop editing: deliver everything, everyone online; wait until all agree."""
        started = time.monotonic()
        for peer in self.peers:
            peer.settle()
            await peer.ensure_online(self.url(self.rng.randrange(2)))
        for ident in self.node_ids:
            await self.node.call("settle", id=ident, server=self.server(self.rng.randrange(2)))
        self.offline_nodes.clear()
        try:
            await eventually(self.agreed, SETTLE_SECONDS, "every client to hold the same content")
        except AssertionError as exc:
            await self.fail(str(exc), None)
        self.tally.slowest_settle = max(self.tally.slowest_settle, time.monotonic() - started)

    def agreed(self) -> bool:
        self.raise_errors()
        contents: list[Content | None] = [peer.content for peer in self.peers]
        for ident in self.node_ids:
            snapshot = self.node.latest.get(ident)
            contents.append(None if snapshot is None else snapshot.content)
        return contents[0] is not None and all(c == contents[0] for c in contents)

    def raise_errors(self) -> None:
        errors = [error for peer in self.peers for error in peer.errors]
        errors += [
            f"{ident}: the server closed the connection: {code} {reason!r}"
            for ident, code, reason in self.node.closes
            if ident in self.node_ids and code != TRY_AGAIN_LATER
        ]
        errors += self.node.errors
        if errors:
            raise AssertionError(
                f"case seed {self.seed}: clients failed ({replay_hint(self.seed)}):\n"
                + "\n".join(errors)
            )

    async def check(self) -> Finished:
        """Joiners, both processes and the database must hold what the clients agreed on."""
        expected = self.peers[0].content
        # A fresh pycrdt joiner on the first process, a fresh Node joiner on the second.
        joiner = Peer(
            "fresh pycrdt joiner",
            await self.join(0, "py-joiner"),
            random.Random(0),
            Delivery(0.0, 0.0),
            edits=False,
        )
        self.joiners.append(joiner)
        await joiner.connect(self.url(0))
        node_joiner = f"s{self.seed}-joiner"
        await self.node.call(
            "open",
            id=node_joiner,
            server=self.server(1),
            doc=DOC,
            token=await self.join(1, "node-joiner"),
            faulty=False,
            edits=False,
            watch=True,
        )
        self.node_joiners.append(node_joiner)
        self.tally.joiners += 2

        def joined() -> bool:
            snapshot = self.node.latest.get(node_joiner)
            return (
                joiner.content == expected and snapshot is not None and snapshot.content == expected
            )

        async def stored_as_expected() -> bool:
            snapshot, log = await stored_rows(self.database, self.room)
            return content_of(state_of(compact(snapshot, log))) == expected

        # Waits that end early when all is well; what differs then is reported below.
        with contextlib.suppress(AssertionError):
            await eventually(joined, CATCH_UP_SECONDS, "the joiners")
        with contextlib.suppress(AssertionError):
            await poll(stored_as_expected, CATCH_UP_SECONDS, "the database")

        copies = await self.copies()
        wrong = [copy.name for copy in copies if copy.content != expected]
        for library in ("pycrdt", "yjs"):
            forms = {copy.xml for copy in copies if copy.library == library and copy.xml}
            if len(forms) > 1:
                wrong.append(f"the string forms of the {library} copies ({len(forms)} different)")
        if wrong:
            await self.fail(
                "the clients agree, but not " + ", ".join(wrong), expected, copies=copies
            )
        return Finished(self.seed, self.room, await self.observer(), expected)

    async def copies(self) -> list[Copy]:
        """Every copy of the document: clients, joiners, both processes, the database."""
        copies = [peer_copy(peer) for peer in (*self.peers, *self.joiners)]
        for ident in [*self.node_ids, *self.node_joiners]:
            try:
                snapshot, update = await self.node.snapshot(ident)
            except NodeError as exc:
                copies.append(Copy(ident, None, library="yjs", note=f"could not be read: {exc}"))
                continue
            note = f"waits for {snapshot.pending}" if snapshot.waiting else ""
            copies.append(
                Copy(
                    ident,
                    snapshot.content,
                    snapshot.xml,
                    "yjs",
                    vector(snapshot.state_vector),
                    update,
                    note,
                )
            )
        observer = await self.observer()
        for index, process in enumerate(self.processes):
            name = f"process {process.name}"
            try:
                copies.append(pycrdt_copy(name, await live_copy(self.url(index), observer)))
            except (AssertionError, OSError, TimeoutError) as exc:
                copies.append(Copy(name, None, note=f"could not be read: {exc!r}"))
        stored, log = await stored_rows(self.database, self.room)
        copies.append(
            pycrdt_copy(
                "database",
                compact(stored, log),
                f"snapshot {'and ' if stored else 'none, '}{len(log)} log rows, compacted",
            )
        )
        return copies

    async def fail(
        self, headline: str, expected: Content | None, copies: list[Copy] | None = None
    ) -> None:
        if copies is None:
            copies = await self.copies()
        text = report(self.seed, headline, copies, expected)
        stored = await stored_rows(self.database, self.room)
        directory = save_artifacts(self.seed, text, copies, stored, self.processes)
        # What each yjs client sent, to replay a refused frame against the stored state:
        # per frame its length as a varuint, then the frame.
        for ident in [*self.node_ids, *self.node_joiners]:
            with contextlib.suppress(NodeError):
                frames = await self.node.sent_frames(ident)
                (directory / f"{file_name(ident)}.frames").write_bytes(
                    b"".join(write_var_uint(len(frame)) + frame for frame in frames)
                )
        # The pycrdt clients' whole states come last: encoding a pycrdt document has
        # crashed the CRDT core (a segfault); the report and every update each client
        # took (to build its document again) are saved by then.
        peers = (*self.peers, *self.joiners)
        for peer in peers:
            (directory / f"{file_name(peer.name)}.history").write_bytes(peer.history_bytes())
        notes = []
        for peer in peers:
            update, note = whole_state(peer)
            (directory / f"{file_name(peer.name)}.update").write_bytes(update)
            if note:
                notes.append(note)
        if notes:
            text += "\n" + "\n".join(notes)
            (directory / "report.txt").write_text(text + "\n")
        raise Divergence(f"{text}\nevery copy saved in {directory}")

    async def close(self) -> None:
        for peer in (*self.peers, *self.joiners):
            with contextlib.suppress(Exception):
                await peer.close()
        for peer in self.peers:
            stats = peer.stats
            self.tally.add(
                {
                    "frames": stats.frames,
                    "reorders": stats.reorders,
                    "duplicates": stats.duplicates,
                    "reconnects": stats.reconnects,
                    "drops": stats.drops,
                    "retries": stats.retries,
                },
                dict(peer.operations),
            )
        for ident in self.node_ids:
            with contextlib.suppress(Exception):
                reply = await self.node.call("close", id=ident)
                self.tally.add(reply["stats"], reply["ops"])
        for ident in self.node_joiners:
            with contextlib.suppress(NodeError):
                await self.node.call("close", id=ident)


# ------------------------------------------------------------------------ the run


async def start_processes(
    launcher: Launcher, names: list[str], database_url: str, redis_url: str, prefix: str
) -> list[ServeProcess]:
    return list(
        await asyncio.gather(
            *(
                launcher.start(
                    name,
                    database_url=database_url,
                    redis_url=redis_url,
                    prefix=prefix,
                    env=SERVER_ENV,
                )
                for name in names
            )
        )
    )


def server_errors(processes: list[ServeProcess]) -> list[str]:
    """Lines logged at ERROR, and tracebacks."""
    found: list[str] = []
    for process in processes:
        for line in process.log().splitlines():
            if re.search(r"\bERROR\b|Traceback", line):
                found.append(f"{process.name}: {line}")
    return found


def core_panics(processes: list[ServeProcess]) -> int:
    """Rust panics pycrdt reported on stderr (and turned into exceptions the server
    handles): counted for the report."""
    return sum(process.log().count("panicked at") for process in processes)


async def rejoin_after_restart(
    finished: list[Finished], processes: list[ServeProcess], tally: Tally
) -> None:
    """Every case's document, loaded from the database by new processes, is the same."""
    for case in finished:
        for process in processes:
            update = await live_copy(doc_url(process, case.room), case.observer)
            content = content_of(state_of(update))
            if content != case.content:
                raise Divergence(
                    f"case seed {case.seed}: after a restart process {process.name} loads "
                    f"another content; {replay_hint(case.seed)}\n"
                    + diff(case.content, content, "before the restart", process.name)
                )
        tally.reloaded += 1


@pytest.mark.timeout(RUN_TIMEOUT)
async def test_random_concurrent_edits_converge_on_every_copy(
    postgres_url: str, redis_url: str, prefix: str, launcher: Launcher, database: Database
) -> None:
    require_node_puppet()
    tally = Tally()
    processes = await start_processes(launcher, ["a", "b"], postgres_url, redis_url, prefix)
    node = await NodePeers.start()
    finished: list[Finished] = []
    try:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for index in range(CASES):
            case = Case(FIRST_SEED + index, processes, database, node, tally)
            RUNNING.write_text(f"case seed {case.seed}; {replay_hint(case.seed)}\n")
            try:
                finished.append(await case.run())
            finally:
                tally.cases += 1
            errors = server_errors(processes)
            assert not errors, (
                f"case seed {case.seed}: the servers logged errors "
                f"({replay_hint(case.seed)}):\n" + "\n".join(errors[:40])
            )
        for process in processes:
            await process.stop()
        restarted = await start_processes(launcher, ["a2", "b2"], postgres_url, redis_url, prefix)
        await rejoin_after_restart(finished, restarted, tally)
        errors = server_errors([*processes, *restarted])
        assert not errors, "the servers logged errors:\n" + "\n".join(errors[:40])
    finally:
        tally.panics = core_panics(launcher.started)
        RUNNING.unlink(missing_ok=True)
        await node.close()
        # Printed on failure too: says how far the run got.
        print(f"\n{tally.report()}")
