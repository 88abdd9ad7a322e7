"""Mentors in the web client (real server, real SMTP server, real Chromium): a learner
opens the Mentor dialog on her action plan and invites her manager from outside the
cohort by email (with what the dialog says when the address is wrong, when too many
emails went to it, and when the server refuses); the manager opens the emailed link in
another browser, lands on the plan with a banner saying what a mentor sees, sees only
that document, and comments on a passage of it, which the learner's page shows; events
about the rest of the room reach the manager's page as ``hidden`` and change nothing.
Someone in the room is chosen as mentor from the dialog, on a phone, and a facilitator
stops it.

Screenshots (``artifacts/screenshots/mentor-*.png``, copied to ``docs/screenshots``): the
dialog and the mentor's view, on a desk and on a phone.
"""

from __future__ import annotations

import json
import re

import pytest
from playwright.async_api import Locator, Route, expect

from rooms.roles import Role
from tests.browser.conftest import SCREENSHOTS, Client, Clients, Restarts
from tests.browser.test_people import assert_accessible, assert_fits_phone, leave
from tests.browser.test_web_client import DOC, double_click_word, join_doc, open_room
from tests.support.harness import RunningServer
from tests.support.smtp import link_in, running_smtp_server, text_of

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

BANNER = "You mentor this document: you see it and comment on it; the rest of the room is private."
HELP = "They will see and comment on this document only."
INVALID = "Enter an email address, like name@example.org."


async def screenshot(client: Client, name: str) -> None:
    """Save what ``client`` shows as ``artifacts/screenshots/<name>.png``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await client.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def toolbar(client: Client) -> Locator:
    return client.page.get_by_role("toolbar", name="Formatting")


async def mentor_command(client: Client) -> Locator | None:
    """The toolbar's Mentor command, in its row or in "More" (opened), or None."""
    button = toolbar(client).get_by_role("button", name="Mentor", exact=True)
    if await button.is_visible():
        return button
    more = toolbar(client).get_by_role("button", name="More", exact=True)
    if not await more.is_visible():
        return None
    await more.click()
    item = toolbar(client).get_by_role("menuitem", name="Mentor", exact=True)
    await expect(toolbar(client).get_by_role("menu")).to_be_visible()
    if await item.count():
        return item
    await client.page.keyboard.press("Escape")
    return None


async def open_mentor_dialog(client: Client, document: str) -> Locator:
    command = await mentor_command(client)
    assert command is not None, f"{client.name} has no Mentor command"
    await command.click()
    dialog = client.page.get_by_role("dialog", name=f"Mentor of “{document}”")
    await expect(dialog).to_be_visible()
    await expect(dialog.get_by_role("heading", name=f"Mentor of “{document}”")).to_be_focused()
    return dialog


def documents(client: Client) -> Locator:
    return client.page.get_by_role("list", name="Documents")


def document_entry(client: Client, name: str) -> Locator:
    return documents(client).get_by_role("button", name=re.compile("^" + re.escape(name)))


async def refuse_invitations(route: Route) -> None:
    """The server's answer to someone no longer allowed to choose the mentor."""
    await route.fulfill(
        status=403,
        json={
            "error": {
                "code": "forbidden",
                "message": "only the document's creator or a facilitator sets its mentor",
            }
        },
    )


async def on_second_device(clients: Clients, first: Client, room: str) -> Client:
    """The account of ``first`` (signed in) on a phone of theirs: its session cookie and
    the page's note that it is signed in; the room opens with the account's seat."""
    phone = await clients.new(first.name, phone=True)
    await phone.context.add_cookies(await first.context.cookies())  # type: ignore[arg-type]
    account = await first.page.evaluate("localStorage.getItem('roundtable.account')")
    assert account, f"{first.name} is not signed in"
    await phone.context.add_init_script(
        f"localStorage.setItem('roundtable.account', {json.dumps(account)})"
    )
    await phone.page.goto(f"{clients.server.http}/room/{room}")
    return phone


