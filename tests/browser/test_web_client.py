"""The web client end to end: real server, real Chromium, several people at once."""

from __future__ import annotations

import pytest
from playwright.async_api import TimeoutError as PlaywrightTimeout
from playwright.async_api import expect
from pycrdt import XmlFragment

from rooms.directory import CreatedRoom
from rooms.roles import Role
from tests.browser.conftest import Client, Clients, Restarts
from tests.support.harness import RunningServer
from tests.support.timing import eventually

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

DOC = "notes"
FORMATTING = [
    "Bold",
    "Italic",
    "Heading",
    "List",
    "Numbered",
    "Checklist",
    "Quote",
    "Link",
    "Undo",
    "Redo",
]
IMG_XSS = '<img src=x onerror="window.__xss=1">'
SCRIPT_XSS = "<script>window.__xss=1</script>"

# The document's text without the caret labels of other people.
_DOC_TEXT = """(() => {
  const copy = document.querySelector('.rt-prose').cloneNode(true)
  for (const caret of copy.querySelectorAll('.collaboration-carets__caret')) caret.remove()
  return copy.textContent
})"""

_WORD_CENTRE = """(word) => {
  const root = document.querySelector('.rt-prose')
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT)
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const at = node.data.indexOf(word)
    if (at < 0) continue
    const range = document.createRange()
    range.setStart(node, at)
    range.setEnd(node, at + word.length)
    const box = range.getBoundingClientRect()
    return { x: box.x + box.width / 2, y: box.y + box.height / 2 }
  }
  return null
}"""

# Accessible-name heuristic for every visible control: text, aria-label(ledby), a label.
_UNNAMED_CONTROLS = """() => {
  const visible = (el) => el.getClientRects().length > 0
  const named = (el) => Boolean(
    (el.getAttribute('aria-label') || '').trim() ||
    el.getAttribute('aria-labelledby') ||
    (el.labels && [...el.labels].some((l) => l.textContent.trim())) ||
    (el.tagName === 'BUTTON' && el.textContent.trim()))
  return [...document.querySelectorAll('button, input, select, textarea, [contenteditable="true"]')]
    .filter((el) => visible(el) && !named(el))
    .map((el) => el.outerHTML.slice(0, 120))
}"""


async def open_room(
    server: RunningServer, clients: Clients, text: str = "", title: str = "Style guide sprint"
) -> tuple[CreatedRoom, Client]:
    """A room whose facilitator Fay has created document DOC (typing ``text`` into it)."""
    room = await server.create_room(title)
    fay = await clients.join(room.invites[Role.FACILITATOR], "Fay")
    await fay.create_document(DOC)
    if text:
        await fay.type_at_end(text)
    return room, fay


async def join_doc(
    clients: Clients, room: CreatedRoom, role: Role, name: str, **kw: bool
) -> Client:
    """Someone joins after DOC exists, so the room opens it for them."""
    client = await clients.join(room.invites[role], name, **kw)
    await expect(client.page.get_by_role("textbox", name=f"Document {DOC}")).to_be_visible()
    await expect(client.status).to_have_attribute("data-state", "online")
    return client


async def expect_text(client: Client, want: str, *, exact: bool = True) -> None:
    """Wait until the document text (other people's caret labels left out) is ``want``.

    With ``exact=False``, until it contains ``want``.
    """
    try:
        await client.page.wait_for_function(
            "([want, exact]) => { const text = " + _DOC_TEXT + "();"
            " return exact ? text === want : text.includes(want) }",
            arg=[want, exact],
            timeout=10_000,
        )
    except PlaywrightTimeout:
        actual = await client.page.evaluate(_DOC_TEXT)
        raise AssertionError(
            f"{client.name}'s document text is {actual!r}, expected "
            f"{'exactly' if exact else 'to contain'} {want!r}"
        ) from None


async def double_click_word(client: Client, word: str) -> None:
    centre = await client.page.evaluate(_WORD_CENTRE, word)
    assert centre is not None, f"{word!r} is not in {client.name}'s editor"
    await client.page.mouse.dblclick(centre["x"], centre["y"])
    await client.page.wait_for_function("(w) => getSelection().toString().trim() === w", arg=word)


async def next_frames(client: Client) -> None:
    """Let a render the page scheduled for its next animation frame happen."""
    await client.page.evaluate(
        "() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))"
    )


