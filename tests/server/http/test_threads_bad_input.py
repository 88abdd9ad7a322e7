"""Bad input on the threads API: exact 4xx JSON errors, nothing half-written, others unaffected.

One server (SQLite) and one set of rooms serve the whole module, so that hundreds of
table rows run in seconds. Every refusal is checked the same way: the status, the JSON
error code (the body validates against the schema's ``Error``), and a database
fingerprint of both rooms (threads, comments, mentions, reactions, settings, documents,
participants, audit log, room events and the event sequence) that must not change.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final

import httpx
import jsonschema  # type: ignore[import-untyped]
import jwt
import pytest
import pytest_asyncio
from openapi_spec_validator import validate as validate_spec
from pycrdt import XmlElement, XmlFragment, XmlText
from sqlalchemy import text
from starlette.routing import Route

from crdt.document import decode_state_vector
from rooms.directory import CreatedRoom
from rooms.roles import Role
from server.app import create_app
from server.http.common import MAX_BODY_BYTES
from tests.support.encoding import var
from tests.support.harness import RunningServer, run_server
from tests.support.settings import fast_settings
from tests.support.threads_client import Person, join
from tests.support.timing import eventually
from tests.support.yclient import open_synced

pytestmark = pytest.mark.asyncio(loop_scope="module")

NO_JSON: Final = object()
MISSING: Final = object()
GUIDE_TEXT = "The quick brown fox jumps over the lazy dog"


# Building blocks


def varstring(value: str | bytes) -> bytes:
    raw = value.encode() if isinstance(value, str) else value
    return var(len(raw)) + raw


ASSOC_AFTER = b"\x00"  # lib0 varint 0
ASSOC_BEFORE = b"\x41"  # lib0 varint -1: sign bit 0x40, value 1


def item_position(client: int, clock: int, assoc: bytes = ASSOC_AFTER) -> bytes:
    return b"\x00" + var(client) + var(clock) + assoc


def type_position(client: int, clock: int) -> bytes:
    return b"\x02" + var(client) + var(clock) + ASSOC_AFTER


def root_position(name: str | bytes) -> bytes:
    return b"\x01" + varstring(name) + ASSOC_AFTER


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


_IN_ROOM = "FROM threads WHERE room_id = :r"
_COMMENTS = "FROM comments c JOIN threads t ON t.id = c.thread_id WHERE t.room_id = :r"
_FINGERPRINT = text(
    f"""
    SELECT
      (SELECT count(*) {_IN_ROOM}) AS threads,
      (SELECT max(id) {_IN_ROOM}) AS last_thread,
      (SELECT max(last_activity_at) {_IN_ROOM}) AS last_activity,
      (SELECT sum(reply_count) {_IN_ROOM}) AS replies,
      (SELECT sum(CASE WHEN locked THEN 1 ELSE 0 END) {_IN_ROOM}) AS locked,
      (SELECT sum(CASE WHEN status = 'resolved' THEN 1 ELSE 0 END) {_IN_ROOM}) AS resolved,
      (SELECT sum(coalesce(accepted_comment_id, 0)) {_IN_ROOM}) AS accepted,
      (SELECT count(*) {_COMMENTS}) AS comments,
      (SELECT max(c.id) {_COMMENTS}) AS last_comment,
      (SELECT sum(length(c.body)) {_COMMENTS}) AS body_chars,
      (SELECT max(c.edited_at) {_COMMENTS}) AS last_edit,
      (SELECT sum(CASE WHEN c.state = 'visible' THEN 1 ELSE 0 END) {_COMMENTS}) AS visible,
      (SELECT sum(CASE WHEN c.state = 'hidden' THEN 1 ELSE 0 END) {_COMMENTS}) AS hidden,
      (SELECT count(*) FROM comment_mentions m JOIN comments c ON c.id = m.comment_id
         JOIN threads t ON t.id = c.thread_id WHERE t.room_id = :r) AS mentions,
      (SELECT count(*) FROM comment_reactions x JOIN comments c ON c.id = x.comment_id
         JOIN threads t ON t.id = c.thread_id WHERE t.room_id = :r) AS reactions,
      (SELECT event_seq FROM rooms WHERE id = :r) AS event_seq,
      (SELECT observers_can_ask FROM rooms WHERE id = :r) AS observers_can_ask,
      (SELECT post_first_questions FROM rooms WHERE id = :r) AS post_first_questions,
      (SELECT count(*) FROM room_events WHERE room_id = :r) AS events,
      (SELECT count(*) FROM documents WHERE room_id = :r) AS documents,
      (SELECT count(*) FROM participants WHERE room_id = :r) AS participants,
      (SELECT count(*) FROM participants WHERE room_id = :r AND removed_at IS NOT NULL)
        AS removed,
      (SELECT count(*) FROM audit_log WHERE room_id = :r) AS audit
    """
)


@dataclass
class World:
    server: RunningServer
    a: CreatedRoom
    b: CreatedRoom
    fay: Person  # facilitator, room A
    ann: Person  # member, room A
    bob: Person  # member, room A
    otto: Person  # observer, room A
    fred: Person  # facilitator, room B
    bea: Person  # member, room B
    rex: Person  # member of room A, removed by fay
    client: int  # the Yjs client whose text is in room A's document "guide"
    clock: int  # that client's next clock: ids (client, 0 .. clock - 1) exist
    thread_id: int  # ann's comment thread in A
    opening_id: int  # its opening comment (ann's)
    question_id: int  # ann's question in A
    question_opening_id: int
    answer_id: int  # bob's visible reply to the question
    deleted_id: int  # bob's deleted reply to the question
    removed_id: int  # bob's reply removed by fay
    b_thread_id: int  # bea's thread in B
    b_opening_id: int
    schema: dict[str, Any]
    # One client for the whole module: a new httpx client costs ~40 ms (TLS setup).
    http: httpx.AsyncClient

    async def call(
        self,
        person: Person,
        method: str,
        path: str,
        body: Any = NO_JSON,
        *,
        content: bytes | None = None,
        content_type: str | None = None,
    ) -> httpx.Response:
        """A request as ``person``; ``body`` is sent as JSON (lone surrogates \\u-escaped)."""
        headers = {"authorization": f"Bearer {person.token}"}
        if body is not NO_JSON:
            content = json.dumps(body).encode()
            content_type = content_type or "application/json"
        if content_type is not None:
            headers["content-type"] = content_type
        url = f"/api/rooms/{person.room}{path}"
        return await self.http.request(method, url, content=content, headers=headers)

    async def ok(
        self, person: Person, method: str, path: str, body: Any = NO_JSON, status: int = 200
    ) -> Any:
        response = await self.call(person, method, path, body)
        assert response.status_code == status, (response.status_code, response.text)
        assert response.headers["content-type"] == "application/json"
        return response.json()

    async def start(self, person: Person, body: str, **fields: Any) -> dict[str, Any]:
        thread: dict[str, Any] = (
            await self.ok(person, "POST", "/threads", {"body": body, **fields}, 201)
        )["thread"]
        return thread

    async def reply(self, person: Person, thread_id: int, body: str) -> dict[str, Any]:
        data: dict[str, Any] = await self.ok(
            person, "POST", f"/threads/{thread_id}/comments", {"body": body}, 201
        )
        return data

    async def thread(self, person: Person, thread_id: int) -> dict[str, Any]:
        thread: dict[str, Any] = (await self.ok(person, "GET", f"/threads/{thread_id}"))["thread"]
        return thread

    async def join(self, room: CreatedRoom, role: Role, name: str) -> Person:
        response = await self.http.post(
            "/api/join", json={"invite": room.invites[role], "name": name}
        )
        assert response.status_code == 200, response.text
        data = response.json()
        return Person(
            self.server.http, room.room.slug, data["token"], data["participant"]["id"], name, role
        )

    def validator(self, schema: dict[str, Any]) -> Any:
        """A Draft 2020-12 validator for ``schema``, resolving ``#/components/...``."""
        wrapper = {**schema, "components": self.schema["components"]}
        return jsonschema.Draft202012Validator(
            wrapper, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
        )

    def valid_anchor(self, quote: str = "quick brown") -> dict[str, str]:
        return {
            "start": b64(item_position(self.client, 4)),
            "end": b64(item_position(self.client, 14, ASSOC_BEFORE)),
            "quote": quote,
        }

    async def db(self) -> dict[str, Any]:
        """A fingerprint of everything a thread request could write, for both rooms.

        Any insert changes a count or a highest id; any update of a thread or comment
        changes its activity or edit time, state, lock, status, answer or reply count.
        """
        state: dict[str, Any] = {}
        async with self.server.app_state.store.engine.connect() as conn:
            for room in (self.a, self.b):
                row = (await conn.execute(_FINGERPRINT, {"r": room.room.id})).one()
                state[room.room.slug] = row._asdict()
        for room in (self.a, self.b):
            seq = await self.server.app_state.store.last_event_seq(room.room.id)
            state[f"{room.room.slug}/last_event_seq"] = seq
        return state

    async def stored_body(self, comment_id: int) -> str:
        async with self.server.app_state.store.engine.connect() as conn:
            body = await conn.scalar(
                text("SELECT body FROM comments WHERE id = :c"), {"c": comment_id}
            )
        assert isinstance(body, str)
        return body


