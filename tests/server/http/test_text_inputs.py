"""Every text that reaches the server, over HTTP, the sockets and the CLI: a clear 4xx for
what is not text, and never a 500, a traceback, or a write.

Free text (names, titles, version names, timer labels, comment bodies, quotes) goes
through ``rooms.directory.clean_text``, document names through ``document_name`` (also
in NFC). Each field is sent a lone surrogate (JSON's ``"\\ud800"``, which
Python's ``json`` turns into a lone surrogate), a control character, a bidirectional
override, a value one character too long, and one that is too long only once in NFC:
each is a 422 JSON error, nothing in the database changes and nothing is logged as an
error. A value in decomposed form is stored composed (``"Cafe\\u0301"`` as ``"Café"``).

Codes and ids (invite codes, participant ids) are refused the same way before any
lookup. URL parts (paths, query strings) cannot carry lone surrogates (percent-encoded
invalid UTF-8 decodes to U+FFFD), but NULs, which PostgreSQL refuses, and controls can.

One server per database (SQLite, PostgreSQL) serves the whole module. Adding a field
means adding one row to ``TEXT_FIELDS``, ``CODE_FIELDS`` or ``URL_FIELDS``.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import text
from websockets.asyncio.client import connect

from rooms.directory import CreatedRoom
from rooms.roles import Role
from server.storage.store import create_engine
from server.tokens import InvalidToken, TokenSigner
from tests.support.harness import RunningServer, run_server
from tests.support.services import fresh_postgres_database
from tests.support.settings import fast_settings
from tests.support.threads_client import Person, event_connection, events_url, join
from tests.support.timing import timeout
from tests.support.yclient import YClient

pytestmark = pytest.mark.asyncio(loop_scope="module")

ROOT = Path(__file__).resolve().parents[3]
ADMIN_TOKEN = "admin-token-for-text-input-tests"
NO_BODY: Final = object()
DECOMPOSED = "Cafe\u0301 au lait"
COMPOSED = "Café au lait"
# A Yjs relative position at the end of the content root: a valid anchor in any document.
END_OF_CONTENT = "AQdkZWZhdWx0AA=="
DESSERT = "Crème brûlée"  # a document created with this (composed) name
DESSERT_DECOMPOSED_URL = "Cre%CC%80me%20bru%CC%82le%CC%81e"

# Everything a refused request could have written.
_DUMPS = {
    "rooms": "SELECT id, title, timer_label FROM rooms ORDER BY id",
    "invites": "SELECT code, revoked_at FROM invites ORDER BY code",
    "participants": "SELECT id, name, removed_at FROM participants ORDER BY id",
    "documents": "SELECT id, name, mentor_id, template FROM documents ORDER BY id",
    "versions": "SELECT id, name FROM document_versions ORDER BY id",
    "threads": "SELECT id, quote, reply_count FROM threads ORDER BY id",
    "comments": "SELECT id, body, edited_at FROM comments ORDER BY id",
    "mentions": "SELECT count(*) FROM comment_mentions",
    "audit": "SELECT count(*) FROM audit_log",
    "events": "SELECT count(*) FROM room_events",
}


class ErrorLog(logging.Handler):
    """Collects every record logged at ERROR or with a traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR or record.exc_info:
            self.records.append(record)


