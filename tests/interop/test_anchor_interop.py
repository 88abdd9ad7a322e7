"""Comment anchors made by real ``yjs`` clients, stored by the server, resolved by both.

A Node client (``puppet.mjs``) makes ``Y.createRelativePositionFromTypeIndex`` positions
around a passage of a TipTap-style paragraph (XmlFragment ``default`` > XmlElement
``paragraph`` > XmlText); the test posts them as a thread's anchor through the HTTP API.
Other Node clients then edit the document concurrently (one :meth:`NodePuppet.batch`
runs all their edits in one Node turn, before any of them can see another's), and the
anchor must still frame the same passage: for a fresh Node client that reads the thread
from the API (``Y.createAbsolutePositionFromRelativePosition``) and for the server's own
copy of the document (:func:`crdt.anchors.anchor_index`).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import pytest
from pycrdt import XmlElement, XmlFragment, XmlText

from crdt.anchors import anchor_index
from crdt.document import decode_state_vector
from rooms.directory import CreatedRoom
from rooms.roles import Role
from tests.support.harness import RunningServer
from tests.support.node_client import (
    Event,
    NodeClient,
    NodePuppet,
)
from tests.support.threads_client import Person, join
from tests.support.timing import eventually, timeout

pytestmark = pytest.mark.node

DOC = "guide"
WAIT = timeout(10.0)
"""Timeout of every wait on a puppet event (scaled by ROUNDTABLE_TEST_TIMEOUT_SCALE)."""

PASSAGE = "brown fox"
PARAGRAPHS = [
    "Pack my box with five dozen liquor jugs",
    "The quick brown fox jumps over the lazy dog",
    "Sphinx of black quartz, judge my vow",
]
ANCHORED = 1  # the paragraph holding the passage
START = PARAGRAPHS[ANCHORED].index(PASSAGE)  # 10
END = START + len(PASSAGE)  # 19


# ---------------------------------------------------------------- helpers


def server_text(server: RunningServer, room: CreatedRoom, paragraph: int) -> XmlText:
    """The XmlText of paragraph number ``paragraph`` in the server's live document."""
    fragment = server.live_document(room, DOC).sync.ydoc.get("default", type=XmlFragment)
    element = fragment.children[paragraph]
    assert isinstance(element, XmlElement)
    [text] = list(element.children)
    assert isinstance(text, XmlText)
    return text


def server_paragraphs(server: RunningServer, room: CreatedRoom, name: str = DOC) -> list[str]:
    fragment = server.live_document(room, name).sync.ydoc.get("default", type=XmlFragment)
    paragraphs = []
    for element in fragment.children:
        assert isinstance(element, XmlElement)
        paragraphs.append("".join(str(text) for text in element.children))
    return paragraphs


def state_of(event: Event) -> dict[int, int]:
    return decode_state_vector(base64.b64decode(event["stateVector"]))


async def connect(
    client: NodeClient, server: RunningServer, room: CreatedRoom, person: Person, doc: str = DOC
) -> None:
    """Connect to ``doc`` with the person's token, wait until synced, report the fragment."""
    await client.connect(server.sync_url(room.room.slug), doc, person.token)
    await client.wait_synced(WAIT)
    await client.watch_xml()


async def converge(
    server: RunningServer,
    room: CreatedRoom,
    clients: list[NodeClient],
    expected: list[str],
    doc: str = DOC,
) -> None:
    """Wait until every client and the server hold exactly ``expected`` paragraphs.

    Then they hold the same updates, too: equal state vectors everywhere.
    """
    for client in clients:
        await client.wait_xml(lambda e: e["paragraphs"] == expected, WAIT)
    await eventually(
        lambda: server_paragraphs(server, room, doc) == expected, 5, "the server to converge"
    )
    server_state = decode_state_vector(server.live_document(room, doc).sync.state_vector())
    for client in clients:
        event = client.xml
        assert event is not None
        assert state_of(event) == server_state, client.id


