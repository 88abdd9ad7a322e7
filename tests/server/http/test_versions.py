"""Templates, mentors, versions, restore and export over HTTP, with real clients.

Restore and export are checked with real ``yjs`` + ``y-websocket`` clients (the Node
puppet): what they hold after a restore must be exactly the saved content, and an
export must be exactly the Markdown / HTML of what the server holds.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from pycrdt import Doc, XmlElement, XmlFragment, XmlText

from crdt.content import Block, append_blocks, content_of, edit, to_markdown
from rooms.directory import CreatedRoom
from rooms.live.document import LiveDocument
from rooms.roles import Role
from rooms.templates import TEMPLATES
from tests.support.harness import RunningServer, run_server
from tests.support.node_client import NodeClient, NodePuppet
from tests.support.rendered import read_markdown
from tests.support.settings import fast_settings
from tests.support.threads_client import Person, event_feed, events_url, join
from tests.support.timing import eventually, timeout
from tests.support.yclient import YClient, open_synced

WAIT = timeout(10.0)


# ------------------------------------------------------------------ helpers


def tree(node: XmlFragment | XmlElement | XmlText) -> dict[str, Any]:
    """The same JSON form as the puppet's ``xmlDump`` tree, from pycrdt."""
    if isinstance(node, XmlText):
        return {
            "text": [
                {"insert": chunk, "attributes": attrs} if attrs else {"insert": chunk}
                for chunk, attrs in node.diff()
            ]
        }
    children = [tree(child) for child in node.children]
    if isinstance(node, XmlElement):
        return {"name": node.tag, "attrs": dict(node.attributes.__iter__()), "children": children}
    return {"name": None, "children": children}


def tree_of_doc(doc: Doc[Any]) -> dict[str, Any]:
    return tree(doc.get("default", type=XmlFragment))


def tree_of_state(state: bytes) -> dict[str, Any]:
    return tree_of_doc(content_of(state))


def live(server: RunningServer, room: CreatedRoom, name: str) -> LiveDocument | None:
    for document in server.app_state.hub.documents.values():
        if document.info.room_id == room.room.id and document.info.name == name:
            return document
    return None


def live_state(server: RunningServer, room: CreatedRoom, name: str) -> bytes:
    document = live(server, room, name)
    assert document is not None, f"document {name!r} is not loaded"
    return document.sync.encode_state()


async def server_holds(
    server: RunningServer, room: CreatedRoom, name: str, expected: dict[str, Any]
) -> None:
    """Wait until the server's live copy of the document has the content ``expected``."""
    await eventually(
        lambda: tree_of_state(live_state(server, room, name)) == expected,
        10,
        f"the server's copy of {name!r} to have the clients' content",
    )


async def converged(
    clients: list[NodeClient], done: Callable[[str], bool] = lambda _: True
) -> dict[str, Any]:
    """Wait until every client has the content of the first (which made the last edit),
    and ``done`` holds for it; returns the first client's dump."""
    first, rest = clients[0], clients[1:]

    def same(event: dict[str, Any]) -> bool:
        xml: str = event["xml"]
        return done(xml) and all((c.xml or {}).get("xml") == xml for c in rest)

    await first.wait_xml(same, WAIT)
    dump = await first.xml_dump()
    for client in rest:
        assert (await client.xml_dump())["tree"] == dump["tree"]
    return dump


def text(*runs: str | tuple[str, dict[str, Any]]) -> dict[str, Any]:
    """A text node for the puppet: ``{"text": delta}``."""
    return {
        "text": [
            {"insert": run} if isinstance(run, str) else {"insert": run[0], "attributes": run[1]}
            for run in runs
        ]
    }


def node(name: str, *children: dict[str, Any], **attrs: Any) -> dict[str, Any]:
    return {"name": name, "attrs": attrs, "children": list(children)}


def para(*runs: str | tuple[str, dict[str, Any]]) -> dict[str, Any]:
    return node("paragraph", text(*runs))


def insert(path: list[int], *nodes: dict[str, Any], index: int | None = None) -> dict[str, Any]:
    action: dict[str, Any] = {"do": "insertNodes", "path": path, "nodes": list(nodes)}
    if index is not None:
        action["index"] = index
    return action


BOLD: dict[str, Any] = {"bold": {}}
ITALIC: dict[str, Any] = {"italic": {}}


