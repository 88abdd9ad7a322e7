"""The account pages of the web client (real server, real SMTP server, real Chromium):
signing in by the emailed link and by its code on another device, a used link's page
that sends a new one, ``?next=`` kept through signing in, joining as the account (the
same seat on every device), a room created in the browser with its invite links, "My
rooms", the account page's devices, signing out everywhere, and deleting the account.

Each screen is checked with axe, on a desktop and a phone in the light theme and on a
desktop in the dark theme, and saved as ``artifacts/screenshots/accounts-<device>-<screen>.png``
(``docs/screenshots`` holds copies of the light ones).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Literal

import pytest
from playwright.async_api import Page, expect

from rooms.roles import Role
from tests.browser.axe import axe_violations
from tests.browser.conftest import SCREENSHOTS, Client, Restarts
from tests.support.harness import RunningServer
from tests.support.smtp import SmtpServer, code_in, link_in, running_smtp_server

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]


# Widest element's right edge, and the controls smaller than a fingertip, as shown (a
# checkbox's target is its label; links inside a sentence are exempt).
_LAYOUT = """() => ({
  scrollWidth: document.documentElement.scrollWidth,
  small: [...document.querySelectorAll('button, input, select, a, summary')]
    .filter((el) => el.getClientRects().length > 0 && !el.closest('p:not(.rt-join-account)'))
    .map((el) => el.type === 'checkbox' && el.closest('label') ? el.closest('label') : el)
    .map((el) => ({ el: el.id || el.textContent.trim(), box: el.getBoundingClientRect() }))
    .filter(({ box }) => box.width < 44 || box.height < 44)
    .map(({ el, box }) => `${el}: ${Math.round(box.width)}x${Math.round(box.height)}`)
})"""


@asynccontextmanager
async def mail_server(restarts: Restarts) -> AsyncIterator[tuple[RunningServer, SmtpServer]]:
    """A Roundtable server sending its emails to a test SMTP server."""
    async with running_smtp_server() as smtp:
        restarts.configure(smtp_url=smtp.url)
        async with restarts.run() as server:
            try:
                yield server, smtp
            finally:
                # The pages close before the server stops: a room left open would log
                # its attempts to reconnect as console errors.
                for client in restarts.clients.all:
                    await client.context.close()


async def account_of(page: Page) -> Any:
    """GET /api/account as the page's browser: its JSON, or the HTTP status when refused."""
    return await page.evaluate(
        """async () => {
          const response = await fetch('/api/account')
          return response.ok ? response.json() : response.status
        }"""
    )


async def ask_for_email(
    client: Client, server: RunningServer, email: str, path: str = "/sign-in"
) -> None:
    """Ask for a sign-in email on the sign-in page at ``path``: "Check your email" shows."""
    page = client.page
    await page.goto(server.http + path)
    field = page.get_by_label("Email address")
    await expect(field).to_be_focused()
    await field.fill(email)
    await page.get_by_role("button", name="Continue").click()
    await expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    await expect(page.get_by_text(f"We sent a sign-in email to {email}.")).to_be_visible()
    await expect(page.get_by_label("6-digit code")).to_be_focused()


async def email_to(smtp: SmtpServer, email: str) -> Any:
    message = await smtp.next_message()
    assert email in message["To"], message["To"]
    return message


async def sign_in_by_link(
    client: Client, server: RunningServer, smtp: SmtpServer, email: str
) -> None:
    await ask_for_email(client, server, email)
    link = link_in(await email_to(smtp, email))
    await client.page.goto(link)
    await client.page.get_by_role("button", name="Continue").click()
    await expect(client.page.get_by_role("heading", name="My rooms")).to_be_visible()