def between(resolved: dict[str, Event]) -> str:
    """The text between two resolved positions of one XmlText.

    Yjs indices count UTF-16 code units (JavaScript string indices), not code points.
    """
    start, end = resolved["start"], resolved["end"]
    assert start["found"] and end["found"]
    assert start["text"] == end["text"]
    utf16 = str(start["text"]).encode("utf-16-le")
    return utf16[2 * start["index"] : 2 * end["index"]].decode("utf-16-le")


@dataclass
class Anchored:
    """A room whose document ``DOC`` holds ``PARAGRAPHS``, ``PASSAGE`` anchored by a thread."""

    room: CreatedRoom
    author: Person
    writers: list[NodeClient]
    """Connected clients, the author's first; all converged on ``PARAGRAPHS``."""
    anchor: dict[str, str]
    thread: dict[str, Any]


async def anchored(server: RunningServer, puppet: NodePuppet, writers: int) -> Anchored:
    room = await server.create_room()
    author = await join(server, room, Role.MEMBER, "Ann")
    first = puppet.client("author")
    await connect(first, server, room, author)
    for text in PARAGRAPHS:
        await first.xml_insert_paragraph(text)
    clients = [first]
    for n in range(writers):
        client = puppet.client(f"writer{n}")
        await connect(client, server, room, await join(server, room, Role.MEMBER, f"W{n}"))
        clients.append(client)
    # The server must hold the paragraph before it can accept an anchor into it.
    await converge(server, room, clients, PARAGRAPHS)

    # Start sticks to the "b" of "brown" (assoc 0), end to the "x" of "fox" (assoc -1):
    # text typed right outside the passage stays outside.
    anchor = {
        "start": await first.relative_position(ANCHORED, START, 0),
        "end": await first.relative_position(ANCHORED, END, -1),
        "quote": PASSAGE,
    }
    resolved = await resolve(first, anchor)
    assert between(resolved) == PASSAGE

    thread = await author.start("Why a fox?", document=DOC, anchor=anchor)
    assert thread["anchor"] == anchor
    assert thread["document"] == DOC
    return Anchored(room, author, clients, anchor, thread)


async def resolve(client: NodeClient, anchor: dict[str, Any]) -> dict[str, Event]:
    return {end: await client.resolve_position(str(anchor[end])) for end in ("start", "end")}


async def fresh_reader(
    server: RunningServer, puppet: NodePuppet, setup: Anchored, expected: list[str]
) -> tuple[NodeClient, dict[str, Any]]:
    """A newly joined Node client, synced, and the thread as it reads it from the API."""
    reader = await join(server, setup.room, Role.OBSERVER, "Rea")
    fresh = puppet.client("fresh")
    await connect(fresh, server, setup.room, reader)
    await fresh.wait_xml(lambda e: e["paragraphs"] == expected, WAIT)
    thread = await reader.thread(int(setup.thread["id"]))
    listed = await reader.ok("GET", f"/threads?document={DOC}")
    assert [t["id"] for t in listed["threads"]] == [setup.thread["id"]]
    return fresh, thread


# ------------------------------------------------------------------ tests


