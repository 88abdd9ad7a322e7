"""What every route shares: the JSON error shape, reading bodies and query numbers,
and who is asking (the bearer token, the room, the participant still active).
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from rooms.comment_views import Viewer
from rooms.directory import RefusedError, bounded_int
from rooms.records import Room
from server.state import AppState
from server.tokens import InvalidToken, TokenClaims

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
        raise RefusedError(415, "unsupported_media_type", "send the body as application/json")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_BODY_BYTES:
            raise RefusedError(413, "body_too_large", f"body exceeds {MAX_BODY_BYTES} bytes")
    try:
        # Strict UTF-8 (RFC 8259): json.loads on bytes would also take UTF-16 and UTF-32,
        # and decode an encoded lone surrogate (ED A0 80) instead of refusing it.
        data = json.loads(body.decode("utf-8-sig"))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise RefusedError(400, "invalid_json", "body is not valid JSON") from exc
    if not isinstance(data, dict):
        raise RefusedError(400, "invalid_json", "body must be a JSON object")
    return data


async def _optional_json_body(request: Request) -> dict[str, Any]:
    """The JSON body, or an empty one when the request carries none (a bare DELETE)."""
    headers = request.headers
    if (
        "content-type" not in headers
        and headers.get("content-length", "0") == "0"
        and "transfer-encoding" not in headers
    ):
        return {}
    return await json_body(request)


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value:
        raise RefusedError(401, "unauthorized", "send the participant token as a Bearer token")
    return value.strip()


def claims_for(request: Request, room_slug: str) -> TokenClaims:
    try:
        claims = app_state(request).signer.verify(_bearer(request))
    except InvalidToken as exc:
        raise RefusedError(401, "unauthorized", str(exc)) from exc
    if claims.room != room_slug:
        raise RefusedError(403, "forbidden", "token is for another room")
    return claims


async def room_for(request: Request) -> tuple[Room, TokenClaims]:
    slug = request.path_params["room"]
    claims = claims_for(request, slug)
    state = app_state(request)
    room = await state.directory.room(slug)
    if room is None:
        raise RefusedError(404, "unknown_room", "no such room")
    if not await state.control_store.participant_active(claims.participant_id):
        raise RefusedError(403, "removed", "you were removed from this room")
    return room, claims


async def viewer_for(request: Request) -> tuple[Room, Viewer]:
    """The room of the URL and who is asking, from their participant token."""
    room, claims = await room_for(request)
    return room, Viewer(claims.participant_id, claims.role, claims.name)


def query_number(
    request: Request, name: str, default: int | None, low: int, high: int
) -> int | None:
    """An integer query parameter from ``low`` to ``high``, or ``default`` when absent."""
    raw = request.query_params.get(name)
    return default if raw is None else bounded_int(raw, name, low, high)


async def refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RefusedError)
    return error(exc.status, exc.code, exc.message)


def _download(content: str, media_type: str, filename: str) -> Response:
    return Response(
        content,
        media_type=media_type,
        headers={"content-disposition": f"attachment; filename*=UTF-8''{quote(filename)}"},
    )