async def sign_in_by_code(
    client: Client, server: RunningServer, smtp: SmtpServer, email: str, path: str = "/sign-in"
) -> None:
    """Sign in with the emailed code (the link is opened nowhere); the page goes on by itself."""
    await ask_for_email(client, server, email, path)
    code = code_in(await email_to(smtp, email))
    await client.page.get_by_label("6-digit code").fill(code)
    await expect(client.page.get_by_role("heading", name="Check your email")).to_be_hidden()


async def checked(
    client: Client, screen: str, *, phone: bool, dark: bool = False, full: bool = False
) -> None:
    """axe finds nothing serious; on a phone nothing is wider than the screen and every
    control takes a fingertip; the screen is saved for the docs (``full``: the whole page)."""
    violations = await axe_violations(client.page)
    assert not violations, f"{screen}: " + "\n".join(str(v) for v in violations)
    if phone:
        layout = await client.page.evaluate(_LAYOUT)
        assert layout["scrollWidth"] <= 390, (screen, layout)
        assert layout["small"] == [], (screen, layout)
    folder = SCREENSHOTS
    folder.mkdir(parents=True, exist_ok=True)
    device = ("phone" if phone else "desktop") + ("-dark" if dark else "")
    await client.page.screenshot(
        path=str(folder / f"accounts-{device}-{screen}.png"), full_page=full
    )


async def test_sign_in_by_link_here_and_by_code_on_another_device(restarts: Restarts) -> None:
    async with mail_server(restarts) as (server, smtp):
        clients = restarts.clients
        laptop = await clients.new("Amy")
        await ask_for_email(laptop, server, "Amy.Lee@Example.com")
        message = await email_to(smtp, "amy.lee@example.com")
        link = link_in(message)

        # A mail scanner opens the link first: the page asks, and redeems nothing.
        scanner = await clients.new("Scanner")
        await scanner.page.goto(link)
        await expect(
            scanner.page.get_by_role("heading", name="Sign in to Roundtable")
        ).to_be_visible()
        await expect(scanner.page.get_by_role("button", name="Continue")).to_be_focused()
        clients.allow_console(scanner, "401")
        assert await account_of(scanner.page) == 401

        # Amy opens it on her laptop: Continue signs her in, and home is "My rooms".
        await laptop.page.goto(link)
        await laptop.page.get_by_role("button", name="Continue").click()
        await expect(laptop.page.get_by_role("heading", name="My rooms")).to_be_visible()
        assert laptop.page.url == server.http + "/"
        header = laptop.page.get_by_role("navigation", name="Your account")
        await expect(header.get_by_role("link", name="Amy Lee")).to_have_attribute(
            "href", "/account"
        )
        await expect(laptop.page.get_by_text("You are in no rooms yet.")).to_be_visible()
        on_laptop = await account_of(laptop.page)
        assert on_laptop["account"]["email"] == "amy.lee@example.com"

        # On her phone she types the code of a new email (its link is opened nowhere).
        phone = await clients.new("Amy's phone", phone=True)
        await ask_for_email(phone, server, "amy.lee@example.com")
        code = code_in(await email_to(smtp, "amy.lee@example.com"))
        field = phone.page.get_by_label("6-digit code")
        clients.allow_console(phone, "401")
        await field.fill(f"{(int(code) + 1) % 1_000_000:06d}")
        await expect(phone.page.get_by_role("alert")).to_have_text(
            "That code is not the one we sent. Check the email and type it again."
        )
        await expect(field).to_be_focused()
        await field.fill(code[:3] + " " + code[3:])
        await expect(phone.page.get_by_role("heading", name="My rooms")).to_be_visible()
        on_phone = await account_of(phone.page)
        assert on_phone["account"]["id"] == on_laptop["account"]["id"]

        # The account page lists both devices, this one marked.
        await laptop.page.get_by_role("link", name="Amy Lee").click()
        await expect(
            laptop.page.get_by_role("heading", name="Your account", exact=True)
        ).to_be_visible()
        devices = laptop.page.get_by_role("list", name="Devices")
        await expect(devices.get_by_role("listitem")).to_have_count(2)
        await expect(devices.get_by_role("listitem").filter(has_text="This device")).to_have_count(
            1
        )
        await expect(laptop.page.get_by_label("Your name")).to_have_value("Amy Lee")
        await expect(laptop.page.get_by_text("amy.lee@example.com")).to_be_visible()


