"""HTTP routes for the presence roster, the facilitator's controls, documents from
templates, versions, export and the audit log.

Each handler's docstring holds its OpenAPI operation (after ``---``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from crdt.content import to_markdown
from rooms.comments import settings_json
from rooms.controls import audit_json, document_json, version_json
from rooms.roles import Role
from rooms.templates import TEMPLATES
from rooms.threads import Reaction
from server.api import app_state, json_body, query_number, viewer_for


async def vocabulary(request: Request) -> Response:
    """The words a client shows: document templates, reactions and roles.
    ---
    summary: Vocabulary
    responses:
      200:
        description: Templates (key, title, description), reactions (key, emoji,
          label) and roles (key, label and what each may do), in display order
    """
    return JSONResponse(
        {
            "templates": [
                {"key": t.key, "title": t.title, "description": t.description}
                for t in TEMPLATES.values()
            ],
            "reactions": [{"key": r.value, "emoji": r.emoji, "label": r.label} for r in Reaction],
            "roles": [
                {
                    "key": role.value,
                    "label": role.label,
                    "can_edit": role.can_edit,
                    "can_create_documents": role.can_create_documents,
                    "can_moderate": role.can_moderate,
                }
                for role in Role
            ],
        }
    )


async def templates(request: Request) -> Response:
    """The document templates.
    ---
    summary: Templates
    responses:
      200:
        description: Template keys with their titles and descriptions
    """
    return JSONResponse(
        {
            "templates": [
                {"key": t.key, "title": t.title, "description": t.description}
                for t in TEMPLATES.values()
            ]
        }
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
    controls = await state.controls.room_state(room)
    return JSONResponse(
        {
            "room": room.slug,
            "title": room.title,
            "you": {"id": viewer.id, "name": viewer.name, "role": viewer.role.value},
            "documents": [document_json(d) for d in documents],
            "roster": await state.roster.known_roster(room.id),
            "settings": settings_json(await state.comments.settings(room)),
            "seq": await state.store.last_event_seq(room.id),
            **controls,
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
    body = await json_body(request)
    info = await app_state(request).controls.create_document(room, viewer, body)
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
    body = await json_body(request)
    info = await app_state(request).controls.set_mentor(
        room, viewer, request.path_params["doc"], body
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
    body = await json_body(request)
    info = await app_state(request).controls.lock(room, viewer, request.path_params["doc"], body)
    return JSONResponse({"document": document_json(info)})


def _download(content: str, media_type: str, filename: str) -> Response:
    return Response(
        content,
        media_type=media_type,
        headers={"content-disposition": f"attachment; filename*=UTF-8''{quote(filename)}"},
    )


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
    content, media_type, filename = await app_state(request).controls.export(
        room, request.path_params["doc"], request.query_params.get("format")
    )
    return _download(content, media_type, filename)


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
    room, _ = await viewer_for(request)
    versions = await app_state(request).controls.versions(room, request.path_params["doc"])
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
    body = await json_body(request)
    version = await app_state(request).controls.save_version(
        room, viewer, request.path_params["doc"], body
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
    room, _ = await viewer_for(request)
    version, state = await app_state(request).controls.version(
        room, request.path_params["doc"], request.path_params["version"]
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
    room, _ = await viewer_for(request)
    content, media_type, filename = await app_state(request).controls.export(
        room,
        request.path_params["doc"],
        request.query_params.get("format"),
        request.path_params["version"],
    )
    return _download(content, media_type, filename)


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


async def _optional_json_body(request: Request) -> dict[str, Any]:
    """The JSON body, or an empty one when the request carries none (a bare DELETE)."""
    headers = request.headers
    if (
        "content-type" not in headers
        and headers.get("content-length", "0") == "0"
        and "transfer-encoding" not in headers
    ):
        return {}
    return await json_body(request)


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
    body = await _optional_json_body(request)
    participant_id = request.path_params["participant"]
    invite = await app_state(request).controls.remove(room, viewer, participant_id, body)
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


async def start_timer(request: Request) -> Response:
    """Start (or restart) the session timer everyone sees (facilitators).
    ---
    summary: Start the timer
    requestBody:
      required: true
      content:
        application/json:
          schema:
            type: object
            required: [seconds]
            properties:
              seconds: {type: integer, minimum: 1, maximum: 86400}
              label: {type: string, maxLength: 200}
    responses:
      200:
        description: The timer
    """
    room, viewer = await viewer_for(request)
    body = await json_body(request)
    timer = await app_state(request).controls.start_timer(room, viewer, body)
    return JSONResponse({"timer": timer})


async def stop_timer(request: Request) -> Response:
    """Stop the session timer (facilitators).
    ---
    summary: Stop the timer
    responses:
      204:
        description: Stopped
    """
    room, viewer = await viewer_for(request)
    await app_state(request).controls.stop_timer(room, viewer)
    return Response(status_code=204)


async def spotlight(request: Request) -> Response:
    """Start (PUT) or end (DELETE) the spotlight on yourself (facilitators): observers,
    and members who did not opt out, follow you.
    ---
    summary: Spotlight
    responses:
      204:
        description: Done
    """
    room, viewer = await viewer_for(request)
    await app_state(request).controls.spotlight(room, viewer, request.method == "PUT")
    return Response(status_code=204)


async def end_session(request: Request) -> Response:
    """End the session (facilitators): save a version of every document, stop the timer
    and the spotlight.
    ---
    summary: End the session
    responses:
      200:
        description: The versions saved
    """
    room, viewer = await viewer_for(request)
    saved = await app_state(request).controls.end_session(room, viewer)
    return JSONResponse({"versions": [version_json(v) for v in saved]})


async def audit(request: Request) -> Response:
    """The room's audit log, newest first (facilitators).
    ---
    summary: Audit log
    parameters:
      - {in: query, name: limit, schema: {type: integer, minimum: 1, maximum: 500, default: 100}}
      - {in: query, name: before, schema: {type: integer}, description: entries older than this id}
    responses:
      200:
        description: Entries with time, actor, action and details
    """
    room, viewer = await viewer_for(request)
    limit = query_number(request, "limit", 100, 1, 500) or 100
    before = query_number(request, "before", None, 1, 2**62)
    entries = await app_state(request).controls.audit_log(room, viewer, limit, before)
    return JSONResponse(
        {
            "entries": [audit_json(e) for e in entries],
            "next_before": entries[-1].id if len(entries) == limit else None,
        }
    )
