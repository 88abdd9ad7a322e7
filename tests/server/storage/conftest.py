"""A migrated SqlStore for the storage tests."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from server.storage.migrate import upgrade
from server.storage.store import SqlStore, create_engine


async def open_store(url: str) -> SqlStore:
    """A store on ``url`` with the schema at head; the caller closes it."""
    engine = create_engine(url)
    await upgrade(engine)
    return SqlStore(engine)


@contextlib.asynccontextmanager
async def opened_store(url: str) -> AsyncIterator[SqlStore]:
    store = await open_store(url)
    try:
        yield store
    finally:
        await store.close()
