"""The HTTP JSON API: health, joining by invite, rooms and their documents."""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from rooms.directory import RefusedError
from rooms.roles import Role
from server.state import AppState
from server.tokens import InvalidToken, TokenClaims

log = logging.getLogger("roundtable.api")

MAX_BODY_BYTES = 64 * 1024


def error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def _state(request: Request) -> AppState:
    state: AppState = request.app.state.roundtable
    return state


async def _json_body(request: Request) -> dict[str, Any]:
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("application/json"):
        raise RefusedError(415, "unsupported_media_type", "send the body as application/json")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_BODY_BYTES:
            raise RefusedError(413, "body_too_large", f"body exceeds {MAX_BODY_BYTES} bytes")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
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


def _participant(request: Request, room_slug: str) -> TokenClaims:
    try:
        claims = _state(request).signer.verify(_bearer(request))
    except InvalidToken as exc:
        raise RefusedError(401, "unauthorized", str(exc)) from exc
    if claims.room != room_slug:
        raise RefusedError(403, "forbidden", "token is for another room")
    return claims


async def health(request: Request) -> Response:
    try:
        await _state(request).store.ping()
    except Exception as exc:
        log.warning("health check: database unreachable: %s", exc)
        return JSONResponse({"status": "degraded", "database": "unreachable"}, status_code=503)
    return JSONResponse(
        {"status": "ok", "database": "ok", "documents_loaded": len(_state(request).hub.documents)}
    )


async def join(request: Request) -> Response:
    """``{"invite", "name"}`` → a participant token for the invite's room and role."""
    state = _state(request)
    body = await _json_body(request)
    participant, room = await state.directory.join(body.get("invite"), body.get("name"))
    token, expires_at = state.signer.issue(participant, room)
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
    state = _state(request)
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
    body = await _json_body(request)
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


async def _room_for(request: Request) -> tuple[Any, TokenClaims]:
    slug = request.path_params["room"]
    claims = _participant(request, slug)
    room = await _state(request).directory.room(slug)
    if room is None:
        raise RefusedError(404, "unknown_room", "no such room")
    return room, claims


def _documents_json(documents: list[Any]) -> list[dict[str, Any]]:
    return [{"name": d.name, "created_at": d.created_at.isoformat()} for d in documents]


async def room_detail(request: Request) -> Response:
    room, claims = await _room_for(request)
    documents = await _state(request).directory.documents(room)
    return JSONResponse(
        {
            "room": room.slug,
            "title": room.title,
            "you": {"id": claims.participant_id, "name": claims.name, "role": claims.role.value},
            "documents": _documents_json(documents),
        }
    )


async def room_documents(request: Request) -> Response:
    room, _ = await _room_for(request)
    documents = await _state(request).directory.documents(room)
    return JSONResponse({"documents": _documents_json(documents)})


async def room_invites(request: Request) -> Response:
    room, claims = await _room_for(request)
    if claims.role is not Role.FACILITATOR:
        raise RefusedError(403, "forbidden", "only facilitators see the invites")
    invites = await _state(request).store.list_invites(room.id)
    return JSONResponse({"invites": {i.role.value: i.code for i in invites}})


async def refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RefusedError)
    return error(exc.status, exc.code, exc.message)