def check_error(w: World, response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    w.validator({"$ref": "#/components/schemas/Error"}).validate(body)
    assert body["error"]["code"] == code, body
    assert body["error"]["message"]


async def refused(
    w: World, send: Callable[[], Awaitable[httpx.Response]], status: int, code: str
) -> None:
    """``send()`` is refused with ``status``/``code`` and changes nothing in the database."""
    before = await w.db()
    response = await send()
    check_error(w, response, status, code)
    assert await w.db() == before, "a refused request changed the database"


async def created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    assert response.headers["content-type"] == "application/json"
    data: dict[str, Any] = response.json()
    return data


# The shared server and rooms


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    path: Path = tmp_path_factory.mktemp("threads-bad-input") / "roundtable.db"
    settings = fast_settings(f"sqlite+aiosqlite:///{path}")
    async with run_server(settings) as server, _world(server) as built:
        yield built


@asynccontextmanager
async def _world(server: RunningServer) -> AsyncIterator[World]:
    """Two rooms, their people, a document with text, and a few threads."""
    a = await server.create_room("Room A")
    b = await server.create_room("Room B")
    fay = await join(server, a, Role.FACILITATOR, "Fay")
    ann = await join(server, a, Role.MEMBER, "Ann")
    bob = await join(server, a, Role.MEMBER, "Bob")
    otto = await join(server, a, Role.OBSERVER, "Otto")
    fred = await join(server, b, Role.FACILITATOR, "Fred")
    bea = await join(server, b, Role.MEMBER, "Bea")

    # Content in room A's document "guide", typed by a y-websocket client into the
    # XmlFragment "default" as TipTap would; and an empty document "empty".
    editor = await open_synced(server.sync_url(a.room.slug) + "/guide", ann.token)
    fragment = editor.doc.get("default", type=XmlFragment)
    paragraph = fragment.children.append(XmlElement("paragraph"))
    paragraph.children.append(XmlText(GUIDE_TEXT))
    client = editor.doc.client_id
    clock = decode_state_vector(editor.doc.get_state())[client]
    # element (clock 0), text type (1), one clock per character (2 ..)
    assert clock == 2 + len(GUIDE_TEXT)

    def server_holds_it() -> bool:
        for live in server.app_state.hub.documents.values():
            if live.info.room_id == a.room.id and live.info.name == "guide":
                held = decode_state_vector(live.sync.state_vector())
                return held.get(client, 0) >= clock
        return False

    await eventually(server_holds_it, what="the server to hold the guide's text")
    await editor.close()
    await server.app_state.hub.flush_all()
    await server.app_state.store.create_document(a.room.id, "empty")

    thread = await ann.start("A comment on the room")
    question = await ann.start("Why is the sky blue?", kind="question")
    answer = await bob.reply(question["id"], "Rayleigh scattering")
    deleted = await bob.reply(question["id"], "Oops, wrong thread")
    await bob.ok("DELETE", f"/comments/{deleted['comment']['id']}")
    removed = await bob.reply(question["id"], "Off topic")
    await fay.ok("POST", f"/comments/{removed['comment']['id']}/moderation", {"action": "remove"})
    b_thread = await bea.start("Room B talk")
    rex = await join(server, a, Role.MEMBER, "Rex")
    await fay.ok("DELETE", f"/participants/{rex.id}", status=204)
    async with httpx.AsyncClient(base_url=server.http) as http:
        schema = (await http.get("/api/openapi.json")).json()

        yield World(
            server=server,
            a=a,
            b=b,
            fay=fay,
            ann=ann,
            bob=bob,
            otto=otto,
            fred=fred,
            bea=bea,
            client=client,
            clock=clock,
            thread_id=thread["id"],
            opening_id=thread["comments"][0]["id"],
            question_id=question["id"],
            question_opening_id=question["comments"][0]["id"],
            answer_id=answer["comment"]["id"],
            deleted_id=deleted["comment"]["id"],
            removed_id=removed["comment"]["id"],
            b_thread_id=b_thread["id"],
            b_opening_id=b_thread["comments"][0]["id"],
            rex=rex,
            schema=schema,
            http=http,
        )


async def test_fingerprint_sees_every_kind_of_write(world: World) -> None:
    """The oracle itself: each accepted change of a thread shows in ``World.db``."""
    own = await world.start(world.ann, "Fingerprint check")
    opening = own["comments"][0]["id"]
    reply = (await world.reply(world.bob, own["id"], "A reply"))["comment"]["id"]
    changes: list[tuple[Person, str, str, Any]] = [
        (world.ann, "PATCH", f"/comments/{opening}", {"body": "Fingerprint check!"}),
        (world.ann, "PUT", f"/comments/{reply}/reactions/aha", NO_JSON),
        (world.ann, "DELETE", f"/comments/{reply}/reactions/aha", NO_JSON),
        (world.fay, "POST", f"/comments/{reply}/moderation", {"action": "hide"}),
        (world.fay, "PATCH", f"/threads/{own['id']}", {"locked": True}),
        (world.fay, "PATCH", f"/threads/{own['id']}", {"locked": False}),
        (world.ann, "PATCH", f"/threads/{own['id']}", {"status": "resolved"}),
        (world.fay, "PATCH", "/settings", {"post_first_questions": True}),
        (world.fay, "PATCH", "/settings", {"post_first_questions": False}),
        (world.bob, "DELETE", f"/comments/{reply}", NO_JSON),
    ]
    for person, method, path, body in changes:
        before = await world.db()
        await world.ok(person, method, path, body)
        after = await world.db()
        assert after != before, (method, path)
        room = world.a.room.slug
        assert after[f"{room}/last_event_seq"] > before[f"{room}/last_event_seq"]


# Bodies


BAD_BODIES: dict[str, Any] = {
    "missing": MISSING,
    "null": None,
    "empty": "",
    "whitespace only": " \n\t \r\n ",
    "number": 5,
    "boolean": True,
    "list": ["hi"],
    "object": {"text": "hi"},
    "10,001 characters": "x" * 10_001,
    "10,001 characters after CRLF normalisation": "x" * 9_999 + "\r\n" + "y",
    "NUL": "a\x00b",
    "BEL": "ring \x07 ring",
    "ESC": "\x1b[31mred\x1b[0m",
    "DEL": "a\x7fb",
    "lone CR": "a\rb",
    "C1 control NEL": "a\x85b",
    "bidi override U+202E": "file\u202etxt.exe",
    "bidi embedding U+202A": "a\u202ab",
    "bidi isolate U+2066": "a\u2066b\u2069",
    "lone surrogate": "a\ud800b",
}

GOOD_BODIES: dict[str, tuple[str, str]] = {
    "newlines and tabs": ("line 1\n\tline 2\n\nline 4", "line 1\n\tline 2\n\nline 4"),
    "emoji with ZWJ": (
        "👩\u200d💻 pairs with 👨\u200d👩\u200d👧",
        "👩\u200d💻 pairs with 👨\u200d👩\u200d👧",
    ),
    "CRLF normalised": ("one\r\ntwo\r\n\r\nthree", "one\ntwo\n\nthree"),
    "surrounding whitespace trimmed": ("  \n hello \t\n", "hello"),
    "10,000 characters": ("y" * 10_000, "y" * 10_000),
    "10,000 characters after CRLF normalisation": (
        "x" * 9_998 + "\r\n" + "y",
        "x" * 9_998 + "\ny",
    ),
    "10,000 astral characters, \\u-escaped": ("😀" * 10_000, "😀" * 10_000),
    "non-Latin scripts": ("Ωμέγα · 漢字 · עברית · العربية", "Ωμέγα · 漢字 · עברית · العربية"),
}


async def _send_body(w: World, target: str, fields: dict[str, Any], thread_id: int = 0) -> Any:
    """Send ``fields`` to one of the three routes that take a comment body."""
    if target == "create":
        return await w.call(w.ann, "POST", "/threads", fields)
    if target == "reply":
        return await w.call(w.ann, "POST", f"/threads/{thread_id or w.thread_id}/comments", fields)
    comment_id = w.opening_id
    if thread_id:
        comment_id = (await w.thread(w.ann, thread_id))["comments"][0]["id"]
    return await w.call(w.ann, "PATCH", f"/comments/{comment_id}", fields)


@pytest.mark.parametrize("target", ["create", "reply", "edit"])
@pytest.mark.parametrize("case", list(BAD_BODIES))
async def test_bad_body_is_refused(world: World, target: str, case: str) -> None:
    value = BAD_BODIES[case]
    fields = {} if value is MISSING else {"body": value}
    await refused(world, lambda: _send_body(world, target, fields), 422, "invalid_body")


@pytest.mark.parametrize("target", ["create", "reply", "edit"])
@pytest.mark.parametrize("case", list(GOOD_BODIES))
async def test_good_body_is_kept(world: World, target: str, case: str) -> None:
    sent, stored = GOOD_BODIES[case]
    own = (await world.start(world.ann, "Scratch thread"))["id"]
    response = await _send_body(world, target, {"body": sent}, own)
    assert response.status_code == (200 if target == "edit" else 201), response.text
    data = response.json()
    comment = data["comment"] if target != "create" else data["thread"]["comments"][0]
    assert comment["body"] == stored
    thread = await world.thread(world.ann, data["thread"]["id"])
    assert thread["comments"][-1 if target == "reply" else 0]["body"] == stored
    assert await world.stored_body(comment["id"]) == stored


# HTML and script payloads are text


PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '"><svg/onload=alert(document.cookie)>',
    "&lt;b&gt;already escaped&lt;/b&gt; &amp; &#x3C;",
    '<a href="javascript:alert(1)">click</a>',
    "{{constructor.constructor('alert(1)')()}}",
    "'; DROP TABLE comments; --",
]


