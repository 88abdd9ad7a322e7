"""The OpenAPI 3.1 schema of the HTTP API, served at ``/api/openapi.json``.

Paths come from the routes themselves (Starlette's schema generator reads the YAML
after ``---`` in each handler's docstring); shared shapes live in ``COMPONENTS``.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from rooms.roles import Role
from rooms.threads import Reaction

_NULLABLE_STRING = {"type": ["string", "null"]}
_PERSON = {
    "type": "object",
    "required": ["id", "name", "role"],
    "properties": {
        "id": {"type": "string"},
        "name": {"type": "string"},
        "role": {"type": "string", "enum": [role.value for role in Role]},
        "guest": {
            "type": "boolean",
            "description": "joined with a name only, no account (in participant lists; "
            "not given for comment authors)",
        },
    },
}
_ACCOUNT = {
    "type": "object",
    "required": ["id", "email", "name", "admin", "can_create_rooms"],
    "properties": {
        "id": {"type": "string"},
        "email": {"type": "string"},
        "name": {"type": "string"},
        "admin": {"type": "boolean"},
        "can_create_rooms": {"type": "boolean"},
    },
}
_REACTIONS = [reaction.value for reaction in Reaction]

COMPONENTS: dict[str, Any] = {
    "securitySchemes": {
        "participant": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "The token from POST /api/join",
        },
        "admin": {
            "type": "http",
            "scheme": "bearer",
            "description": "The server's ROUNDTABLE_ADMIN_TOKEN",
        },
        "account": {
            "type": "apiKey",
            "in": "cookie",
            "name": "roundtable_session",
            "description": "The HttpOnly session cookie a sign-in sets. Requests that "
            "change something must carry this server's Origin header (403 cross_site).",
        },
    },
    "schemas": {
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
                }
            },
        },
        "Person": _PERSON,
        "Account": _ACCOUNT,
        "SignedIn": {
            "type": "object",
            "required": ["account", "next", "seat_kept"],
            "properties": {
                "account": {"$ref": "#/components/schemas/Account"},
                "next": {
                    "type": ["string", "null"],
                    "description": "the path to go to now, as asked for with the email",
                },
                "seat_kept": {
                    "type": "boolean",
                    "description": "false when a guest's seat could not become the "
                    "account's (the account already has one in that room)",
                },
            },
        },
        "Joined": {
            "type": "object",
            "required": ["token", "expires_at", "room", "title", "role", "participant"],
            "properties": {
                "token": {"type": "string"},
                "expires_at": {"type": "integer", "description": "Unix seconds"},
                "room": {"type": "string"},
                "title": {"type": "string"},
                "role": {"type": "string"},
                "participant": {"$ref": "#/components/schemas/Person"},
            },
        },
        "ReactionName": {"type": "string", "enum": _REACTIONS},
        "Anchor": {
            "type": "object",
            "description": "A text range: two Yjs relative positions "
            "(Y.encodeRelativePosition, base64) into the XmlFragment 'default', and the "
            "text the range held when the thread started. A range that has collapsed "
            "means the passage was deleted: show the thread as detached, with the quote.",
            "required": ["start", "end", "quote"],
            "additionalProperties": False,
            "properties": {
                "start": {"type": "string", "contentEncoding": "base64"},
                "end": {"type": "string", "contentEncoding": "base64"},
                "quote": {"type": "string", "minLength": 1, "maxLength": 2000},
            },
        },
        "CommentBody": {
            "type": "object",
            "required": ["body"],
            "properties": {
                "body": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 10000,
                    "description": "Plain text; clients render it as text, never as HTML",
                },
                "mentions": {
                    "type": "array",
                    "maxItems": 20,
                    "items": {"type": "string"},
                    "description": "Participant ids of people @mentioned",
                },
            },
        },
        "NewThread": {
            "allOf": [
                {"$ref": "#/components/schemas/CommentBody"},
                {
                    "type": "object",
                    "properties": {
                        "kind": {
                            "type": "string",
                            "enum": ["comment", "question"],
                            "default": "comment",
                        },
                        "document": {
                            **_NULLABLE_STRING,
                            "description": "Document name; none for a general room thread",
                        },
                        "anchor": {
                            "oneOf": [{"$ref": "#/components/schemas/Anchor"}, {"type": "null"}]
                        },
                        "anonymous": {
                            "type": "boolean",
                            "default": False,
                            "description": "Questions only: peers do not see who asked; "
                            "facilitators do",
                        },
                        "post_first": {
                            "type": "boolean",
                            "description": "Questions only: members see peers' answers after "
                            "posting their own. Defaults to the room setting.",
                        },
                    },
                },
            ]
        },
        "Comment": {
            "type": "object",
            "required": [
                "id",
                "thread_id",
                "reply",
                "accepted",
                "state",
                "author",
                "by_asker",
                "mine",
                "body",
                "created_at",
                "edited_at",
                "reactions",
                "mentions",
            ],
            "properties": {
                "id": {"type": "integer"},
                "thread_id": {"type": "integer"},
                "reply": {"type": "boolean"},
                "accepted": {"type": "boolean"},
                "state": {
                    "type": "string",
                    "enum": ["visible", "hidden", "deleted", "removed", "withheld"],
                    "description": "withheld: a post-first answer you see after posting yours",
                },
                "author": {
                    "oneOf": [{"$ref": "#/components/schemas/Person"}, {"type": "null"}],
                    "description": "null when withheld, or for the asker of an anonymous question",
                },
                "by_asker": {"type": "boolean"},
                "mine": {"type": "boolean"},
                "body": {**_NULLABLE_STRING, "description": "null unless you may read it"},
                "created_at": {"type": "string", "format": "date-time"},
                "edited_at": {"type": ["string", "null"], "format": "date-time"},
                "reactions": {
                    "type": "object",
                    "propertyNames": {"enum": _REACTIONS},
                    "additionalProperties": {
                        "type": "object",
                        "required": ["count", "mine"],
                        "properties": {
                            "count": {"type": "integer", "minimum": 1},
                            "mine": {"type": "boolean"},
                        },
                    },
                },
                "mentions": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["id", "name"],
                        "properties": {"id": {"type": "string"}, "name": {"type": "string"}},
                    },
                },
            },
        },
        "ThreadMeta": {
            "type": "object",
            "required": [
                "id",
                "document",
                "kind",
                "anchor",
                "author",
                "anonymous",
                "mine",
                "status",
                "locked",
                "post_first",
                "answer_state",
                "accepted_comment_id",
                "reply_count",
                "withheld_count",
                "created_at",
                "last_activity_at",
            ],
            "properties": {
                "id": {"type": "integer"},
                "document": _NULLABLE_STRING,
                "kind": {"type": "string", "enum": ["comment", "question"]},
                "anchor": {"oneOf": [{"$ref": "#/components/schemas/Anchor"}, {"type": "null"}]},
                "author": {"oneOf": [{"$ref": "#/components/schemas/Person"}, {"type": "null"}]},
                "anonymous": {"type": "boolean"},
                "mine": {"type": "boolean"},
                "status": {"type": "string", "enum": ["open", "resolved"]},
                "locked": {"type": "boolean"},
                "post_first": {"type": "boolean"},
                "answer_state": {
                    "type": ["string", "null"],
                    "enum": ["unanswered", "answered", "accepted", None],
                },
                "accepted_comment_id": {"type": ["integer", "null"]},
                "reply_count": {"type": "integer", "minimum": 0},
                "withheld_count": {"type": "integer", "minimum": 0},
                "created_at": {"type": "string", "format": "date-time"},
                "last_activity_at": {"type": "string", "format": "date-time"},
            },
        },
        "Thread": {
            "allOf": [
                {"$ref": "#/components/schemas/ThreadMeta"},
                {
                    "type": "object",
                    "required": ["comments"],
                    "properties": {
                        "comments": {
                            "type": "array",
                            "minItems": 1,
                            "items": {"$ref": "#/components/schemas/Comment"},
                            "description": "The opening comment, then the replies",
                        }
                    },
                },
            ]
        },
        "ThreadAndComment": {
            "type": "object",
            "required": ["thread", "comment"],
            "properties": {
                "thread": {"$ref": "#/components/schemas/Thread"},
                "comment": {"$ref": "#/components/schemas/Comment"},
            },
        },
        "RoomSettings": {
            "type": "object",
            "required": [
                "observers_can_ask",
                "post_first_questions",
                "max_participants",
                "guests_allowed",
            ],
            "properties": {
                "observers_can_ask": {"type": "boolean"},
                "post_first_questions": {"type": "boolean"},
                "max_participants": {
                    "type": ["integer", "null"],
                    "minimum": 0,
                    "description": "Members and observers the room takes at most; 0: no "
                    "cap; null: the server's default (ROUNDTABLE_MAX_PARTICIPANTS_PER_ROOM)",
                },
                "guests_allowed": {
                    "type": "boolean",
                    "description": "Whether invite links take guests (a name, no account)",
                },
            },
        },
    },
}


def _json_response(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


COMPONENTS["responses"] = {
    "Thread": _json_response(
        "The thread, as you may see it",
        {
            "type": "object",
            "required": ["thread"],
            "properties": {"thread": {"$ref": "#/components/schemas/Thread"}},
        },
    ),
    "ThreadAndComment": _json_response(
        "The thread and the comment concerned",
        {"$ref": "#/components/schemas/ThreadAndComment"},
    ),
    "Settings": _json_response(
        "The room's settings",
        {
            "type": "object",
            "required": ["settings"],
            "properties": {"settings": {"$ref": "#/components/schemas/RoomSettings"}},
        },
    ),
}

_ERROR_RESPONSE = _json_response("Refused: see error.code", {"$ref": "#/components/schemas/Error"})

_BASE: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "Roundtable",
        "version": "1",
        "description": "Rooms, documents, comment threads and questions. Participant "
        "routes take the token from POST /api/join (or, signed in, from POST "
        "/api/account/rooms/{room}/token) as a Bearer token. Live changes arrive on "
        "the WebSocket /events/{room}?token=...&after=SEQ. Signing in by email sets "
        "an HttpOnly session cookie that only the /api/sign-in, /api/sign-out and "
        "/api/account routes and room creation read.",
    },
    "components": COMPONENTS,
}


def build_schema(routes: list[Any]) -> dict[str, Any]:
    # Starlette's generator reads the docstrings with PyYAML: both are loaded only
    # when someone asks for the document.
    from starlette.schemas import SchemaGenerator

    schema = SchemaGenerator(_BASE).get_schema(routes)
    for path, operations in schema.get("paths", {}).items():
        for operation in operations.values():
            # YAML reads `200:` as a number; OpenAPI keys are strings.
            responses = operation["responses"] = {
                str(status): response for status, response in operation.get("responses", {}).items()
            }
            responses.setdefault("4XX", _ERROR_RESPONSE)
            if path.startswith(("/api/account", "/api/sign-out")):
                operation.setdefault("security", [{"account": []}])
            if path.startswith("/api/rooms/") and "{room}" in path:
                operation.setdefault("security", [{"participant": []}])
                params = operation.setdefault("parameters", [])
                if not any(p.get("name") == "room" for p in params):
                    params.insert(
                        0,
                        {
                            "in": "path",
                            "name": "room",
                            "required": True,
                            "schema": {"type": "string"},
                        },
                    )
    return schema


async def openapi(request: Request) -> Response:
    """The schema of this API."""
    schema = getattr(request.app.state, "openapi_schema", None)
    if schema is None:
        schema = request.app.state.openapi_schema = build_schema(request.app.routes)
    return JSONResponse(schema)
