"""What every route shares: the JSON error shape, reading bodies, and who is asking
(the bearer token, the room, the participant still active).

Reading a body's fields and a query string into the domain's inputs is
:mod:`server.http.inputs`; rendering records, :mod:`server.http.views`.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from rooms.comment_views import Viewer
from rooms.errors import (
    Conflict,
    Forbidden,
    Gone,
    Invalid,
    Limited,
    NotFound,
    Refused,
    Unauthenticated,
)
from rooms.records import Room
from server.auth import Caller, authenticate
from server.state import AppState
from server.tokens import TokenClaims

# Room for a 10,000-character comment even when every character is a \\u escape.
MAX_BODY_BYTES = 256 * 1024


log = logging.getLogger("roundtable.api")


def error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.roundtable
    return state


async def json_body(request: Request) -> dict[str, Any]:
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("application/json"):
        raise RequestRefused(415, "unsupported_media_type", "send the body as application/json")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_BODY_BYTES:
            raise RequestRefused(413, "body_too_large", f"body exceeds {MAX_BODY_BYTES} bytes")
    try:
        # Strict UTF-8 (RFC 8259): json.loads on bytes would also take UTF-16 and UTF-32,
        # and decode an encoded lone surrogate (ED A0 80) instead of refusing it.
        data = json.loads(body.decode("utf-8-sig"))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise RequestRefused(400, "invalid_json", "body is not valid JSON") from exc
    if not isinstance(data, dict):
        raise RequestRefused(400, "invalid_json", "body must be a JSON object")
    return data


async def optional_json_body(request: Request) -> dict[str, Any]:
    """The JSON body, or an empty one when the request carries none (a bare DELETE)."""
    headers = request.headers
    if (
        "content-type" not in headers
        and headers.get("content-length", "0") == "0"
        and "transfer-encoding" not in headers
    ):
        return {}
    return await json_body(request)


def bearer(request: Request) -> str:
    """The Bearer token of the request."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value:
        raise Unauthenticated("unauthorized", "send the participant token as a Bearer token")
    return value.strip()


async def caller_of(request: Request) -> Caller:
    """Who is asking, in the room of the URL (:func:`server.auth.authenticate`)."""
    return await authenticate(app_state(request), bearer(request), request.path_params["room"])


async def room_for(request: Request) -> tuple[Room, TokenClaims]:
    caller = await caller_of(request)
    return caller.room, caller.claims


async def viewer_for(request: Request) -> tuple[Room, Viewer]:
    """The room of the URL and who is asking, from their participant token."""
    caller = await caller_of(request)
    return caller.room, caller.viewer


# The HTTP status of each kind of refusal (rooms.errors).
STATUS: dict[type[Refused], int] = {
    Invalid: 422,
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    Gone: 410,
    Limited: 429,
}
# Reasons answered otherwise: a malformed request rather than an unacceptable value.
STATUS_BY_REASON = {"invalid_query": 400, "invalid_format": 400, "invalid_document_name": 400}


class RequestRefused(Exception):
    """A request refused for how it was sent (media type, size, JSON), not for what it asks."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message


def status_of(exc: Refused) -> int:
    status = STATUS_BY_REASON.get(exc.reason)
    if status is not None:
        return status
    for kind in type(exc).__mro__:
        if kind in STATUS:
            return STATUS[kind]
    return 400


async def refused(request: Request, exc: Exception) -> Response:
    if isinstance(exc, RequestRefused):
        return error(exc.status, exc.reason, exc.message)
    assert isinstance(exc, Refused)
    response = error(status_of(exc), exc.reason, exc.message)
    if isinstance(exc, Limited):
        response.headers["retry-after"] = str(exc.retry_after)
    return response
