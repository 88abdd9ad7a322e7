"""Test timeouts: one unit, scaled by ROUNDTABLE_TEST_TIMEOUT_SCALE on slow machines."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable

SCALE = float(os.environ.get("ROUNDTABLE_TEST_TIMEOUT_SCALE", "1"))


def timeout(seconds: float = 5.0) -> float:
    return seconds * SCALE


async def eventually(
    condition: Callable[[], bool], seconds: float = 5.0, what: str = "the condition"
) -> None:
    """Wait until ``condition()`` holds, re-checking every few milliseconds, or fail."""
    try:
        async with asyncio.timeout(timeout(seconds)):
            # Polling is the point here: the condition has no event to wait on.
            while not condition():  # noqa: ASYNC110
                await asyncio.sleep(0.005)
    except TimeoutError:
        raise AssertionError(
            f"timed out after {timeout(seconds):.1f}s waiting for {what}"
        ) from None
