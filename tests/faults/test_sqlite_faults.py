"""SQLite refusing writes: a held write lock (busy/locked) and a full disk. Nothing is lost.

Each fault is real SQLite behaviour through the real driver, no mock of the database:

* Busy/locked: a second connection to the database file (stdlib ``sqlite3``) holds the
  write lock with ``BEGIN IMMEDIATE`` while clients keep editing. In WAL mode readers
  still read, but every write of the server waits ``database_busy_timeout`` and fails
  with "database is locked".
* Disk full: SQLite answers SQLITE_FULL, "database or disk is full", two ways: a tmpfs
  of the test's own holding the database, filled to the last byte by a ballast file
  (the kernel's ENOSPC; needs root to mount), and SQLite's own size cap,
  ``PRAGMA max_page_count``, set on every connection the server's pool hands out.

The guarantee, for each: while storage refuses writes the server keeps serving (edits are
relayed between clients, a client holding a token joins a loaded document, ``/health``
answers) and what needs a write is refused clearly (HTTP 503 ``storage_unavailable``
with Retry-After, WebSocket close 1013) instead of a 500; the write-behind keeps every
unstored edit in memory and retries. Once writes succeed again, on their own, without a
forced flush, every client's document is equal and the database holds every edit, each
exactly once: every stored row adds content no earlier row holds (no batch, nor part of
one, stored twice) and the log holds exactly the rows the writer reports stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import sqlite3
import subprocess
from collections.abc import AsyncIterator, Callable, Collection
from pathlib import Path
from typing import Any, Protocol

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from crdt.document import SyncDocument
from rooms.directory import CreatedRoom
from rooms.live.document import LiveDocument
from rooms.live.peer import CloseCode
from rooms.records import StoredDocument
from rooms.roles import Role
from server.config import Settings
from server.outage import REASON, RETRY_AFTER_SECONDS
from tests.support.cluster import close_all, converge, doc_url, poll, text_of_stored
from tests.support.harness import RunningServer, run_server
from tests.support.services import service_missing
from tests.support.settings import fast_settings
from tests.support.threads_client import Person
from tests.support.threads_client import join as join_person
from tests.support.timing import eventually, timeout
from tests.support.yclient import YClient, open_synced

GUIDE = "guide"
NOTES = "notes"
# Failed flushes each document must have had before the fault ends.
FAILED_FLUSHES = 3
# Filler making an edit larger than a database page (4096 bytes): storing it needs a
# new page, where a small edit may still fit in free space of the pages there are.
PADDING = 5000


def _settings(database_url: str) -> Settings:
    return fast_settings(
        database_url,
        flush_interval=0.05,
        # A held lock fails a write after 0.2 s instead of the default 30 s.
        database_busy_timeout=0.2,
        max_flush_retry_delay=0.3,
        # No compaction: the log keeps every stored row, to be checked row by row.
        compact_threshold=1_000_000,
        idle_unload_seconds=60.0,
    )


def _live(server: RunningServer, room: CreatedRoom, name: str) -> LiveDocument:
    for document in server.app_state.hub.documents.values():
        if document.info.room_id == room.room.id and document.info.name == name:
            return document
    raise AssertionError(f"{name} is not loaded")


async def _stored(server: RunningServer, room: CreatedRoom, name: str) -> StoredDocument:
    """What the database holds of a document (a read: it works while writes fail)."""
    info = await server.app_state.store.get_document(room.room.id, name)
    assert info is not None, f"document {name!r} was never stored"
    return await server.app_state.store.load_document(info.id)


async def _wait_stored(server: RunningServer, room: CreatedRoom, name: str, text: str) -> None:
    """Wait until the write-behind stored ``text``, without forcing a flush."""

    async def stored() -> bool:
        return text_of_stored(await _stored(server, room, name)) == text

    await poll(stored, 10, f"the database to hold the text of {name}")


def _text_of(client: YClient) -> Callable[[], str | None]:
    return lambda: str(client.text)


def _probes(
    server: RunningServer, room: CreatedRoom, name: str, clients: dict[str, YClient]
) -> dict[str, Callable[[], str | None]]:
    """The texts of the clients and of the server's copy of ``name``, for ``converge``."""
    probes = {who: _text_of(client) for who, client in clients.items()}
    probes["server"] = lambda: server.live_text(room, name)
    return probes


