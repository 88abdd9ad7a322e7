"""Who wrote what, in Chromium: the Authors view of a document, a restore that keeps
the threads on unchanged text, and the comparison of two versions (with its download)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Locator, expect

from crdt.content import append_blocks, edit
from rooms.roles import Role
from tests.browser.axe import axe_violations
from tests.browser.conftest import REPO, Client, Clients
from tests.browser.test_states import cards_agree_with_the_text, comment_on
from tests.browser.test_web_client import DOC, double_click_word, expect_text, join_doc, open_room
from tests.support.harness import RunningServer

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

DOCS_SHOTS = REPO / "docs" / "screenshots"
COLOUR = re.compile(r"\brt-c(\d+|-none)\b")

# The text of each author span of the editor, joined per hover name, with its colour
# classes: {name: [text, [classes]]}.
_AUTHOR_SPANS = """() => {
  const found = {}
  for (const span of document.querySelectorAll('.rt-prose .rt-author')) {
    const entry = found[span.title] ||= ['', []]
    entry[0] += span.textContent
    for (const c of span.classList) if (/^rt-c/.test(c) && !entry[1].includes(c)) entry[1].push(c)
  }
  return found
}"""

# The colour class of each person in the legend above the text: {name: class}.
_LEGEND = """() => Object.fromEntries([...document.querySelectorAll('.rt-authors-legend li')]
  .map((li) => [li.textContent.trim(),
    [...li.querySelector('.rt-authors-swatch').classList].find((c) => /^rt-c|unknown/.test(c))]))"""


def toolbar(client: Client) -> Locator:
    return client.page.get_by_role("toolbar", name="Formatting")


async def keep(client: Client, name: str) -> None:
    """A screenshot in artifacts/, copied to docs/screenshots/."""
    path: Path = await client.screenshot(name)
    DOCS_SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, DOCS_SHOTS / path.name)


async def accessible_in_both_themes(client: Client) -> None:
    """No serious or critical axe violation on the page, in the light and dark theme."""
    for theme in ("dark", "light"):
        await client.page.emulate_media(color_scheme=theme)
        violations = await axe_violations(client.page)
        assert not violations, f"{theme}: " + "; ".join(map(str, violations))


async def new_paragraph(client: Client, text: str, *, after: str = "") -> None:
    """Type ``text`` as a new paragraph at the end of the document, or after the line
    holding ``after``."""
    if after:
        await client.editor.get_by_text(after).click()
        await client.page.keyboard.press("End")
    else:
        await client.editor.click()
        await client.page.keyboard.press("Control+End")
    await client.page.keyboard.press("Enter")
    await client.page.keyboard.type(text)


async def switch_authors_on(client: Client) -> None:
    """Press Authors (in the row, or in More on a narrow toolbar)."""
    button = toolbar(client).get_by_role("button", name="Authors", exact=True)
    if await button.is_visible():
        await expect(button).to_have_attribute("aria-pressed", "false")
        await button.click()
        await expect(button).to_have_attribute("aria-pressed", "true")
    else:
        await toolbar(client).get_by_role("button", name="More").click()
        await client.page.get_by_role("menuitemcheckbox", name="Authors").click()
    await expect(client.page.locator(".rt-authors-legend")).to_be_visible()


async def authored(client: Client, want: dict[str, str]) -> dict[str, tuple[str, list[str]]]:
    """Wait until, for each name in ``want``, that person's spans contain its text;
    returns every hover name's text and colour classes."""
    await client.page.wait_for_function(
        "(want) => { const found = (" + _AUTHOR_SPANS + ")();"
        " return Object.entries(want).every(([name, text]) =>"
        " found[name] && found[name][0].includes(text)) }",
        arg=want,
    )
    found: dict[str, Any] = await client.page.evaluate(_AUTHOR_SPANS)
    return {name: (str(text), [str(c) for c in classes]) for name, (text, classes) in found.items()}


