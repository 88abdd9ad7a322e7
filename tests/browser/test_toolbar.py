"""The toolbar, the menu by selected text and Export, in Chromium on a desk and a phone."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Locator, Page, expect
from playwright.async_api import TimeoutError as PlaywrightTimeout

from rooms.roles import Role
from tests.browser.conftest import SCREENSHOTS, Client, Clients
from tests.browser.test_web_client import (
    DOC,
    FORMATTING,
    double_click_word,
    expect_text,
    join_doc,
    open_room,
)
from tests.support.harness import RunningServer

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

# Where the selected text is on screen (the union of its client rects).
_SELECTION_BOX = """() => {
  const box = getSelection().getRangeAt(0).getBoundingClientRect()
  return { top: box.top, bottom: box.bottom, left: box.left, right: box.right }
}"""

_BOX = """(el) => {
  const box = el.getBoundingClientRect()
  return { top: box.top, bottom: box.bottom, left: box.left, right: box.right,
           width: box.width, height: box.height }
}"""


def toolbar(client: Client) -> Locator:
    return client.page.get_by_role("toolbar", name="Formatting")


def selection_menu(client: Client) -> Locator:
    return client.page.get_by_role("toolbar", name="Selected text")


async def box(locator: Locator) -> dict[str, float]:
    result: dict[str, float] = await locator.evaluate(_BOX)
    return result


async def viewport(page: Page) -> dict[str, Any]:
    result: dict[str, Any] = await page.evaluate(
        "() => ({ width: innerWidth, height: innerHeight,"
        " scrollWidth: document.documentElement.scrollWidth, scrollY })"
    )
    return result


async def allow_observers_to_ask(server: RunningServer, room: Any) -> None:
    token = await server.join(room, Role.FACILITATOR, "Helper")
    async with httpx.AsyncClient(base_url=server.http) as http:
        response = await http.patch(
            f"/api/rooms/{room.room.slug}/settings",
            json={"observers_can_ask": True},
            headers={"authorization": f"Bearer {token}"},
        )
    response.raise_for_status()


# The menu by selected text


async def test_selecting_text_offers_comment_and_ask_by_the_selection(
    server: RunningServer, clients: Clients
) -> None:
    room, fay = await open_room(
        server, clients, "Top line.\nSecond line.\nOur house colour is brown and calm."
    )
    mia = await join_doc(clients, room, Role.MEMBER, "Mia")
    await expect_text(mia, "brown", exact=False)
    menu = selection_menu(mia)
    await expect(menu).to_be_hidden()

    # Near the top of the editor there is no room above: the menu goes below the word,
    # clear of the toolbar.
    await double_click_word(mia, "Top")
    await expect(menu).to_be_visible()
    word = await mia.page.evaluate(_SELECTION_BOX)
    shown = await box(menu)
    assert word["bottom"] <= shown["top"] <= word["bottom"] + 24, (shown, word)
    assert shown["top"] >= (await box(toolbar(mia)))["bottom"]

    await double_click_word(mia, "brown")
    for label in ["Comment", "Ask", "Bold", "Italic", "Link"]:
        await expect(menu.get_by_role("button", name=label, exact=True)).to_be_visible()
    # Floating just above the selected word.
    word = await mia.page.evaluate(_SELECTION_BOX)
    shown = await box(menu)
    assert word["top"] - 24 <= shown["bottom"] <= word["top"], (shown, word)
    assert shown["left"] < word["right"] and shown["right"] > word["left"], (shown, word)
    await mia.screenshot("toolbar-selection-menu-desktop")

    await menu.get_by_role("button", name="Comment", exact=True).click()
    await expect(mia.composer.locator(".rt-quote")).to_contain_text("brown")
    await expect(mia.page.get_by_label("New comment")).to_be_focused()
    # Focus went to the comment box: the menu is gone.
    await expect(menu).to_be_hidden()
    await mia.page.get_by_label("New comment").fill("Which brown?")
    await mia.composer.get_by_role("button", name="Comment").click()
    await expect(fay.editor.locator(".rt-anchor")).to_have_text("brown")


async def test_ask_from_the_selection_starts_a_question(
    server: RunningServer, clients: Clients
) -> None:
    room, _fay = await open_room(server, clients, "Keep the tone calm.")
    mia = await join_doc(clients, room, Role.MEMBER, "Mia")
    await expect_text(mia, "calm", exact=False)
    await double_click_word(mia, "tone")
    await selection_menu(mia).get_by_role("button", name="Ask", exact=True).click()
    await expect(mia.page.get_by_role("tab", name="Questions")).to_have_attribute(
        "aria-selected", "true"
    )
    await expect(mia.page.get_by_label("Your question")).to_be_focused()
    await expect(selection_menu(mia)).to_be_hidden()


async def test_the_selection_menu_formats_and_hides_when_the_selection_goes(
    server: RunningServer, clients: Clients
) -> None:
    _room, fay = await open_room(server, clients, "Plain words here.")
    page = fay.page
    menu = selection_menu(fay)

    await double_click_word(fay, "words")
    bold = menu.get_by_role("button", name="Bold", exact=True)
    await expect(bold).to_have_attribute("aria-pressed", "false")
    await bold.click()
    await expect(fay.editor.locator("strong")).to_have_text("words")
    await expect(bold).to_have_attribute("aria-pressed", "true")
    # The editor kept focus and the selection: the menu stays for more.
    await expect(fay.editor).to_be_focused()
    await menu.get_by_role("button", name="Italic", exact=True).click()
    await expect(fay.editor.locator("em")).to_have_text("words")

    # Escape hides it until the selection changes.
    await page.keyboard.press("Escape")
    await expect(menu).to_be_hidden()
    await page.keyboard.press("Shift+ArrowRight")
    await expect(menu).to_be_visible()
    # Collapsing the selection hides it.
    await page.keyboard.press("ArrowRight")
    await expect(menu).to_be_hidden()
    # So does leaving the editor for somewhere else.
    await double_click_word(fay, "Plain")
    await expect(menu).to_be_visible()
    await page.get_by_label("New comment").click()
    await expect(menu).to_be_hidden()


async def test_the_selection_menu_follows_the_open_document(
    server: RunningServer, clients: Clients
) -> None:
    _room, fay = await open_room(server, clients, "First document words.")
    menu = selection_menu(fay)
    await double_click_word(fay, "words")
    await expect(menu).to_be_visible()
    # Opening another document closes the old editor: the menu leaves with it ...
    await fay.create_document("second")
    await expect(menu).to_be_hidden()
    await fay.type_at_end("Second document text.")
    # ... and comes back for a selection in the new one, acting on it.
    await double_click_word(fay, "document")
    await expect(menu).to_be_visible()
    await menu.get_by_role("button", name="Bold", exact=True).click()
    await expect(fay.editor.locator("strong")).to_have_text("document")
    await fay.page.get_by_role("button", name=DOC, exact=True).click()
    await expect(fay.page.get_by_role("textbox", name=f"Document {DOC}")).to_be_visible()
    await expect(menu).to_be_hidden()


async def test_links_are_made_through_a_dialog_and_only_for_web_and_email(
    server: RunningServer, clients: Clients
) -> None:
    _room, fay = await open_room(server, clients, "Read the guide today.")
    page = fay.page
    dialog = page.get_by_role("dialog")

    await double_click_word(fay, "guide")
    await selection_menu(fay).get_by_role("button", name="Link", exact=True).click()
    await expect(dialog).to_be_visible()
    await dialog.get_by_role("textbox").fill("javascript:alert(1)")
    await dialog.get_by_role("button", name="Add link").click()
    await expect(page.locator(".rt-toast")).to_contain_text("Only web links")
    await expect(fay.editor.locator("a")).to_have_count(0)
    # The word is still selected, on the page too, to try again (Ctrl+K this time).
    await page.wait_for_function("() => getSelection().toString() === 'guide'")
    await expect(selection_menu(fay)).to_be_visible()
    await page.keyboard.press("Control+k")
    await dialog.get_by_role("textbox").fill("example.org/guide")
    await page.keyboard.press("Enter")
    await expect(fay.editor.locator("a")).to_have_attribute("href", "https://example.org/guide")
    await expect(fay.editor.locator("a")).to_have_text("guide")


async def test_observers_get_ask_by_the_selection_when_allowed_and_no_formatting(
    server: RunningServer, clients: Clients
) -> None:
    room, _fay = await open_room(server, clients, "Observed text stays as it is.")
    await allow_observers_to_ask(server, room)
    oscar = await join_doc(clients, room, Role.OBSERVER, "Oscar")
    await expect_text(oscar, "Observed", exact=False)
    menu = selection_menu(oscar)

    await double_click_word(oscar, "text")
    await expect(menu).to_be_visible()
    await expect(menu.get_by_role("button", name="Ask", exact=True)).to_be_visible()
    await expect(menu.get_by_role("button")).to_have_count(1)
    # Observers see no formatting in the toolbar either.
    for label in FORMATTING:
        await expect(toolbar(oscar).get_by_role("button", name=label, exact=True)).to_have_count(0)

    await oscar.page.mouse.click(5, 400)
    await expect(menu).to_be_hidden()


async def test_the_selection_menu_docks_above_the_bottom_on_a_phone(
    server: RunningServer, clients: Clients
) -> None:
    room, fay = await open_room(server, clients, "Written on a desk.")
    pia = await join_doc(clients, room, Role.MEMBER, "Pia", phone=True)
    page = pia.page
    menu = selection_menu(pia)
    await pia.editor.tap()
    await page.keyboard.press("Control+End")
    await page.keyboard.type(" Typed on a phone.")
    await expect_text(fay, "Written on a desk. Typed on a phone.")

    await page.keyboard.press("Shift+Home")
    await expect(menu).to_be_visible()
    seen = await viewport(page)
    shown = await box(menu)
    bar = await box(page.get_by_role("navigation", name="Panels"))
    # Full width, just above the bottom bar: away from the selection and its handles.
    assert shown["left"] == 0 and shown["width"] == seen["width"], shown
    assert abs(shown["bottom"] - bar["top"]) <= 1, (shown, bar)
    selected = await page.evaluate(_SELECTION_BOX)
    assert shown["top"] > selected["bottom"], (shown, selected)
    for button in await menu.get_by_role("button").all():
        size = await box(button)
        assert size["width"] >= 44 and size["height"] >= 44, size
    await pia.screenshot("toolbar-selection-menu-phone")

    await menu.get_by_role("button", name="Comment", exact=True).tap()
    await expect(page.locator("#aside")).to_be_visible()
    await expect(pia.composer.locator(".rt-quote")).to_contain_text("Typed on a phone.")


# The toolbar


async def test_the_toolbar_is_one_row_of_named_icons_on_a_desk(
    server: RunningServer, clients: Clients
) -> None:
    room, fay = await open_room(server, clients, "Desk text.")
    mia = await join_doc(clients, room, Role.MEMBER, "Mia")
    for client in (mia, fay):
        bar = toolbar(client)
        buttons = bar.locator("button:visible")
        tops = {
            round(top) for top in await buttons.evaluate_all("(bs) => bs.map(b => b.offsetTop)")
        }
        assert len(tops) == 1, f"{client.name}'s toolbar wraps: {tops}"
        row = await box(bar)
        for button in await buttons.all():
            assert await button.get_attribute("title"), await button.evaluate("b => b.outerHTML")
            placed = await box(button)
            assert row["left"] <= placed["left"] and placed["right"] <= row["right"], (placed, row)
    await mia.screenshot("toolbar-desktop-member")
    await fay.screenshot("toolbar-desktop-facilitator")

    # A member sees all the formatting and the discussion in the row itself; the
    # document's tools (export, authors, versions) give way first, into "More".
    for label in [*FORMATTING, "Comment", "Ask"]:
        await expect(toolbar(mia).get_by_role("button", name=label, exact=True)).to_be_visible()
    more = toolbar(mia).get_by_role("button", name="More", exact=True)
    await more.click()
    menu = mia.page.get_by_role("menu")
    names = [
        n.strip()
        for n in await menu.get_by_role("menuitem")
        .or_(menu.get_by_role("menuitemcheckbox"))
        .all_inner_texts()
    ]
    assert {"Authors", "Versions"} <= set(names), names
    assert not set(FORMATTING) & set(names), names
    await mia.page.keyboard.press("Escape")
    bold = toolbar(mia).get_by_role("button", name="Bold", exact=True)
    await expect(bold).to_have_attribute("title", "Bold (Ctrl+B)")
    # A facilitator's Lock and Versions stay in the row; the least used formatting gives way.
    for label in ["Lock", "Versions", "Comment", "Ask", "Export", "More"]:
        await expect(toolbar(fay).get_by_role("button", name=label, exact=True)).to_be_visible()

    # Arrow keys move along the toolbar; Tab leaves it for the editor.
    await bold.focus()
    await mia.page.keyboard.press("ArrowRight")
    await expect(toolbar(mia).get_by_role("button", name="Italic", exact=True)).to_be_focused()
    await mia.page.keyboard.press("End")
    await expect(toolbar(mia).get_by_role("button", name="More", exact=True)).to_be_focused()
    await mia.page.keyboard.press("Home")
    await expect(bold).to_be_focused()
    assert await bar_tab_stops(mia) == 1
    await mia.page.keyboard.press("Tab")
    await expect(mia.editor).to_be_focused()


async def bar_tab_stops(client: Client) -> int:
    count: int = (
        await toolbar(client)
        .locator("button:visible")
        .evaluate_all("(bs) => bs.filter((b) => b.tabIndex === 0).length")
    )
    return count


async def test_on_a_phone_the_toolbar_fits_and_the_rest_is_in_more(
    server: RunningServer, clients: Clients
) -> None:
    room, _fay = await open_room(server, clients, "Phone text.")
    pia = await join_doc(clients, room, Role.MEMBER, "Pia", phone=True)
    page = pia.page
    bar = toolbar(pia)
    seen = await viewport(page)
    assert seen["scrollWidth"] <= seen["width"], seen
    bar_box = await box(bar)
    assert bar_box["right"] <= seen["width"], bar_box

    # The main actions are in the row, in full; the row is one line, every target large.
    for label in ["Comment", "Ask", "More"]:
        button = bar.get_by_role("button", name=label, exact=True)
        await expect(button).to_be_visible()
        await expect(button).to_be_in_viewport(ratio=1)
    buttons = bar.locator("button:visible")
    tops = {round(top) for top in await buttons.evaluate_all("(bs) => bs.map(b => b.offsetTop)")}
    assert len(tops) == 1, tops
    for button in await buttons.all():
        size = await box(button)
        assert size["width"] >= 44 and size["height"] >= 44, size
        assert bar_box["left"] <= size["left"] and size["right"] <= bar_box["right"], size
    await pia.screenshot("toolbar-phone")

    # "More" holds the rest, and works by keyboard.
    more = bar.get_by_role("button", name="More", exact=True)
    await expect(more).to_have_attribute("aria-haspopup", "menu")
    await more.focus()
    await page.keyboard.press("Enter")
    await expect(more).to_have_attribute("aria-expanded", "true")
    menu = page.get_by_role("menu")
    await expect(menu).to_be_visible()
    items = menu.get_by_role("menuitemcheckbox").or_(menu.get_by_role("menuitem"))
    names = [name.strip() for name in await items.all_inner_texts()]
    for label in ["Numbered", "Checklist", "Quote", "Redo", "Export as Markdown (.md)"]:
        assert label in names, names
    for label in ["Comment", "Ask"]:
        assert label not in names, names
    await expect(items.first).to_be_focused()
    await pia.screenshot("toolbar-phone-more")
    await page.keyboard.press("End")
    await expect(items.last).to_be_focused()
    await page.keyboard.press("Escape")
    await expect(menu).to_be_hidden()
    await expect(more).to_be_focused()
    await expect(more).to_have_attribute("aria-expanded", "false")

    # A formatting command from the menu reaches the editor.
    await pia.editor.tap()
    await page.keyboard.press("Control+End")
    await more.focus()
    await page.keyboard.press("ArrowDown")
    numbered = menu.get_by_role("menuitemcheckbox", name="Numbered")
    while not await numbered.evaluate("(el) => el === document.activeElement"):
        await page.keyboard.press("ArrowDown")
    await page.keyboard.press("Enter")
    await expect(menu).to_be_hidden()
    await expect(pia.editor.locator("ol")).to_contain_text("Phone text.")
    await expect(pia.editor).to_be_focused()


async def test_on_a_phone_the_toolbar_stays_in_view_while_typing_at_the_end(
    server: RunningServer, clients: Clients
) -> None:
    room, fay = await open_room(server, clients)
    await fay.editor.click()
    # Pasted in one go: a long document without thousands of keystrokes to sync.
    await fay.page.evaluate(
        """() => {
          const data = new DataTransfer()
          const paragraph = (n) => `<p>Paragraph ${n} of a long document.</p>`
          data.setData('text/html', Array.from({ length: 40 }, (_, n) => paragraph(n)).join(''))
          document.querySelector('.rt-prose').dispatchEvent(
            new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }))
        }"""
    )
    await expect_text(fay, "Paragraph 39", exact=False)
    pia = await join_doc(clients, room, Role.MEMBER, "Pia", phone=True)
    page = pia.page
    await expect_text(pia, "Paragraph 39", exact=False)
    bar = toolbar(pia)

    await pia.editor.tap()
    await page.keyboard.press("Control+End")
    for n in range(8):
        await page.keyboard.type(f"Line {n} typed on the phone.")
        await page.keyboard.press("Enter")
    await expect_text(fay, "Line 7 typed on the phone.", exact=False)
    seen = await viewport(page)
    assert seen["scrollY"] > 1000, seen
    placed = await box(bar)
    assert 0 <= placed["top"] <= 1, placed
    assert placed["bottom"] <= seen["height"], placed
    await expect(bar.get_by_role("button", name="Ask", exact=True)).to_be_in_viewport(ratio=1)
    assert seen["scrollWidth"] <= seen["width"], seen
    await pia.screenshot("toolbar-phone-long-document")

    # The caret's line scrolled under the toolbar (and left there a moment, once the page
    # is done moving): typing brings it back out below the toolbar.
    for _ in range(30):
        await page.keyboard.press("ArrowUp")
    await page.keyboard.press("End")
    await page.wait_for_function(
        """() => {
          const top = getSelection().getRangeAt(0).getBoundingClientRect().top
          if (top > 0 && top < 30) return true
          scrollBy({ behavior: 'instant', top: top - 10 })
          return false
        }""",
        polling=200,
    )
    await page.keyboard.type(" Edited.")
    # The page moves the caret out after the selection changed (a frame later): wait
    # for it, then check.
    try:
        await page.wait_for_function(
            """() => {
              const caret = getSelection().getRangeAt(0).getBoundingClientRect()
              const bar = document.querySelector('.rt-toolbar').getBoundingClientRect()
              return caret.top >= bar.bottom
            }""",
            timeout=5_000,
        )
    except PlaywrightTimeout:
        caret = await page.evaluate(_SELECTION_BOX)
        placed = await box(bar)
        raise AssertionError(f"the caret {caret} stayed under the toolbar {placed}") from None


# Export


async def test_export_downloads_markdown_and_html_and_says_so(
    server: RunningServer, clients: Clients
) -> None:
    _room, fay = await open_room(server, clients, "Exported words.")
    page = fay.page
    export = toolbar(fay).get_by_role("button", name="Export", exact=True)
    toast = page.locator(".rt-toast")
    await expect(export).to_have_attribute("aria-haspopup", "menu")

    await export.click()
    menu = page.get_by_role("menu")
    await expect(menu.get_by_role("menuitem")).to_have_text(
        ["Markdown (.md)", "HTML (.html)", "Print / Save as PDF"]
    )
    await fay.screenshot("toolbar-export-menu")
    for label, filename, marker in [
        ("Markdown (.md)", f"{DOC}.md", "Exported words."),
        ("HTML (.html)", f"{DOC}.html", "<p>Exported words.</p>"),
    ]:
        if not await menu.is_visible():
            await export.click()
        async with page.expect_download() as download_info:
            await menu.get_by_role("menuitem", name=label).click()
        download = await download_info.value
        assert download.suggested_filename == filename
        saved = Path(await download.path())
        assert marker in await asyncio.to_thread(saved.read_text, encoding="utf-8")
        await expect(toast).to_be_visible()
        await expect(toast).to_have_text(f"Downloaded {filename}")
        await expect(page.locator("#announcer")).to_have_text(f"Downloaded {filename}")
    await fay.screenshot("toolbar-export-confirmed")

    # Print opens the browser's print dialog (stubbed here) and says how to get a PDF.
    await page.evaluate(
        "() => { window.__printed = 0; window.print = () => { window.__printed++ } }"
    )
    await export.click()
    await menu.get_by_role("menuitem", name="Print / Save as PDF").click()
    await expect(toast).to_contain_text("Save as PDF")
    await page.wait_for_function("() => window.__printed === 1")


async def test_the_printout_is_the_document_alone(server: RunningServer, clients: Clients) -> None:
    room, fay = await open_room(server, clients, "The house colour is brown.")
    mia = await join_doc(clients, room, Role.MEMBER, "Mia")
    await expect_text(mia, "brown", exact=False)
    await double_click_word(mia, "brown")
    await selection_menu(mia).get_by_role("button", name="Comment", exact=True).click()
    await mia.page.get_by_label("New comment").fill("Which brown?")
    await mia.composer.get_by_role("button", name="Comment").click()
    await expect(fay.editor.locator(".rt-anchor")).to_have_text("brown")
    await fay.type_at_end(" See ")
    await fay.page.keyboard.press("Control+k")
    await fay.page.get_by_role("dialog").get_by_role("textbox").fill("https://example.org/")
    await fay.page.keyboard.press("Enter")
    await expect(fay.editor.locator("a")).to_have_count(1)

    page = fay.page
    await page.emulate_media(media="print")
    for chrome in [".rt-header", ".rt-side", ".rt-aside", ".rt-toolbar", ".rt-bottom"]:
        await expect(page.locator(chrome)).to_be_hidden()
    shown_carets = await fay.editor.locator(".collaboration-carets__caret").evaluate_all(
        "(cs) => cs.filter((c) => c.getClientRects().length > 0).length"
    )
    assert shown_carets == 0
    heading = page.locator(".rt-print-head")
    await expect(heading).to_be_visible()
    await expect(heading.get_by_role("heading", level=1)).to_have_text(DOC)
    await expect(heading).to_contain_text("Style guide sprint")
    anchor = fay.editor.locator(".rt-anchor")
    assert await anchor.evaluate("(el) => getComputedStyle(el).backgroundColor") in (
        "rgba(0, 0, 0, 0)",
        "transparent",
    )
    link_after = await fay.editor.locator("a").evaluate(
        "(el) => getComputedStyle(el, '::after').content"
    )
    assert "https://example.org/" in link_after
    await fay.screenshot("toolbar-print-preview")
    pdf = await page.pdf(format="A4")
    assert pdf.startswith(b"%PDF")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / "toolbar-print.pdf").write_bytes(pdf)
    await page.emulate_media(media="screen")
    await expect(page.locator(".rt-toolbar")).to_be_visible()
    await expect(heading).to_be_hidden()
