"""Routes for a room's documents: listing, creating (from a template), renaming,
locking and exporting.

Each handler's docstring holds its OpenAPI operation (after ``---``).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from server.http import inputs
from server.http.common import app_state, json_body, room_for, viewer_for
from server.http.views import document_json, download


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
    room, _ = await viewer_for(request)
    export = await app_state(request).controls.export(
        room, request.path_params["doc"], request.query_params.get("format", "")
    )
    return download(export)
