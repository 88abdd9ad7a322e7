"""Routes for a document's saved versions: list, save, read, export and restore.

Each handler's docstring holds its OpenAPI operation (after ``---``).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from crdt.content import to_markdown
from server.http import inputs
from server.http.common import app_state, json_body, viewer_for
from server.http.views import download, version_json


async def list_versions(request: Request) -> Response:
    """The document's saved versions, newest first.
    ---
    summary: List versions
    parameters:
      - {in: path, name: doc, required: true, schema: {type: string}}
    responses:
      200:
        description: The versions
    """
    room, viewer = await viewer_for(request)
    versions = await app_state(request).controls.versions(room, request.path_params["doc"], viewer)
    return JSONResponse({"versions": [version_json(v) for v in versions]})


async def save_version(request: Request) -> Response:
    """Save the document's current content as a named version (facilitators).
    ---
    summary: Save a version
    parameters:
      - {in: path, name: doc, required: true, schema: {type: string}}
    requestBody:
      required: true
      content:
        application/json:
          schema:
            type: object
            required: [name]
            properties: {name: {type: string, maxLength: 200}}
    responses:
      201:
        description: The version
    """
    room, viewer = await viewer_for(request)
    name = inputs.version_name(await json_body(request))
    version = await app_state(request).controls.save_version(
        room, viewer, request.path_params["doc"], name
    )
    return JSONResponse({"version": version_json(version)}, status_code=201)


async def get_version(request: Request) -> Response:
    """One version, with its content as Markdown.
    ---
    summary: Read a version
    parameters:
      - {in: path, name: doc, required: true, schema: {type: string}}
      - {in: path, name: version, required: true, schema: {type: integer}}
    responses:
      200:
        description: The version and its content
    """
    room, viewer = await viewer_for(request)
    version, state = await app_state(request).controls.version(
        room, request.path_params["doc"], request.path_params["version"], viewer
    )
    return JSONResponse({"version": version_json(version), "markdown": to_markdown(state)})


async def export_version(request: Request) -> Response:
    """A version's content as Markdown or HTML.
    ---
    summary: Export a version
    parameters:
      - {in: path, name: doc, required: true, schema: {type: string}}
      - {in: path, name: version, required: true, schema: {type: integer}}
      - {in: query, name: format, required: true, schema: {type: string, enum: [markdown, html]}}
    responses:
      200:
        description: The content, as a download
    """
    room, viewer = await viewer_for(request)
    export = await app_state(request).controls.export(
        room,
        request.path_params["doc"],
        request.query_params.get("format", ""),
        request.path_params["version"],
        viewer,
    )
    return download(export)


async def restore_version(request: Request) -> Response:
    """Restore a version (facilitators): a new edit that every client receives. The
    content just before is saved as a version first.
    ---
    summary: Restore a version
    parameters:
      - {in: path, name: doc, required: true, schema: {type: string}}
      - {in: path, name: version, required: true, schema: {type: integer}}
    responses:
      200:
        description: The version saved just before the restore
    """
    room, viewer = await viewer_for(request)
    backup = await app_state(request).controls.restore(
        room, viewer, request.path_params["doc"], request.path_params["version"]
    )
    return JSONResponse({"backup": version_json(backup)})
