"""Start the servers the benchmarks compare, each pinned to one CPU core.

Roundtable runs as `roundtable serve` on its embedded SQLite default (a fresh file per
run); the Node peers run from `bench/node`: the reference `@y/websocket-server` and
`@hocuspocus/server` (with `@hocuspocus/extension-redis` when several processes share
a document); `pycrdt-websocket` runs from `bench/pycrdt_peer.py`. The peers keep
documents in memory.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
NODE_DIR = ROOT / "bench" / "node"
SERVERS = ("roundtable", "y-websocket", "hocuspocus", "pycrdt-websocket")
# The servers that can share one document between processes (through Redis).
MULTI_PROCESS = ("roundtable", "hocuspocus")
SECRET = "bench-secret-key-long-enough-for-signing-0123456789"
# Generous: other work on a shared machine can slow a start several times over.
START_TIMEOUT = 90.0


@dataclass
class Running:
    """Server processes under test and how the load generator reaches them."""

    name: str
    processes: list[subprocess.Popen[bytes]]
    target: dict[str, Any]
    # Roundtable's room (slug and invites), to start it again on the same database.
    room: dict[str, Any] | None = None
    # Each process's resident set once it accepted connections, before any request.
    start_rss_mb: list[float] | None = None

    @property
    def pids(self) -> list[int]:
        return [process.pid for process in self.processes]


def rss_mb(pid: int) -> float:
    """A process's resident set size now, in MB (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError(f"no VmRSS for process {pid}")