@pytest.mark.parametrize("payload", PAYLOADS)
async def test_markup_is_stored_and_returned_verbatim(world: World, payload: str) -> None:
    mallory = await world.join(world.a, Role.MEMBER, payload)
    response = await world.call(
        mallory,
        "POST",
        "/threads",
        {"body": payload, "document": "guide", "anchor": world.valid_anchor(payload)},
    )
    thread = (await created(response))["thread"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert thread["author"]["name"] == payload
    assert thread["anchor"]["quote"] == payload
    assert thread["comments"][0]["body"] == payload
    assert thread["comments"][0]["author"]["name"] == payload
    assert await world.stored_body(thread["comments"][0]["id"]) == payload

    reply = await created(
        await world.call(
            mallory, "POST", f"/threads/{thread['id']}/comments", {"body": payload + payload}
        )
    )
    assert reply["comment"]["body"] == payload + payload
    edited = await world.call(
        mallory, "PATCH", f"/comments/{reply['comment']['id']}", {"body": f"edited {payload}"}
    )
    assert edited.status_code == 200
    assert edited.json()["comment"]["body"] == f"edited {payload}"

    for path in (f"/threads/{thread['id']}", "/threads?limit=100", "/participants"):
        read = await world.call(world.bob, "GET", path)
        assert read.status_code == 200
        assert read.headers["content-type"] == "application/json"
        assert payload in _strings(read.json())
    seen = await world.thread(world.bob, thread["id"])
    assert seen["anchor"]["quote"] == payload
    assert [c["body"] for c in seen["comments"]] == [payload, f"edited {payload}"]
    people = (await world.ok(world.bob, "GET", "/participants"))["participants"]
    assert {"id": mallory.id, "name": payload, "role": "member", "guest": True} in people


def _strings(value: Any) -> set[str]:
    """Every string anywhere in a JSON value."""
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return set().union(*(_strings(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_strings(v) for v in value))
    return set()


# Request shape


def _shape_targets(w: World) -> dict[str, tuple[Person, str, str, dict[str, Any]]]:
    """Every route that reads a JSON body, with a body it would accept."""
    return {
        "create thread": (w.ann, "POST", "/threads", {"body": "hi"}),
        "reply": (w.ann, "POST", f"/threads/{w.thread_id}/comments", {"body": "hi"}),
        "edit": (w.ann, "PATCH", f"/comments/{w.opening_id}", {"body": "hi"}),
        "update thread": (w.ann, "PATCH", f"/threads/{w.thread_id}", {"status": "resolved"}),
        "settings": (w.fay, "PATCH", "/settings", {"observers_can_ask": True}),
        "moderation": (w.fay, "POST", f"/comments/{w.answer_id}/moderation", {"action": "hide"}),
    }


GOOD_JSON = b'{"body": "hi", "status": "resolved", "observers_can_ask": true, "action": "hide"}'
NESTED = 50_000

SHAPES: dict[str, tuple[bytes, str | None, int, str]] = {
    "text/plain": (GOOD_JSON, "text/plain", 415, "unsupported_media_type"),
    "no content type": (GOOD_JSON, None, 415, "unsupported_media_type"),
    "form": (b"body=hi", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
    "multipart": (
        b'--x\r\nContent-Disposition: form-data; name="body"\r\n\r\nhi\r\n--x--\r\n',
        "multipart/form-data; boundary=x",
        415,
        "unsupported_media_type",
    ),
    "JSON as text/json": (GOOD_JSON, "text/json", 415, "unsupported_media_type"),
    "empty body": (b"", "application/json", 400, "invalid_json"),
    "truncated JSON": (b'{"body": "hi"', "application/json", 400, "invalid_json"),
    "single quotes": (b"{'body': 'hi'}", "application/json", 400, "invalid_json"),
    "trailing comma": (b'{"body": "hi",}', "application/json", 400, "invalid_json"),
    "invalid UTF-8": (b'{"body": "\xff\xfe"}', "application/json", 400, "invalid_json"),
    "JSON array": (b'[{"body": "hi"}]', "application/json", 400, "invalid_json"),
    "JSON string": (b'"hi"', "application/json", 400, "invalid_json"),
    "JSON number": (b"42", "application/json", 400, "invalid_json"),
    "JSON null": (b"null", "application/json", 400, "invalid_json"),
    "over 256 KiB": (
        b'{"body": "' + b"x" * MAX_BODY_BYTES + b'"}',
        "application/json",
        413,
        "body_too_large",
    ),
}


@pytest.mark.parametrize(
    "target", ["create thread", "reply", "edit", "update thread", "settings", "moderation"]
)
@pytest.mark.parametrize("shape", list(SHAPES))
async def test_request_shape_is_refused(world: World, target: str, shape: str) -> None:
    person, method, path, _ = _shape_targets(world)[target]
    content, content_type, status, code = SHAPES[shape]
    await refused(
        world,
        lambda: world.call(person, method, path, content=content, content_type=content_type),
        status,
        code,
    )


@pytest.mark.parametrize("target", ["create thread", "update thread"])
async def test_deeply_nested_json_is_refused(world: World, target: str) -> None:
    person, method, path, _ = _shape_targets(world)[target]
    content = b'{"body": "hi", "x": ' + b"[" * NESTED + b"]" * NESTED + b"}"
    assert len(content) < MAX_BODY_BYTES
    await refused(
        world,
        lambda: world.call(person, method, path, content=content, content_type="application/json"),
        400,
        "invalid_json",
    )


async def test_body_size_limit_is_exact(world: World) -> None:
    """A body of exactly 256 KiB is parsed (then refused as too long); one byte more is 413."""
    prefix, suffix = b'{"body": "', b'"}'
    filler = MAX_BODY_BYTES - len(prefix) - len(suffix)
    exact = prefix + b"x" * filler + suffix
    assert len(exact) == MAX_BODY_BYTES
    path = f"/threads/{world.thread_id}/comments"
    await refused(
        world,
        lambda: world.call(world.ann, "POST", path, content=exact, content_type="application/json"),
        422,
        "invalid_body",
    )
    over = prefix + b"x" * (filler + 1) + suffix
    await refused(
        world,
        lambda: world.call(world.ann, "POST", path, content=over, content_type="application/json"),
        413,
        "body_too_large",
    )


async def test_json_with_charset_is_accepted(world: World) -> None:
    response = await world.call(
        world.ann,
        "POST",
        "/threads",
        content='{"body": "ünïcödé"}'.encode(),
        content_type="application/json; charset=utf-8",
    )
    assert (await created(response))["thread"]["comments"][0]["body"] == "ünïcödé"


# Wrong fields and types


def _create_cases() -> list[Any]:
    cases = {
        "kind 5": ({"kind": 5}, 422, "invalid_kind"),
        "kind capitalised": ({"kind": "Question"}, 422, "invalid_kind"),
        "kind null": ({"kind": None}, 422, "invalid_kind"),
        "kind list": ({"kind": ["comment"]}, 422, "invalid_kind"),
        "anonymous 'yes'": ({"kind": "question", "anonymous": "yes"}, 422, "invalid_anonymous"),
        "anonymous 1": ({"kind": "question", "anonymous": 1}, 422, "invalid_anonymous"),
        "anonymous comment": ({"anonymous": True}, 422, "invalid_anonymous"),
        "post_first on a comment": ({"post_first": True}, 422, "invalid_post_first"),
        "post_first false on a comment": ({"post_first": False}, 422, "invalid_post_first"),
        "post_first 'yes'": ({"kind": "question", "post_first": "yes"}, 422, "invalid_post_first"),
        "mentions as a string": ({"mentions": "ann"}, 422, "invalid_mentions"),
        "document 5": ({"document": 5}, 422, "invalid_document"),
    }
    return [pytest.param(*v, id=k) for k, v in cases.items()]


@pytest.mark.parametrize(("fields", "status", "code"), _create_cases())
async def test_create_with_wrong_types_is_refused(
    world: World, fields: dict[str, Any], status: int, code: str
) -> None:
    body = {"body": "hello", **fields}
    await refused(world, lambda: world.call(world.ann, "POST", "/threads", body), status, code)


@pytest.mark.parametrize(
    ("who", "fields", "code"),
    [
        pytest.param(
            "fay",
            {"kind": "question", "anonymous": True},
            "invalid_anonymous",
            id="facilitator asks anonymously",
        ),
        pytest.param("otto", {}, "forbidden", id="observer comments"),
        pytest.param("otto", {"kind": "question"}, "forbidden", id="observer asks, not allowed"),
    ],
)
async def test_create_refused_for_role(
    world: World, who: str, fields: dict[str, Any], code: str
) -> None:
    person: Person = getattr(world, who)
    status = 403 if code == "forbidden" else 422
    body = {"body": "hello", **fields}
    await refused(world, lambda: world.call(person, "POST", "/threads", body), status, code)


def _update_cases() -> list[Any]:
    # (thread: "comment" | "question" | "b", body, status, code); the body may name
    # comments by fixture attribute, resolved in the test.
    cases: dict[str, tuple[str, dict[str, Any], int, str]] = {
        "unknown field": ("comment", {"title": "x"}, 422, "invalid_change"),
        "unknown field beside a known one": (
            "comment",
            {"status": "resolved", "pinned": True},
            422,
            "invalid_change",
        ),
        "empty": ("comment", {}, 422, "invalid_change"),
        "status bogus": ("comment", {"status": "closed"}, 422, "invalid_status"),
        "status null": ("comment", {"status": None}, 422, "invalid_status"),
        "status list": ("comment", {"status": ["open"]}, 422, "invalid_status"),
        "locked 'yes'": ("comment", {"locked": "yes"}, 422, "invalid_locked"),
        "locked 1": ("comment", {"locked": 1}, 422, "invalid_locked"),
        "resolve with a bad lock": (
            "comment",
            {"status": "resolved", "locked": "yes"},
            422,
            "invalid_locked",
        ),
        "accept on a comment thread": (
            "comment",
            {"accepted_comment_id": "@opening_id"},
            422,
            "not_a_question",
        ),
        "accept 'x'": (
            "question",
            {"accepted_comment_id": "x"},
            422,
            "invalid_accepted_comment_id",
        ),
        "accept true": (
            "question",
            {"accepted_comment_id": True},
            422,
            "invalid_accepted_comment_id",
        ),
        "accept -1": ("question", {"accepted_comment_id": -1}, 422, "invalid_accepted_comment_id"),
        "accept 0": ("question", {"accepted_comment_id": 0}, 422, "invalid_accepted_comment_id"),
        "accept 1.5": (
            "question",
            {"accepted_comment_id": 1.5},
            422,
            "invalid_accepted_comment_id",
        ),
        "accept id as a string": (
            "question",
            {"accepted_comment_id": "@@answer_id"},
            422,
            "invalid_accepted_comment_id",
        ),
        "accept 2**63": (
            "question",
            {"accepted_comment_id": 2**63},
            422,
            "invalid_accepted_comment_id",
        ),
        "accept the question itself": (
            "question",
            {"accepted_comment_id": "@question_opening_id"},
            422,
            "invalid_answer",
        ),
        "accept a comment of another thread": (
            "question",
            {"accepted_comment_id": "@opening_id"},
            422,
            "invalid_answer",
        ),
        "accept a comment of another room": (
            "question",
            {"accepted_comment_id": "@b_opening_id"},
            422,
            "invalid_answer",
        ),
        "accept an unknown comment": (
            "question",
            {"accepted_comment_id": 10**12},
            422,
            "invalid_answer",
        ),
        "accept a deleted reply": (
            "question",
            {"accepted_comment_id": "@deleted_id"},
            409,
            "invalid_answer",
        ),
        "accept a removed reply": (
            "question",
            {"accepted_comment_id": "@removed_id"},
            409,
            "invalid_answer",
        ),
        "resolve and accept 'x'": (
            "question",
            {"status": "resolved", "accepted_comment_id": "x"},
            422,
            "invalid_accepted_comment_id",
        ),
    }
    return [pytest.param(*v, id=k) for k, v in cases.items()]


def _resolve(w: World, value: Any) -> Any:
    if isinstance(value, str) and value.startswith("@@"):
        return str(getattr(w, value[2:]))
    if isinstance(value, str) and value.startswith("@"):
        return getattr(w, value[1:])
    return value


@pytest.mark.parametrize(("thread", "body", "status", "code"), _update_cases())
async def test_update_thread_refused(
    world: World, thread: str, body: dict[str, Any], status: int, code: str
) -> None:
    thread_id = world.thread_id if thread == "comment" else world.question_id
    fields = {k: _resolve(world, v) for k, v in body.items()}
    # The facilitator may do every change, so only the input decides.
    await refused(
        world, lambda: world.call(world.fay, "PATCH", f"/threads/{thread_id}", fields), status, code
    )


@pytest.mark.parametrize(
    ("body", "code"),
    [
        pytest.param({"theme": "dark"}, "invalid_change", id="unknown setting"),
        pytest.param({"observers_can_ask": True, "x": 1}, "invalid_change", id="known + unknown"),
        pytest.param({}, "invalid_change", id="empty"),
        pytest.param({"observers_can_ask": "yes"}, "invalid_observers_can_ask", id="string"),
        pytest.param({"post_first_questions": 1}, "invalid_post_first_questions", id="number"),
        pytest.param(
            {"observers_can_ask": True, "post_first_questions": "no"},
            "invalid_post_first_questions",
            id="one good, one bad",
        ),
    ],
)
async def test_update_settings_refused(world: World, body: dict[str, Any], code: str) -> None:
    await refused(world, lambda: world.call(world.fay, "PATCH", "/settings", body), 422, code)


async def test_member_cannot_change_settings(world: World) -> None:
    body = {"observers_can_ask": True}
    await refused(
        world, lambda: world.call(world.ann, "PATCH", "/settings", body), 403, "forbidden"
    )


@pytest.mark.parametrize("target", ["thread", "settings"])
async def test_null_flag_in_patch_is_refused(world: World, target: str) -> None:
    if target == "thread":
        path, body, code = f"/threads/{world.thread_id}", {"locked": None}, "invalid_locked"
    else:
        path, body, code = "/settings", {"observers_can_ask": None}, "invalid_observers_can_ask"
    await refused(world, lambda: world.call(world.fay, "PATCH", path, body), 422, code)


@pytest.mark.parametrize(
    ("action", "status", "code"),
    [
        pytest.param("delete", 422, "invalid_action", id="unknown action"),
        pytest.param(None, 422, "invalid_action", id="missing action"),
        pytest.param(["hide"], 422, "invalid_action", id="list"),
        pytest.param("unhide", 409, "invalid_state", id="unhide a visible comment"),
    ],
)
async def test_moderation_refused(world: World, action: Any, status: int, code: str) -> None:
    body = {} if action is None else {"action": action}
    path = f"/comments/{world.answer_id}/moderation"
    await refused(world, lambda: world.call(world.fay, "POST", path, body), status, code)


# Ids, rooms and tokens


def _missing_cases() -> list[Any]:
    missing = 987_654_321
    cases = {
        "get thread": ("GET", f"/threads/{missing}", NO_JSON, "unknown_thread"),
        "patch thread": ("PATCH", f"/threads/{missing}", {"status": "resolved"}, "unknown_thread"),
        "reply": ("POST", f"/threads/{missing}/comments", {"body": "hi"}, "unknown_thread"),
        "edit": ("PATCH", f"/comments/{missing}", {"body": "hi"}, "unknown_comment"),
        "delete": ("DELETE", f"/comments/{missing}", NO_JSON, "unknown_comment"),
        "moderate": (
            "POST",
            f"/comments/{missing}/moderation",
            {"action": "hide"},
            "unknown_comment",
        ),
        "react": ("PUT", f"/comments/{missing}/reactions/aha", NO_JSON, "unknown_comment"),
        "unreact": ("DELETE", f"/comments/{missing}/reactions/aha", NO_JSON, "unknown_comment"),
        "largest id": ("GET", f"/threads/{2**63 - 1}", NO_JSON, "unknown_thread"),
    }
    return [pytest.param(*v, id=k) for k, v in cases.items()]


@pytest.mark.parametrize(("method", "path", "body", "code"), _missing_cases())
async def test_unknown_id_is_404(
    world: World, method: str, path: str, body: Any, code: str
) -> None:
    await refused(world, lambda: world.call(world.fay, method, path, body), 404, code)


def _other_room_cases() -> list[Any]:
    # Room B people on room B's URL, naming room A's threads and comments.
    cases = {
        "get thread": ("bea", "GET", "/threads/{thread_id}", NO_JSON, "unknown_thread"),
        "patch thread": (
            "fred",
            "PATCH",
            "/threads/{thread_id}",
            {"status": "resolved"},
            "unknown_thread",
        ),
        "accept in a question": (
            "fred",
            "PATCH",
            "/threads/{question_id}",
            {"accepted_comment_id": 1},
            "unknown_thread",
        ),
        "reply": ("bea", "POST", "/threads/{thread_id}/comments", {"body": "hi"}, "unknown_thread"),
        "edit": ("bea", "PATCH", "/comments/{opening_id}", {"body": "hi"}, "unknown_comment"),
        "delete": ("bea", "DELETE", "/comments/{opening_id}", NO_JSON, "unknown_comment"),
        "moderate": (
            "fred",
            "POST",
            "/comments/{opening_id}/moderation",
            {"action": "remove"},
            "unknown_comment",
        ),
        "react": ("bea", "PUT", "/comments/{opening_id}/reactions/aha", NO_JSON, "unknown_comment"),
        "unreact": (
            "bea",
            "DELETE",
            "/comments/{answer_id}/reactions/aha",
            NO_JSON,
            "unknown_comment",
        ),
    }
    return [pytest.param(*v, id=k) for k, v in cases.items()]


@pytest.mark.parametrize(("who", "method", "path", "body", "code"), _other_room_cases())
async def test_ids_of_another_room_are_404(
    world: World, who: str, method: str, path: str, body: Any, code: str
) -> None:
    person: Person = getattr(world, who)
    url = re.sub(r"\{(\w+)\}", lambda m: str(getattr(world, m.group(1))), path)
    await refused(world, lambda: world.call(person, method, url, body), 404, code)


ROUTES_WITH_BODIES: list[tuple[str, str, Any]] = [
    ("GET", "/threads", NO_JSON),
    ("POST", "/threads", {"body": "hi"}),
    ("GET", "/threads/{b_thread_id}", NO_JSON),
    ("PATCH", "/threads/{b_thread_id}", {"status": "resolved"}),
    ("POST", "/threads/{b_thread_id}/comments", {"body": "hi"}),
    ("PATCH", "/comments/{b_opening_id}", {"body": "hi"}),
    ("DELETE", "/comments/{b_opening_id}", NO_JSON),
    ("POST", "/comments/{b_opening_id}/moderation", {"action": "remove"}),
    ("PUT", "/comments/{b_opening_id}/reactions/aha", NO_JSON),
    ("GET", "/mentions", NO_JSON),
    ("GET", "/participants", NO_JSON),
    ("GET", "/settings", NO_JSON),
    ("PATCH", "/settings", {"observers_can_ask": True}),
]


@pytest.mark.parametrize(
    ("method", "path", "body"), [pytest.param(*r, id=f"{r[0]} {r[1]}") for r in ROUTES_WITH_BODIES]
)
async def test_token_of_room_a_on_room_b_is_403(
    world: World, method: str, path: str, body: Any
) -> None:
    url = re.sub(r"\{(\w+)\}", lambda m: str(getattr(world, m.group(1))), path)
    intruder = replace(world.fay, room=world.b.room.slug)
    await refused(world, lambda: world.call(intruder, method, url, body), 403, "forbidden")


@pytest.mark.parametrize(
    ("method", "path", "body"), [pytest.param(*r, id=f"{r[0]} {r[1]}") for r in ROUTES_WITH_BODIES]
)
async def test_token_of_a_removed_participant_is_403(
    world: World, method: str, path: str, body: Any
) -> None:
    # the same routes, on room A's own thread and comment
    own = {"b_thread_id": world.thread_id, "b_opening_id": world.opening_id}
    url = re.sub(r"\{(\w+)\}", lambda m: str(own[m.group(1)]), path)
    await refused(world, lambda: world.call(world.rex, method, url, body), 403, "removed")


def _tokens(w: World) -> dict[str, str | None]:
    secret = w.server.settings.secret_key
    assert secret
    now = int(time.time())
    claims = {
        "iss": "roundtable",
        "sub": w.fay.id,
        "room": w.a.room.slug,
        "role": "facilitator",
        "name": "Fay",
        "iat": now,
        "exp": now + 3600,
    }
    header, _, signature = w.ann.token.split(".")
    promoted = base64.urlsafe_b64encode(json.dumps({**claims, "sub": w.ann.id}).encode()).rstrip(
        b"="
    )
    return {
        "no header": None,
        "empty bearer": "Bearer",
        "basic scheme": "Basic " + base64.b64encode(b"fay:secret").decode(),
        "raw token without scheme": jwt.encode(claims, secret, algorithm="HS256"),
        "garbage": "Bearer not-a-token",
        "signed with another secret": "Bearer "
        + jwt.encode(claims, "another-secret-that-is-long-enough-0123456789", algorithm="HS256"),
        "payload swapped, signature kept": f"Bearer {header}.{promoted.decode()}.{signature}",
        "alg none": "Bearer "
        + base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
        + "."
        + base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
        + ".",
        "expired": "Bearer "
        + jwt.encode({**claims, "iat": now - 7200, "exp": now - 3600}, secret, algorithm="HS256"),
        "wrong issuer": "Bearer " + jwt.encode({**claims, "iss": "x"}, secret, algorithm="HS256"),
        "unknown role": "Bearer "
        + jwt.encode({**claims, "role": "admin"}, secret, algorithm="HS256"),
        "no room claim": "Bearer "
        + jwt.encode({k: v for k, v in claims.items() if k != "room"}, secret, algorithm="HS256"),
    }


TOKEN_CASES = [
    "no header",
    "empty bearer",
    "basic scheme",
    "raw token without scheme",
    "garbage",
    "signed with another secret",
    "payload swapped, signature kept",
    "alg none",
    "expired",
    "wrong issuer",
    "unknown role",
    "no room claim",
]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        pytest.param("GET", "/threads", NO_JSON, id="list"),
        pytest.param("POST", "/threads", {"body": "hi"}, id="create"),
        pytest.param("PATCH", "/settings", {"observers_can_ask": True}, id="settings"),
    ],
)
@pytest.mark.parametrize("case", TOKEN_CASES)
async def test_bad_token_is_401(world: World, case: str, method: str, path: str, body: Any) -> None:
    authorization = _tokens(world)[case]

    async def send() -> httpx.Response:
        headers = {} if authorization is None else {"authorization": authorization}
        if body is not NO_JSON:
            headers["content-type"] = "application/json"
        content = None if body is NO_JSON else json.dumps(body).encode()
        return await world.http.request(
            method, f"/api/rooms/{world.a.room.slug}{path}", content=content, headers=headers
        )

    await refused(world, send, 401, "unauthorized")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/threads/abc"),
        ("GET", "/threads/-1"),
        ("GET", "/threads/1.5"),
        ("GET", "/threads/1e3"),
        ("GET", "/threads/0x10"),
        ("GET", "/threads/%20"),
        ("PATCH", "/threads/abc"),
        ("POST", "/threads/abc/comments"),
        ("PATCH", "/comments/abc"),
        ("DELETE", "/comments/-5"),
        ("POST", "/comments/one/moderation"),
        ("PUT", "/comments/x/reactions/aha"),
        ("GET", "/nothing-here"),
    ],
)
async def test_non_integer_ids_are_json_404(world: World, method: str, path: str) -> None:
    await refused(world, lambda: world.call(world.fay, method, path), 404, "http_404")