@dataclass
class World:
    server: RunningServer
    http: httpx.AsyncClient
    room: CreatedRoom
    fay: Person  # facilitator
    ann: Person  # member
    thread_id: int  # ann's thread
    comment_id: int  # its opening comment
    errors: ErrorLog
    names: dict[str, int] = field(default_factory=dict)

    def path(self, suffix: str) -> str:
        return f"/api/rooms/{self.room.room.slug}{suffix}"

    async def call(
        self,
        person: Person | None,
        method: str,
        path: str,
        body: Any = NO_BODY,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """A request; ``body`` goes as JSON with lone surrogates \\u-escaped, as a
        browser's JSON.stringify sends them."""
        sent = dict(headers or {})
        if person is not None:
            sent["authorization"] = f"Bearer {person.token}"
        content = None
        if body is not NO_BODY:
            content = json.dumps(body).encode()
            sent["content-type"] = "application/json"
        return await self.http.request(method, path, content=content, headers=sent)

    async def stored(self) -> dict[str, list[tuple[Any, ...]]]:
        """Everything a request could have written, table by table."""
        async with self.server.app_state.store.engine.connect() as conn:
            return {
                name: [tuple(row) for row in await conn.execute(text(sql))]
                for name, sql in _DUMPS.items()
            }

    async def scalar(self, sql: str, **params: Any) -> Any:
        async with self.server.app_state.store.engine.connect() as conn:
            return await conn.scalar(text(sql), params)

    def unique(self, base: str) -> str:
        """``base``, then ``base 2``, ``base 3``...: for names that must not repeat."""
        count = self.names[base] = self.names.get(base, 0) + 1
        return base if count == 1 else f"{base} {count}"


def check_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert error["code"] == code, error
    assert isinstance(error["message"], str) and error["message"]


async def refused(
    w: World, send: Callable[[], Awaitable[httpx.Response]], status: int, code: str
) -> None:
    """``send()`` gets ``status`` with the JSON error ``code``, changes nothing stored
    and logs no error."""
    logged = len(w.errors.records)
    before = await w.stored()
    check_error(await send(), status, code)
    assert await w.stored() == before, "a refused request changed the database"
    assert w.errors.records[logged:] == [], "the server logged an error"


# The shared server


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=["sqlite", "postgres"])
async def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[World]:
    errors = ErrorLog()
    logging.getLogger().addHandler(errors)
    async with AsyncExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('text-inputs') / 'rt.db'}"
        else:
            url = await stack.enter_async_context(fresh_postgres_database())
        server = await stack.enter_async_context(
            run_server(fast_settings(url, admin_token=ADMIN_TOKEN))
        )
        http = await stack.enter_async_context(httpx.AsyncClient(base_url=server.http))
        room = await server.create_room("Text inputs")
        fay = await join(server, room, Role.FACILITATOR, "Fay")
        ann = await join(server, room, Role.MEMBER, "Ann")
        w = World(server, http, room, fay, ann, 0, 0, errors)
        for name in ("guide", DESSERT):
            response = await w.call(fay, "POST", w.path("/documents"), {"name": name})
            assert response.status_code == 201, response.text
        thread = await ann.start("A thread to reply to")
        w.thread_id, w.comment_id = thread["id"], thread["comments"][0]["id"]
        yield w
    logging.getLogger().removeHandler(errors)
    assert errors.records == [], [r.getMessage() for r in errors.records]


# Free text: one row per field


Send = Callable[[World, str], Awaitable[httpx.Response]]


@dataclass(frozen=True)
class TextField:
    code: str  # the error code of a refusal
    max_length: int
    send: Send
    status: int  # the status of an accepted value
    shown: Callable[[Any], str]  # the value as the response shows it
    kept: Callable[[World, Any], Awaitable[str]]  # the value as the database holds it


async def _join_name(w: World, value: str) -> httpx.Response:
    body = {"invite": w.room.invites[Role.MEMBER], "name": value}
    return await w.call(None, "POST", "/api/join", body)


async def _room_title(w: World, value: str) -> httpx.Response:
    headers = {"authorization": f"Bearer {ADMIN_TOKEN}"}
    return await w.call(None, "POST", "/api/rooms", {"title": value}, headers)


async def _version_name(w: World, value: str) -> httpx.Response:
    return await w.call(w.fay, "POST", w.path("/documents/guide/versions"), {"name": value})


async def _timer_label(w: World, value: str) -> httpx.Response:
    return await w.call(w.fay, "PUT", w.path("/timer"), {"seconds": 600, "label": value})


async def _thread_body(w: World, value: str) -> httpx.Response:
    return await w.call(w.ann, "POST", w.path("/threads"), {"body": value})


async def _reply_body(w: World, value: str) -> httpx.Response:
    path = w.path(f"/threads/{w.thread_id}/comments")
    return await w.call(w.ann, "POST", path, {"body": value})


async def _edited_body(w: World, value: str) -> httpx.Response:
    return await w.call(w.ann, "PATCH", w.path(f"/comments/{w.comment_id}"), {"body": value})


