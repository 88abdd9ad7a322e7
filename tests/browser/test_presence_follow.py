"""Presence in the web client: following someone, the spotlight's opt-out, idle and away.

What docs/controls.md promises under "Presence": a follower goes to the document the
roster shows for the person followed and keeps their caret in view; the spotlight takes
along every member who did not opt out; a participant is idle after 60 s without input
and away while their page is hidden, as everyone's roster shows.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from playwright.async_api import Locator, expect

from rooms.directory import CreatedRoom
from rooms.roles import Role
from tests.browser.conftest import Client, Clients
from tests.support.harness import RunningServer
from tests.support.timing import timeout

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

DOC = "notes"
OTHER = "second"
LINES = 60
IDLE_AFTER_MS = 60_000
OPT_OUT = "Don't follow the facilitator's spotlight"

# Every text message the page sends on a WebSocket, in order (the presence it reports).
_RECORD_SENT = """
window.__rtSent = []
const send = WebSocket.prototype.send
WebSocket.prototype.send = function (data) {
  if (typeof data === 'string') window.__rtSent.push(data)
  return send.call(this, data)
}
"""

_SENT_STATES = """() => window.__rtSent.map((text) => JSON.parse(text))
  .filter((message) => message.type === 'presence' && 'state' in message)
  .map((message) => message.state)"""

# What a browser does when the tab goes to the background or comes back.
_SET_VISIBILITY = """(state) => {
  Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => state })
  Object.defineProperty(document, 'hidden', { configurable: true, get: () => state === 'hidden' })
  document.dispatchEvent(new Event('visibilitychange'))
}"""


def person(client: Client, name: str) -> Locator:
    """``name``'s row in the roster ``client`` sees."""
    page = client.page
    return page.locator("li.rt-person", has=page.locator(".rt-person-name", has_text=name))


def follow_button(client: Client, name: str) -> Locator:
    return person(client, name).get_by_role("button", name="Follow", exact=True)


def stop_button(client: Client, name: str) -> Locator:
    return person(client, name).get_by_role("button", name="Stop following")


def current_document(client: Client) -> Locator:
    return client.page.locator('.rt-doc-button[aria-current="page"]')


def caret_of(client: Client, participant_id: str, paragraph: int | None = None) -> Locator:
    """Another participant's caret in ``client``'s editor (in its ``paragraph``-th one)."""
    within = client.editor if paragraph is None else client.editor.locator("p").nth(paragraph)
    return within.locator(f'.collaboration-carets__caret[data-participant="{participant_id}"]')


async def open_document(client: Client, name: str) -> None:
    await client.page.get_by_role("button", name=name, exact=True).click()
    await expect(client.page.get_by_role("textbox", name=f"Document {name}")).to_be_visible()


async def join_room(clients: Clients, room: CreatedRoom, role: Role, name: str) -> Client:
    """Someone joins once DOC exists: the room opens it for them."""
    client = await clients.join(room.invites[role], name)
    await expect(current_document(client)).to_have_text(DOC)
    await expect(client.status).to_have_attribute("data-state", "online")
    return client


async def roster_row(
    server: RunningServer,
    room: CreatedRoom,
    reader: Client,
    name: str,
    condition: Callable[[dict[str, Any]], bool],
) -> dict[str, Any]:
    """Wait until ``name``'s row in ``GET /roster`` (asked with ``reader``'s token)
    satisfies ``condition``, and return it."""
    slug = room.room.slug
    token = await reader.page.evaluate(
        "(key) => JSON.parse(localStorage.getItem(key)).token", f"roundtable:{slug}"
    )
    rows: list[dict[str, Any]] = []
    async with httpx.AsyncClient(
        base_url=server.http, headers={"Authorization": f"Bearer {token}"}
    ) as http:
        try:
            async with asyncio.timeout(timeout(10)):
                while True:
                    response = await http.get(f"/api/rooms/{slug}/roster")
                    response.raise_for_status()
                    rows = response.json()["roster"]
                    for row in rows:
                        if row["name"] == name and condition(row):
                            return row
                    # The roster has no event to wait on over HTTP: ask again shortly.
                    await asyncio.sleep(0.05)
        except TimeoutError:
            raise AssertionError(f"{name}'s roster row never matched; the roster: {rows}") from None