async def test_authors_shows_each_persons_text_in_their_colour_with_their_name(
    server: RunningServer, clients: Clients
) -> None:
    room = await server.create_room("Authorship")
    fay = await clients.join(room.invites[Role.FACILITATOR], "Fay")
    await fay.create_document(DOC, template="style-guide")
    mia = await join_doc(clients, room, Role.MEMBER, "Mia")
    max_ = await join_doc(clients, room, Role.MEMBER, "Max")
    await new_paragraph(fay, "Fay writes the opening.")
    await expect_text(mia, "Fay writes the opening.", exact=False)
    await new_paragraph(mia, "Mia adds an example.", after="Term to avoid")
    await expect_text(max_, "Mia adds an example.", exact=False)
    await new_paragraph(max_, "Max asks a question.", after="Term to avoid")
    for client in (fay, mia, max_):
        await expect_text(client, "Max asks a question.", exact=False)

    await switch_authors_on(fay)
    spans = await authored(
        fay,
        {
            "Fay": "Fay writes the opening.",
            "Mia": "Mia adds an example.",
            "Max": "Max asks a question.",
        },
    )
    # The template's text counts too: the document's creator wrote it.
    assert "Voice and tone" in spans["Fay"][0], spans
    colours = {name: spans[name][1] for name in ("Fay", "Mia", "Max")}
    for name, classes in colours.items():
        assert len(classes) == 1, (name, classes)
        assert COLOUR.fullmatch(classes[0]) and classes[0] != "rt-c-none", (name, classes)
    # Each in the colour the roster shows them in.
    for name in ("Fay", "Mia", "Max"):
        dot = fay.page.locator(".rt-roster .rt-person", has_text=name).locator(".rt-dot")
        assert colours[name][0] in (await dot.get_attribute("class") or "").split(), name
    # The legend names them with the same colours.
    legend = await fay.page.evaluate(_LEGEND)
    for name in ("Fay", "Mia", "Max"):
        assert legend[name] == colours[name][0], (legend, colours)
    assert not await fay.page.locator(".rt-prose .rt-author-unknown").count()

    # New text is attributed as it is typed.
    await new_paragraph(mia, "Mia again.")
    await authored(fay, {"Mia": "Mia again."})
    await fay.page.locator(".rt-authors-legend").scroll_into_view_if_needed()
    await keep(fay, "authors-desktop")
    await fay.page.emulate_media(color_scheme="dark")
    await keep(fay, "authors-desktop-dark")
    await accessible_in_both_themes(fay)

    # The choice is kept in this browser; switching off removes every tint.
    await fay.page.reload()
    await expect(toolbar(fay).get_by_role("button", name="Authors", exact=True)).to_have_attribute(
        "aria-pressed", "true"
    )
    await authored(fay, {"Mia": "Mia again."})
    await toolbar(fay).get_by_role("button", name="Authors", exact=True).click()
    await expect(fay.page.locator(".rt-prose .rt-author")).to_have_count(0)
    await expect(fay.page.locator(".rt-authors-legend")).to_be_hidden()

    # Read-only people see it too, on a phone as well.
    oscar = await join_doc(clients, room, Role.OBSERVER, "Oscar", phone=True)
    await switch_authors_on(oscar)
    await authored(oscar, {"Max": "Max asks a question.", "Fay": "Voice and tone"})
    await keep(oscar, "authors-phone")


async def test_text_from_before_authorship_is_by_an_unknown_author(
    server: RunningServer, clients: Clients
) -> None:
    # Text the server wrote under a client id no participant owns (as before authorship).
    room, fay = await open_room(server, clients)
    info = await server.app_state.store.get_document(room.room.id, DOC)
    assert info is not None
    async with server.app_state.hub.holding(info, room.room.slug) as live:
        old = edit(
            live.sync.encode_state(), append_blocks([("paragraph", {}, "Written long ago.")])
        )
        live.apply_client_update(old, origin=None)
    await expect_text(fay, "Written long ago.")
    await switch_authors_on(fay)
    unknown = fay.page.locator(".rt-prose .rt-author-unknown")
    await expect(unknown).to_have_text("Written long ago.")
    await expect(unknown).to_have_attribute("title", "Unknown author")
    await expect(fay.page.locator(".rt-authors-legend")).to_contain_text("Unknown author")


async def test_a_restore_keeps_the_threads_on_unchanged_text(
    server: RunningServer, clients: Clients
) -> None:
    room, fay = await open_room(server, clients, "Alpha beta gamma.")
    await new_paragraph(fay, "Second paragraph here.")
    mia = await join_doc(clients, room, Role.MEMBER, "Mia")
    await expect_text(mia, "Second paragraph here.", exact=False)
    await comment_on(mia, "gamma", "Why gamma?")
    saved = await fay.api("POST", f"/documents/{DOC}/versions", {"name": "Before edits"})
    # Someone edits another paragraph.
    await mia.type_at_end(" Mia changed this.")
    await expect_text(fay, "Mia changed this.", exact=False)

    await fay.api("POST", f"/documents/{DOC}/versions/{saved['version']['id']}/restore")
    for client in (mia, fay):
        await expect_text(client, "Alpha beta gamma.Second paragraph here.")
        # Needs the restore that keeps unchanged text's items: the thread stays attached
        # and its highlight covers the same word.
        cards = await cards_agree_with_the_text(client)
        assert [(lit, gone) for _, lit, gone in cards] == [(True, False)], cards
        highlight = client.page.locator(".rt-prose .rt-anchor")
        await expect(highlight).to_have_text("gamma")
        await expect(client.thread("Why gamma?").locator(".rt-quote")).not_to_contain_text(
            "passage deleted or changed"
        )


