"""The room on a phone (390x844): bottom sheets, the header's "you" menu, touch targets,
no sideways scrolling, and the on-screen keyboard.

The side panel (documents and people) and the discussion are bottom sheets: they close
after a choice made in them, with their Close button and with Escape, and focus goes
back to the button that opened them. The header's avatar opens your name, role and the
language switch. Every control is at least 44x44 px, nothing is wider than the screen,
and with the keyboard up (the viewport shortened, as Chromium does on Android with
interactive-widget=resizes-content) the field being typed in and its send button stay
in sight.
"""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Locator, Page, ViewportSize, expect

from rooms.directory import CreatedRoom
from rooms.roles import Role
from tests.browser.conftest import Client, Clients
from tests.support.harness import RunningServer

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

DOC = "notes"
OTHER = "glossary"
WIDTH = 390
TOUCH = 44
KEYBOARD_UP = ViewportSize(width=WIDTH, height=450)
KEYBOARD_DOWN = ViewportSize(width=WIDTH, height=844)

# Every visible control smaller than 44x44 px: a checkbox or radio counts as its label's
# box when it has one (the label is what a finger presses). Links in the document's own
# text are inline text, as WCAG 2.5.8 allows.
_SMALL_TARGETS = """(touch) => {
  const shown = (el) =>
    el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden'
  const describe = (el) => {
    const text = (el.getAttribute('aria-label') || el.textContent || el.value || el.id || '')
    const classes = String(el.className).trim().split(/\\s+/).filter(Boolean)
    return [el.tagName.toLowerCase(), ...classes].join('.') +
      (text.trim() ? ' "' + text.trim().slice(0, 40) + '"' : '')
  }
  const small = []
  const selector = 'button, a[href], input:not([type="hidden"]), select, textarea, ' +
    '[role="button"], summary'
  for (const el of document.querySelectorAll(selector)) {
    if (!shown(el) || el.closest('.rt-prose')) continue
    const box = (['checkbox', 'radio'].includes(el.type) && el.labels && el.labels.length)
      ? el.labels[0].getBoundingClientRect()
      : el.getBoundingClientRect()
    if (box.width < touch - 0.5 || box.height < touch - 0.5) {
      small.push(describe(el) + ' ' + Math.round(box.width) + 'x' + Math.round(box.height))
    }
  }
  return small
}"""

# How far the page reaches beyond the phone's width, and every visible element reaching
# beyond the screen's edges that no narrower ancestor clips (a row scrolling within
# itself). Measured against the phone's width: a phone widens its layout viewport to fit
# content wider than the screen, and then shows the page zoomed out.
_TOO_WIDE = """(width) => {
  const fits = (box) => box.left >= -1 && box.right <= width + 1
  const clipper = (el) => {
    for (let node = el.parentElement; node && node !== document.body; node = node.parentElement) {
      if (getComputedStyle(node).overflowX !== 'visible') return node
    }
    return null
  }
  const wide = []
  for (const el of document.querySelectorAll('body *')) {
    if (!el.getClientRects().length) continue
    const box = el.getBoundingClientRect()
    if (!box.width || !box.height || fits(box)) continue
    const clip = clipper(el)
    if (clip && fits(clip.getBoundingClientRect())) continue
    wide.push(el.tagName.toLowerCase() + '.' + String(el.className).trim().split(/\\s+/).join('.') +
      ' ' + Math.round(box.left) + '..' + Math.round(box.right))
  }
  return { scroll: document.documentElement.scrollWidth - width, wide: wide.slice(0, 10) }
}"""

# Whether the middle of `el` is on screen and is what a tap there would hit.
_IN_SIGHT = """(el) => {
  const box = el.getBoundingClientRect()
  const x = box.left + box.width / 2
  const y = box.top + Math.min(box.height / 2, 20)
  if (box.height === 0 || y < 0 || y > innerHeight || x < 0 || x > innerWidth) return false
  const hit = document.elementFromPoint(x, y)
  return Boolean(hit && (el === hit || el.contains(hit)))
}"""

# Whether the text caret in the focused editor is on screen and not covered.
_CARET_IN_SIGHT = """() => {
  const editor = document.activeElement
  if (!editor || !editor.isContentEditable) return false
  const range = getSelection().getRangeAt(0).cloneRange()
  range.collapse(false)
  const box = range.getClientRects()[0] ||
    range.startContainer.parentElement.getBoundingClientRect()
  const y = box.top + box.height / 2
  if (y < 0 || y > innerHeight) return false
  const hit = document.elementFromPoint(Math.max(box.left, 1), y)
  return Boolean(hit && editor.contains(hit))
}"""