def _edit(clients: dict[str, YClient], tag: str, padded: Collection[str] = ()) -> list[str]:
    """Each client appends one unique marker; those ``padded`` add a page's worth of filler."""
    markers = []
    for who, client in clients.items():
        marker = f"[{who}:{tag}]"
        client.insert(len(client.text), marker + ("~" * PADDING if who in padded else ""))
        markers.append(marker)
    return markers


async def _check_stored(
    server: RunningServer, room: CreatedRoom, name: str, text: str, markers: list[str]
) -> None:
    """The database holds ``text`` with every marker once, each row stored once."""
    for marker in markers:
        assert text.count(marker) == 1, f"{marker} is in the text {text.count(marker)} times"
    await _wait_stored(server, room, name, text)
    stored = await _stored(server, room, name)
    rebuilt = SyncDocument(stored.snapshot)
    for index, row in enumerate(stored.updates):
        assert rebuilt.adds_structs(row), f"row {index} of {name} adds nothing: stored twice"
        rebuilt.apply(row)
    writer = _live(server, room, name).writer
    assert len(stored.updates) == writer.flushed_updates, (
        "the log holds rows the writer never reported stored: part of a failed batch"
    )
    assert not writer.dirty
    assert writer.failures == 0


def _flush_failures(caplog: pytest.LogCaptureFixture, label: str) -> list[logging.LogRecord]:
    """The logged failed flushes of one document."""
    return [
        record
        for record in caplog.records
        if record.name == "roundtable.storage"
        and record.getMessage().startswith(f"flush of {label} failed")
    ]


def _flush_errors(caplog: pytest.LogCaptureFixture, label: str) -> list[str]:
    """The errors of the failed flushes of one document logged with their traceback
    (the first of each outage at least)."""
    return [
        str(record.exc_info[1])
        for record in _flush_failures(caplog, label)
        if isinstance(record.exc_info, tuple)
    ]


