"""How fast the web client is on a phone: the join page and the room page, measured in
Debian's Chromium under mobile emulation with a slowed CPU and a slow network.

Each run opens a fresh browser context (empty cache) on a 390x844 touch screen, with
the CPU slowed 4x (``Emulation.setCPUThrottlingRate``) and a slow 4G network
(``Network.emulateNetworkConditions``: 150 ms latency, 1.6 Mbit/s down, 750 kbit/s up),
and measures three page loads:

- **join**: the invite link; the page is usable when the name field is there and
  enabled, a frame showing it was painted and the main thread is free again;
- **room after Join**: a five-letter name is typed, a key every 150 ms, and Join
  pressed, as people do; the room page then opens, with what the join page left in the
  cache or, when the client opens the room in the join page's own document, with what
  it already loaded (timed from the press of Join, and from the opening of the invite
  link, the name's typing included; the JavaScript counted is what was fetched after
  the press);
- **room, cold**: the room link opened again in a new context (signed in, empty cache).

A room page is usable when the editor (``.rt-prose``) is editable, shows the document's
text from the server (it is synced), a frame showing it was painted and the main thread
is free; then a typed character must appear in it (the run fails otherwise), and the
time from the key press to the character in the page is recorded too. Each page also
records its first contentful paint and the JavaScript files it used: bytes that came
over the network, their uncompressed size, and what gzip -6 makes of each.

The server (``roundtable serve``, a temporary SQLite file, a free port) is started by
the script. Prints a table of medians over the runs; ``--json`` writes every run.

    make page-speed
    .venv/bin/python -m bench.page_speed --runs 5 --json /tmp/page-speed.json
    .venv/bin/python -m bench.page_speed --compare bench/results/page-speed-before.json
"""

from __future__ import annotations

import argparse
import gzip
import json
import platform
import statistics
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from bench.servers import ROOT, serving
from rooms.templates import TEMPLATES

CHROMIUM = Path("/usr/bin/chromium")
TEMPLATE = "best-practices"
# The first line of the template's text: once the editor shows it, the document synced.
SEED_TEXT = str(TEMPLATES[TEMPLATE].blocks[0][2])
TYPED = "zqx"
# The name typed on the join page, a key every KEY_DELAY_MS, as a person might.
NAME = "Speed"
KEY_DELAY_MS = 150
DOCUMENT = "notes"
TIMEOUT_MS = 120_000
# Each page's errors and console errors, reported when a mark never comes.
PROBLEMS: dict[Page, list[str]] = {}

PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
}

# Marks taken inside each page, in milliseconds from the start of its navigation.
# "After paint and free": a frame was painted, then a task ran (the main thread was free).
OBSERVER = """
(() => {
  const marks = { origin: performance.timeOrigin }
  window.__rtSpeed = marks
  const afterPaint = (key) => {
    marks[key] = null
    requestAnimationFrame(() => setTimeout(() => {
      marks[key] = performance.now()
      marks[key + 'Epoch'] = performance.timeOrigin + marks[key]
    }, 0))
  }
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if (entry.name === 'first-contentful-paint') marks.fcp = entry.startTime
    }
  }).observe({ type: 'paint', buffered: true })
  const check = () => {
    if (marks.nameReady === undefined) {
      const name = document.querySelector('input#name')
      if (name && !name.disabled && name.isConnected) afterPaint('nameReady')
    }
    if (marks.editorReady === undefined) {
      const prose = document.querySelector('.rt-prose[contenteditable="true"]')
      if (prose && prose.textContent.includes(SEED)) afterPaint('editorReady')
    }
    if (marks.keydown !== undefined && marks.typed === undefined) {
      const prose = document.querySelector('.rt-prose')
      if (prose && prose.textContent.includes(TYPED)) marks.typed = performance.now()
    }
  }
  new MutationObserver(check).observe(document, {
    subtree: true, childList: true, characterData: true, attributes: true
  })
  // Kept across the navigation to the room page, in this tab.
  document.addEventListener('submit', () => {
    sessionStorage.setItem('rtSpeedSubmit', String(performance.timeOrigin + performance.now()))
  }, true)
  document.addEventListener('keydown', () => {
    if (marks.keydown === undefined) marks.keydown = performance.now()
  }, true)
})()
"""