def panels(page: Page) -> Locator:
    return page.get_by_role("navigation", name="Panels")


def sheet_button(page: Page, name: str) -> Locator:
    return panels(page).get_by_role("button", name=name, exact=True)


def person(page: Page, name: str) -> Locator:
    return page.locator("li.rt-person", has=page.locator(".rt-person-name", has_text=name))


async def online(client: Client, document: str = DOC) -> None:
    await expect(client.page.get_by_role("textbox", name=f"Document {document}")).to_be_visible()
    await expect(client.status).to_have_attribute("data-state", "online")


async def create_document(client: Client, name: str) -> None:
    await client.page.get_by_label("New document").fill(name)
    await client.page.get_by_role("button", name="Create", exact=True).click()
    await online(client, name)


async def join_doc(
    clients: Clients, room: CreatedRoom, role: Role, name: str, **kw: bool
) -> Client:
    client = await clients.join(room.invites[role], name, **kw)
    await online(client)
    return client


async def room_with_a_thread(
    server: RunningServer, clients: Clients, paragraphs: int = 1
) -> tuple[CreatedRoom, Client]:
    """Fay (facilitator, at a desk) has written DOC and commented on it; OTHER exists,
    and DOC is the one open for those who join."""
    room = await server.create_room("Style guide sprint for the spring cohort of writers")
    fay = await clients.join(room.invites[Role.FACILITATOR], "Fay")
    await create_document(fay, DOC)
    await create_document(fay, OTHER)
    await fay.page.get_by_role("button", name=DOC, exact=True).click()
    await online(fay)
    await fay.editor.click()
    for n in range(paragraphs):
        await fay.page.keyboard.type(f"Paragraph {n + 1} of the guide, on voice and tone.")
        if n + 1 < paragraphs:
            await fay.page.keyboard.press("Enter")
    await fay.page.get_by_label("New comment").fill("Shall we split this?")
    await fay.composer.get_by_role("button", name="Comment").click()
    await expect(fay.thread("Shall we split this?")).to_be_visible()
    return room, fay


async def assert_fits(client: Client, where: str) -> None:
    small = await client.page.evaluate(_SMALL_TARGETS, TOUCH)
    assert not small, f"{client.name}, {where}: controls under {TOUCH}x{TOUCH} px:\n" + "\n".join(
        small
    )
    found = await client.page.evaluate(_TOO_WIDE, WIDTH)
    assert found["scroll"] <= 0 and not found["wide"], (
        f"{client.name}, {where}: wider than {WIDTH} px by {found['scroll']} px: {found['wide']}"
    )


