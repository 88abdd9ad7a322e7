"""Reading JSON bodies and query strings into the domain's inputs (server.http.inputs).

The edge checks JSON types, the fields a body may hold and query parameters; a
refusal is the domain's :class:`Invalid` with the reason and message the domain gives
for the same field. What a value means (text rules, allowed words, ids) is left to the
domain: these parsers pass such values through unchanged.
"""

from __future__ import annotations

from typing import Any

import pytest

from rooms.comments import (
    UNSET,
    AnchorDraft,
    CommentDraft,
    SettingsChanges,
    ThreadChanges,
    ThreadDraft,
    ThreadFilter,
)
from rooms.controls import NewDocument, TimerRequest
from rooms.errors import Invalid
from rooms.threads import ThreadKind, ThreadStatus
from server.http import inputs
from server.http.common import status_of

ANCHOR = {"start": "AQdkZWZhdWx0AA==", "end": "AQdkZWZhdWx0AA==", "quote": "fox"}


def refusal(parse: Any, value: Any) -> tuple[int, str, str]:
    with pytest.raises(Invalid) as refused:
        parse(value)
    return status_of(refused.value), refused.value.reason, refused.value.message


# Threads and comments


def test_a_thread_draft_keeps_what_the_domain_checks() -> None:
    draft = inputs.thread_draft(
        {
            "body": "  Why?  ",
            "kind": "Question",
            "document": "../x",
            "anchor": ANCHOR,
            "anonymous": True,
            "post_first": False,
            "mentions": ["a", "a", ""],
            "ignored": 1,
        }
    )
    assert draft == ThreadDraft(
        body="  Why?  ",
        kind="Question",
        document="../x",
        anchor=AnchorDraft(ANCHOR["start"], ANCHOR["end"], "fox"),
        anonymous=True,
        post_first=False,
        mentions=("a", "a", ""),
    )


def test_a_thread_draft_defaults() -> None:
    draft = inputs.thread_draft(
        {"body": "hi", "document": None, "anchor": None, "anonymous": None, "mentions": None}
    )
    assert draft == ThreadDraft(body="hi")
    assert draft.kind == ThreadKind.COMMENT
    assert draft.post_first is None


@pytest.mark.parametrize(
    ("body", "reason", "message"),
    [
        ({"body": "hi", "kind": 5}, "invalid_kind", "kind must be 'comment' or 'question'"),
        ({"body": "hi", "kind": None}, "invalid_kind", "kind must be 'comment' or 'question'"),
        ({"body": "hi", "document": 5}, "invalid_document", "document must be a document name"),
        (
            {"body": "hi", "anonymous": "yes"},
            "invalid_anonymous",
            "anonymous must be true or false",
        ),
        ({"body": "hi", "post_first": 1}, "invalid_post_first", "post_first must be true or false"),
        ({}, "invalid_body", "body must be a string"),
        ({"body": ["hi"]}, "invalid_body", "body must be a string"),
        (
            {"body": "hi", "anchor": "x"},
            "invalid_anchor",
            "anchor must be an object with start, end and quote",
        ),
        (
            {"body": "hi", "anchor": {**ANCHOR, "color": "red"}},
            "invalid_anchor",
            "anchor must be an object with start, end and quote",
        ),
        (
            {"body": "hi", "anchor": {**ANCHOR, "quote": None}},
            "invalid_quote",
            "quote must be a string",
        ),
        (
            {"body": "hi", "anchor": {**ANCHOR, "end": 5}},
            "invalid_anchor",
            "anchor end: end must be a base64 string",
        ),
        (
            {"body": "hi", "mentions": "ann"},
            "invalid_mentions",
            "mentions must be a list of participant ids",
        ),
        (
            {"body": "hi", "mentions": [5]},
            "invalid_mentions",
            "mentions must be a list of participant ids",
        ),
    ],
)
def test_thread_draft_refusals(body: dict[str, Any], reason: str, message: str) -> None:
    assert refusal(inputs.thread_draft, body) == (422, reason, message)


