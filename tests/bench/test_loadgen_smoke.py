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
from bench.compare import QUICK, scaling
from bench.servers import MULTI_PROCESS, NODE_DIR, SERVERS, run_loadgen, serving
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
    # Measured once the server listens, before the load generator's first request.
    [start_rss] = fanout["server_start_rss_mb"]
    assert start_rss > 0

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


@pytest.mark.parametrize("server", SERVERS)
async def test_connections_are_all_held_and_the_active_ones_delivered(
    server: str, tmp_path: Path
) -> None:
    spec = {"workload": "connections", **QUICK["connections"]}
    result = await asyncio.to_thread(run, server, tmp_path, spec)
    assert_complete(result)
    total = QUICK["connections"]["docs"] * QUICK["connections"]["clientsPerDoc"]
    assert result["connections"] == result["connections_held_at_end"] == total
    # One writer per document; every edit reaches the others in its document.
    assert result["active"] == QUICK["connections"]["docs"]
    assert result["expected"] == result["edits"] * (QUICK["connections"]["clientsPerDoc"] - 1)
    assert result["rss_per_connection_kb"] is not None


@pytest.mark.redis
async def test_scaling_spreads_readers_over_the_processes(redis_url: str) -> None:
    # Two processes only (one is every other workload); one rate in the sweep and a
    # second one reported after it, as the overload rates are.
    spec = {**QUICK["scaling"], "processes": [2], "rates": [20], "alwaysRates": [20, 40]}
    result = await asyncio.to_thread(
        scaling, "roundtable", spec, redis_url, True, cores=None, generator_core=None
    )
    sweep = result["by_processes"]["2"]
    assert sweep["processes"] == 2
    assert [step["offered_rate"] for step in sweep["steps"]] == [20, 40]
    assert [step.get("beyond_sweep", False) for step in sweep["steps"]] == [False, True]
    for step in sweep["steps"]:
        assert_complete(step)
        assert len(step["server_cpu_by_process_s"]) == 2
        # Reader i is on process i mod 2: the writer (0) and readers 2 and 4 on the first.
        assert step["delivered_by_process"] == [2 * step["edits"], 2 * step["edits"]]


@pytest.mark.redis
@pytest.mark.parametrize("server", MULTI_PROCESS)
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


def fanout_step(rate: int, p99: float, cpu: float, **extra: Any) -> dict[str, Any]:
    return {
        "offered_rate": rate,
        "seconds": 5,
        "edits": rate * 5,
        "delivered": rate * 5 * 50,
        "delivery": 1,
        "latency_ms": {"p50": 1.0, "p99": p99, "max": 2 * p99},
        "server_cpu_s": cpu,
        "generator_cpu_s": 0.7,
        "server_peak_rss_mb": 90.0,
        "converged": True,
        **extra,
    }


def scaling_sweep(processes: int, cpu: list[float], delivered: list[int]) -> dict[str, Any]:
    step = {
        **fanout_step(100, 9.0, sum(cpu)),
        "readers": 200,
        "edits": 500,
        "delivered": sum(delivered),
        "server_cpu_by_process_s": cpu,
        "delivered_by_process": delivered,
    }
    return {"knee": 100, "processes": processes, "steps": [step]}


def a_run() -> dict[str, Any]:
    """A run whose figures put each target on a known side of its line."""
    ours = [fanout_step(1000, 8.0, 1.7), fanout_step(3000, 80.0, 4.0, delivery=0.9)]
    reference = [fanout_step(1000, 8.5, 2.0), fanout_step(2000, 60.0, 4.0)]
    join = {"joiners": 20, "final_length": 100000}
    stored = {"log_rows": 0, "log_bytes": 0, "snapshot_bytes": 2000}
    return {
        "machine": {"date": "d", "cpu": "c", "kernel": "k", "python": "p", "node": "n"},
        "quick": False,
        "specs": {"rooms": {"docs": 100, "clientsPerDoc": 5, "idle": 2000}},
        "results": {
            "fanout": {
                "roundtable": {"knee": 2000, "steps": ours, "server_start_rss_mb": [69.0]},
                "y-websocket": {"knee": 1500, "steps": reference},
                "pycrdt-websocket": {"knee": 250, "steps": [fanout_step(250, 30.0, 4.9)]},
            },
            "coldjoin": {
                "roundtable": {
                    **join,
                    "join_ms": {"p99": 30.0},
                    "trace": "synthetic:3000:7",
                    "full_state_bytes": 2000,
                    "from_storage": {
                        "first_join": {"p50": 60.0, "p99": 65.0},
                        "first_join_as_stored": {"p50": 40.0, "p99": 45.0},
                        "stored_before_compaction": stored,
                        "stored_after_compaction": stored,
                        "stored_as_compacted": stored,
                    },
                    "server_start_rss_mb": [71.0],
                },
                "y-websocket": {**join, "join_ms": {"p99": 44.0}},
                "hocuspocus": {**join, "join_ms": {"p99": 41.0}},
                "pycrdt-websocket": {**join, "join_ms": {"p99": 90.0}},
            },
            "rooms": {
                "roundtable": {"rss_per_idle_kb": 12.0, "server_start_rss_mb": [70.0]},
                "y-websocket": {"rss_per_idle_kb": 12.9},
            },
            "connections": {"roundtable": {"connections": 10000, "connections_held_at_end": 9999}},
            "scaling": {
                "roundtable": {
                    "readers": 200,
                    "by_processes": {
                        # 1 s of the writer's process per edit at 200 readers, 0.6 s at 100:
                        # 4 ms per delivery and 0.2 s fixed; the other process 0.5 s.
                        "1": scaling_sweep(1, [500.0], [500 * 200]),
                        "2": scaling_sweep(2, [300.0, 250.0], [500 * 100, 500 * 100]),
                    },
                }
            },
        },
    }


