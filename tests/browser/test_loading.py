"""Loading the web client: the join page comes without the editor (TipTap, ProseMirror,
Yjs are a chunk of their own, fetched once someone starts typing their name); after
Join the room opens in the same page, and Back and Forward lead to the join page and
the room again; the join page says what is going on (busy, refused, offline), speaks
Spanish on request, and fits a phone; the room page says when its code cannot load."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest
from playwright.async_api import Request, Response, Route, expect

from rooms.roles import Role
from tests.browser.conftest import Client, Clients
from tests.support.harness import RunningServer
from tests.support.timing import eventually

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

DOC = "notes"
# The first line of the best-practices template (rooms/templates.py).
SEED = "Best-practices guide"
ROOM_CHUNK = re.compile(r"/static/dist/chunks/room-page-[A-Z0-9]+\.js$")
ENTRY = re.compile(r"/static/dist/app-[A-Z0-9]+\.js$")
EDITOR_MARKS = ("ProseMirror", "tiptap", "Yjs was already imported")
# Widest element right edge and narrowest control, on the page as shown.
_LAYOUT = """() => ({
  scrollWidth: document.documentElement.scrollWidth,
  small: [...document.querySelectorAll('button, input, select')]
    .filter((el) => el.getClientRects().length > 0)
    .map((el) => ({ el: el.id || el.textContent, box: el.getBoundingClientRect() }))
    .filter(({ box }) => box.width < 44 || box.height < 44)
    .map(({ el, box }) => `${el}: ${box.width}x${box.height}`)
})"""


async def room_with_document(server: RunningServer) -> str:
    """A room with document DOC from a template; its member invite code."""
    room = await server.create_room()
    token = await server.join(room, Role.FACILITATOR, "Fay")
    async with httpx.AsyncClient(base_url=server.http) as api:
        created = await api.post(
            f"/api/rooms/{room.room.slug}/documents",
            json={"name": DOC, "template": "best-practices"},
            headers={"authorization": f"Bearer {token}"},
        )
    created.raise_for_status()
    return room.invites[Role.MEMBER]


def record_scripts(client: Client) -> list[str]:
    """The paths of the JavaScript files the page asks for, from now on, in order."""
    asked: list[str] = []

    def on_request(request: Request) -> None:
        path = httpx.URL(request.url).path
        if path.endswith(".js"):
            asked.append(path)

    client.page.on("request", on_request)
    return asked


async def test_the_join_page_loads_without_the_editor_and_the_room_opens_after_it(
    server: RunningServer, clients: Clients
) -> None:
    invite = await room_with_document(server)
    jo = await clients.new("Jo", phone=True)
    page = jo.page
    scripts = record_scripts(jo)
    bodies: dict[str, str] = {}

    async def keep_body(response: Response) -> None:
        if response.url.endswith(".js"):
            bodies[response.url] = await response.text()

    page.on("response", keep_body)
    await page.goto(f"{server.http}/join/{invite}")
    name = page.get_by_role("textbox", name="Your display name")
    await expect(name).to_be_focused()
    await page.wait_for_load_state("networkidle")

    # The page is usable with app.js and the shared chunk app.html preloads: no editor.
    assert [path for path in scripts if ENTRY.search(path)], scripts
    assert len(scripts) >= 2, scripts
    assert not [path for path in scripts if ROOM_CHUNK.search(path)], scripts
    await eventually(lambda: len(bodies) == len(scripts), 5, "the scripts' bodies")
    page.remove_listener("response", keep_body)
    for url, body in bodies.items():
        found = [mark for mark in EDITOR_MARKS if mark in body]
        assert not found, f"the join page loaded {url}, which holds the editor: {found}"
    await jo.screenshot("loading-join-phone")

    # Typing a name fetches the room page's chunk, before Join is pressed.
    async with page.expect_request(ROOM_CHUNK):
        await name.press_sequentially("Jo")
    await page.get_by_role("button", name="Join").click()
    await page.wait_for_url("**/room/**")
    editor = page.get_by_role("textbox", name=f"Document {DOC}")
    await expect(editor).to_contain_text(SEED)
    await jo.type_at_end(" Typed after joining.")
    await expect(editor).to_contain_text("Typed after joining.")
    await expect(jo.status).to_have_attribute("data-state", "online")
    # The room opened in the same page: nothing was loaded twice.
    assert len(scripts) == len(set(scripts)), scripts

    # Back: the join page again; Forward: the room, loaded from its address.
    await page.go_back()
    await expect(page.get_by_role("heading", name="Join the session")).to_be_visible()
    await expect(page.get_by_role("textbox", name="Your display name")).to_be_focused()
    await page.go_forward()
    await expect(editor).to_contain_text("Typed after joining.")
    await expect(jo.status).to_have_attribute("data-state", "online")


async def test_join_says_when_it_is_busy_refused_or_offline(
    server: RunningServer, clients: Clients
) -> None:
    invite = await room_with_document(server)
    kim = await clients.new("Kim")
    page = kim.page
    await page.goto(f"{server.http}/join/{invite}")
    name = page.get_by_role("textbox", name="Your display name")
    join = page.get_by_role("button", name="Join")
    alert = page.get_by_role("alert")

    # No name: said so, nothing sent.
    await name.fill("   ")
    await join.click()
    await expect(alert).to_have_text("Type the name the others will see.")
    await expect(name).to_be_focused()

    # The server cannot be reached.
    clients.allow_console(kim, "Failed to load resource")
    await page.route("**/api/join", lambda route: route.abort())
    await name.fill("Kim")
    await join.click()
    await expect(alert).to_have_text(
        "Could not reach Roundtable. Check your connection and try again."
    )
    await expect(join).to_be_enabled()
    await page.unroute("**/api/join")

    # While the join is on its way: the button says so and takes no second press.
    held: asyncio.Future[Route] = asyncio.get_running_loop().create_future()
    await page.route("**/api/join", lambda route: held.set_result(route))
    await join.click()
    route = await held
    busy = page.get_by_role("button", name="Joining…")
    await expect(busy).to_be_disabled()
    await expect(page.locator("form.rt-join")).to_have_attribute("aria-busy", "true")
    await expect(alert).to_be_hidden()
    await kim.screenshot("loading-join-busy")
    await route.continue_()
    await page.wait_for_url("**/room/**")
    await expect(page.get_by_role("textbox", name=f"Document {DOC}")).to_contain_text(SEED)


async def test_the_join_page_in_spanish_keeps_the_name_typed(
    server: RunningServer, clients: Clients
) -> None:
    invite = await room_with_document(server)
    ana = await clients.new("Ana", phone=True)
    page = ana.page
    await page.goto(f"{server.http}/join/{invite}")
    await page.get_by_role("textbox", name="Your display name").fill("Ana")
    await page.get_by_label("Language").select_option("es")
    await expect(page.get_by_role("heading", name="Únete a la sesión")).to_be_visible()
    name = page.get_by_role("textbox", name="Tu nombre visible")
    await expect(name).to_have_value("Ana")
    await expect(page.get_by_label("Idioma")).to_be_focused()
    assert await page.evaluate("document.documentElement.lang") == "es"
    await ana.screenshot("loading-join-spanish-phone")

    layout = await page.evaluate(_LAYOUT)
    assert layout["scrollWidth"] <= 390, layout
    assert layout["small"] == [], layout

    await page.get_by_role("button", name="Entrar").click()
    await page.wait_for_url("**/room/**")
    await expect(page.get_by_role("textbox", name=re.compile(DOC))).to_contain_text(SEED)


async def test_the_room_page_says_when_its_code_does_not_load(
    server: RunningServer, clients: Clients
) -> None:
    room = await server.create_room()
    mia = await clients.join(room.invites[Role.MEMBER], "Mia")
    page = mia.page

    # A slow network: the page says the room is on its way.
    held: asyncio.Future[Route] = asyncio.get_running_loop().create_future()
    await page.route(ROOM_CHUNK, lambda route: held.set_result(route))
    await page.reload(wait_until="commit")
    route = await held
    await expect(page.get_by_role("status").filter(has_text="Opening the room…")).to_be_visible()
    await mia.screenshot("loading-opening-room")

    # The code cannot be fetched: the page says so and offers to try again.
    clients.allow_console(mia, "Failed to load resource|Failed to fetch dynamically imported")
    await route.abort()
    alert = page.get_by_role("alert")
    await expect(alert).to_have_text(
        "Could not load the room. Check your connection and try again."
    )
    await mia.screenshot("loading-room-failed")
    await page.unroute(ROOM_CHUNK)
    await page.get_by_role("button", name="Try again").click()
    await expect(page.locator(".rt-you")).to_have_count(1)