async def test_a_learner_invites_her_manager_who_comments_on_the_plan_only(
    restarts: Restarts,
) -> None:
    async with running_smtp_server() as smtp:
        restarts.configure(smtp_url=smtp.url, max_sign_ins_per_email_per_hour=1)
        async with restarts.run() as server:
            clients = restarts.clients
            room, fay = await open_room(server, clients, "Our notes.")
            slug = room.room.slug
            lu = await join_doc(clients, room, Role.MEMBER, "Lu")
            await lu.create_document("Lu plan", "action-plan")

            # Not hers, and she does not run the room: no Mentor command on Fay's notes.
            await document_entry(lu, DOC).click()
            await expect(lu.page.get_by_role("textbox", name=f"Document {DOC}")).to_be_visible()
            assert await mentor_command(lu) is None
            await document_entry(lu, "Lu plan").click()

            dialog = await open_mentor_dialog(lu, "Lu plan")
            now = dialog.get_by_role("region", name="Mentor now")
            await expect(now).to_contain_text("No one mentors this document yet.")
            await expect(now.get_by_role("button", name="Stop mentoring")).to_have_count(0)
            invite = dialog.get_by_role("form", name="Invite someone from outside the cohort")
            await expect(invite).to_contain_text(HELP)
            email = invite.get_by_label("Their email")
            send = invite.get_by_role("button", name="Send invitation")

            # Not an address: said before anything is sent. The server's 422 says so too.
            await email.fill("boss at corp")
            await send.click()
            await expect(invite.get_by_role("alert")).to_have_text(INVALID)
            await expect(email).to_have_attribute("aria-invalid", "true")
            await email.fill("boss@corp")
            await expect(invite.get_by_role("alert")).to_have_count(0)
            await send.click()
            await expect(invite.get_by_role("alert")).to_have_text(INVALID)
            clients.allow_console(lu, "status of 422")

            await email.fill("boss@corp.example")
            await expect(invite.get_by_role("alert")).to_have_count(0)
            await assert_accessible(lu, "the Mentor dialog")
            await screenshot(lu, "mentor-dialog-desktop")
            await send.click()
            await expect(invite.get_by_role("status")).to_have_text(
                "Invitation sent to boss@corp.example. "
                "They become the mentor when they open the link in it."
            )
            await expect(email).to_have_value("")
            await expect(email).to_be_focused()
            await screenshot(lu, "mentor-dialog-sent-desktop")

            # One email an hour to an address (here): the next waits, and says how long.
            await email.fill("boss@corp.example")
            await send.click()
            await expect(invite.get_by_role("alert")).to_have_text(
                re.compile(
                    r"^Too many emails to this address just now\. Try again in \d+ minutes?\.$"
                )
            )
            await expect(invite.get_by_role("status")).to_have_count(0)
            clients.allow_console(lu, "status of 429")
            # Refused (as when a facilitator took the plan over): said in the dialog.
            await lu.page.route("**/mentor/invitation", refuse_invitations)
            await email.fill("other@corp.example")
            await send.click()
            await expect(invite.get_by_role("alert")).to_have_text(
                "Only the document\u2019s creator or a facilitator can choose its mentor."
            )
            clients.allow_console(lu, "status of 403")
            await lu.page.unroute("**/mentor/invitation", refuse_invitations)
            await lu.page.keyboard.press("Escape")
            await expect(dialog).to_have_count(0)

            delivery = await smtp.next_delivery()
            assert delivery.rcpt_tos == ("boss@corp.example",), delivery.rcpt_tos
            assert "Mentor of “Lu plan”" in text_of(delivery.message)
            link = link_in(delivery.message)
            assert smtp.waiting() == 0

            # The manager, in a browser of their own: Continue, and the plan opens.
            boss = await clients.new("Boss")
            await boss.page.goto(link)
            await boss.page.get_by_role("button", name="Continue").click()
            await boss.page.wait_for_url(f"**/room/{slug}?doc=Lu%20plan")
            await expect(boss.page.get_by_role("textbox", name="Document Lu plan")).to_be_visible()
            await expect(boss.editor).to_contain_text("Action plan")
            await expect(boss.page.locator(".rt-you")).to_have_text(re.compile(r"· mentor$"))
            banner = boss.page.get_by_role("status").filter(has_text=BANNER)
            await expect(banner).to_be_visible()
            # Only the plan: Fay's notes are not listed, and nothing to create.
            await expect(documents(boss).get_by_role("listitem")).to_have_count(1)
            await expect(document_entry(boss, "Lu plan")).to_contain_text("Mentor: you")
            await expect(boss.page.get_by_label("New document")).to_have_count(0)
            # Comment on the plan, but no questions to a room they do not see.
            await expect(toolbar(boss).get_by_role("button", name="Comment")).to_be_visible()
            await expect(toolbar(boss).get_by_role("button", name="Ask")).to_have_count(0)
            assert await mentor_command(boss) is None
            await boss.page.get_by_role("tab", name=re.compile("^Questions")).click()
            await expect(boss.page.locator(".rt-discussion")).to_contain_text(
                "As a mentor you comment on the document; questions are for the cohort."
            )
            await expect(boss.page.get_by_label("Your question")).to_have_count(0)
            await boss.page.get_by_role("tab", name=re.compile("^Comments")).click()

            # Lu's page names the mentor; her roster shows the role.
            await expect(document_entry(lu, "Lu plan")).to_contain_text("Mentor: Boss")
            await expect(document_entry(fay, "Lu plan")).to_contain_text("Mentor: Boss")
            await expect(
                lu.page.get_by_role("list", name="People in the room").locator(
                    "li", has_text="Boss"
                )
            ).to_contain_text("mentor")
            dialog = await open_mentor_dialog(lu, "Lu plan")
            await expect(dialog.get_by_role("region", name="Mentor now")).to_contain_text(
                "Boss mentors this document."
            )
            await lu.page.keyboard.press("Escape")

            # Elsewhere in the room: a question to everyone reaches Boss's page as a
            # hidden event; what follows on the plan still arrives, in order.
            await fay.api("POST", "/threads", {"kind": "question", "body": "Secret question?"})
            await fay.api(
                "POST", "/threads", {"kind": "comment", "body": "On the notes", "document": DOC}
            )
            await lu.api(
                "POST",
                "/threads",
                {"kind": "comment", "body": "My first goal is set.", "document": "Lu plan"},
            )
            await expect(boss.thread("My first goal is set.")).to_be_visible()
            await expect(boss.page.get_by_text("Secret question?")).to_have_count(0)
            await expect(boss.page.get_by_text("On the notes")).to_have_count(0)

            # Boss comments on a passage of the plan; Lu's page shows it.
            await double_click_word(boss, "observable")
            await toolbar(boss).get_by_role("button", name="Comment").click()
            await expect(boss.composer.locator(".rt-quote")).to_contain_text("observable")
            await boss.page.get_by_label("New comment").fill("Which date for the first goal?")
            await boss.composer.get_by_role("button", name="Comment").click()
            await expect(boss.thread("Which date for the first goal?")).to_be_visible()
            card = lu.thread("Which date for the first goal?")
            await expect(card).to_be_visible()
            await expect(card).to_contain_text("observable")
            await expect(card).to_contain_text("Boss")
            await assert_accessible(boss, "the mentor's view")
            await screenshot(boss, "mentor-view-desktop")

            # On their phone: the same view, fitting the screen.
            phone = await on_second_device(clients, boss, slug)
            await expect(phone.page.get_by_role("textbox", name="Document Lu plan")).to_be_visible()
            await expect(phone.page.get_by_role("status").filter(has_text=BANNER)).to_be_visible()
            await expect(toolbar(phone).get_by_role("button", name="Comment")).to_be_visible()
            await expect(toolbar(phone).get_by_role("button", name="Ask")).to_have_count(0)
            # (The document's own checkboxes are the editor's, drawn smaller: not checked here.)
            for part in (".rt-header", ".rt-lock", ".rt-toolbar", ".rt-discussion", ".rt-bottom"):
                await assert_fits_phone(phone, part)
            width = await phone.page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, width
            await assert_accessible(phone, "the mentor's view on a phone")
            await screenshot(phone, "mentor-view-phone")
            await phone.page.locator(".rt-bottom").get_by_role("button", name="Documents").click()
            await expect(documents(phone).get_by_role("listitem")).to_have_count(1)
            await expect(document_entry(phone, "Lu plan")).to_contain_text("Mentor: you")
            await screenshot(phone, "mentor-view-documents-phone")
            await leave(clients)