async def test_a_used_link_says_so_and_sends_a_new_one_there(restarts: Restarts) -> None:
    async with mail_server(restarts) as (server, smtp):
        clients = restarts.clients
        ben = await clients.new("Ben")
        await sign_in_by_link(ben, server, smtp, "ben@example.com")
        used = link_in(smtp.received[-1].message)

        other = await clients.new("Ben elsewhere", phone=True)
        clients.allow_console(other, "410")
        await other.page.goto(used)
        await other.page.get_by_role("button", name="Continue").click()
        await expect(
            other.page.get_by_role("heading", name="This sign-in link was already used")
        ).to_be_visible()
        field = other.page.get_by_label("Email address")
        await expect(field).to_be_focused()
        await field.fill("ben@example.com")
        await other.page.get_by_role("button", name="Send me a new link").click()
        await expect(other.page.get_by_role("heading", name="Check your email")).to_be_visible()
        fresh = link_in(await email_to(smtp, "ben@example.com"))
        assert fresh != used
        await other.page.goto(fresh)
        await other.page.get_by_role("button", name="Continue").click()
        await expect(other.page.get_by_role("heading", name="My rooms")).to_be_visible()

        # "Use a different email" goes back to the form, with the address to correct.
        third = await clients.new("Ben's tablet")
        await ask_for_email(third, server, "ben@exmaple.com")
        await third.page.get_by_role("button", name="Use a different email").click()
        field = third.page.get_by_label("Email address")
        await expect(field).to_have_value("ben@exmaple.com")
        await expect(field).to_be_focused()
        # A wrong address is said before anything is sent.
        await field.fill("ben@")
        await third.page.get_by_role("button", name="Continue").click()
        await expect(third.page.get_by_role("alert")).to_have_text(
            "This is not a whole email address. Type it like name@example.com."
        )