def raise_open_file_limit() -> int:
    """Lift this process's soft limit on open files to the hard one (children inherit it):
    the connections workload holds 10,000 sockets in the server and in the generator."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# A core for every process, or one core for the k-th process of several: cores[k % len].
Cores = int | Sequence[int] | None


def pinned(core: int | None, command: list[str]) -> list[str]:
    return command if core is None else ["taskset", "-c", str(core), *command]


def core_of(cores: Cores, index: int) -> int | None:
    if cores is None or isinstance(cores, int):
        return cores
    return cores[index % len(cores)]


def wait_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server on port {port} exited with {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"server on port {port} did not start")


def launch(
    processes: int,
    command: Callable[[int], list[str]],
    cwd: Path,
    env: dict[str, str],
    core: Cores,
) -> tuple[list[subprocess.Popen[bytes]], list[int]]:
    """Start ``processes`` servers, each on a free port, and wait until all listen."""
    started = []
    ports = []
    for index in range(processes):
        port = free_port()
        started.append(
            subprocess.Popen(
                pinned(core_of(core, index), command(port)),
                cwd=cwd,
                env=env,
                stdout=subprocess.DEVNULL,
            )
        )
        ports.append(port)
    try:
        for port, process in zip(ports, started, strict=True):
            wait_listening(port, process)
    except BaseException:
        stop_processes(started)
        raise
    return started, ports


def _post(url: str, body: dict[str, str]) -> dict[str, Any]:
    request = urllib.request.Request(
        url, json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        result: dict[str, Any] = json.load(response)
        return result


def _roundtable_env(workdir: Path, extra: dict[str, str]) -> dict[str, str]:
    return {
        **os.environ,
        "ROUNDTABLE_DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'roundtable.db'}",
        "ROUNDTABLE_SECRET_KEY": SECRET,
        "ROUNDTABLE_LOG_LEVEL": "warning",
        # The load generator opens thousands of sockets from one address and its
        # writers send faster than anyone types: the abuse limits would refuse both.
        "ROUNDTABLE_MAX_CONNECTION_ATTEMPTS_PER_MINUTE": "0",
        "ROUNDTABLE_MAX_MESSAGES_PER_SECOND": "0",
        **extra,
    }


def start_roundtable(
    workdir: Path,
    *,
    processes: int = 1,
    redis_url: str | None = None,
    core: Cores = 0,
    env: dict[str, str] | None = None,
    room: dict[str, Any] | None = None,
) -> Running:
    """Roundtable processes on one database; with ``room`` given, that room is reused."""
    workdir.mkdir(parents=True, exist_ok=True)
    extra = dict(env or {})
    if redis_url is not None:
        extra["ROUNDTABLE_REDIS_URL"] = redis_url
        extra["ROUNDTABLE_REDIS_PREFIX"] = f"bench-{uuid.uuid4().hex[:8]}"
    full_env = _roundtable_env(workdir, extra)
    if room is None:
        created = subprocess.run(
            [sys.executable, "-m", "server.cli", "room", "create", "Bench", "--json"],
            cwd=ROOT,
            env=full_env,
            check=False,
            capture_output=True,
        )
        if created.returncode != 0:
            raise RuntimeError(f"could not create the bench room: {created.stderr.decode()}")
        room = json.loads(created.stdout)
    started, ports = launch(
        processes,
        lambda port: [sys.executable, "-m", "server.cli", "serve", "--port", str(port)],
        ROOT,
        full_env,
        core,
    )
    start_rss = [rss_mb(process.pid) for process in started]
    try:
        joined = _post(
            f"http://127.0.0.1:{ports[0]}/api/join",
            {"invite": room["invites"]["member"], "name": "bench"},
        )
    except BaseException:
        stop_processes(started)
        raise
    return Running(
        "roundtable",
        started,
        {
            "protocol": "y-websocket",
            "urls": [f"ws://127.0.0.1:{port}/sync/{room['room']}" for port in ports],
            "query": f"?token={joined['token']}",
        },
        room=room,
        start_rss_mb=start_rss,
    )


def peer_command(name: str, port: int, shared: list[str]) -> list[str]:
    if name == "pycrdt-websocket":
        return [sys.executable, "-m", "bench.pycrdt_peer", str(port)]
    return ["node", str(NODE_DIR / "peers.mjs"), name, str(port), *shared]


def start_peer(
    name: str, *, processes: int = 1, redis_url: str | None = None, core: Cores = 0
) -> Running:
    if name not in MULTI_PROCESS and processes > 1:
        raise ValueError(f"{name} has no way to share documents across processes")
    protocol = "hocuspocus" if name == "hocuspocus" else "y-websocket"
    env = {**os.environ, "HOCUSPOCUS_REDIS_PREFIX": f"bench-{uuid.uuid4().hex[:8]}"}
    # Hocuspocus joins Redis when given one (its extension), as Roundtable does.
    shared = [redis_url] if redis_url is not None else []
    started, ports = launch(
        processes,
        lambda port: peer_command(name, port, shared),
        ROOT if name == "pycrdt-websocket" else NODE_DIR,
        env,
        core,
    )
    target: dict[str, Any] = {"protocol": protocol, "urls": [f"ws://127.0.0.1:{p}" for p in ports]}
    if name == "pycrdt-websocket":
        # A connection that arrives while its document's room is starting waits for ever
        # on the room's start lock: each document's first client connects alone.
        target["firstJoinAlone"] = True
    return Running(name, started, target, start_rss_mb=[rss_mb(process.pid) for process in started])


def start(
    name: str, workdir: Path, *, processes: int = 1, redis_url: str | None = None, **kwargs: Any
) -> Running:
    if name == "roundtable":
        return start_roundtable(workdir, processes=processes, redis_url=redis_url, **kwargs)
    return start_peer(name, processes=processes, redis_url=redis_url, **kwargs)


def stop_processes(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def stop(running: Running) -> None:
    stop_processes(running.processes)


@contextlib.contextmanager
def serving(name: str, workdir: Path, **kwargs: Any) -> Iterator[Running]:
    running = start(name, workdir, **kwargs)
    try:
        yield running
    finally:
        stop(running)


def run_loadgen(
    running: Running,
    spec: dict[str, Any],
    *,
    core: int | None = 1,
    quiet: bool = False,
    node_options: Sequence[str] = (),
) -> dict[str, Any]:
    """Run one workload of the Node load generator against ``running``; its JSON result."""
    full = {"target": running.target, "pids": running.pids, **spec}
    env = {**os.environ, "LOADGEN_QUIET": "1" if quiet else "0"}
    command = ["node", *node_options, str(NODE_DIR / "loadgen.mjs"), json.dumps(full)]
    completed = subprocess.run(
        pinned(core, command),
        cwd=NODE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"load generator failed on {running.name}: {spec['workload']}")
    result: dict[str, Any] = json.loads(completed.stdout)
    if running.start_rss_mb is not None:
        result["server_start_rss_mb"] = running.start_rss_mb
    return result