async def test_two_versions_compared_show_who_changed_what_and_download(
    server: RunningServer, clients: Clients, tmp_path: Path
) -> None:
    room, fay = await open_room(server, clients, "The quick brown fox.")
    await fay.api("POST", f"/documents/{DOC}/versions", {"name": "First draft"})
    mia = await join_doc(clients, room, Role.MEMBER, "Mia")
    await new_paragraph(mia, "It jumps high.")
    await expect_text(fay, "It jumps high.", exact=False)
    await double_click_word(fay, "quick")
    await fay.page.keyboard.press("Backspace")
    await expect_text(mia, "The  brown fox.It jumps high.")

    await toolbar(fay).get_by_role("button", name="Versions", exact=True).click()
    history = fay.page.get_by_role("dialog", name=f"Version history of {DOC}")
    await history.get_by_role("button", name="Compare “First draft”").click()
    compare = fay.page.get_by_role("dialog", name="Compare “First draft”")
    await expect(compare).to_be_visible()
    await expect(compare.get_by_label("Compare with")).to_have_value("current")

    # Mia's insertion in her colour with her name; Fay's word struck through.
    added = compare.locator("ins", has_text="It jumps high.")
    await expect(added).to_have_attribute("title", re.compile("Mia"))
    removed = compare.locator("del", has_text="quick")
    await expect(removed).to_have_attribute("title", re.compile("Fay"))
    assert "line-through" in await removed.evaluate(
        "(el) => getComputedStyle(el).textDecorationLine"
    )
    people = compare.get_by_role("list", name="Who changed what")
    mia_colour = await (
        people.get_by_role("listitem")
        .filter(has_text="Mia")
        .locator(".rt-authors-swatch")
        .evaluate("(el) => [...el.classList].find((c) => /^rt-c\\d/.test(c))")
    )
    assert mia_colour and mia_colour in (await added.get_attribute("class") or "").split(), (
        mia_colour
    )
    # Mia only added text; Fay's deletion counts as removed text of hers.
    await expect(people.get_by_role("listitem").filter(has_text="Mia")).to_contain_text(
        re.compile(r"\+1\d \u22120$")
    )
    await expect(people.get_by_role("listitem").filter(has_text="Fay")).to_contain_text(
        re.compile(r"\u2212[1-9]")
    )
    await keep(fay, "versions-compare-desktop")
    await accessible_in_both_themes(fay)
    await fay.page.emulate_media(color_scheme="dark")
    await keep(fay, "versions-compare-desktop-dark")
    await fay.page.emulate_media(color_scheme="light")

    # The download is a page holding both changes.
    async with fay.page.expect_download() as downloading:
        await compare.get_by_role("button", name="Download HTML").click()
    download = await downloading.value
    saved = tmp_path / download.suggested_filename
    await download.save_as(saved)
    html = saved.read_text(encoding="utf-8")
    assert "It jumps high." in html and "quick" in html, html[:500]
    await compare.get_by_role("button", name="Close", exact=True).click()

    # A version compared with itself-as-now: after saving, nothing changed.
    await fay.api("POST", f"/documents/{DOC}/versions", {"name": "Second draft"})
    await history.get_by_role("button", name="Close", exact=True).click()
    await toolbar(fay).get_by_role("button", name="Versions", exact=True).click()
    await history.get_by_role("button", name="Compare “Second draft”").click()
    second = fay.page.get_by_role("dialog", name="Compare “Second draft”")
    await expect(second.locator(".rt-compare-body")).to_have_text("No changes")
    # The picker brings the first draft in: its changes show again, the other way round.
    picker = second.get_by_label("Compare with")
    first_draft = await picker.locator("option", has_text="First draft").get_attribute("value")
    assert first_draft is not None
    await picker.select_option(first_draft)
    await expect(second.locator("del", has_text="It jumps high.")).to_be_visible()
    await second.get_by_role("button", name="Close", exact=True).click()
    await history.get_by_role("button", name="Close", exact=True).click()

    # A member compares too, but neither saves nor restores.
    pia = await join_doc(clients, room, Role.MEMBER, "Pia", phone=True)
    bar = toolbar(pia)
    versions = bar.get_by_role("button", name="Versions", exact=True)
    if not await versions.is_visible():
        await bar.get_by_role("button", name="More").click()
        versions = pia.page.get_by_role("menuitem", name="Versions")
    await versions.click()
    member_history = pia.page.get_by_role("dialog", name=f"Version history of {DOC}")
    await expect(member_history.get_by_role("button", name="Restore “First draft”")).to_have_count(
        0
    )
    await expect(member_history.get_by_role("button", name="Save version")).to_have_count(0)
    await member_history.get_by_role("button", name="Compare “First draft”").click()
    phone_compare = pia.page.get_by_role("dialog", name="Compare “First draft”")
    await expect(phone_compare.locator("ins", has_text="It jumps high.")).to_be_visible()
    box = await phone_compare.bounding_box()
    assert box is not None and box["width"] >= 389, box
    await keep(pia, "versions-compare-phone")
    await pia.page.emulate_media(color_scheme="dark")
    await keep(pia, "versions-compare-phone-dark")
