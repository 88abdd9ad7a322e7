"""Offline that survives a closed tab (real server stopped and started again, real
Chromium): edits made while the server is gone are kept in the browser (IndexedDB),
counted in the header's pill, and reach the server and the others once it is back, even
when the tab was closed meanwhile or another document is open; read-only people (and
anyone in a locked document) send nothing; someone refused the room leaves no copy."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Browser, ConsoleMessage, Error, WebSocket, expect
from pycrdt import XmlFragment

from rooms.roles import Role
from tests.browser.conftest import Client, Clients, Restarts
from tests.browser.test_web_client import DOC, expect_text, join_doc, open_room
from tests.support.harness import run_server
from tests.support.settings import fast_settings
from tests.support.timing import eventually

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

OTHER = "agenda"

# While the server is down, the page says so in the console (failed sockets and fetches).
GONE = "WebSocket|ERR_CONNECTION_REFUSED|Failed to load"

# The names of this page's IndexedDB databases that hold room copies.
_COPIES = """async () => (await indexedDB.databases())
  .map((db) => db.name).filter((name) => name.startsWith('roundtable/'))"""

# Whether the page's last listing of databases had no room copy (polled: it lists anew
# on each call).
_NO_COPIES_LEFT = """() => {
  indexedDB.databases().then((dbs) => {
    window.__rtCopiesLeft = dbs.filter((db) => db.name.startsWith('roundtable/')).length
  })
  return window.__rtCopiesLeft === 0
}"""

# The document's text without other people's caret labels.
_DOC_TEXT = """() => {
  const copy = document.querySelector('.rt-prose').cloneNode(true)
  for (const caret of copy.querySelectorAll('.collaboration-carets__caret')) caret.remove()
  return copy.textContent
}"""


async def reopen(client: Client, url: str, sent: list[bytes] | None = None) -> None:
    """Open ``url`` in a new tab of ``client``'s browser (its storage kept), in place of
    the tab it had; the new tab's errors are recorded like the first's, and the frames
    it sends on document sockets go to ``sent``."""
    page = await client.context.new_page()
    if sent is not None:

        def on_socket(socket: WebSocket) -> None:
            if "/sync/" in socket.url:
                socket.on(
                    "framesent",
                    lambda frame: sent.append(
                        bytes(frame, "latin-1") if isinstance(frame, str) else frame
                    ),
                )

        page.on("websocket", on_socket)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            client.console_errors.append(message.text)

    def on_page_error(error: Error) -> None:
        client.page_errors.append(f"{error.name}: {error.message}\n{error.stack}")

    page.on("console", on_console)
    page.on("pageerror", on_page_error)
    client.page = page
    await page.goto(url)


async def open_document(client: Client, name: str) -> None:
    await client.page.get_by_role("button", name=name, exact=True).click()
    await expect(client.page.get_by_role("textbox", name=f"Document {name}")).to_be_visible()


async def stored_text(server: Any, room: Any) -> str:
    stored = await server.stored_document(room, DOC)
    return str(stored.get("default", type=XmlFragment))


async def test_edits_made_offline_survive_a_closed_tab_and_reach_the_others(
    restarts: Restarts,
) -> None:
    async with restarts.run() as first:
        clients = restarts.clients
        room, fay = await open_room(first, clients, "Shared.")
        mia = await join_doc(clients, room, Role.MEMBER, "Mia")
        await expect(mia.status).to_have_text("Online · saved")
        # Mia keeps a copy of the document in her browser, named for her alone.
        copies = await mia.page.evaluate(_COPIES)
        assert len(copies) == 1, copies
        assert room.room.slug in copies[0] and copies[0].endswith("/" + DOC)
    for client in (fay, mia):
        await expect(client.status).to_have_attribute("data-state", "offline")
        clients.allow_console(client, GONE)

    await mia.type_at_end(" Typed")
    await expect(mia.status).to_have_text("Offline · 6 edits waiting")
    await mia.page.keyboard.type(" offline.")
    await expect(mia.status).to_have_text("Offline · 15 edits waiting")
    await expect(mia.status).to_have_attribute("data-waiting", "15")
    # The tab closes once the browser's copy holds every edit (a few milliseconds).
    await expect(mia.status).to_have_attribute("data-copy", "kept")
    await mia.screenshot("desktop-offline-edits-waiting")
    room_url = mia.page.url
    await mia.page.close()

    async with restarts.run() as second:
        await expect(fay.status).to_have_text("Online · saved", timeout=30_000)
        # Nobody had Mia's edits but her closed tab's copy.
        await expect_text(fay, "Shared.")
        assert "offline" not in await stored_text(second, room)

        await reopen(mia, room_url)
        await expect(mia.status).to_have_text("Online · saved", timeout=30_000)
        await expect_text(mia, "Shared. Typed offline.")
        await expect_text(fay, "Shared. Typed offline.")
        assert "Shared. Typed offline." in await stored_text(second, room)
        # The reopened tab edits on as before.
        await mia.type_at_end(" Back.")
        await expect_text(fay, "Shared. Typed offline. Back.")
    clients.assert_clean()


async def test_the_pill_counts_edits_waiting_until_the_server_confirms_them_on_a_phone(
    restarts: Restarts,
) -> None:
    async with restarts.run() as first:
        clients = restarts.clients
        room, fay = await open_room(first, clients, "Agenda.")
        pia = await join_doc(clients, room, Role.MEMBER, "Pia", phone=True)
        await expect(pia.status).to_have_text("Online · saved")
    for client in (fay, pia):
        await expect(client.status).to_have_attribute("data-state", "offline")
        clients.allow_console(client, GONE)
    await expect(pia.status).to_have_text("Offline · reconnecting…")

    await pia.editor.tap()
    await pia.page.keyboard.press("Control+End")
    for key in ["Enter", "a", "b"]:
        await pia.page.keyboard.press(key)
    await expect(pia.status).to_have_text("Offline · 3 edits waiting")
    overflow = await pia.page.evaluate("document.documentElement.scrollWidth - innerWidth")
    assert overflow <= 0, f"the pill makes the page scroll sideways by {overflow}px"
    await pia.screenshot("phone-offline-edits-waiting")

    async with restarts.run() as second:
        await expect(pia.status).to_have_text("Online · saved", timeout=30_000)
        await expect(pia.status).to_have_attribute("data-waiting", "0")
        await expect_text(fay, "Agenda.ab")
        assert "<paragraph>ab</paragraph>" in await stored_text(second, room)
    clients.assert_clean()


async def test_offline_edits_merge_with_a_version_restored_meanwhile(restarts: Restarts) -> None:
    """The document changed a lot while the tab was closed (a facilitator restored an
    earlier version): the kept edits merge into it and nothing throws."""
    async with restarts.run() as first:
        clients = restarts.clients
        room, fay = await open_room(first, clients, "First draft.")
        version = await fay.api("POST", f"/documents/{DOC}/versions", {"name": "v1"})
        await fay.type_at_end(" Second draft.")
        mia = await join_doc(clients, room, Role.MEMBER, "Mia")
        await expect_text(mia, "First draft. Second draft.")
    for client in (fay, mia):
        await expect(client.status).to_have_attribute("data-state", "offline")
        clients.allow_console(client, GONE)
    # A paragraph of her own: text typed into a paragraph the restore replaces goes
    # with that paragraph (the merge keeps it, deleted), a paragraph of its own stays.
    await mia.type_at_end("")
    await mia.page.keyboard.press("Enter")
    await mia.page.keyboard.type("Mia was here.")
    await expect(mia.status).to_have_text("Offline · 14 edits waiting")
    await expect(mia.status).to_have_attribute("data-copy", "kept")
    room_url = mia.page.url
    await mia.page.close()

    async with restarts.run() as second:
        await expect(fay.status).to_have_text("Online · saved", timeout=30_000)
        version_id = version["version"]["id"]
        await fay.api("POST", f"/documents/{DOC}/versions/{version_id}/restore")
        await expect_text(fay, "First draft.")

        await reopen(mia, room_url)
        await expect(mia.status).to_have_text("Online · saved", timeout=30_000)
        await expect_text(fay, "Mia was here.", exact=False)
        await expect_text(mia, "Mia was here.", exact=False)
        await expect_text(fay, "First draft.", exact=False)
        # Both see the same merge (which paragraph comes first is the CRDT's choice).
        merged = await fay.page.evaluate(_DOC_TEXT)
        assert merged in ("First draft.Mia was here.", "Mia was here.First draft."), merged
        await expect_text(mia, merged)
        assert "Mia was here." in await stored_text(second, room)
    clients.assert_clean()


async def test_readers_keep_no_copy_and_a_removed_member_loses_theirs(
    browser: Browser, sqlite_url: str
) -> None:
    settings = fast_settings(sqlite_url)
    async with run_server(settings) as server:
        clients = Clients(browser, server)
        try:
            room, fay = await open_room(server, clients, "Notes.")
            oscar = await join_doc(clients, room, Role.OBSERVER, "Oscar")
            mia = await join_doc(clients, room, Role.MEMBER, "Mia")
            await expect(oscar.status).to_have_text("Online")
            assert await oscar.page.evaluate(_COPIES) == []
            assert len(await mia.page.evaluate(_COPIES)) == 1

            participants = await fay.api("GET", "/participants")
            mia_id = next(p["id"] for p in participants["participants"] if p["name"] == "Mia")
            await fay.api("DELETE", f"/participants/{mia_id}", None)
            await expect(
                mia.page.get_by_role("heading", name="You are not in this room")
            ).to_be_visible()
            clients.allow_console(mia, "Failed to load resource|WebSocket")
            await mia.page.wait_for_function(_NO_COPIES_LEFT)
            clients.assert_clean()
        finally:
            await clients.close()


async def test_edits_in_two_documents_are_all_sent_whichever_is_open(restarts: Restarts) -> None:
    """Edits made offline in a document left for another one, tab closed, come back
    reopened on the other document: the first one's edits are sent all the same."""
    async with restarts.run() as first:
        clients = restarts.clients
        room, fay = await open_room(first, clients, "Shared.")
        await fay.create_document(OTHER)
        await fay.type_at_end("Other.")
        await open_document(fay, DOC)
        mia = await join_doc(clients, room, Role.MEMBER, "Mia")
        await open_document(mia, OTHER)
        await expect_text(mia, "Other.")
        await open_document(mia, DOC)
    for client in (fay, mia):
        await expect(client.status).to_have_attribute("data-state", "offline")
        clients.allow_console(client, GONE)

    await mia.type_at_end(" One.")
    await expect(mia.status).to_have_text("Offline · 5 edits waiting")
    await open_document(mia, OTHER)
    # The document left behind still counts.
    await expect(mia.status).to_have_text("Offline · 5 edits waiting")
    await mia.type_at_end(" Two.")
    await expect(mia.status).to_have_text("Offline · 10 edits waiting")
    await expect(mia.status).to_have_attribute("data-copy", "kept")
    await mia.page.close()

    async with restarts.run() as second:
        await reopen(mia, f"{second.http}/room/{room.room.slug}?doc={OTHER}")
        await expect(mia.status).to_have_text("Online · saved", timeout=30_000)
        await expect_text(mia, "Other. Two.")
        # Fay, in the other document, gets its edits without Mia opening it.
        await expect_text(fay, "Shared. One.")
        stored = await second.stored_document(room, OTHER)
        assert "Other. Two." in str(stored.get("default", type=XmlFragment))
        await open_document(mia, DOC)
        await expect_text(mia, "Shared. One.")
    clients.assert_clean()


