"""Run every workload against Roundtable and the peer servers, side by side, in one run.

Each server runs pinned to core 0 and the load generator (`bench/node/loadgen.mjs`) to
core 1 (in scaling, process k of N runs on core k mod 2); every workload gets freshly
started servers. Prints a table with Roundtable's ratio to each peer and writes
`docs/benchmarks.md`, a plot of p99 latency against the offered rate, and the raw
results as JSON.

    make bench                      # the full run (about 45 minutes)
    .venv/bin/python -m bench.compare --quick --no-write   # a short run, nothing written
"""

from __future__ import annotations

import argparse
import json
import platform
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import report
from bench.servers import (
    MULTI_PROCESS,
    ROOT,
    SERVERS,
    Cores,
    raise_open_file_limit,
    run_loadgen,
    serving,
)

# The automerge-paper trace (259,778 edits) when its file is in place; otherwise a
# synthetic trace of the same length (see bench/node/trace.mjs and docs/benchmarks.md).
PAPER_TRACE = ROOT / "bench" / "traces" / "automerge-paper.json.gz"
SYNTHETIC_TRACE = "synthetic:259778:1"
# Below 250 edits/s the low rates; from there steps of 250, the unit of the knee.
FANOUT_RATES = [25, 50, 100, 200, *range(250, 4001, 250)]
# Reported for every server even where its sweep stopped before them (overload).
OVERLOAD_RATES = [2000, 3000]
SCALING_RATES = list(range(50, 2001, 50))
# The generator holds 10,000 clients with their documents: more heap than Node's default.
CONNECTIONS_NODE = ["--max-old-space-size=4096"]

FULL: dict[str, dict[str, Any]] = {
    "fanout": {
        "readers": 50,
        "rates": FANOUT_RATES,
        "seconds": 5,
        "attempts": 2,
        "alwaysRates": OVERLOAD_RATES,
    },
    "steady": {"readers": 50, "rates": [50], "seconds": 10, "repeats": 3},
    "hotroom": {"writers": 5, "readers": 45, "ratePerWriter": 10, "seconds": 10},
    "rooms": {"docs": 100, "clientsPerDoc": 5, "ratePerDoc": 1, "seconds": 10, "idle": 2000},
    "coldjoin": {"joiners": 20, "rounds": 5, "chunks": 1000},
    "crossworker": {"writers": 5, "readers": 45, "ratePerWriter": 10, "seconds": 10},
    "scaling": {"readers": 200, "rates": SCALING_RATES, "seconds": 5, "processes": [1, 2]},
    "connections": {
        "docs": 100,
        "clientsPerDoc": 100,
        "ratePerActive": 1,
        "seconds": 10,
        "joinBudgetMs": 300000,
    },
}
QUICK: dict[str, dict[str, Any]] = {
    "fanout": {"readers": 5, "rates": [20, 100], "seconds": 1},
    "steady": {"readers": 5, "rates": [50], "seconds": 1, "repeats": 2},
    "hotroom": {"writers": 2, "readers": 3, "ratePerWriter": 10, "seconds": 1},
    "rooms": {
        "docs": 3,
        "clientsPerDoc": 3,
        "ratePerDoc": 5,
        "seconds": 1,
        "idle": 20,
        "settleMs": 200,
    },
    "coldjoin": {"joiners": 3, "rounds": 1, "chunks": 100},
    "crossworker": {"writers": 2, "readers": 3, "ratePerWriter": 10, "seconds": 1},
    "scaling": {"readers": 4, "rates": [20, 40], "seconds": 1, "processes": [1, 2]},
    "connections": {
        "docs": 2,
        "clientsPerDoc": 10,
        "ratePerActive": 5,
        "seconds": 1,
        "settleMs": 200,
    },
}
WORKLOADS = tuple(FULL)


def sqlite_sizes(database: Path, document: str) -> dict[str, int]:
    """Bytes of one document's stored log and snapshot, and its number of log rows."""
    with sqlite3.connect(database) as connection:
        log_bytes, rows = connection.execute(
            "SELECT COALESCE(SUM(LENGTH(u.data)), 0), COUNT(u.id) FROM document_updates u"
            " JOIN documents d ON d.id = u.document_id WHERE d.name = ?",
            (document,),
        ).fetchone()
        (snapshot_bytes,) = connection.execute(
            "SELECT COALESCE(LENGTH(snapshot), 0) FROM documents WHERE name = ?", (document,)
        ).fetchone()
    return {"log_bytes": log_bytes, "log_rows": rows, "snapshot_bytes": snapshot_bytes}