def test_report_checks_each_target_of_the_issue() -> None:
    verdicts = [met for _, _, met in report.targets(a_run())]
    assert verdicts == [
        True,  # p99 at 1,000/s: 8.0 <= 8.5 ms
        False,  # CPU at 1,000/s: 1.7 > 0.8 x 2.0 s
        False,  # knee: 2000 < 1.5 x 1500
        False,  # join: 30 > 0.5 x 41 ms (Hocuspocus, the best peer)
        False,  # from storage, as compaction leaves it: 45 > 41 ms
        True,  # RSS per idle connection: 12.0 <= 12.9 KB
        True,  # start RSS: the median of 69, 70 and 71 MB
        False,  # connections: 9,999 held
    ]
    measured = {what.split(":")[0]: got for what, got, _ in report.targets(a_run())}
    assert (
        measured[
            "joining from storage after a restart no slower than the best peer's in-memory join"
        ]
        == "45 ms (from the log not compacted: 65 ms) vs 41 ms (Hocuspocus)"
    )


def test_report_prints_the_issues_rows_for_every_server() -> None:
    rows = {row[0]: row[1:] for row in report.issue_rows(a_run())}
    assert rows["knee (p99 under 50 ms, everything delivered; steps of 250)"] == [
        "2,000",
        "1,500",
        "n/a",
        "250",
    ]
    assert rows["fanout, 50 readers x 1000 edits/s: server CPU-s / p99"][:2] == [
        "1.7 / 8 ms",
        "2 / 8.5 ms",
    ]
    overload = rows["fanout at 3000 edits/s: delivered, p50, peak RSS"]
    assert overload[:2] == ["0.9 delivered, p50 1 ms, 90 MB", "not run"]
    assert rows["20 clients join a loaded 100,000-character document at once: p99"] == [
        "30 ms",
        "44 ms",
        "41 ms",
        "90 ms",
    ]
    assert rows["process RSS at start of a run"][0] == "70 MB"


def test_report_extrapolates_scaling_from_one_and_two_processes() -> None:
    model = report.scaling_model(a_run()["results"]["scaling"]["roundtable"])
    assert model is not None
    assert model["per_delivery_us"] == pytest.approx(4000)
    assert model["fixed_writer_us"] == pytest.approx(200000)
    assert model["fixed_other_us"] == pytest.approx(100000)
    # 8 processes of 25 readers: the writer's is the slowest at 0.2 + 25 x 0.004 = 0.3 s.
    assert model["edits_per_s"] == 3
    assert model["delivered_per_s"] == round(200 / 0.3)
    assert model["kind"] == "linear"
    figures = report.figures(a_run())
    assert "Extrapolated, not measured" in figures
    assert "| pycrdt-websocket |" in figures


@pytest.mark.parametrize(
    "cpu",
    [
        # The writer's process costs more with fewer readers: no positive cost per reader.
        [600.0, 250.0],
        # A positive cost per reader, but the other process would then cost less than
        # nothing per edit.
        [300.0, 10.0],
    ],
)
def test_report_falls_back_to_a_proportional_model_when_the_fit_is_not_positive(
    cpu: list[float],
) -> None:
    result = a_run()["results"]["scaling"]["roundtable"]
    result["by_processes"]["2"] = scaling_sweep(2, cpu, [500 * 100, 500 * 100])
    model = report.scaling_model(result)
    assert model is not None
    assert model["kind"] == "proportional"
    # The busiest process's CPU per message (50,000 each), and nothing per edit.
    per_delivery = max(cpu) / 50000
    assert model["per_delivery_us"] == pytest.approx(per_delivery * 1e6)
    assert model["fixed_writer_us"] == 0
    assert model["delivered_per_s"] == round(200 / (per_delivery * 25))