async def make_room(
    server: RunningServer,
) -> tuple[CreatedRoom, Person, Person, Person, Person]:
    """A room with Fay (facilitator), Ann (member), Olive and Otto (observers)."""
    room = await server.create_room("Action planning")
    return (
        room,
        await join(server, room, Role.FACILITATOR, "Fay"),
        await join(server, room, Role.MEMBER, "Ann"),
        await join(server, room, Role.OBSERVER, "Olive"),
        await join(server, room, Role.OBSERVER, "Otto"),
    )


def error_code(response: httpx.Response) -> str:
    code: str = response.json()["error"]["code"]
    return code


def template_state(key: str) -> bytes:
    return edit(b"", append_blocks(TEMPLATES[key].blocks))


async def append_from_python(client: YClient, blocks: list[Block]) -> None:
    """Append blocks through a pycrdt sync client (sent like any client edit)."""
    root = client.doc.get("default", type=XmlFragment)
    with client.doc.transaction():
        append_blocks(blocks)(root)


# The Markdown export of each template, written out: what a facilitator downloads from a
# new document.
TEMPLATE_MARKDOWN = {
    "best-practices": (
        "# Best-practices guide\n\n"
        "What is this guide for, and who will use it? Write one or two sentences.\n\n"
        "## Practice 1\n\n"
        "What do we do? Say it as an instruction.\n\n"
        "### Why it works\n\n"
        "The reason, from your experience or the material.\n\n"
        "### Example\n\n"
        "A real case where this practice made a difference.\n\n"
        "## Practice 2\n\n"
        "Copy the structure above for each practice the cohort agrees on.\n\n"
        "## Open questions\n\n"
        "- What are we still unsure about? Ask it here, or comment on a passage.\n"
    ),
    "style-guide": (
        "# Style guide\n\n"
        "## Voice and tone\n\n"
        "Describe how we sound in three words, and what each means in practice.\n\n"
        "## Words we use\n\n"
        "- Preferred term — instead of — why\n\n"
        "## Words we avoid\n\n"
        "- Term to avoid — what to say instead\n\n"
        "## Formatting\n\n"
        "- Headings\n- Lists\n- Numbers and dates\n- Links\n\n"
        "## Examples\n\n"
        "> A short passage that shows the style done well.\n"
    ),
    "action-plan": (
        "# Action plan\n\n"
        "Mentor: who follows this plan and comments on the check-ins.\n\n"
        "## Goals\n\n"
        "- What will be different, and by when? Make each goal observable.\n\n"
        "## Steps\n\n"
        "- [ ] The first small step, this week\n"
        "- [ ] The next step\n"
        "- [ ] How I will know the goal is reached\n\n"
        "## Support I need\n\n"
        "People, time or resources, and from whom.\n\n"
        "## Check-in log\n\n"
        "### Check-in 1 — date\n\n"
        "- What I did\n- What I learned\n- What I will do next\n"
    ),
}

STYLE_GUIDE_BODY = (
    "<h1>Style guide</h1><h2>Voice and tone</h2>"
    "<p>Describe how we sound in three words, and what each means in practice.</p>"
    "<h2>Words we use</h2><ul><li><p>Preferred term — instead of — why</p></li></ul>"
    "<h2>Words we avoid</h2><ul><li><p>Term to avoid — what to say instead</p></li></ul>"
    "<h2>Formatting</h2><ul><li><p>Headings</p></li><li><p>Lists</p></li>"
    "<li><p>Numbers and dates</p></li><li><p>Links</p></li></ul>"
    "<h2>Examples</h2>"
    "<blockquote><p>A short passage that shows the style done well.</p></blockquote>"
)


def html_page(title: str, body: str) -> str:
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{title}</title>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


# ------------------------------------------------------------------ templates


async def test_templates_are_listed(server: RunningServer) -> None:
    async with httpx.AsyncClient(base_url=server.http) as client:
        response = await client.get("/api/templates")
    assert response.status_code == 200
    listed = response.json()["templates"]
    assert sorted(t["key"] for t in listed) == ["action-plan", "best-practices", "style-guide"]
    for entry in listed:
        template = TEMPLATES[entry["key"]]
        assert entry == {
            "key": template.key,
            "title": template.title,
            "description": template.description,
        }


