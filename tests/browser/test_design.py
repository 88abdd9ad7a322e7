"""The design system: its colour tokens meet WCAG AA in the light and the dark theme.

static/src/styles/base.css defines every colour once, as a custom property, for both
themes (the dark one under prefers-color-scheme). Here Chromium resolves each token in
each theme and the WCAG contrast ratio of every foreground/background pair the
stylesheets use is computed: 4.5:1 for text, 3:1 for control borders, the focus ring
and participant colours. axe-core's color-contrast rule then checks what is really on
screen: the join page, the room with text, a commented passage, a question, someone
else's caret label, the spotlight banner and a dialog, in both themes.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import pytest
from playwright.async_api import Page, expect

from rooms.directory import CreatedRoom
from rooms.roles import Role
from tests.browser.conftest import Client, Clients
from tests.support.harness import RunningServer

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

DOC = "notes"
AXE = Path(__file__).resolve().parents[2] / "static" / "node_modules" / "axe-core" / "axe.min.js"
THEMES: tuple[Literal["light", "dark"], ...] = ("light", "dark")
PEOPLE = 12

TEXT = 4.5
UI = 3.0

# (foreground, background, minimum ratio): every pair the stylesheets put together.
PAIRS: list[tuple[str, str, float]] = [
    # Text on the surfaces.
    ("ink", "paper", TEXT),
    ("ink", "wash", TEXT),
    ("ink", "sunken", TEXT),
    ("muted", "paper", TEXT),
    ("muted", "wash", TEXT),
    ("muted", "sunken", TEXT),
    ("quote-ink", "paper", TEXT),
    ("quote-ink", "sunken", TEXT),
    ("quote-ink", "highlight-wash", TEXT),
    # Links, primary buttons, selected things, badges.
    ("accent", "paper", TEXT),
    ("accent", "wash", TEXT),
    ("accent", "accent-wash", TEXT),
    ("accent-ink", "accent", TEXT),
    ("accent-wash-ink", "accent-wash", TEXT),
    ("ink", "accent-wash", TEXT),
    ("muted", "accent-wash", TEXT),
    # Status pills, the lock banner, errors, destructive buttons.
    ("danger", "paper", TEXT),
    ("danger", "danger-wash", TEXT),
    ("danger-ink", "danger", TEXT),
    ("ok", "paper", TEXT),
    ("ok", "ok-wash", TEXT),
    ("warn", "paper", TEXT),
    ("warn", "warn-wash", TEXT),
    ("banner-ink", "banner", TEXT),
    # Commented passages.
    ("ink", "highlight", TEXT),
    ("ink", "highlight-active", TEXT),
    # Control borders, the focus ring, the selected tab's and sheet button's line.
    ("line-strong", "paper", UI),
    ("line-strong", "wash", UI),
    ("focus-ring", "paper", UI),
    ("focus-ring", "wash", UI),
    ("focus-ring", "accent-wash", UI),
    ("accent", "accent-wash", UI),
    ("highlight-line", "paper", UI),
]
# Participants: the name on a caret label, and the caret and roster dot on the page.
PAIRS += [("person-ink", f"person-{n}", TEXT) for n in range(PEOPLE)]
PAIRS += [(f"person-{n}", "paper", UI) for n in range(PEOPLE)]

TOKENS = sorted({name for pair in PAIRS for name in pair[:2]})

# Each token as the browser resolves it in the page's current theme, or None if unset.
_RESOLVE = """(names) => {
  const root = getComputedStyle(document.documentElement)
  const probe = document.createElement('div')
  document.body.append(probe)
  const found = {}
  for (const name of names) {
    if (!root.getPropertyValue('--' + name).trim()) { found[name] = null; continue }
    probe.style.color = 'var(--' + name + ')'
    found[name] = getComputedStyle(probe).color
  }
  probe.remove()
  return found
}"""

_RGB = re.compile(r"rgba?\(([\d.]+),\s*([\d.]+),\s*([\d.]+)(?:,\s*([\d.]+))?\)")


def rgba(css: str) -> tuple[float, float, float, float]:
    match = _RGB.fullmatch(css.strip())
    assert match, f"not an rgb() colour: {css}"
    r, g, b, a = match.groups()
    return float(r), float(g), float(b), float(a) if a is not None else 1.0


def over(top: tuple[float, float, float, float], below: tuple[float, ...]) -> tuple[float, ...]:
    """``top`` composited over the opaque ``below``."""
    alpha = top[3]
    return tuple(top[i] * alpha + below[i] * (1 - alpha) for i in range(3))


def luminance(rgb: tuple[float, ...]) -> float:
    def channel(value: float) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


async def resolved_tokens(page: Page) -> dict[str, tuple[float, float, float, float]]:
    found: dict[str, str | None] = await page.evaluate(_RESOLVE, TOKENS)
    missing = [name for name, value in found.items() if value is None]
    assert not missing, f"tokens not defined in base.css: {missing}"
    return {name: rgba(value) for name, value in found.items() if value is not None}


def shortfalls(tokens: dict[str, tuple[float, float, float, float]]) -> list[str]:
    paper = tokens["paper"]
    failing = []
    for fg, bg, minimum in PAIRS:
        background = over(tokens[bg], paper)
        ratio = contrast(over(tokens[fg], background), background)
        if ratio < minimum:
            failing.append(f"--{fg} on --{bg}: {ratio:.2f}:1 < {minimum}:1")
    return failing


async def axe_contrast(page: Page) -> list[str]:
    """axe-core's color-contrast rule on the page as it is: one line per failing node."""
    if not await page.evaluate("() => typeof window.axe === 'object'"):
        # The CSP refuses injected <script> elements; evaluate() is not subject to it.
        await page.evaluate(AXE.read_text())
    result: dict[str, Any] = await page.evaluate(
        "() => axe.run(document, { runOnly: ['color-contrast'], resultTypes: ['violations'] })"
    )
    return [
        f"{' '.join(map(str, node['target']))}: {node['failureSummary']}"
        for violation in result["violations"]
        for node in violation["nodes"]
    ]


