"""Removing someone in the web client: the confirmation offers to replace the invite link
of their role, and says afterwards what happened (real server, real Chromium)."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Locator, expect

from rooms.roles import Role
from tests.browser.conftest import Client, Clients
from tests.browser.test_web_client import join_doc, open_room
from tests.support.harness import RunningServer

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

OFFER = (
    "Also replace the {role} invite link so they cannot rejoin — everyone who has not "
    "joined yet needs the new link"
)


def remove_button(client: Client, name: str) -> Locator:
    row = client.page.get_by_role("list", name="People in the room").locator("li", has_text=name)
    return row.get_by_role("button", name="Remove")


async def test_remove_and_replace_the_invite_link_then_the_old_link_is_refused(
    server: RunningServer, clients: Clients
) -> None:
    room, fay = await open_room(server, clients, "Our notes.")
    ann = await join_doc(clients, room, Role.MEMBER, "Ann")
    bo = await join_doc(clients, room, Role.MEMBER, "Bo")
    old_member_link = room.invites[Role.MEMBER]

    await remove_button(fay, "Ann").click()
    dialog = fay.page.get_by_role("dialog", name="Remove Ann from the room?")
    await expect(dialog).to_be_visible()
    offer = dialog.get_by_role("checkbox", name=OFFER.format(role="member"))
    await expect(offer).not_to_be_checked()
    await fay.screenshot("desktop-remove-confirmation")

    # Cancel changes nothing.
    await dialog.get_by_role("button", name="Cancel").click()
    await expect(dialog).to_be_hidden()
    await expect(ann.status).to_have_attribute("data-state", "online")

    await remove_button(fay, "Ann").click()
    await offer.check()
    await dialog.get_by_role("button", name="Remove", exact=True).click()
    await expect(dialog.get_by_role("status")).to_have_text(
        "Ann was removed. The member invite link was replaced: the old one no longer works."
    )
    new_link = dialog.get_by_label(re.compile("^New member invite link"))
    value = await new_link.input_value()
    match = re.fullmatch(re.escape(server.http) + r"/join/([\w-]{16,})", value)
    assert match, value
    new_code = match.group(1)
    assert new_code != old_member_link
    await expect(dialog.get_by_role("button", name="Done")).to_be_focused()
    await fay.screenshot("desktop-remove-done")
    await dialog.get_by_role("button", name="Done").click()
    await expect(dialog).to_be_hidden()

    # Ann is out at once; Bo goes on; the roster and the invite list show the change.
    await expect(ann.page.get_by_role("heading", name="You are not in this room")).to_be_visible()
    clients.allow_console(ann, "Failed to load resource|WebSocket")
    await expect(fay.page.get_by_role("list", name="People in the room")).not_to_contain_text("Ann")
    await bo.type_at_end(" Bo is still here.")
    await expect(fay.editor).to_contain_text("Bo is still here.")
    await fay.page.get_by_role("button", name="Invite links").click()
    await expect(fay.page.get_by_label("Invite link for members")).to_have_value(value)

    # Ann's old link no longer lets anyone in; the new one does.
    again = await clients.new("Ann again")
    clients.allow_console(again, "Failed to load resource")
    await again.page.goto(f"{server.http}/join/{old_member_link}")
    await again.page.get_by_label("Your display name").fill("Ann")
    await again.page.get_by_role("button", name="Join").click()
    await expect(again.page.get_by_role("alert")).to_have_text(
        "This invite link is unknown or was replaced. Ask your facilitator for a new one."
    )
    late = await clients.join(new_code, "Late")
    await expect(late.page.locator(".rt-you")).to_have_text("Late · member")


async def test_remove_without_replacing_the_link_on_a_phone(
    server: RunningServer, clients: Clients
) -> None:
    room, _ = await open_room(server, clients)
    flo = await join_doc(clients, room, Role.FACILITATOR, "Flo", phone=True)
    obs = await join_doc(clients, room, Role.OBSERVER, "Otto")
    page = flo.page
    await (
        page.get_by_role("navigation", name="Panels").get_by_role("button", name="Documents").tap()
    )
    await remove_button(flo, "Otto").tap()
    dialog = page.get_by_role("dialog", name="Remove Otto from the room?")
    await expect(dialog).to_be_in_viewport()
    await expect(dialog.get_by_role("checkbox", name=OFFER.format(role="observer"))).to_be_visible()
    overflow = await page.evaluate("document.documentElement.scrollWidth - innerWidth")
    assert overflow <= 0, f"the dialog makes the page scroll sideways by {overflow}px"
    await flo.screenshot("phone-remove-confirmation")

    await dialog.get_by_role("button", name="Remove", exact=True).tap()
    await expect(dialog.get_by_role("status")).to_have_text(
        "Otto was removed. The observer invite link still works, so they could join again with it."
    )
    await expect(obs.page.get_by_role("heading", name="You are not in this room")).to_be_visible()
    clients.allow_console(obs, "Failed to load resource|WebSocket")
    # The link was kept: someone else still joins with it.
    await clients.join(room.invites[Role.OBSERVER], "Olga")