async def test_joining_as_the_account_gives_the_same_seat_on_every_device(
    restarts: Restarts,
) -> None:
    async with mail_server(restarts) as (server, smtp):
        clients = restarts.clients
        room = await server.create_room("Style guide sprint")
        member_invite = room.invites[Role.MEMBER]

        # A guest sees the name form, and may sign in instead: back to this invite after.
        cal = await clients.new("Cal")
        await cal.page.goto(f"{server.http}/join/{member_invite}")
        await expect(cal.page.locator("input#name")).to_be_focused()
        await cal.page.get_by_role("link", name="Sign in to keep your seat on every device").click()
        await cal.page.wait_for_url(re.compile(r"/sign-in\?next="))
        await sign_in_by_code(
            cal, server, smtp, "cal@example.com", path=cal.page.url[len(server.http) :]
        )
        await cal.page.wait_for_url(f"**/join/{member_invite}")
        join = cal.page.get_by_role("button", name="Join as Cal")
        await expect(join).to_be_focused()
        await expect(cal.page.locator("input#name")).to_have_count(0)
        await join.click()
        await cal.page.wait_for_url("**/room/**")
        await expect(cal.page.locator(".rt-you")).to_have_count(1)
        first_seat = await cal.page.evaluate(
            "(slug) => JSON.parse(localStorage.getItem('roundtable:' + slug)).participant.id",
            room.room.slug,
        )

        # Her second device signs in and opens the room's address: no invite, same seat.
        tablet = await clients.new("Cal's tablet", phone=True)
        await sign_in_by_code(tablet, server, smtp, "cal@example.com")
        await expect(
            tablet.page.get_by_role("link", name=re.compile("Style guide sprint"))
        ).to_be_visible()
        await tablet.page.get_by_role("link", name=re.compile("Style guide sprint")).click()
        await tablet.page.wait_for_url(f"**/room/{room.room.slug}")
        await expect(tablet.page.locator(".rt-you")).to_have_count(1)
        second_seat = await tablet.page.evaluate(
            "(slug) => JSON.parse(localStorage.getItem('roundtable:' + slug)).participant.id",
            room.room.slug,
        )
        assert second_seat == first_seat

        # A kept token that expired, or that the room refuses: the account's seat again.
        for broken in ("s.expiresAt = 1", "s.token = 'not-a-token'"):
            await tablet.page.evaluate(
                """([slug, broken]) => {
                  const s = JSON.parse(localStorage.getItem('roundtable:' + slug))
                  new Function('s', broken)(s)
                  localStorage.setItem('roundtable:' + slug, JSON.stringify(s))
                }""",
                [room.room.slug, broken],
            )
            clients.allow_console(tablet, "401")
            await tablet.page.reload()
            await expect(tablet.page.locator(".rt-you")).to_have_count(1)
            kept = await tablet.page.evaluate(
                "(slug) => JSON.parse(localStorage.getItem('roundtable:' + slug))", room.room.slug
            )
            assert kept["participant"]["id"] == first_seat
            assert kept["token"] != "not-a-token" and kept["expiresAt"] > 1
        listed = await account_of(tablet.page)
        assert [(r["room"], r["role"], r["participant_id"]) for r in listed["rooms"]] == [
            (room.room.slug, "member", first_seat)
        ]

        # "Not you? Sign out": the name form again, for a guest; the kept tokens are gone.
        await cal.page.goto(f"{server.http}/join/{member_invite}")
        await cal.page.get_by_role("button", name="Sign out").click()
        await expect(cal.page.locator("input#name")).to_be_focused()
        await expect(
            cal.page.get_by_role("status").filter(has_text="You are signed out")
        ).to_be_visible()
        assert (
            await cal.page.evaluate(
                "(slug) => localStorage.getItem('roundtable:' + slug)", room.room.slug
            )
            is None
        )
        clients.allow_console(cal, "401")
        assert await account_of(cal.page) == 401


async def test_a_room_created_in_the_browser_shows_its_links_and_is_listed(
    restarts: Restarts,
) -> None:
    async with mail_server(restarts) as (server, smtp):
        clients = restarts.clients
        await server.app_state.accounts.store.add_room_creator("@school.example")
        dee = await clients.new("Dee")
        await dee.context.grant_permissions(["clipboard-read", "clipboard-write"])
        await sign_in_by_link(dee, server, smtp, "dee@school.example")
        page = dee.page
        await page.get_by_role("button", name="New room").click()
        dialog = page.get_by_role("dialog", name="New room")
        await expect(dialog.get_by_label("Room title")).to_be_focused()
        await dialog.get_by_role("button", name="Create room").click()
        await expect(dialog.get_by_role("alert")).to_have_text("Type a title for the room.")
        await dialog.get_by_label("Room title").fill("Spring cohort")
        await dialog.get_by_role("checkbox", name=re.compile("^Style guide")).check()
        await dialog.get_by_role("button", name="Create room").click()

        ready = page.get_by_role("dialog", name="“Spring cohort” is ready")
        await expect(ready).to_be_visible()
        created = await account_of(page)
        slug = created["rooms"][0]["room"]
        invites = await page.evaluate(
            """async (slug) => {
              const { token } = JSON.parse(localStorage.getItem('roundtable:' + slug))
              const response = await fetch('/api/rooms/' + slug + '/invites',
                { headers: { authorization: 'Bearer ' + token } })
              return (await response.json()).invites
            }""",
            slug,
        )
        for role in ("member", "observer"):
            group = ready.get_by_role("group", name=f"Invite as {role}")
            await expect(group.get_by_label(f"Invite link for {role}s")).to_have_value(
                f"{server.http}/join/{invites[role]}"
            )
        # The facilitator's link, which gives full control, waits under a disclosure.
        facilitator = ready.get_by_role("group", name="Invite as facilitator")
        await expect(facilitator).to_be_hidden()
        await ready.get_by_text("Facilitator link").click()
        await expect(facilitator.get_by_label("Invite link for facilitators")).to_have_value(
            f"{server.http}/join/{invites['facilitator']}"
        )
        member = ready.get_by_role("group", name="Invite as member")
        await member.get_by_role("button", name="Copy").click()
        await expect(member.get_by_role("button", name="Copied")).to_be_visible()
        assert await page.evaluate("navigator.clipboard.readText()") == (
            f"{server.http}/join/{invites['member']}"
        )

        await ready.get_by_role("button", name="Open the room").click()
        await page.wait_for_url(f"**/room/{slug}**")
        await expect(page.get_by_role("textbox", name="Document Style guide")).to_be_visible()

        # Home lists it, with the role; someone not listed may not create rooms.
        await page.goto(server.http + "/")
        item = page.get_by_role("link", name=re.compile("Spring cohort"))
        await expect(item).to_contain_text("facilitator")
        await expect(item).to_have_attribute("href", f"/room/{slug}")

        eve = await clients.new("Eve")
        await sign_in_by_link(eve, server, smtp, "eve@elsewhere.example")
        await expect(
            eve.page.get_by_text("Ask an administrator to let you create rooms.")
        ).to_be_visible()
        await expect(eve.page.get_by_role("button", name="New room")).to_have_count(0)


