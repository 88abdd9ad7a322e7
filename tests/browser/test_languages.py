"""The room in each language the client ships: picked from the browser's language,
every visible string and accessible name from the catalogue, dates through Intl."""

from __future__ import annotations

import json
import re
import subprocess
from functools import cache
from pathlib import Path

import pytest
from playwright.async_api import expect

from rooms.roles import Role
from tests.browser.conftest import Client, Clients
from tests.browser.test_web_client import DOC
from tests.support.harness import RunningServer

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

STATIC = Path(__file__).resolve().parents[2] / "static"

# Every string a person can see or hear: text nodes, and the names and hints of controls.
_PAGE_STRINGS = """() => {
  const found = new Set()
  const visible = (el) => el.getClientRects().length > 0
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT)
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (node.parentElement.closest('.rt-prose, .rt-thread-body, .rt-quote')) continue
    if (!visible(node.parentElement)) continue
    const text = node.data.trim()
    if (text) found.add(text)
  }
  for (const el of document.querySelectorAll('[aria-label], [title], [placeholder]')) {
    for (const name of ['aria-label', 'title', 'placeholder']) {
      const value = (el.getAttribute(name) || '').trim()
      if (value) found.add(value)
    }
  }
  return [...found]
}"""


@cache
def catalogue(language: str) -> dict[str, str]:
    """The catalogue's messages (plural forms flattened), read by node from the source."""
    script = (
        f"import m from './src/messages/{language}.js';"
        "const flat = {};"
        "for (const [k, v] of Object.entries(m)) {"
        " if (typeof v === 'object') for (const [f, s] of Object.entries(v)) flat[k + '.' + f] = s;"
        " else flat[k] = v }"
        "console.log(JSON.stringify(flat))"
    )
    out = subprocess.run(
        ["node", "--input-type=module", "-e", script],
        cwd=STATIC,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    messages: dict[str, str] = json.loads(out)
    return messages


def english_only() -> list[re.Pattern[str]]:
    """Patterns of the English messages whose Spanish differs (placeholders match anything)."""
    en, es = catalogue("en"), catalogue("es")
    patterns = []
    for key, message in en.items():
        if es.get(key) == message or len(message) < 4:
            continue
        parts = re.split(r"\{\w+\}", message)
        patterns.append(re.compile("^" + ".+".join(map(re.escape, parts)) + "$"))
    return patterns


async def room_strings(client: Client) -> list[str]:
    strings: list[str] = await client.page.evaluate(_PAGE_STRINGS)
    return strings


async def spanish_room(server: RunningServer, clients: Clients) -> tuple[Client, Client]:
    room = await server.create_room("Guía de estilo")
    fay = await clients.new("Fay", locale="es-ES")
    await clients.enter(fay, room.invites[Role.FACILITATOR])
    await fay.page.get_by_label("Nombre del documento").fill(DOC)
    await fay.page.get_by_role("button", name="Crear documento").click()
    await expect(fay.editor).to_be_visible()
    await fay.type_at_end("Sé amable.")
    pat = await clients.new("Pat", phone=True, locale="es-MX")
    await clients.enter(pat, room.invites[Role.MEMBER])
    await expect(pat.editor).to_be_visible()
    return fay, pat


async def test_the_room_speaks_the_browsers_language(
    server: RunningServer, clients: Clients
) -> None:
    fay, pat = await spanish_room(server, clients)
    for client in (fay, pat):
        assert await client.page.evaluate("document.documentElement.lang") == "es"
    toolbar = fay.page.get_by_role("toolbar", name=catalogue("es")["room.formatting"])
    await expect(toolbar).to_be_visible()
    await expect(fay.page.get_by_role("tab", name=re.compile("Preguntas"))).to_be_visible()

    # A question, so that a time is on show: Intl formats it the Spanish way.
    await fay.page.get_by_role("tab", name=re.compile("Preguntas")).click()
    await fay.page.get_by_role("textbox", name=catalogue("es")["discussion.yourQuestion"]).fill(
        "¿Quién empieza?"
    )
    await fay.composer.get_by_role("button", name=catalogue("es")["discussion.ask"]).click()
    await expect(fay.thread("¿Quién empieza?")).to_be_visible()

    leftovers = english_only()
    for client in (fay, pat):
        for sheet in ("", *catalogue("es")["room.documents"].split("\n")):
            if sheet and client is pat:
                await (
                    pat.page.get_by_role("navigation", name=catalogue("es")["room.panels"])
                    .get_by_role("button", name=sheet)
                    .click()
                )
            english = [s for s in await room_strings(client) if any(p.match(s) for p in leftovers)]
            assert english == [], f"{client.name} sees English: {english}"
        await client.screenshot(f"languages-es-{'phone' if client is pat else 'desktop'}")


async def test_an_english_browser_gets_english_and_can_switch(
    server: RunningServer, clients: Clients
) -> None:
    room = await server.create_room("Style guide")
    kim = await clients.new("Kim", locale="en-GB")
    await clients.enter(kim, room.invites[Role.MEMBER])
    en, es = catalogue("en"), catalogue("es")
    await expect(kim.page.get_by_text(en["documents.waitingTitle"])).to_be_visible()
    await kim.page.locator(".rt-you-button").click()
    await kim.page.get_by_label(en["room.language"]).select_option("es")
    await expect(kim.page.get_by_text(es["documents.waitingTitle"])).to_be_visible()
    assert await kim.page.evaluate("document.documentElement.lang") == "es"


async def test_the_catalogues_differ() -> None:
    """The leftover check has something to find: most messages are translated."""
    assert len(english_only()) > 0.8 * len(catalogue("en"))