def test_a_comment_draft() -> None:
    assert inputs.comment_draft({"body": "ok", "mentions": ["a"]}) == CommentDraft("ok", ("a",))
    assert inputs.comment_draft({"body": "ok"}) == CommentDraft("ok")
    assert refusal(inputs.comment_draft, {"body": 5}) == (
        422,
        "invalid_body",
        "body must be a string",
    )


def test_thread_changes() -> None:
    assert inputs.thread_changes({}) == ThreadChanges()
    assert inputs.thread_changes({}).empty
    assert inputs.thread_changes({"status": "closed", "locked": True}) == ThreadChanges(
        status="closed", locked=True
    )
    cleared = inputs.thread_changes({"accepted_comment_id": None})
    assert cleared.accepted_comment_id is None and not cleared.empty
    assert inputs.thread_changes({"accepted_comment_id": 0}).accepted_comment_id == 0
    assert ThreadChanges().accepted_comment_id is UNSET


@pytest.mark.parametrize(
    ("body", "reason", "message"),
    [
        ({"title": "x"}, "invalid_change", "unknown field 'title'"),
        ({"status": "open", "b": 1, "a": 2}, "invalid_change", "unknown field 'a'"),
        ({"status": None}, "invalid_status", "status must be 'open' or 'resolved'"),
        ({"locked": None}, "invalid_locked", "locked must be true or false"),
        (
            {"accepted_comment_id": 1.5},
            "invalid_accepted_comment_id",
            "accepted_comment_id must be a positive integer",
        ),
        (
            {"accepted_comment_id": True},
            "invalid_accepted_comment_id",
            "accepted_comment_id must be a positive integer",
        ),
        # The fields are read in the order the domain checks them.
        ({"status": 5, "locked": "x"}, "invalid_status", "status must be 'open' or 'resolved'"),
        (
            {"locked": "x", "accepted_comment_id": "x"},
            "invalid_locked",
            "locked must be true or false",
        ),
    ],
)
def test_thread_changes_refusals(body: dict[str, Any], reason: str, message: str) -> None:
    assert refusal(inputs.thread_changes, body) == (422, reason, message)


def test_moderation_action() -> None:
    assert inputs.moderation({"action": "delete"}) == "delete"
    for body in ({}, {"action": None}, {"action": ["hide"]}):
        assert refusal(inputs.moderation, body) == (
            422,
            "invalid_action",
            "action must be hide, unhide or remove",
        )


def test_settings_changes() -> None:
    assert inputs.settings_changes({}).empty
    assert inputs.settings_changes({"max_participants": None}) == SettingsChanges(
        max_participants=None
    )
    assert inputs.settings_changes(
        {"observers_can_ask": True, "max_participants": -1}
    ) == SettingsChanges(observers_can_ask=True, max_participants=-1)
    assert refusal(inputs.settings_changes, {"theme": "dark"}) == (
        422,
        "invalid_change",
        "unknown setting 'theme'",
    )
    assert refusal(inputs.settings_changes, {"post_first_questions": None})[1] == (
        "invalid_post_first_questions"
    )
    assert refusal(inputs.settings_changes, {"max_participants": "5"}) == (
        422,
        "invalid_max_participants",
        "max_participants must be null (the server's default), 0 (no cap) or an integer "
        "up to 100000",
    )


# Query strings