async def test_sign_out_everywhere_signs_out_the_other_device(restarts: Restarts) -> None:
    async with mail_server(restarts) as (server, smtp):
        clients = restarts.clients
        room = await server.create_room("Reading group")
        fay = await clients.new("Fay")
        await sign_in_by_link(fay, server, smtp, "fay@example.com")
        phone = await clients.new("Fay's phone", phone=True)
        await sign_in_by_code(phone, server, smtp, "fay@example.com")
        await phone.page.goto(f"{server.http}/join/{room.invites[Role.MEMBER]}")
        await phone.page.get_by_role("button", name="Join as Fay").click()
        await phone.page.wait_for_url("**/room/**")

        page = fay.page
        await page.goto(server.http + "/account")
        await expect(
            page.get_by_role("list", name="Devices").get_by_role("listitem")
        ).to_have_count(2)
        # The name changes everywhere she is.
        await page.get_by_label("Your name").fill("Fay Okafor")
        await page.get_by_role("button", name="Save name").click()
        await expect(page.get_by_role("status").filter(has_text="Name saved.")).to_be_visible()
        await expect(page.get_by_role("link", name="Fay Okafor")).to_be_visible()

        await page.get_by_role("button", name="Sign out everywhere").click()
        dialog = page.get_by_role("dialog", name="Sign out on every device?")
        await dialog.get_by_role("button", name="Sign out everywhere").click()
        await expect(page.get_by_role("heading", name="Welcome to Roundtable")).to_be_visible()

        # The phone's next call about the account finds it signed out: home says so.
        clients.allow_console(phone, "401")
        assert await account_of(phone.page) == 401
        await phone.page.goto(server.http + "/")
        await expect(
            phone.page.get_by_role("heading", name="Welcome to Roundtable")
        ).to_be_visible()