async def test_the_vocabulary_names_templates_reactions_and_roles(server: RunningServer) -> None:
    async with httpx.AsyncClient(base_url=server.http) as client:
        vocabulary = (await client.get("/api/vocabulary")).json()
        templates = (await client.get("/api/templates")).json()["templates"]
    assert vocabulary["templates"] == templates
    assert [r["key"] for r in vocabulary["reactions"]] == [
        "aha",
        "thanks",
        "agree",
        "curious",
        "celebrate",
    ]
    assert vocabulary["reactions"][0] == {"key": "aha", "emoji": "💡", "label": "Aha!"}
    assert vocabulary["roles"] == [
        {
            "key": "facilitator",
            "label": "Facilitator",
            "can_edit": True,
            "can_create_documents": True,
            "can_moderate": True,
            "sees_room": True,
        },
        {
            "key": "member",
            "label": "Member",
            "can_edit": True,
            "can_create_documents": True,
            "can_moderate": False,
            "sees_room": True,
        },
        {
            "key": "observer",
            "label": "Observer",
            "can_edit": False,
            "can_create_documents": False,
            "can_moderate": False,
            "sees_room": True,
        },
        {
            "key": "mentor",
            "label": "Mentor",
            "can_edit": False,
            "can_create_documents": False,
            "can_moderate": False,
            "sees_room": False,
        },
    ]


@pytest.mark.parametrize("key", ["best-practices", "style-guide", "action-plan"])
async def test_document_from_a_template(server: RunningServer, key: str) -> None:
    room, fay, ann, _, _ = await make_room(server)
    created = await ann.ok("POST", "/documents", {"name": "doc", "template": key}, status=201)
    document = created["document"]
    assert document["name"] == "doc"
    assert document["template"] == key
    assert document["created_by"] == ann.id
    assert document["mentor_id"] is None
    assert document["locked"] is False
    assert document["locked_by"] is None

    expected = template_state(key)
    response = await fay.call("GET", "/documents/doc/export?format=markdown")
    assert response.status_code == 200
    assert response.text == TEMPLATE_MARKDOWN[key]

    # The live document holds the template: a client that connects receives it.
    client = await open_synced(server.sync_url(room.room.slug) + "/doc", fay.token)
    try:
        assert tree_of_doc(client.doc) == tree_of_state(expected)
    finally:
        await client.close()
    assert tree_of_doc(await server.stored_document(room, "doc")) == tree_of_state(expected)
    listed = await fay.ok("GET", "/documents")
    assert [d["template"] for d in listed["documents"]] == [key]


async def test_document_creation_refusals(server: RunningServer) -> None:
    _, fay, ann, olive, _ = await make_room(server)
    other_room = await server.create_room("Elsewhere")
    stranger = await join(server, other_room, Role.MEMBER, "Stan")

    refused = [
        (fay, {"name": "a", "template": "nope"}, 422, "invalid_template"),
        (fay, {"name": "a", "template": 3}, 422, "invalid_template"),
        (olive, {"name": "a"}, 403, "forbidden"),
        (olive, {"name": "a", "template": "action-plan"}, 403, "forbidden"),
        (fay, {"name": "a/b"}, 422, "invalid_name"),
        (fay, {}, 422, "invalid_name"),
        (fay, {"name": "a", "mentor": str(uuid.uuid4())}, 422, "invalid_mentor"),
        (fay, {"name": "a", "mentor": stranger.id}, 422, "invalid_mentor"),
        (fay, {"name": "a", "mentor": 7}, 422, "invalid_mentor"),
    ]
    for person, body, status, code in refused:
        response = await person.call("POST", "/documents", body)
        assert (response.status_code, error_code(response)) == (status, code), body
    assert (await fay.ok("GET", "/documents"))["documents"] == []

    await ann.ok("POST", "/documents", {"name": "a"}, status=201)
    for person, body in [
        (fay, {"name": "a"}),
        (ann, {"name": "a", "template": "style-guide"}),
    ]:
        response = await person.call("POST", "/documents", body)
        assert (response.status_code, error_code(response)) == (409, "document_exists")
    # The refused duplicate did not add the template to the existing document.
    response = await fay.call("GET", "/documents/a/export?format=markdown")
    assert response.text == "\n"
    assert [d["name"] for d in (await fay.ok("GET", "/documents"))["documents"]] == ["a"]