async def test_wrong_method_is_json_405(world: World) -> None:
    await refused(world, lambda: world.call(world.fay, "PUT", "/threads"), 405, "http_405")


@pytest.mark.parametrize(
    ("method", "path", "code"),
    [
        pytest.param("GET", f"/threads/{2**63}", "unknown_thread", id="thread 2**63"),
        pytest.param("GET", "/threads/" + "9" * 30, "unknown_thread", id="thread 30 digits"),
        pytest.param("DELETE", f"/comments/{2**64}", "unknown_comment", id="comment 2**64"),
    ],
)
async def test_out_of_range_ids_are_404(world: World, method: str, path: str, code: str) -> None:
    await refused(world, lambda: world.call(world.fay, method, path), 404, code)


# Documents


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("", id="empty"),
        pytest.param("../guide", id="dot-dot"),
        pytest.param("a/b", id="slash"),
        pytest.param(".guide", id="leading dot"),
        pytest.param(" guide", id="leading space"),
        pytest.param("x" * 101, id="101 characters"),
        pytest.param("gui\x00de", id="NUL"),
        pytest.param(5, id="number"),
        pytest.param(["guide"], id="list"),
        pytest.param({"name": "guide"}, id="object"),
        pytest.param(True, id="boolean"),
    ],
)
async def test_invalid_document_name_is_422(world: World, name: Any) -> None:
    body = {"body": "hi", "document": name}
    await refused(
        world, lambda: world.call(world.ann, "POST", "/threads", body), 422, "invalid_document"
    )