async def _anchor_quote(w: World, value: str) -> httpx.Response:
    anchor = {"start": END_OF_CONTENT, "end": END_OF_CONTENT, "quote": value}
    body = {"body": "On this passage", "document": "guide", "anchor": anchor}
    return await w.call(w.ann, "POST", w.path("/threads"), body)


async def _document_name(w: World, value: str) -> httpx.Response:
    return await w.call(w.ann, "POST", w.path("/documents"), {"name": value})


def _query(sql: str, key: Callable[[World, Any], Any]) -> Callable[[World, Any], Awaitable[str]]:
    """The stored value: ``sql`` with ``:key`` from the world and the response."""

    async def kept(w: World, data: Any) -> str:
        value = await w.scalar(sql, key=key(w, data))
        assert isinstance(value, str)
        return value

    return kept


def _comment(data: Any) -> Any:
    return data["comment"] if "comment" in data else data["thread"]["comments"][0]


_COMMENT_BODY = _query("SELECT body FROM comments WHERE id = :key", lambda w, d: _comment(d)["id"])

TEXT_FIELDS: dict[str, TextField] = {
    "join name": TextField(
        "invalid_name",
        64,
        _join_name,
        200,
        lambda d: d["participant"]["name"],
        _query(
            "SELECT name FROM participants WHERE id = :key", lambda w, d: d["participant"]["id"]
        ),
    ),
    "room title": TextField(
        "invalid_title",
        200,
        _room_title,
        201,
        lambda d: d["title"],
        _query("SELECT title FROM rooms WHERE slug = :key", lambda w, d: d["room"]),
    ),
    "version name": TextField(
        "invalid_name",
        200,
        _version_name,
        201,
        lambda d: d["version"]["name"],
        _query(
            "SELECT name FROM document_versions WHERE id = :key", lambda w, d: d["version"]["id"]
        ),
    ),
    "timer label": TextField(
        "invalid_label",
        200,
        _timer_label,
        200,
        lambda d: d["timer"]["label"],
        _query("SELECT timer_label FROM rooms WHERE id = :key", lambda w, d: w.room.room.id),
    ),
    "thread body": TextField(
        "invalid_body", 10_000, _thread_body, 201, lambda d: _comment(d)["body"], _COMMENT_BODY
    ),
    "reply body": TextField(
        "invalid_body", 10_000, _reply_body, 201, lambda d: _comment(d)["body"], _COMMENT_BODY
    ),
    "edited body": TextField(
        "invalid_body", 10_000, _edited_body, 200, lambda d: _comment(d)["body"], _COMMENT_BODY
    ),
    "anchor quote": TextField(
        "invalid_quote",
        2_000,
        _anchor_quote,
        201,
        lambda d: d["thread"]["anchor"]["quote"],
        _query("SELECT quote FROM threads WHERE id = :key", lambda w, d: d["thread"]["id"]),
    ),
    "document name": TextField(
        "invalid_name",
        100,
        _document_name,
        201,
        lambda d: d["document"]["name"],
        _query(
            "SELECT name FROM documents WHERE room_id = :key ORDER BY id DESC LIMIT 1",
            lambda w, d: w.room.room.id,
        ),
    ),
}