async def participant_id(
    server: RunningServer, room: CreatedRoom, reader: Client, name: str
) -> str:
    row = await roster_row(server, room, reader, name, lambda row: True)
    found: str = row["id"]
    return found


async def caret_at_end(client: Client) -> None:
    """Put ``client``'s caret at the end of the open document."""
    await client.editor.click()
    await client.page.keyboard.press("Control+End")


async def long_document(server: RunningServer, clients: Clients) -> tuple[CreatedRoom, Client]:
    """A room whose facilitator Fay wrote DOC, taller than the window, and created OTHER."""
    room = await server.create_room("Follow me")
    fay = await clients.join(room.invites[Role.FACILITATOR], "Fay")
    await fay.create_document(DOC)
    await fay.editor.click()
    for line in range(LINES):
        await fay.page.keyboard.insert_text(f"Line {line} of the notes.")
        await fay.page.keyboard.press("Enter")
    await fay.page.keyboard.insert_text("The last line.")
    await fay.create_document(OTHER)
    await open_document(fay, DOC)
    return room, fay


async def watched_member(server: RunningServer, clients: Clients) -> tuple[Client, Locator]:
    """Mia, a member whose page runs on a clock the test moves and records the presence it
    sends, and her state in the roster of Fay, the facilitator (shown active)."""
    room = await server.create_room("Activity")
    fay = await clients.join(room.invites[Role.FACILITATOR], "Fay")
    mia = await clients.new("Mia")
    await mia.page.clock.install()
    await mia.context.add_init_script(_RECORD_SENT)
    await clients.enter(mia, room.invites[Role.MEMBER])
    state = person(fay, "Mia").locator(".rt-state")
    await expect(state).to_have_text("active")
    return mia, state


async def test_following_a_member_goes_to_their_caret_and_document_until_stopped(
    server: RunningServer, clients: Clients
) -> None:
    room, fay = await long_document(server, clients)
    mia = await join_room(clients, room, Role.MEMBER, "Mia")
    ned = await join_room(clients, room, Role.MEMBER, "Ned")
    ned_id = await participant_id(server, room, fay, "Ned")

    # Ned works at the end of the notes, below what Mia's window shows.
    await caret_at_end(ned)
    await expect(caret_of(mia, ned_id, paragraph=-1)).to_have_count(1)
    await expect(caret_of(mia, ned_id)).not_to_be_in_viewport()

    await follow_button(mia, "Ned").click()
    await expect(caret_of(mia, ned_id)).to_be_in_viewport()
    await expect(stop_button(mia, "Ned")).to_have_attribute("aria-pressed", "true")
    await expect(follow_button(mia, "Fay")).to_have_attribute("aria-pressed", "false")
    await roster_row(server, room, fay, "Mia", lambda row: row["following"] == ned_id)

    # Where Ned goes, Mia goes.
    await open_document(ned, OTHER)
    await expect(current_document(mia)).to_have_text(OTHER)
    await expect(mia.page.get_by_role("textbox", name=f"Document {OTHER}")).to_be_visible()

    await stop_button(mia, "Ned").click()
    await expect(follow_button(mia, "Ned")).to_have_attribute("aria-pressed", "false")
    await roster_row(server, room, fay, "Mia", lambda row: row["following"] is None)
    # Mia's roster shows Ned back in the notes: she stays where she is.
    await open_document(ned, DOC)
    await expect(person(mia, "Ned").locator(".rt-person-meta")).to_contain_text(DOC)
    await expect(current_document(mia)).to_have_text(OTHER)

    # Following him again takes her to the document he is in.
    await follow_button(mia, "Ned").click()
    await expect(current_document(mia)).to_have_text(DOC)
    await expect(mia.status).to_have_attribute("data-state", "online")


