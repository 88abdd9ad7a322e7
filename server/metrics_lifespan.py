"""The metrics around the application's lifespan, loaded only when they are wanted.

A server without a metrics token never imports prometheus-client (nor the module
that defines the metrics): it has no use for them, and they cost a process memory.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING

from starlette.applications import Starlette

from server.state import AppState

if TYPE_CHECKING:
    from server.metrics import ProcessMetrics

Lifespan = Callable[[Starlette], AbstractAsyncContextManager[None]]


def measured(lifespan: Lifespan) -> Lifespan:
    """``lifespan`` with this process's metrics, when a metrics token is set: they start
    once the state is open and have the last word after everything is stored."""

    @contextlib.asynccontextmanager
    async def with_metrics(app: Starlette) -> AsyncIterator[None]:
        metrics: ProcessMetrics | None = None
        app.state.metrics = None
        try:
            async with lifespan(app):
                state: AppState = app.state.roundtable
                if state.settings.metrics_token:
                    from server.metrics import ProcessMetrics, shared_directory

                    metrics = ProcessMetrics(state, shared_directory())
                    metrics.start()
                    app.state.metrics = metrics
                yield
        finally:
            if metrics is not None:
                await metrics.close()

    return with_metrics