# The JavaScript this document fetched, from Resource Timing: transferSize is what came
# over the network (0 for a file taken from the cache; headers only for a revalidation).
SCRIPTS = """
(since) => performance.getEntriesByType('resource')
  .filter((entry) => new URL(entry.name).pathname.endsWith('.js') && entry.startTime >= since)
  .map((entry) => ({ url: entry.name, transferred: entry.transferSize }))
"""


def profile_from(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "viewport": "390x844, touch, device scale 3",
        "cpu_slowdown": args.cpu,
        "latency_ms": args.latency,
        "download_kbps": args.down,
        "upload_kbps": args.up,
    }


def bytes_per_second(kbps: float) -> float:
    """A rate in kbit/s as CDP takes it; 0 or less: not limited (-1)."""
    return kbps * 1000 / 8 if kbps > 0 else -1


def throttle(context: BrowserContext, page: Page, profile: dict[str, Any]) -> None:
    """Slow this page's CPU and network as ``profile`` says (kept across navigations)."""
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": profile["latency_ms"],
            "downloadThroughput": bytes_per_second(profile["download_kbps"]),
            "uploadThroughput": bytes_per_second(profile["upload_kbps"]),
        },
    )
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": profile["cpu_slowdown"]})


def new_page(
    browser: Browser, profile: dict[str, Any], storage: Any = None
) -> tuple[BrowserContext, Page]:
    context = browser.new_context(**PHONE, storage_state=storage)
    script = OBSERVER.replace("SEED", json.dumps(SEED_TEXT)).replace("TYPED", json.dumps(TYPED))
    context.add_init_script(script)
    page = context.new_page()
    problems: list[str] = []
    PROBLEMS[page] = problems
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on(
        "console",
        lambda message: (
            problems.append(f"console error: {message.text}") if message.type == "error" else None
        ),
    )
    throttle(context, page, profile)
    return context, page


def marks(page: Page) -> dict[str, Any]:
    found: dict[str, Any] = page.evaluate("() => ({ ...window.__rtSpeed })")
    return found


def wait_mark(page: Page, key: str) -> float:
    try:
        page.wait_for_function(
            f"() => window.__rtSpeed && typeof window.__rtSpeed.{key} === 'number'",
            timeout=TIMEOUT_MS,
            polling=50,
        )
    except PlaywrightTimeout:
        said = "\n".join(PROBLEMS.get(page, [])) or "no errors in the page"
        raise RuntimeError(f"{page.url}: no {key} mark within {TIMEOUT_MS} ms; {said}") from None
    value: float = marks(page)[key]
    return value


def scripts(page: Page, since: float = 0) -> list[dict[str, Any]]:
    """The JavaScript files this document asked for from ``since`` (its own ms) on."""
    found: list[dict[str, Any]] = page.evaluate(SCRIPTS, since)
    return found


def type_in_editor(page: Page) -> float:
    """Type into the editor; the milliseconds from the key press to the text in the page."""
    # A room opened in the join page's document saw the name's key presses.
    page.evaluate("() => { delete window.__rtSpeed.keydown; delete window.__rtSpeed.typed }")
    page.locator(".rt-prose").click()
    page.keyboard.press("Control+End")
    page.keyboard.type(TYPED)
    typed = wait_mark(page, "typed")
    return typed - float(marks(page)["keydown"])


def page_result(page: Page, ready: float) -> dict[str, Any]:
    found = marks(page)
    return {"ready_ms": ready, "fcp_ms": found.get("fcp"), "scripts": scripts(page)}


def after_join(page: Page, opened: float) -> dict[str, Any]:
    """The room page after Join, timed from the press of Join (the room may open in a new
    document or in the join page's own); the JavaScript fetched since then."""
    found = marks(page)
    pressed = float(page.evaluate("() => Number(sessionStorage.getItem('rtSpeedSubmit'))"))
    same_document = "nameReady" in found
    return {
        "ready_ms": found["editorReadyEpoch"] - pressed,
        "from_link_ms": found["editorReadyEpoch"] - opened,
        "same_document": same_document,
        # A room drawn in the join page's document has no paint of its own.
        "fcp_ms": None if same_document else found.get("fcp"),
        "scripts": scripts(page, pressed - found["origin"] if same_document else 0),
    }