BAD_TEXT: dict[str, Callable[[int], str]] = {
    "lone surrogate": lambda _: "Caf\ud800",
    "lone low surrogate": lambda _: "\udc00 x",
    "control character": lambda _: "red \x1b[31m alert",
    "NUL": lambda _: "a\x00b",
    "bidi override": lambda _: "file\u202etxt.exe",
    "over-long": lambda limit: "x" * (limit + 1),
    # U+0958 is a composition exclusion: NFC makes two code points of it.
    "over-long once in NFC": lambda limit: "\u0958" * (limit // 2 + 1),
}

# Decomposed, with composed length at the limit: stored composed.
GOOD_TEXT: dict[str, Callable[[int], tuple[str, str]]] = {
    "decomposed": lambda _: (DECOMPOSED, COMPOSED),
    "at the limit once composed": lambda limit: ("e\u0301" * limit, "é" * limit),
}


@pytest.mark.parametrize("case", list(BAD_TEXT))
@pytest.mark.parametrize("name", list(TEXT_FIELDS))
async def test_bad_text_is_refused(world: World, name: str, case: str) -> None:
    text_field = TEXT_FIELDS[name]
    value = BAD_TEXT[case](text_field.max_length)
    await refused(world, lambda: text_field.send(world, value), 422, text_field.code)


@pytest.mark.parametrize("case", list(GOOD_TEXT))
@pytest.mark.parametrize("name", list(TEXT_FIELDS))
async def test_good_text_is_stored_in_nfc(world: World, name: str, case: str) -> None:
    text_field = TEXT_FIELDS[name]
    sent, kept = GOOD_TEXT[case](text_field.max_length)
    logged = len(world.errors.records)
    response = await text_field.send(world, sent)
    assert response.status_code == text_field.status, response.text
    data = response.json()
    assert text_field.shown(data) == kept
    assert await text_field.kept(world, data) == kept
    assert world.errors.records[logged:] == []


# Codes and ids in JSON bodies: refused before any lookup


@dataclass(frozen=True)
class CodeField:
    status: int
    code: str
    send: Send
    good: Callable[[World], str]  # a value that is accepted
    accepted: int  # its status


async def _invite(w: World, value: str) -> httpx.Response:
    return await w.call(None, "POST", "/api/join", {"invite": value, "name": "Ann"})


async def _mention(w: World, value: str) -> httpx.Response:
    return await w.call(w.ann, "POST", w.path("/threads"), {"body": "hi", "mentions": [value]})


async def _new_document_mentor(w: World, value: str) -> httpx.Response:
    body = {"name": w.unique("Mentored"), "mentor": value}
    return await w.call(w.ann, "POST", w.path("/documents"), body)


async def _set_mentor(w: World, value: str) -> httpx.Response:
    return await w.call(w.fay, "PATCH", w.path("/documents/guide"), {"mentor": value})


CODE_FIELDS: dict[str, CodeField] = {
    "invite": CodeField(422, "invalid_invite", _invite, lambda w: w.room.invites[Role.MEMBER], 200),
    "mention": CodeField(422, "invalid_mentions", _mention, lambda w: w.fay.id, 201),
    "new document's mentor": CodeField(
        422, "invalid_mentor", _new_document_mentor, lambda w: w.fay.id, 201
    ),
    "mentor": CodeField(422, "invalid_mentor", _set_mentor, lambda w: w.ann.id, 200),
}

BAD_CODES: dict[str, str] = {
    "lone surrogate": "a\ud800",
    "control character": "a\x1b",
    "NUL": "a\x00",
    "bidi override": "a\u202eb",
    "over-long": "a" * 65,
    "decomposed": "Cafe\u0301",
}


@pytest.mark.parametrize("case", list(BAD_CODES))
@pytest.mark.parametrize("name", list(CODE_FIELDS))
async def test_bad_code_is_refused(world: World, name: str, case: str) -> None:
    code_field = CODE_FIELDS[name]
    send = code_field.send
    await refused(world, lambda: send(world, BAD_CODES[case]), code_field.status, code_field.code)


@pytest.mark.parametrize("name", list(CODE_FIELDS))
async def test_good_code_is_accepted(world: World, name: str) -> None:
    code_field = CODE_FIELDS[name]
    response = await code_field.send(world, code_field.good(world))
    assert response.status_code == code_field.accepted, response.text


# URL parts: paths and query strings (percent-encoded as sent)


@dataclass(frozen=True)
class UrlField:
    status: int
    code: str
    send: Send


async def _document_path(w: World, raw: str) -> httpx.Response:
    return await w.call(w.ann, "GET", w.path(f"/documents/{raw}/versions"))


async def _export_path(w: World, raw: str) -> httpx.Response:
    return await w.call(w.ann, "GET", w.path(f"/documents/{raw}/export?format=markdown"))


async def _save_version_path(w: World, raw: str) -> httpx.Response:
    return await w.call(w.fay, "POST", w.path(f"/documents/{raw}/versions"), {"name": "v"})


async def _thread_query(w: World, raw: str) -> httpx.Response:
    return await w.call(w.ann, "GET", w.path(f"/threads?document={raw}"))


async def _participant_path(w: World, raw: str) -> httpx.Response:
    return await w.call(w.fay, "DELETE", w.path(f"/participants/{raw}"))


URL_FIELDS: dict[str, UrlField] = {
    "document in a path": UrlField(422, "invalid_document", _document_path),
    "document in an export path": UrlField(422, "invalid_document", _export_path),
    "document of a new version": UrlField(422, "invalid_document", _save_version_path),
    "document in a thread query": UrlField(422, "invalid_document", _thread_query),
    "participant in a path": UrlField(404, "unknown_participant", _participant_path),
}

BAD_URL_TEXT: dict[str, str] = {
    "encoded lone surrogate": "%ED%A0%80",
    "NUL": "%00",
    "control character": "a%1Bb",
    "bidi override": "a%E2%80%AEb",
    "over-long": "x" * 129,
}


@pytest.mark.parametrize("case", list(BAD_URL_TEXT))
@pytest.mark.parametrize("name", list(URL_FIELDS))
async def test_bad_url_text_is_refused(world: World, name: str, case: str) -> None:
    url_field = URL_FIELDS[name]
    raw = BAD_URL_TEXT[case]
    await refused(world, lambda: url_field.send(world, raw), url_field.status, url_field.code)


async def test_a_decomposed_document_name_finds_the_composed_document(world: World) -> None:
    for send in (_document_path, _export_path, _thread_query):
        response = await send(world, DESSERT_DECOMPOSED_URL)
        assert response.status_code == 200, response.text
    response = await _save_version_path(world, DESSERT_DECOMPOSED_URL)
    assert response.status_code == 201, response.text
    before = await world.stored()
    response = await _document_name(world, "Cre\u0300me bru\u0302le\u0301e")
    check_error(response, 409, "document_exists")
    assert await world.stored() == before


async def test_a_participant_id_in_the_path_removes_them(world: World) -> None:
    rex = await join(world.server, world.room, Role.MEMBER, "Rex")
    response = await _participant_path(world, rex.id)
    assert response.status_code == 204, response.text


async def test_a_body_that_is_not_utf8_is_refused(world: World) -> None:
    invite = world.room.invites[Role.MEMBER].encode()
    headers = {"content-type": "application/json"}
    for name in (b"\xed\xa0\x80", b"\xff", b"Caf\xc3"):
        body = b'{"invite": "' + invite + b'", "name": "' + name + b'"}'
        send = functools.partial(world.http.post, "/api/join", content=body, headers=headers)
        await refused(world, send, 400, "invalid_json")


async def test_a_template_that_is_not_a_name_is_refused(world: World) -> None:
    templates: list[object] = [[], {}, ["best-practices"], "a\ud800"]
    for template in templates:
        body = {"name": "From a template", "template": template}
        send = functools.partial(world.call, world.fay, "POST", world.path("/documents"), body)
        await refused(world, send, 422, "invalid_template")


async def test_an_anchor_position_that_is_not_ascii_is_refused(world: World) -> None:
    for position in ("\ud800", "é", "AQdkZWZhdWx0AA\u2060=="):
        anchor = {"start": position, "end": END_OF_CONTENT, "quote": "q"}
        body = {"body": "On this passage", "document": "guide", "anchor": anchor}
        send = functools.partial(world.call, world.ann, "POST", world.path("/threads"), body)
        await refused(world, send, 422, "invalid_anchor")


# Tokens


async def test_a_bearer_token_that_is_not_ascii_is_401(world: World) -> None:
    for token in (b"\xed\xa0\x80", b"\xff", b"e\xcc\x81"):
        headers = {b"authorization": b"Bearer " + token}
        send = functools.partial(world.http.get, world.path("/documents"), headers=headers)
        await refused(world, send, 401, "unauthorized")


@pytest.mark.parametrize("token", ["\ud800", "eyJ\udcff.e30.x", "é", "\x00"])
async def test_the_signer_refuses_a_token_that_is_not_ascii(token: str) -> None:
    with pytest.raises(InvalidToken):
        TokenSigner("s" * 32, 60).verify(token)


@pytest.mark.parametrize("raw", ["%ED%A0%80", "%00", "%E2%80%AE", "%FF"])
@pytest.mark.parametrize("socket", ["sync", "events"])
async def test_a_token_in_the_query_that_is_not_text_closes_4401(
    world: World, socket: str, raw: str
) -> None:
    base = f"ws://127.0.0.1:{world.server.port}"
    slug = world.room.room.slug
    url = f"{base}/sync/{slug}/guide" if socket == "sync" else f"{base}/events/{slug}"
    logged = len(world.errors.records)
    async with connect(f"{url}?token={raw}") as ws:
        await asyncio.wait_for(ws.wait_closed(), timeout())
        assert ws.close_code == 4401, ws.close_reason
    assert world.errors.records[logged:] == []


async def test_a_sync_path_with_a_bad_document_name_closes_4400(world: World) -> None:
    base = world.server.sync_url(world.room.room.slug)
    before = await world.stored()
    for raw in BAD_URL_TEXT.values():
        client = await YClient.open(f"{base}/{raw}", world.ann.token)
        assert (await client.wait_closed())[0] == 4400
    decomposed = await YClient.open(f"{base}/{DESSERT_DECOMPOSED_URL}", world.ann.token)
    await decomposed.wait_synced()
    await decomposed.close()
    assert (await world.stored())["documents"] == before["documents"]


# The event socket


async def test_presence_with_a_bad_document_or_following_closes_4400(world: World) -> None:
    url = events_url(world.server, world.ann)
    for message in (
        {"type": "presence", "following": "a\ud800"},
        {"type": "presence", "following": "a\x00"},
        {"type": "presence", "following": "a\u202eb"},
        {"type": "presence", "document": "guide\ud800"},
        {"type": "presence", "document": "a\x1b"},
        {"type": "presence", "\ud800": True},
        {"type": "presence", "x" * 300: True},
        {"type": "presence", "\U0001f600" * 50: True},
    ):
        async with event_connection(url) as connection:
            await connection.ws.send(json.dumps(message))
            await asyncio.wait_for(connection.reader, timeout())
            assert connection.ws.close_code == 4400, connection.ws.close_reason
        # Nothing of it reached the roster, which everyone reads.
        roster = await world.call(world.fay, "GET", world.path("/roster"))
        assert roster.status_code == 200, roster.text
        state = await world.call(world.fay, "GET", world.path(""))
        assert state.status_code == 200, state.text
    assert world.errors.records == []


async def test_presence_names_a_document_in_nfc(world: World) -> None:
    url = events_url(world.server, world.ann)
    async with event_connection(url) as connection:
        document = "Cre\u0300me bru\u0302le\u0301e"
        await connection.ws.send(json.dumps({"type": "presence", "document": document}))

        def ann_there(message: dict[str, Any]) -> bool:
            return message["type"] == "roster" and any(
                p["id"] == world.ann.id and p["document"] == DESSERT
                for p in message["participants"]
            )

        await connection.feed.wait_for(ann_there)


# The command line


async def _cli(*args: str | bytes, database_url: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server.cli",
        *args,
        "--database-url",
        database_url,
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout(60))
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_room_create_checks_the_title_like_every_title(sqlite_url: str) -> None:
    # Linux hands a command invalid UTF-8 as lone surrogates (surrogateescape).
    cases: list[tuple[str | bytes, str]] = [
        (b"Caf\xed\xa0\x80", "lone surrogate"),
        (b"Caf\xc3", "lone surrogate"),
        ("red \x1b[31m alert", "control characters"),
        ("file\u202etxt.exe", "bidirectional"),
        ("x" * 201, "at most 200 characters"),
    ]
    for title, message in cases:
        code, _, err = await _cli("room", "create", title, database_url=sqlite_url)
        assert code == 2, err
        assert message in err and "Traceback" not in err, err
    code, out, err = await _cli("room", "create", DECOMPOSED, "--json", database_url=sqlite_url)
    assert code == 0, err
    assert json.loads(out)["title"] == COMPOSED
    engine = create_engine(sqlite_url)
    try:
        async with engine.connect() as conn:
            titles = list(await conn.scalars(text("SELECT title FROM rooms")))
    finally:
        await engine.dispose()
    assert titles == [COMPOSED]