async def settle(writer: Client, readers: list[Client], marker: str) -> None:
    """Type ``marker`` as ``writer`` and wait until every reader shows it.

    Proves that earlier input from a reader had time to reach the others: used to
    check that something did *not* happen without sleeping.
    """
    await writer.type_at_end(marker)
    for reader in readers:
        await expect_text(reader, marker, exact=False)


async def test_two_people_co_edit_and_see_each_others_caret(
    server: RunningServer, clients: Clients
) -> None:
    room, fay = await open_room(server, clients)
    mia = await join_doc(clients, room, Role.MEMBER, "Mia")

    await mia.type_at_end("Hello from Mia.")
    await expect_text(fay, "Hello from Mia.", exact=False)
    await expect(fay.editor.locator(".collaboration-carets__caret", has_text="Mia")).to_be_visible()

    await fay.type_at_end(" And from Fay.")
    await expect_text(mia, "Hello from Mia. And from Fay.")
    await expect_text(fay, "Hello from Mia. And from Fay.")
    caret = mia.editor.locator(".collaboration-carets__caret", has_text="Fay")
    await expect(caret).to_be_visible()
    await expect(caret.locator(".collaboration-carets__name")).to_have_text("Fay")
    # Nobody sees their own caret label.
    await expect(mia.editor.locator(".collaboration-carets__caret", has_text="Mia")).to_have_count(
        0
    )

    stored = await server.stored_document(room, DOC)
    assert "Hello from Mia. And from Fay." in str(stored.get("default", type=XmlFragment))


async def test_comment_on_a_passage_reply_and_react_live(
    server: RunningServer, clients: Clients
) -> None:
    room, fay = await open_room(server, clients, "Our house colour is brown and calm.")
    mia = await join_doc(clients, room, Role.MEMBER, "Mia")
    await expect_text(mia, "brown", exact=False)

    await double_click_word(mia, "brown")
    # The selection reached Mia's editor state: the others see it highlighted.
    await expect(fay.editor.locator(".rt-selection")).to_have_text("brown")
    await (
        mia.page.get_by_role("toolbar", name="Formatting")
        .get_by_role("button", name="Comment")
        .click()
    )
    await expect(mia.composer.locator(".rt-quote")).to_contain_text("brown")
    await expect(mia.page.get_by_label("New comment")).to_be_focused()
    await mia.page.get_by_label("New comment").fill("Is brown really the house colour?")
    await mia.composer.get_by_role("button", name="Comment").click()

    # Live on the facilitator's side, with the quoted passage, highlighted in the text.
    card = fay.thread("Is brown really the house colour?")
    await expect(card).to_be_visible()
    await expect(card.locator(".rt-quote")).to_have_text("brown")
    await expect(card.locator(".rt-meta strong").first).to_have_text("Mia")
    await expect(fay.editor.locator(".rt-anchor")).to_have_text("brown")

    await card.get_by_label("Reply").fill("Yes, since 2020.")
    await card.get_by_role("button", name="Reply").click()
    mine = mia.thread("Is brown really the house colour?")
    reply = mine.locator(".rt-comment", has_text="Yes, since 2020.")
    await expect(reply).to_be_visible()
    await expect(reply.locator(".rt-meta strong")).to_have_text("Fay")

    # Reactions toggle, and the facilitator sees the count live.
    aha = reply.get_by_role("button", name="Aha!")
    await aha.click()
    await expect(aha).to_have_attribute("aria-pressed", "true")
    await expect(aha).to_have_accessible_name("Aha!, 1")
    fay_aha = card.locator(".rt-comment", has_text="Yes, since 2020.").get_by_role(
        "button", name="Aha!"
    )
    await expect(fay_aha).to_have_accessible_name("Aha!, 1")
    await expect(fay_aha).to_have_attribute("aria-pressed", "false")
    await fay.screenshot("desktop-room-with-comments")

    await aha.click()
    await expect(aha).to_have_attribute("aria-pressed", "false")
    await expect(aha).to_have_accessible_name("Aha!")
    await expect(fay_aha).to_have_accessible_name("Aha!")


