"""When a process may be handed copies of edits that a stopped process never stored.

The write-behind writer stores an edit up to ``flush_interval`` after relaying it. A
process that stops without storing (killed, crashed) leaves the last edits only with
the clients that received them; when those clients reconnect, their answer to the
server's sync step 1 carries them, structs under other participants' client ids
among them. Outside such a window those structs are forgeries (see
:mod:`rooms.live.session`), so the window is opened only when it is needed: when this
process starts after one that did not stop cleanly, and when another process is
reported gone.
"""

from __future__ import annotations

import time


class Recovery:
    """An open-or-closed window, ``seconds`` long each time it is opened."""

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._until = 0.0

    def begin(self) -> None:
        self._until = max(self._until, time.monotonic() + self._seconds)

    @property
    def active(self) -> bool:
        return time.monotonic() < self._until
