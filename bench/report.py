"""Tables, target checks and the plot made from one comparison run."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
PLOT = ROOT / "docs" / "benchmarks-fanout-p99.png"
RAW = ROOT / "bench" / "results" / "latest.json"
PEERS = ("y-websocket", "hocuspocus", "pycrdt-websocket")
REFERENCE = "y-websocket"
SERVERS = ("roundtable", *PEERS)
TITLES = {
    "roundtable": "Roundtable",
    "y-websocket": "y-websocket",
    "hocuspocus": "Hocuspocus",
    "pycrdt-websocket": "pycrdt-websocket",
}
KNEE_P99_MS = 50
# The fanout rate at which server CPU per edit and p99 are compared.
CPU_RATE = 1000
# The process count the scaling workload's figures are extrapolated to.
EXTRAPOLATED_PROCESSES = 8
START_RSS_TARGET_MB = 70
CONNECTIONS_TARGET = 10000

Run = dict[str, Any]
Getter = Callable[[dict[str, Any]], float | None]


def _get(result: dict[str, Any] | None, *path: str | int) -> Any:
    value: Any = result
    for key in path:
        if value is None:
            return None
        value = value[key] if isinstance(key, int) else value.get(key)
    return value


def fanout_at(result: dict[str, Any], rate: int) -> dict[str, Any] | None:
    for step in result.get("steps", []):
        if step["offered_rate"] == rate:
            step_: dict[str, Any] = step
            return step_
    return None


def steady_median(result: dict[str, Any], field: str) -> float | None:
    """The median over the repeated steady runs of one latency figure."""
    values = sorted(
        run["latency_ms"][field]
        for run in result.get("runs", [])
        if run["latency_ms"][field] is not None
    )
    return values[len(values) // 2] if values else None


def cpu_per_edit_us(step: dict[str, Any] | None) -> float | None:
    """Server CPU microseconds per edit (each relayed to every reader) in one step."""
    if step is None or not step.get("edits"):
        return None
    cpu: float = step["server_cpu_s"]
    edits: int = step["edits"]
    return round(cpu / edits * 1e6, 1)


def crossing_added(result: dict[str, Any]) -> float | None:
    cross = _get(result, "crossing_latency_ms", "p50")
    same = _get(result, "latency_ms", "p50")
    return None if cross is None or same is None else round(cross - same, 3)


def start_rss(results: dict[str, Any], server: str) -> float | None:
    """The median resident set of one server process at the start of each single-process
    workload (measured once it accepted connections, before any request)."""
    values = sorted(
        result["server_start_rss_mb"][0]
        for workload, per in results.items()
        if workload not in ("crossworker", "scaling", "steady")
        for name, result in per.items()
        if name == server and len(result.get("server_start_rss_mb") or []) == 1
    )
    return values[len(values) // 2] if values else None


def scaling_at(result: dict[str, Any], processes: int) -> dict[str, Any] | None:
    found: dict[str, Any] | None = _get(result, "by_processes", str(processes))
    return found


def knee_step(sweep: dict[str, Any] | None) -> dict[str, Any] | None:
    if sweep is None or sweep.get("knee") is None:
        return None
    return fanout_at(sweep, sweep["knee"])


def delivered_per_second(sweep: dict[str, Any] | None) -> float | None:
    """Messages delivered per second at the knee: each edit to each reader counts once."""
    step = knee_step(sweep)
    if step is None:
        return None
    delivered: int = step["delivered"]
    seconds: float = step["seconds"]
    return round(delivered / seconds)


def cpu_per_delivery_us(sweep: dict[str, Any] | None) -> list[float] | None:
    """Each process's CPU microseconds per message it delivered, at `model_step`'s step."""
    step = model_step(sweep)
    if step is None or "server_cpu_by_process_s" not in step:
        return None
    return [
        round(cpu / delivered * 1e6, 2) if delivered else 0.0
        for cpu, delivered in zip(
            step["server_cpu_by_process_s"], step["delivered_by_process"], strict=True
        )
    ]


def model_step(sweep: dict[str, Any] | None) -> dict[str, Any] | None:
    """The step a sweep's CPU figures are taken from: the knee's, or where no rate passed,
    the highest rate at which every message was still delivered (late, but all the work
    was done)."""
    step = knee_step(sweep)
    if step is not None or sweep is None:
        return step
    complete = [s for s in sweep["steps"] if s["delivery"] == 1 and s["converged"]]
    return max(complete, key=lambda s: s["offered_rate"]) if complete else None


def _common_steps(
    one: dict[str, Any] | None, two: dict[str, Any] | None
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The steps of N = 1 and N = 2 at the highest rate both delivered in full."""
    if one is None or two is None:
        return None
    full = [
        (a, b)
        for a in one["steps"]
        for b in two["steps"]
        if a["offered_rate"] == b["offered_rate"]
        and a["delivery"] == b["delivery"] == 1
        and "server_cpu_by_process_s" in b
    ]
    return max(full, key=lambda pair: pair[0]["offered_rate"]) if full else None