async def test_anonymous_question_hides_the_name_from_members_only(
    server: RunningServer, clients: Clients
) -> None:
    room, fay = await open_room(server, clients, "Agenda")
    mia = await join_doc(clients, room, Role.MEMBER, "Mia")
    ned = await join_doc(clients, room, Role.MEMBER, "Ned")

    await mia.page.get_by_role("tab", name="Questions").click()
    await mia.page.get_by_label("Your question").fill("What does 'calm' mean here?")
    await mia.page.get_by_label("Ask anonymously").check()
    await mia.composer.get_by_role("button", name="Ask").click()
    await expect(mia.thread("What does 'calm' mean here?")).to_be_visible()

    # The opening comment is marked as the asker's ("Anonymous (asker)").
    for viewer, shown in [(ned, "Anonymous (asker)"), (fay, "Mia (asked anonymously)")]:
        await viewer.page.get_by_role("tab", name="Questions").click()
        question = viewer.thread("What does 'calm' mean here?")
        await expect(question.locator(".rt-meta strong").first).to_have_text(shown)
        await expect(question.locator(".rt-pill-unanswered")).to_have_text("unanswered")
    await expect(ned.thread("What does 'calm' mean here?")).not_to_contain_text("Mia")


async def test_observer_cannot_type_or_format(server: RunningServer, clients: Clients) -> None:
    room, fay = await open_room(server, clients, "Read me.")
    oscar = await join_doc(clients, room, Role.OBSERVER, "Oscar")
    await expect_text(oscar, "Read me.")
    await expect(oscar.editor).to_have_attribute("contenteditable", "false")

    await oscar.editor.click()
    await oscar.page.keyboard.type("scribble")
    await oscar.page.keyboard.press("Enter")
    await settle(fay, [oscar], " Still mine.")
    await expect_text(oscar, "Read me. Still mine.")
    await expect_text(fay, "Read me. Still mine.")

    # Observers get no formatting at all (in a locked document it is disabled instead).
    toolbar = oscar.page.get_by_role("toolbar", name="Formatting")
    for label in FORMATTING:
        await expect(toolbar.get_by_role("button", name=label, exact=True)).to_have_count(0)
    await expect(toolbar.get_by_role("button", name="Comment")).to_have_count(0)
    await expect(oscar.page.get_by_label("New document")).to_have_count(0)


async def test_facilitator_lock_makes_the_editor_read_only_live(
    server: RunningServer, clients: Clients
) -> None:
    room, fay = await open_room(server, clients, "Draft.")
    mia = await join_doc(clients, room, Role.MEMBER, "Mia")
    lock_banner = mia.page.locator(".rt-lock")
    bold = mia.page.get_by_role("button", name="Bold", exact=True)
    await expect(mia.editor).to_have_attribute("contenteditable", "true")
    await expect(lock_banner).to_be_hidden()

    await fay.page.get_by_role("button", name="Lock", exact=True).click()
    await expect(mia.editor).to_have_attribute("contenteditable", "false")
    await expect(lock_banner).to_be_visible()
    await expect(lock_banner).to_have_text("Locked by Fay: this document is read-only for now.")
    await expect(bold).to_be_disabled()
    await expect(mia.page.locator(".rt-doc-button", has_text=DOC)).to_contain_text("locked")
    unlock = fay.page.get_by_role("button", name="Unlock", exact=True)
    await expect(unlock).to_have_attribute("aria-pressed", "true")
    # The facilitator still edits a locked document.
    await expect(fay.editor).to_have_attribute("contenteditable", "true")
    await expect(fay.page.locator(".rt-lock")).to_have_text(
        "Locked by Fay: only facilitators can edit."
    )
    # Someone opening the document while it is locked gets it read-only from the start.
    ned = await join_doc(clients, room, Role.MEMBER, "Ned")
    await expect(ned.editor).to_have_attribute("contenteditable", "false")
    await expect(ned.page.locator(".rt-lock")).to_be_visible()

    await mia.editor.click()
    await mia.page.keyboard.type("sneaky")
    await settle(fay, [mia, ned], " Final.")
    await expect_text(mia, "Draft. Final.")

    await unlock.click()
    await expect(mia.editor).to_have_attribute("contenteditable", "true")
    await expect(lock_banner).to_be_hidden()
    await expect(bold).to_be_enabled()
    await expect(ned.editor).to_have_attribute("contenteditable", "true")
    await mia.type_at_end(" Reviewed.")
    await expect_text(fay, "Draft. Final. Reviewed.")


