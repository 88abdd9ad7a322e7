"""A new facilitator's first ten minutes, in real Chromium against a real server and a
real SMTP server: Fay signs in with the emailed code, creates a room with two
templates, and brings in three people. Ana is invited by email and opens the room on
her phone, then signs in on her laptop and finds the same seat under My rooms; Ben
joins from the member link as a guest; Cy is invited by email as an observer. Fay's
roster then shows three people besides her, Ana once, Ben as a guest.

Each step is saved as ``artifacts/screenshots/first-minutes-<n>-<step>.png``.
"""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from tests.browser.conftest import SCREENSHOTS, Client, Restarts
from tests.browser.test_accounts import account_of, ask_for_email, email_to, mail_server
from tests.browser.test_people import open_people_panel, roster_row
from tests.support.smtp import SmtpServer, code_in, link_in

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]


async def shot(client: Client, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await client.page.screenshot(path=str(SCREENSHOTS / f"first-minutes-{name}.png"))


async def invite_by_email(fay: Client, email: str, role: str) -> None:
    panel = await open_people_panel(fay)
    form = panel.get_by_role("form", name="Invite by email")
    await form.get_by_label("Email address").fill(email)
    await form.get_by_label("Role").select_option(role)
    await form.get_by_role("button", name="Send invitation").click()
    await expect(form.get_by_role("status")).to_contain_text(f"Invitation sent to {email}")
    await fay.page.keyboard.press("Escape")
    await expect(panel).to_have_count(0)


async def open_invitation(client: Client, smtp: SmtpServer, email: str) -> None:
    link = link_in(await email_to(smtp, email))
    await client.page.goto(link)
    await client.page.get_by_role("button", name="Continue").click()
    await client.page.wait_for_url(re.compile(r".*/room/.*"))
    await expect(client.page.locator(".rt-you")).to_have_count(1)


async def test_a_new_facilitators_first_ten_minutes(restarts: Restarts) -> None:
    async with mail_server(restarts) as (server, smtp):
        clients = restarts.clients
        # The administrator let her create rooms (`roundtable admin allow`).
        await server.app_state.accounts.store.add_room_creator("fay@cohort.example")

        # 1. Fay signs in: the code from the email.
        fay = await clients.new("Fay")
        await fay.context.grant_permissions(["clipboard-read", "clipboard-write"])
        await ask_for_email(fay, server, "fay@cohort.example")
        await shot(fay, "1-check-email")
        await fay.page.get_by_label("6-digit code").fill(
            code_in(await email_to(smtp, "fay@cohort.example"))
        )
        await expect(fay.page.get_by_role("heading", name="My rooms")).to_be_visible()
        await expect(fay.page.get_by_text("You are in no rooms yet.")).to_be_visible()

        # 2. A room, with a guide and an action plan to start from.
        await fay.page.get_by_role("button", name="New room").click()
        dialog = fay.page.get_by_role("dialog", name="New room")
        await dialog.get_by_label("Room title").fill("Leadership cohort 3")
        await dialog.get_by_role("checkbox", name=re.compile("^Best-practices guide")).check()
        await dialog.get_by_role("checkbox", name=re.compile("^Action plan")).check()
        await shot(fay, "2-new-room")
        await dialog.get_by_role("button", name="Create room").click()
        ready = fay.page.get_by_role("dialog", name="“Leadership cohort 3” is ready")
        await expect(ready).to_be_visible()
        member_link = await ready.get_by_label("Invite link for members").input_value()
        await shot(fay, "3-invite-links")
        await (
            ready.get_by_role("link", name="Open the room")
            .or_(ready.get_by_role("button", name="Open the room"))
            .click()
        )
        await expect(fay.editor).to_be_visible()
        slug = (await account_of(fay.page))["rooms"][0]["room"]

        # 3. Ana, by email; she opens it on her phone.
        await invite_by_email(fay, "ana@cohort.example", "member")
        ana_phone = await clients.new("Ana", phone=True)
        await open_invitation(ana_phone, smtp, "ana@cohort.example")
        await expect(ana_phone.editor).to_be_visible()
        ana_id = (await ana_phone.api("GET", ""))["you"]["id"]
        await shot(ana_phone, "4-ana-on-her-phone")

        # 4. Ben, from the member link, as a guest.
        ben = await clients.new("Ben")
        await ben.page.goto(member_link)
        await ben.page.locator("input#name").fill("Ben")
        await shot(ben, "5-ben-joins-as-a-guest")
        await ben.page.get_by_role("button", name="Join", exact=True).click()
        await expect(ben.editor).to_be_visible()

        # 5. Cy, by email, as an observer.
        await invite_by_email(fay, "cy@cohort.example", "observer")
        cy = await clients.new("Cy")
        await open_invitation(cy, smtp, "cy@cohort.example")
        assert (await cy.api("GET", ""))["you"]["role"] == "observer"

        # 6. Ana on her laptop: sign in, My rooms, the same seat.
        ana_laptop = await clients.new("Ana")
        await ask_for_email(ana_laptop, server, "ana@cohort.example")
        await ana_laptop.page.get_by_label("6-digit code").fill(
            code_in(await email_to(smtp, "ana@cohort.example"))
        )
        room_link = ana_laptop.page.get_by_role("link", name=re.compile("Leadership cohort 3"))
        await expect(room_link).to_be_visible()
        await shot(ana_laptop, "6-ana-on-her-laptop-my-rooms")
        await room_link.click()
        await expect(ana_laptop.editor).to_be_visible()
        assert (await ana_laptop.api("GET", ""))["you"]["id"] == ana_id
        rooms = (await account_of(ana_laptop.page))["rooms"]
        assert [(r["room"], r["role"]) for r in rooms] == [(slug, "member")]

        # 7. Fay's roster: Ana once (two devices), Ben a guest, Cy an observer.
        await expect(roster_row(fay, "Ana")).to_have_count(1)
        await expect(roster_row(fay, "Ben")).to_contain_text("Guest")
        await expect(roster_row(fay, "Cy")).to_contain_text("bserver")
        await expect(roster_row(fay, "Ana")).not_to_contain_text("Guest")
        await shot(fay, "7-fay-sees-everyone")
        people = await fay.api("GET", "/participants")
        assert sorted((p["name"], p["role"], p["guest"]) for p in people["participants"]) == [
            ("Ana", "member", False),
            ("Ben", "member", True),
            ("Cy", "observer", False),
            ("Fay", "facilitator", False),
        ]