async def test_edits_kept_while_the_document_was_locked_wait_until_it_is_unlocked(
    restarts: Restarts,
) -> None:
    """A member comes back with kept edits to a document locked meanwhile: the page sends
    nothing and says the edits wait; once unlocked they go out."""
    async with restarts.run() as first:
        clients = restarts.clients
        room, fay = await open_room(first, clients, "Draft.")
        mia = await join_doc(clients, room, Role.MEMBER, "Mia")
    for client in (fay, mia):
        await expect(client.status).to_have_attribute("data-state", "offline")
        clients.allow_console(client, GONE)
    await mia.type_at_end(" Late.")
    await expect(mia.status).to_have_text("Offline · 6 edits waiting")
    await expect(mia.status).to_have_attribute("data-copy", "kept")
    await mia.page.close()

    async with restarts.run() as second:
        await expect(fay.status).to_have_text("Online · saved", timeout=30_000)
        await fay.api("PUT", f"/documents/{DOC}/lock", {"locked": True})
        sent: list[bytes] = []
        await reopen(mia, f"{second.http}/room/{room.room.slug}?doc={DOC}", sent)
        await expect(mia.editor).to_have_attribute("contenteditable", "false")
        await expect(mia.status).to_have_text(
            "Online · 6 edits wait until the document is unlocked", timeout=30_000
        )
        await expect_text(mia, "Draft. Late.")
        # Nothing of hers reached the server: proved by Fay typing after her page
        # connected and the server holding Fay's words but not hers.
        await fay.type_at_end(" Fay.")
        await expect_text(mia, "Fay.", exact=False)
        text = await stored_text(second, room)
        assert "Fay." in text and "Late." not in text, text
        # Her page asked for the document (sync step 1) but sent no content: no sync
        # step 2 and no update.
        assert sent, "no frame was sent"
        assert not [f for f in sent if f[:2] in (b"\x00\x01", b"\x00\x02")], sent

        await fay.api("PUT", f"/documents/{DOC}/lock", {"locked": False})
        await expect(mia.status).to_have_text("Online · saved", timeout=30_000)
        await expect_text(fay, "Late.", exact=False)
        assert "Late." in await stored_text(second, room)
    clients.assert_clean()