async def test_phone_layout_editor_and_bottom_sheets(
    server: RunningServer, clients: Clients
) -> None:
    room, fay = await open_room(server, clients, "Written on a desk.")
    pia = await join_doc(clients, room, Role.MEMBER, "Pia", phone=True)
    page = pia.page
    await expect(pia.editor).to_be_in_viewport()
    await pia.editor.tap()
    await page.keyboard.press("Control+End")
    await page.keyboard.type(" Typed on a phone.")
    await expect_text(fay, "Written on a desk. Typed on a phone.")
    overflow = await page.evaluate("document.documentElement.scrollWidth - innerWidth")
    assert overflow <= 0, f"the phone layout scrolls sideways by {overflow}px"
    await pia.screenshot("phone-editor")

    panels = page.get_by_role("navigation", name="Panels")
    discussion = panels.get_by_role("button", name="Discussion")
    documents = panels.get_by_role("button", name="Documents")
    sheet = page.locator("#aside")
    side = page.locator("#side")
    await expect(sheet).to_be_hidden()
    await expect(side).to_be_hidden()

    # Commenting on a selection opens the discussion sheet by itself.
    await page.keyboard.press("Shift+Home")
    await expect(fay.editor.locator(".rt-selection")).to_contain_text("Typed on a phone.")
    await page.get_by_role("toolbar", name="Formatting").get_by_role("button", name="Comment").tap()
    await expect(sheet).to_be_visible()
    await expect(discussion).to_have_attribute("aria-expanded", "true")
    await expect(pia.composer.locator(".rt-quote")).to_contain_text("Typed on a phone.")
    await pia.composer.get_by_role("button", name="Not on a passage").tap()
    await discussion.tap()
    await expect(sheet).to_be_hidden()
    await expect(discussion).to_have_attribute("aria-expanded", "false")

    await discussion.tap()
    await expect(sheet).to_be_visible()
    await expect(sheet).to_be_in_viewport()
    await expect(discussion).to_have_attribute("aria-expanded", "true")
    await expect(page.get_by_label("New comment")).to_be_visible()
    await pia.screenshot("phone-comments-sheet")

    await documents.tap()
    await expect(side).to_be_visible()
    await expect(sheet).to_be_hidden()
    await expect(documents).to_have_attribute("aria-expanded", "true")
    await expect(discussion).to_have_attribute("aria-expanded", "false")
    await expect(side.get_by_role("button", name=DOC)).to_be_visible()
    await expect(side.get_by_role("list", name="People in the room")).to_contain_text("Fay")
    await pia.screenshot("phone-documents-sheet")

    await documents.tap()
    await expect(side).to_be_hidden()
    await expect(documents).to_have_attribute("aria-expanded", "false")


