"""axe-core on every screen of the web client, in the light and the dark theme.

Screens: the join page; the room as facilitator (before any document, with one, with
the selection menu, the export menu, the version history, the invite links with their
QR code and the "New link" confirmation, the link dialog, the removal dialog), as
member and as observer on a desktop, and as member on a phone (the editor, both
sheets, the "you" menu and the toolbar's overflow). A screen with any serious or
critical violation fails the test, which lists them all. Each screen is also saved
as ``artifacts/screenshots/a11y-<theme>-<screen>.png``.
"""

from __future__ import annotations

from typing import Literal

import pytest
from playwright.async_api import Page, expect

from rooms.roles import Role
from tests.browser.axe import Violation, axe_violations
from tests.browser.conftest import Client, Clients
from tests.browser.test_web_client import DOC, double_click_word
from tests.support.harness import RunningServer

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

Theme = Literal["light", "dark"]


class Audit:
    """The serious and critical violations found, screen by screen."""

    def __init__(self, theme: Theme) -> None:
        self.theme = theme
        self.found: dict[str, list[Violation]] = {}
        self.screens: list[str] = []

    async def check(self, client: Client, screen: str) -> None:
        self.screens.append(screen)
        violations = await axe_violations(client.page)
        if violations:
            self.found[screen] = violations
        await client.screenshot(f"a11y-{self.theme}-{screen}")

    def assert_clean(self) -> None:
        lines = [f"{screen}: {v}" for screen, vs in self.found.items() for v in vs]
        assert not lines, f"axe ({self.theme} theme) found:\n" + "\n".join(lines)


async def themed(clients: Clients, name: str, theme: Theme, *, phone: bool = False) -> Client:
    client = await clients.new(name, phone=phone)
    await client.page.emulate_media(color_scheme=theme)
    return client


async def close_dialog(page: Page) -> None:
    await page.keyboard.press("Escape")
    await expect(page.locator("dialog[open]")).to_have_count(0)


@pytest.mark.parametrize("theme", ["light", "dark"])
async def test_every_screen_has_no_serious_violations(
    server: RunningServer, clients: Clients, theme: Theme
) -> None:
    audit = Audit(theme)
    room = await server.create_room("Style guide sprint")

    fay = await themed(clients, "Fay", theme)
    page = fay.page
    await page.goto(f"{server.http}/join/{room.invites[Role.FACILITATOR]}")
    await expect(page.get_by_label("Your display name")).to_be_visible()
    await audit.check(fay, "join")
    await clients.enter(fay, room.invites[Role.FACILITATOR])
    await expect(page.get_by_text("Create the first document")).to_be_visible()
    await audit.check(fay, "facilitator-no-document")

    await fay.create_document(DOC)
    await fay.type_at_end("Be kind to newcomers and answer every question.")
    await audit.check(fay, "facilitator-room")

    await double_click_word(fay, "newcomers")
    menu = page.get_by_role("toolbar", name="Selected text")
    await expect(menu).to_be_visible()
    await audit.check(fay, "selection-menu")
    await menu.get_by_role("button", name="Comment", exact=True).click()
    await page.get_by_role("textbox", name="New comment").fill("Who counts as new?")
    await fay.composer.get_by_role("button", name="Comment", exact=True).click()
    await expect(fay.thread("Who counts as new?")).to_be_visible()
    await audit.check(fay, "facilitator-thread")

    toolbar = page.get_by_role("toolbar", name="Formatting")
    await toolbar.get_by_role("button", name="Export", exact=True).click()
    await expect(page.get_by_role("menuitem", name="Print / Save as PDF")).to_be_visible()
    await audit.check(fay, "export-menu")
    await page.keyboard.press("Escape")

    await toolbar.get_by_role("button", name="Link", exact=True).click()
    await expect(page.locator("dialog[open]")).to_be_visible()
    await audit.check(fay, "link-dialog")
    await close_dialog(page)

    await toolbar.get_by_role("button", name="Versions", exact=True).click()
    await expect(page.get_by_role("dialog", name=f"Version history of {DOC}")).to_be_visible()
    await audit.check(fay, "versions-dialog")
    await close_dialog(page)

    await page.get_by_role("button", name="Invite links").click()
    await expect(page.get_by_role("button", name="Copy").first).to_be_visible()
    await audit.check(fay, "invite-links")
    await page.get_by_role("button", name="Show the QR code for members").click()
    await expect(page.locator("dialog[open] img, dialog[open] svg").first).to_be_visible()
    await audit.check(fay, "invite-qr")
    await close_dialog(page)
    await page.get_by_role("button", name="New link").first.click()
    await expect(page.get_by_role("dialog")).to_contain_text("stops working")
    await audit.check(fay, "new-link-confirmation")
    await close_dialog(page)

    mia = await themed(clients, "Mia", theme)
    await clients.enter(mia, room.invites[Role.MEMBER])
    await expect(mia.editor).to_be_visible()
    await audit.check(mia, "member-room")

    await (
        page.get_by_role("listitem")
        .filter(has_text="Mia")
        .get_by_role("button", name="Remove")
        .click()
    )
    await expect(page.get_by_role("dialog", name="Remove Mia from the room?")).to_be_visible()
    await audit.check(fay, "remove-dialog")
    await close_dialog(page)

    oli = await themed(clients, "Oli", theme)
    await clients.enter(oli, room.invites[Role.OBSERVER])
    await expect(oli.page.get_by_text("You are observing")).to_be_visible()
    await audit.check(oli, "observer-room")

    pat = await themed(clients, "Pat", theme, phone=True)
    await clients.enter(pat, room.invites[Role.MEMBER])
    phone = pat.page
    await expect(pat.editor).to_be_visible()
    await audit.check(pat, "phone-member")
    for sheet in ("Documents", "Discussion"):
        await (
            phone.get_by_role("navigation", name="Panels").get_by_role("button", name=sheet).click()
        )
        await expect(phone.locator("nav.rt-open, aside.rt-open")).to_be_visible()
        await audit.check(pat, f"phone-{sheet.lower()}-sheet")
        await phone.keyboard.press("Escape")
        await expect(phone.locator("nav.rt-open, aside.rt-open")).to_have_count(0)
    await phone.locator(".rt-you-button").click()
    await expect(phone.locator("#you-panel")).to_be_visible()
    await audit.check(pat, "phone-you-menu")
    await phone.keyboard.press("Escape")
    await phone.get_by_role("button", name="More", exact=True).click()
    await expect(phone.get_by_role("menu")).to_be_visible()
    await audit.check(pat, "phone-more-menu")
    await phone.keyboard.press("Escape")

    assert len(audit.screens) == 19
    audit.assert_clean()


async def test_the_audit_finds_a_planted_violation(server: RunningServer, clients: Clients) -> None:
    """The engine runs for real: a nameless button and low-contrast text are found."""
    room = await server.create_room("Planted")
    fay = await clients.join(room.invites[Role.FACILITATOR], "Fay")
    assert await axe_violations(fay.page) == []
    await fay.page.evaluate(
        """() => {
          const button = document.createElement('button')
          document.querySelector('.rt-header').append(button)
          const faint = document.createElement('p')
          faint.textContent = 'Barely there'
          faint.style.color = '#eeeeee'
          faint.style.background = '#ffffff'
          document.querySelector('.rt-header').append(faint)
        }"""
    )
    rules = {v.rule for v in await axe_violations(fay.page)}
    assert {"button-name", "color-contrast"} <= rules