async def test_signing_out_one_device_and_deleting_the_account(restarts: Restarts) -> None:
    async with mail_server(restarts) as (server, smtp):
        clients = restarts.clients
        gus = await clients.new("Gus")
        await sign_in_by_link(gus, server, smtp, "gus@example.com")
        other = await clients.new("Gus's phone", phone=True)
        await sign_in_by_code(other, server, smtp, "gus@example.com")

        page = gus.page
        await page.goto(server.http + "/account")
        devices = page.get_by_role("list", name="Devices")
        await expect(devices.get_by_role("listitem")).to_have_count(2)
        away = devices.get_by_role("listitem").filter(has_not_text="This device")
        await away.get_by_role("button").click()
        await expect(devices.get_by_role("listitem")).to_have_count(1)
        clients.allow_console(other, "401")
        assert await account_of(other.page) == 401

        await page.get_by_role("button", name="Delete my account").click()
        dialog = page.get_by_role("dialog", name="Delete your account?")
        await expect(dialog).to_contain_text("a former participant")
        confirm = dialog.get_by_role("button", name="Delete my account")
        await expect(confirm).to_be_disabled()
        await dialog.get_by_label(re.compile("To confirm, type your email address")).fill(
            "GUS@example.com "
        )
        await expect(confirm).to_be_enabled()
        await confirm.click()
        await expect(page.get_by_role("heading", name="Your account is deleted")).to_be_visible()
        clients.allow_console(gus, "401")
        assert await account_of(page) == 401


@pytest.mark.parametrize(
    ("phone", "dark"),
    [(False, False), (True, False), (False, True)],
    ids=["desktop", "phone", "dark"],
)
async def test_every_account_screen_is_accessible_and_fits(
    restarts: Restarts, phone: bool, dark: bool
) -> None:
    async with mail_server(restarts) as (server, smtp):
        clients = restarts.clients
        await server.app_state.accounts.store.add_room_creator("hana@example.com")
        hana = await clients.new("Hana", phone=phone)
        page = hana.page
        theme: Literal["dark", "light"] = "dark" if dark else "light"
        await page.emulate_media(color_scheme=theme)

        async def check_screen(
            client: Client, screen: str, *, phone: bool, full: bool = False
        ) -> None:
            await checked(client, screen, phone=phone, dark=dark, full=full)

        await page.goto(server.http + "/")
        await expect(page.get_by_label("Email address")).to_be_focused()
        await expect(page.get_by_role("heading", name="Welcome to Roundtable")).to_be_visible()
        await check_screen(hana, "welcome", phone=phone)
        await page.goto(server.http + "/sign-in")
        await expect(page.get_by_label("Email address")).to_be_focused()
        await check_screen(hana, "sign-in", phone=phone)

        await ask_for_email(hana, server, "hana@example.com")
        await check_screen(hana, "check-email", phone=phone)
        link = link_in(await email_to(smtp, "hana@example.com"))
        await page.goto(link)
        await expect(page.get_by_role("button", name="Continue")).to_be_focused()
        await check_screen(hana, "link-landing", phone=phone)
        await page.get_by_role("button", name="Continue").click()
        await expect(page.get_by_role("heading", name="My rooms")).to_be_visible()

        # A used link, as someone else opening it would see it.
        late = await clients.new("Late", phone=phone)
        await late.page.emulate_media(color_scheme=theme)
        clients.allow_console(late, "410")
        await late.page.goto(link)
        await late.page.get_by_role("button", name="Continue").click()
        await expect(
            late.page.get_by_role("heading", name="This sign-in link was already used")
        ).to_be_visible()
        await check_screen(late, "expired-link", phone=phone)

        for title in ("Spring cohort: style guide", "Mentoring circle"):
            await page.get_by_role("button", name="New room").click()
            dialog = page.get_by_role("dialog", name="New room")
            await dialog.get_by_label("Room title").fill(title)
            await dialog.get_by_role("checkbox", name=re.compile("^Best-practices guide")).check()
            if title == "Mentoring circle":
                await check_screen(hana, "new-room", phone=phone)
            await dialog.get_by_role("button", name="Create room").click()
            ready = page.get_by_role("dialog", name=f"“{title}” is ready")
            await expect(ready.get_by_role("group", name="Invite as observer")).to_be_visible()
            if title == "Mentoring circle":
                await check_screen(hana, "invite-links", phone=phone)
            await ready.get_by_role("button", name="Close").click()
            await expect(page.get_by_role("link", name=re.compile(title))).to_be_visible()

        # Someone joins the first room and writes: the home page says what is new.
        rooms = (await account_of(page))["rooms"]
        first = next(r for r in rooms if r["title"] == "Spring cohort: style guide")
        invites = await page.evaluate(
            """async (slug) => {
              const { token } = JSON.parse(localStorage.getItem('roundtable:' + slug))
              const response = await fetch('/api/rooms/' + slug + '/invites',
                { headers: { authorization: 'Bearer ' + token } })
              return (await response.json()).invites
            }""",
            first["room"],
        )
        guest = await clients.join(invites["member"], "Ivo")
        await guest.api("POST", "/threads", {"kind": "question", "body": "Where do we start?"})
        await page.reload()
        await expect(page.get_by_role("link", name=re.compile("Spring cohort"))).to_contain_text(
            "new"
        )
        await check_screen(hana, "home", phone=phone)

        # A visit (with the token kept since the room was created) counts: nothing new after.
        spring = page.get_by_role("link", name=re.compile("Spring cohort"))
        async with page.expect_response(re.compile(r"/api/account/rooms/[^/]+/token$")):
            await spring.click()
        await expect(page.locator(".rt-you")).to_have_count(1)
        # Connected before leaving: a socket closed while it connects is a console error.
        await expect(hana.status).to_have_attribute("data-state", "online")
        await page.goto(server.http + "/")
        await expect(spring).to_be_visible()
        await expect(spring).not_to_contain_text("new")

        # An invite opened signed in: one button.
        other = await server.create_room("Book club")
        await page.goto(f"{server.http}/join/{other.invites[Role.MEMBER]}")
        await expect(page.get_by_role("button", name="Join as Hana")).to_be_focused()
        await check_screen(hana, "join-signed-in", phone=phone)
        await page.goto(server.http + "/")

        await page.get_by_role("link", name="Hana").click()
        await expect(page.get_by_role("heading", name="Your account", exact=True)).to_be_visible()
        await check_screen(hana, "account", phone=phone, full=True)
        await page.get_by_role("button", name="Delete my account").click()
        await expect(page.get_by_role("dialog", name="Delete your account?")).to_be_visible()
        await check_screen(hana, "delete-account", phone=phone)