def scaling_model(result: dict[str, Any]) -> dict[str, Any] | None:
    """What EXTRAPOLATED_PROCESSES processes on as many cores would deliver, the same
    readers spread evenly: an extrapolation, not a measurement.

    The linear model: one process's CPU per edit is ``fixed + per_delivery x readers``,
    fitted from the writer's process (process 0) with N = 1 (every reader) and N = 2
    (half of them) at the highest rate both delivered in full; the other process's fixed
    cost comes from N = 2. Where that fit is not positive (noise), the proportional
    model instead: no fixed cost, the busiest process's CPU per delivered message at
    N = 2 — an upper bound, since it ignores the per-edit work every process repeats.
    """
    pair = _common_steps(scaling_at(result, 1), scaling_at(result, 2))
    if pair is None:
        return None
    one, two = pair
    readers = result.get("readers") or one["readers"]
    share = readers / EXTRAPOLATED_PROCESSES
    readers_one = one["delivered_by_process"][0] / one["edits"]
    readers_two = [delivered / two["edits"] for delivered in two["delivered_by_process"]]
    own_one = one["server_cpu_by_process_s"][0] / one["edits"]
    own_two = [cpu / two["edits"] for cpu in two["server_cpu_by_process_s"]]
    per_delivery = (own_one - own_two[0]) / max(readers_one - readers_two[0], 1e-9)
    fixed = [
        cpu - per_delivery * readers for cpu, readers in zip(own_two, readers_two, strict=True)
    ]
    kind = "linear"
    if per_delivery <= 0 or min(fixed) < 0:
        kind = "proportional"
        per_delivery = max(
            cpu / delivered
            for cpu, delivered in zip(
                two["server_cpu_by_process_s"], two["delivered_by_process"], strict=True
            )
            if delivered
        )
        fixed = [0.0 for _ in own_two]
    slowest = max(fixed) + per_delivery * share
    if slowest <= 0:
        return None
    return {
        "kind": kind,
        "rate": one["offered_rate"],
        "per_delivery_us": round(per_delivery * 1e6, 2),
        "fixed_writer_us": round(fixed[0] * 1e6, 1),
        "fixed_other_us": round(fixed[-1] * 1e6, 1),
        "edits_per_s": round(1 / slowest),
        "delivered_per_s": round(readers / slowest),
    }


def extrapolated(result: dict[str, Any]) -> float | None:
    model = scaling_model(result)
    return None if model is None else model["delivered_per_s"]


def connections_target(result: dict[str, Any]) -> str | None:
    if not result:
        return None
    return f"{_fmt(result.get('connections_held_at_end'))} of {_fmt(result.get('connections'))}"


