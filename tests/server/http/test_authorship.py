"""Who wrote what, over HTTP with real sync clients: a document's authors, restores that
keep the threads on unchanged text, and versions compared with their writers."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import httpx
from pycrdt import Doc, XmlElement, XmlFragment, XmlText

from crdt.anchors import PositionKind, RelativePosition, anchor_index, canonical
from crdt.authorship import blocks
from crdt.content import content_of
from crdt.document import decode_state_vector
from rooms.directory import CreatedRoom
from rooms.presence import COLOURS
from rooms.roles import Role
from tests.support.harness import RunningServer
from tests.support.threads_client import Person, join
from tests.support.timing import eventually
from tests.support.yclient import YClient, close_all, open_synced


async def people(server: RunningServer) -> tuple[CreatedRoom, Person, Person, Person, Person]:
    room = await server.create_room("Authors")
    return (
        room,
        await join(server, room, Role.FACILITATOR, "Fay"),
        await join(server, room, Role.MEMBER, "Ann"),
        await join(server, room, Role.MEMBER, "Ben"),
        await join(server, room, Role.OBSERVER, "Olive"),
    )


def root(client: YClient) -> XmlFragment:
    fragment: XmlFragment = client.doc.get("default", type=XmlFragment)
    return fragment


def texts(doc: Doc[Any]) -> list[XmlText]:
    out = []
    for block in doc.get("default", type=XmlFragment).children:
        assert isinstance(block, XmlElement)
        [text] = list(block.children)
        assert isinstance(text, XmlText)
        out.append(text)
    return out


def plain(text: XmlText) -> str:
    return "".join(chunk for chunk, _ in text.diff())


def write(client: YClient, *paragraphs: str) -> list[int]:
    """Append paragraphs; the clock of each one's first character."""
    starts = []
    for paragraph in paragraphs:
        node = root(client).children.append(XmlElement("paragraph"))
        text = node.children.append(XmlText())
        starts.append(decode_state_vector(client.doc.get_state()).get(client.doc.client_id, 0))
        text.insert(0, paragraph)
    return starts


def position(client: int, clock: int, assoc: int = 0) -> str:
    data = canonical(RelativePosition(PositionKind.ITEM, client, clock, assoc=assoc))
    return base64.b64encode(data).decode()


def live_state(server: RunningServer, room: CreatedRoom, name: str) -> bytes:
    for document in server.app_state.hub.documents.values():
        if document.info.room_id == room.room.id and document.info.name == name:
            return document.sync.encode_state()
    raise AssertionError(f"{name} is not loaded")


def server_text(server: RunningServer, room: CreatedRoom, name: str) -> list[str]:
    return [block.text for block in blocks(live_state(server, room, name))]


def error_code(response: httpx.Response) -> str:
    code: str = response.json()["error"]["code"]
    return code


async def test_every_client_id_names_its_writer(server: RunningServer) -> None:
    room, fay, ann, ben, olive = await people(server)
    await fay.ok("POST", "/documents", {"name": "guide", "template": "best-practices"}, 201)
    url = server.sync_url(room.room.slug) + "/guide"
    anns, bens = await open_synced(url, ann.token), await open_synced(url, ben.token)
    try:
        write(anns, "Ann writes this")
        write(bens, "Ben writes that")
        await eventually(
            lambda: (
                {"Ann writes this", "Ben writes that"} <= set(server_text(server, room, "guide"))
            ),
            10,
            "both edits to arrive",
        )
        answer = await olive.ok("GET", "/documents/guide/authors")
    finally:
        await close_all(anns, bens)
    clients = {int(c): owner for c, owner in answer["clients"].items()}
    assert clients[anns.doc.client_id] == ann.id
    assert clients[bens.doc.client_id] == ben.id
    names = {p["participant_id"]: p["name"] for p in answer["people"]}
    assert names == {
        ann.id: "Ann",
        ben.id: "Ben",
        fay.id: "Fay",
    }
    # Each in the colour they got on joining: one of their own.
    colours = {p["participant_id"]: p["colour"] for p in answer["people"]}
    assert colours == {fay.id: COLOURS[0], ann.id: COLOURS[1], ben.id: COLOURS[2]}

    # Every character of the document has a writer: the template's text is the
    # facilitator's who created the document.
    writers: dict[str, str] = {}
    for block in blocks(live_state(server, room, "guide")):
        for run in block.runs:
            assert run.client is not None
            writers[run.text] = clients[run.client]
    assert writers["Ann writes this"] == ann.id
    assert writers["Ben writes that"] == ben.id
    assert set(writers.values()) == {fay.id, ann.id, ben.id}

    response = await olive.call("GET", "/documents/nothing/authors")
    assert (response.status_code, error_code(response)) == (404, "unknown_document")


