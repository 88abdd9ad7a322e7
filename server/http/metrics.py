"""``GET /metrics``: the Prometheus metrics of every server process, for the operator.

Off (404, as for any unknown address) unless ``ROUNDTABLE_METRICS_TOKEN`` is set; then
it answers only a request that carries that token as a Bearer token (401 otherwise).
Not part of the public API: it is not in the OpenAPI document.
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from server.http.common import app_state, error

if TYPE_CHECKING:
    from server.metrics import ProcessMetrics


async def metrics(request: Request) -> Response:
    token = app_state(request).settings.metrics_token
    exporter: ProcessMetrics | None = getattr(request.app.state, "metrics", None)
    if not token or exporter is None:
        return error(404, "http_404", "Not Found")
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    # Compared in constant time, as bytes (a str comparison takes ASCII only).
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode(), token.encode()
    ):
        response = error(401, "unauthorized", "send the metrics token as a Bearer token")
        response.headers["www-authenticate"] = 'Bearer realm="metrics"'
        return response
    body, content_type = exporter.exposition(request.headers.get("accept"))
    return Response(body, headers={"content-type": content_type, "cache-control": "no-store"})