# Each metric: workload, label, getter, and whether higher is better.
METRICS: list[tuple[str, str, Getter, bool]] = [
    ("fanout", "knee (edits/s, 50 readers)", lambda r: r.get("knee"), True),
    (
        "fanout",
        f"server CPU us per edit at {CPU_RATE:,}/s",
        lambda r: cpu_per_edit_us(fanout_at(r, CPU_RATE)),
        False,
    ),
    (
        "fanout",
        f"p99 ms at {CPU_RATE:,}/s",
        lambda r: _get(fanout_at(r, CPU_RATE), "latency_ms", "p99"),
        False,
    ),
    ("steady", "p50 ms, median of runs", lambda r: steady_median(r, "p50"), False),
    ("steady", "p99 ms, median of runs", lambda r: steady_median(r, "p99"), False),
    ("steady", "max ms, median of runs", lambda r: steady_median(r, "max"), False),
    (
        "steady",
        "server CPU s per run (10 s)",
        lambda r: r["runs"][0]["server_cpu_s"] if r.get("runs") else None,
        False,
    ),
    ("hotroom", "delivered / expected", lambda r: r.get("delivery"), True),
    ("hotroom", "p50 ms", lambda r: _get(r, "latency_ms", "p50"), False),
    ("hotroom", "p99 ms", lambda r: _get(r, "latency_ms", "p99"), False),
    ("hotroom", "max ms", lambda r: _get(r, "latency_ms", "max"), False),
    ("hotroom", "server CPU s", lambda r: r.get("server_cpu_s"), False),
    ("hotroom", "peak RSS MB", lambda r: r.get("server_peak_rss_mb"), False),
    ("hotroom", "bytes per edit", lambda r: r.get("bytes_per_edit"), False),
    ("rooms", "delivered / expected", lambda r: r.get("delivery"), True),
    ("rooms", "p99 ms", lambda r: _get(r, "latency_ms", "p99"), False),
    ("rooms", "RSS per idle connection KB", lambda r: r.get("rss_per_idle_kb"), False),
    ("rooms", "peak RSS MB", lambda r: r.get("server_peak_rss_mb"), False),
    (
        "rooms",
        "server CPU s, idle connections joining",
        lambda r: r.get("server_cpu_idle_connects_s"),
        False,
    ),
    ("rooms", "server CPU s, edits", lambda r: r.get("server_cpu_s"), False),
    ("coldjoin", "WebSocket handshake p50 ms", lambda r: _get(r, "open_ms", "p50"), False),
    ("coldjoin", "join p50 ms", lambda r: _get(r, "join_ms", "p50"), False),
    ("coldjoin", "join p99 ms", lambda r: _get(r, "join_ms", "p99"), False),
    ("coldjoin", "join max ms", lambda r: _get(r, "join_ms", "max"), False),
    (
        "coldjoin",
        "join from storage after a restart, p99 ms",
        lambda r: _get(r, "from_storage", "first_join_as_stored", "p99"),
        False,
    ),
    (
        "coldjoin",
        "join from storage, log not compacted, p99 ms",
        lambda r: _get(r, "from_storage", "first_join", "p99"),
        False,
    ),
    ("crossworker", "delivered / expected", lambda r: r.get("delivery"), True),
    ("crossworker", "same-process p50 ms", lambda r: _get(r, "latency_ms", "p50"), False),
    ("crossworker", "cross-process p50 ms", lambda r: _get(r, "crossing_latency_ms", "p50"), False),
    ("crossworker", "crossing adds (p50 ms)", crossing_added, False),
    ("crossworker", "cross-process p99 ms", lambda r: _get(r, "crossing_latency_ms", "p99"), False),
    (
        "scaling",
        "delivered messages/s at the knee, N = 1",
        lambda r: delivered_per_second(scaling_at(r, 1)),
        True,
    ),
    (
        "scaling",
        "delivered messages/s at the knee, N = 2",
        lambda r: delivered_per_second(scaling_at(r, 2)),
        True,
    ),
    (
        "scaling",
        "server CPU us per delivered message, N = 1",
        lambda r: next(iter(cpu_per_delivery_us(scaling_at(r, 1)) or []), None),
        False,
    ),
    (
        "scaling",
        "server CPU us per delivered message, N = 2, busiest process",
        lambda r: max(cpu_per_delivery_us(scaling_at(r, 2)) or [], default=None),
        False,
    ),
    (
        "scaling",
        f"delivered messages/s, N = {EXTRAPOLATED_PROCESSES} (extrapolated)",
        extrapolated,
        True,
    ),
    ("connections", "connections held", lambda r: r.get("connections_held_at_end"), True),
    ("connections", "RSS MB, all connected", lambda r: r.get("rss_held_mb"), False),
    ("connections", "RSS per connection KB", lambda r: r.get("rss_per_connection_kb"), False),
    ("connections", "server CPU s, joining", lambda r: r.get("server_cpu_joining_s"), False),
    ("connections", "server CPU s, 1% active", lambda r: r.get("server_cpu_active_s"), False),
    ("connections", "delivered / expected", lambda r: r.get("delivery"), True),
    ("connections", "p99 ms", lambda r: _get(r, "latency_ms", "p99"), False),
]


