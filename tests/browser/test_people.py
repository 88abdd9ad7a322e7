"""People in a room in the web client (real server, real Chromium, a real SMTP server):
the roster tags guests; a guest keeps their seat by adding an email in the "you" menu,
and the emailed link brings them back to the same seat, no longer a guest; a
facilitator changes roles in the People panel, and the person's page reloads in the
new role; the only facilitator cannot step down; an invitation by email seats a new
person with the chosen role.

Screenshots (``artifacts/screenshots/people-*.png``): the People panel and the "Keep
your seat" form, on a desk and on a phone.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import pytest
from playwright.async_api import Locator, expect

from rooms.directory import CreatedRoom
from rooms.roles import Role
from tests.browser.axe import axe_violations
from tests.browser.conftest import Client, Clients, Restarts
from tests.browser.test_web_client import DOC, join_doc, open_room
from tests.support.cluster import poll
from tests.support.harness import RunningServer
from tests.support.smtp import link_in, running_smtp_server, text_of

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

CHECK_EMAIL = "Check your email: the link keeps your seat, comments and action plan."

# Elements wider than the window, and visible controls smaller than 44x44 px.
_LAYOUT_PROBLEMS = """(root) => {
  const found = []
  const width = document.documentElement.clientWidth
  for (const el of root.querySelectorAll('*')) {
    const box = el.getBoundingClientRect()
    if (!box.width) continue
    if (box.right > width + 1 || box.left < -1) found.push('too wide: ' + el.outerHTML.slice(0, 80))
    if (el.matches('button, input, select') && (box.width < 44 || box.height < 44)) {
      const size = `${Math.round(box.width)}x${Math.round(box.height)}`
      found.push(`small ${size}: ` + el.outerHTML.slice(0, 80))
    }
  }
  return found
}"""


def roster_row(client: Client, name: str) -> Locator:
    """``name``'s row in the roster (``name`` may be followed by " (you)")."""
    people = client.page.get_by_role("list", name="People in the room")
    return people.locator("li", has=client.page.locator(".rt-person-name", has_text=name))


def people_panel(client: Client) -> Locator:
    return client.page.get_by_role("dialog", name="People")


def member_row(client: Client, name: str) -> Locator:
    """``name``'s row in the People panel."""
    panel = people_panel(client)
    return panel.locator("li.rt-member", has=client.page.locator(".rt-member-name", has_text=name))


async def open_people_panel(client: Client) -> Locator:
    await client.page.get_by_role("button", name="Manage people").click()
    panel = people_panel(client)
    await expect(panel).to_be_visible()
    await expect(panel.locator("li.rt-member").first).to_be_visible()
    return panel


async def change_role(
    client: Client, name: str, role: str, *, button: str = "Change role"
) -> Locator:
    """In the People panel, pick ``role`` for ``name`` and confirm with ``button``; the
    role dialog is returned (closed once the change went through)."""
    await member_row(client, name).get_by_role("button", name=f"Change role for {name}").click()
    title = "Change your role" if name == client.name else f"Change the role of {name}"
    dialog = client.page.get_by_role("dialog", name=title)
    await expect(dialog).to_be_visible()
    await dialog.get_by_role("radio", name=re.compile("^" + role)).check()
    await dialog.get_by_role("button", name=button, exact=True).click()
    return dialog


async def assert_accessible(client: Client, screen: str) -> None:
    violations = await axe_violations(client.page)
    assert not violations, f"axe on {screen}:\n" + "\n".join(map(str, violations))


async def assert_fits_phone(client: Client, selector: str) -> None:
    problems = await client.page.locator(selector).evaluate(_LAYOUT_PROBLEMS)
    assert not problems, "\n".join(problems)


async def participant(client: Client, participant_id: str) -> dict[str, object]:
    """The participant ``participant_id`` as GET /participants lists them."""
    listed = await client.api("GET", "/participants?limit=500")
    found = [p for p in listed["participants"] if p["id"] == participant_id]
    assert found, f"{participant_id} is not in the participant list"
    person: dict[str, object] = found[0]
    return person


async def redeem(client: Client, link: str, room: CreatedRoom) -> None:
    """Open an emailed sign-in link, press Continue, land in the room."""
    await client.page.goto(link)
    await client.page.get_by_role("button", name="Continue").click()
    await client.page.wait_for_url(f"**/room/{room.room.slug}**")
    await expect(client.page.locator(".rt-you")).to_have_count(1)


