"""Routes about the service itself: liveness and readiness, and the vocabulary a client shows.

Each handler's docstring holds its OpenAPI operation (after ``---``).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from rooms.roles import Role
from rooms.templates import TEMPLATES
from rooms.threads import Reaction
from server.http.common import app_state
from server.readiness import Readiness


def readiness_of(request: Request) -> Readiness:
    readiness: Readiness = request.app.state.readiness
    return readiness


async def health(request: Request) -> Response:
    """Liveness: the process serves. It asks nothing of the database or Redis, so that
    an outage of theirs never gets a sound process restarted (``/ready`` tells that).
    ---
    summary: Liveness
    responses:
      200: {description: 'Serving: status ok, and how many documents are loaded'}
    """
    return JSONResponse({"status": "ok", "documents_loaded": len(app_state(request).hub.documents)})


async def ready(request: Request) -> Response:
    """Readiness: whether this process should be sent traffic.
    ---
    summary: Readiness
    responses:
      200:
        description: 'Ready: the database and Redis (when used) answer, the schema is at
          the newest migration, and the process is not shutting down. checks holds each
          outcome: database, migrations, redis, process'
      503:
        description: 'Not ready: failed names each check that did not pass (database,
          migrations, redis, or process while it drains before a shutdown); status is
          draining during that drain'
    """
    report = await readiness_of(request).check()
    if report.ready:
        return JSONResponse({"status": "ready", "checks": report.checks})
    status = "draining" if report.failed == ["process"] else "not ready"
    return JSONResponse(
        {"status": status, "failed": report.failed, "checks": report.checks}, status_code=503
    )


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
                    "sees_room": role.sees_room,
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