async def test_following_keeps_up_as_their_caret_moves(
    server: RunningServer, clients: Clients
) -> None:
    room, fay = await long_document(server, clients)
    mia = await join_room(clients, room, Role.MEMBER, "Mia")
    ned = await join_room(clients, room, Role.MEMBER, "Ned")
    ned_id = await participant_id(server, room, fay, "Ned")
    await caret_at_end(ned)
    await expect(caret_of(mia, ned_id, paragraph=-1)).to_have_count(1)
    await follow_button(mia, "Ned").click()
    await expect(caret_of(mia, ned_id)).to_be_in_viewport()
    await expect(mia.editor.locator("p").first).not_to_be_in_viewport()

    await ned.page.keyboard.press("Control+Home")
    await expect(caret_of(mia, ned_id, paragraph=0)).to_have_count(1)
    await expect(caret_of(mia, ned_id)).to_be_in_viewport()


async def test_the_spotlight_moves_members_who_did_not_opt_out(
    server: RunningServer, clients: Clients
) -> None:
    room = await server.create_room("Spotlight")
    fay = await clients.join(room.invites[Role.FACILITATOR], "Fay")
    await fay.create_document(DOC)
    await fay.create_document(OTHER)
    await open_document(fay, DOC)
    mia = await join_room(clients, room, Role.MEMBER, "Mia")
    ned = await join_room(clients, room, Role.MEMBER, "Ned")

    await mia.page.get_by_label(OPT_OUT).check()
    await roster_row(server, room, fay, "Mia", lambda row: row["spotlight_opt_out"] is True)
    await roster_row(server, room, fay, "Ned", lambda row: row["spotlight_opt_out"] is False)

    await open_document(fay, OTHER)
    await fay.page.get_by_role("button", name="Spotlight me").click()
    for client in (mia, ned):
        await expect(client.page.locator(".rt-banner")).to_have_text("Fay has the spotlight.")
        await expect(person(client, "Fay")).to_contain_text("spotlight")
    # Ned did not opt out: he goes where Fay is, following her.
    await expect(current_document(ned)).to_have_text(OTHER)
    await expect(stop_button(ned, "Fay")).to_have_attribute("aria-pressed", "true")
    # Mia opted out: the spotlight reached her page, and she stays where she was.
    await expect(current_document(mia)).to_have_text(DOC)
    await expect(follow_button(mia, "Fay")).to_have_attribute("aria-pressed", "false")

    await open_document(fay, DOC)
    await expect(current_document(ned)).to_have_text(DOC)

    # Opting out during the spotlight stops following it.
    await ned.page.get_by_label(OPT_OUT).check()
    await expect(follow_button(ned, "Fay")).to_have_attribute("aria-pressed", "false")
    await open_document(fay, OTHER)
    await expect(person(ned, "Fay").locator(".rt-person-meta")).to_contain_text(OTHER)
    await expect(current_document(ned)).to_have_text(DOC)

    await fay.page.get_by_role("button", name="End spotlight").click()
    for client in (mia, ned):
        await expect(client.page.locator(".rt-banner")).to_be_hidden()


async def test_idle_after_a_minute_without_input_and_away_while_hidden(
    server: RunningServer, clients: Clients
) -> None:
    mia, state = await watched_member(server, clients)

    # Input restarts the minute.
    await mia.page.clock.fast_forward(IDLE_AFTER_MS - 10_000)
    await mia.page.mouse.move(5, 5)
    await mia.page.clock.fast_forward(IDLE_AFTER_MS - 1_000)
    assert await mia.page.evaluate(_SENT_STATES) == ["active"]
    await mia.page.clock.fast_forward(1_000)
    await expect(state).to_have_text("idle")
    assert await mia.page.evaluate(_SENT_STATES) == ["active", "idle"]

    await mia.page.keyboard.press("Shift")
    await expect(state).to_have_text("active")

    await mia.page.evaluate(_SET_VISIBILITY, "hidden")
    await expect(state).to_have_text("away")
    await mia.page.evaluate(_SET_VISIBILITY, "visible")
    await expect(state).to_have_text("active")
    assert await mia.page.evaluate(_SENT_STATES) == ["active", "idle", "active", "away", "active"]


async def test_a_hidden_page_stays_away(server: RunningServer, clients: Clients) -> None:
    mia, state = await watched_member(server, clients)

    await mia.page.evaluate(_SET_VISIBILITY, "hidden")
    await expect(state).to_have_text("away")
    await mia.page.clock.fast_forward(IDLE_AFTER_MS + 1_000)
    assert await mia.page.evaluate(_SENT_STATES) == ["active", "away"]
    await expect(state).to_have_text("away")
