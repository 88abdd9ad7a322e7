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
PEERS = ("y-websocket", "hocuspocus")
KNEE_P99_MS = 50
# The fanout rate at which server CPU per edit is compared: every server passes it.
CPU_RATE = 400

Run = dict[str, Any]
Getter = Callable[[dict[str, Any]], float | None]


def _get(result: dict[str, Any], *path: str | int) -> Any:
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


# Each metric: workload, label, getter, and whether higher is better.
METRICS: list[tuple[str, str, Getter, bool]] = [
    ("fanout", "knee (edits/s, 50 readers)", lambda r: r.get("knee"), True),
    (
        "fanout",
        f"server CPU us per edit at {CPU_RATE}/s",
        lambda r: cpu_per_edit_us(fanout_at(r, CPU_RATE)),
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
    ("crossworker", "delivered / expected", lambda r: r.get("delivery"), True),
    ("crossworker", "same-process p50 ms", lambda r: _get(r, "latency_ms", "p50"), False),
    ("crossworker", "cross-process p50 ms", lambda r: _get(r, "crossing_latency_ms", "p50"), False),
    ("crossworker", "crossing adds (p50 ms)", crossing_added, False),
    ("crossworker", "cross-process p99 ms", lambda r: _get(r, "crossing_latency_ms", "p99"), False),
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
                _fmt(per.get("y-websocket")),
                _fmt(per.get("hocuspocus")),
                _ratio(ours, per.get("y-websocket"), higher),
                _ratio(ours, per.get("hocuspocus"), higher),
            ]
        )
    return out


HEADER = [
    "workload",
    "metric",
    "Roundtable",
    "y-websocket",
    "Hocuspocus",
    "vs y-websocket",
    "vs Hocuspocus",
]


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


def targets(run: Run) -> list[tuple[str, str, bool | None]]:
    """Each target: what it asks, what the run measured, and whether it is met."""
    res = run["results"]

    def get(workload: str, server: str) -> dict[str, Any]:
        found: dict[str, Any] = res.get(workload, {}).get(server) or {}
        return found

    out: list[tuple[str, str, bool | None]] = []
    ours, ref = get("fanout", "roundtable").get("knee"), get("fanout", "y-websocket").get("knee")
    out.append(
        (
            "fanout knee at least 1.5x the reference server's",
            f"{_fmt(ours)} vs {_fmt(ref)} edits/s",
            None if ours is None or ref is None else ours >= 1.5 * ref,
        )
    )
    p_ours = steady_median(get("steady", "roundtable"), "p99")
    p_ref = steady_median(get("steady", "y-websocket"), "p99")
    out.append(
        (
            "p99 at 50 readers x 50 edits/s no worse than the reference's (median of runs)",
            f"{_fmt(p_ours)} vs {_fmt(p_ref)} ms",
            None if p_ours is None or p_ref is None else p_ours <= p_ref,
        )
    )
    r_ours = get("rooms", "roundtable").get("rss_per_idle_kb")
    r_ref = get("rooms", "y-websocket").get("rss_per_idle_kb")
    out.append(
        (
            "RSS per idle connection no more than the reference's",
            f"{_fmt(r_ours)} vs {_fmt(r_ref)} KB",
            None if r_ours is None or r_ref is None else r_ours <= r_ref,
        )
    )
    cold = get("coldjoin", "roundtable")
    c_p99 = _get(cold, "join_ms", "p99")
    stored = _get(cold, "from_storage", "first_join", "p99")
    out.append(
        (
            f"cold join of the {_fmt(cold.get('operations'))}-operation document under 50 ms p99, "
            f"{_fmt(cold.get('joiners'))} joining at once",
            f"{_fmt(c_p99)} ms loaded; {_fmt(stored)} ms for the first joiners from storage",
            None if c_p99 is None else c_p99 < 50,
        )
    )
    added = crossing_added(get("crossworker", "roundtable"))
    out.append(
        (
            "crossing processes adds under 1 ms at p50",
            f"{_fmt(added)} ms",
            None if added is None else added < 1,
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
            ["target", "measured (Roundtable vs reference)", "result"],
            [[what, got, _check(met)] for what, got, met in targets(run)],
        ),
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
                        _fmt(step["offered_rate"]),
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
        ]
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
            f"document from storage, waited p50 {_fmt(stored['first_join']['p50'])} ms, "
            f"p99 {_fmt(stored['first_join']['p99'])} ms.",
            "",
        ]
    convergence = [
        f"{workload} on {name}"
        for workload, per in res.items()
        for name, result in per.items()
        if not all(
            step["converged"] for step in result.get("steps", [result]) if "converged" in step
        )
    ]
    parts.append(
        "Every copy converged in every workload."
        if not convergence
        else "Did not converge: " + ", ".join(convergence) + "."
    )
    return "\n".join(parts)


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