async def test_document_name_with_trailing_newline_is_invalid(world: World) -> None:
    body = {"body": "hi", "document": "guide\n"}
    await refused(
        world, lambda: world.call(world.ann, "POST", "/threads", body), 422, "invalid_document"
    )


@pytest.mark.parametrize("name", ["nope", "Guide", "guides"])
async def test_unknown_document_is_404(world: World, name: str) -> None:
    body = {"body": "hi", "document": name}
    await refused(
        world, lambda: world.call(world.ann, "POST", "/threads", body), 404, "unknown_document"
    )


@pytest.mark.parametrize("document", [MISSING, None])
async def test_anchor_without_document_is_422(world: World, document: Any) -> None:
    body: dict[str, Any] = {"body": "hi", "anchor": world.valid_anchor()}
    if document is not MISSING:
        body["document"] = document
    await refused(
        world, lambda: world.call(world.ann, "POST", "/threads", body), 422, "invalid_anchor"
    )


async def test_document_thread_without_anchor_is_accepted(world: World) -> None:
    thread = await created(
        await world.call(
            world.ann, "POST", "/threads", {"body": "On the whole guide", "document": "guide"}
        )
    )
    assert thread["thread"]["document"] == "guide"
    assert thread["thread"]["anchor"] is None


# Anchors


