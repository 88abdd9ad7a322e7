"""Routes for running a session: the timer, the spotlight, ending the session and
the audit log.

Each handler's docstring holds its OpenAPI operation (after ``---``).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from server.http import inputs
from server.http.common import app_state, json_body, viewer_for
from server.http.views import audit_json, timer_json, version_json


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
    timer_request = inputs.timer_request(await json_body(request))
    timer = await app_state(request).controls.start_timer(room, viewer, timer_request)
    return JSONResponse({"timer": timer_json(timer)})


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
    limit = inputs.query_number(request.query_params, "limit", 100, 1, 500) or 100
    before = inputs.query_number(request.query_params, "before", None, 1, 2**62)
    entries = await app_state(request).controls.audit_log(room, viewer, limit, before)
    return JSONResponse(
        {
            "entries": [audit_json(e) for e in entries],
            "next_before": entries[-1].id if len(entries) == limit else None,
        }
    )