async def test_someone_in_the_room_is_chosen_as_mentor_and_a_facilitator_stops_it(
    server: RunningServer, clients: Clients
) -> None:
    room, fay = await open_room(server, clients, "Our notes.")
    max_ = await join_doc(clients, room, Role.MEMBER, "Max")
    pia = await join_doc(clients, room, Role.MEMBER, "Pia", phone=True)

    # Pia starts her plan on her phone, in the Documents sheet.
    await pia.page.locator(".rt-bottom").get_by_role("button", name="Documents").click()
    await pia.page.get_by_label("New document").fill("Pia plan")
    await pia.page.get_by_label("Template").select_option("action-plan")
    await pia.page.get_by_role("button", name="Create", exact=True).click()
    await expect(pia.page.get_by_role("textbox", name="Document Pia plan")).to_be_visible()

    # On a phone the command is in the toolbar's row or its "More" menu.
    dialog = await open_mentor_dialog(pia, "Pia plan")
    person = dialog.get_by_label("Person", exact=True)
    await expect(person).to_be_enabled()
    # Everyone in the room but Pia herself, who wrote the plan.
    options = await person.locator("option").all_inner_texts()
    assert options == ["Choose a person…", "Fay · facilitator", "Max · member"], options
    choose = dialog.get_by_role("form", name="Choose someone in the room")
    await choose.get_by_role("button", name="Make mentor").click()
    await expect(choose.get_by_role("alert")).to_have_text("Choose a person first.")
    await person.select_option(label="Max · member")
    await expect(choose.get_by_role("alert")).to_have_count(0)
    await expect(
        dialog.get_by_role("form", name="Invite someone from outside the cohort")
    ).to_contain_text(HELP)
    await assert_fits_phone(pia, "dialog[open]")
    await assert_accessible(pia, "the Mentor dialog on a phone")
    await screenshot(pia, "mentor-dialog-phone")
    await choose.get_by_role("button", name="Make mentor").click()
    await expect(choose.get_by_role("status")).to_have_text("Max mentors “Pia plan” now.")
    await expect(choose.get_by_role("alert")).to_have_count(0)
    now = dialog.get_by_role("region", name="Mentor now")
    await expect(now).to_contain_text("Max mentors this document.")
    await expect(now.get_by_role("button", name="Stop mentoring")).to_be_visible()
    await screenshot(pia, "mentor-dialog-chosen-phone")
    await pia.page.keyboard.press("Escape")
    await expect(dialog).to_have_count(0)

    # Everyone's list says so; Max, a member, mentors it and may comment as before,
    # but only its creator and facilitators choose its mentor.
    await expect(document_entry(fay, "Pia plan")).to_contain_text("Mentor: Max")
    await expect(document_entry(max_, "Pia plan")).to_contain_text("Mentor: you")
    await document_entry(max_, "Pia plan").click()
    await expect(max_.page.get_by_role("textbox", name="Document Pia plan")).to_be_visible()
    assert await mentor_command(max_) is None

    # Fay runs the room: she stops it.
    await document_entry(fay, "Pia plan").click()
    await expect(fay.page.get_by_role("textbox", name="Document Pia plan")).to_be_visible()
    dialog = await open_mentor_dialog(fay, "Pia plan")
    now = dialog.get_by_role("region", name="Mentor now")
    await expect(now).to_contain_text("Max mentors this document.")
    await now.get_by_role("button", name="Stop mentoring").click()
    await expect(now.get_by_role("status")).to_have_text("No one mentors “Pia plan” now.")
    await expect(now).to_contain_text("No one mentors this document yet.")
    await expect(dialog.get_by_label("Person", exact=True)).to_be_focused()
    await expect(document_entry(fay, "Pia plan")).not_to_contain_text("Mentor")
    await expect(document_entry(max_, "Pia plan")).not_to_contain_text("Mentor")
    await expect(pia.page.locator(".rt-mentor-pill")).to_have_count(0)