async def test_sheets_close_after_a_choice_on_escape_and_with_their_close_button(
    server: RunningServer, clients: Clients
) -> None:
    room, _ = await room_with_a_thread(server, clients)
    pia = await join_doc(clients, room, Role.MEMBER, "Pia", phone=True)
    page = pia.page
    documents, discussion = sheet_button(page, "Documents"), sheet_button(page, "Discussion")
    side, aside = page.locator("#side"), page.locator("#aside")

    # Picking a document closes the sheet, and focus goes back to the Documents button.
    await documents.tap()
    await expect(side).to_be_in_viewport()
    await expect(side.get_by_role("button", name="Close")).to_be_visible()
    await expect(side.locator(".rt-sheet-handle")).to_be_visible()
    await side.get_by_role("button", name=OTHER, exact=True).tap()
    await expect(side).to_be_hidden()
    await expect(documents).to_have_attribute("aria-expanded", "false")
    await expect(documents).to_be_focused()
    await online(pia, OTHER)
    await expect(pia.editor).to_be_in_viewport()

    # Following someone closes it too, and takes Pia to Fay's document.
    await documents.tap()
    await person(page, "Fay").get_by_role("button", name="Follow", exact=True).tap()
    await expect(side).to_be_hidden()
    await online(pia, DOC)

    # Escape closes a sheet; so do its Close button and a tap beside it.
    await discussion.tap()
    await expect(aside).to_be_in_viewport()
    await expect(discussion).to_have_attribute("aria-expanded", "true")
    await page.keyboard.press("Escape")
    await expect(aside).to_be_hidden()
    await expect(discussion).to_be_focused()
    await discussion.tap()
    await aside.get_by_role("button", name="Close").tap()
    await expect(aside).to_be_hidden()
    await expect(discussion).to_have_attribute("aria-expanded", "false")
    await expect(discussion).to_be_focused()
    await documents.tap()
    header = await page.get_by_role("banner").bounding_box()
    top = await side.bounding_box()
    assert header and top and top["y"] - (header["y"] + header["height"]) >= 40, (header, top)
    strip = (header["y"] + header["height"] + top["y"]) / 2
    await page.locator(".rt-scrim").tap(position={"x": WIDTH / 2, "y": strip})
    await expect(side).to_be_hidden()
    # A swipe down on its head, by the handle, closes it.
    await discussion.tap()
    handle = await aside.locator(".rt-sheet-handle").bounding_box()
    assert handle
    await page.mouse.move(handle["x"] + handle["width"] / 2, handle["y"] + 10)
    await page.mouse.down()
    await page.mouse.move(handle["x"] + handle["width"] / 2, handle["y"] + 120, steps=5)
    await page.mouse.up()
    await expect(aside).to_be_hidden()

    # Starting a comment from the document opens the discussion at its composer.
    await pia.editor.tap()
    await page.keyboard.press("Control+End")
    await page.keyboard.press("Shift+Home")
    await page.get_by_role("toolbar", name="Formatting").get_by_role("button", name="Comment").tap()
    await expect(aside).to_be_in_viewport()
    await expect(side).to_be_hidden()
    await expect(page.get_by_label("New comment")).to_be_focused()


async def test_the_header_shows_you_your_role_and_switches_the_language(
    server: RunningServer, clients: Clients
) -> None:
    room, fay = await room_with_a_thread(server, clients)
    # At a desk, your name and role are in the header as they are.
    await expect(fay.page.locator(".rt-you")).to_be_visible()
    await expect(fay.page.locator(".rt-you")).to_have_text("Fay · facilitator")

    pia = await join_doc(clients, room, Role.MEMBER, "Pia", phone=True)
    page = pia.page
    you = page.get_by_role("banner").get_by_role("button", name="Pia · member")
    await expect(you).to_be_in_viewport()
    await expect(you).to_have_text(re.compile("^P"))
    box = await you.bounding_box()
    assert box and box["width"] >= TOUCH and box["height"] >= TOUCH, box
    await you.tap()
    await expect(you).to_have_attribute("aria-expanded", "true")
    panel = page.locator("#you-panel")
    await expect(panel).to_be_in_viewport()
    await expect(panel).to_contain_text("Pia")
    await expect(panel).to_contain_text("Your role: member")
    await assert_fits(pia, "the you menu open")
    await pia.screenshot("phone-you-menu")
    await page.keyboard.press("Escape")
    await expect(panel).to_be_hidden()
    await expect(you).to_be_focused()

    # Español: the page comes back in Spanish, and stays so.
    await you.tap()
    await page.get_by_label("Language").select_option("es")
    await expect(page.locator("html")).to_have_attribute("lang", "es")
    await expect(pia.editor).to_contain_text("Paragraph 1")
    spanish = page.get_by_role("navigation", name="Paneles")
    await expect(spanish.get_by_role("button", name="Documentos")).to_be_visible()
    await expect(spanish.get_by_role("button", name="Conversación")).to_be_visible()
    await page.get_by_role("banner").get_by_role("button", name="Pia · miembro").tap()
    await expect(page.locator("#you-panel")).to_contain_text("Tu rol: miembro")
    await pia.screenshot("phone-you-menu-es")
    await page.get_by_label("Idioma").select_option("en")
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(pia.editor).to_contain_text("Paragraph 1")
    await expect(sheet_button(page, "Documents")).to_be_visible()