def _fmt(value: float | None) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.3g}" if abs(value) < 10 else f"{value:,.1f}"
    return f"{int(value):,}"


def _ratio(ours: float | None, theirs: float | None, higher_better: bool) -> str:
    if ours is None or theirs is None or theirs == 0 or ours == 0:
        return "n/a"
    ratio = ours / theirs
    better = ratio >= 1 if higher_better else ratio <= 1
    return f"{ratio:.2f}x{'' if better else ' (worse)'}"


def rows(run: Run) -> list[list[str]]:
    results = run["results"]
    out = []
    for workload, label, getter, higher in METRICS:
        if workload not in results:
            continue
        per = {name: getter(result) for name, result in results[workload].items()}
        ours = per.get("roundtable")
        out.append(
            [
                workload,
                label,
                _fmt(ours),
                *(_fmt(per.get(peer)) for peer in PEERS),
                *(_ratio(ours, per.get(peer), higher) for peer in PEERS),
            ]
        )
    if any(start_rss(results, server) is not None for server in SERVERS):
        per_start = {server: start_rss(results, server) for server in SERVERS}
        ours = per_start["roundtable"]
        out.append(
            [
                "start",
                "process RSS MB at start",
                _fmt(ours),
                *(_fmt(per_start[peer]) for peer in PEERS),
                *(_ratio(ours, per_start[peer], False) for peer in PEERS),
            ]
        )
    return out


HEADER = [
    "workload",
    "metric",
    *(TITLES[server] for server in SERVERS),
    *(f"vs {TITLES[peer]}" for peer in PEERS),
]


def _pair(first: Any, second: Any, unit: str = "") -> str:
    if first is None and second is None:
        return "n/a"
    return f"{_fmt(first)} / {_fmt(second)}{unit}"


def _overload(step: dict[str, Any] | None) -> str:
    if step is None:
        return "not run"
    return (
        f"{_fmt(step['delivery'])} delivered, p50 {_fmt(step['latency_ms']['p50'])} ms, "
        f"{_fmt(step['server_peak_rss_mb'])} MB"
    )


def issue_rows(run: Run) -> list[list[str]]:
    """The rows of the table in issue 22, one column per server, for before and after."""
    res = run["results"]

    def per(workload: str, cell: Callable[[dict[str, Any]], str]) -> list[str]:
        found = res.get(workload, {})
        return [cell(found[server]) if server in found else "n/a" for server in SERVERS]

    def at(rate: int) -> Callable[[dict[str, Any]], dict[str, Any] | None]:
        return lambda result: fanout_at(result, rate)

    def cpu_p99(rate: int) -> Callable[[dict[str, Any]], str]:
        def cell(result: dict[str, Any]) -> str:
            step = at(rate)(result)
            if step is None:
                return "not run"
            return _pair(step["server_cpu_s"], step["latency_ms"]["p99"], " ms")

        return cell

    def p99s(result: dict[str, Any]) -> str:
        values = [_get(at(rate)(result), "latency_ms", "p99") for rate in (1250, 1500, 1750)]
        if all(value is None for value in values):
            return "not run"
        return " / ".join(_fmt(value) for value in values) + " ms"

    def rooms_cell(result: dict[str, Any]) -> str:
        idle, edits = result.get("server_cpu_idle_connects_s"), result.get("server_cpu_s")
        cpu = None if idle is None or edits is None else round(idle + edits, 2)
        return _pair(cpu, result.get("server_peak_rss_mb"), " MB")

    rooms_spec = run.get("specs", {}).get("rooms", {})
    cold: dict[str, Any] = next(iter(res.get("coldjoin", {}).values()), {})
    length = cold.get("final_length")
    document = f"{_fmt(length)}-character " if length else ""
    out = [
        ["fanout, 50 readers x 200 edits/s: server CPU-s / p99", *per("fanout", cpu_p99(200))],
        ["fanout, 50 readers x 1000 edits/s: server CPU-s / p99", *per("fanout", cpu_p99(1000))],
        ["fanout, 50 readers x 1250 / 1500 / 1750 edits/s: p99", *per("fanout", p99s)],
        [
            "knee (p99 under 50 ms, everything delivered; steps of 250)",
            *per("fanout", lambda r: _fmt(r.get("knee"))),
        ],
        [
            "fanout at 2000 edits/s: delivered, p50, peak RSS",
            *per("fanout", lambda r: _overload(fanout_at(r, 2000))),
        ],
        [
            "fanout at 3000 edits/s: delivered, p50, peak RSS",
            *per("fanout", lambda r: _overload(fanout_at(r, 3000))),
        ],
        [
            f"{_fmt(rooms_spec.get('docs'))} documents x {_fmt(rooms_spec.get('clientsPerDoc'))}"
            f" clients plus {_fmt(rooms_spec.get('idle'))} idle connections: "
            "server CPU-s / peak RSS",
            *per("rooms", rooms_cell),
        ],
        [
            f"{_fmt(cold.get('joiners'))} clients join a loaded {document}document at once: p99",
            *per("coldjoin", lambda r: f"{_fmt(_get(r, 'join_ms', 'p99'))} ms"),
        ],
        [
            "process RSS at start of a run",
            *(
                "n/a" if start_rss(res, server) is None else f"{_fmt(start_rss(res, server))} MB"
                for server in SERVERS
            ),
        ],
    ]
    return out


