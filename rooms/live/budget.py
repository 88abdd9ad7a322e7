"""How fast one connection may ask for things: a token bucket."""

from __future__ import annotations

import time


class MessageBudget:
    """A token bucket: ``rate`` messages a second on average, ``burst`` at once."""

    def __init__(self, rate: float, burst: int) -> None:
        self._rate = rate
        self._burst = float(max(burst, 1))
        self._tokens = self._burst
        self._at = time.monotonic()

    def spend(self, now: float | None = None, cost: float = 1) -> bool:
        if self._rate <= 0:
            return True
        now = time.monotonic() if now is None else now
        self._tokens = min(self._burst, self._tokens + (now - self._at) * self._rate)
        self._at = now
        if self._tokens < cost:
            return False
        self._tokens -= cost
        return True