async def theme(client: Client, scheme: Literal["light", "dark"]) -> None:
    await client.page.emulate_media(color_scheme=scheme)
    want = "dark" if scheme == "dark" else "light"
    await client.page.wait_for_function(
        "(want) => matchMedia('(prefers-color-scheme: ' + want + ')').matches", arg=want
    )


async def online(client: Client) -> None:
    await expect(client.page.get_by_role("textbox", name=f"Document {DOC}")).to_be_visible()
    await expect(client.status).to_have_attribute("data-state", "online")


async def create_document(client: Client) -> None:
    await client.page.get_by_label("New document").fill(DOC)
    await client.page.get_by_role("button", name="Create", exact=True).click()
    await online(client)


async def join_doc(
    clients: Clients, room: CreatedRoom, role: Role, name: str, **kw: bool
) -> Client:
    client = await clients.join(room.invites[role], name, **kw)
    await online(client)
    return client


async def busy_room(server: RunningServer, clients: Clients) -> tuple[CreatedRoom, Client, Client]:
    """Fay (facilitator) and Mia (member) in a document with a commented passage, a
    question, each other's caret and Fay's spotlight."""
    room = await server.create_room("Style guide sprint")
    fay = await clients.join(room.invites[Role.FACILITATOR], "Fay")
    await create_document(fay)
    await fay.type_at_end("Our voice is plain and warm. We write for people in a hurry.")
    mia = await join_doc(clients, room, Role.MEMBER, "Mia")
    await mia.type_at_end(" Short sentences help.")
    await expect(fay.editor).to_contain_text("Short sentences help.")

    await fay.editor.click()
    await fay.page.keyboard.press("Control+Home")
    await fay.page.keyboard.press("Shift+End")
    toolbar = fay.page.get_by_role("toolbar", name="Formatting")
    await toolbar.get_by_role("button", name="Comment").click()
    await fay.page.get_by_label("New comment").fill("Is “warm” the word we want?")
    await fay.composer.get_by_role("button", name="Comment").click()
    await expect(fay.thread("the word we want")).to_be_visible()
    await expect(mia.thread("the word we want")).to_be_visible()

    await mia.page.get_by_role("tab", name=re.compile("^Questions")).click()
    await mia.page.get_by_label("Your question").fill("Do we allow contractions?")
    await mia.composer.get_by_role("button", name="Ask").click()
    await expect(mia.thread("contractions")).to_be_visible()
    await mia.page.get_by_role("tab", name=re.compile("^Comments")).click()

    await fay.page.get_by_role("button", name="Spotlight me").click()
    await expect(mia.page.locator(".rt-banner")).to_have_text("Fay has the spotlight.")
    # Each sees the other's caret, with its name label.
    await mia.editor.click()
    await fay.editor.click()
    await expect(fay.editor.locator(".collaboration-carets__label")).to_have_count(1)
    await expect(mia.editor.locator(".collaboration-carets__label")).to_have_count(1)
    return room, fay, mia


