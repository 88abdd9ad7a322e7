"""Participation in the web client (real server, real Chromium): a facilitator opens
Participation from the "you" menu and sees who has not contributed yet, the questions
waiting for an answer (the anonymous one with its asker), each person's numbers in a
sortable table, the activity chart, and downloads the CSV; a member opens "My
contributions" and sees only their own numbers, without their anonymous question, and
has no way to the facilitators' page (no menu entry; the API answers 403).

Screenshots (``artifacts/screenshots/participation-*.png``): both dialogs, on a desk
(1280x800) and on a phone (390x844).
"""

from __future__ import annotations

import csv
import re

import pytest
from playwright.async_api import Locator, ViewportSize, expect

from rooms.roles import Role
from tests.browser.axe import axe_violations
from tests.browser.conftest import Client, Clients
from tests.browser.test_web_client import expect_text, join_doc, open_room
from tests.support.harness import RunningServer

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

PHONE_VIEWPORT = ViewportSize(width=390, height=844)
DESKTOP_VIEWPORT = ViewportSize(width=1280, height=800)
COMMENT = "Could we add a glossary?"
NAMED = "Which colours are allowed?"
SECRET = "Is it fine if I do not know the brand?"
# What Mia wrote, as the page counts it: 16 characters added, none removed.
WROTE = "+16 \N{MINUS SIGN}0"

# The status a room route answers the page's participant with (no error is thrown).
_STATUS = """async (path) => {
  const slug = decodeURIComponent(location.pathname.split('/')[2])
  const { token } = JSON.parse(localStorage.getItem('roundtable:' + slug))
  const response = await fetch('/api/rooms/' + encodeURIComponent(slug) + path,
    { headers: { authorization: 'Bearer ' + token } })
  return response.status
}"""


async def open_from_menu(client: Client, entry: str) -> Locator:
    """Open ``entry`` from the "you" menu; the dialog it opens, once loaded."""
    await client.page.locator(".rt-you-button").click()
    await client.page.get_by_role("button", name=entry, exact=True).click()
    dialog = client.page.get_by_role("dialog", name=entry)
    await expect(dialog).to_be_visible()
    await expect(dialog.locator(".rt-participation-body > *").first).to_be_visible()
    return dialog


def person_row(dialog: Locator, name: str) -> Locator:
    """``name``'s row of the desktop table."""
    return dialog.locator(
        "tbody tr", has=dialog.page.locator(".rt-participation-name", has_text=name)
    )


async def cells(row: Locator) -> list[str]:
    return [text.strip() for text in await row.locator("td").all_inner_texts()]


async def assert_accessible(client: Client, screen: str) -> None:
    violations = await axe_violations(client.page)
    assert not violations, f"axe on {screen}:\n" + "\n".join(map(str, violations))


async def ask(client: Client, text: str, *, anonymous: bool = False) -> None:
    await client.page.get_by_role("tab", name="Questions").click()
    await client.page.get_by_label("Your question").fill(text)
    if anonymous:
        await client.page.get_by_label("Ask anonymously").check()
    await client.composer.get_by_role("button", name="Ask").click()
    await expect(client.thread(text)).to_be_visible()