def table(run: Run) -> str:
    body = rows(run)
    widths = [max(len(row[i]) for row in [HEADER, *body]) for i in range(len(HEADER))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(HEADER, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in body]
    return "\n".join(lines)


def markdown_table(header: list[str], body: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in body]
    return "\n".join(lines)


def best_peer(results: dict[str, Any], getter: Getter) -> tuple[str, float] | None:
    """The peer with the lowest figure, and that figure."""
    found = [
        (peer, value)
        for peer in PEERS
        if peer in results and (value := getter(results[peer])) is not None
    ]
    return min(found, key=lambda item: item[1]) if found else None


def targets(run: Run) -> list[tuple[str, str, bool | None]]:
    """Each target of issue 22: what it asks, what the run measured, and whether it is met."""
    res = run["results"]

    def get(workload: str, server: str) -> dict[str, Any]:
        found: dict[str, Any] = res.get(workload, {}).get(server) or {}
        return found

    out: list[tuple[str, str, bool | None]] = []
    ours_step = fanout_at(get("fanout", "roundtable"), CPU_RATE)
    ref_step = fanout_at(get("fanout", REFERENCE), CPU_RATE)
    if ours_step is None or ref_step is None:
        out.append((f"fanout at 50 x {CPU_RATE:,} edits/s: p99 and CPU", "not run", None))
    else:
        p_ours, p_ref = ours_step["latency_ms"]["p99"], ref_step["latency_ms"]["p99"]
        c_ours, c_ref = ours_step["server_cpu_s"], ref_step["server_cpu_s"]
        out.append(
            (
                f"fanout at 50 x {CPU_RATE:,} edits/s: p99 no worse than the reference's",
                f"{_fmt(p_ours)} vs {_fmt(p_ref)} ms",
                None if p_ours is None or p_ref is None else p_ours <= p_ref,
            )
        )
        out.append(
            (
                f"fanout at 50 x {CPU_RATE:,} edits/s: server CPU at most 0.8x the reference's",
                f"{_fmt(c_ours)} vs {_fmt(c_ref)} s ({_ratio(c_ours, c_ref, False)})",
                None if not c_ref else c_ours <= 0.8 * c_ref,
            )
        )
    ours, ref = get("fanout", "roundtable").get("knee"), get("fanout", REFERENCE).get("knee")
    out.append(
        (
            "fanout knee at least 1.5x the reference's",
            f"{_fmt(ours)} vs {_fmt(ref)} edits/s",
            None if ours is None or ref is None else ours >= 1.5 * ref,
        )
    )
    cold = res.get("coldjoin", {})
    join_p99: Getter = lambda r: _get(r, "join_ms", "p99")  # noqa: E731
    best = best_peer(cold, join_p99)
    c_ours = join_p99(get("coldjoin", "roundtable"))
    best_text = "no peer" if best is None else f"{_fmt(best[1])} ms ({TITLES[best[0]]})"
    out.append(
        (
            f"{_fmt(get('coldjoin', 'roundtable').get('joiners'))} clients joining a loaded "
            "document at once: p99 at most half the best peer's",
            f"{_fmt(c_ours)} ms vs {best_text}",
            None if c_ours is None or best is None else c_ours <= 0.5 * best[1],
        )
    )
    stored = _get(get("coldjoin", "roundtable"), "from_storage", "first_join_as_stored", "p99")
    worst = _get(get("coldjoin", "roundtable"), "from_storage", "first_join", "p99")
    out.append(
        (
            "joining from storage after a restart no slower than the best peer's in-memory join",
            f"{_fmt(stored)} ms (from the log not compacted: {_fmt(worst)} ms) vs {best_text}",
            None if stored is None or best is None else stored <= best[1],
        )
    )
    r_ours = get("rooms", "roundtable").get("rss_per_idle_kb")
    r_ref = get("rooms", REFERENCE).get("rss_per_idle_kb")
    out.append(
        (
            "RSS per idle connection no more than the reference's",
            f"{_fmt(r_ours)} vs {_fmt(r_ref)} KB",
            None if r_ours is None or r_ref is None else r_ours <= r_ref,
        )
    )
    rss = start_rss(res, "roundtable")
    out.append(
        (
            f"process RSS at start at most {START_RSS_TARGET_MB} MB",
            f"{_fmt(rss)} MB",
            None if rss is None else rss <= START_RSS_TARGET_MB,
        )
    )
    held = get("connections", "roundtable")
    out.append(
        (
            f"{CONNECTIONS_TARGET:,} connections held by one process",
            "not run"
            if not held
            else f"{connections_target(held)} held; 1% active: "
            f"{_fmt(held.get('delivery'))} delivered, "
            f"p99 {_fmt(_get(held, 'latency_ms', 'p99'))} ms",
            None if not held else held.get("connections_held_at_end", 0) >= CONNECTIONS_TARGET,
        )
    )
    return out


def plot(run: Run, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 4.8), dpi=110)
    for name, result in run["results"].get("fanout", {}).items():
        steps = [s for s in result["steps"] if s["latency_ms"]["p99"] is not None]
        axes.plot(
            [s["offered_rate"] for s in steps],
            [s["latency_ms"]["p99"] for s in steps],
            marker="o",
            label=name,
        )
    axes.axhline(KNEE_P99_MS, color="grey", linestyle="--", linewidth=1, label="50 ms")
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("offered edits per second (1 writer, 50 readers)")
    axes.set_ylabel("p99 latency, ms (from intended send time)")
    axes.set_title("fanout: p99 latency against offered load, one core per server")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