async def test_restore_keeps_threads_on_unchanged_text(server: RunningServer) -> None:
    room, fay, ann, _, _ = await people(server)
    await fay.ok("POST", "/documents", {"name": "plan"}, 201)
    url = server.sync_url(room.room.slug) + "/plan"
    anns = await open_synced(url, ann.token)
    try:
        first, _ = write(anns, "Keep the quick brown fox", "Second thoughts here")
        await eventually(
            lambda: len(server_text(server, room, "plan")) == 2, 10, "the paragraphs to arrive"
        )
        me = anns.doc.client_id
        quick = {"start": position(me, first + 9), "end": position(me, first + 13, -1)}
        kept = await ann.ok(
            "POST",
            "/threads",
            {"body": "Why quick?", "document": "plan", "anchor": {**quick, "quote": "quick"}},
            201,
        )
        version = (await fay.ok("POST", "/documents/plan/versions", {"name": "v1"}, 201))["version"]
        # After the version: a word in the first paragraph, and a paragraph of its own
        # with a thread on it.
        texts(anns.doc)[0].insert(len("Keep the "), "very ")
        del texts(anns.doc)[1][len("Second ") : len("Second thoughts")]
        (third,) = write(anns, "An idea for later")
        await eventually(
            lambda: len(server_text(server, room, "plan")) == 3, 10, "the edits to arrive"
        )
        idea = {"start": position(me, third + 3), "end": position(me, third + 6, -1)}
        gone = await ann.ok(
            "POST",
            "/threads",
            {"body": "Love it", "document": "plan", "anchor": {**idea, "quote": "idea"}},
            201,
        )
        await fay.ok("POST", f"/documents/plan/versions/{version['id']}/restore")
        await eventually(
            lambda: (
                [plain(t) for t in texts(anns.doc)]
                == ["Keep the quick brown fox", "Second thoughts here"]
            ),
            10,
            "the restore to reach Ann",
        )
    finally:
        await close_all(anns)
    state = live_state(server, room, "plan")
    doc = content_of(state)
    stored = {t["id"]: t for t in (await ann.ok("GET", "/threads?document=plan"))["threads"]}
    for thread, words, text_index in ((kept, "quick", 0), (gone, "", None)):
        anchor = stored[thread["thread"]["id"]]["anchor"]
        start = anchor_index(doc, base64.b64decode(anchor["start"]))
        end = anchor_index(doc, base64.b64decode(anchor["end"]))
        if text_index is None:
            # The removed passage's items are gone (collected) or its range collapsed:
            # either way the thread shows as detached.
            assert start is None or end is None or start == end
        else:
            assert start is not None and end is not None
            assert plain(texts(doc)[text_index]).encode()[start:end].decode() == words

    # Restored text is the restorer's; the text the restore kept is still Ann's.
    owners = {
        int(c): owner
        for c, owner in (await fay.ok("GET", "/documents/plan/authors"))["clients"].items()
    }
    writers = [
        (run.text, None if run.client is None else owners.get(run.client))
        for block in blocks(state)
        for run in block.runs
    ]
    assert writers == [
        ("Keep the quick brown fox", ann.id),
        ("Second ", ann.id),
        ("thoughts", fay.id),
        (" here", ann.id),
    ]

    # The backup version (just before the restore) compared with now: the restore
    # removed Ann's words; nothing of hers that stayed is counted as changed.
    versions = (await fay.ok("GET", "/documents/plan/versions"))["versions"]
    backup = next(v for v in versions if v["reason"] == "restore")
    diff = await fay.ok("GET", f"/documents/plan/diff?from={backup['id']}")
    removed = [
        (r["text"], r["author"])
        for b in diff["blocks"]
        for r in b["runs"]
        if r["change"] == "removed"
    ]
    # (Which space went with "very" is the diff's choice.)
    assert sorted((text.strip(), who) for text, who in removed) == [
        ("An idea for later", ann.id),
        ("very", ann.id),
    ]
    added = [
        (r["text"], r["author"])
        for b in diff["blocks"]
        for r in b["runs"]
        if r["change"] == "added"
    ]
    assert added == [("thoughts", fay.id)]