async def test_markup_in_names_comments_and_questions_stays_text(
    server: RunningServer, clients: Clients
) -> None:
    title = f"Sprint {IMG_XSS}{SCRIPT_XSS}"
    room, fay = await open_room(server, clients, title=title)
    mia = await join_doc(clients, room, Role.MEMBER, IMG_XSS)
    ned = await join_doc(clients, room, Role.MEMBER, SCRIPT_XSS)
    everyone = [fay, mia, ned]
    payload = f"{IMG_XSS} and {SCRIPT_XSS}"

    await mia.type_at_end(payload)
    # A remote caret's label carries the display name too (while Mia's editor has focus).
    caret_name = fay.editor.locator(".collaboration-carets__name", has_text=IMG_XSS)
    await expect(caret_name).to_have_text(IMG_XSS)
    # Each draft is written once the live updates before it have arrived, so that the
    # test does not depend on how the panel re-renders around a half-typed draft.
    for viewer in everyone:
        await expect_text(viewer, payload)
    await mia.page.get_by_label("New comment").fill(payload)
    await mia.composer.get_by_role("button", name="Comment").click()
    await expect(ned.page.locator(".rt-body", has_text=payload)).to_have_count(1)
    await ned.page.get_by_role("tab", name="Questions").click()
    await ned.page.get_by_label("Your question").fill("Q: " + payload)
    await ned.composer.get_by_role("button", name="Ask").click()

    for viewer in everyone:
        page = viewer.page
        await expect(page.locator(".rt-title")).to_have_text(title)
        await expect_text(viewer, payload)
        people = page.get_by_role("list", name="People in the room")
        await expect(people.locator(".rt-person-name", has_text=IMG_XSS)).to_have_count(1)
        await expect(people.locator(".rt-person-name", has_text=SCRIPT_XSS)).to_have_count(1)
        await page.get_by_role("tab", name="Comments").click()
        comment = page.locator(".rt-comment").filter(has=page.get_by_text(payload, exact=True))
        await expect(comment.locator(".rt-body")).to_have_text(payload)
        await expect(comment.locator(".rt-meta strong")).to_have_text(IMG_XSS)
        await page.get_by_role("tab", name="Questions").click()
        question = page.locator(".rt-comment").filter(
            has=page.get_by_text("Q: " + payload, exact=True)
        )
        await expect(question.locator(".rt-body")).to_have_text("Q: " + payload)
        await expect(question.locator(".rt-meta strong")).to_have_text(SCRIPT_XSS)

    for viewer in everyone:
        assert await viewer.page.evaluate("typeof window.__xss") == "undefined", viewer.name
        assert await viewer.page.locator("img").count() == 0, viewer.name
        assert await viewer.page.locator("body script").count() == 0, viewer.name
        assert await viewer.page.evaluate("document.title") == "Roundtable"


async def test_pages_carry_the_csp_and_break_none_of_it(
    server: RunningServer, clients: Clients
) -> None:
    probe = await clients.new("probe")
    for path in ["/", "/join/nope", "/room/nope"]:
        response = await probe.page.goto(server.http + path)
        assert response is not None
        assert response.ok, path
        csp = await response.header_value("content-security-policy")
        assert csp is not None, f"{path} has no Content-Security-Policy"
        directives = {
            name: value
            for name, _, value in (part.strip().partition(" ") for part in csp.split(";"))
        }
        assert directives.get("script-src") == "'self'", csp
        assert directives.get("style-src") == "'self'", csp
        assert "unsafe-inline" not in csp
        assert "unsafe-eval" not in csp
        assert directives.get("frame-ancestors") == "'none'", csp

    # A whole session, template and formatting included, breaks no directive ...
    room, fay = await open_room(server, clients, "Plain text.")
    await fay.create_document("guide", template="style-guide")
    await expect(fay.editor.locator("h1")).to_be_visible()
    await fay.page.get_by_role("button", name="Bold", exact=True).click()
    await expect(fay.editor).to_be_focused()
    await fay.page.keyboard.type("bold words")
    await expect(fay.editor.locator("strong", has_text="bold words")).to_be_visible()
    mia = await join_doc(clients, room, Role.MEMBER, "Mia")
    await mia.page.get_by_label("New comment").fill("A general comment.")
    await mia.composer.get_by_role("button", name="Comment").click()
    await expect(mia.thread("A general comment.")).to_be_visible()
    await fay.page.get_by_role("button", name=DOC).click()
    await expect(fay.thread("A general comment.")).to_be_visible()
    for client in (fay, mia):
        assert client.csp_violations == [], client.csp_violations
        assert not [e for e in client.console_errors if "Content Security Policy" in e]

    # ... and the detector works: an inline script in the probe page is refused and seen.
    await probe.page.evaluate(
        "() => { const s = document.createElement('script');"
        " s.textContent = 'window.__inline = 1'; document.body.append(s) }"
    )
    await eventually(lambda: bool(probe.csp_violations), 5, "the CSP violation report")
    assert await probe.page.evaluate("typeof window.__inline") == "undefined"
    assert "script-src" in probe.csp_violations[0]
    probe.csp_violations.clear()
    clients.allow_console(probe, "Content Security Policy")