async def test_anchor_survives_concurrent_edits(server: RunningServer, puppet: NodePuppet) -> None:
    setup = await anchored(server, puppet, writers=4)
    author, b, c, d, e = setup.writers

    await puppet.batch(
        # Right after "fox", then right before "brown": both outside the anchor.
        author.command("xmlTextInsert", paragraph=ANCHORED, index=END, text=" quickly"),
        author.command("xmlTextInsert", paragraph=ANCHORED, index=START, text="very "),
        # Text inserted before the passage.
        b.command("xmlTextInsert", paragraph=ANCHORED, index=0, text="Yesterday, "),
        # Words deleted before it: "quick ".
        c.command("xmlTextDelete", paragraph=ANCHORED, index=4, length=6),
        # A new paragraph before it.
        d.command("xmlInsertParagraphAt", index=ANCHORED, text="A brand new paragraph"),
        # Edits inside the other paragraphs.
        e.command("xmlTextInsert", paragraph=0, index=len(PARAGRAPHS[0]), text=" and more"),
        e.command("xmlTextDelete", paragraph=2, index=10, length=6),
    )
    anchored_text = "Yesterday, The very brown fox quickly jumps over the lazy dog"
    expected = [
        "Pack my box with five dozen liquor jugs and more",
        "A brand new paragraph",
        anchored_text,
        "Sphinx of quartz, judge my vow",
    ]
    await converge(server, setup.room, setup.writers, expected)

    # (a) A fresh client, reading the thread from the API, finds exactly the passage.
    fresh, thread = await fresh_reader(server, puppet, setup, expected)
    assert thread["anchor"] == setup.anchor  # stored and returned unchanged
    resolved = await resolve(fresh, thread["anchor"])
    for end in ("start", "end"):
        assert resolved[end]["paragraph"] == 2  # the paragraph moved down one
        assert resolved[end]["text"] == anchored_text
    assert between(resolved) == PASSAGE
    node_start, node_end = resolved["start"]["index"], resolved["end"]["index"]
    assert (node_start, node_end) == (anchored_text.index(PASSAGE), anchored_text.index(" quickly"))
    # Every writer agrees.
    for writer in setup.writers:
        theirs = await resolve(writer, thread["anchor"])
        assert (theirs["start"]["index"], theirs["end"]["index"]) == (node_start, node_end)
        assert between(theirs) == PASSAGE

    # (b) The server's copy resolves the stored bytes to the same indices.
    ydoc = server.live_document(setup.room, DOC).sync.ydoc
    start_bytes = base64.b64decode(thread["anchor"]["start"])
    end_bytes = base64.b64decode(thread["anchor"]["end"])
    assert anchor_index(ydoc, start_bytes) == node_start
    assert anchor_index(ydoc, end_bytes) == node_end
    text = str(server_text(server, setup.room, 2))
    assert text == anchored_text
    assert text[node_start:node_end] == PASSAGE


async def test_deleting_the_passage_detaches_the_anchor(
    server: RunningServer, puppet: NodePuppet
) -> None:
    setup = await anchored(server, puppet, writers=2)
    _, b, c = setup.writers

    await puppet.batch(
        # The passage goes, with the words around it ("quick brown fox ")...
        b.command("xmlTextDelete", paragraph=ANCHORED, index=4, length=16),
        # ...while someone else types before it.
        c.command("xmlTextInsert", paragraph=ANCHORED, index=0, text="Yesterday, "),
    )
    anchored_text = "Yesterday, The jumps over the lazy dog"
    expected = [PARAGRAPHS[0], anchored_text, PARAGRAPHS[2]]
    await converge(server, setup.room, setup.writers, expected)

    fresh, thread = await fresh_reader(server, puppet, setup, expected)
    # The thread stays, quote and anchor intact: clients show it as detached.
    assert thread["anchor"] == setup.anchor
    assert thread["anchor"]["quote"] == PASSAGE
    assert thread["comments"][0]["body"] == "Why a fox?"
    resolved = await resolve(fresh, thread["anchor"])
    collapsed = anchored_text.index("jumps")  # where "brown fox" was
    assert resolved["start"]["found"] and resolved["end"]["found"]
    assert resolved["start"]["paragraph"] == resolved["end"]["paragraph"] == ANCHORED
    assert resolved["start"]["index"] == resolved["end"]["index"] == collapsed
    assert between(resolved) == ""

    ydoc = server.live_document(setup.room, DOC).sync.ydoc
    assert anchor_index(ydoc, base64.b64decode(thread["anchor"]["start"])) == collapsed
    assert anchor_index(ydoc, base64.b64decode(thread["anchor"]["end"])) == collapsed