async def test_mentor_observer_may_comment_on_that_document_only(server: RunningServer) -> None:
    _, fay, ann, olive, otto = await make_room(server)
    plan = await fay.ok(
        "POST",
        "/documents",
        {"name": "plan", "template": "action-plan", "mentor": olive.id},
        status=201,
    )
    assert plan["document"]["mentor_id"] == olive.id
    await fay.ok("POST", "/documents", {"name": "notes"}, status=201)

    # The mentor (an observer) starts a thread and replies on the plan.
    mentor_thread = await olive.start("How will you measure this?", document="plan")
    assert mentor_thread["author"]["id"] == olive.id
    ann_thread = await ann.start("Is this goal too big?", document="plan")
    await olive.reply(ann_thread["id"], "Split it in two")
    assert len((await ann.thread(ann_thread["id"]))["comments"]) == 2

    # Another observer may not, and the mentor may not elsewhere.
    notes_thread = await ann.start("A note", document="notes")
    for person, method, path, body in [
        (otto, "POST", "/threads", {"body": "Me too", "document": "plan"}),
        (otto, "POST", f"/threads/{ann_thread['id']}/comments", {"body": "Me too"}),
        (otto, "POST", f"/threads/{mentor_thread['id']}/comments", {"body": "Me too"}),
        (olive, "POST", "/threads", {"body": "Here?", "document": "notes"}),
        (olive, "POST", "/threads", {"body": "In general?"}),
        (olive, "POST", f"/threads/{notes_thread['id']}/comments", {"body": "Here?"}),
    ]:
        response = await person.call(method, path, body)
        assert response.status_code == 403, (person.name, path, body, response.text)

    # Handing the plan to Otto moves the right with it.
    changed = await fay.ok("PATCH", "/documents/plan", {"mentor": otto.id})
    assert changed["document"]["mentor_id"] == otto.id
    await otto.reply(ann_thread["id"], "Agreed with Olive")
    response = await olive.call("POST", f"/threads/{ann_thread['id']}/comments", {"body": "x"})
    assert response.status_code == 403
    # Olive still replies to her own thread, as any author may.
    await olive.reply(mentor_thread["id"], "Following up")

    # A mentor must be a participant of this room.
    other_room = await server.create_room("Elsewhere")
    stranger = await join(server, other_room, Role.MEMBER, "Stan")
    for mentor in (stranger.id, str(uuid.uuid4()), 5):
        response = await fay.call("PATCH", "/documents/plan", {"mentor": mentor})
        assert (response.status_code, error_code(response)) == (422, "invalid_mentor")
    # Only the creator or a facilitator chooses the mentor.
    response = await ann.call("PATCH", "/documents/plan", {"mentor": ann.id})
    assert response.status_code == 403
    cleared = await fay.ok("PATCH", "/documents/plan", {"mentor": None})
    assert cleared["document"]["mentor_id"] is None
    response = await otto.call("POST", "/threads", {"body": "Still?", "document": "plan"})
    assert response.status_code == 403


# ------------------------------------------------------------------ versions