async def test_clients_typing_during_a_restore_converge(server: RunningServer) -> None:
    room, fay, ann, ben, _ = await people(server)
    await fay.ok("POST", "/documents", {"name": "notes"}, 201)
    url = server.sync_url(room.room.slug) + "/notes"
    anns, bens = await open_synced(url, ann.token), await open_synced(url, ben.token)
    try:
        write(anns, "alpha beta gamma", "delta epsilon")
        await eventually(lambda: len(texts(bens.doc)) == 2, 10, "Ben to have both paragraphs")
        version = (await fay.ok("POST", "/documents/notes/versions", {"name": "v"}, 201))["version"]
        write(bens, "zeta")
        await eventually(
            lambda: len(server_text(server, room, "notes")) == 3, 10, "Ben's paragraph"
        )

        async def type_into(client: YClient, paragraph: int, word: str) -> None:
            for char in word:
                texts(client.doc)[paragraph].insert(0, char)
                await asyncio.sleep(0)

        await asyncio.gather(
            fay.ok("POST", f"/documents/notes/versions/{version['id']}/restore"),
            type_into(anns, 0, "ANN"),
            type_into(bens, 1, "BEN"),
        )

        def converged() -> bool:
            want = server_text(server, room, "notes")
            return (
                [plain(t) for t in texts(anns.doc)] == want == [plain(t) for t in texts(bens.doc)]
            )

        await eventually(converged, 10, "all copies to converge")
    finally:
        await close_all(anns, bens)
    final = server_text(server, room, "notes")
    # Typing that reached the server before the restore is undone by it; typing that
    # came after went into text the restore kept. Ben's paragraph is gone.
    assert len(final) == 2
    assert final[0].endswith("alpha beta gamma") and set(
        final[0][: -len("alpha beta gamma")]
    ) <= set("ANN")
    assert final[1].endswith("delta epsilon") and set(final[1][: -len("delta epsilon")]) <= set(
        "BEN"
    )


async def test_versions_compared_with_their_writers(server: RunningServer) -> None:
    room, fay, ann, ben, olive = await people(server)
    await fay.ok("POST", "/documents", {"name": "style"}, 201)
    url = server.sync_url(room.room.slug) + "/style"
    anns, bens = await open_synced(url, ann.token), await open_synced(url, ben.token)
    try:
        write(anns, "Write short sentences always")
        await eventually(lambda: len(texts(bens.doc)) == 1, 10, "Ben to see Ann's text")
        v1 = (await fay.ok("POST", "/documents/style/versions", {"name": "one"}, 201))["version"]
        texts(bens.doc)[0].insert(len("Write short "), "clear ")
        del texts(bens.doc)[0][len("Write short clear sentences") :]  # " always" (Ann's)
        write(anns, "Name things well")
        await eventually(
            lambda: (
                server_text(server, room, "style")
                == ["Write short clear sentences", "Name things well"]
            ),
            10,
            "the edits to arrive",
        )
        v2 = (await fay.ok("POST", "/documents/style/versions", {"name": "two"}, 201))["version"]
    finally:
        await close_all(anns, bens)

    diff = await olive.ok("GET", f"/documents/style/diff?from={v1['id']}&to={v2['id']}")
    assert (diff["from"]["id"], diff["to"]["id"]) == (v1["id"], v2["id"])
    first, second = diff["blocks"]
    assert first["change"] == "changed" and second["change"] == "added"
    runs = [(r["text"], r["change"], r["author"]) for r in first["runs"]]
    assert ("clear", "added", ben.id) in runs or (
        "clear ",
        "added",
        ben.id,
    ) in runs
    assert any(c == "removed" and "always" in t and a == ann.id for t, c, a in runs)
    assert second["runs"] == [{"text": "Name things well", "change": "added", "author": ann.id}]
    counts = {p["name"]: (p["added"], p["removed"]) for p in diff["people"]}
    assert counts["Ann"][0] == len("Name things well")
    assert counts["Ben"][0] >= len("clear")
    assert counts["Ann"][1] >= len("always")

    page = await olive.call(
        "GET", f"/documents/style/diff?from={v1['id']}&to={v2['id']}&format=html"
    )
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "attachment" in page.headers["content-disposition"]
    assert 'title="Ben"' in page.text and "<del" in page.text and "always" in page.text
    assert "Name things well</ins>" in page.text

    # Against the current content (the default), and bad requests.
    now = await fay.ok("GET", f"/documents/style/diff?from={v2['id']}")
    assert now["to"] is None and all(b["change"] == "same" for b in now["blocks"])
    for query, status, code in (
        ("", 400, "invalid_query"),
        ("?from=x", 400, "invalid_query"),
        (f"?from={v1['id']}&to=later", 400, "invalid_query"),
        (f"?from={v1['id']}&format=pdf", 400, "invalid_query"),
        ("?from=999999", 404, "unknown_version"),
    ):
        response = await fay.call("GET", "/documents/style/diff" + query)
        assert (response.status_code, error_code(response)) == (status, code), query
