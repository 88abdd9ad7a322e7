"""Routes for the people of a room: the participant list, the live roster, roles,
removal, inviting by email, and a guest keeping their seat.

Each handler's docstring holds its OpenAPI operation (after ``---``).
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from rooms.account_records import Purpose
from rooms.accounts import SIGN_IN_MINUTES
from rooms.errors import Conflict, Forbidden, Invalid
from rooms.presence import roster_for
from rooms.roles import INVITE_ROLES, Role
from server.http import inputs
from server.http.accounts import client_address, send_invitation, sign_in_link
from server.http.common import app_state, json_body, optional_json_body, viewer_for
from server.http.views import person_json
from server.mail_messages import keep_seat_message

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
    room, viewer = await viewer_for(request)
    limit = (
        inputs.query_number(
            request.query_params, "limit", PARTICIPANTS_PAGE, 1, MAX_PARTICIPANTS_PAGE
        )
        or PARTICIPANTS_PAGE
    )
    after = request.query_params.get("after")
    people = await app_state(request).comments.participants_for(room, viewer, limit, after)
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
    room, viewer = await viewer_for(request)
    state = app_state(request)
    seen = {d.name for d in await state.controls.documents(room, viewer)}
    rows = roster_for(viewer, await state.roster.known_roster(room.id), seen)
    return JSONResponse({"roster": rows})


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


async def change_role(request: Request) -> Response:
    """Give a participant another role (facilitators): member to co-facilitator and
    back, or observer. The room keeps at least one facilitator. The person's open
    connections close with 4000 and come back with the new role; everyone gets the room
    event ``participant.role``.
    ---
    summary: Change a role
    parameters:
      - {in: path, name: participant, required: true, schema: {type: string}}
    requestBody:
      required: true
      content:
        application/json:
          schema:
            type: object
            required: [role]
            additionalProperties: false
            properties:
              role: {type: string, enum: [facilitator, member, observer]}
    responses:
      200:
        description: The participant with their new role
        content:
          application/json:
            schema:
              type: object
              required: [participant]
              properties: {participant: {$ref: '#/components/schemas/Person'}}
      403: {description: "forbidden: only facilitators change roles"}
      404: {description: "unknown_participant"}
      409: {description: "last_facilitator: demoting the only facilitator"}
      422: {description: "invalid_role"}
    """
    room, viewer = await viewer_for(request)
    body = await json_body(request)
    inputs.known_fields(body, {"role"})
    person = await app_state(request).controls.change_role(
        room, viewer, request.path_params["participant"], body.get("role")
    )
    return JSONResponse({"participant": person_json(person)})


async def keep_seat(request: Request) -> Response:
    """A guest keeps their seat: an email goes to the address, and signing in with it
    (link or code) makes this seat, with its comments, questions and documents, the
    account's, on every device.
    ---
    summary: Keep my seat with an email address
    requestBody:
      required: true
      content:
        application/json:
          schema:
            type: object
            required: [email]
            properties: {email: {type: string, format: email}}
    responses:
      202:
        description: The email is on its way
        content:
          application/json:
            schema:
              type: object
              required: [email]
              properties: {email: {type: string}}
      409: {description: "not_a_guest: this seat already belongs to an account"}
      422: {description: "invalid_email"}
      429: {description: "too_many_sign_ins"}
    """
    room, viewer = await viewer_for(request)
    state = app_state(request)
    body = await json_body(request)
    person = await state.participants.get_participant(viewer.id)
    if person is None or not person.guest:
        raise Conflict("not_a_guest", "this seat already belongs to an account")
    ticket = await state.accounts.request(
        body.get("email"),
        client_address(request),
        purpose=Purpose.KEEP_SEAT,
        next_path=f"/room/{quote(room.slug)}",
        name=person.name,
        participant_id=person.id,
    )
    state.outbox.submit(
        keep_seat_message(
            ticket.email,
            person.name,
            room.title,
            sign_in_link(request, ticket),
            ticket.code,
            SIGN_IN_MINUTES,
        )
    )
    return JSONResponse({"email": ticket.email}, status_code=202)


async def invite_by_email(request: Request) -> Response:
    """Invite someone by email (facilitators): the email carries a personal link, valid
    seven days, that signs them in and seats them in this room with the role.
    ---
    summary: Invite by email
    requestBody:
      required: true
      content:
        application/json:
          schema:
            type: object
            required: [email, role]
            additionalProperties: false
            properties:
              email: {type: string, format: email}
              role: {type: string, enum: [facilitator, member, observer]}
    responses:
      202:
        description: The invitation is on its way
        content:
          application/json:
            schema:
              type: object
              required: [email, role]
              properties: {email: {type: string}, role: {type: string}}
      403: {description: "forbidden: only facilitators invite"}
      422: {description: "invalid_email, invalid_role"}
      429: {description: "too_many_sign_ins: this address got too many emails this hour"}
    """
    room, viewer = await viewer_for(request)
    if not viewer.role.can_moderate:
        raise Forbidden("forbidden", "only facilitators invite people")
    state = app_state(request)
    body = await json_body(request)
    inputs.known_fields(body, {"email", "role"})
    role = body.get("role")
    if role not in INVITE_ROLES:
        raise Invalid("invalid_role", f"role must be one of {', '.join(INVITE_ROLES)}")
    chosen = Role(str(role))
    ticket = await send_invitation(
        request, room, viewer, body.get("email"), chosen, chosen.label, f"/room/{quote(room.slug)}"
    )
    await state.controls.record(
        room, viewer.id, viewer.name, "participant.invited", {"role": chosen.value}
    )
    return JSONResponse({"email": ticket.email, "role": chosen.value}, status_code=202)