async def leave(clients: Clients) -> None:
    """Close every page before its server stops, which they would otherwise report."""
    for client in clients.all:
        await client.context.close()


async def test_a_guest_keeps_their_seat_by_adding_an_email(restarts: Restarts) -> None:
    async with running_smtp_server() as smtp:
        restarts.configure(smtp_url=smtp.url)
        async with restarts.run() as server:
            clients = restarts.clients
            room, fay = await open_room(server, clients, "Our notes.")
            gus = await join_doc(clients, room, Role.MEMBER, "Gus")
            gus_id = (await gus.api("GET", ""))["you"]["id"]

            # Whoever joined with an invite link alone is a guest, on everyone's roster.
            assert (await participant(fay, gus_id))["guest"] is True
            await expect(roster_row(fay, "Gus").locator(".rt-guest-tag")).to_have_text("Guest")
            await expect(roster_row(gus, "Gus").locator(".rt-guest-tag")).to_have_text("Guest")

            await gus.page.locator(".rt-you-button").click()
            menu = gus.page.locator("#you-panel")
            keep = menu.get_by_role("button", name="Keep your seat: add your email")
            await keep.click()
            email = menu.get_by_label("Your email")
            await expect(email).to_be_focused()
            # Not an address: said next to the field, nothing sent.
            await email.fill("gus at example")
            await menu.get_by_role("button", name="Send link").click()
            await expect(menu.get_by_role("alert")).to_have_text(
                "Enter an email address, like name@example.org."
            )
            await email.fill("gus@example.org")
            await expect(menu.get_by_role("alert")).to_have_count(0)
            await assert_accessible(gus, "keep your seat")
            await gus.screenshot("people-keep-seat-desktop")
            await menu.get_by_role("button", name="Send link").click()
            await expect(menu.get_by_role("status")).to_contain_text(CHECK_EMAIL)
            await expect(menu.get_by_role("status")).to_contain_text("gus@example.org")

            delivery = await smtp.next_delivery()
            assert delivery.rcpt_tos == ("gus@example.org",), delivery.rcpt_tos
            assert smtp.waiting() == 0
            link = link_in(delivery.message)

            # The link, in the same browser: back in the room, in the same seat.
            await redeem(gus, link, room)
            assert (await gus.api("GET", ""))["you"]["id"] == gus_id
            assert (await participant(gus, gus_id))["guest"] is False
            await expect(roster_row(gus, "Gus")).to_have_count(1)
            await expect(roster_row(gus, "Gus").locator(".rt-guest-tag")).to_have_count(0)
            # Fay joined with an invite link alone: still a guest.
            await expect(roster_row(gus, "Fay").locator(".rt-guest-tag")).to_have_count(1)
            await gus.page.locator(".rt-you-button").click()
            await expect(gus.page.locator("#you-panel")).to_be_visible()
            await expect(
                gus.page.get_by_role("button", name="Keep your seat: add your email")
            ).to_have_count(0)
            # Others learn it from the participant list (no event says so): on their
            # next load.
            await fay.page.reload()
            await expect(roster_row(fay, "Gus")).to_have_count(1)
            await expect(roster_row(fay, "Fay").locator(".rt-guest-tag")).to_have_count(1)
            await expect(roster_row(fay, "Gus").locator(".rt-guest-tag")).to_have_count(0)
            await gus.type_at_end(" Gus is back.")
            await expect(fay.editor).to_contain_text("Gus is back.")

            # On a phone: the form in the "you" menu fits the screen.
            pia = await join_doc(clients, room, Role.MEMBER, "Pia", phone=True)
            await pia.page.locator(".rt-you-button").click()
            menu = pia.page.locator("#you-panel")
            await menu.get_by_role("button", name="Keep your seat: add your email").click()
            await menu.get_by_label("Your email").fill("pia@example.org")
            await assert_fits_phone(pia, "#you-panel")
            await pia.screenshot("people-keep-seat-phone")
            await menu.get_by_role("button", name="Send link").click()
            await expect(menu.get_by_role("status")).to_contain_text(CHECK_EMAIL)
            await pia.screenshot("people-keep-seat-sent-phone")
            assert (await smtp.next_delivery()).rcpt_tos == ("pia@example.org",)
            clients.allow_console(gus, "WebSocket")
            await leave(clients)


