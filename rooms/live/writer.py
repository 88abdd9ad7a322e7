"""Write-behind persistence of one document: batched appends, retries, compaction."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from crdt.document import fold
from rooms.live.counters import COUNTERS
from rooms.ports import Store
from rooms.records import ACTIVITY_BUCKET_SECONDS, TextActivity

log = logging.getLogger("roundtable.storage")


@dataclass(frozen=True, slots=True)
class WriterSettings:
    # Updates reach storage at most this many seconds after they are applied.
    flush_interval: float = 1.0
    # Fold the log into the snapshot once it holds this many rows.
    compact_threshold: int = 200
    # Upper bound of the retry backoff after a failed write.
    max_retry_delay: float = 5.0


class DocumentWriter:
    """Stores one document's updates in batches, at most ``flush_interval`` behind.

    A failed write keeps the batch in memory and is retried with backoff, so the
    document must stay loaded while :attr:`dirty` is true (which it is while a batch is
    being written, too). Flushes and compactions of a document are serialised.
    """

    def __init__(
        self,
        store: Store,
        document_id: int,
        label: str,
        settings: WriterSettings,
        log_rows: int = 0,
    ) -> None:
        self._store = store
        self._document_id = document_id
        self._label = label
        self._settings = settings
        self._pending: list[bytes] = []
        self._lock = asyncio.Lock()
        self._timer: asyncio.Task[None] | None = None
        self._failures = 0
        self._writing: list[bytes] = []
        self._log_rows = log_rows
        self.flushed_updates = 0
        # Client id claims made while storage was down, stored before the next batch.
        self._claims: dict[int, str] = {}
        # (participant, bucket start in epoch seconds) -> [added, removed, edits] of the
        # pending updates, stored in the same transaction as they are.
        self._activity: dict[tuple[str, int], list[int]] = {}
        # Told the stored owner of each claim written (another process may have won).
        self.on_claims: Callable[[dict[int, str]], None] | None = None

    @property
    def dirty(self) -> bool:
        """Whether updates are pending or being written: storage may not hold them yet."""
        return bool(self._pending) or bool(self._writing) or bool(self._claims)

    def replace_pending(self, update: bytes) -> int:
        """Store ``update`` in place of every pending update; it must contain them all.

        Returns how many pending updates it replaced.
        """
        replaced = len(self._pending)
        self._pending = [update]
        if self._timer is None:
            self._schedule(self._settings.flush_interval)
        return replaced

    @property
    def failures(self) -> int:
        """Consecutive failed writes since the last success."""
        return self._failures

    def claim_later(self, participant_id: str, client_ids: list[int]) -> None:
        """Store these client id claims with the next flush (storage was down)."""
        self._claims.update(dict.fromkeys(client_ids, participant_id))
        if self._timer is None:
            self._schedule(self._settings.flush_interval)

    async def _store_claims(self) -> None:
        claims, self._claims = self._claims, {}
        by_participant: dict[str, list[int]] = {}
        for client_id, participant_id in claims.items():
            by_participant.setdefault(participant_id, []).append(client_id)
        try:
            for participant_id, client_ids in by_participant.items():
                owners = await self._store.claim_clients(
                    self._document_id, participant_id, client_ids
                )
                for client_id in client_ids:
                    claims.pop(client_id, None)
                if self.on_claims is not None:
                    self.on_claims(owners)
        except BaseException:
            self._claims = {**claims, **self._claims}
            raise

    def enqueue(
        self, update: bytes, author: str | None = None, added: int = 0, removed: int = 0
    ) -> None:
        """Store ``update`` with the next flush, counting its text for ``author``."""
        self._pending.append(update)
        if author is not None:
            now = int(time.time())
            key = (author, now - now % ACTIVITY_BUCKET_SECONDS)
            counts = self._activity.get(key)
            if counts is None:
                self._activity[key] = [added, removed, 1]
            else:
                counts[0] += added
                counts[1] += removed
                counts[2] += 1
        if self._timer is None:
            self._schedule(self._settings.flush_interval)

    def _schedule(self, delay: float) -> None:
        self._timer = asyncio.get_running_loop().create_task(self._flush_later(delay))

    async def _flush_later(self, delay: float) -> None:
        await asyncio.sleep(delay)
        self._timer = None
        try:
            await self.flush()
        except Exception:
            delay = self._retry_delay()
            # The first failure with its traceback; later ones of the same outage briefly.
            log.warning(
                "flush of %s failed (%d in a row, %d updates held); retrying in %.1fs",
                self._label,
                self._failures,
                len(self._pending),
                delay,
                exc_info=self._failures == 1,
            )
            if self._timer is None:
                self._schedule(delay)
            return
        if self._pending and self._timer is None:
            self._schedule(self._settings.flush_interval)

    def _retry_delay(self) -> float:
        backoff = self._settings.flush_interval * 2 ** max(self._failures - 1, 0)
        return float(min(backoff, self._settings.max_retry_delay))

    async def flush(self) -> None:
        """Store everything pending now. On failure the updates stay pending and it raises."""
        async with self._lock:
            if self._claims:
                try:
                    await self._store_claims()
                except BaseException:
                    self._failures += 1
                    COUNTERS.flush_failures += 1
                    raise
            if not self._pending:
                return
            batch = self._pending
            self._pending = []
            self._writing = batch
            activity, self._activity = self._activity, {}
            started = time.perf_counter()
            try:
                if activity:
                    await self._store.append_updates(
                        self._document_id, batch, _activity_rows(activity)
                    )
                else:
                    await self._store.append_updates(self._document_id, batch)
            except BaseException:
                self._pending = batch + self._pending
                for key, counts in activity.items():
                    held = self._activity.setdefault(key, [0, 0, 0])
                    for n in range(3):
                        held[n] += counts[n]
                self._failures += 1
                COUNTERS.flush_failures += 1
                raise
            finally:
                self._writing = []
            COUNTERS.flushed(time.perf_counter() - started)
            self._failures = 0
            self._log_rows += len(batch)
            self.flushed_updates += len(batch)
            log.debug("flushed %d updates of %s", len(batch), self._label)
            if self._log_rows >= self._settings.compact_threshold:
                await self._compact()

    async def compact(self) -> None:
        async with self._lock:
            await self._compact()

    async def _compact(self) -> None:
        try:
            stored = await self._store.load_document(self._document_id)
            # In a worker thread: folding reads every update of the log, and the loop
            # meanwhile keeps relaying edits (it waits at most a thread switch).
            snapshot, waiting = await asyncio.to_thread(fold, stored.snapshot, list(stored.updates))
            # Updates that wait for edits not stored yet stay in the log as they are.
            folded = [id_ for n, id_ in enumerate(stored.update_ids) if n not in set(waiting)]
            replaced = await self._store.replace_snapshot(
                self._document_id, stored.snapshot_version, snapshot, folded
            )
        except Exception:
            # The log is intact; compaction is tried again after the next flush.
            log.warning("compaction of %s failed", self._label, exc_info=True)
            return
        self._log_rows = 0
        if replaced:
            log.info(
                "compacted %s: %d log rows into a %d-byte snapshot",
                self._label,
                len(stored.updates),
                len(snapshot),
            )
        else:
            log.info("compaction of %s skipped: another process compacted it first", self._label)

    async def close(self) -> None:
        """Flush now. If that fails it raises, and the writer keeps retrying on its own."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        try:
            await self.flush()
        except Exception:
            if self._timer is None:
                self._schedule(self._retry_delay())
            raise


def _activity_rows(activity: dict[tuple[str, int], list[int]]) -> list[TextActivity]:
    return [
        TextActivity(participant, datetime.fromtimestamp(bucket, UTC), *counts)
        for (participant, bucket), counts in activity.items()
    ]