START = "<!-- figures: written by bench/compare.py -->"
END = "<!-- end of figures -->"


def _check(met: bool | None) -> str:
    return "not measured" if met is None else ("met" if met else "**missed**")


def _reruns(run: Run) -> str:
    return ", ".join(f"{workload} ({date})" for workload, date in run["rerun"].items())


def figures(run: Run) -> str:
    """The generated part of docs/benchmarks.md: every figure of the run."""
    machine = run["machine"]
    res = run["results"]
    parts = [
        f"Run of {machine['date']} on {machine['cpu']} (Linux {machine['kernel']}), "
        f"Python {machine['python']}, Node {machine['node']}"
        + (" — a quick run with tiny workloads, not for comparison." if run["quick"] else "."),
        *([f"Rerun since, on their own: {_reruns(run)}."] if run.get("rerun") else []),
        "",
        "### Targets",
        "",
        markdown_table(
            ["target", "measured (Roundtable vs the reference or the best peer)", "result"],
            [[what, got, _check(met)] for what, got, met in targets(run)],
        ),
        "",
        "### The rows of issue 22",
        "",
        markdown_table(["workload", *(TITLES[server] for server in SERVERS)], issue_rows(run)),
        "",
        "### Side by side",
        "",
        "Ratios are Roundtable's figure over the peer's; *(worse)* marks where Roundtable "
        "does worse.",
        "",
        markdown_table(HEADER, rows(run)),
        "",
    ]
    if "fanout" in res:
        parts += [
            "### fanout: every offered rate",
            "",
            f"![p99 against offered load]({PLOT.name})",
            "",
        ]
        body = []
        for name, result in res["fanout"].items():
            for step in result["steps"]:
                body.append(
                    [
                        name,
                        _fmt(step["offered_rate"]) + (" *" if step.get("beyond_sweep") else ""),
                        _fmt(step["delivery"]),
                        _fmt(step["latency_ms"]["p50"]),
                        _fmt(step["latency_ms"]["p99"]),
                        _fmt(step["latency_ms"]["max"]),
                        _fmt(step["server_cpu_s"]),
                        _fmt(step["generator_cpu_s"]),
                        "yes" if step["converged"] else "**no**",
                    ]
                )
        parts += [
            markdown_table(
                [
                    "server",
                    "offered/s",
                    "delivered",
                    "p50 ms",
                    "p99 ms",
                    "max ms",
                    "server CPU s",
                    "generator CPU s",
                    "converged",
                ],
                body,
            ),
            "",
            "\\* after the sweep had stopped: run once, to show each server in overload.",
            "",
        ]
    parts += scaling_section(res.get("scaling", {}))
    parts += connections_section(res.get("connections", {}))
    cold = res.get("coldjoin", {}).get("roundtable")
    if cold and "from_storage" in cold:
        stored = cold["from_storage"]
        before, after = stored["stored_before_compaction"], stored["stored_after_compaction"]
        parts += [
            "### The trace document in Roundtable's storage",
            "",
            markdown_table(
                ["", "log rows", "log bytes", "snapshot bytes"],
                [
                    [
                        "before compaction",
                        _fmt(before["log_rows"]),
                        _fmt(before["log_bytes"]),
                        _fmt(before["snapshot_bytes"]),
                    ],
                    [
                        "after compaction",
                        _fmt(after["log_rows"]),
                        _fmt(after["log_bytes"]),
                        _fmt(after["snapshot_bytes"]),
                    ],
                ],
            ),
            "",
            f"Trace: `{cold['trace']}`. "
            f"The Yjs state of the whole document encodes to {_fmt(cold['full_state_bytes'])} "
            f"bytes. The first {cold['joiners']} joiners after a restart, which load the "
            f"document from those {_fmt(before['log_rows'])} log rows, waited p50 "
            f"{_fmt(stored['first_join']['p50'])} ms, p99 {_fmt(stored['first_join']['p99'])} ms.",
            "",
        ]
    if cold and "first_join_as_stored" in cold.get("from_storage", {}):
        stored = cold["from_storage"]
        kept = stored["stored_as_compacted"]
        parts += [
            f"Uploaded as a server stores a document in use (compacted every "
            f"`ROUNDTABLE_COMPACT_THRESHOLD` rows), storage held a {_fmt(kept['snapshot_bytes'])}"
            f"-byte snapshot and {_fmt(kept['log_rows'])} log rows after it; the first "
            f"joiners after a restart waited p50 "
            f"{_fmt(stored['first_join_as_stored']['p50'])} ms, p99 "
            f"{_fmt(stored['first_join_as_stored']['p99'])} ms.",
            "",
        ]
    convergence = [
        f"{workload} on {name}"
        for workload, per in res.items()
        for name, result in per.items()
        if not all(step["converged"] for step in checked_steps(result) if "converged" in step)
    ]
    parts.append(
        "Every copy converged in every workload."
        if not convergence
        else "Did not converge: " + ", ".join(convergence) + "."
    )
    return "\n".join(parts)


