"""Routes for the people of a room: the participant list, the live roster, removal.

Each handler's docstring holds its OpenAPI operation (after ``---``).
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from server.http import inputs
from server.http.common import app_state, optional_json_body, viewer_for
from server.http.views import person_json

PARTICIPANTS_PAGE = 100


MAX_PARTICIPANTS_PAGE = 500


async def participants(request: Request) -> Response:
    """Everyone who joined the room and was not removed, for @mentions, a page at a time.
    ---
    summary: Participants
    parameters:
      - in: query
        name: limit
        schema: {type: integer, minimum: 1, maximum: 500, default: 100}
      - in: query
        name: after
        schema: {type: string}
        description: the next_after of the previous page
    responses:
      200:
        description: One page of the room's participants, in order of joining
        content:
          application/json:
            schema:
              type: object
              required: [participants, next_after]
              properties:
                participants: {type: array, items: {$ref: '#/components/schemas/Person'}}
                next_after:
                  type: [string, 'null']
                  description: pass as after for the next page; null after the last
    """
    room, _ = await viewer_for(request)
    limit = (
        inputs.query_number(
            request.query_params, "limit", PARTICIPANTS_PAGE, 1, MAX_PARTICIPANTS_PAGE
        )
        or PARTICIPANTS_PAGE
    )
    after = request.query_params.get("after")
    people = await app_state(request).comments.participants(room, limit, after)
    return JSONResponse(
        {
            "participants": [person_json(p) for p in people],
            "next_after": people[-1].id if len(people) == limit else None,
        }
    )


async def roster(request: Request) -> Response:
    """Who is in the room now.
    ---
    summary: Roster
    responses:
      200:
        description: One row per participant present, with role, colour, document and state
    """
    room, _ = await viewer_for(request)
    return JSONResponse({"roster": await app_state(request).roster.known_roster(room.id)})


async def remove_participant(request: Request) -> Response:
    """Remove a participant (facilitators): their connections close and their token
    stops working. Their invite link still works unless it is replaced: with
    ``rotate_invite``, the invite of their role is rotated in the same action (as
    ``POST /invites/{role}/rotate`` does), and everyone who has not joined yet needs the
    new link.
    ---
    summary: Remove a participant
    parameters:
      - {in: path, name: participant, required: true, schema: {type: string}}
    requestBody:
      required: false
      content:
        application/json:
          schema:
            type: object
            additionalProperties: false
            properties:
              rotate_invite:
                type: boolean
                default: false
                description: also replace the invite of the participant's role
    responses:
      200:
        description: Removed, and the role's invite replaced (with rotate_invite)
        content:
          application/json:
            schema:
              type: object
              required: [participant_id, invite]
              properties:
                participant_id: {type: string}
                invite:
                  type: object
                  required: [role, code, link]
                  properties:
                    role: {type: string, enum: [member, observer]}
                    code: {type: string}
                    link: {type: string, description: the join page of the new code}
      204:
        description: Removed (without rotate_invite)
    """
    room, viewer = await viewer_for(request)
    rotate_invite = inputs.removal(await optional_json_body(request))
    participant_id = request.path_params["participant"]
    invite = await app_state(request).controls.remove(room, viewer, participant_id, rotate_invite)
    if invite is None:
        return Response(status_code=204)
    return JSONResponse(
        {
            "participant_id": participant_id,
            "invite": {
                "role": invite.role.value,
                "code": invite.code,
                "link": f"{request.base_url}join/{quote(invite.code)}",
            },
        }
    )
