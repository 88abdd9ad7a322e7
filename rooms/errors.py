"""What the domain refuses, and why.

Every refusal is a :class:`Refused` with a ``reason``, a stable snake_case code that a
client may act on (``document_locked``, ``invalid_name``), and a ``message`` for
people. Its class says what kind of refusal it is::

    Refused
    ├── Invalid          the input is not acceptable: malformed, out of bounds, unknown
    ├── Unauthenticated  no one known is asking: no credential, or a bad or expired one
    ├── Forbidden        the one asking may not do this: their role, their removal
    ├── NotFound         what was named does not exist, or is not theirs to see
    ├── Conflict         not in the present state: locked, full, already there, ended
    ├── Gone             it existed but can no longer be used: an expired or used link
    └── Limited          asked too often: try again after ``retry_after`` seconds

The domain knows neither HTTP nor WebSocket close codes: the edge holds the tables that
turn these into statuses (:mod:`server.http.common`) and close codes
(:mod:`server.sockets.refusals`).
"""

from __future__ import annotations


class Refused(Exception):
    """A request the domain will not carry out."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.reason!r}, {self.message!r})"


class Invalid(Refused):
    """The input is not acceptable."""


class Unauthenticated(Refused):
    """No one known is asking."""


class Forbidden(Refused):
    """The one asking may not do this."""


class NotFound(Refused):
    """What was named does not exist, or is not the asker's to see."""


class Conflict(Refused):
    """Not possible in the present state."""


class Gone(Refused):
    """It existed, but can no longer be used."""


class Limited(Refused):
    """Asked too often; ``retry_after`` says in how many seconds to try again."""

    def __init__(self, reason: str, message: str, retry_after: int) -> None:
        super().__init__(reason, message)
        self.retry_after = retry_after