async def test_every_phone_screen_fits_and_its_controls_are_44px(
    server: RunningServer, clients: Clients
) -> None:
    room, _ = await room_with_a_thread(server, clients)
    joiner = await clients.new("Joiner", phone=True)
    await joiner.page.goto(f"{server.http}/join/{room.invites[Role.MEMBER]}")
    await expect(joiner.page.get_by_label("Your display name")).to_be_visible()
    await assert_fits(joiner, "the join page")

    people = {}
    for role, name in ((Role.FACILITATOR, "Flo"), (Role.MEMBER, "Pia"), (Role.OBSERVER, "Otto")):
        client = people[role] = await join_doc(clients, room, role, name, phone=True)
        page = client.page
        await assert_fits(client, f"{role} in the room")
        for sheet, panel in (("Documents", "#side"), ("Discussion", "#aside")):
            await sheet_button(page, sheet).tap()
            await expect(page.locator(panel)).to_be_in_viewport()
            await assert_fits(client, f"{role} with {sheet} open")
            await page.keyboard.press("Escape")
            await expect(page.locator(panel)).to_be_hidden()

    # The facilitator's dialog to remove someone.
    flo = people[Role.FACILITATOR]
    await sheet_button(flo.page, "Documents").tap()
    await person(flo.page, "Otto").get_by_role("button", name="Remove").tap()
    dialog = flo.page.get_by_role("dialog", name="Remove Otto from the room?")
    await expect(dialog).to_be_in_viewport()
    await assert_fits(flo, "the remove dialog open")
    await dialog.get_by_role("button", name="Cancel").tap()
    await expect(dialog).to_be_hidden()


async def test_the_field_being_typed_in_stays_in_sight_with_the_keyboard_up(
    server: RunningServer, clients: Clients
) -> None:
    room, fay = await room_with_a_thread(server, clients, paragraphs=30)
    pia = await join_doc(clients, room, Role.MEMBER, "Pia", phone=True)
    page = pia.page
    bottom_bar = panels(page)

    # Typing at the end of a long document: the caret stays in sight above the keyboard.
    await pia.editor.tap()
    await page.keyboard.press("Control+End")
    await page.keyboard.type(" Typed on a phone.")
    await page.wait_for_function(_CARET_IN_SIGHT)
    await page.set_viewport_size(KEYBOARD_UP)
    await expect(bottom_bar).to_be_hidden()
    await page.wait_for_function(_CARET_IN_SIGHT)
    await page.keyboard.type(" More.")
    await page.wait_for_function(_CARET_IN_SIGHT)
    await pia.screenshot("phone-keyboard-editor")
    await page.set_viewport_size(KEYBOARD_DOWN)
    await expect(bottom_bar).to_be_visible()

    # Writing a comment: the box and its Comment button stay in sight.
    await sheet_button(page, "Discussion").tap()
    box = page.get_by_label("New comment")
    send = pia.composer.get_by_role("button", name="Comment")
    await box.tap()
    await page.set_viewport_size(KEYBOARD_UP)
    await expect(bottom_bar).to_be_hidden()
    await page.wait_for_function(_IN_SIGHT, arg=await box.element_handle())
    await page.wait_for_function(_IN_SIGHT, arg=await send.element_handle())
    await box.fill("Written with the keyboard up.")
    await pia.screenshot("phone-keyboard-composer")
    await send.tap()
    await expect(pia.thread("Written with the keyboard up.")).to_be_visible()
    await expect(fay.thread("Written with the keyboard up.")).to_be_visible()
    await page.set_viewport_size(KEYBOARD_DOWN)
    await expect(bottom_bar).to_be_visible()

    # Replying to the last thread, low in the sheet: the reply box and its Reply button
    # come into sight when the keyboard takes the lower half of the screen.
    for text in ("Second thought.", "Third thought."):
        await fay.page.get_by_label("New comment").fill(text)
        await fay.composer.get_by_role("button", name="Comment").click()
        await expect(fay.thread(text)).to_be_visible()
        await expect(fay.page.get_by_label("New comment")).to_have_value("")
        await expect(pia.thread(text)).to_be_visible()
    reply = pia.thread("Third thought.").locator("form.rt-reply")
    reply_box = reply.locator("textarea")
    reply_send = reply.get_by_role("button", name="Reply")
    await page.locator("#aside").evaluate("(sheet) => { sheet.scrollTop = sheet.scrollHeight }")
    await page.wait_for_function(_IN_SIGHT, arg=await reply_send.element_handle())
    await reply_box.focus()
    await page.set_viewport_size(KEYBOARD_UP)
    await page.wait_for_function(_IN_SIGHT, arg=await reply_box.element_handle())
    await page.wait_for_function(_IN_SIGHT, arg=await reply_send.element_handle())
    await reply_box.fill("A reply with the keyboard up.")
    await reply_send.tap()
    await expect(fay.thread("Third thought.")).to_contain_text("A reply with the keyboard up.")