async def test_typing_faster_than_the_message_limit_loses_nothing(
    browser: Browser, sqlite_url: str
) -> None:
    """The server closes a connection that sends more than its message budget with 4429,
    "too many messages": a signal to slow down, not a refusal. The page reconnects and
    sends everything typed; nothing waits for a reload."""
    settings = fast_settings(sqlite_url, max_messages_per_second=5.0, message_burst=20)
    async with run_server(settings) as server:
        clients = Clients(browser, server)
        try:
            room = await server.create_room("Hurry")
            fay = await clients.new("Fay")
            closes: list[str] = []
            fay.page.on("websocket", lambda ws: ws.on("close", lambda w: closes.append(w.url)))
            await clients.enter(fay, room.invites[Role.FACILITATOR])
            await fay.create_document(DOC)
            lines = [f"Line {i:02d} typed in a hurry." for i in range(6)]
            await fay.editor.click()
            for line in lines:
                await fay.page.keyboard.type(line)
                await fay.page.keyboard.press("Enter")
            # Typing ~150 messages at a budget of 20 + 5/s closed the connection.
            await eventually(
                lambda: any("/sync/" in url for url in closes),
                10,
                "the server closing the hurried connection",
            )
            await expect(fay.status).to_have_text("Online · saved", timeout=60_000)
            stored = await server.stored_document(room, DOC)
            text = str(stored.get("default", type=XmlFragment))
            for line in lines:
                assert line in text
            clients.assert_clean()
        finally:
            await clients.close()
