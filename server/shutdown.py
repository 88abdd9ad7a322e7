"""Stopping a process without a stampede: on SIGTERM, drain, then close the sockets
spread out over a few seconds, then the normal shutdown.

The steps, in order:

1. **Drain.** ``/ready`` answers 503 ``draining`` (:mod:`server.readiness`) for
   ``drain_seconds`` while everything keeps working, so that a load balancer stops
   sending this process new connections.
2. **Close the sockets.** Every open sync and event socket (each registered here with
   :meth:`Shutdown.register` while it is open) is closed with 1012 (service restart),
   one after the other at even intervals over ``close_spread_seconds``: their clients
   reconnect, to another process, a few at a time rather than all in the same instant.
3. **Stop.** uvicorn is told to exit: it stops listening, closes what is left, and runs
   the application's shutdown, which stores every update before the process exits.

A second SIGTERM or SIGINT during the first two steps skips what is left of the waits.
A SIGINT first (Ctrl+C at a terminal) goes to uvicorn as it is: no drain.

uvicorn installs its own handlers for both signals (``Server.capture_signals``) before
the application starts; :func:`install_signal_handlers`, called from the lifespan's
start, puts these in their place and hands over to uvicorn's when the drain is done.
With ``--workers N`` the supervisor forwards SIGTERM to each worker, and each drains on
its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType

import uvicorn

log = logging.getLogger("roundtable.shutdown")

# The close frame's reason; y-websocket and the web client reconnect on 1012.
RESTARTING = "server restarting"

Closer = Callable[[], None]


class Shutdown:
    """The sockets open in this process, and the drain that closes them on SIGTERM."""

    def __init__(self, drain_seconds: float, spread_seconds: float) -> None:
        self.drain_seconds = drain_seconds
        self.spread_seconds = spread_seconds
        self._sockets: dict[int, Closer] = {}
        self._numbers = itertools.count()
        self._hurry = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.draining = False

    @property
    def open_sockets(self) -> int:
        return len(self._sockets)

    def register(self, close: Closer) -> Closer:
        """Keep ``close`` (which must return at once and end the socket with 1012) until
        the returned function is called, when the socket has ended."""
        number = next(self._numbers)
        self._sockets[number] = close

        def unregister() -> None:
            self._sockets.pop(number, None)

        return unregister

    def begin(self, stop: Callable[[], None]) -> None:
        """Start draining (once); ``stop`` is called when the sockets are closed."""
        if self._task is None:
            self.draining = True
            self._task = asyncio.get_running_loop().create_task(self._drain(stop))

    def hurry(self) -> None:
        """Skip what is left of the drain period and of the spread."""
        if not self._hurry.is_set():
            log.info("closing the remaining %d socket(s) now", len(self._sockets))
        self._hurry.set()

    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _drain(self, stop: Callable[[], None]) -> None:
        log.info(
            "draining: not ready for %.1f s, then closing %d socket(s) over %.1f s",
            self.drain_seconds,
            len(self._sockets),
            self.spread_seconds,
        )
        await self._wait(self.drain_seconds)
        await self.close_sockets()
        log.info("sockets closed; shutting down")
        stop()

    async def close_sockets(self) -> None:
        """Close every registered socket, at even intervals over the spread."""
        sockets = list(self._sockets.items())
        if sockets:
            interval = self.spread_seconds / len(sockets)
            for index, (number, close) in enumerate(sockets):
                if index:
                    await self._wait(interval)
                # It may have ended on its own meanwhile.
                if self._sockets.pop(number, None) is not None:
                    _close(close)
        # Those opened during the spread.
        for number in list(self._sockets):
            _close(self._sockets.pop(number))

    async def _wait(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._hurry.wait(), seconds)


def _close(close: Closer) -> None:
    try:
        close()
    except Exception:
        log.exception("could not close a socket")


def install_signal_handlers(shutdown: Shutdown) -> Callable[[], None]:
    """Take over SIGTERM and SIGINT from uvicorn (see the module's docstring); returns
    what gives them back. Does nothing outside the main thread, or when no handler of
    uvicorn's is there to hand over to."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    uvicorn_term = signal.getsignal(signal.SIGTERM)
    uvicorn_int = signal.getsignal(signal.SIGINT)
    if not callable(uvicorn_term) or not callable(uvicorn_int):
        return lambda: None
    loop = asyncio.get_running_loop()

    def restore() -> None:
        if signal.getsignal(signal.SIGTERM) is on_signal:
            signal.signal(signal.SIGTERM, uvicorn_term)
        if signal.getsignal(signal.SIGINT) is on_signal:
            signal.signal(signal.SIGINT, uvicorn_int)

    def stop() -> None:
        restore()
        server = getattr(uvicorn_term, "__self__", None)
        if isinstance(server, uvicorn.Server):
            # What its handler does, without noting the signal to raise again once the
            # server is done: the process handled SIGTERM in full, and exits with 0.
            server.should_exit = True
        else:
            uvicorn_term(signal.SIGTERM, None)

    began = False

    # A signal handler only schedules work on the loop: it may interrupt anything,
    # the logging module's locks included.
    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal began
        if began:
            loop.call_soon_threadsafe(shutdown.hurry)
        elif signum == signal.SIGTERM:
            began = True
            loop.call_soon_threadsafe(shutdown.begin, stop)
        else:
            restore()
            uvicorn_int(signum, frame)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return restore