async def test_save_list_view_and_export_versions(server: RunningServer) -> None:
    room, fay, ann, olive, _ = await make_room(server)
    await fay.ok("POST", "/documents", {"name": "guide", "template": "style-guide"}, status=201)
    await fay.ok("POST", "/documents", {"name": "other"}, status=201)
    first_markdown = TEMPLATE_MARKDOWN["style-guide"]
    current_markdown = first_markdown + "\nSecond thought & \\<more\\>\n"

    # Only facilitators save, and a version needs a name.
    for person in (ann, olive):
        response = await person.call("POST", "/documents/guide/versions", {"name": "v"})
        assert (response.status_code, error_code(response)) == (403, "forbidden")
    for body in ({}, {"name": ""}, {"name": "   "}, {"name": 5}, {"name": "x" * 201}):
        response = await fay.call("POST", "/documents/guide/versions", body)
        assert (response.status_code, error_code(response)) == (422, "invalid_name"), body
    response = await fay.call("POST", "/documents/nope/versions", {"name": "v"})
    assert response.status_code == 404
    assert (await ann.ok("GET", "/documents/guide/versions"))["versions"] == []

    first = (
        await fay.ok("POST", "/documents/guide/versions", {"name": " First draft "}, status=201)
    )["version"]
    assert first["name"] == "First draft"
    assert first["reason"] == "manual"
    assert first["created_by"] == fay.id

    client = await open_synced(server.sync_url(room.room.slug) + "/guide", ann.token)
    try:
        await append_from_python(client, [("paragraph", {}, "Second thought & <more>")])
        await eventually(
            lambda: "Second thought" in to_markdown(live_state(server, room, "guide")),
            10,
            "the server to receive the edit",
        )
        current = live_state(server, room, "guide")
    finally:
        await client.close()
    second = (await fay.ok("POST", "/documents/guide/versions", {"name": "Second"}, status=201))[
        "version"
    ]

    # Everyone lists them, newest first.
    for person in (fay, ann, olive):
        listed = (await person.ok("GET", "/documents/guide/versions"))["versions"]
        assert [v["id"] for v in listed] == [second["id"], first["id"]]
        assert listed[1] == first
    assert (await fay.ok("GET", "/documents/other/versions"))["versions"] == []

    # Viewing a version gives its Markdown.
    viewed = await olive.ok("GET", f"/documents/guide/versions/{first['id']}")
    assert viewed == {"version": first, "markdown": first_markdown}
    viewed = await olive.ok("GET", f"/documents/guide/versions/{second['id']}")
    assert viewed["markdown"] == current_markdown

    # Exports of a version and of the document, as downloads.
    exports = {
        f"/documents/guide/versions/{first['id']}/export?format=markdown": (
            first_markdown,
            "text/markdown; charset=utf-8",
            "guide.md",
        ),
        f"/documents/guide/versions/{first['id']}/export?format=html": (
            html_page("guide — First draft", STYLE_GUIDE_BODY),
            "text/html; charset=utf-8",
            "guide.html",
        ),
        "/documents/guide/export?format=markdown": (
            current_markdown,
            "text/markdown; charset=utf-8",
            "guide.md",
        ),
        "/documents/guide/export?format=html": (
            html_page("guide", STYLE_GUIDE_BODY + "<p>Second thought &amp; &lt;more&gt;</p>"),
            "text/html; charset=utf-8",
            "guide.html",
        ),
    }
    for path, (content, media_type, filename) in exports.items():
        response = await olive.call("GET", path)
        assert response.status_code == 200, path
        assert response.text == content, path
        assert response.headers["content-type"] == media_type
        assert response.headers["content-disposition"] == (
            f"attachment; filename*=UTF-8''{quote(filename)}"
        )
    page = (await fay.call("GET", "/documents/guide/export?format=html")).text
    assert "<p>Second thought &amp; &lt;more&gt;</p>" in page
    page = (
        await fay.call("GET", f"/documents/guide/versions/{first['id']}/export?format=html")
    ).text
    assert "<title>guide — First draft</title>" in page
    assert "<h1>Style guide</h1>" in page
    await fay.ok("POST", "/documents", {"name": "My notes"}, status=201)
    response = await fay.call("GET", "/documents/My notes/export?format=markdown")
    assert response.headers["content-disposition"] == "attachment; filename*=UTF-8''My%20notes.md"

    # Unknown or foreign versions, unknown documents, unknown formats.
    missing = first["id"] + second["id"] + 1000
    for path in (
        f"/documents/guide/versions/{missing}",
        f"/documents/guide/versions/{missing}/export?format=markdown",
        f"/documents/other/versions/{first['id']}",
        f"/documents/other/versions/{first['id']}/export?format=html",
        "/documents/nope/versions",
        "/documents/nope/export?format=markdown",
    ):
        response = await fay.call("GET", path)
        assert response.status_code == 404, path
    for path in (
        f"/documents/other/versions/{first['id']}/restore",
        f"/documents/guide/versions/{missing}/restore",
    ):
        response = await fay.call("POST", path)
        assert (response.status_code, error_code(response)) == (404, "unknown_version"), path
    for query in ("", "?format=pdf", "?format=MARKDOWN"):
        response = await fay.call("GET", f"/documents/guide/export{query}")
        assert (response.status_code, error_code(response)) == (400, "invalid_format"), query
    response = await fay.call("GET", f"/documents/guide/versions/{first['id']}/export")
    assert response.status_code == 400

    # Members and observers may not restore; nothing was saved by the refusals.
    for person in (ann, olive):
        response = await person.call("POST", f"/documents/guide/versions/{first['id']}/restore")
        assert (response.status_code, error_code(response)) == (403, "forbidden")
    assert len((await fay.ok("GET", "/documents/guide/versions"))["versions"]) == 2
    assert tree_of_doc(await server.stored_document(room, "guide")) == tree_of_state(current)