def _bad_positions(w: World) -> dict[str, bytes]:
    c = w.client
    unknown = c + 1 if c + 1 != c else c - 1
    return {
        "empty bytes": b"",
        "garbage 07 01": b"\x07\x01",
        "kind 3": b"\x03" + var(c) + b"\x00\x00",
        "truncated kind": b"\x80",
        "truncated client": b"\x00\x80\x80",
        "missing clock": b"\x00" + var(c),
        "truncated clock": b"\x00" + var(c) + b"\x85",
        "truncated assoc": b"\x00" + var(c) + b"\x00\x80",
        "trailing bytes": item_position(c, 0) + b"\x00",
        "trailing bytes without assoc": item_position(c, 0) + b"\x00\x00\x00",
        "varuint over 53 bits": b"\x00" + b"\xff" * 8 + b"\x01\x00\x00",
        "65 bytes": root_position("d" * 62),
        "root 'text'": root_position("text"),
        "root 'Default'": root_position("Default"),
        "root with empty name": root_position(""),
        "root name not UTF-8": root_position(b"\xff\xfe"),
        "root name truncated": b"\x01\x07def",
        "unknown client": item_position(unknown, 0),
        "clock just past the end": item_position(c, w.clock),
        "huge clock": item_position(c, 2**52),
        "type of an unknown client": type_position(unknown, 1),
        "type past the end": type_position(c, w.clock + 5),
    }


BAD_POSITION_CASES = [
    "empty bytes",
    "garbage 07 01",
    "kind 3",
    "truncated kind",
    "truncated client",
    "missing clock",
    "truncated clock",
    "truncated assoc",
    "trailing bytes",
    "trailing bytes without assoc",
    "varuint over 53 bits",
    "65 bytes",
    "root 'text'",
    "root 'Default'",
    "root with empty name",
    "root name not UTF-8",
    "root name truncated",
    "unknown client",
    "clock just past the end",
    "huge clock",
    "type of an unknown client",
    "type past the end",
]


async def _anchored(w: World, anchor: Any, document: str = "guide") -> httpx.Response:
    return await w.call(
        w.ann,
        "POST",
        "/threads",
        {"body": "On this passage", "document": document, "anchor": anchor},
    )


@pytest.mark.parametrize("end", ["start", "end"])
@pytest.mark.parametrize("case", BAD_POSITION_CASES)
async def test_bad_position_is_refused(world: World, case: str, end: str) -> None:
    anchor = {**world.valid_anchor(), end: b64(_bad_positions(world)[case])}
    await refused(world, lambda: _anchored(world, anchor), 422, "invalid_anchor")


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("!!not base64!!", id="not base64"),
        pytest.param("AA=", id="bad padding"),
        pytest.param("AAA", id="missing padding"),
        pytest.param(" AAAA", id="leading space"),
        pytest.param("AAAA\n", id="newline"),
        pytest.param("-_-_", id="url-safe alphabet"),
        pytest.param("", id="empty string"),
        pytest.param(5, id="number"),
        pytest.param(None, id="null"),
        pytest.param(["AAAA"], id="list"),
        pytest.param({"b": "AAAA"}, id="object"),
    ],
)
@pytest.mark.parametrize("end", ["start", "end"])
async def test_position_that_is_not_base64_is_refused(world: World, end: str, value: Any) -> None:
    anchor = {**world.valid_anchor(), end: value}
    await refused(world, lambda: _anchored(world, anchor), 422, "invalid_anchor")


@pytest.mark.parametrize(
    "shape",
    [
        "string",
        "number",
        "list",
        "false",
        "empty object",
        "missing quote",
        "missing start",
        "missing end",
        "extra key",
    ],
)
async def test_anchor_of_wrong_shape_is_refused(world: World, shape: str) -> None:
    good = world.valid_anchor()
    anchor: Any = {
        "string": "quick brown",
        "number": 5,
        "list": [good["start"], good["end"], good["quote"]],
        "false": False,
        "empty object": {},
        "missing quote": {k: v for k, v in good.items() if k != "quote"},
        "missing start": {k: v for k, v in good.items() if k != "start"},
        "missing end": {k: v for k, v in good.items() if k != "end"},
        "extra key": {**good, "color": "yellow"},
    }[shape]
    await refused(world, lambda: _anchored(world, anchor), 422, "invalid_anchor")


@pytest.mark.parametrize(
    "quote",
    [
        pytest.param("", id="empty"),
        pytest.param("  \n ", id="whitespace"),
        pytest.param("q" * 2_001, id="2,001 characters"),
        pytest.param("a\x00b", id="NUL"),
        pytest.param("a\u202eb", id="bidi override"),
        pytest.param(5, id="number"),
        pytest.param(None, id="null"),
    ],
)
async def test_bad_quote_is_refused(world: World, quote: Any) -> None:
    # The quote is checked like a body, under its own field name.
    anchor = {**world.valid_anchor(), "quote": quote}
    await refused(world, lambda: _anchored(world, anchor), 422, "invalid_quote")


async def test_anchor_into_a_document_without_that_content_is_refused(world: World) -> None:
    # Positions that are valid in "guide" name items that "empty" does not hold.
    await refused(
        world, lambda: _anchored(world, world.valid_anchor(), "empty"), 422, "invalid_anchor"
    )


def _good_anchors(w: World) -> dict[str, tuple[bytes, bytes]]:
    """Positions as Yjs writes them (assoc 0 or -1): stored and returned byte for byte."""
    c, last = w.client, w.clock - 1
    return {
        "characters, assoc after/before": (item_position(c, 4), item_position(c, 14, ASSOC_BEFORE)),
        "first and last item": (item_position(c, 0), item_position(c, last)),
        "root 'default'": (root_position("default"), root_position("default")),
        "nested type id": (type_position(c, 1), type_position(c, 1)),
        "start and end equal": (item_position(c, 9), item_position(c, 9)),
    }