def checked_steps(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Every run inside one workload's result (a sweep's steps, each N's sweep, or itself)."""
    if "by_processes" in result:
        return [step for sweep in result["by_processes"].values() for step in sweep["steps"]]
    if "runs" in result:
        runs: list[dict[str, Any]] = result["runs"]
        return runs
    steps: list[dict[str, Any]] = result.get("steps", [result])
    return steps


def scaling_section(per: dict[str, Any]) -> list[str]:
    if not per:
        return []
    body = []
    notes = []
    for name, result in per.items():
        for processes, sweep in result["by_processes"].items():
            step = model_step(sweep)
            body.append(
                [
                    name,
                    processes,
                    _fmt(sweep.get("knee")),
                    _fmt(delivered_per_second(sweep)),
                    _fmt((step or {}).get("offered_rate")),
                    " / ".join(_fmt(v) for v in cpu_per_delivery_us(sweep) or []) or "n/a",
                    " / ".join(_fmt(v) for v in (step or {}).get("server_cpu_by_process_s", []))
                    or "n/a",
                    _fmt((step or {}).get("generator_cpu_s")),
                ]
            )
        model = scaling_model(result)
        if model is None:
            notes.append(f"- {name}: no model (no rate delivered in full with both N).")
            continue
        fitted = (
            f"{_fmt(model['per_delivery_us'])} us per delivered message and "
            f"{_fmt(model['fixed_writer_us'])} us per edit on the writer's process "
            f"({_fmt(model['fixed_other_us'])} us on the other), fitted at "
            f"{_fmt(model['rate'])} edits/s"
            if model["kind"] == "linear"
            else f"the linear fit at {_fmt(model['rate'])} edits/s was not positive, so "
            f"proportional: {_fmt(model['per_delivery_us'])} us per delivered message "
            "and no cost per edit (an upper bound)"
        )
        notes.append(
            f"- {name}: {fitted}. With {EXTRAPOLATED_PROCESSES} processes on "
            f"{EXTRAPOLATED_PROCESSES} cores, {_fmt(result['readers'] / EXTRAPOLATED_PROCESSES)}"
            f" readers each: {_fmt(model['edits_per_s'])} edits/s, "
            f"{_fmt(model['delivered_per_s'])} delivered messages/s."
        )
    return [
        "### scaling: one document's readers over N processes",
        "",
        markdown_table(
            [
                "server",
                "N",
                "knee edits/s",
                "delivered messages/s at the knee",
                "at offered/s",
                "CPU us per delivered message, per process",
                "server CPU s per process",
                "generator CPU s",
            ],
            body,
        ),
        "",
        "CPU figures are from the knee's step, or where no rate passed, from the highest "
        "rate at which every message was delivered. Extrapolated, not measured: a "
        "per-process model (CPU per edit = fixed cost + cost per delivered message x "
        "readers on that process), fitted at the highest rate both N delivered in full "
        "(see `scaling_model` in bench/report.py).",
        "",
        *notes,
        "",
    ]


def connections_section(per: dict[str, Any]) -> list[str]:
    if not per:
        return []
    body = [
        [
            name,
            f"{_fmt(r.get('connections_held'))} of {_fmt(r.get('connections'))}",
            _fmt(r.get("connections_held_at_end")),
            _fmt(r.get("join_s")),
            _fmt(r.get("rss_held_mb")),
            _fmt(r.get("rss_per_connection_kb")),
            _fmt(r.get("server_cpu_joining_s")),
            _fmt(r.get("server_cpu_active_s")),
            _fmt(r.get("delivery")),
            _fmt(_get(r, "latency_ms", "p99")),
            _fmt(r.get("generator_cpu_joining_s")),
        ]
        for name, r in per.items()
    ]
    return [
        "### connections: one process holding many",
        "",
        markdown_table(
            [
                "server",
                "synced",
                "held at the end",
                "joining s",
                "RSS MB",
                "RSS per connection KB",
                "server CPU s joining",
                "server CPU s active",
                "delivered",
                "p99 ms",
                "generator CPU s joining",
            ],
            body,
        ),
        "",
    ]


def write(run: Run) -> None:
    """Raw results, the plot, and the figures inside docs/benchmarks.md."""
    RAW.parent.mkdir(parents=True, exist_ok=True)
    RAW.write_text(json.dumps(run, indent=1) + "\n")
    if "fanout" in run["results"]:
        plot(run, PLOT)
    text = DOC.read_text() if DOC.exists() else f"# Benchmarks\n\n{START}\n{END}\n"
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    DOC.write_text(f"{head}{START}\n{figures(run)}\n{END}{tail}")
