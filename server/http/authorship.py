"""Routes for who wrote what: a document's authors, and two versions compared.

Each handler's docstring holds its OpenAPI operation (after ``---``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from rooms.authorship import Authors, DiffBlock, VersionDiff, diff_page
from rooms.errors import Invalid
from server.http import inputs
from server.http.common import app_state, viewer_for
from server.http.views import version_json


async def document_authors(request: Request) -> Response:
    """Who owns each Yjs client id that wrote in the document: any text can be
    attributed from the client id of its items. Ids not listed have no known author.
    ---
    summary: The document's authors
    parameters:
      - {in: path, name: doc, required: true, schema: {type: string}}
    responses:
      200:
        description: Client ids (decimal strings) to participant ids, and those people
    """
    room, viewer = await viewer_for(request)
    authors = await app_state(request).authorship.authors(room, request.path_params["doc"], viewer)
    return JSONResponse(authors_json(authors))


async def compare_versions(request: Request) -> Response:
    """Two versions compared (or a version and the current content): every block, and
    in a changed block every run, kept, added or removed, with the person who wrote it.
    With format=html, a standalone HTML page to save.
    ---
    summary: Compare versions
    parameters:
      - {in: path, name: doc, required: true, schema: {type: string}}
      - {in: query, name: from, required: true, schema: {type: integer}}
      - {in: query, name: to, schema: {type: string, default: current}}
      - {in: query, name: format, schema: {type: string, enum: [json, html]}}
    responses:
      200:
        description: The comparison
    """
    room, viewer = await viewer_for(request)
    old, new = inputs.version_pair(request.query_params)
    format = request.query_params.get("format", "json")
    if format not in ("json", "html"):
        raise Invalid("invalid_query", "format must be json or html")
    diff = await app_state(request).authorship.diff(
        room, request.path_params["doc"], viewer, old, new
    )
    if format == "html":
        name = f"{diff.document} changes.html"
        return Response(
            diff_page(diff),
            media_type="text/html; charset=utf-8",
            headers={"content-disposition": f"attachment; filename*=UTF-8''{quote(name)}"},
        )
    return JSONResponse(diff_json(diff))


def authors_json(authors: Authors) -> dict[str, Any]:
    return {
        "clients": {str(client): owner for client, owner in authors.clients.items()},
        "people": [
            {"participant_id": p.participant_id, "name": p.name, "colour": p.colour}
            for p in authors.people
        ],
    }


def diff_json(diff: VersionDiff) -> dict[str, Any]:
    return {
        "from": version_json(diff.old),
        "to": None if diff.new is None else version_json(diff.new),
        "blocks": [_block_json(b) for b in diff.blocks],
        "people": [
            {
                "participant_id": c.person.participant_id,
                "name": c.person.name,
                "colour": c.person.colour,
                "added": c.added,
                "removed": c.removed,
            }
            for c in diff.people
        ],
    }


def _block_json(block: DiffBlock) -> dict[str, Any]:
    return {
        "tag": block.tag,
        "level": block.level,
        "path": list(block.path),
        "change": block.change.value,
        "runs": [
            {"text": r.text, "change": r.change.value, "author": r.author} for r in block.runs
        ],
    }
