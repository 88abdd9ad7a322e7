"""Answering clearly while the database is down, restarting, locked or full
(:func:`server.storage.errors.storage_unavailable` tells such a failure apart).

Such a failure is transient: the same request may succeed a moment later. Rather than a
500 and a traceback, an HTTP request gets ``503`` with a JSON error and ``Retry-After``,
and a WebSocket closes with 1013 (try again later), on which y-websocket and the web
client reconnect. Edits already accepted are not affected: they wait in memory and the
write-behind retries them (:mod:`rooms.live.writer`).
"""

from __future__ import annotations

import contextlib
import json
import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rooms.live.peer import CloseCode
from server.storage.errors import storage_unavailable

log = logging.getLogger("roundtable.storage")

RETRY_AFTER_SECONDS = 5
REASON = "storage unavailable, try again"


class StorageOutage:
    """ASGI middleware: a storage outage becomes 503 or close 1013, not a crash."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        sent: set[str] = set()

        async def tracking_send(message: Message) -> None:
            sent.add(message["type"])
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if not storage_unavailable(exc):
                raise
            log.warning("%s %s: %s: %s", scope["type"], scope["path"], REASON, _brief(exc))
            # A close the sync socket wrote to the transport itself (server.sockets.peer) is
            # not seen here; a second close then fails, and is ignored.
            with contextlib.suppress(Exception):
                await _answer(scope, sent, send)


async def _answer(scope: Scope, sent: set[str], send: Send) -> None:
    if scope["type"] == "http":
        if "http.response.start" in sent:
            return
        body = json.dumps({"error": {"code": "storage_unavailable", "message": REASON}}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 503,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
        return
    if "websocket.close" in sent:
        return
    if "websocket.accept" not in sent:
        # Before the handshake completes, a close is answered with HTTP 403.
        await send({"type": "websocket.close", "code": CloseCode.TRY_AGAIN_LATER})
        return
    await send({"type": "websocket.close", "code": CloseCode.TRY_AGAIN_LATER, "reason": REASON})


def _brief(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:200]