async def test_a_facilitator_changes_roles_and_the_person_reloads_in_the_new_role(
    server: RunningServer, clients: Clients
) -> None:
    room, fay = await open_room(server, clients, "Our notes.")
    ann = await join_doc(clients, room, Role.MEMBER, "Ann")
    await expect(ann.page.get_by_role("button", name="Manage people")).to_have_count(0)

    panel = await open_people_panel(fay)
    await expect(panel.locator("li.rt-member")).to_have_count(2)
    await expect(member_row(fay, "Ann")).to_contain_text("Member")
    await expect(member_row(fay, "Ann").locator(".rt-guest-tag")).to_have_text("Guest")
    await expect(member_row(fay, "Fay")).to_contain_text("Facilitator")
    # Facilitators are not removed; others are, with the removal's own dialog.
    await expect(
        member_row(fay, "Fay").get_by_role("button", name=re.compile("^Remove"))
    ).to_have_count(0)
    await expect(member_row(fay, "Ann").get_by_role("button", name="Remove Ann")).to_be_visible()
    await assert_accessible(fay, "people panel")
    await fay.screenshot("people-panel-desktop")
    await fay.page.emulate_media(color_scheme="dark")
    await assert_accessible(fay, "people panel, dark")
    await fay.screenshot("people-panel-desktop-dark")
    await fay.page.emulate_media(color_scheme="light")

    # Promote Ann: her page reloads as a facilitator's, and says so.
    dialog = await change_role(fay, "Ann", "Facilitator")
    await expect(dialog).to_have_count(0)
    await expect(member_row(fay, "Ann")).to_contain_text("Facilitator")
    await expect(
        ann.page.get_by_role("status").filter(has_text="Your role is now Facilitator.")
    ).to_be_visible()
    await expect(ann.page.get_by_role("button", name="Manage people")).to_be_visible()
    await expect(ann.page.get_by_role("region", name="Session controls")).to_be_visible()
    await expect(ann.page.locator(".rt-you")).to_have_text("Ann · facilitator")
    await expect(roster_row(fay, "Ann")).to_contain_text("facilitator")
    assert (await ann.api("GET", ""))["you"]["role"] == "facilitator"
    await expect(ann.status).to_have_attribute("data-state", "online")
    await ann.screenshot("people-role-changed-desktop")

    # Demote her again: asked first, and her page reloads as a member's.
    await member_row(fay, "Ann").get_by_role("button", name="Change role for Ann").click()
    dialog = fay.page.get_by_role("dialog", name="Change the role of Ann")
    await dialog.get_by_role("radio", name=re.compile("^Member")).check()
    await expect(dialog).to_contain_text(
        "Ann is a facilitator. As Member, they no longer run the session, invite or remove people."
    )
    await fay.screenshot("people-demote-desktop")
    await dialog.get_by_role("button", name="Demote").click()
    await expect(dialog).to_have_count(0)
    await expect(
        ann.page.get_by_role("status").filter(has_text="Your role is now Member.")
    ).to_be_visible()
    await expect(ann.page.get_by_role("button", name="Manage people")).to_have_count(0)
    await expect(ann.page.get_by_role("region", name="Session controls")).to_have_count(0)
    await expect(roster_row(fay, "Ann")).to_contain_text("member")
    await ann.type_at_end(" Ann still writes.")
    await expect(fay.editor).to_contain_text("Ann still writes.")

    # The only facilitator cannot step down.
    dialog = await change_role(fay, "Fay", "Observer", button="Demote")
    await expect(dialog.get_by_role("alert")).to_have_text(
        "You are the only facilitator. Make someone else a facilitator first."
    )
    await dialog.get_by_role("button", name="Cancel").click()
    await expect(dialog).to_have_count(0)
    await expect(member_row(fay, "Fay")).to_contain_text("Facilitator")
    clients.allow_console(fay, "Failed to load resource: the server responded with a status of 409")

    # Remove from the panel: the removal's own dialog, and the row goes.
    await member_row(fay, "Ann").get_by_role("button", name="Remove Ann").click()
    removal = fay.page.get_by_role("dialog", name="Remove Ann from the room?")
    await removal.get_by_role("button", name="Remove", exact=True).click()
    await removal.get_by_role("button", name="Done").click()
    await expect(member_row(fay, "Ann")).to_have_count(0)
    await expect(roster_row(fay, "Ann")).to_have_count(0)
    await expect(ann.page.get_by_role("heading", name="You are not in this room")).to_be_visible()
    clients.allow_console(ann, "Failed to load resource")
    clients.allow_console(ann, "WebSocket")

    # On a phone, from the Documents sheet.
    flo = await join_doc(clients, room, Role.FACILITATOR, "Flo", phone=True)
    await flo.page.get_by_role("button", name="Documents", exact=True).click()
    panel = await open_people_panel(flo)
    await expect(panel.locator("li.rt-member")).to_have_count(2)
    await assert_fits_phone(flo, "dialog[open]")
    await flo.screenshot("people-panel-phone")


