"""Routes about the service itself: health, and the vocabulary a client shows.

Each handler's docstring holds its OpenAPI operation (after ``---``).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from rooms.roles import Role
from rooms.templates import TEMPLATES
from rooms.threads import Reaction
from server.http.common import app_state, log


async def health(request: Request) -> Response:
    """Liveness and database reachability.
    ---
    summary: Health
    responses:
      200: {description: Serving; the database answers}
      503: {description: The database does not answer}
    """
    try:
        await app_state(request).store.ping()
    except Exception as exc:
        log.warning("health check: database unreachable: %s", exc)
        return JSONResponse({"status": "degraded", "database": "unreachable"}, status_code=503)
    return JSONResponse(
        {
            "status": "ok",
            "database": "ok",
            "documents_loaded": len(app_state(request).hub.documents),
        }
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