@pytest.mark.parametrize(
    "case",
    [
        "characters, assoc after/before",
        "first and last item",
        "root 'default'",
        "nested type id",
        "start and end equal",
    ],
)
async def test_valid_anchor_is_accepted_unchanged(world: World, case: str) -> None:
    start, end = _good_anchors(world)[case]
    anchor = {"start": b64(start), "end": b64(end), "quote": "quick brown"}
    thread = (await created(await _anchored(world, anchor)))["thread"]
    assert thread["anchor"] == anchor
    assert thread["document"] == "guide"
    assert (await world.thread(world.bob, thread["id"]))["anchor"] == anchor


@pytest.mark.parametrize(
    ("assoc", "stored"),
    [
        pytest.param(b"", ASSOC_AFTER, id="no assoc"),
        pytest.param(b"\x05", ASSOC_AFTER, id="assoc 5"),
        pytest.param(b"\xa4\x01", ASSOC_AFTER, id="assoc 100, two bytes"),
        pytest.param(b"\x43", ASSOC_BEFORE, id="assoc -3"),
    ],
)
async def test_other_assoc_is_stored_as_yjs_writes_it(
    world: World, assoc: bytes, stored: bytes
) -> None:
    """Yjs reads any assoc by its sign; the server keeps 0 or -1 (docs/comments.md)."""
    c = world.client
    anchor = {
        "start": b64(item_position(c, 4, assoc)),
        "end": b64(root_position("default")[:-1] + assoc),
        "quote": "quick brown",
    }
    thread = (await created(await _anchored(world, anchor)))["thread"]
    assert thread["anchor"] == {
        "start": b64(item_position(c, 4, stored)),
        "end": b64(root_position("default")[:-1] + stored),
        "quote": "quick brown",
    }


async def test_longest_quote_is_accepted(world: World) -> None:
    anchor = world.valid_anchor("q" * 2_000)
    thread = (await created(await _anchored(world, anchor)))["thread"]
    assert thread["anchor"]["quote"] == "q" * 2_000


# Mentions


def _mention_cases() -> list[Any]:
    fake = [f"00000000-0000-0000-0000-{i:012d}" for i in range(21)]
    cases: dict[str, Any] = {
        "string": "@ann",
        "object": {"id": "@ann"},
        "number items": [5],
        "null items": [None],
        "nested list": [["@ann"]],
        "unknown id": ["no-such-participant"],
        "empty id": [""],
        "another room's participant": ["@bea"],
        "a removed participant": ["@rex"],
        "one good, one of another room": ["@ann", "@bea"],
        "21 distinct ids": fake,
        "21 distinct ids, some real": ["@ann", "@bob", *fake[:19]],
    }
    return [pytest.param(v, id=k) for k, v in cases.items()]


def _people(w: World, value: Any) -> Any:
    if isinstance(value, list):
        return [_people(w, v) for v in value]
    if isinstance(value, dict):
        return {k: _people(w, v) for k, v in value.items()}
    if isinstance(value, str) and value.startswith("@"):
        person: Person = getattr(w, value[1:])
        return person.id
    return value


@pytest.mark.parametrize("target", ["create", "reply", "edit"])
@pytest.mark.parametrize("mentions", _mention_cases())
async def test_bad_mentions_are_refused(world: World, target: str, mentions: Any) -> None:
    fields = {"body": "hello @someone", "mentions": _people(world, mentions)}
    await refused(world, lambda: _send_body(world, target, fields), 422, "invalid_mentions")


@pytest.mark.parametrize("target", ["create", "reply", "edit"])
async def test_duplicate_mentions_are_collapsed(world: World, target: str) -> None:
    own = (await world.start(world.ann, "Scratch thread"))["id"]
    mentions = [world.bob.id, world.bob.id, world.fay.id, world.bob.id, *[world.fay.id] * 30]
    response = await _send_body(world, target, {"body": "hi @Bob @Fay", "mentions": mentions}, own)
    assert response.status_code in (200, 201), response.text
    data = response.json()
    comment = data["comment"] if target != "create" else data["thread"]["comments"][0]
    assert sorted(m["id"] for m in comment["mentions"]) == sorted([world.bob.id, world.fay.id])
    async with world.server.app_state.store.engine.connect() as conn:
        stored = await conn.scalar(
            text("SELECT count(*) FROM comment_mentions WHERE comment_id = :c"),
            {"c": comment["id"]},
        )
    assert stored == 2


async def test_twenty_distinct_mentions_are_accepted(world: World) -> None:
    room = await world.server.create_room("Crowded")
    host = await world.join(room, Role.MEMBER, "Host")
    crowd = [await world.join(room, Role.MEMBER, f"P{i}") for i in range(20)]
    ids = [p.id for p in crowd]
    thread = await world.start(host, "Hello all", mentions=ids)
    assert sorted(m["id"] for m in thread["comments"][0]["mentions"]) == sorted(ids)
    response = await world.call(
        host, "POST", "/threads", {"body": "again", "mentions": [*ids, host.id]}
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_mentions"


# Query parameters


def _query_cases() -> list[Any]:
    cases = {
        "unknown parameter": ("foo=1", 400, "invalid_query"),
        "unknown beside known": ("kind=comment&sort=new", 400, "invalid_query"),
        "kind bogus": ("kind=bogus", 400, "invalid_query"),
        "kind empty": ("kind=", 400, "invalid_query"),
        "status bogus": ("status=closed", 400, "invalid_query"),
        "answer_state bogus": ("answer_state=maybe", 400, "invalid_query"),
        "general yes": ("general=yes", 400, "invalid_query"),
        "mine 1": ("mine=1", 400, "invalid_query"),
        "limit 0": ("limit=0", 400, "invalid_query"),
        "limit 101": ("limit=101", 400, "invalid_query"),
        "limit abc": ("limit=abc", 400, "invalid_query"),
        "limit empty": ("limit=", 400, "invalid_query"),
        "limit -1": ("limit=-1", 400, "invalid_query"),
        "limit +5": ("limit=%2B5", 400, "invalid_query"),
        "limit 1.5": ("limit=1.5", 400, "invalid_query"),
        "limit with space": ("limit=%205", 400, "invalid_query"),
        "offset -1": ("offset=-1", 400, "invalid_query"),
        "offset over 10**9": ("offset=1000000001", 400, "invalid_query"),
        "offset abc": ("offset=abc", 400, "invalid_query"),
        "document unknown": ("document=nope", 404, "unknown_document"),
        "document invalid": ("document=..%2Fx", 422, "invalid_document"),
    }
    return [pytest.param(*v, id=k) for k, v in cases.items()]


@pytest.mark.parametrize(("query", "status", "code"), _query_cases())
async def test_bad_query_is_refused(world: World, query: str, status: int, code: str) -> None:
    await refused(world, lambda: world.call(world.ann, "GET", f"/threads?{query}"), status, code)


@pytest.mark.parametrize(
    "query",
    ["limit=0", "limit=101", "limit=abc", "offset=-1", "offset=x"],
)
async def test_bad_mentions_query_is_refused(world: World, query: str) -> None:
    await refused(
        world, lambda: world.call(world.ann, "GET", f"/mentions?{query}"), 400, "invalid_query"
    )


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/threads?limit=%C2%B2", id="threads limit=superscript two"),
        pytest.param("/threads?offset=" + "9" * 4_301, id="threads offset 4301 digits"),
        pytest.param("/mentions?limit=%C2%B2", id="mentions limit=superscript two"),
    ],
)
async def test_odd_digits_in_query_are_400(world: World, path: str) -> None:
    await refused(world, lambda: world.call(world.ann, "GET", path), 400, "invalid_query")


@pytest.mark.parametrize(
    "query",
    [
        "limit=1",
        "limit=100",
        "offset=0",
        "offset=1000000000",
        "kind=question&status=open",
        "general=true&mine=false",
        "answer_state=unanswered",
        "document=guide",
    ],
)
async def test_edge_queries_are_accepted(world: World, query: str) -> None:
    response = await world.call(world.ann, "GET", f"/threads?{query}")
    assert response.status_code == 200, response.text


# Reactions


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
@pytest.mark.parametrize("name", ["love", "AHA", "aha ", "%F0%9F%91%8D", "thanks!", "0"])
async def test_unknown_reaction_is_422(world: World, method: str, name: str) -> None:
    path = f"/comments/{world.answer_id}/reactions/{name}"
    await refused(world, lambda: world.call(world.ann, method, path), 422, "invalid_reaction")


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
@pytest.mark.parametrize("comment", ["deleted_id", "removed_id"])
async def test_reacting_to_a_deleted_comment_is_409(
    world: World, method: str, comment: str
) -> None:
    path = f"/comments/{getattr(world, comment)}/reactions/aha"
    await refused(world, lambda: world.call(world.ann, method, path), 409, "invalid_state")