def test_thread_filter() -> None:
    assert inputs.thread_filter({}) == ThreadFilter()
    assert inputs.thread_filter(
        {
            "document": "../x",
            "general": "false",
            "kind": "question",
            "status": "open",
            "answer_state": "accepted",
            "mine": "true",
            "limit": "100",
            "offset": "1000000000",
        }
    ) == ThreadFilter(
        document="../x",
        general=False,
        kind=ThreadKind.QUESTION,
        status=ThreadStatus.OPEN,
        answer_state="accepted",
        mine=True,
        limit=100,
        offset=10**9,
    )


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"sort": "new", "foo": "1"}, "unknown parameter 'foo'"),
        ({"kind": "Question"}, "kind must be one of ['comment', 'question']"),
        ({"general": "1"}, "general must be one of ['true', 'false']"),
        ({"mine": ""}, "mine must be one of ['true', 'false']"),
        (
            {"answer_state": "maybe"},
            "answer_state must be one of ['unanswered', 'answered', 'accepted']",
        ),
        ({"limit": "0"}, "limit must be an integer from 1 to 100"),
        ({"limit": "+5"}, "limit must be an integer from 1 to 100"),
        ({"limit": "\u00b2"}, "limit must be an integer from 1 to 100"),
        ({"offset": "9" * 19}, "offset must be an integer from 0 to 1000000000"),
    ],
)
def test_thread_filter_refusals(params: dict[str, str], message: str) -> None:
    assert refusal(inputs.thread_filter, params) == (400, "invalid_query", message)


def test_page_and_query_numbers() -> None:
    assert inputs.page({}, 50, 100) == (50, 0)
    assert inputs.page({"limit": "7", "offset": "3", "other": "x"}, 50, 100) == (7, 3)
    assert inputs.query_number({}, "before", None, 1, 2**62) is None
    assert refusal(lambda p: inputs.query_number(p, "before", None, 1, 9), {"before": "0"}) == (
        400,
        "invalid_query",
        "before must be an integer from 1 to 9",
    )


# Rooms, documents and the session


def test_joining_and_room_titles() -> None:
    assert inputs.join_request({"invite": "a b", "name": ""}) == ("a b", "")
    assert refusal(inputs.join_request, {"name": "Ann"}) == (
        422,
        "invalid_invite",
        "invite must be an invite code",
    )
    assert refusal(inputs.join_request, {"invite": "code"})[1:] == (
        "invalid_name",
        "name must be a string",
    )
    assert inputs.room_title({"title": " "}) == " "
    assert refusal(inputs.room_title, {"title": 5})[1] == "invalid_title"


def test_documents() -> None:
    assert inputs.new_document({"name": "../x", "template": "nope"}) == NewDocument("../x", "nope")
    assert refusal(inputs.new_document, {"name": 5}) == (
        422,
        "invalid_name",
        "name: 1 to 100 letters, digits, spaces, dots, dashes or underscores",
    )
    assert refusal(inputs.new_document, {"name": "n", "template": 1})[1:] == (
        "invalid_template",
        "template must be one of ['action-plan', 'best-practices', 'style-guide']",
    )
    assert refusal(inputs.new_document, {"name": "n", "mentor": 1})[1] == "invalid_mentor"
    assert inputs.mentor_choice({"mentor": None}) is None
    assert inputs.mentor_choice({"mentor": "x y"}) == "x y"
    assert refusal(inputs.mentor_choice, {}) == (
        422,
        "invalid_change",
        'send {"mentor": participant id or null}',
    )
    assert inputs.lock_choice({"locked": False}) is False
    assert refusal(inputs.lock_choice, {"locked": True, "x": 1})[1] == "invalid_change"
    assert refusal(inputs.lock_choice, {"locked": "yes"})[1] == "invalid_locked"
    assert inputs.version_name({"name": ""}) == ""
    assert refusal(inputs.version_name, {})[1:] == ("invalid_name", "name must be a string")


def test_timer_and_removal() -> None:
    assert inputs.timer_request({"seconds": 0}) == TimerRequest(0)
    assert inputs.timer_request({"seconds": 60, "label": None}) == TimerRequest(60)
    for seconds in (None, "60", True, 1.5):
        assert refusal(inputs.timer_request, {"seconds": seconds}) == (
            422,
            "invalid_seconds",
            "seconds must be an integer from 1 to 86400",
        )
    assert refusal(inputs.timer_request, {"seconds": 5, "label": 5})[1] == "invalid_label"
    assert inputs.removal({}) is False
    assert inputs.removal({"rotate_invite": True}) is True
    assert refusal(inputs.removal, {"rotate_invite": None})[1] == "invalid_rotate_invite"
    assert refusal(inputs.removal, {"x": 1})[1:] == ("invalid_change", "unknown field 'x'")