async def test_every_colour_pair_meets_aa_in_both_themes(
    server: RunningServer, clients: Clients
) -> None:
    room = await server.create_room()
    fay = await clients.join(room.invites[Role.FACILITATOR], "Fay")
    by_theme = {}
    for scheme in THEMES:
        await theme(fay, scheme)
        tokens = await resolved_tokens(fay.page)
        by_theme[scheme] = tokens
        failing = shortfalls(tokens)
        assert not failing, f"{scheme} theme:\n" + "\n".join(failing)
    # The dark theme is one: its page and text are the other way round.
    assert luminance(by_theme["dark"]["paper"]) < luminance(by_theme["light"]["paper"])
    assert luminance(by_theme["dark"]["ink"]) > luminance(by_theme["light"]["ink"])


async def test_what_is_on_screen_passes_axe_contrast_in_both_themes(
    server: RunningServer, clients: Clients
) -> None:
    room, fay, mia = await busy_room(server, clients)
    joiner = await clients.new("Joiner")
    await joiner.page.goto(f"{server.http}/join/{room.invites[Role.MEMBER]}")
    await expect(joiner.page.get_by_label("Your display name")).to_be_visible()
    for scheme in THEMES:
        for client in (fay, mia, joiner):
            await theme(client, scheme)
        await expect(fay.page.locator(".rt-anchor").first).to_be_visible()
        failing = await axe_contrast(fay.page) + await axe_contrast(mia.page)
        failing += await axe_contrast(joiner.page)
        assert not failing, f"{scheme} theme:\n" + "\n".join(failing)

        await (
            fay.page.locator("li.rt-person", has_text="Mia")
            .get_by_role("button", name="Remove")
            .click()
        )
        dialog = fay.page.get_by_role("dialog", name="Remove Mia from the room?")
        await expect(dialog).to_be_visible()
        failing = await axe_contrast(fay.page)
        assert not failing, f"{scheme} theme, remove dialog:\n" + "\n".join(failing)
        await dialog.get_by_role("button", name="Cancel").click()
        await expect(dialog).to_be_hidden()


async def test_screenshots_of_the_room_in_both_themes_on_desk_and_phone(
    server: RunningServer, clients: Clients
) -> None:
    room, fay, mia = await busy_room(server, clients)
    flo = await join_doc(clients, room, Role.FACILITATOR, "Flo", phone=True)
    pia = await join_doc(clients, room, Role.MEMBER, "Pia", phone=True)
    for scheme in THEMES:
        for client, who, device in (
            (fay, "facilitator", "desktop"),
            (mia, "member", "desktop"),
            (flo, "facilitator", "phone"),
            (pia, "member", "phone"),
        ):
            await theme(client, scheme)
            wash = (await resolved_tokens(client.page))["wash"]
            body = await client.page.evaluate(
                "getComputedStyle(document.documentElement).backgroundColor"
            )
            assert rgba(body)[:3] == wash[:3]
            await client.screenshot(f"design-{who}-{scheme}-{device}")
        await (
            pia.page.get_by_role("navigation", name="Panels")
            .get_by_role("button", name="Discussion")
            .tap()
        )
        await expect(pia.page.locator("#aside")).to_be_visible()
        await pia.screenshot(f"design-member-{scheme}-phone-discussion")
        await pia.page.keyboard.press("Escape")
        await expect(pia.page.locator("#aside")).to_be_hidden()
        await (
            flo.page.get_by_role("navigation", name="Panels")
            .get_by_role("button", name="Documents")
            .tap()
        )
        await expect(flo.page.locator("#side")).to_be_visible()
        await flo.screenshot(f"design-facilitator-{scheme}-phone-documents")
        await flo.page.keyboard.press("Escape")
        await expect(flo.page.locator("#side")).to_be_hidden()