async def test_observer_cannot_react(world: World) -> None:
    path = f"/comments/{world.answer_id}/reactions/aha"
    await refused(world, lambda: world.call(world.otto, "PUT", path), 403, "forbidden")


async def test_editing_or_deleting_a_deleted_comment_is_409(world: World) -> None:
    path = f"/comments/{world.deleted_id}"
    await refused(
        world, lambda: world.call(world.bob, "PATCH", path, {"body": "back"}), 409, "not_editable"
    )
    await refused(world, lambda: world.call(world.bob, "DELETE", path), 409, "already_deleted")


# Everyone else keeps working


async def test_room_keeps_working_during_and_after_bad_input(world: World) -> None:
    bad: list[Callable[[], Awaitable[httpx.Response]]] = [
        lambda: world.call(world.ann, "POST", "/threads", {"body": "\x00"}),
        lambda: world.call(
            world.ann, "POST", "/threads", content=b"{", content_type="application/json"
        ),
        lambda: world.call(world.ann, "GET", "/threads?limit=0"),
        lambda: _anchored(world, {**world.valid_anchor(), "start": b64(b"\x07\x01")}),
        lambda: world.call(world.ann, "PATCH", f"/threads/{world.thread_id}", {"x": 1}),
        lambda: world.call(world.bea, "GET", f"/threads/{world.thread_id}"),
    ] * 5
    newcomer = await world.join(world.a, Role.MEMBER, "Nia")

    results = await asyncio.gather(
        *(send() for send in bad),
        world.start(newcomer, "Still there?"),
    )
    responses, thread = results[:-1], results[-1]
    assert all(isinstance(r, httpx.Response) and 400 <= r.status_code < 500 for r in responses)
    assert isinstance(thread, dict)
    reply = await world.reply(world.bob, thread["id"], "Yes, all good")
    assert reply["thread"]["reply_count"] == 1
    for person in (world.ann, world.bob, newcomer, world.otto):
        seen = await world.thread(person, thread["id"])
        assert [c["body"] for c in seen["comments"]] == ["Still there?", "Yes, all good"]
    listing = await world.ok(newcomer, "GET", "/threads?limit=100")
    assert thread["id"] in [t["id"] for t in listing["threads"]]
    answered = await world.reply(world.bob, world.question_id, "Another answer")
    await world.ok(
        world.ann,
        "PATCH",
        f"/threads/{world.question_id}",
        {"accepted_comment_id": answered["comment"]["id"]},
    )
    b_thread = await world.thread(world.bea, world.b_thread_id)
    assert b_thread["comments"][0]["body"] == "Room B talk"


# OpenAPI


async def test_openapi_schema_is_valid(world: World) -> None:
    validate_spec(world.schema)
    assert world.schema["openapi"].startswith("3.1")


async def test_every_api_route_is_in_the_schema(world: World) -> None:
    paths = world.schema["paths"]
    seen: set[tuple[str, str]] = set()
    for route in create_app(world.server.settings).routes:
        if not isinstance(route, Route) or not route.path.startswith("/api/"):
            continue
        if route.path == "/api/openapi.json":
            assert route.path not in paths
            continue
        path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)
        assert path in paths, path
        for method in route.methods or ():
            if method != "HEAD":
                assert method.lower() in paths[path], (method, path)
                seen.add((method, path))
    expected = {
        ("POST", "/api/join"),
        ("POST", "/api/rooms"),
        ("GET", "/api/rooms/{room}/threads"),
        ("POST", "/api/rooms/{room}/threads"),
        ("GET", "/api/rooms/{room}/threads/{thread}"),
        ("PATCH", "/api/rooms/{room}/threads/{thread}"),
        ("POST", "/api/rooms/{room}/threads/{thread}/comments"),
        ("PATCH", "/api/rooms/{room}/comments/{comment}"),
        ("DELETE", "/api/rooms/{room}/comments/{comment}"),
        ("POST", "/api/rooms/{room}/comments/{comment}/moderation"),
        ("PUT", "/api/rooms/{room}/comments/{comment}/reactions/{reaction}"),
        ("DELETE", "/api/rooms/{room}/comments/{comment}/reactions/{reaction}"),
        ("GET", "/api/rooms/{room}/mentions"),
        ("GET", "/api/rooms/{room}/participants"),
        ("GET", "/api/rooms/{room}/settings"),
        ("PATCH", "/api/rooms/{room}/settings"),
    }
    assert expected <= seen, expected - seen
    for path, operations in paths.items():
        for operation in operations.values():
            assert "4XX" in operation["responses"], path
            if path.startswith("/api/rooms/{room}"):
                assert {"participant": []} in operation["security"], path
                assert any(p["name"] == "room" for p in operation["parameters"]), path


def _response_schema(w: World, method: str, path: str, status: int) -> dict[str, Any]:
    operation = w.schema["paths"][f"/api/rooms/{{room}}{path}"][method.lower()]
    response = operation["responses"][str(status)]
    if "$ref" in response:  # a shared response under components.responses
        response = w.schema["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    schema: dict[str, Any] = response["content"]["application/json"]["schema"]
    return schema


async def test_real_responses_match_the_schema(world: World) -> None:
    wes = await world.join(world.a, Role.MEMBER, "Wes")  # a member who will not answer
    people = (world.ann, world.bob, world.fay, world.otto, wes)
    question = await created(
        await world.call(
            world.ann,
            "POST",
            "/threads",
            {
                "body": "Anonymous <b>question</b> about @Bob",
                "kind": "question",
                "anonymous": True,
                "post_first": True,
                "document": "guide",
                "anchor": world.valid_anchor(),
                "mentions": [world.bob.id],
            },
        )
    )
    checks: list[tuple[str, str, int, Any]] = [("POST", "/threads", 201, question)]
    thread_id = question["thread"]["id"]
    reply = await created(
        await world.call(world.bob, "POST", f"/threads/{thread_id}/comments", {"body": "An answer"})
    )
    checks.append(("POST", "/threads/{thread}/comments", 201, reply))
    answer_id = reply["comment"]["id"]
    await world.ok(world.ann, "PUT", f"/comments/{answer_id}/reactions/thanks")
    hidden = await created(
        await world.call(world.fay, "POST", f"/threads/{thread_id}/comments", {"body": "To hide"})
    )
    moderated = await world.ok(
        world.fay, "POST", f"/comments/{hidden['comment']['id']}/moderation", {"action": "hide"}
    )
    checks.append(("POST", "/comments/{comment}/moderation", 200, moderated))
    edited = await world.ok(
        world.bob, "PATCH", f"/comments/{answer_id}", {"body": "An edited answer"}
    )
    checks.append(("PATCH", "/comments/{comment}", 200, edited))
    accepted = await world.ok(
        world.ann, "PATCH", f"/threads/{thread_id}", {"accepted_comment_id": answer_id}
    )
    checks.append(("PATCH", "/threads/{thread}", 200, accepted))
    scratch = await world.reply(world.bob, thread_id, "Deleted soon")
    deleted = await world.ok(world.bob, "DELETE", f"/comments/{scratch['comment']['id']}")
    checks.append(("DELETE", "/comments/{comment}", 200, deleted))
    for person in people:
        checks.append(
            (
                "GET",
                "/threads/{thread}",
                200,
                await world.ok(person, "GET", f"/threads/{thread_id}"),
            )
        )
        checks.append(("GET", "/threads", 200, await world.ok(person, "GET", "/threads?limit=100")))
    checks.append(("GET", "/mentions", 200, await world.ok(world.bob, "GET", "/mentions")))
    checks.append(("GET", "/participants", 200, await world.ok(world.bob, "GET", "/participants")))
    checks.append(("GET", "/settings", 200, await world.ok(world.bob, "GET", "/settings")))
    # Views that exercise the nullable parts of the schema: the anonymous asker is
    # hidden from peers, and a member who has not answered sees replies withheld.
    wes_view = await world.thread(wes, thread_id)
    assert wes_view["author"] is None
    assert wes_view["comments"][1]["state"] == "withheld"
    assert wes_view["withheld_count"] >= 1
    assert (await world.ok(world.bob, "GET", "/mentions"))["mentions"]
    for method, path, status, body in checks:
        validator = world.validator(_response_schema(world, method, path, status))
        errors = [e.message for e in validator.iter_errors(body)]
        assert not errors, (method, path, errors)
    states = {c["state"] for c in (await world.thread(world.ann, thread_id))["comments"]}
    assert states == {"visible", "hidden", "deleted"}
