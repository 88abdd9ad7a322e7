"""Routes for a room's documents: listing, creating (from a template), renaming,
locking, exporting, and inviting a mentor by email.

Each handler's docstring holds its OpenAPI operation (after ``---``).
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from rooms.roles import Role
from server.http import inputs
from server.http.accounts import send_invitation
from server.http.common import app_state, json_body, viewer_for
from server.http.views import document_json, download


async def room_documents(request: Request) -> Response:
    """The room's documents.
    ---
    summary: List documents
    responses:
      200: {description: The documents in order of creation}
    """
    room, viewer = await viewer_for(request)
    documents = await app_state(request).controls.documents(room, viewer)
    return JSONResponse({"documents": [document_json(d) for d in documents]})


async def create_document(request: Request) -> Response:
    """Create a document, empty or from a template, optionally with a mentor.
    ---
    summary: Create a document
    requestBody:
      required: true
      content:
        application/json:
          schema:
            type: object
            required: [name]
            properties:
              name: {type: string}
              template: {type: string, enum: [best-practices, style-guide, action-plan]}
              mentor: {type: string, description: participant id of who follows it}
    responses:
      201:
        description: The document
    """
    room, viewer = await viewer_for(request)
    draft = inputs.new_document(await json_body(request))
    info = await app_state(request).controls.create_document(room, viewer, draft)
    return JSONResponse({"document": document_json(info)}, status_code=201)


async def update_document(request: Request) -> Response:
    """Choose or clear a document's mentor (its creator or a facilitator).
    ---
    summary: Set the mentor
    parameters:
      - {in: path, name: doc, required: true, schema: {type: string}}
    requestBody:
      required: true
      content:
        application/json:
          schema:
            type: object
            required: [mentor]
            properties:
              mentor: {type: [string, 'null']}
    responses:
      200:
        description: The document
    """
    room, viewer = await viewer_for(request)
    mentor = inputs.mentor_choice(await json_body(request))
    info = await app_state(request).controls.set_mentor(
        room, viewer, request.path_params["doc"], mentor
    )
    return JSONResponse({"document": document_json(info)})


async def lock_document(request: Request) -> Response:
    """Lock or unlock a document (facilitators). Members and observers become read-only
    at once, on connections already open; locking saves a version.
    ---
    summary: Lock a document
    parameters:
      - {in: path, name: doc, required: true, schema: {type: string}}
    requestBody:
      required: true
      content:
        application/json:
          schema:
            type: object
            required: [locked]
            properties: {locked: {type: boolean}}
    responses:
      200:
        description: The document
    """
    room, viewer = await viewer_for(request)
    locked = inputs.lock_choice(await json_body(request))
    info = await app_state(request).controls.lock(room, viewer, request.path_params["doc"], locked)
    return JSONResponse({"document": document_json(info)})


async def export_document(request: Request) -> Response:
    """The document's current content as Markdown or HTML.
    ---
    summary: Export a document
    parameters:
      - {in: path, name: doc, required: true, schema: {type: string}}
      - {in: query, name: format, required: true, schema: {type: string, enum: [markdown, html]}}
    responses:
      200:
        description: The content, as a download
    """
    room, viewer = await viewer_for(request)
    export = await app_state(request).controls.export(
        room, request.path_params["doc"], request.query_params.get("format", ""), viewer=viewer
    )
    return download(export)


async def invite_mentor(request: Request) -> Response:
    """Invite someone by email to mentor this document (its creator or a facilitator):
    a learner's manager, say, from outside the cohort. The email's personal link (valid
    seven days) signs them in; someone without a seat in the room gets one as a
    ``mentor``, who sees and comments on the documents they mentor and nothing else of
    the room. Either way they become this document's mentor.
    ---
    summary: Invite a mentor by email
    parameters:
      - {in: path, name: doc, required: true, schema: {type: string}}
    requestBody:
      required: true
      content:
        application/json:
          schema:
            type: object
            required: [email]
            additionalProperties: false
            properties: {email: {type: string, format: email}}
    responses:
      202:
        description: The invitation is on its way
        content:
          application/json:
            schema:
              type: object
              required: [email, document]
              properties: {email: {type: string}, document: {type: string}}
      403: {description: "forbidden: not the document's creator or a facilitator"}
      404: {description: "unknown_document"}
      422: {description: "invalid_email"}
      429: {description: "too_many_sign_ins"}
    """
    room, viewer = await viewer_for(request)
    state = app_state(request)
    body = await json_body(request)
    inputs.known_fields(body, {"email"})
    info = await state.controls.may_appoint_mentor(room, viewer, request.path_params["doc"])
    ticket = await send_invitation(
        request,
        room,
        viewer,
        body.get("email"),
        Role.MENTOR,
        f"Mentor of “{info.name}”",
        room_path(room.slug, info.name),
        info.id,
    )
    await state.controls.record(
        room, viewer.id, viewer.name, "mentor.invited", {"document": info.name}
    )
    return JSONResponse({"email": ticket.email, "document": info.name}, status_code=202)


def room_path(slug: str, document: str) -> str:
    """The web client's address of a document."""
    return f"/room/{quote(slug)}?doc={quote(document)}"
