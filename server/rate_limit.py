"""How often a key (a client address, an invite code) may act: sliding one-minute windows.

:class:`SlidingWindow` counts one kind of action per key; :class:`JoinLimits` puts two
of them in front of ``POST /api/join``. Both take the time as an argument where it
matters, so tests drive the clock.

Counts live in the memory of one process: with several processes (``--workers``, or
several hosts) each counts the requests it serves, so a client whose requests are spread
over N processes may act up to N times a limit before every one of them refuses.
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass

WINDOW_SECONDS = 60.0
# Keys remembered at most; the key seen least recently is forgotten first.
MAX_KEYS = 100_000


class SlidingWindow:
    """At most ``limit`` actions per key in any ``window`` seconds; 0 means no limit.

    A refused action is not counted (it does not push the window on), but it makes its
    key the most recently seen one, the last to be forgotten.
    """

    def __init__(self, limit: int, window: float = WINDOW_SECONDS, max_keys: int = MAX_KEYS):
        self.limit = limit
        self._window = window
        self._max_keys = max_keys
        self._times: dict[str, deque[float]] = {}

    def wait(self, key: str, now: float | None = None) -> float:
        """Seconds until ``key`` may act again: 0 when it may act now. Counts nothing."""
        if self.limit <= 0:
            return 0.0
        now = time.monotonic() if now is None else now
        recent = self._times.get(key)
        if recent is None:
            return 0.0
        self._expire(recent, now)
        if len(recent) < self.limit:
            return 0.0
        # The window frees a place when the oldest counted action leaves it.
        return recent[0] + self._window - now

    def hit(self, key: str, now: float | None = None) -> bool:
        """Count one action of ``key`` if the limit allows it; False, counting nothing,
        if not."""
        if self.limit <= 0:
            return True
        now = time.monotonic() if now is None else now
        recent = self._times.pop(key, None) or deque()
        self._expire(recent, now)
        allowed = len(recent) < self.limit
        if allowed:
            recent.append(now)
        if recent:
            # Re-inserted last: the dict stays in order of last action.
            self._times[key] = recent
            if len(self._times) > self._max_keys:
                del self._times[next(iter(self._times))]
        return allowed

    def _expire(self, recent: deque[float], now: float) -> None:
        while recent and recent[0] <= now - self._window:
            recent.popleft()


@dataclass(frozen=True, slots=True)
class Refusal:
    """A refused join: whole seconds to wait, and what to tell the client."""

    retry_after: int
    message: str


class JoinLimits:
    """Joins per invite code and per client address, each over a sliding minute.

    Every join attempt that passes is counted against both, whatever happens to it next
    (an unknown invite, an invalid name): so guessing invite codes is limited too.
    """

    # Longer strings are no invite code (codes are at most 64 characters): they are not
    # counted per invite, so a flood of huge junk codes cannot fill memory. The address
    # limit still counts them.
    MAX_CODE_LENGTH = 64

    def __init__(self, per_invite: int, per_address: int, max_keys: int = MAX_KEYS) -> None:
        self.per_invite = SlidingWindow(per_invite, max_keys=max_keys)
        self.per_address = SlidingWindow(per_address, max_keys=max_keys)

    def admit(self, invite: object, address: str, now: float | None = None) -> Refusal | None:
        """Count one join attempt, or say why it is refused (counting nothing)."""
        now = time.monotonic() if now is None else now
        code = (
            invite if isinstance(invite, str) and 0 < len(invite) <= self.MAX_CODE_LENGTH else None
        )
        address_wait = self.per_address.wait(address, now)
        invite_wait = 0.0 if code is None else self.per_invite.wait(code, now)
        if address_wait > 0 or invite_wait > 0:
            if address_wait >= invite_wait:
                limit, what = self.per_address.limit, "from this address"
            else:
                limit, what = self.per_invite.limit, "with this invite"
            return Refusal(
                retry_after=max(1, math.ceil(max(address_wait, invite_wait))),
                message=f"more than {limit} joins {what} in a minute: try again shortly",
            )
        self.per_address.hit(address, now)
        if code is not None:
            self.per_invite.hit(code, now)
        return None
