"""The live hub: which documents are loaded, loading them once, unloading idle ones."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from rooms.live import LiveDocument
from rooms.records import DocumentInfo
from rooms.store import Store
from rooms.writer import WriterSettings

log = logging.getLogger("roundtable.hub")


@dataclass(frozen=True, slots=True)
class HubSettings:
    writer: WriterSettings = field(default_factory=WriterSettings)
    # A document with no connections is unloaded after this many seconds.
    idle_unload_seconds: float = 30.0
    max_awareness_bytes: int = 64 * 1024


class DocumentHub:
    """Holds every loaded document of this process.

    Callers pair :meth:`acquire` with :meth:`release`. A document is loaded once
    however many connections ask at the same moment, and unloaded when it has had no
    holder for ``idle_unload_seconds`` and everything it holds is stored.
    """

    def __init__(self, store: Store, settings: HubSettings) -> None:
        self._store = store
        self._settings = settings
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
                try:
                    stored = await self._store.load_document(info.id)
                    document = LiveDocument(
                        info,
                        room_slug,
                        stored,
                        self._store,
                        self._settings.writer,
                        self._settings.max_awareness_bytes,
                    )
                except BaseException as exc:
                    pending.set_exception(exc)
                    # Retrieve it here so an unawaited future does not warn.
                    pending.exception()
                    raise
                finally:
                    del self._loading[info.id]
                self._documents[info.id] = document
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
            await document.writer.close()
        except Exception:
            log.warning("%s kept in memory: its updates are not stored yet", document.label)
            if not document.holders:
                self._schedule_unload(document, self._settings.idle_unload_seconds)
            return
        if document.holders == 0 and self._documents.get(document.info.id) is document:
            del self._documents[document.info.id]
            log.info("unloaded %s", document.label)

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
        for attempt in range(1, attempts + 1):
            try:
                await self.flush_all()
                break
            except Exception:
                if attempt == attempts:
                    log.error("giving up: some updates could not be stored before exit")
                    raise
                await asyncio.sleep(retry_delay)
        self._documents.clear()