def one_run(browser: Browser, base: str, room: dict[str, Any], profile: dict[str, Any]) -> Any:
    """The join page, the room page after it, then the room page cold."""
    result: dict[str, Any] = {}
    context, page = new_page(browser, profile)
    try:
        page.goto(f"{base}/join/{room['invites']['member']}", wait_until="commit")
        result["join"] = page_result(page, wait_mark(page, "nameReady"))
        opened = float(marks(page)["origin"])
        page.locator("input#name").press_sequentially(NAME, delay=KEY_DELAY_MS)
        page.locator("form button[type=submit]").click()
        page.wait_for_url("**/room/**", timeout=TIMEOUT_MS, wait_until="commit")
        wait_mark(page, "editorReady")
        result["room_after_join"] = after_join(page, opened)
        result["room_after_join"]["input_ms"] = type_in_editor(page)
        storage = context.storage_state()
        url = page.url
    finally:
        context.close()
    context, page = new_page(browser, profile, storage)
    try:
        page.goto(url, wait_until="commit")
        ready = wait_mark(page, "editorReady")
        result["room_cold"] = page_result(page, ready)
        result["room_cold"]["input_ms"] = type_in_editor(page)
    finally:
        context.close()
    return result


def post(url: str, body: dict[str, Any], token: str | None = None) -> Any:
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, json.dumps(body).encode(), headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def prepare_room(base: str, room: dict[str, Any]) -> None:
    """A document from a template, so that the editor has text to sync."""
    joined = post(f"{base}/api/join", {"invite": room["invites"]["facilitator"], "name": "Host"})
    post(
        f"{base}/api/rooms/{room['room']}/documents",
        {"name": DOCUMENT, "template": TEMPLATE},
        joined["token"],
    )


def sizes_of(url: str, cache: dict[str, tuple[int, int]]) -> tuple[int, int]:
    """The file at ``url``: its bytes, and what gzip -6 makes of them."""
    if url not in cache:
        request = urllib.request.Request(url, headers={"accept-encoding": "identity"})
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
        cache[url] = (len(body), len(gzip.compress(body, 6, mtime=0)))
    return cache[url]


def add_sizes(run: dict[str, Any], cache: dict[str, tuple[int, int]]) -> None:
    """Sum each page's JavaScript: transferred, uncompressed, and gzip -6 of each file."""
    for page in run.values():
        files = page["scripts"]
        page["js_files"] = len(files)
        page["js_transferred"] = sum(f["transferred"] for f in files)
        page["js_decoded"] = sum(sizes_of(f["url"], cache)[0] for f in files)
        page["js_gzip"] = sum(sizes_of(f["url"], cache)[1] for f in files)


@contextmanager
def server() -> Iterator[tuple[str, dict[str, Any]]]:
    """``roundtable serve`` on a free port with a fresh SQLite file; its URL and room."""
    with (
        tempfile.TemporaryDirectory(prefix="roundtable-speed-") as tmp,
        serving("roundtable", Path(tmp), core=None) as running,
    ):
        port = urlsplit(running.target["urls"][0]).port
        assert running.room is not None
        yield f"http://127.0.0.1:{port}", running.room


def git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
    return done.stdout.strip()


def chromium_version() -> str:
    done = subprocess.run([str(CHROMIUM), "--version"], capture_output=True, text=True, check=False)
    return done.stdout.strip()


