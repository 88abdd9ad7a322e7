"""The HTTP JSON API: health, joining by invite, rooms and their documents."""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from rooms.comment_views import Viewer
from rooms.controls import document_json
from rooms.directory import RefusedError, bounded_int
from rooms.records import Room
from rooms.roles import Role
from server.state import AppState
from server.tokens import InvalidToken, TokenClaims

log = logging.getLogger("roundtable.api")

# Room for a 10,000-character comment even when every character is a \\u escape.
MAX_BODY_BYTES = 256 * 1024


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


async def health(request: Request) -> Response:
    """Liveness and database reachability.
    ---
    summary: Health
    responses:
      200: {description: Serving; the database answers}
      503: {description: The database does not answer}
    """
    try:
        await app_state(request).store.ping()
    except Exception as exc:
        log.warning("health check: database unreachable: %s", exc)
        return JSONResponse({"status": "degraded", "database": "unreachable"}, status_code=503)
    return JSONResponse(
        {
            "status": "ok",
            "database": "ok",
            "documents_loaded": len(app_state(request).hub.documents),
        }
    )


async def join(request: Request) -> Response:
    """Turn an invite code and a display name into a participant token.
    ---
    summary: Join a room
    requestBody:
      required: true
      content:
        application/json:
          schema:
            type: object
            required: [invite, name]
            properties:
              invite: {type: string}
              name: {type: string, minLength: 1, maxLength: 64}
    responses:
      200:
        description: A token for the invite's room and role
        content:
          application/json:
            schema:
              type: object
              required: [token, expires_at, room, title, role, participant]
              properties:
                token: {type: string}
                expires_at: {type: integer, description: Unix seconds}
                room: {type: string}
                title: {type: string}
                role: {type: string}
                participant: {$ref: '#/components/schemas/Person'}
      404: {description: "unknown_invite: the invite is unknown or was replaced"}
      409: {description: "room_full: the room holds as many participants as it takes"}
      429:
        description: >-
          too_many_joins: too many joins with this invite, or from this address, in the
          last minute; nothing was created. Retry-After says when to try again.
        headers:
          Retry-After: {schema: {type: integer}, description: seconds to wait}
    """
    state = app_state(request)
    body = await json_body(request)
    address = request.client.host if request.client else "unknown"
    refusal = state.join_limits.admit(body.get("invite"), address)
    if refusal is not None:
        response = error(429, "too_many_joins", refusal.message)
        response.headers["retry-after"] = str(refusal.retry_after)
        return response
    participant, room = await state.directory.join(body.get("invite"), body.get("name"))
    token, expires_at = state.signer.issue(participant, room)
    await state.controls.record(
        room,
        participant.id,
        participant.name,
        "participant.joined",
        {"role": participant.role.value},
    )
    log.info("%s %s joined room %s", participant.role, participant.id[:8], room.slug)
    return JSONResponse(
        {
            "token": token,
            "expires_at": expires_at,
            "room": room.slug,
            "title": room.title,
            "role": participant.role.value,
            "participant": {
                "id": participant.id,
                "name": participant.name,
                "role": participant.role.value,
            },
        }
    )


async def create_room(request: Request) -> Response:
    """Create a room (needs the admin token); returns its invite codes.
    ---
    summary: Create a room
    requestBody:
      required: true
      content:
        application/json:
          schema:
            type: object
            required: [title]
            properties: {title: {type: string, minLength: 1, maxLength: 200}}
    responses:
      201:
        description: The room and one invite code per role
        content:
          application/json:
            schema:
              type: object
              required: [room, title, invites]
              properties:
                room: {type: string}
                title: {type: string}
                invites: {type: object, additionalProperties: {type: string}}
    """
    state = app_state(request)
    admin = state.settings.admin_token
    if not admin:
        raise RefusedError(
            403,
            "disabled",
            "room creation over HTTP is off: set ROUNDTABLE_ADMIN_TOKEN, or use "
            "`roundtable room create`",
        )
    if not hmac.compare_digest(_bearer(request).encode(), admin.encode()):
        raise RefusedError(401, "unauthorized", "wrong admin token")
    body = await json_body(request)
    created = await state.directory.create_room(body.get("title"))
    log.info("created room %s", created.room.slug)
    return JSONResponse(
        {
            "room": created.room.slug,
            "title": created.room.title,
            "invites": {role.value: code for role, code in created.invites.items()},
        },
        status_code=201,
    )


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


async def room_documents(request: Request) -> Response:
    """The room's documents.
    ---
    summary: List documents
    responses:
      200: {description: The documents in order of creation}
    """
    room, _ = await room_for(request)
    documents = await app_state(request).directory.documents(room)
    return JSONResponse({"documents": [document_json(d) for d in documents]})


async def room_invites(request: Request) -> Response:
    """The room's invite codes, one per role (facilitators).
    ---
    summary: Invite codes
    responses:
      200: {description: Invite code per role}
    """
    room, claims = await room_for(request)
    if claims.role is not Role.FACILITATOR:
        raise RefusedError(403, "forbidden", "only facilitators see the invites")
    invites = await app_state(request).store.list_invites(room.id)
    return JSONResponse({"invites": {i.role.value: i.code for i in invites}})


async def refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RefusedError)
    return error(exc.status, exc.code, exc.message)


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