async def _wait_failures(
    server: RunningServer, room: CreatedRoom, names: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    labels = [_live(server, room, name).label for name in names]
    await eventually(
        lambda: all(len(_flush_failures(caplog, label)) >= FAILED_FLUSHES for label in labels),
        10,
        f"{FAILED_FLUSHES} failed flushes of each of {names}",
    )
    for name in names:
        # Failing still: consecutive failures, none succeeded since.
        assert _live(server, room, name).writer.failures >= FAILED_FLUSHES


def _assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, (response.status_code, response.text)
    assert response.json()["error"]["code"] == "storage_unavailable"
    assert response.headers["retry-after"] == str(RETRY_AFTER_SECONDS)


async def _post_join(server: RunningServer, room: CreatedRoom, name: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.http) as client:
        return await client.post(
            "/api/join", json={"invite": room.invites[Role.MEMBER], "name": name}
        )


async def _health(server: RunningServer) -> int:
    async with httpx.AsyncClient(base_url=server.http) as client:
        return (await client.get("/health")).status_code


class WriteLock:
    """A second real connection to the database file, holding SQLite's write lock."""

    def __init__(self, path: Path) -> None:
        self._connection = sqlite3.connect(
            path, isolation_level=None, check_same_thread=False, timeout=timeout(5)
        )
        self.held = False

    async def take(self) -> None:
        # In a thread: if a server write is under way, this waits for its commit, which
        # needs the event loop to run.
        await asyncio.to_thread(self._connection.execute, "BEGIN IMMEDIATE")
        self.held = True

    def release(self) -> None:
        if self.held:
            self._connection.execute("ROLLBACK")
            self.held = False

    def close(self) -> None:
        self.release()
        self._connection.close()


async def test_a_held_write_lock_delays_storage_but_loses_no_edit(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="roundtable.storage")
    path = tmp_path / "roundtable.db"
    async with run_server(_settings(f"sqlite+aiosqlite:///{path}")) as server:
        room = await server.create_room()
        editors = {"ann": GUIDE, "ben": GUIDE, "cy": GUIDE, "dee": NOTES, "eve": NOTES}
        tokens = {who: await server.join(room, Role.MEMBER, who) for who in editors}
        # Issued before the fault: joining a room over HTTP writes a participant row.
        latecomer_token = await server.join(room, Role.MEMBER, "fay")
        tess = await join_person(server, room, Role.MEMBER, "tess")
        clients: dict[str, YClient] = {}
        lock = WriteLock(path)
        try:
            for who, name in editors.items():
                clients[who] = await open_synced(doc_url(server, room, name), tokens[who])
            on = {
                name: {who: clients[who] for who, doc in editors.items() if doc == name}
                for name in (GUIDE, NOTES)
            }
            markers: dict[str, list[str]] = {GUIDE: [], NOTES: []}

            async def edit_and_converge(tag: str) -> dict[str, str]:
                texts = {}
                for name, editing in on.items():
                    markers[name] += _edit(editing, tag)
                for name, editing in on.items():
                    probes = _probes(server, room, name, editing)
                    texts[name] = await converge(probes, markers[name])
                return texts

            before = await edit_and_converge("before")
            for name in (GUIDE, NOTES):
                await _wait_stored(server, room, name, before[name])

            await lock.take()
            try:
                for held_round in range(3):
                    await edit_and_converge(f"held{held_round}")
                await _wait_failures(server, room, [GUIDE, NOTES], caplog)
                for name in (GUIDE, NOTES):
                    errors = _flush_errors(caplog, _live(server, room, name).label)
                    assert errors, "no failed flush was logged with its error"
                    assert all("database is locked" in error for error in errors), errors
                # Editing goes on while every flush fails: the server keeps relaying.
                texts = await edit_and_converge("failing")
                for name in (GUIDE, NOTES):
                    stored = text_of_stored(await _stored(server, room, name))
                    assert stored == before[name], "an edit was stored while the lock was held"

                # A client holding a token joins a loaded document: that only reads.
                fay = await open_synced(doc_url(server, room, GUIDE), latecomer_token)
                clients["fay"] = fay
                await fay.wait_text(texts[GUIDE])
                on[GUIDE]["fay"] = fay
                held = await edit_and_converge("joined")
                assert await _health(server) == 200

                # What needs a write is refused clearly: a new document, a new
                # participant, a new thread.
                refused = await YClient.open(doc_url(server, room, "fresh"), tokens["ann"])
                clients["refused"] = refused
                assert await refused.wait_closed() == (CloseCode.TRY_AGAIN_LATER, REASON)
                _assert_unavailable(await _post_join(server, room, "gus"))
                _assert_unavailable(await tess.call("POST", "/threads", {"body": "Held?"}))
            finally:
                lock.release()

            # The retries alone store what was held, with no new edit to set off a flush.
            for name in (GUIDE, NOTES):
                await _wait_stored(server, room, name, held[name])
            texts = await edit_and_converge("after")
            for name in (GUIDE, NOTES):
                await _check_stored(server, room, name, texts[name], markers[name])

            # Each refused write succeeds when tried again.
            fresh = await open_synced(doc_url(server, room, "fresh"), tokens["ann"])
            clients["fresh"] = fresh
            fresh.insert(0, "[ann:fresh]")
            await _wait_stored(server, room, "fresh", "[ann:fresh]")
            joined = await _post_join(server, room, "gus")
            assert joined.status_code == 200, joined.text
            await tess.start("Stored now?")
        finally:
            lock.close()
            await close_all(clients.values())


class FullDisk(Protocol):
    """A way to make the server's SQLite writes fail with SQLITE_FULL, and to undo it."""

    database_url: str

    async def fill(self, server: RunningServer) -> None: ...

    async def free(self, server: RunningServer) -> None: ...


class SmallFilesystem:
    """A tmpfs of the test's own holding the database, filled up by a ballast file."""

    def __init__(self, tmp_path: Path) -> None:
        self.mount_point = tmp_path / "disk"
        self.mount_point.mkdir()
        self.ballast = self.mount_point / "ballast"
        self.database_url = f"sqlite+aiosqlite:///{self.mount_point / 'roundtable.db'}"
        self.mounted = False

    def mount(self) -> None:
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=16m,mode=0700", "tmpfs", str(self.mount_point)],
            capture_output=True,
            text=True,
            check=False,
        )
        if mounted.returncode != 0:
            service_missing(f"cannot mount a tmpfs (needs root): {mounted.stderr.strip()}")
        self.mounted = True

    def unmount(self) -> None:
        if self.mounted:
            done = subprocess.run(["umount", str(self.mount_point)], check=False)
            if done.returncode != 0:
                subprocess.run(["umount", "-l", str(self.mount_point)], check=True)
            self.mounted = False

    async def fill(self, server: RunningServer) -> None:
        descriptor = os.open(self.ballast, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            chunk = 1 << 20
            while chunk >= 512:
                try:
                    os.write(descriptor, bytes(chunk))
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
                    chunk //= 2
        finally:
            os.close(descriptor)
        free = os.statvfs(self.mount_point)
        assert free.f_bavail == 0, f"{free.f_bavail} blocks still free"

    async def free(self, server: RunningServer) -> None:
        self.ballast.unlink(missing_ok=True)


class PageLimit:
    """SQLite's own size cap, ``PRAGMA max_page_count``, on every pooled connection.

    The pragma is per connection, so it is set each time the server's pool hands a
    connection out: the cap applies to the next statement of every connection, new or
    pooled. SQLite then fails a write needing a page beyond it with SQLITE_FULL.
    """

    def __init__(self, tmp_path: Path) -> None:
        self.path = tmp_path / "roundtable.db"
        self.database_url = f"sqlite+aiosqlite:///{self.path}"
        self.limit: int | None = None
        self._engine: AsyncEngine | None = None
        with contextlib.closing(sqlite3.connect(":memory:")) as connection:
            self._default: int = connection.execute("PRAGMA max_page_count").fetchone()[0]

    def _on_checkout(self, dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA max_page_count={self.limit or self._default}")
        cursor.close()

    async def fill(self, server: RunningServer) -> None:
        if self._engine is None:
            self._engine = server.app_state.store.engine
            event.listen(self._engine.sync_engine, "checkout", self._on_checkout)
        with contextlib.closing(sqlite3.connect(self.path)) as connection:
            pages: int = connection.execute("PRAGMA page_count").fetchone()[0]
        # Not one page more than the database has now.
        self.limit = pages

    async def free(self, server: RunningServer) -> None:
        self.limit = None

    def close(self) -> None:
        if self._engine is not None:
            event.remove(self._engine.sync_engine, "checkout", self._on_checkout)
            self._engine = None


@pytest.fixture(params=["tmpfs", "max_page_count"])
async def full_disk(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[FullDisk]:
    if request.param == "tmpfs":
        filesystem = SmallFilesystem(tmp_path)
        filesystem.mount()
        try:
            yield filesystem
        finally:
            filesystem.unmount()
        return
    limit = PageLimit(tmp_path)
    try:
        yield limit
    finally:
        limit.close()


async def test_a_full_disk_delays_storage_but_loses_no_edit(
    full_disk: FullDisk, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="roundtable.storage")
    async with run_server(_settings(full_disk.database_url)) as server:
        room = await server.create_room()
        names = ["ann", "ben", "cy", "dee"]
        tokens = {who: await server.join(room, Role.MEMBER, who) for who in names}
        tess: Person = await join_person(server, room, Role.MEMBER, "tess")
        clients: dict[str, YClient] = {}
        try:
            for who in names:
                clients[who] = await open_synced(doc_url(server, room, GUIDE), tokens[who])
            probes = _probes(server, room, GUIDE, clients)
            markers = _edit(clients, "before")
            before = await converge(probes, markers)
            await _wait_stored(server, room, GUIDE, before)

            # A comment too large for the free space left in the database's pages.
            comment = {"body": "Full? " + "~" * 9000}
            await full_disk.fill(server)
            try:
                # Half the edits are larger than a page: storing them needs pages there is
                # no room for. The small ones may fit, so a batch can fail halfway.
                large = set(names[1::2])
                for full_round in range(3):
                    markers += _edit(clients, f"full{full_round}", large)
                    await converge(probes, markers)
                await _wait_failures(server, room, [GUIDE], caplog)
                errors = _flush_errors(caplog, _live(server, room, GUIDE).label)
                assert errors, "no failed flush was logged with its error"
                assert all("database or disk is full" in error for error in errors), errors
                # The server stays up: editing goes on, /health answers.
                markers += _edit(clients, "failing", large)
                held = await converge(probes, markers)
                assert await _health(server) == 200
                stored = text_of_stored(await _stored(server, room, GUIDE))
                unstored = [f"[{who}:failing]" for who in large]
                assert not any(marker in stored for marker in unstored), "stored on a full disk"
                _assert_unavailable(await tess.call("POST", "/threads", comment))
            finally:
                await full_disk.free(server)

            # The retries alone store what was held, with no new edit to set off a flush.
            await _wait_stored(server, room, GUIDE, held)
            markers += _edit(clients, "after")
            text = await converge(probes, markers)
            await _check_stored(server, room, GUIDE, text, markers)
            await tess.start(comment["body"])
        finally:
            await close_all(clients.values())