async def test_hostile_code_stays_code_in_every_markdown_served(server: RunningServer) -> None:
    """A client writes a code block whose language holds a fence and a tag, and inline
    code holding a blank line and a script; the Markdown export, a version's export and
    a version's JSON, rendered by a viewer that lets raw HTML through, show them as
    code."""
    room, fay, ann, olive, _ = await make_room(server)
    await fay.ok("POST", "/documents", {"name": "notes"}, status=201)
    image, script = "<img src=x onerror=alert(1)>", "<script>alert(1)</script>"
    client = await open_synced(server.sync_url(room.room.slug) + "/notes", ann.token)
    try:
        root = client.doc.get("default", type=XmlFragment)
        with client.doc.transaction():
            language = f"js\n```\n{image}\n```"
            code = root.children.append(XmlElement("codeBlock", {"language": language}))
            code.children.append(XmlText("let x = 1"))
            paragraph = root.children.append(XmlElement("paragraph", {}))
            paragraph.children.append(XmlText()).insert(0, f"a\n\n{script}", {"code": {}})
        await eventually(
            lambda: "alert" in to_markdown(live_state(server, room, "notes")),
            10,
            "the server to receive the edit",
        )
    finally:
        await client.close()
    version = (await fay.ok("POST", "/documents/notes/versions", {"name": "v"}, status=201))[
        "version"
    ]

    served = {
        "export": (await olive.call("GET", "/documents/notes/export?format=markdown")).text,
        "version export": (
            await olive.call(
                "GET", f"/documents/notes/versions/{version['id']}/export?format=markdown"
            )
        ).text,
        "version": (await olive.ok("GET", f"/documents/notes/versions/{version['id']}"))[
            "markdown"
        ],
    }
    for where, markdown in served.items():
        page = read_markdown(markdown)
        assert page.elements == [("pre", {}), ("code", {}), ("p", {}), ("code", {})], where
        assert page.markup == [], where
        assert " ".join("".join(page.text).split()) == f"let x = 1 a {script}", where


async def test_versions_and_restore_on_every_database(database_url: str) -> None:
    async with run_server(fast_settings(database_url)) as server:
        room, fay, ann, _, _ = await make_room(server)
        await fay.ok("POST", "/documents", {"name": "plan", "template": "action-plan"}, 201)
        saved = (await fay.ok("POST", "/documents/plan/versions", {"name": "v1"}, 201))["version"]
        original = template_state("action-plan")

        client = await open_synced(server.sync_url(room.room.slug) + "/plan", ann.token)
        try:
            await append_from_python(client, [("heading", {"level": 2}, "Extra")])
            await eventually(
                lambda: "## Extra" in to_markdown(live_state(server, room, "plan")),
                10,
                "the server to receive the edit",
            )
            backup = (await fay.ok("POST", f"/documents/plan/versions/{saved['id']}/restore"))[
                "backup"
            ]
            assert backup["reason"] == "restore"
            assert backup["name"] == "Before restoring “v1”"
            await client.wait_until(lambda: tree_of_doc(client.doc) == tree_of_state(original))
        finally:
            await client.close()

        listed = (await fay.ok("GET", "/documents/plan/versions"))["versions"]
        assert [v["id"] for v in listed] == [backup["id"], saved["id"]]
        viewed = await fay.ok("GET", f"/documents/plan/versions/{backup['id']}")
        assert viewed["markdown"] == TEMPLATE_MARKDOWN["action-plan"] + "\n## Extra\n"
        stored = await server.stored_document(room, "plan")
        assert tree_of_doc(stored) == tree_of_state(original)
        exported = await fay.call("GET", "/documents/plan/export?format=markdown")
        assert exported.text == TEMPLATE_MARKDOWN["action-plan"]


# ------------------------------------------------------------------ with Node clients


RICH_A = [
    insert(
        [],
        node("heading", text("Action plan"), level=1),
        para(
            "Mentor: ", ("Ada", BOLD), ", see ", ("the guide", {"link": {"href": "https://e.com"}})
        ),
        node(
            "bulletList",
            node("listItem", para("Goal one"), node("orderedList", node("listItem", para("step")))),
            node("listItem", para(("Goal two", ITALIC))),
        ),
    ),
]
RICH_B = [
    insert(
        [],
        node(
            "taskList",
            node("taskItem", para("Draft"), checked=True),
            node("taskItem", para("Review"), checked=False),
        ),
        node("blockquote", para("Quoted ", ("words", {"strike": {}})), node("horizontalRule")),
        node("codeBlock", text("let x = 1\n```\n"), language="js"),
        node("paragraph", text("line"), node("hardBreak"), text("break")),
        node("orderedList", node("listItem", para("three")), start=3),
        node("paragraph"),
    ),
]


