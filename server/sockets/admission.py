"""Who may open a WebSocket, and how fast a connection may talk.

Checked before a socket is accepted, so a refused attempt never opens:

- the ``Origin`` header: a browser sends it on every WebSocket, and a page from another
  site must not open a socket with the visitor's credentials (cross-site WebSocket
  hijacking). Same-host origins and ``allowed_origins`` pass; clients that send no
  Origin (Node, Python, native apps) are not browsers and pass too;
- connection attempts per client address and minute, per process (HTTP 429).

Once open, each connection spends from a :class:`MessageBudget`; one that floods is
closed with 4429, and a token's expiry closes the sockets it opened with 4401.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from starlette.responses import JSONResponse
from starlette.websockets import WebSocket

from rooms.live.budget import MessageBudget
from rooms.live.peer import CloseCode
from server.config import Settings
from server.rate_limit import SlidingWindow

__all__ = ["Admission", "MessageBudget", "at_expiry", "deny"]

# Addresses remembered at most; the oldest is forgotten first.
MAX_ADDRESSES = 100_000


class Admission:
    def __init__(self, settings: Settings) -> None:
        self._origins = {
            origin.strip().rstrip("/").lower()
            for origin in settings.allowed_origins.split(",")
            if origin.strip()
        }
        self._attempts = SlidingWindow(
            settings.max_connection_attempts_per_minute, max_keys=MAX_ADDRESSES
        )

    def origin_allowed(self, websocket: WebSocket) -> bool:
        origin = websocket.headers.get("origin")
        if origin is None:
            return True
        origin = origin.rstrip("/").lower()
        if origin in self._origins:
            return True
        host = websocket.headers.get("host", "").lower()
        try:
            netloc = urlsplit(origin).netloc
        except ValueError:  # not a URL at all, e.g. "http://[evil"
            return False
        return bool(host) and netloc == host

    def attempt(self, address: str, now: float | None = None) -> bool:
        """Count one connection attempt from ``address``; False once over the limit."""
        return self._attempts.hit(address, now)

    async def admit(self, websocket: WebSocket) -> bool:
        """Refuse the handshake (nothing is accepted) unless origin and rate allow it."""
        if not self.origin_allowed(websocket):
            # Closing before accepting answers the handshake with HTTP 403.
            await websocket.close(CloseCode.POLICY_VIOLATION)
            return False
        address = websocket.client.host if websocket.client else "unknown"
        if not self.attempt(address):
            await deny(websocket, 429, "too_many_connections", "too many connection attempts")
            return False
        return True


async def deny(websocket: WebSocket, status: int, code: str, message: str) -> None:
    """An HTTP error answering a WebSocket handshake, as JSON where the server can."""
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        body = {"error": {"code": code, "message": message}}
        await websocket.send_denial_response(JSONResponse(body, status_code=status))
    else:
        await websocket.close(CloseCode.POLICY_VIOLATION)


def at_expiry(expires_at: int, callback: Callable[[], None]) -> asyncio.TimerHandle:
    """Call ``callback`` when a token expiring at ``expires_at`` (Unix seconds) expires."""
    loop = asyncio.get_running_loop()
    return loop.call_later(max(0.0, expires_at - time.time()), callback)
