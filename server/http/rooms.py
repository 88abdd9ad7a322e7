"""Routes for rooms: creation, the room's state and its settings.

Each handler's docstring holds its OpenAPI operation (after ``---``).
"""

from __future__ import annotations

import hmac
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from rooms.comment_views import Viewer
from rooms.controls import NewDocument
from rooms.directory import CreatedRoom
from rooms.errors import Forbidden, Unauthenticated
from rooms.presence import roster_for
from rooms.templates import TEMPLATES
from server.http import inputs
from server.http.accounts import base_url, joined_json
from server.http.common import app_state, bearer, json_body, log, viewer_for
from server.http.signed_in import signed_in
from server.http.views import document_json, session_json, settings_json


async def create_room(request: Request) -> Response:
    """Create a room. Signed in (the session cookie), the account becomes its first
    facilitator, and the room starts with a document made from each template asked for;
    whether an account may create rooms is the instance's setting (``roundtable admin``).
    With the admin token as a Bearer token instead, the room starts empty, with no one.
    ---
    summary: Create a room
    security: [{account: []}, {admin: []}]
    requestBody:
      required: true
      content:
        application/json:
          schema:
            type: object
            required: [title]
            properties:
              title: {type: string, minLength: 1, maxLength: 200}
              templates:
                type: array
                maxItems: 10
                items: {type: string, description: a template key from /api/vocabulary}
                description: a document to start with from each (signed in only)
    responses:
      201:
        description: The room, one invite code and link per role, and (signed in) a
          participant token for its creator
        content:
          application/json:
            schema:
              type: object
              required: [room, title, invites, links]
              properties:
                room: {type: string}
                title: {type: string}
                invites: {type: object, additionalProperties: {type: string}}
                links: {type: object, additionalProperties: {type: string}}
                join: {$ref: '#/components/schemas/Joined'}
                documents: {type: array, items: {type: string}}
      401: {description: "signed_out, or a wrong admin token"}
      403: {description: "not_allowed_to_create, or room creation over HTTP is off"}
      422: {description: "invalid_title, invalid_template"}
    """
    state = app_state(request)
    if "authorization" not in request.headers:
        return await _create_signed_in(request)
    admin = state.settings.admin_token
    if not admin:
        raise Forbidden(
            "disabled",
            "room creation with a token is off: set ROUNDTABLE_ADMIN_TOKEN, sign in, or "
            "use `roundtable room create`",
        )
    if not hmac.compare_digest(bearer(request).encode(), admin.encode()):
        raise Unauthenticated("unauthorized", "wrong admin token")
    title = inputs.room_title(await json_body(request))
    created = await state.directory.create_room(title)
    log.info("created room %s", created.room.slug)
    return JSONResponse(_created_json(request, created), status_code=201)


def _created_json(request: Request, created: CreatedRoom) -> dict[str, Any]:
    return {
        "room": created.room.slug,
        "title": created.room.title,
        "invites": {role.value: code for role, code in created.invites.items()},
        "links": {
            role.value: f"{base_url(request)}join/{quote(code)}"
            for role, code in created.invites.items()
        },
    }


async def _create_signed_in(request: Request) -> Response:
    session, account = await signed_in(request)
    state = app_state(request)
    body = await json_body(request)
    title, templates = inputs.new_room(body)
    created, seat = await state.accounts.create_room(account, title)
    viewer = Viewer(seat.id, seat.role, seat.name)
    made: list[str] = []
    for key in templates:
        template = TEMPLATES[key]
        info = await state.controls.create_document(
            created.room, viewer, NewDocument(name=template.title, template=key)
        )
        made.append(info.name)
    await state.controls.record(
        created.room, seat.id, seat.name, "room.created", {"templates": list(templates)}
    )
    await state.accounts.seat_for(
        account, created.room, await state.store.last_event_seq(created.room.id)
    )
    log.info("account %s created room %s", account.id[:8], created.room.slug)
    body_out = _created_json(request, created)
    body_out["join"] = joined_json(state, seat, created.room, session)
    body_out["documents"] = made
    return JSONResponse(body_out, status_code=201)


async def room_state(request: Request) -> Response:
    """Everything a client needs on arrival: documents, roster, spotlight, timer, settings.
    ---
    summary: Room state
    responses:
      200:
        description: The room's live state
    """
    room, viewer = await viewer_for(request)
    state = app_state(request)
    documents = await state.controls.documents(room, viewer)
    session = await state.controls.room_state(room)
    return JSONResponse(
        {
            "room": room.slug,
            "title": room.title,
            "you": {"id": viewer.id, "name": viewer.name, "role": viewer.role.value},
            "documents": [document_json(d) for d in documents],
            "roster": roster_for(
                viewer, await state.roster.known_roster(room.id), {d.name for d in documents}
            ),
            "settings": settings_json(await state.comments.settings(room)),
            "seq": await state.store.last_event_seq(room.id),
            **session_json(session),
        }
    )


async def get_settings(request: Request) -> Response:
    """The room's settings.
    ---
    summary: Read room settings
    responses:
      200:
        $ref: '#/components/responses/Settings'
    """
    room, _ = await viewer_for(request)
    settings = await app_state(request).comments.settings(room)
    return JSONResponse({"settings": settings_json(settings)})


async def update_settings(request: Request) -> Response:
    """Change the room's settings (facilitators).
    ---
    summary: Change room settings
    requestBody:
      required: true
      content:
        application/json:
          schema:
            type: object
            additionalProperties: false
            minProperties: 1
            properties:
              observers_can_ask: {type: boolean}
              post_first_questions:
                type: boolean
                description: new questions are post-first unless their asker says otherwise
              max_participants:
                type: [integer, 'null']
                minimum: 0
                maximum: 100000
                description: >-
                  members and observers the room takes at most (removed ones do not
                  count; facilitators always get in); 0 for no cap, null for the
                  server's default
              guests_allowed:
                type: boolean
                description: >-
                  whether invite links take guests (a name, no account); false: joining
                  needs signing in, so a removed person cannot come back as a new guest
    responses:
      200:
        $ref: '#/components/responses/Settings'
    """
    room, viewer = await viewer_for(request)
    changes = inputs.settings_changes(await json_body(request))
    settings = await app_state(request).comments.update_settings(room, viewer, changes)
    return JSONResponse({"settings": settings_json(settings)})
