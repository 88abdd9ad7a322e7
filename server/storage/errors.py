"""How the database drivers say that storage is unavailable.

SQLAlchemy, aiosqlite and asyncpg each raise their own errors when the database is
down, restarting, locked or full, sometimes wrapped in the store's own
:class:`rooms.ports.StoreError`. :func:`storage_unavailable` turns all of them into one
answer, which the edge (:mod:`server.outage`) turns into HTTP 503 or close 1013.
"""

from __future__ import annotations

import sys

from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

_TRANSIENT = (
    OperationalError,
    InterfaceError,
    DisconnectionError,
    PoolTimeout,
    # Raised by the driver's connect itself, unwrapped (PostgreSQL not listening).
    ConnectionRefusedError,
)


def _driver_errors() -> tuple[type[BaseException], ...]:
    """asyncpg's own errors for a database that is down, once asyncpg is in use (it is
    imported only for PostgreSQL); raised by its connect itself, unwrapped."""
    asyncpg = sys.modules.get("asyncpg.exceptions")
    if asyncpg is None:
        return ()
    return (asyncpg.PostgresConnectionError, asyncpg.OperatorInterventionError)


def storage_unavailable(exc: BaseException) -> bool:
    """Whether ``exc``, or an error it was raised from, says the database is unavailable."""
    seen: BaseException | None = exc
    transient = _TRANSIENT + _driver_errors()
    for _ in range(10):
        if seen is None:
            return False
        if isinstance(seen, transient):
            return True
        seen = seen.__cause__
    return False
