"""Every state is visible, and the discussion never contradicts itself (real server, real
Chromium): the read-only banner of observers and of locked documents (naming who locked
it), the notice of a restored version, threads whose passage left the text, comment and
question counts, and the empty states before any document or thread exists."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Locator, expect

from rooms.roles import Role
from tests.browser.conftest import Client, Clients
from tests.browser.test_web_client import (
    DOC,
    double_click_word,
    expect_text,
    join_doc,
    open_room,
    settle,
)
from tests.support.harness import RunningServer

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

# For every thread card on a passage: [thread id, highlighted in the text, marked as
# detached on its card].
_CARDS_AND_HIGHLIGHTS = """() => [...document.querySelectorAll('article.rt-thread')]
  .filter((card) => card.querySelector('.rt-quote'))
  .map((card) => [
    card.dataset.thread,
    Boolean(document.querySelector(`.rt-prose .rt-anchor[data-thread="${card.dataset.thread}"]`)),
    Boolean(card.querySelector('.rt-quote.rt-detached'))
  ])"""

GONE = "passage deleted or changed"
# What members and observers read before any document exists.
WAITING = "Your facilitator hasn\u2019t shared a document yet"


def banner(client: Client) -> Locator:
    """The read-only banner above the document."""
    return client.page.locator(".rt-lock")


def tab(client: Client, name: str) -> Locator:
    return client.page.get_by_role("tablist", name="Discussion").get_by_role("tab", name=name)


async def comment_on(client: Client, word: str, text: str) -> None:
    """Select ``word`` in the text and comment ``text`` on it."""
    await double_click_word(client, word)
    await (
        client.page.get_by_role("toolbar", name="Formatting")
        .get_by_role("button", name="Comment", exact=True)
        .click()
    )
    await expect(client.composer.locator(".rt-quote")).to_contain_text(word)
    await client.page.get_by_label("New comment").fill(text)
    await client.composer.get_by_role("button", name="Comment", exact=True).click()
    await expect(client.thread(text)).to_be_visible()


async def cards_agree_with_the_text(client: Client) -> list[list[Any]]:
    """Wait until each passage card is marked detached exactly when its passage has no
    highlight in the text; returns the cards as [id, highlighted, detached]."""
    await client.page.wait_for_function(
        "() => (" + _CARDS_AND_HIGHLIGHTS + ")().every(([, lit, gone]) => lit !== gone)"
    )
    cards: list[list[Any]] = await client.page.evaluate(_CARDS_AND_HIGHLIGHTS)
    return cards


async def test_an_observer_sees_the_read_only_banner_and_typing_changes_nothing(
    server: RunningServer, clients: Clients
) -> None:
    room, fay = await open_room(server, clients, "Read me.")
    oscar = await join_doc(clients, room, Role.OBSERVER, "Oscar")
    await expect(banner(oscar)).to_be_visible()
    await expect(banner(oscar)).to_contain_text("You are observing")
    await expect(banner(oscar)).to_contain_text("not edit the text")
    # Those who may edit see no banner.
    await expect(banner(fay)).to_be_hidden()

    await oscar.editor.click()
    await oscar.page.keyboard.type("scribble")
    await settle(fay, [oscar], " Still mine.")
    await expect_text(oscar, "Read me. Still mine.")
    await expect_text(fay, "Read me. Still mine.")
    await oscar.screenshot("states-observer-desktop")

    otto = await join_doc(clients, room, Role.OBSERVER, "Otto", phone=True)
    await expect(banner(otto)).to_contain_text("You are observing")
    await expect(banner(otto)).to_be_in_viewport()
    await otto.screenshot("states-observer-phone")


async def test_a_member_sees_who_locked_the_document_live_and_after_reload(
    server: RunningServer, clients: Clients
) -> None:
    room, fay = await open_room(server, clients, "Draft.")
    mia = await join_doc(clients, room, Role.MEMBER, "Mia")
    await expect(banner(mia)).to_be_hidden()

    await fay.api("PUT", f"/documents/{DOC}/lock", {"locked": True})
    await expect(banner(mia)).to_have_text("Locked by Fay: this document is read-only for now.")
    await expect(mia.editor).to_have_attribute("contenteditable", "false")
    await expect(banner(fay)).to_have_text("Locked by Fay: only facilitators can edit.")
    await expect(mia.page.locator(".rt-doc-button .rt-pill")).to_have_attribute(
        "title", "Locked by Fay"
    )
    await mia.screenshot("states-locked-desktop")

    # What the page loads says who locked it too.
    await mia.page.reload()
    await expect(mia.page.get_by_role("textbox", name=f"Document {DOC}")).to_be_visible()
    await expect(banner(mia)).to_have_text("Locked by Fay: this document is read-only for now.")
    await expect(mia.editor).to_have_attribute("contenteditable", "false")
    pia = await join_doc(clients, room, Role.MEMBER, "Pia", phone=True)
    await expect(banner(pia)).to_have_text("Locked by Fay: this document is read-only for now.")
    await pia.screenshot("states-locked-phone")
    oscar = await join_doc(clients, room, Role.OBSERVER, "Oscar")
    await expect(banner(oscar)).to_contain_text("Locked by Fay. You are observing")

    await fay.api("PUT", f"/documents/{DOC}/lock", {"locked": False})
    await expect(banner(mia)).to_be_hidden()
    await expect(banner(oscar)).to_have_text(
        "You are observing: you can read along and follow the discussion, but not edit the text."
    )


async def test_a_restore_is_announced_on_screen_and_detached_threads_say_so(
    server: RunningServer, clients: Clients
) -> None:
    room, fay = await open_room(server, clients, "Alpha beta gamma.")
    saved = await fay.api("POST", f"/documents/{DOC}/versions", {"name": "Session one"})
    version_id = saved["version"]["id"]
    await fay.type_at_end(" Delta epsilon.")
    mia = await join_doc(clients, room, Role.MEMBER, "Mia")
    pia = await join_doc(clients, room, Role.MEMBER, "Pia", phone=True)
    await expect_text(mia, "Delta epsilon.", exact=False)
    await comment_on(mia, "gamma", "Why gamma?")
    await comment_on(mia, "epsilon", "Epsilon is new.")
    for client in (fay, mia):
        await expect(client.thread("Epsilon is new.")).to_be_visible()
        assert [lit for _, lit, _ in await cards_agree_with_the_text(client)] == [True, True]
    await expect(mia.page.locator(".rt-notice")).to_have_count(0)

    # A passage deleted live: its card says so at once, the other stays attached ...
    await double_click_word(fay, "epsilon")
    await fay.page.keyboard.press("Backspace")
    await expect(mia.thread("Epsilon is new.").locator(".rt-quote")).to_contain_text(GONE)
    await expect(mia.thread("Epsilon is new.").locator(".rt-quote")).to_contain_text("epsilon")
    await expect(mia.thread("Why gamma?").locator(".rt-quote")).not_to_contain_text(GONE)
    await cards_agree_with_the_text(mia)
    # ... and when the deletion is undone, the passage is back and so is its highlight.
    await fay.page.keyboard.press("Control+z")
    await expect(mia.thread("Epsilon is new.").locator(".rt-quote")).not_to_contain_text(GONE)
    assert [lit for _, lit, _ in await cards_agree_with_the_text(mia)] == [True, True]

    # Mia's caret sits in the text the restore replaces.
    await mia.type_at_end(" Mia was here.")
    await expect_text(fay, "Mia was here.", exact=False)
    await fay.api("POST", f"/documents/{DOC}/versions/{version_id}/restore")
    await expect_text(mia, "Alpha beta gamma.")

    # Everyone sees who restored which version; only facilitators get the history.
    title = "Fay restored “Session one” — the text is as it was then"
    for client in (mia, pia, fay):
        notice = client.page.locator(".rt-notice")
        await expect(notice.locator(".rt-notice-title")).to_have_text(title)
        await expect(notice).to_contain_text("the version saved on")
    await expect(mia.page.locator(".rt-notice")).to_contain_text("a facilitator can bring it back")
    await expect(
        mia.page.get_by_role("button", name="Open version history", exact=True)
    ).to_have_count(0)
    await expect(mia.page.locator("#announcer")).to_have_text(title)

    # The restore changed only what differs: the thread on "gamma" (text the restore
    # kept) keeps its passage; "epsilon" came after the version, so its thread is
    # detached and says so.
    for client in (mia, fay):
        cards = await cards_agree_with_the_text(client)
        assert [(lit, gone) for _, lit, gone in cards] == [(True, False), (False, True)]
        await expect(client.thread("Why gamma?").locator(".rt-quote")).not_to_contain_text(GONE)
        await expect(client.thread("Epsilon is new.").locator(".rt-quote")).to_contain_text(GONE)
    await mia.screenshot("states-restored-desktop")
    await expect(pia.page.locator(".rt-notice")).to_be_in_viewport()
    await pia.screenshot("states-restored-phone")

    # Pressing the quote says the same as the card.
    quote = mia.thread("Epsilon is new.").locator(".rt-quote")
    await quote.click()
    explained = "The passage of this thread was deleted or changed"
    await expect(mia.thread("Epsilon is new.").locator(".rt-gone-note")).to_contain_text(explained)
    await expect(mia.page.locator("#announcer")).to_contain_text(explained)
    await mia.screenshot("states-detached-thread-desktop")

    # A new thread on the restored text is attached again, live for the others.
    await comment_on(mia, "beta", "Beta after the restore.")
    await expect(fay.thread("Beta after the restore.").locator(".rt-quote")).not_to_contain_text(
        GONE
    )
    cards = await cards_agree_with_the_text(fay)
    assert sorted(lit for _, lit, _ in cards) == [False, True, True]

    # The facilitator's notice opens the version history.
    await fay.page.get_by_role("button", name="Open version history", exact=True).click()
    history = fay.page.get_by_role("dialog", name=f"Version history of {DOC}")
    await expect(history).to_be_visible()
    await expect(history.get_by_role("list", name="Saved versions")).to_contain_text("Session one")
    await expect(history).to_contain_text("saved before a restore")
    await fay.screenshot("states-version-history-desktop")
    await history.get_by_role("button", name="Close", exact=True).click()
    await expect(history).to_have_count(0)

    # The notice goes when dismissed.
    await mia.page.get_by_role("button", name="Dismiss this notice").click()
    await expect(mia.page.locator(".rt-notice")).to_have_count(0)


async def test_comments_and_questions_are_counted_apart(
    server: RunningServer, clients: Clients
) -> None:
    room, fay = await open_room(server, clients, "Agenda")
    mia = await join_doc(clients, room, Role.MEMBER, "Mia")
    await mia.page.get_by_label("New comment").fill("A remark on the agenda.")
    await mia.composer.get_by_role("button", name="Comment", exact=True).click()
    await expect(mia.thread("A remark on the agenda.")).to_be_visible()
    await tab(mia, "Questions").click()
    await mia.page.get_by_label("Your question").fill("When do we start?")
    await mia.composer.get_by_role("button", name="Ask", exact=True).click()
    await expect(mia.thread("When do we start?")).to_be_visible()

    comments, questions = tab(fay, "Comments"), tab(fay, "Questions")
    await expect(fay.thread("A remark on the agenda.")).to_be_visible()
    await expect(comments.locator(".rt-badge")).to_have_text("1")
    await expect(comments.locator(".rt-badge")).to_have_attribute("aria-label", "1 new")
    await expect(questions.locator(".rt-badge")).to_have_text("1")
    await expect(questions.locator(".rt-badge")).to_have_attribute("aria-label", "1 unanswered")
    # A question is not a comment: it is not listed beside the text either.
    await expect(fay.thread("When do we start?")).to_have_count(0)
    # Her own threads are no news to Mia.
    await expect(tab(mia, "Comments").locator(".rt-badge")).to_have_count(0)
    await fay.screenshot("states-counts-desktop")

    await questions.click()
    question = fay.thread("When do we start?")
    await question.get_by_label("Answer").fill("At ten.")
    await question.get_by_role("button", name="Answer", exact=True).click()
    await expect(questions.locator(".rt-badge")).to_have_count(0)
    await expect(comments.locator(".rt-badge")).to_have_text("1")
    await comments.click()
    await fay.thread("A remark on the agenda.").click()
    await expect(comments.locator(".rt-badge")).to_have_count(0)


async def test_before_any_document_each_role_is_told_what_comes_next(
    server: RunningServer, clients: Clients
) -> None:
    room = await server.create_room("Empty room")
    fay = await clients.join(room.invites[Role.FACILITATOR], "Fay")
    first = fay.page.get_by_role("region", name="Create the first document")
    await expect(first).to_be_visible()
    choices = first.get_by_role("group", name="Start from")
    await expect(choices.get_by_role("radio", name="Empty page")).to_be_checked()
    await expect(choices.get_by_role("radio")).to_have_count(4)
    await expect(choices.get_by_role("radio", name="Style guide")).to_be_visible()
    await fay.screenshot("states-empty-facilitator-desktop")

    mia = await clients.join(room.invites[Role.MEMBER], "Mia")
    waiting = mia.page.get_by_role("region", name=WAITING)
    await expect(waiting).to_be_visible()
    await expect(waiting).to_contain_text("you can ask a question")
    await mia.screenshot("states-empty-member-desktop")
    oscar = await clients.join(room.invites[Role.OBSERVER], "Oscar")
    read_only = oscar.page.get_by_role("region", name=WAITING)
    await expect(read_only).to_contain_text("the discussion shows the questions people ask")
    await expect(read_only.get_by_role("button")).to_have_count(0)

    phone_fay = await clients.join(room.invites[Role.FACILITATOR], "Fay on a phone", phone=True)
    await expect(
        phone_fay.page.get_by_role("region", name="Create the first document")
    ).to_be_in_viewport()
    overflow = await phone_fay.page.evaluate("document.documentElement.scrollWidth - innerWidth")
    assert overflow <= 0, f"the phone layout scrolls sideways by {overflow}px"
    await phone_fay.screenshot("states-empty-facilitator-phone")
    pia = await clients.join(room.invites[Role.MEMBER], "Pia", phone=True)
    await expect(pia.page.get_by_role("region", name=WAITING)).to_be_in_viewport()
    await pia.screenshot("states-empty-member-phone")

    # Meanwhile, a member can ask.
    await waiting.get_by_role("button", name="Ask a question").click()
    await expect(tab(mia, "Questions")).to_have_attribute("aria-selected", "true")
    await expect(mia.page.get_by_label("Your question")).to_be_focused()

    # Picking a template names the document after it; creating it opens it for everyone.
    await choices.get_by_role("radio", name="Style guide").check()
    await expect(first.get_by_label("Document name")).to_have_value("Style guide")
    await first.get_by_role("button", name="Create document").click()
    await expect(fay.page.get_by_role("textbox", name="Document Style guide")).to_be_visible()
    await expect(fay.editor.locator("h1")).to_be_visible()
    for client in (mia, oscar, pia):
        await expect(
            client.page.get_by_role("textbox", name="Document Style guide")
        ).to_be_visible()
        await expect(client.page.locator(".rt-first-doc")).to_have_count(0)


async def test_no_threads_yet_says_how_to_start_one(
    server: RunningServer, clients: Clients
) -> None:
    room, fay = await open_room(server, clients, "Nothing discussed yet.")
    mia = await join_doc(clients, room, Role.MEMBER, "Mia")
    discussion = mia.page.get_by_role("complementary", name="Discussion")
    empty = discussion.locator(".rt-empty-threads")
    await expect(empty).to_contain_text("No comments on this document yet.")
    await expect(empty).to_contain_text("select text in the document and choose Comment")
    await mia.screenshot("states-no-threads-desktop")

    oscar = await join_doc(clients, room, Role.OBSERVER, "Oscar")
    await expect(oscar.page.locator(".rt-empty-threads")).to_contain_text(
        "Comments appear here as people write them."
    )
    await expect(oscar.page.locator(".rt-empty-threads").get_by_role("button")).to_have_count(0)

    await empty.get_by_role("button", name="Ask a question").click()
    await expect(tab(mia, "Questions")).to_have_attribute("aria-selected", "true")
    await expect(empty).to_contain_text("No questions yet.")
    await expect(mia.page.get_by_label("Your question")).to_be_focused()

    pia = await join_doc(clients, room, Role.MEMBER, "Pia", phone=True)
    await (
        pia.page.get_by_role("navigation", name="Panels")
        .get_by_role("button", name="Discussion")
        .tap()
    )
    await expect(pia.page.locator(".rt-empty-threads")).to_be_in_viewport()
    await pia.screenshot("states-no-threads-phone")

    # The first thread replaces the empty state, for everyone.
    await fay.page.get_by_label("New comment").fill("Let us begin.")
    await fay.composer.get_by_role("button", name="Comment", exact=True).click()
    await tab(mia, "Comments").click()
    await expect(mia.thread("Let us begin.")).to_be_visible()
    await expect(empty).to_have_count(0)
