"""Routes for getting into a room: joining by invite, the invite links, replacing one.

Each handler's docstring holds its OpenAPI operation (after ``---``).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from rooms.errors import Forbidden
from rooms.roles import Role
from server.http import inputs
from server.http.accounts import joined_json
from server.http.common import app_state, error, json_body, log, room_for, viewer_for


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
    invite, name = inputs.join_request(body)
    participant, room = await state.directory.join(invite, name)
    await state.controls.record(
        room,
        participant.id,
        participant.name,
        "participant.joined",
        {"role": participant.role.value},
    )
    log.info("%s %s joined room %s", participant.role, participant.id[:8], room.slug)
    return JSONResponse(joined_json(state, participant, room))


async def room_invites(request: Request) -> Response:
    """The room's invite codes, one per role (facilitators).
    ---
    summary: Invite codes
    responses:
      200: {description: Invite code per role}
    """
    room, claims = await room_for(request)
    if claims.role is not Role.FACILITATOR:
        raise Forbidden("forbidden", "only facilitators see the invites")
    invites = await app_state(request).store.list_invites(room.id)
    return JSONResponse({"invites": {i.role.value: i.code for i in invites}})


async def rotate_invite(request: Request) -> Response:
    """Replace a role's invite code (facilitators); the old code stops working.
    ---
    summary: Rotate an invite
    parameters:
      - in: path
        name: role
        required: true
        schema: {type: string, enum: [facilitator, member, observer]}
    responses:
      200:
        description: The new code
    """
    room, viewer = await viewer_for(request)
    invite = await app_state(request).controls.rotate_invite(
        room, viewer, request.path_params["role"]
    )
    return JSONResponse({"role": invite.role.value, "code": invite.code})