async def test_restore_reaches_every_connected_client(
    server: RunningServer, puppet: NodePuppet
) -> None:
    room, fay, ann, _, _ = await make_room(server)
    bob = await join(server, room, Role.MEMBER, "Bob")
    await fay.ok("POST", "/documents", {"name": "plan"}, status=201)
    a, b = puppet.client("a"), puppet.client("b")
    for client, person in ((a, ann), (b, bob)):
        await client.connect(server.sync_url(room.room.slug), "plan", person.token)
        await client.wait_synced(WAIT)
        await client.watch_xml()

    # Version 1: rich content from both clients, one editing the other's text too.
    await a.xml_edit(*RICH_A)
    await converged([a, b])
    await b.xml_edit(*RICH_B)
    await converged([b, a])
    await b.xml_edit(
        {"do": "format", "path": [1, 0], "index": 0, "length": 6, "attributes": ITALIC},
        {"do": "insertText", "path": [0, 0], "index": 6, "text": " (v1)"},
    )
    v1 = await converged([b, a])
    assert "<bold>Ada</bold>" in v1["xml"] and "(v1)" in v1["xml"]
    await server_holds(server, room, "plan", v1["tree"])
    v1_state = live_state(server, room, "plan")
    saved = (await fay.ok("POST", "/documents/plan/versions", {"name": "v1"}, status=201))[
        "version"
    ]

    # Heavy changes from both clients, the last ones concurrent.
    await a.xml_edit(
        {"do": "delete", "path": [], "index": 0, "length": 1},  # the heading
        {"do": "delete", "path": [1, 0, 0, 0], "index": 0, "length": 4},  # "Goal" of Goal one
        {"do": "setAttribute", "path": [2, 0], "name": "checked", "value": False},
        {"do": "format", "path": [0, 0], "index": 0, "length": 5, "attributes": {"bold": {}}},
        insert([], node("heading", text("Replaced"), level=4), index=0),
    )
    await converged([a, b])
    await puppet.batch(
        b.command(
            "xmlEdit",
            actions=[
                {"do": "delete", "path": [], "index": 4, "length": 3},
                {"do": "setAttribute", "path": [0], "name": "level", "value": 2},
                {
                    "do": "format",
                    "path": [1, 0],
                    "index": 8,
                    "length": 3,
                    "attributes": {"bold": None},
                },
            ],
        ),
        a.command(
            "xmlEdit",
            actions=[
                {"do": "insertText", "path": [1, 0], "index": 0, "text": "NEW "},
                insert([], para(("appended", BOLD)), node("horizontalRule")),
                {"do": "removeAttribute", "path": [3, 0], "name": "checked"},
            ],
        ),
    )
    changed = await converged(
        [a, b], lambda xml: "appended" in xml and 'level="2"' in xml and "NEW" in xml
    )
    assert changed["xml"] != v1["xml"]
    await server_holds(server, room, "plan", changed["tree"])
    changed_state = live_state(server, room, "plan")

    async with event_feed(events_url(server, fay)) as feed:
        restored = await fay.ok("POST", f"/documents/plan/versions/{saved['id']}/restore")
        backup = restored["backup"]
        assert backup["reason"] == "restore"
        assert backup["created_by"] == fay.id
        event = await feed.wait_for(lambda m: m.get("type") == "document.restored")
        assert event["data"] == {
            "document": "plan",
            "version": saved,
            "by": "Fay",
        }
        saved_event = await feed.wait_for(
            lambda m: (
                m.get("type") == "version.saved" and m["data"]["version"]["id"] == backup["id"]
            )
        )
        assert saved_event["seq"] < event["seq"]

    # Both connected clients hold exactly version 1 again.
    for client in (a, b):
        await client.wait_xml(lambda e: e["xml"] == v1["xml"], WAIT)
        dump = await client.xml_dump()
        assert dump["xml"] == v1["xml"]
        assert dump["json"] == v1["json"]
        assert dump["tree"] == v1["tree"]
    await server_holds(server, room, "plan", v1["tree"])
    assert to_markdown(live_state(server, room, "plan")) == to_markdown(v1_state)
    assert tree_of_doc(await server.stored_document(room, "plan")) == v1["tree"]

    # The backup holds the content from just before the restore.
    versions = (await fay.ok("GET", "/documents/plan/versions"))["versions"]
    assert [v["id"] for v in versions] == [backup["id"], saved["id"]]
    _, backup_state = await server.app_state.controls.version(room.room, "plan", backup["id"])
    assert tree_of_state(backup_state) == changed["tree"]
    viewed = await fay.ok("GET", f"/documents/plan/versions/{backup['id']}")
    assert viewed["markdown"] == to_markdown(changed_state)

    # The restored content is an ordinary document: edits keep flowing, and a client
    # that joins now receives it.
    await b.xml_edit({"do": "insertText", "path": [1, 0], "index": 0, "text": "After: "})
    after = await converged([b, a])
    assert "<paragraph>After: <italic>Mentor</italic>: " in after["xml"]
    late = puppet.client("late")
    await late.connect(server.sync_url(room.room.slug), "plan", fay.token)
    await late.wait_synced(WAIT)
    assert (await late.xml_dump())["tree"] == after["tree"]