async def test_join_with_the_keyboard_only_and_controls_have_names(
    server: RunningServer, clients: Clients
) -> None:
    room, fay = await open_room(server, clients, "Keyboard text.")
    kim = await clients.new("Kim")
    page = kim.page
    await page.goto(f"{server.http}/join/{room.invites[Role.MEMBER]}")
    name = page.get_by_role("textbox", name="Your display name")
    await expect(name).to_be_focused()
    await page.keyboard.type("Kim")
    await kim.screenshot("join-page")
    await page.keyboard.press("Tab")
    await expect(page.get_by_role("button", name="Join")).to_be_focused()
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/room/**")

    # Landmarks and the main controls, by role and accessible name.
    editor = page.get_by_role("textbox", name=f"Document {DOC}")
    await expect(editor).to_be_visible()
    await expect(page.get_by_role("navigation", name="Documents and people")).to_be_visible()
    await expect(page.get_by_role("complementary", name="Discussion")).to_be_visible()
    await expect(page.get_by_role("list", name="People in the room")).to_contain_text("Kim")
    await expect(page.get_by_role("list", name="Documents")).to_be_visible()
    toolbar = page.get_by_role("toolbar", name="Formatting")
    for label in [*FORMATTING, "Comment", "Ask"]:
        await expect(toolbar.get_by_role("button", name=label, exact=True)).to_be_enabled()
    tabs = page.get_by_role("tablist", name="Discussion")
    for label in ["Comments", "Questions", "Mentions"]:
        await expect(tabs.get_by_role("tab", name=label)).to_be_visible()
    await expect(page.get_by_role("textbox", name="New comment")).to_be_visible()
    await expect(page.get_by_role("button", name="Follow")).to_be_visible()
    assert await page.evaluate(_UNNAMED_CONTROLS) == []

    # The editor is reachable from the toolbar with Tab, and typing works.
    await toolbar.get_by_role("button", name="More", exact=True).focus()
    await page.keyboard.press("Tab")
    await expect(editor).to_be_focused()
    await page.keyboard.press("Control+End")
    await page.keyboard.type(" By keys.")
    await expect_text(fay, "Keyboard text. By keys.")


async def test_formatting_buttons_report_their_state(
    server: RunningServer, clients: Clients
) -> None:
    """aria-pressed follows the selection (it was once computed only when built)."""
    _room, fay = await open_room(server, clients, "Plain ")
    bold = fay.page.get_by_role("button", name="Bold", exact=True)
    await expect(bold).to_have_attribute("aria-pressed", "false")
    await bold.click()
    await expect(fay.editor).to_be_focused()
    await fay.page.keyboard.type("strong")
    await expect(fay.editor.locator("strong")).to_have_text("strong")
    # The caret is in bold text and typing goes on in bold: the button says so.
    await expect(bold).to_have_attribute("aria-pressed", "true")


async def test_a_comment_draft_survives_someone_else_typing(
    server: RunningServer, clients: Clients
) -> None:
    """Every document change re-renders the panel: the unsent comment and focus stay."""
    room, fay = await open_room(server, clients, "Shared text.")
    mia = await join_doc(clients, room, Role.MEMBER, "Mia")
    draft = mia.page.get_by_label("New comment")
    await draft.fill("A half-written thought")
    await expect(draft).to_be_focused()

    await settle(fay, [mia], " More.")
    await next_frames(mia)
    await expect(draft).to_have_value("A half-written thought")
    await expect(draft).to_be_focused()


async def test_a_reply_draft_survives_a_live_event(server: RunningServer, clients: Clients) -> None:
    """A thread event re-renders the panel: an unsent reply stays."""
    room, fay = await open_room(server, clients, "Shared text.")
    mia = await join_doc(clients, room, Role.MEMBER, "Mia")
    await fay.page.get_by_label("New comment").fill("First thread")
    await fay.composer.get_by_role("button", name="Comment").click()
    reply = mia.thread("First thread").get_by_label("Reply")
    await reply.fill("My answer, half done")

    await fay.page.get_by_label("New comment").fill("Second thread")
    await fay.composer.get_by_role("button", name="Comment").click()
    await expect(mia.thread("Second thread")).to_be_visible()
    await next_frames(mia)
    await expect(reply).to_have_value("My answer, half done")


async def test_spotlight_takes_observers_along_and_the_timer_shows_everywhere(
    server: RunningServer, clients: Clients
) -> None:
    room, fay = await open_room(server, clients, "First page.")
    await fay.create_document("second")
    await fay.page.get_by_role("button", name=DOC, exact=True).click()
    oli = await join_doc(clients, room, Role.OBSERVER, "Oli")
    current = oli.page.locator('.rt-doc-button[aria-current="page"]')
    await expect(current).to_have_text(DOC)

    await fay.page.get_by_role("button", name="Spotlight me").click()
    await expect(oli.page.locator(".rt-banner")).to_have_text("Fay has the spotlight.")
    # Where the facilitator goes, the observer goes.
    await fay.page.get_by_role("button", name="second", exact=True).click()
    await expect(current).to_have_text("second")
    await expect(oli.page.get_by_role("button", name="Stop following")).to_be_visible()
    await fay.page.get_by_role("button", name="End spotlight").click()
    await expect(oli.page.locator(".rt-banner")).to_be_hidden()
    await expect(oli.page.get_by_role("button", name="Follow", exact=True)).to_be_visible()

    await fay.page.get_by_label("Timer (minutes)").fill("5")
    await fay.page.get_by_role("button", name="Start", exact=True).click()
    for client in (fay, oli):
        await expect(client.page.get_by_role("timer")).to_contain_text("Session timer 4:5")
    await fay.page.get_by_role("button", name="Stop", exact=True).click()
    await expect(oli.page.get_by_role("timer")).to_be_hidden()


async def test_post_first_question_and_an_accepted_answer(
    server: RunningServer, clients: Clients
) -> None:
    room, fay = await open_room(server, clients, "Agenda")
    mia = await join_doc(clients, room, Role.MEMBER, "Mia")
    ned = await join_doc(clients, room, Role.MEMBER, "Ned")
    question = "Which tone fits a status update?"

    await mia.page.get_by_role("tab", name="Questions").click()
    await mia.page.get_by_label("Your question").fill(question)
    await mia.page.get_by_label("Post first").check()
    await mia.composer.get_by_role("button", name="Ask").click()
    for client in (fay, ned):
        await client.page.get_by_role("tab", name="Questions").click()
        await expect(client.thread(question)).to_contain_text("post first")

    await fay.thread(question).get_by_label("Answer").fill("Plain and calm.")
    await fay.thread(question).get_by_role("button", name="Answer", exact=True).click()
    # Ned has not answered: Fay's answer is withheld from him, live.
    ned_card = ned.thread(question)
    await expect(ned_card).to_contain_text("Post your own answer to see this one.")
    await expect(ned_card).not_to_contain_text("Plain and calm.")
    await expect(mia.thread(question)).to_contain_text("Plain and calm.")

    await ned_card.get_by_label("Answer").fill("Short and friendly.")
    await ned_card.get_by_role("button", name="Answer", exact=True).click()
    await expect(ned_card).to_contain_text("Plain and calm.")

    # The asker accepts Fay's answer; everyone sees it accepted.
    fay_answer = mia.thread(question).locator(".rt-comment", has_text="Plain and calm.")
    await fay_answer.get_by_role("button", name="Accept answer").click()
    for client in (mia, fay, ned):
        card = client.thread(question)
        await expect(card.locator(".rt-accepted")).to_contain_text("Plain and calm.")
        await expect(card).to_contain_text("accepted")


async def test_edits_made_while_the_server_is_gone_are_kept_and_sent_on_reconnect(
    restarts: Restarts,
) -> None:
    """The server stops (everyone's sockets close), both people keep typing, and once a
    server is back on the same address both edits reach everyone and storage."""
    async with restarts.run() as first:
        clients = restarts.clients
        room, fay = await open_room(first, clients, "Shared.")
        mia = await join_doc(clients, room, Role.MEMBER, "Mia")
    for client in (fay, mia):
        await expect(client.status).to_have_attribute("data-state", "offline")
        # The page says the connection is gone while the server is down.
        clients.allow_console(client, "WebSocket|ERR_CONNECTION_REFUSED|Failed to load")
    await mia.type_at_end(" Typed on the train.")
    await fay.type_at_end(" Meanwhile.")
    async with restarts.run() as second:
        for client in (fay, mia):
            await expect(client.status).to_have_text("Online · saved", timeout=30_000)
        for client in (fay, mia):
            await expect_text(client, "Typed on the train.", exact=False)
            await expect_text(client, "Meanwhile.", exact=False)
        stored = await second.stored_document(room, DOC)
        text = str(stored.get("default", type=XmlFragment))
        assert "Typed on the train." in text and "Meanwhile." in text
    clients.assert_clean()