def wait_for(check: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return check()


def stored_join(workdir: Path, spec: dict[str, Any], quiet: bool) -> dict[str, Any]:
    """Roundtable only: joins of the trace document loaded from storage, and its size.

    Twice: uploaded with compaction held off, so the log is all that the edits left
    (1000 rows: the worst case, as after a crash of a process that could not compact),
    which a restarted server loads for the first joiners and then compacts; and uploaded
    as the server stores a document in use, compacted every ``compact_threshold`` rows,
    so that a restart finds a snapshot and what came after the last compaction.
    """
    hold_off = {"ROUNDTABLE_COMPACT_THRESHOLD": "1000000000"}
    upload = {**spec, "workload": "coldjoin", "rounds": 0, "keepHolder": False}
    with serving("roundtable", workdir, env=hold_off) as running:
        room = running.room
        uploaded = run_loadgen(running, {**upload, "document": "stored"}, quiet=quiet)
    database = workdir / "roundtable.db"
    before = sqlite_sizes(database, "stored")
    join = {**spec, "workload": "coldjoin", "upload": False, "document": "stored", "rounds": 1}
    with serving("roundtable", workdir, room=room) as running:
        first = run_loadgen(running, join, quiet=quiet)
        compacted = wait_for(lambda: sqlite_sizes(database, "stored")["log_rows"] == 0, 60)
    after = sqlite_sizes(database, "stored")
    with serving("roundtable", workdir, room=room) as running:
        run_loadgen(running, {**upload, "document": "kept"}, quiet=quiet)
    kept = sqlite_sizes(database, "kept")
    with serving("roundtable", workdir, room=room) as running:
        kept_join = run_loadgen(running, {**join, "document": "kept"}, quiet=quiet)
    return {
        "uploaded": uploaded.get("uploaded"),
        "first_join": first["rounds"][0],
        "first_join_as_stored": kept_join["rounds"][0],
        "stored_as_compacted": kept,
        "stored_before_compaction": before,
        "stored_after_compaction": after,
        "compacted": compacted,
    }


def scaling(
    server: str,
    spec: dict[str, Any],
    redis_url: str,
    quiet: bool,
    *,
    cores: Cores = (0, 1),
    generator_core: int | None = 1,
) -> dict[str, Any]:
    """One document's readers spread over N processes (reader i on process i mod N), N
    from ``spec["processes"]``, all on one Redis and one database. Process k runs on
    ``cores[k % 2]`` and the load generator on ``generator_core``: with N = 2 on two cores,
    the generator shares core 1 with process 1."""
    sweep = {key: value for key, value in spec.items() if key != "processes"}
    by_processes: dict[str, Any] = {}
    for processes in spec["processes"]:
        with (
            tempfile.TemporaryDirectory(prefix="roundtable-bench-") as tmp,
            serving(
                server, Path(tmp), processes=processes, redis_url=redis_url, core=cores
            ) as running,
        ):
            full = {"workload": "scaling", **sweep, "run": processes}
            by_processes[str(processes)] = run_loadgen(
                running, full, core=generator_core, quiet=quiet
            )
    return {"workload": "scaling", "readers": spec["readers"], "by_processes": by_processes}


def run_workload(
    name: str, server: str, spec: dict[str, Any], redis_url: str, quiet: bool
) -> dict[str, Any] | None:
    if name in ("crossworker", "scaling") and server not in MULTI_PROCESS:
        return None
    if name == "scaling":
        return scaling(server, spec, redis_url, quiet)
    with tempfile.TemporaryDirectory(prefix="roundtable-bench-") as tmp:
        workdir = Path(tmp)
        if name == "crossworker":
            with serving(server, workdir, processes=2, redis_url=redis_url) as running:
                return run_loadgen(running, {"workload": name, **spec}, quiet=quiet)
        full = {"workload": name, **spec}
        if name == "connections":
            with serving(server, workdir) as running:
                return run_loadgen(running, full, quiet=quiet, node_options=CONNECTIONS_NODE)
        if name == "coldjoin":
            full["trace"] = str(PAPER_TRACE) if PAPER_TRACE.exists() else SYNTHETIC_TRACE
        with serving(server, workdir) as running:
            result = run_loadgen(running, full, quiet=quiet)
        if name == "coldjoin" and server == "roundtable":
            result["from_storage"] = stored_join(workdir, full, quiet)
        return result


def steady(
    servers: list[str], spec: dict[str, Any], redis_url: str, quiet: bool
) -> dict[str, dict[str, Any]]:
    """50 readers at 50 edits/s, repeated with the servers taking turns, so that a noisy
    moment of the machine falls on one run of one server rather than on all of its runs."""
    runs: dict[str, list[dict[str, Any]]] = {server: [] for server in servers}
    once = {key: value for key, value in spec.items() if key != "repeats"}
    for _ in range(spec["repeats"]):
        for server in servers:
            result = run_workload("fanout", server, once, redis_url, quiet)
            assert result is not None
            runs[server].append(result["steps"][0])
    return {server: {"runs": found} for server, found in runs.items()}


def machine() -> dict[str, str]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    return {
        "cpu": cpu,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "node": node,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny workloads, for a smoke run")
    parser.add_argument("--only", nargs="*", choices=WORKLOADS, help="run only these workloads")
    parser.add_argument("--servers", nargs="*", choices=SERVERS, default=list(SERVERS))
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--no-write", action="store_true", help="print only; write no files")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args()
    raise_open_file_limit()
    specs = QUICK if args.quick else FULL
    results: dict[str, dict[str, Any]] = {}
    for name in args.only or WORKLOADS:
        results[name] = {}
        if name == "steady":
            print("== steady on every server, taking turns", flush=True)
            results[name] = steady(args.servers, specs[name], args.redis_url, args.quiet)
            continue
        for server in args.servers:
            print(f"== {name} on {server}", flush=True)
            result = run_workload(name, server, specs[name], args.redis_url, args.quiet)
            if result is not None:
                results[name][server] = result
    run = {"machine": machine(), "quick": args.quick, "specs": specs, "results": results}
    if args.only and not args.quick and report.RAW.exists():
        # A partial run replaces only its workloads in the last full run's figures.
        previous = json.loads(report.RAW.read_text())
        previous["results"].update(results)
        when = run["machine"]["date"]
        if run["machine"]["cpu"] != previous["machine"]["cpu"]:
            when += f" on {run['machine']['cpu']}"
        previous.setdefault("rerun", {}).update(dict.fromkeys(args.only, when))
        run = previous
    print(report.table(run))
    if not args.no_write:
        report.write(run)


if __name__ == "__main__":
    main()
