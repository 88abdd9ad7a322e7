"""``GET /metrics`` in one process: off without a token, closed to any other token, and
counting what a session does (updates and bytes both ways, documents, connections,
flushes, an event socket's catch-up). The dashboard in ``docs/`` asks only for what it
exposes."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from rooms.roles import Role
from tests.support.harness import RunningServer, run_server
from tests.support.settings import fast_settings
from tests.support.threads_client import event_feed, events_url, join
from tests.support.timing import eventually
from tests.support.yclient import close_all, open_synced

TOKEN = "metrics-test-token-0123456789"
DASHBOARD = Path(__file__).resolve().parents[3] / "docs" / "grafana-dashboard.json"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
async def metered(sqlite_url: str) -> AsyncIterator[RunningServer]:
    async with run_server(fast_settings(sqlite_url, metrics_token=TOKEN)) as running:
        yield running


async def scrape(server: RunningServer, **headers: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.http) as client:
        return await client.get("/metrics", headers=headers)


async def samples(server: RunningServer) -> Samples:
    response = await scrape(server, authorization=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(found: Samples, name: str, **labels: str) -> float:
    return found[(name, frozenset(labels.items()))]


async def test_without_a_token_there_is_no_metrics_endpoint(server: RunningServer) -> None:
    assert server.settings.metrics_token is None
    answer = await scrape(server, authorization=f"Bearer {TOKEN}")
    unknown = await scrape(server)
    async with httpx.AsyncClient(base_url=server.http) as client:
        elsewhere = await client.get("/no-such-page")
    assert answer.status_code == 404
    # Told exactly what an unknown address is told.
    assert answer.json() == elsewhere.json() == unknown.json()
    assert answer.json()["error"]["code"] == "http_404"


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer wrong-token",
        f"Basic {TOKEN}",
        f"Bearer {TOKEN}x",
        TOKEN,
        # Not ASCII: compared as bytes, refused like any other.
        "Bearer \xe9".encode("latin-1"),
    ],
)
async def test_any_other_token_is_refused(
    metered: RunningServer, authorization: str | bytes | None
) -> None:
    raw = authorization.encode() if isinstance(authorization, str) else authorization
    headers = {} if raw is None else {b"authorization": raw}
    async with httpx.AsyncClient(base_url=metered.http) as client:
        answer = await client.get("/metrics", headers=headers)
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "unauthorized"
    assert answer.headers["www-authenticate"].startswith("Bearer")
    assert "roundtable_" not in answer.text


async def test_the_token_gets_the_text_exposition(metered: RunningServer) -> None:
    answer = await scrape(metered, authorization=f"Bearer {TOKEN}")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert answer.headers["cache-control"] == "no-store"
    names = {family.name for family in text_string_to_metric_families(answer.text)}
    assert {
        "roundtable_connections",
        "roundtable_documents_loaded",
        "roundtable_updates_received",
        "roundtable_flush_seconds",
        "roundtable_emails_queued",
    } <= names
    openmetrics = await scrape(
        metered,
        authorization=f"bearer {TOKEN}",
        accept="application/openmetrics-text; version=1.0.0",
    )
    assert openmetrics.headers["content-type"].startswith("application/openmetrics-text")
    assert openmetrics.text.endswith("# EOF\n")


async def test_the_metrics_are_not_in_the_public_api(metered: RunningServer) -> None:
    async with httpx.AsyncClient(base_url=metered.http) as client:
        schema = (await client.get("/api/openapi.json")).json()
    assert not any("metrics" in path for path in schema["paths"])


async def test_a_session_moves_the_counters(metered: RunningServer) -> None:
    room = await metered.create_room()
    url = f"{metered.sync_url(room.room.slug)}/guide"
    before = await samples(metered)
    ann = await open_synced(url, await metered.join(room, Role.MEMBER, "Ann"))
    bob = await open_synced(url, await metered.join(room, Role.MEMBER, "Bob"))
    try:
        opened = await samples(metered)
        assert value(opened, "roundtable_connections", socket="sync") == (
            value(before, "roundtable_connections", socket="sync") + 2
        )
        assert value(opened, "roundtable_documents_loaded") >= 1
        received = value(opened, "roundtable_updates_received_total")

        ann.insert(0, "hello metrics")
        await bob.wait_text("hello metrics")
        document = metered.live_document(room, "guide")

        # The flush (every 50 ms here) is timed once it has stored the edit.
        await eventually(lambda: document.writer.flushed_updates >= 1, 5, "the flush")
        after = await samples(metered)
        assert value(after, "roundtable_updates_received_total") >= received + 1
        grew = value(after, "roundtable_update_bytes_received_total") - value(
            opened, "roundtable_update_bytes_received_total"
        )
        assert grew >= len("hello metrics")
        # Bob got Ann's edit (Ann herself is not sent her own).
        assert value(after, "roundtable_updates_sent_total") >= (
            value(opened, "roundtable_updates_sent_total") + 1
        )
        sent = value(after, "roundtable_update_bytes_sent_total") - value(
            opened, "roundtable_update_bytes_sent_total"
        )
        assert sent >= len("hello metrics")
        assert value(after, "roundtable_flush_seconds_count") >= (
            value(before, "roundtable_flush_seconds_count") + 1
        )
    finally:
        await close_all(ann, bob)
    await eventually(lambda: not document.peers, 5, "the connections to end")
    closed = await samples(metered)
    assert value(closed, "roundtable_connections", socket="sync") == value(
        before, "roundtable_connections", socket="sync"
    )


async def test_an_event_socket_counts_and_its_catch_up_is_measured(
    metered: RunningServer,
) -> None:
    room = await metered.create_room()
    ann = await join(metered, room, Role.FACILITATOR, "Ann")
    await ann.ok("POST", "/documents", {"name": "notes"}, status=201)
    before = await samples(metered)
    async with event_feed(events_url(metered, ann, after=0)) as feed:
        missed = len(feed.events())
        assert missed >= 1
        during = await samples(metered)
    assert value(during, "roundtable_connections", socket="events") == (
        value(before, "roundtable_connections", socket="events") + 1
    )
    assert value(during, "roundtable_event_catch_up_events_count") == (
        value(before, "roundtable_event_catch_up_events_count") + 1
    )
    assert value(during, "roundtable_event_catch_up_events_sum") == (
        value(before, "roundtable_event_catch_up_events_sum") + missed
    )


# The dashboard


def _exprs(dashboard: dict[str, Any]) -> list[str]:
    found: list[str] = []
    panels = list(dashboard["panels"])
    while panels:
        panel = panels.pop()
        panels.extend(panel.get("panels", []))
        found.extend(target["expr"] for target in panel.get("targets", []))
    return found


async def test_the_dashboard_asks_only_for_exposed_metrics(metered: RunningServer) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    exprs = _exprs(dashboard)
    assert len(exprs) >= 10
    exposed = {name for name, _ in await samples(metered)}
    asked: set[str] = set()
    for expr in exprs:
        names = set(re.findall(r"\broundtable_\w+", expr))
        assert names, f"no roundtable metric in {expr!r}"
        assert names <= exposed, f"{expr!r} asks for {names - exposed}"
        asked |= names
    # Every metric family is on the dashboard.
    families = {re.sub(r"_(total|bucket|count|sum|created)$", "", name) for name in exposed}
    shown = {re.sub(r"_(total|bucket|count|sum|created)$", "", name) for name in asked}
    assert families - shown == set()
    panels = [p for p in dashboard["panels"] if p.get("type") != "row"]
    for panel in panels:
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