PAGES = {
    "join": "join page",
    "room_after_join": "room page after Join",
    "room_cold": "room page, cold cache",
}
# Sizes of the files a page fetched: after Join, the few fetched after the press only.
PER_FILE = ("js_files", "js_decoded", "js_gzip")
# What "usable" means on each page.
READY = {
    "join": "name field usable",
    "room_after_join": "editor usable, from the press of Join",
    "room_cold": "editor usable",
}
METRICS = {
    "ready_ms": ("usable", "ms"),
    "from_link_ms": ("invite link opened to editor usable", "ms"),
    "fcp_ms": ("first contentful paint", "ms"),
    "input_ms": ("key press to character shown", "ms"),
    "js_files": ("JavaScript files", ""),
    "js_transferred": ("JavaScript transferred", "KB"),
    "js_decoded": ("JavaScript, uncompressed", "KB"),
    "js_gzip": ("JavaScript, gzip -6 of each file", "KB"),
}


def medians(runs: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    found: dict[str, dict[str, float]] = {}
    for page in PAGES:
        found[page] = {}
        for metric in METRICS:
            values = [run[page][metric] for run in runs if run[page].get(metric) is not None]
            if values:
                found[page][metric] = statistics.median(values)
    return found


def shown(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "KB":
        return f"{value / 1000:.1f}"
    return f"{value:.0f}"


def table(result: dict[str, Any], before: dict[str, Any] | None = None) -> str:
    """Medians as a Markdown table; with ``before``, its medians side by side."""
    header = "| page | metric | median |"
    rule = "|---|---|---:|"
    if before is not None:
        header = "| page | metric | before | after |"
        rule = "|---|---|---:|---:|"
    lines = [header, rule]
    for page, page_name in PAGES.items():
        for metric, (label, unit) in METRICS.items():
            value = result["medians"][page].get(metric)
            if value is None or (page == "room_after_join" and metric in PER_FILE):
                continue
            label = READY[page] if metric == "ready_ms" else label
            cells = [page_name, f"{label} ({unit})" if unit else label]
            if before is not None:
                cells.append(shown(before["medians"].get(page, {}).get(metric), unit))
            cells.append(shown(value, unit))
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def measure(runs: int, profile: dict[str, Any], quiet: bool) -> dict[str, Any]:
    done: list[dict[str, Any]] = []
    sizes: dict[str, tuple[int, int]] = {}
    with server() as (base, room), sync_playwright() as playwright:
        prepare_room(base, room)
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            for number in range(runs):
                run = one_run(browser, base, room, profile)
                add_sizes(run, sizes)
                done.append(run)
                if not quiet:
                    print(
                        f"run {number + 1}/{runs}: join {run['join']['ready_ms']:.0f} ms, "
                        f"room after join {run['room_after_join']['ready_ms']:.0f} ms, "
                        f"room cold {run['room_cold']['ready_ms']:.0f} ms",
                        flush=True,
                    )
        finally:
            browser.close()
    return {
        "commit": git("rev-parse", "--short", "HEAD"),
        "worktree_changes": bool(
            git("status", "--porcelain", "--", "static/dist", "static/app.html", "server")
        ),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": {"python": platform.python_version(), "chromium": chromium_version()},
        "profile": profile,
        "runs": done,
        "medians": medians(done),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="page loads of each kind (median)")
    parser.add_argument("--json", type=Path, help="write the profile, every run and the medians")
    parser.add_argument("--compare", type=Path, help="an earlier --json file to show beside")
    parser.add_argument("--cpu", type=float, default=4, help="CPU slowdown factor")
    parser.add_argument("--latency", type=float, default=150, help="added latency, ms")
    parser.add_argument("--down", type=float, default=1600, help="download, kbit/s (0: any)")
    parser.add_argument("--up", type=float, default=750, help="upload, kbit/s (0: any)")
    parser.add_argument("--quiet", action="store_true", help="no line per run")
    args = parser.parse_args(argv)
    result = measure(args.runs, profile_from(args), args.quiet)
    before = json.loads(args.compare.read_text()) if args.compare else None
    profile = result["profile"]
    print(
        f"\n{args.runs} runs, medians; CPU {profile['cpu_slowdown']:g}x slower, "
        f"{profile['latency_ms']:g} ms latency, {profile['download_kbps']:g} kbit/s down, "
        f"{profile['upload_kbps']:g} kbit/s up; commit {result['commit']}"
        + (" with uncommitted changes" if result["worktree_changes"] else "")
    )
    print(table(result, before))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
