"""What the domain needs from a connection, and the close codes it uses."""

from __future__ import annotations

from enum import IntEnum
from typing import Protocol


class CloseCode(IntEnum):
    """WebSocket close codes. 1xxx are RFC 6455's; 44xx mirror the HTTP statuses."""

    NORMAL = 1000
    GOING_AWAY = 1001
    PROTOCOL_ERROR = 1002
    UNSUPPORTED_DATA = 1003
    INVALID_PAYLOAD = 1007
    POLICY_VIOLATION = 1008
    MESSAGE_TOO_BIG = 1009
    INTERNAL_ERROR = 1011
    # The server is restarting: reconnect (to another process).
    SERVICE_RESTART = 1012
    TRY_AGAIN_LATER = 1013
    # Reconnect and sync again (y-websocket reconnects on codes outside 4400-4499).
    RESYNC = 4000
    BAD_REQUEST = 4400
    UNAUTHORIZED = 4401
    FORBIDDEN = 4403
    NOT_FOUND = 4404
    # A room or document limit is reached (documents per room, clients per document).
    CONFLICT = 4409
    TOO_MANY_MESSAGES = 4429


class Peer(Protocol):
    """One client connection. Both methods return at once: they never wait for I/O."""

    def send(self, frame: bytes) -> None:
        """Queue a binary frame; a peer whose queue stays too long closes itself."""
        ...

    def close(self, code: int, reason: str) -> None:
        """Send what is queued, then close with ``code``."""
        ...
