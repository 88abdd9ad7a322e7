"""Browser tests: Debian's Chromium driven by Playwright against a real server.

Every page opened through the ``clients`` fixture records its console errors, page
errors (uncaught exceptions) and Content-Security-Policy violations; a test that
otherwise passes fails when any were recorded (see ``pytest_runtest_call``).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Generator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Error,
    Locator,
    Page,
    async_playwright,
    expect,
)

from tests.support.harness import RunningServer, run_server
from tests.support.services import service_missing
from tests.support.settings import fast_settings

CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "artifacts" / "screenshots"

DESKTOP: dict[str, Any] = {"viewport": {"width": 1280, "height": 800}}
PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
}

# Collaborative round trips go through the server; a loaded CI machine may be slow.
expect.set_options(timeout=10_000)

# Recorded in every page before its own scripts run: CSP violations as they happen.
_CSP_LISTENER = """
document.addEventListener('securitypolicyviolation', (event) => {
  window.__rtCspViolation(`${event.violatedDirective} blocked ${event.blockedURI || 'inline'}`)
})
"""


# A call to the room's HTTP API with the token of the page's participant.
_API = """async ([method, path, body]) => {
  const slug = decodeURIComponent(location.pathname.split('/')[2])
  const { token } = JSON.parse(localStorage.getItem('roundtable:' + slug))
  const init = { method, headers: { authorization: 'Bearer ' + token } }
  if (body !== null) {
    init.headers['content-type'] = 'application/json'
    init.body = JSON.stringify(body)
  }
  const response = await fetch('/api/rooms/' + encodeURIComponent(slug) + path, init)
  if (!response.ok) throw new Error(method + ' ' + path + ': ' + response.status)
  return response.status === 204 ? null : response.json()
}"""


@pytest.fixture(scope="module")
def chromium() -> Path:
    if not CHROMIUM.is_file():
        service_missing(
            f"Chromium is not installed at {CHROMIUM} (Debian: apt-get install chromium)"
        )
    return CHROMIUM


# One Chromium per test module, shared through isolated contexts: the module's tests,
# and the fixtures below, run in one event loop (``pytest.mark.asyncio(loop_scope=...)``).
@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(chromium), args=["--no-sandbox"]
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest_asyncio.fixture(loop_scope="module")
async def server(sqlite_url: str) -> AsyncIterator[RunningServer]:
    """As tests/conftest.py's, but in the module's event loop, where the browser lives."""
    async with run_server(fast_settings(sqlite_url)) as running:
        yield running


@dataclass
class Client:
    """One browser context (one person) with one page."""

    name: str
    context: BrowserContext
    page: Page
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)

    @property
    def editor(self) -> Locator:
        """The ProseMirror contenteditable of the open document."""
        return self.page.locator(".rt-prose")

    @property
    def composer(self) -> Locator:
        return self.page.locator("form.rt-composer")

    def thread(self, text: str) -> Locator:
        """The thread card (``article.rt-thread``) containing ``text``."""
        return self.page.locator("article.rt-thread", has_text=text)

    async def api(self, method: str, path: str, body: object = None) -> Any:
        """Call the room's HTTP API (``path`` under /api/rooms/{room}) as this person."""
        return await self.page.evaluate(_API, [method, path, body])

    async def type_at_end(self, text: str) -> None:
        """Put the caret at the end of the document and type ``text``."""
        await self.editor.click()
        await self.page.keyboard.press("Control+End")
        await self.page.keyboard.type(text)

    async def create_document(self, name: str, template: str = "") -> None:
        """Create a document through the side panel; the editor opens it."""
        await self.page.get_by_label("New document").fill(name)
        if template:
            await self.page.get_by_label("Template").select_option(template)
        await self.page.get_by_role("button", name="Create", exact=True).click()
        await expect(self.page.get_by_role("textbox", name=f"Document {name}")).to_be_visible()
        await expect(self.status).to_have_attribute("data-state", "online")

    @property
    def status(self) -> Locator:
        return self.page.locator(".rt-status")

    async def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        await self.page.screenshot(path=str(path), full_page=False)
        return path

    def problems(self) -> list[str]:
        return (
            [f"page error: {e}" for e in self.page_errors]
            + [f"console error: {e}" for e in self.console_errors]
            + [f"CSP violation: {e}" for e in self.csp_violations]
        )


