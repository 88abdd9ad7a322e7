"""The live hub: which documents are loaded, loading them once, unloading idle ones."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from crdt.awareness import DocumentAwareness
from crdt.document import SyncDocument, fold
from rooms.live.broker import Broker, LocalBroker
from rooms.live.document import LiveDocument
from rooms.live.fanout import DocumentFanout
from rooms.live.recovery import Recovery
from rooms.live.writer import WriterSettings
from rooms.ports import Store
from rooms.records import DocumentInfo

log = logging.getLogger("roundtable.hub")


@dataclass(frozen=True, slots=True)
class HubSettings:
    writer: WriterSettings = field(default_factory=WriterSettings)
    # A document with no connections is unloaded after this many seconds.
    idle_unload_seconds: float = 30.0
    max_awareness_bytes: int = 64 * 1024
    # Remote awareness states not renewed for this long are dropped (clients renew every
    # 15 s), checked every awareness_sweep_seconds.
    awareness_timeout_seconds: float = 30.0
    awareness_sweep_seconds: float = 5.0
    # How long copies of other participants' unstored edits are taken in a client's
    # first sync step 2 after a process stopped uncleanly (see rooms/live/recovery.py).
    recovery_seconds: float = 300.0


class DocumentHub:
    """Holds every loaded document of this process.

    Callers pair :meth:`acquire` with :meth:`release`. A document is loaded once
    however many connections ask at the same moment, and unloaded when it has had no
    holder for ``idle_unload_seconds`` and everything it holds is stored.
    """

    def __init__(self, store: Store, settings: HubSettings, broker: Broker | None = None) -> None:
        self._store = store
        self._settings = settings
        self.broker: Broker = broker if broker is not None else LocalBroker()
        self.broker.on_reconnect(self.heal)
        self.broker.on_process_gone(self._take_over)
        self.recovery = Recovery(settings.recovery_seconds)
        self._sweeper: asyncio.Task[None] | None = None
        self._documents: dict[int, LiveDocument] = {}
        self._loading: dict[int, asyncio.Future[LiveDocument]] = {}
        self._unload_timers: dict[int, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def documents(self) -> dict[int, LiveDocument]:
        return self._documents

    async def acquire(self, info: DocumentInfo, room_slug: str) -> LiveDocument:
        document = self._documents.get(info.id)
        if document is None:
            pending = self._loading.get(info.id)
            if pending is None:
                pending = asyncio.get_running_loop().create_future()
                self._loading[info.id] = pending
                fanout = DocumentFanout(self.broker, info.id)
                try:
                    # Subscribe first: what other processes publish while this one
                    # reads storage is kept and applied once the document is loaded.
                    await fanout.start()
                    stored = await self._store.load_document(info.id)
                    document = LiveDocument(
                        info,
                        room_slug,
                        stored,
                        self._store,
                        self._settings.writer,
                        DocumentAwareness(
                            max_state_bytes=self._settings.max_awareness_bytes,
                            outdated_ms=int(self._settings.awareness_timeout_seconds * 1000),
                        ),
                        fanout,
                    )
                    document.recovery = self.recovery
                except BaseException as exc:
                    await fanout.stop()
                    pending.set_exception(exc)
                    # Retrieve it here so an unawaited future does not warn.
                    pending.exception()
                    raise
                finally:
                    del self._loading[info.id]
                self._documents[info.id] = document
                fanout.attach(document)
                self._start_sweeper()
                pending.set_result(document)
                log.info("loaded %s (%d log rows)", document.label, len(stored.updates))
                if len(stored.updates) >= self._settings.writer.compact_threshold:
                    self._spawn(document.writer.compact())
            else:
                document = await asyncio.shield(pending)
        timer = self._unload_timers.pop(info.id, None)
        if timer is not None:
            timer.cancel()
        document.holders += 1
        return document

    @contextlib.asynccontextmanager
    async def holding(self, info: DocumentInfo, room_slug: str) -> AsyncIterator[LiveDocument]:
        """The loaded document, held (not unloaded) for the block."""
        document = await self.acquire(info, room_slug)
        try:
            yield document
        finally:
            self.release(document)

    def release(self, document: LiveDocument) -> None:
        document.holders -= 1
        if document.holders == 0:
            self._schedule_unload(document, self._settings.idle_unload_seconds)

    def _schedule_unload(self, document: LiveDocument, delay: float) -> None:
        loop = asyncio.get_running_loop()
        self._unload_timers[document.info.id] = loop.call_later(
            delay, lambda: self._spawn(self._unload(document))
        )

    def _spawn(self, coro: object) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _unload(self, document: LiveDocument) -> None:
        self._unload_timers.pop(document.info.id, None)
        if document.holders:
            return
        try:
            if self.broker.shared:
                await self._store_what_storage_lacks(document)
            await document.writer.close()
        except Exception:
            log.warning("%s kept in memory: its updates are not stored yet", document.label)
            if not document.holders:
                self._schedule_unload(document, self._settings.idle_unload_seconds)
            return
        if document.holders == 0 and self._documents.get(document.info.id) is document:
            del self._documents[document.info.id]
            await document.fanout.stop()
            document.close()
            log.info("unloaded %s", document.label)

    async def _store_what_storage_lacks(self, document: LiveDocument) -> None:
        """Store anything the document holds that neither storage nor its writer has.

        Normally nothing: each process stores what its own clients sent. But if a
        process died before its write-behind flush, its last updates live on only in
        the memory of the processes that received them through the broker. Run when
        another process is gone, and before forgetting a document.
        """
        stored = await self._store.load_document(document.info.id)
        in_storage = SyncDocument(stored.snapshot, stored.updates)
        try:
            lacking = in_storage.apply(document.sync.diff(in_storage.state_vector()), check=False)
        finally:
            in_storage.close()
        if lacking is not None:
            # It holds this process's own pending updates too: it is stored in their place.
            folded = document.writer.replace_pending(lacking)
            log.info(
                "storing what storage lacks of %s (%d bytes, %d pending updates folded in)",
                document.label,
                len(lacking),
                folded,
            )

    async def _take_over(self, origin: bytes) -> None:
        """Another process is gone: store what it held and had not stored, where we hold it."""
        for document in list(self._documents.values()):
            if origin not in document.remote_origins:
                continue
            document.remote_origins.discard(origin)
            try:
                await self._store_what_storage_lacks(document)
            except Exception:
                # Kept in memory; the document stores it when it unloads.
                log.warning("could not take over the updates of %s", document.label, exc_info=True)

    async def heal(self) -> None:
        """After the broker was down: converge every loaded document with the others.

        Re-reads storage (what other processes stored meanwhile) and exchanges state
        vectors with the other processes (what they hold but have not stored yet).
        """
        for document in list(self._documents.values()):
            try:
                stored = await self._store.load_document(document.info.id)
            except Exception as exc:
                log.warning("could not re-read %s while healing: %s", document.label, exc)
            else:
                folded, waiting = fold(stored.snapshot, list(stored.updates))
                document.apply_remote_update(folded)
                for position in waiting:
                    document.apply_remote_update(stored.updates[position])
            document.fanout.request_sync()
        log.info("healed %d documents after the broker came back", len(self._documents))

    def _start_sweeper(self) -> None:
        if self._sweeper is None and self.broker.shared:
            self._sweeper = asyncio.get_running_loop().create_task(self._sweep_awareness())

    async def _sweep_awareness(self) -> None:
        while True:
            await asyncio.sleep(self._settings.awareness_sweep_seconds)
            for document in list(self._documents.values()):
                document.expire_awareness()

    async def flush_all(self) -> None:
        """Store everything pending in every loaded document; raises if any write fails."""
        errors: list[BaseException] = []
        for document in list(self._documents.values()):
            try:
                await document.writer.close()
            except Exception as exc:
                log.error("could not store %s: %s", document.label, exc)
                errors.append(exc)
        if errors:
            raise errors[0]

    async def close(self, *, attempts: int = 5, retry_delay: float = 1.0) -> None:
        """Flush everything before the process exits, retrying a failed write a few times."""
        for timer in self._unload_timers.values():
            timer.cancel()
        self._unload_timers.clear()
        for task in list(self._tasks):
            task.cancel()
        if self._sweeper is not None:
            self._sweeper.cancel()
        for attempt in range(1, attempts + 1):
            try:
                await self.flush_all()
                break
            except Exception:
                if attempt == attempts:
                    log.error("giving up: some updates could not be stored before exit")
                    raise
                await asyncio.sleep(retry_delay)
        for document in self._documents.values():
            await document.fanout.stop()
            document.close()
        self._documents.clear()
