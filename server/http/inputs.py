"""Reading request bodies and query strings into the domain's inputs.

The edge checks what JSON and URLs say: that a body holds only the fields a route
takes, that each field has the right JSON type, which query parameters exist and
their integer bounds. What the values mean (text rules, lengths, allowed words, ids,
who may send them) is the domain's to check. A refusal here is the
:class:`rooms.errors.Invalid` the domain raises for the same field, with the same
reason and message, so that a client sees one error whichever side finds it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rooms.comments import (
    ANSWER_STATES,
    MAX_PAGE,
    MAX_PARTICIPANT_CAP,
    UNSET,
    AnchorDraft,
    CommentDraft,
    SettingsChanges,
    ThreadChanges,
    ThreadDraft,
    ThreadFilter,
    Unset,
)
from rooms.controls import MAX_TIMER_SECONDS, NewDocument, TimerRequest
from rooms.errors import Invalid
from rooms.templates import TEMPLATES
from rooms.threads import ThreadKind, ThreadStatus

JsonObject = dict[str, Any]
QueryParams = Mapping[str, str]

MAX_OFFSET = 10**9
MAX_ROOM_TEMPLATES = 10


# Fields


def text(body: JsonObject, field: str) -> str:
    """A string field that must be there (its text is checked by the domain)."""
    value = body.get(field)
    if not isinstance(value, str):
        raise Invalid(f"invalid_{field}", f"{field} must be a string")
    return value


def optional_text(body: JsonObject, field: str) -> str | None:
    """A string field that may be left out or null."""
    return None if body.get(field) is None else text(body, field)


def flag(body: JsonObject, field: str) -> bool:
    """A field that must be true or false."""
    value = body.get(field)
    if not isinstance(value, bool):
        raise Invalid(f"invalid_{field}", f"{field} must be true or false")
    return value


def optional_flag(body: JsonObject, field: str) -> bool | None:
    """A field that may be left out (or null), else true or false."""
    return None if body.get(field) is None else flag(body, field)


def integer(value: object) -> bool:
    """Whether ``value`` is a JSON integer (not a boolean, not 1.0)."""
    return isinstance(value, int) and not isinstance(value, bool)


def known_fields(body: JsonObject, known: set[str], what: str = "field") -> None:
    unknown = sorted(set(body) - known)
    if unknown:
        raise Invalid("invalid_change", f"unknown {what} {unknown[0]!r}")


# Query strings


def bounded_int(raw: str, name: str, low: int, high: int) -> int:
    """A query parameter holding an integer from ``low`` to ``high`` (ASCII digits only)."""
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 18) or not low <= int(raw) <= high:
        raise Invalid("invalid_query", f"{name} must be an integer from {low} to {high}")
    return int(raw)


def query_number(
    params: QueryParams, name: str, default: int | None, low: int, high: int
) -> int | None:
    """An integer query parameter from ``low`` to ``high``, or ``default`` when absent."""
    raw = params.get(name)
    return default if raw is None else bounded_int(raw, name, low, high)


def version_pair(params: QueryParams) -> tuple[int, int | None]:
    """``from`` (a version id) and ``to`` (a version id, or ``current``, the default)."""
    raw = params.get("from")
    if raw is None:
        raise Invalid("invalid_query", "from must name a version")
    old = bounded_int(raw, "from", 1, 2**62)
    to = params.get("to", "current")
    return old, None if to == "current" else bounded_int(to, "to", 1, 2**62)


def page(params: QueryParams, default: int, most: int) -> tuple[int, int]:
    """``limit`` (1 to ``most``) and ``offset`` query parameters."""
    limit = query_number(params, "limit", default, 1, most)
    offset = query_number(params, "offset", 0, 0, MAX_OFFSET)
    assert limit is not None and offset is not None
    return limit, offset


def _choice(params: QueryParams, name: str, allowed: list[str]) -> str | None:
    value = params.get(name)
    if value is not None and value not in allowed:
        raise Invalid("invalid_query", f"{name} must be one of {allowed}")
    return value


def _yes_no(params: QueryParams, name: str) -> bool | None:
    value = _choice(params, name, ["true", "false"])
    return None if value is None else value == "true"


THREAD_FILTERS = {
    "document",
    "general",
    "kind",
    "status",
    "answer_state",
    "mine",
    "limit",
    "offset",
}


def thread_filter(params: QueryParams) -> ThreadFilter:
    """``GET /threads``: which threads, one page."""
    unknown = sorted(set(params) - THREAD_FILTERS)
    if unknown:
        raise Invalid("invalid_query", f"unknown parameter {unknown[0]!r}")
    general = _yes_no(params, "general")
    kind = _choice(params, "kind", [k.value for k in ThreadKind])
    status = _choice(params, "status", [s.value for s in ThreadStatus])
    answer_state = _choice(params, "answer_state", list(ANSWER_STATES))
    mine = _yes_no(params, "mine")
    limit, offset = page(params, 50, MAX_PAGE)
    return ThreadFilter(
        document=params.get("document"),
        general=general,
        kind=ThreadKind(kind) if kind else None,
        status=ThreadStatus(status) if status else None,
        answer_state=answer_state,
        mine=bool(mine),
        limit=limit,
        offset=offset,
    )


# Rooms and joining


def room_title(body: JsonObject) -> str:
    """``POST /api/rooms``."""
    return text(body, "title")


def new_room(body: JsonObject) -> tuple[str, tuple[str, ...]]:
    """``POST /api/rooms`` signed in: the title and the templates to start with."""
    known_fields(body, {"title", "templates"})
    title = text(body, "title")
    templates = body.get("templates", [])
    if (
        not isinstance(templates, list)
        or len(templates) > MAX_ROOM_TEMPLATES
        or any(t not in TEMPLATES for t in templates)
    ):
        raise Invalid(
            "invalid_template", f"templates must be a list of keys from {sorted(TEMPLATES)}"
        )
    return title, tuple(dict.fromkeys(templates))


def join_request(body: JsonObject) -> tuple[str, str]:
    """``POST /api/join``: the invite code and the display name."""
    invite = body.get("invite")
    if not isinstance(invite, str):
        raise Invalid("invalid_invite", "invite must be an invite code")
    return invite, text(body, "name")


def settings_changes(body: JsonObject) -> SettingsChanges:
    """``PATCH /settings``."""
    known_fields(
        body,
        {"observers_can_ask", "post_first_questions", "max_participants", "guests_allowed"},
        "setting",
    )
    observers_can_ask = flag(body, "observers_can_ask") if "observers_can_ask" in body else None
    post_first_questions = (
        flag(body, "post_first_questions") if "post_first_questions" in body else None
    )
    max_participants: int | Unset | None = UNSET
    if "max_participants" in body:
        value = body["max_participants"]
        if value is not None and not integer(value):
            raise Invalid(
                "invalid_max_participants",
                f"max_participants must be null (the server's default), 0 (no cap) or an "
                f"integer up to {MAX_PARTICIPANT_CAP}",
            )
        max_participants = value
    return SettingsChanges(
        observers_can_ask=observers_can_ask,
        post_first_questions=post_first_questions,
        max_participants=max_participants,
        guests_allowed=flag(body, "guests_allowed") if "guests_allowed" in body else None,
    )


# Threads and comments


def _mentions(body: JsonObject) -> tuple[str, ...]:
    value = body.get("mentions")
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(m, str) for m in value):
        raise Invalid("invalid_mentions", "mentions must be a list of participant ids")
    return tuple(value)


def _anchor(value: object) -> AnchorDraft | None:
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != {"start", "end", "quote"}:
        raise Invalid("invalid_anchor", "anchor must be an object with start, end and quote")
    quote = text(value, "quote")
    for end in ("start", "end"):
        if not isinstance(value[end], str):
            raise Invalid("invalid_anchor", f"anchor {end}: {end} must be a base64 string")
    return AnchorDraft(start=value["start"], end=value["end"], quote=quote)


def thread_draft(body: JsonObject) -> ThreadDraft:
    """``POST /threads``."""
    kind = body.get("kind", ThreadKind.COMMENT.value)
    if not isinstance(kind, str):
        raise Invalid("invalid_kind", "kind must be 'comment' or 'question'")
    document = body.get("document")
    if document is not None and not isinstance(document, str):
        raise Invalid("invalid_document", "document must be a document name")
    anonymous = optional_flag(body, "anonymous")
    post_first = optional_flag(body, "post_first")
    return ThreadDraft(
        body=text(body, "body"),
        kind=kind,
        document=document,
        anchor=_anchor(body.get("anchor")),
        anonymous=bool(anonymous),
        post_first=post_first,
        mentions=_mentions(body),
    )


def comment_draft(body: JsonObject) -> CommentDraft:
    """``POST /threads/{thread}/comments`` and ``PATCH /comments/{comment}``."""
    return CommentDraft(body=text(body, "body"), mentions=_mentions(body))


def thread_changes(body: JsonObject) -> ThreadChanges:
    """``PATCH /threads/{thread}``."""
    known_fields(body, {"status", "locked", "accepted_comment_id"})
    status = None
    if "status" in body:
        status = body["status"]
        if not isinstance(status, str):
            raise Invalid("invalid_status", "status must be 'open' or 'resolved'")
    locked = flag(body, "locked") if "locked" in body else None
    accepted: int | Unset | None = UNSET
    if "accepted_comment_id" in body:
        accepted = body["accepted_comment_id"]
        if accepted is not None and not integer(accepted):
            raise Invalid(
                "invalid_accepted_comment_id", "accepted_comment_id must be a positive integer"
            )
    return ThreadChanges(status=status, locked=locked, accepted_comment_id=accepted)


def moderation(body: JsonObject) -> str:
    """``POST /comments/{comment}/moderation``: the action."""
    action = body.get("action")
    if not isinstance(action, str):
        raise Invalid("invalid_action", "action must be hide, unhide or remove")
    return action


# Documents, versions and the session


def new_document(body: JsonObject) -> NewDocument:
    """``POST /documents``."""
    name = body.get("name")
    if not isinstance(name, str):
        raise Invalid(
            "invalid_name", "name: 1 to 100 letters, digits, spaces, dots, dashes or underscores"
        )
    template = body.get("template")
    if template is not None and not isinstance(template, str):
        raise Invalid("invalid_template", f"template must be one of {sorted(TEMPLATES)}")
    return NewDocument(name=name, template=template, mentor=_mentor(body.get("mentor")))


def _mentor(value: object) -> str | None:
    if value is not None and not isinstance(value, str):
        raise Invalid("invalid_mentor", "mentor must be a participant id")
    return value


def mentor_choice(body: JsonObject) -> str | None:
    """``PATCH /documents/{doc}``: the mentor's participant id, or None to clear it."""
    if set(body) != {"mentor"}:
        raise Invalid("invalid_change", 'send {"mentor": participant id or null}')
    return _mentor(body["mentor"])


def lock_choice(body: JsonObject) -> bool:
    """``PUT /documents/{doc}/lock``: whether to lock."""
    if set(body) != {"locked"}:
        raise Invalid("invalid_change", 'send {"locked": true or false}')
    return flag(body, "locked")


def version_name(body: JsonObject) -> str:
    """``POST /documents/{doc}/versions``: the version's name."""
    return text(body, "name")


def timer_request(body: JsonObject) -> TimerRequest:
    """``PUT /timer``."""
    seconds = body.get("seconds")
    if not integer(seconds):
        raise Invalid(
            "invalid_seconds", f"seconds must be an integer from 1 to {MAX_TIMER_SECONDS}"
        )
    assert isinstance(seconds, int)
    return TimerRequest(seconds=seconds, label=optional_text(body, "label"))


def removal(body: JsonObject) -> bool:
    """``DELETE /participants/{participant}``: whether to rotate the role's invite too."""
    known_fields(body, {"rotate_invite"})
    return flag(body, "rotate_invite") if "rotate_invite" in body else False