class Clients:
    """Opens browser contexts for one test and remembers them for the error check."""

    def __init__(self, browser: Browser, server: RunningServer) -> None:
        self.browser = browser
        self.server = server
        self.all: list[Client] = []
        self.allowed_console: list[tuple[Client, re.Pattern[str]]] = []

    async def new(self, name: str, *, phone: bool = False, locale: str = "en-US") -> Client:
        """A new browser context; ``locale`` is the browser's language (navigator.languages)."""
        context = await self.browser.new_context(**(PHONE if phone else DESKTOP), locale=locale)
        violations: list[str] = []

        def on_violation(report: str) -> None:
            violations.append(report)

        await context.expose_function("__rtCspViolation", on_violation)
        await context.add_init_script(_CSP_LISTENER)
        client = Client(name, context, await context.new_page(), csp_violations=violations)

        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                client.console_errors.append(message.text)

        def on_page_error(error: Error) -> None:
            client.page_errors.append(f"{error.name}: {error.message}\n{error.stack}")

        client.page.on("console", on_console)
        client.page.on("pageerror", on_page_error)
        self.all.append(client)
        return client

    async def join(self, invite: str, name: str, *, phone: bool = False) -> Client:
        """A new person opens the invite link, picks ``name`` and enters the room."""
        return await self.enter(await self.new(name, phone=phone), invite)

    async def enter(self, client: Client, invite: str) -> Client:
        """``client`` (from :meth:`new`) opens the invite link, picks its name and enters
        the room: what :meth:`join` does, for a client prepared before its first page."""
        page = client.page
        await page.goto(f"{self.server.http}/join/{invite}")
        # By id and type, not by label: the page may be in another language.
        await page.locator("input#name").fill(client.name)
        await page.locator("form button[type=submit]").click()
        await page.wait_for_url("**/room/**")
        await expect(page.locator(".rt-you")).to_have_count(1)
        return client

    def allow_console(self, client: Client, pattern: str) -> None:
        """Console errors of ``client`` matching ``pattern`` (a regex) are expected."""
        self.allowed_console.append((client, re.compile(pattern)))

    def problems(self) -> list[str]:
        found: list[str] = []
        for client in self.all:
            allowed = [p for c, p in self.allowed_console if c is client]
            client.console_errors[:] = [
                e for e in client.console_errors if not any(p.search(e) for p in allowed)
            ]
            found += [f"[{client.name}] {p}" for p in client.problems()]
        return found

    def assert_clean(self) -> None:
        problems = self.problems()
        assert not problems, "the browser reported problems:\n" + "\n".join(problems)

    async def close(self) -> None:
        for client in self.all:
            await client.context.close()


class Restarts:
    """A server that stops and starts again on one address and database, the test's
    browser contexts following it (their pages reconnect by themselves)."""

    def __init__(self, browser: Browser, sqlite_url: str) -> None:
        self.browser = browser
        self.settings = fast_settings(sqlite_url)
        self.port: int | None = None
        self._clients: Clients | None = None

    def configure(self, **overrides: object) -> None:
        """Settings other than the tests' defaults, before the first start."""
        self.settings = fast_settings(self.settings.database_url, **overrides)

    @property
    def clients(self) -> Clients:
        if self._clients is None:
            raise RuntimeError("no browser contexts before the server first started")
        return self._clients

    @asynccontextmanager
    async def run(self) -> AsyncIterator[RunningServer]:
        """Serve until the block ends; the first start picks the port, later ones reuse it."""
        async with run_server(self.settings, port=self.port) as running:
            self.port = running.port
            if self._clients is None:
                self._clients = Clients(self.browser, running)
            self._clients.server = running
            yield running

    async def close(self) -> None:
        if self._clients is not None:
            await self._clients.close()


@pytest_asyncio.fixture(loop_scope="module")
async def restarts(browser: Browser, sqlite_url: str) -> AsyncIterator[Restarts]:
    started = Restarts(browser, sqlite_url)
    try:
        yield started
    finally:
        await started.close()


@pytest_asyncio.fixture(loop_scope="module")
async def clients(browser: Browser, server: RunningServer) -> AsyncIterator[Clients]:
    opened = Clients(browser, server)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    """A test that passed still fails if a page threw, logged an error or broke the CSP."""
    result = yield
    funcargs = getattr(item, "funcargs", {})
    opened = funcargs.get("clients")
    if isinstance(opened, Clients):
        opened.assert_clean()
    restarted = funcargs.get("restarts")
    if isinstance(restarted, Restarts) and restarted._clients is not None:
        restarted._clients.assert_clean()
    return result