async def test_restore_keeps_marked_non_ascii_text(
    server: RunningServer, puppet: NodePuppet
) -> None:
    room, fay, ann, _, _ = await make_room(server)
    await fay.ok("POST", "/documents", {"name": "plan"}, status=201)
    a = puppet.client("a")
    await a.connect(server.sync_url(room.room.slug), "plan", ann.token)
    await a.wait_synced(WAIT)
    await a.watch_xml()
    await a.xml_edit(insert([], para("Café — see ", ("the guide", BOLD), " ✓")))
    v1 = await a.xml_dump()
    await server_holds(server, room, "plan", v1["tree"])
    saved = (await fay.ok("POST", "/documents/plan/versions", {"name": "v1"}, status=201))[
        "version"
    ]
    await a.xml_edit({"do": "delete", "path": [], "index": 0, "length": 1})
    await a.wait_xml(lambda e: e["xml"] == "", WAIT)
    await server_holds(server, room, "plan", {"name": None, "children": []})

    await fay.ok("POST", f"/documents/plan/versions/{saved['id']}/restore")
    await a.wait_xml(lambda e: e["xml"] != "", WAIT)
    assert (await a.xml_dump())["xml"] == v1["xml"]


# What a reader downloads of RICH_A, RICH_B and two paragraphs of hostile and non-ASCII
# text, written out.
NODE_NOTES_MARKDOWN = (
    "# Action plan\n"
    "\n"
    "Mentor: **Ada**, see [the guide](https://e.com)\n"
    "\n"
    "- Goal one\n"
    "  1. step\n"
    "- *Goal two*\n"
    "\n"
    "- [x] Draft\n"
    "- [ ] Review\n"
    "\n"
    "> Quoted ~~words~~\n"
    ">\n"
    "> ---\n"
    "\n"
    "````js\n"
    "let x = 1\n"
    "```\n"
    "\n"
    "````\n"
    "\n"
    "line\\\n"
    "break\n"
    "\n"
    "3. three\n"
    "\n"
    "\n"
    "\n"
    "\\<script\\>alert('x')\\</script\\> & bad [mail](mailto:ann@example.com)\n"
    "\n"
    "Café — naïve **🎉 done** ✓\n"
)

NODE_NOTES_HTML_BODY = (
    "<h1>Action plan</h1>"
    "<p>Mentor: <strong>Ada</strong>, see "
    '<a href="https://e.com" rel="noopener noreferrer nofollow">the guide</a></p>'
    "<ul><li><p>Goal one</p><ol><li><p>step</p></li></ol></li>"
    "<li><p><em>Goal two</em></p></li></ul>"
    '<ul data-type="taskList">'
    '<li data-checked="true"><input type="checkbox" disabled checked> <p>Draft</p></li>'
    '<li data-checked="false"><input type="checkbox" disabled> <p>Review</p></li></ul>'
    "<blockquote><p>Quoted <s>words</s></p><hr></blockquote>"
    '<pre><code class="language-js">let x = 1\n```\n</code></pre>'
    "<p>line<br>break</p>"
    '<ol start="3"><li><p>three</p></li></ol>'
    "<p></p>"
    "<p>&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; bad "
    '<a href="mailto:ann@example.com" rel="noopener noreferrer nofollow">mail</a></p>'
    "<p>Café — naïve <strong>🎉 done</strong> ✓</p>"
)


async def test_export_matches_what_a_node_client_wrote(
    server: RunningServer, puppet: NodePuppet
) -> None:
    room, fay, ann, olive, _ = await make_room(server)
    a = puppet.client("a")
    await a.connect(server.sync_url(room.room.slug), "notes", ann.token)
    await a.wait_synced(WAIT)
    await a.xml_edit(
        *RICH_A,
        *RICH_B,
        insert(
            [],
            para(
                "<script>alert('x')</script> & ",
                ("bad", {"link": {"href": "javascript:alert(1)"}}),
                " ",
                ("mail", {"link": {"href": "mailto:ann@example.com"}}),
            ),
            para("Café — naïve ", ("🎉 done", BOLD), " ✓"),
        ),
    )
    written = await a.xml_dump()
    await server_holds(server, room, "notes", written["tree"])

    markdown = await olive.call("GET", "/documents/notes/export?format=markdown")
    assert markdown.status_code == 200
    assert markdown.text == NODE_NOTES_MARKDOWN
    assert "javascript:" not in markdown.text

    page = await fay.call("GET", "/documents/notes/export?format=html")
    assert page.text == html_page("notes", NODE_NOTES_HTML_BODY)
    assert "javascript:" not in page.text
    assert "<script>" not in page.text
