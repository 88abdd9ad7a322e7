"""Routes for rooms: creation, the room's state and its settings.

Each handler's docstring holds its OpenAPI operation (after ``---``).
"""

from __future__ import annotations

import hmac

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from rooms.errors import Forbidden, Unauthenticated
from server.http import inputs
from server.http.common import app_state, bearer, json_body, log, viewer_for
from server.http.views import document_json, session_json, settings_json


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
        raise Forbidden(
            "disabled",
            "room creation over HTTP is off: set ROUNDTABLE_ADMIN_TOKEN, or use "
            "`roundtable room create`",
        )
    if not hmac.compare_digest(bearer(request).encode(), admin.encode()):
        raise Unauthenticated("unauthorized", "wrong admin token")
    title = inputs.room_title(await json_body(request))
    created = await state.directory.create_room(title)
    log.info("created room %s", created.room.slug)
    return JSONResponse(
        {
            "room": created.room.slug,
            "title": created.room.title,
            "invites": {role.value: code for role, code in created.invites.items()},
        },
        status_code=201,
    )


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
    documents = await state.store.list_documents(room.id)
    session = await state.controls.room_state(room)
    return JSONResponse(
        {
            "room": room.slug,
            "title": room.title,
            "you": {"id": viewer.id, "name": viewer.name, "role": viewer.role.value},
            "documents": [document_json(d) for d in documents],
            "roster": await state.roster.known_roster(room.id),
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
    responses:
      200:
        $ref: '#/components/responses/Settings'
    """
    room, viewer = await viewer_for(request)
    changes = inputs.settings_changes(await json_body(request))
    settings = await app_state(request).comments.update_settings(room, viewer, changes)
    return JSONResponse({"settings": settings_json(settings)})