async def test_anchor_from_another_document_is_refused(
    server: RunningServer, puppet: NodePuppet
) -> None:
    setup = await anchored(server, puppet, writers=0)
    # Another document of the same room, with the same words, written by another Y.Doc
    # (so with another client id).
    other_person = await join(server, setup.room, Role.MEMBER, "Oth")
    other = puppet.client("other")
    await connect(other, server, setup.room, other_person, doc="notes")
    for text in PARAGRAPHS:
        await other.xml_insert_paragraph(text)
    await converge(server, setup.room, [other], PARAGRAPHS, doc="notes")
    assert (
        state_of(other.xml or {})
        .keys()
        .isdisjoint(decode_state_vector(server.live_document(setup.room, DOC).sync.state_vector()))
    )
    foreign = {
        "start": await other.relative_position(ANCHORED, START, 0),
        "end": await other.relative_position(ANCHORED, END, -1),
        "quote": PASSAGE,
    }
    author = setup.author

    async def refused(anchor: dict[str, str], which: str) -> None:
        response = await author.call(
            "POST", "/threads", {"body": "Lost?", "document": DOC, "anchor": anchor}
        )
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["code"] == "invalid_anchor"
        assert error["message"].startswith(f"anchor {which}"), error

    await refused(foreign, "start")
    # One foreign end is enough.
    await refused({**setup.anchor, "end": foreign["end"]}, "end")
    await refused({**foreign, "end": setup.anchor["end"]}, "start")
    # The end of a root other than "default" (Y.encodeRelativePosition writes its name).
    root_end = await other.relative_position(None, 0, 0, fragment="prosemirror")
    assert base64.b64decode(root_end) == b"\x01\x0bprosemirror\x00"
    await refused({**setup.anchor, "start": root_end}, "start")

    # Nothing was stored: the document has only the first thread.
    listed = await author.ok("GET", f"/threads?document={DOC}")
    assert [t["id"] for t in listed["threads"]] == [setup.thread["id"]]
    # The foreign positions are fine where they come from.
    thread = await author.start("Found it", document="notes", anchor=foreign)
    assert thread["anchor"] == foreign
    resolved = await resolve(other, thread["anchor"])
    assert between(resolved) == PASSAGE


async def test_server_and_yjs_count_the_same_place_after_non_ascii_text(
    server: RunningServer, puppet: NodePuppet
) -> None:
    setup = await anchored(server, puppet, writers=2)
    _, b, c = setup.writers
    await puppet.batch(
        b.command("xmlTextInsert", paragraph=ANCHORED, index=0, text="Café 🦊 "),
        c.command("xmlTextInsert", paragraph=ANCHORED, index=4, text="très "),
    )
    anchored_text = "Café 🦊 The très quick brown fox jumps over the lazy dog"
    expected = [PARAGRAPHS[0], anchored_text, PARAGRAPHS[2]]
    await converge(server, setup.room, setup.writers, expected)

    fresh, thread = await fresh_reader(server, puppet, setup, expected)
    resolved = await resolve(fresh, thread["anchor"])
    # The clients are right: JavaScript strings index UTF-16 code units.
    assert between(resolved) == PASSAGE
    node_start, node_end = resolved["start"]["index"], resolved["end"]["index"]
    prefix = anchored_text[: anchored_text.index(PASSAGE)]
    # "Café 🦊 The très quick " is 22 code points, 23 UTF-16 units, 27 UTF-8 bytes.
    assert (len(prefix), len(prefix.encode("utf-16-le")) // 2, len(prefix.encode())) == (
        22,
        23,
        27,
    )
    assert (node_start, node_end) == (23, 23 + len(PASSAGE))

    # The server resolves the same place, counted in UTF-8 bytes as yrs counts.
    ydoc = server.live_document(setup.room, DOC).sync.ydoc
    server_start = anchor_index(ydoc, base64.b64decode(thread["anchor"]["start"]))
    server_end = anchor_index(ydoc, base64.b64decode(thread["anchor"]["end"]))
    assert (server_start, server_end) == (27, 27 + len(PASSAGE.encode()))