async def test_an_invitation_by_email_seats_a_new_person_with_the_chosen_role(
    restarts: Restarts,
) -> None:
    async with running_smtp_server() as smtp:
        restarts.configure(smtp_url=smtp.url, max_sign_ins_per_email_per_hour=1)
        async with restarts.run() as server:
            clients = restarts.clients
            room, fay = await open_room(server, clients, "Our notes.")
            panel = await open_people_panel(fay)
            form = panel.get_by_role("form", name="Invite by email")
            await form.get_by_label("Email address").fill("nia@example.org")
            await form.get_by_label("Role").select_option("observer")
            await form.get_by_role("button", name="Send invitation").click()
            await expect(form.get_by_role("status")).to_have_text(
                "Invitation sent to nia@example.org (Observer)."
            )
            await expect(form.get_by_label("Email address")).to_have_value("")
            await fay.screenshot("people-invited-desktop")
            # One email an hour to an address (here): a second one waits, and says so.
            await form.get_by_label("Email address").fill("nia@example.org")
            await form.get_by_role("button", name="Send invitation").click()
            await expect(form.get_by_role("alert")).to_have_text(
                re.compile(
                    r"^Too many emails to this address just now\. Try again in \d+ minutes?\.$"
                )
            )
            await expect(form.get_by_role("status")).to_have_count(0)
            clients.allow_console(fay, "status of 429")

            delivery = await smtp.next_delivery()
            assert delivery.rcpt_tos == ("nia@example.org",), delivery.rcpt_tos
            link = link_in(delivery.message)
            assert room.room.title in text_of(delivery.message)

            # Someone else's browser: the link seats them as an observer.
            nia = await clients.new("Nia")
            await redeem(nia, link, room)
            await expect(nia.page.locator(".rt-you")).to_contain_text("observer")
            you = (await nia.api("GET", ""))["you"]
            assert you["role"] == "observer"
            assert (await participant(nia, you["id"]))["guest"] is False
            await expect(nia.page.get_by_role("textbox", name=f"Document {DOC}")).to_be_visible()

            # The panel lists them, as an observer and not as a guest.
            await fay.page.keyboard.press("Escape")
            await expect(panel).to_have_count(0)
            panel = await open_people_panel(fay)
            await expect(panel.locator("li.rt-member")).to_have_count(2)
            newcomer = panel.locator("li.rt-member").nth(1)
            await expect(newcomer).to_contain_text("Observer")
            await expect(newcomer.locator(".rt-guest-tag")).to_have_count(0)
            await leave(clients)


async def test_a_facilitator_turns_guests_off_and_a_name_alone_no_longer_gets_in(
    server: RunningServer, clients: Clients
) -> None:
    room, fay = await open_room(server, clients, "Our notes.")
    session = fay.page.get_by_role("region", name="Session controls")
    guests = session.get_by_role("checkbox", name=re.compile("^Guests may join with just a name"))
    await expect(guests).to_be_checked()
    await guests.uncheck()
    settings = fay.page.get_by_role("region", name="Session controls")
    await expect(
        settings.get_by_role("checkbox", name=re.compile("^Guests may join"))
    ).not_to_be_checked()

    async def guests_off() -> bool:
        return (await fay.api("GET", "/settings"))["settings"]["guests_allowed"] is False

    await poll(guests_off, 10, "the setting to be stored")
    await session.scroll_into_view_if_needed()
    await fay.screenshot("people-guests-off-desktop")

    gil = await clients.new("Gil")
    await gil.page.goto(f"{server.http}/join/{room.invites[Role.MEMBER]}")
    await gil.page.locator("input#name").fill("Gil")
    await gil.page.get_by_role("button", name="Join", exact=True).click()
    await expect(gil.page.get_by_role("alert")).to_have_text(
        "This room takes only people who sign in. Sign in with your email to join."
    )
    clients.allow_console(gil, "status of 403")
    # Back on: the same link takes a name again.
    await guests.check()
    await poll(lambda: _not(guests_off), 10, "the setting to be stored")
    await gil.page.get_by_role("button", name="Join", exact=True).click()
    await expect(gil.page.get_by_role("textbox", name=f"Document {DOC}")).to_be_visible()


async def _not(check: Callable[[], Awaitable[bool]]) -> bool:
    return not await check()