async def test_facilitator_sees_participation_and_a_member_only_their_own(
    server: RunningServer, clients: Clients
) -> None:
    room, fay = await open_room(server, clients, "Agenda.")
    mia = await join_doc(clients, room, Role.MEMBER, "Mia")
    await join_doc(clients, room, Role.MEMBER, "Ned")

    # Mia writes, comments, asks twice (once anonymously) and reacts to Fay's reply.
    await mia.type_at_end(" Mia wrote this.")
    await expect_text(fay, "Mia wrote this.", exact=False)
    await mia.page.get_by_label("New comment").fill(COMMENT)
    await mia.composer.get_by_role("button", name="Comment").click()
    card = fay.thread(COMMENT)
    await expect(card).to_be_visible()
    await card.get_by_label("Reply").fill("Good idea.")
    await card.get_by_role("button", name="Reply").click()
    aha = (
        mia.thread(COMMENT)
        .locator(".rt-comment", has_text="Good idea.")
        .get_by_role("button", name="Aha!")
    )
    await aha.click()
    await expect(aha).to_have_attribute("aria-pressed", "true")
    await ask(mia, NAMED)
    await ask(mia, SECRET, anonymous=True)

    # The facilitator's page.
    page = await open_from_menu(fay, "Participation")
    await expect(page.locator(".rt-participation-summary")).to_have_text(
        "3 people · 2 contributed · 3 here now"
    )
    quiet = page.locator(".rt-participation-quiet")
    await expect(quiet.locator(".rt-participation-names li")).to_have_count(1)
    await expect(quiet.locator(".rt-participation-names")).to_contain_text("Ned")
    waiting = page.locator(".rt-participation-waiting li")
    await expect(waiting).to_have_count(2)
    secret = waiting.filter(has_text=SECRET)
    await expect(secret).to_contain_text("Mia (asked anonymously)")
    await expect(secret.locator(".rt-participation-wait")).to_have_text(
        re.compile(r"^asked (now|.* ago)$")
    )
    await expect(waiting.filter(has_text=NAMED)).not_to_contain_text("anonymously")

    # Mia's row: present, what she wrote, 1 comment, 2 questions (1 anonymous), 1
    # reaction given; Fay's: her reply, the reaction received.
    mia_row = person_row(page, "Mia")
    columns = await cells(mia_row)
    assert columns[1].startswith(WROTE), columns
    assert "notes" in columns[1], columns
    assert columns[2:8] == ["1", "2\n1 anonymous", "0", "0", "1", "0"], columns
    await expect(mia_row).to_contain_text("here now")
    fay_columns = await cells(person_row(page, "Fay"))
    assert fay_columns[2] == "1" and fay_columns[7] == "1", fay_columns
    ned_columns = await cells(person_row(page, "Ned"))
    assert ned_columns[1].startswith("—") and "No text written" in ned_columns[1], ned_columns
    assert ned_columns[2:8] == ["0", "0", "0", "0", "0", "0"], ned_columns

    # Sorting by questions puts Mia first; the column says how it is sorted.
    questions = page.get_by_role("columnheader", name="Questions")
    await questions.get_by_role("button").click()
    await expect(questions).to_have_attribute("aria-sort", "descending")
    await expect(page.locator("tbody tr").first).to_contain_text("Mia")
    await questions.get_by_role("button").click()
    await expect(questions).to_have_attribute("aria-sort", "ascending")
    await expect(page.locator("tbody tr").last).to_contain_text("Mia")

    # The activity chart of the document, described in words.
    chart = page.locator("figure.rt-participation-chart", has_text="notes")
    await expect(chart.get_by_role("img")).to_have_attribute(
        "aria-label", re.compile(r"^notes: \d+ edits? in ")
    )
    assert await chart.locator("rect.rt-chart-bar").count() >= 1

    await assert_accessible(fay, "the Participation page")
    await fay.screenshot("participation-desktop")
    await chart.scroll_into_view_if_needed()
    await fay.screenshot("participation-desktop-activity")
    await fay.page.set_viewport_size(PHONE_VIEWPORT)
    await expect(page.locator(".rt-participation-cards")).to_be_visible()
    await expect(page.locator(".rt-participation-scroll")).to_be_hidden()
    await fay.screenshot("participation-phone")
    await page.locator(".rt-participation-cards li").last.scroll_into_view_if_needed()
    await fay.screenshot("participation-phone-people")
    await fay.page.set_viewport_size(DESKTOP_VIEWPORT)
    # The dark theme reads as well (axe checks the contrast of what it shows).
    await fay.page.emulate_media(color_scheme="dark")
    await page.locator(".rt-participation-body").evaluate("(e) => e.scrollIntoView()")
    await assert_accessible(fay, "the Participation page, dark")
    await fay.screenshot("participation-desktop-dark")
    await chart.scroll_into_view_if_needed()
    await fay.screenshot("participation-desktop-activity-dark")
    await fay.page.emulate_media(color_scheme="light")

    # The CSV: a row per person with the same numbers.
    async with fay.page.expect_download() as downloading:
        await page.get_by_role("button", name="Download CSV").click()
    download = await downloading.value
    assert download.suggested_filename == f"participation-{room.room.slug}.csv"
    saved = await download.path()
    rows = {row["name"]: row for row in csv.DictReader(saved.read_text().splitlines())}
    assert set(rows) == {"Fay", "Mia", "Ned"}
    assert rows["Mia"]["questions"] == "2" and rows["Mia"]["anonymous_questions"] == "1"
    assert rows["Mia"]["comments"] == "1" and rows["Mia"]["added: notes"] == "16"
    assert rows["Ned"]["contributed"] == "false"

    # A question opens its thread in the discussion.
    await secret.get_by_role("button", name=SECRET).click()
    await expect(page).to_be_hidden()
    await expect(fay.page.get_by_role("tab", name="Questions")).to_have_attribute(
        "aria-selected", "true"
    )
    await expect(fay.thread(SECRET)).to_be_focused()

    # A member: their own summary, nothing of their anonymous question.
    await mia.page.locator(".rt-you-button").click()
    menu = mia.page.locator("#you-panel")
    await expect(menu.locator(".rt-you-tools button")).to_have_text(["My contributions"])
    await expect(menu.get_by_role("button", name="Participation")).to_have_count(0)
    await mia.page.locator(".rt-you-button").click()
    mine = await open_from_menu(mia, "My contributions")
    stats = mine.locator(".rt-contributions-stats")
    for label, value in [
        ("Comments", "1"),
        ("Questions (with your name)", "1"),
        ("Reactions given", "1"),
        ("Answers accepted", "0"),
    ]:
        stat = stats.locator("div", has=mia.page.locator("dt", has_text=label))
        await expect(stat.locator("dd")).to_have_text(value)
    await expect(mine.locator(".rt-contributions-writing")).to_contain_text(WROTE)
    threads = mine.locator(".rt-contributions-threads li")
    await expect(threads).to_have_count(2)
    await expect(threads.filter(has_text=NAMED)).to_contain_text("Question")
    await expect(threads.filter(has_text=COMMENT)).to_contain_text("1 reply")
    await expect(mine).not_to_contain_text(SECRET)
    await expect(mine).not_to_contain_text("Ned")
    await assert_accessible(mia, "My contributions")
    await mia.screenshot("participation-mine-desktop")
    await mia.page.set_viewport_size(PHONE_VIEWPORT)
    await mia.screenshot("participation-mine-phone")
    await mine.get_by_role("button", name="Close").click()
    await expect(mine).to_be_hidden()
    await expect(mia.page.locator(".rt-you-button")).to_be_focused()

    clients.allow_console(mia, r"status of 403")
    assert await mia.page.evaluate(_STATUS, "/participation") == 403
    assert await mia.page.evaluate(_STATUS, "/participation.csv") == 403
    assert await mia.page.evaluate(_STATUS, "/participation/me") == 200
