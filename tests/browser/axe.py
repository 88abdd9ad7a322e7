"""axe-core, the accessibility engine, run inside a page of the browser tests.

The page's Content-Security-Policy allows no injected <script>, so the engine's source
(``static/node_modules/axe-core``, locked in static/package-lock.json) is evaluated
through the DevTools protocol, which the policy does not govern.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from playwright.async_api import Page

AXE = Path(__file__).resolve().parents[2] / "static" / "node_modules" / "axe-core" / "axe.min.js"

# What the run checks: WCAG 2.0, 2.1 and 2.2 A and AA, and axe's best practices.
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
SERIOUS = {"serious", "critical"}


@cache
def axe_source() -> str:
    if not AXE.is_file():
        raise FileNotFoundError(f"{AXE} is missing: run npm ci in static/")
    return AXE.read_text()


@dataclass(frozen=True)
class Violation:
    rule: str
    impact: str
    help: str
    targets: list[str]

    def __str__(self) -> str:
        shown = ", ".join(self.targets[:5]) + (" …" if len(self.targets) > 5 else "")
        return f"{self.impact} {self.rule}: {self.help} [{shown}]"


async def axe_violations(page: Page, *, impacts: set[str] = SERIOUS) -> list[Violation]:
    """Run axe on the whole page as it is now; the violations of the given impacts."""
    if not await page.evaluate("() => typeof window.axe === 'object'"):
        await page.evaluate(axe_source())
    result: dict[str, Any] = await page.evaluate(
        "(tags) => axe.run(document, { runOnly: { type: 'tag', values: tags },"
        " resultTypes: ['violations'] })",
        TAGS,
    )
    return [
        Violation(
            rule=v["id"],
            impact=v["impact"] or "unknown",
            help=v["help"],
            targets=[" ".join(map(str, node["target"])) for node in v["nodes"]],
        )
        for v in result["violations"]
        if (v["impact"] or "unknown") in impacts
    ]
