"""Routes for comment threads and questions: threads, replies, edits, moderation,
reactions and mentions.

Each handler's docstring holds its OpenAPI operation (after ``---``).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from rooms.comment_views import Viewer, comment_view, thread_meta, thread_view
from rooms.comments import MAX_PAGE
from rooms.threads import Thread
from server.http import inputs
from server.http.common import app_state, json_body, viewer_for


def _with_comment(thread: Thread, comment_id: int, viewer: Viewer) -> dict[str, Any]:
    comment = thread.comment(comment_id)
    assert comment is not None
    return {"thread": thread_view(thread, viewer), "comment": comment_view(comment, thread, viewer)}


async def list_threads(request: Request) -> Response:
    """List the room's threads: unanswered questions first, then by latest activity.
    ---
    summary: List threads
    parameters:
      - {in: query, name: document, schema: {type: string}, description: only this document}
      - in: query
        name: general
        schema: {type: boolean}
        description: true for threads not on a document, false for document threads
      - {in: query, name: kind, schema: {type: string, enum: [comment, question]}}
      - {in: query, name: status, schema: {type: string, enum: [open, resolved]}}
      - in: query
        name: answer_state
        schema: {type: string, enum: [unanswered, answered, accepted]}
      - {in: query, name: mine, schema: {type: boolean}, description: only threads you started}
      - {in: query, name: limit, schema: {type: integer, minimum: 1, maximum: 100, default: 50}}
      - {in: query, name: offset, schema: {type: integer, minimum: 0, default: 0}}
    responses:
      200:
        description: One page of threads
        content:
          application/json:
            schema:
              type: object
              required: [threads, next_offset]
              properties:
                threads: {type: array, items: {$ref: '#/components/schemas/Thread'}}
                next_offset: {type: [integer, 'null']}
    """
    room, viewer = await viewer_for(request)
    filters = inputs.thread_filter(request.query_params)
    threads = await app_state(request).comments.list_threads(room, viewer, filters)
    full = len(threads) == filters.limit
    return JSONResponse(
        {
            "threads": [thread_view(t, viewer) for t in threads],
            "next_offset": filters.offset + filters.limit if full else None,
        }
    )


async def create_thread(request: Request) -> Response:
    """Start a thread: a comment or a question, on a passage, a document or the room.
    ---
    summary: Start a thread
    requestBody:
      required: true
      content:
        application/json:
          schema: {$ref: '#/components/schemas/NewThread'}
    responses:
      201:
        $ref: '#/components/responses/Thread'
    """
    room, viewer = await viewer_for(request)
    draft = inputs.thread_draft(await json_body(request))
    thread = await app_state(request).comments.create_thread(room, viewer, draft)
    return JSONResponse({"thread": thread_view(thread, viewer)}, status_code=201)


async def get_thread(request: Request) -> Response:
    """One thread with its comments.
    ---
    summary: Read a thread
    parameters:
      - {in: path, name: thread, required: true, schema: {type: integer}}
    responses:
      200:
        $ref: '#/components/responses/Thread'
    """
    room, viewer = await viewer_for(request)
    thread = await app_state(request).comments.thread(room, request.path_params["thread"], viewer)
    return JSONResponse({"thread": thread_view(thread, viewer)})


async def update_thread(request: Request) -> Response:
    """Resolve or reopen (author, facilitator), lock (facilitator), accept an answer
    (asker, facilitator).
    ---
    summary: Change a thread
    parameters:
      - {in: path, name: thread, required: true, schema: {type: integer}}
    requestBody:
      required: true
      content:
        application/json:
          schema:
            type: object
            additionalProperties: false
            minProperties: 1
            properties:
              status: {type: string, enum: [open, resolved]}
              locked: {type: boolean}
              accepted_comment_id:
                type: [integer, 'null']
                description: a reply in this question, or null to take the acceptance back
    responses:
      200:
        $ref: '#/components/responses/Thread'
    """
    room, viewer = await viewer_for(request)
    changes = inputs.thread_changes(await json_body(request))
    thread = await app_state(request).comments.update_thread(
        room, viewer, request.path_params["thread"], changes
    )
    return JSONResponse({"thread": thread_view(thread, viewer)})


async def reply(request: Request) -> Response:
    """Reply to a thread (an answer, when the thread is a question).
    ---
    summary: Reply
    parameters:
      - {in: path, name: thread, required: true, schema: {type: integer}}
    requestBody:
      required: true
      content:
        application/json:
          schema: {$ref: '#/components/schemas/CommentBody'}
    responses:
      201:
        $ref: '#/components/responses/ThreadAndComment'
    """
    room, viewer = await viewer_for(request)
    draft = inputs.comment_draft(await json_body(request))
    thread, comment_id = await app_state(request).comments.reply(
        room, viewer, request.path_params["thread"], draft
    )
    return JSONResponse(_with_comment(thread, comment_id, viewer), status_code=201)


async def edit_comment(request: Request) -> Response:
    """Edit your own comment.
    ---
    summary: Edit a comment
    parameters:
      - {in: path, name: comment, required: true, schema: {type: integer}}
    requestBody:
      required: true
      content:
        application/json:
          schema: {$ref: '#/components/schemas/CommentBody'}
    responses:
      200:
        $ref: '#/components/responses/ThreadAndComment'
    """
    room, viewer = await viewer_for(request)
    draft = inputs.comment_draft(await json_body(request))
    comment_id = request.path_params["comment"]
    thread = await app_state(request).comments.edit(room, viewer, comment_id, draft)
    return JSONResponse(_with_comment(thread, comment_id, viewer))


async def delete_comment(request: Request) -> Response:
    """Delete your own comment: its text is erased, the thread stays readable.
    ---
    summary: Delete a comment
    parameters:
      - {in: path, name: comment, required: true, schema: {type: integer}}
    responses:
      200:
        $ref: '#/components/responses/ThreadAndComment'
    """
    room, viewer = await viewer_for(request)
    comment_id = request.path_params["comment"]
    thread = await app_state(request).comments.delete(room, viewer, comment_id)
    return JSONResponse(_with_comment(thread, comment_id, viewer))


async def moderate_comment(request: Request) -> Response:
    """Facilitators hide (undoable), unhide or remove (erases the text) any comment.
    ---
    summary: Moderate a comment
    parameters:
      - {in: path, name: comment, required: true, schema: {type: integer}}
    requestBody:
      required: true
      content:
        application/json:
          schema:
            type: object
            required: [action]
            properties:
              action: {type: string, enum: [hide, unhide, remove]}
    responses:
      200:
        $ref: '#/components/responses/ThreadAndComment'
    """
    room, viewer = await viewer_for(request)
    action = inputs.moderation(await json_body(request))
    comment_id = request.path_params["comment"]
    thread = await app_state(request).comments.moderate(room, viewer, comment_id, action)
    return JSONResponse(_with_comment(thread, comment_id, viewer))


async def react(request: Request) -> Response:
    """Add (PUT) or take back (DELETE) your reaction to a comment.
    ---
    summary: React to a comment
    parameters:
      - {in: path, name: comment, required: true, schema: {type: integer}}
      - in: path
        name: reaction
        required: true
        schema: {$ref: '#/components/schemas/ReactionName'}
    responses:
      200:
        $ref: '#/components/responses/ThreadAndComment'
    """
    room, viewer = await viewer_for(request)
    comment_id = request.path_params["comment"]
    thread = await app_state(request).comments.react(
        room, viewer, comment_id, request.path_params["reaction"], request.method == "PUT"
    )
    return JSONResponse(_with_comment(thread, comment_id, viewer))


async def mentions(request: Request) -> Response:
    """Comments that mention you, newest first.
    ---
    summary: Your mentions
    parameters:
      - {in: query, name: limit, schema: {type: integer, minimum: 1, maximum: 100, default: 50}}
      - {in: query, name: offset, schema: {type: integer, minimum: 0, default: 0}}
    responses:
      200:
        description: One page of mentions
        content:
          application/json:
            schema:
              type: object
              required: [mentions, next_offset]
              properties:
                mentions:
                  type: array
                  items:
                    type: object
                    required: [thread, comment]
                    properties:
                      thread: {$ref: '#/components/schemas/ThreadMeta'}
                      comment: {$ref: '#/components/schemas/Comment'}
                next_offset: {type: [integer, 'null']}
    """
    room, viewer = await viewer_for(request)
    limit, offset = inputs.page(request.query_params, 50, MAX_PAGE)
    found = await app_state(request).comments.mentions(room, viewer, limit, offset)
    items = []
    for thread, comment_id in found:
        comment = thread.comment(comment_id)
        if comment is not None:
            items.append(
                {
                    "thread": thread_meta(thread, viewer),
                    "comment": comment_view(comment, thread, viewer),
                }
            )
    return JSONResponse(
        {"mentions": items, "next_offset": offset + limit if len(found) == limit else None}
    )
