"""A short smoke run of the benchmark load generator against every server it compares.

The benchmarks themselves are not tests (`make bench` runs them); this checks that the
load generator speaks each server's protocol, that every edit it counts really arrives
and that its convergence check sees equal copies, so the suite keeps working.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from bench import report
from bench.compare import QUICK
from bench.servers import NODE_DIR, SERVERS, run_loadgen, serving
from tests.support.services import service_missing

pytestmark = pytest.mark.node

SMALL_TRACE = "synthetic:3000:7"


@pytest.fixture(autouse=True)
def node_packages() -> None:
    if not (NODE_DIR / "node_modules" / "@hocuspocus" / "server").is_dir():
        service_missing("bench/node's npm packages are not installed (npm ci in bench/node)")


def run(server: str, workdir: Path, spec: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    with serving(server, workdir, core=None, **kwargs) as running:
        return run_loadgen(running, spec, core=None, quiet=True)


def assert_complete(result: dict[str, Any]) -> None:
    assert result["errors"] == []
    assert result["closed_early"] == 0
    assert result["delivered"] == result["expected"] > 0
    assert result["converged"]
    crossing = (result.get("crossing_latency_ms") or {}).get("count", 0)
    assert result["latency_ms"]["count"] + crossing == result["delivered"]


@pytest.mark.parametrize("server", SERVERS)
async def test_fanout_hotroom_and_rooms_deliver_everything(server: str, tmp_path: Path) -> None:
    fanout = await asyncio.to_thread(
        run, server, tmp_path / "f", {"workload": "fanout", **QUICK["fanout"], "rates": [40]}
    )
    assert len(fanout["steps"]) == 1
    assert_complete(fanout["steps"][0])
    assert fanout["steps"][0]["expected"] == 40 * QUICK["fanout"]["readers"]

    hotroom = await asyncio.to_thread(
        run, server, tmp_path / "h", {"workload": "hotroom", **QUICK["hotroom"]}
    )
    assert_complete(hotroom)
    assert hotroom["awareness_sent"] > 0
    # Two writers' edits reach the other writer and the three readers.
    assert hotroom["expected"] == hotroom["edits"] * 4

    rooms = await asyncio.to_thread(
        run, server, tmp_path / "r", {"workload": "rooms", **QUICK["rooms"]}
    )
    assert_complete(rooms)
    assert rooms["rss_after_idle_mb"] > 0


@pytest.mark.parametrize("server", SERVERS)
async def test_coldjoin_receives_the_whole_trace(server: str, tmp_path: Path) -> None:
    spec = {"workload": "coldjoin", **QUICK["coldjoin"], "trace": SMALL_TRACE}
    result = await asyncio.to_thread(run, server, tmp_path, spec)
    assert result["uploaded"]
    assert result["operations"] == 3000
    assert result["correct"]
    assert result["join_ms"]["count"] == QUICK["coldjoin"]["joiners"]


@pytest.mark.redis
@pytest.mark.parametrize("server", ["roundtable", "hocuspocus"])
async def test_crossworker_splits_clients_over_two_processes(
    server: str, tmp_path: Path, redis_url: str
) -> None:
    spec = {"workload": "crossworker", **QUICK["crossworker"]}
    result = await asyncio.to_thread(run, server, tmp_path, spec, processes=2, redis_url=redis_url)
    assert_complete(result)
    assert result["crossing_latency_ms"]["count"] > 0


async def test_a_loadgen_failure_is_reported(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="load generator failed"):
        await asyncio.to_thread(run, "y-websocket", tmp_path, {"workload": "no-such-workload"})


def test_report_checks_targets_against_the_reference() -> None:
    step = {
        "offered_rate": 50,
        "delivery": 1,
        "latency_ms": {"p50": 1.0, "p99": 4.0, "max": 9.0},
        "server_cpu_s": 0.5,
        "generator_cpu_s": 0.7,
        "converged": True,
    }
    run_ = {
        "machine": {"date": "d", "cpu": "c", "kernel": "k", "python": "p", "node": "n"},
        "quick": False,
        "results": {
            "fanout": {
                "roundtable": {"knee": 300, "steps": [step]},
                "y-websocket": {
                    "knee": 400,
                    "steps": [{**step, "latency_ms": {"p50": 1.0, "p99": 5.0, "max": 9.0}}],
                },
            },
            "steady": {
                "roundtable": {"runs": [step, step, step]},
                "y-websocket": {"runs": [{**step, "latency_ms": {"p50": 1, "p99": 5.0, "max": 9}}]},
            },
            "crossworker": {
                "roundtable": {
                    "converged": True,
                    "latency_ms": {"p50": 1.0},
                    "crossing_latency_ms": {"p50": 1.4},
                },
            },
        },
    }
    verdicts = {what.split(" ")[0]: met for what, _, met in report.targets(run_)}
    assert verdicts["fanout"] is False  # 300 < 1.5 x 400
    assert verdicts["p99"] is True  # 4 ms <= 5 ms
    assert verdicts["RSS"] is None  # not measured in this run
    assert verdicts["crossing"] is True  # 0.4 ms added
    assert "**missed**" in report.figures(run_)
