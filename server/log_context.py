"""The ids a log record carries: which HTTP request or WebSocket it was written for.

:class:`LogContext` is an ASGI middleware that sets them in context variables before the
application runs, so every record written while it serves the request (uvicorn's access
line included, which is written from the response's ``send``) and every task started
from there carries them; the JSON log format (:mod:`server.logs`) writes them out.

An HTTP request keeps the ``X-Request-ID`` a proxy gave it when that id is short and
plain, otherwise it gets a new one; either way the response carries it back.
"""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "x-request-id"
# What an incoming id may be: anything else (a long or odd string to inject into logs)
# is replaced by an id of our own.
_SAFE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
# Where a path names a room and a document: /api/rooms/{room}[/documents/{doc}],
# /sync/{room}/{doc} and /events/{room}.
_PLACE = re.compile(
    r"^/(?:api/rooms/(?P<room>[^/]+)(?:/documents/(?P<doc>[^/]+))?"
    r"|sync/(?P<sync_room>[^/]+)/(?P<sync_doc>[^/]+)"
    r"|events/(?P<events_room>[^/]+))"
)
# Room slugs and document names are short; a path is not trusted to be.
_MAX_NAME = 64

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
connection_id: ContextVar[str | None] = ContextVar("connection_id", default=None)
room: ContextVar[str | None] = ContextVar("room", default=None)
document: ContextVar[str | None] = ContextVar("document", default=None)

CONTEXT = {
    "request_id": request_id,
    "connection_id": connection_id,
    "room": room,
    "document": document,
}


def current() -> dict[str, str]:
    """The ids set in this context, by field name."""
    values = {name: var.get() for name, var in CONTEXT.items()}
    return {name: value for name, value in values.items() if value is not None}


def new_id() -> str:
    return uuid.uuid4().hex[:16]


def incoming_request_id(scope: Scope) -> str | None:
    """The request's ``X-Request-ID`` if it is safe to log as it is."""
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            return text if _SAFE_ID.fullmatch(text) else None
    return None


def place(path: str) -> tuple[str | None, str | None]:
    """The room and document a path names, where it names them."""
    match = _PLACE.match(path)
    if match is None:
        return None, None
    found_room = match["room"] or match["sync_room"] or match["events_room"]
    found_doc = match["doc"] or match["sync_doc"]
    return (
        found_room[:_MAX_NAME] if found_room else None,
        found_doc[:_MAX_NAME] if found_doc else None,
    )


class LogContext:
    """ASGI middleware: a request id (HTTP) or a connection id (WebSocket), and the room
    and document of the path, for every record written while the app serves it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        found_room, found_doc = place(scope.get("path", ""))
        tokens = [room.set(found_room), document.set(found_doc)]
        if kind == "websocket":
            tokens.append(connection_id.set(new_id()))
            await self.app(scope, receive, send)
        else:
            rid = incoming_request_id(scope) or new_id()
            tokens.append(request_id.set(rid))

            async def send_with_id(message: Message) -> None:
                if message["type"] == "http.response.start":
                    MutableHeaders(scope=message)[REQUEST_ID_HEADER] = rid
                await send(message)

            await self.app(scope, receive, send_with_id)
        # uvicorn serves each request in a task of its own, with a copy of the context;
        # the ids are reset all the same, for callers that serve several requests in one
        # context (an in-process test client). Not after an exception: uvicorn logs it
        # next, and that record should carry them.
        for token in reversed(tokens):
            token.var.reset(token)