async def test_asking_for_too_many_emails_says_when_to_ask_again(restarts: Restarts) -> None:
    async with running_smtp_server() as smtp:
        restarts.configure(smtp_url=smtp.url, max_sign_ins_per_email_per_hour=1)
        async with restarts.run() as server:
            ivy = await restarts.clients.new("Ivy")
            await ask_for_email(ivy, server, "ivy@example.com")
            await email_to(smtp, "ivy@example.com")
            restarts.clients.allow_console(ivy, "429")
            resend = ivy.page.get_by_role("button", name="Send a new email")
            await resend.click()
            await expect(ivy.page.get_by_role("alert")).to_have_text(
                re.compile(
                    r"^Too many sign-in emails were asked for\. "
                    r"You can ask again in \d+ (minute|hour)s?\.$"
                )
            )
            # The button waits as long as the server asked.
            await expect(resend).to_be_disabled()
            assert smtp.waiting() == 0


async def test_download_my_data(restarts: Restarts) -> None:
    async with mail_server(restarts) as (server, smtp):
        jo = await restarts.clients.new("Jo")
        await sign_in_by_link(jo, server, smtp, "jo@example.com")
        await jo.page.goto(server.http + "/account")
        async with jo.page.expect_download() as downloading:
            await jo.page.get_by_role("button", name="Download my data").click()
        download = await downloading.value
        assert download.suggested_filename == "roundtable-data.zip"
        await expect(jo.page.get_by_role("status").filter(has_text="Downloaded")).to_have_text(
            "Downloaded roundtable-data.zip."
        )
        path = await download.path()
        assert path.read_bytes()[:2] == b"PK"
