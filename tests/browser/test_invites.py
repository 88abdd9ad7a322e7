"""Invite links a facilitator can share in a room (real server, real Chromium): each link
readable in full, Copy puts it on the clipboard and says so (or selects it where the
clipboard is out of reach), its QR code reads back as the link, and "New link" replaces
a link only once confirmed, after which the old link no longer lets anyone in. Ending
the session asks first too."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Locator, expect

from rooms.directory import CreatedRoom
from rooms.roles import Role
from tests.browser.conftest import Client, Clients
from tests.browser.qr_reader import read_qr
from tests.browser.test_web_client import open_room
from tests.support.harness import RunningServer

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

REPLACE_MESSAGE = (
    "The current link stops working for everyone who has not joined yet. "
    "People already in the room stay."
)
REFUSED = "This invite link is unknown or was replaced. Ask your facilitator for a new one."

# The dark modules of a QR code <svg> (qr.js), as rows of booleans without the quiet zone.
_QR_MATRIX = """(svg) => {
  const count = Number(svg.dataset.modules)
  const [, , size] = svg.getAttribute('viewBox').split(' ').map(Number)
  const quiet = (size - count) / 2
  const rows = Array.from({ length: count }, () => Array(count).fill(false))
  const d = svg.querySelector('.rt-qr-dark').getAttribute('d')
  for (const [, x, y, run] of d.matchAll(/M(\\d+) (\\d+)h(\\d+)v1h-\\3z/g)) {
    for (let i = 0; i < Number(run); i++) rows[Number(y) - quiet][Number(x) - quiet + i] = true
  }
  const fill = (selector) => getComputedStyle(svg.querySelector(selector)).fill
  return { rows, quiet, dark: fill('.rt-qr-dark'), light: fill('.rt-qr-light') }
}"""

# Whether a textarea shows all its text (nothing scrolled out of sight).
_SHOWS_ALL = """(el) =>
  el.scrollHeight <= el.clientHeight + 1 && el.scrollWidth <= el.clientWidth + 1"""


def invite(client: Client, role: str) -> Locator:
    """The invite link group of ``role`` ("member") in the session controls."""
    return client.page.get_by_role("group", name=f"Invite as {role}")


def link_of(server: RunningServer, room: CreatedRoom, role: Role) -> str:
    return f"{server.http}/join/{room.invites[role]}"


async def read_qr_code(svg: Locator) -> str:
    """Read the QR code drawn by ``svg`` back into text; it must be black on white."""
    found = await svg.evaluate(_QR_MATRIX)
    assert found["quiet"] >= 4, "a QR code needs a quiet zone of four modules"
    assert found["dark"] == "rgb(0, 0, 0)", found["dark"]
    assert found["light"] == "rgb(255, 255, 255)", found["light"]
    return read_qr(found["rows"]).decode()


async def show_invites(client: Client) -> None:
    button = client.page.get_by_role("button", name="Invite links")
    await button.click()
    await expect(button).to_have_attribute("aria-expanded", "true")
    await expect(invite(client, "member")).to_be_visible()


async def try_to_join(clients: Clients, code: str, name: str) -> Client:
    """Someone opens an invite link and asks to join (whether or not it works)."""
    person = await clients.new(name)
    await person.page.goto(f"{clients.server.http}/join/{code}")
    await person.page.get_by_label("Your display name").fill(name)
    await person.page.get_by_role("button", name="Join").click()
    return person


async def test_each_link_reads_in_full_copies_and_its_qr_code_reads_back(
    server: RunningServer, clients: Clients
) -> None:
    room, fay = await open_room(server, clients, "Welcome.")
    await fay.context.grant_permissions(["clipboard-read", "clipboard-write"])
    await show_invites(fay)

    for role in (Role.FACILITATOR, Role.MEMBER, Role.OBSERVER):
        group = invite(fay, role.value)
        field = group.get_by_label(f"Invite link for {role.value}s")
        await expect(field).to_have_value(link_of(server, room, role))
        assert await field.evaluate(_SHOWS_ALL), f"the {role.value} link does not show in full"
        svg = group.get_by_role("button", name=f"Show the QR code for {role.value}s").locator("svg")
        assert await read_qr_code(svg) == link_of(server, room, role)
    await invite(fay, "member").scroll_into_view_if_needed()
    await fay.screenshot("desktop-invite-links")

    member = invite(fay, "member")
    copy = member.get_by_role("button", name="Copy")
    await copy.click()
    await expect(member.get_by_role("button", name="Copied")).to_be_visible()
    assert await fay.page.evaluate("navigator.clipboard.readText()") == link_of(
        server, room, Role.MEMBER
    )
    await expect(fay.page.locator("#announcer")).to_have_text("The member invite link is copied.")
    await fay.screenshot("desktop-invite-copied")
    # The confirmation goes, the button is ready for the next copy.
    await expect(member.get_by_role("button", name="Copy")).to_be_visible()

    await member.get_by_role("button", name="Show the QR code for members").click()
    dialog = fay.page.get_by_role("dialog", name="Join as member")
    await expect(dialog).to_be_visible()
    await expect(dialog.get_by_role("button", name="Close")).to_be_focused()
    large = dialog.get_by_role("img", name=f"QR code of {link_of(server, room, Role.MEMBER)}")
    await expect(large).to_be_visible()
    box = await large.bounding_box()
    assert box is not None and box["width"] >= 400, f"the QR code is small for a projector: {box}"
    assert await read_qr_code(large) == link_of(server, room, Role.MEMBER)
    await expect(dialog).to_contain_text(link_of(server, room, Role.MEMBER))
    await fay.screenshot("desktop-invite-qr")
    await fay.page.keyboard.press("Escape")
    await expect(dialog).to_have_count(0)


async def test_new_link_asks_first_and_only_then_the_old_link_stops_working(
    server: RunningServer, clients: Clients
) -> None:
    room, fay = await open_room(server, clients, "Welcome.")
    old = room.invites[Role.MEMBER]
    await show_invites(fay)
    member = invite(fay, "member")
    field = member.get_by_label("Invite link for members")

    await member.get_by_role("button", name="New link").click()
    dialog = fay.page.get_by_role("dialog", name="Replace the member invite link?")
    await expect(dialog).to_be_visible()
    await expect(dialog).to_contain_text(REPLACE_MESSAGE)
    await expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    await fay.screenshot("desktop-invite-replace-confirmation")
    await dialog.get_by_role("button", name="Cancel").click()
    await expect(dialog).to_have_count(0)
    await expect(field).to_have_value(link_of(server, room, Role.MEMBER))
    # Cancelled: the link in everyone's hands still works.
    early = await try_to_join(clients, old, "Early")
    await expect(early.page.locator(".rt-you")).to_contain_text("Early")

    await member.get_by_role("button", name="New link").click()
    await dialog.get_by_role("button", name="Replace link").click()
    await expect(dialog).to_have_count(0)
    await expect(field).not_to_have_value(link_of(server, room, Role.MEMBER))
    new_link = await field.input_value()
    match = re.fullmatch(re.escape(server.http) + r"/join/([\w-]{16,})", new_link)
    assert match, new_link
    await expect(member.get_by_role("status")).to_have_text(
        "The member invite link was replaced: share the new one."
    )
    await expect(field).to_be_focused()
    thumb = member.get_by_role("button", name="Show the QR code for members")
    await expect(thumb).to_have_attribute("data-link", new_link)
    assert await read_qr_code(thumb.locator("svg")) == new_link
    # The other links did not change.
    await expect(invite(fay, "observer").get_by_label("Invite link for observers")).to_have_value(
        link_of(server, room, Role.OBSERVER)
    )

    late = await try_to_join(clients, old, "Late")
    clients.allow_console(late, "Failed to load resource")
    await expect(late.page.get_by_role("alert")).to_have_text(REFUSED)
    newcomer = await try_to_join(clients, match.group(1), "Newcomer")
    await expect(newcomer.page.locator(".rt-you")).to_contain_text("Newcomer")


async def test_invites_on_a_phone_and_a_copy_without_clipboard_selects_the_link(
    server: RunningServer, clients: Clients
) -> None:
    room, _ = await open_room(server, clients, "Welcome.")
    flo = await clients.new("Flo", phone=True)
    # This browser refuses the clipboard (as an insecure page or a denied permission would).
    await flo.context.add_init_script(
        "navigator.clipboard.writeText = () => Promise.reject(new Error('denied'))"
    )
    await clients.enter(flo, room.invites[Role.FACILITATOR])
    page = flo.page
    await (
        page.get_by_role("navigation", name="Panels").get_by_role("button", name="Documents").tap()
    )
    await page.get_by_role("button", name="Invite links").tap()
    member = invite(flo, "member")
    await expect(member).to_be_visible()
    field = member.get_by_label("Invite link for members")
    await expect(field).to_have_value(link_of(server, room, Role.MEMBER))
    assert await field.evaluate(_SHOWS_ALL), "the member link does not show in full"
    overflow = await page.evaluate("document.documentElement.scrollWidth - innerWidth")
    assert overflow <= 0, f"the invite links make the page scroll sideways by {overflow}px"
    for button in await member.get_by_role("button").all():
        box = await button.bounding_box()
        assert box is not None and box["width"] >= 44 and box["height"] >= 44, box

    await member.get_by_role("button", name="Copy").tap()
    await expect(member.get_by_role("status")).to_have_text(
        "The link is selected: copy it with Ctrl+C or your device\u2019s Copy."
    )
    await expect(field).to_be_focused()
    selected = await field.evaluate("(el) => el.value.slice(el.selectionStart, el.selectionEnd)")
    assert selected == link_of(server, room, Role.MEMBER)
    await member.scroll_into_view_if_needed()
    await flo.screenshot("phone-invite-links")

    await member.get_by_role("button", name="Show the QR code for members").tap()
    dialog = page.get_by_role("dialog", name="Join as member")
    await expect(dialog).to_be_in_viewport()
    large = dialog.get_by_role("img")
    assert await read_qr_code(large) == link_of(server, room, Role.MEMBER)
    overflow = await page.evaluate("document.documentElement.scrollWidth - innerWidth")
    assert overflow <= 0, f"the QR code dialog makes the page scroll sideways by {overflow}px"
    await flo.screenshot("phone-invite-qr")
    await dialog.get_by_role("button", name="Close").tap()
    await expect(dialog).to_have_count(0)


async def test_ending_the_session_asks_first(server: RunningServer, clients: Clients) -> None:
    room, fay = await open_room(server, clients, "Notes.")
    versions = f"/api/rooms/{room.room.slug}/documents/notes/versions"
    token = await server.join(room, Role.FACILITATOR, "Auditor")

    async def saved() -> int:
        response = await fay.page.request.get(
            server.http + versions, headers={"authorization": f"Bearer {token}"}
        )
        assert response.ok
        return len((await response.json())["versions"])

    before = await saved()
    end = fay.page.get_by_role("button", name="End session")
    await end.click()
    dialog = fay.page.get_by_role("dialog", name="End the session?")
    await expect(dialog).to_contain_text("Every document is saved as a version")
    await dialog.get_by_role("button", name="Cancel").click()
    await expect(dialog).to_have_count(0)
    assert await saved() == before

    await end.click()
    await dialog.get_by_role("button", name="End session").click()
    await expect(fay.page.locator("#announcer")).to_have_text("Session ended: 1 version saved.")
    assert await saved() == before + 1
