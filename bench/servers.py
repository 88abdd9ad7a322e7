"""Start the servers the benchmarks compare, each pinned to one CPU core.

Roundtable runs as `roundtable serve` on its embedded SQLite default (a fresh file per
run); the peers run from `bench/node`: the reference `@y/websocket-server` and
`@hocuspocus/server` (with `@hocuspocus/extension-redis` when two processes share a
document), both keeping documents in memory.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
NODE_DIR = ROOT / "bench" / "node"
SERVERS = ("roundtable", "y-websocket", "hocuspocus")
SECRET = "bench-secret-key-long-enough-for-signing-0123456789"
START_TIMEOUT = 30.0


@dataclass
class Running:
    """Server processes under test and how the load generator reaches them."""

    name: str
    processes: list[subprocess.Popen[bytes]]
    target: dict[str, Any]
    # Roundtable's room (slug and invites), to start it again on the same database.
    room: dict[str, Any] | None = None

    @property
    def pids(self) -> list[int]:
        return [process.pid for process in self.processes]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def pinned(core: int | None, command: list[str]) -> list[str]:
    return command if core is None else ["taskset", "-c", str(core), *command]


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
    core: int | None,
) -> tuple[list[subprocess.Popen[bytes]], list[int]]:
    """Start ``processes`` servers, each on a free port, and wait until all listen."""
    started = []
    ports = []
    for _ in range(processes):
        port = free_port()
        started.append(
            subprocess.Popen(
                pinned(core, command(port)), cwd=cwd, env=env, stdout=subprocess.DEVNULL
            )
        )
        ports.append(port)
    for port, process in zip(ports, started, strict=True):
        wait_listening(port, process)
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
    core: int | None = 0,
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
    joined = _post(
        f"http://127.0.0.1:{ports[0]}/api/join",
        {"invite": room["invites"]["member"], "name": "bench"},
    )
    return Running(
        "roundtable",
        started,
        {
            "protocol": "y-websocket",
            "urls": [f"ws://127.0.0.1:{port}/sync/{room['room']}" for port in ports],
            "query": f"?token={joined['token']}",
        },
        room=room,
    )


def start_peer(
    name: str, *, processes: int = 1, redis_url: str | None = None, core: int | None = 0
) -> Running:
    if name == "y-websocket" and processes > 1:
        raise ValueError("the reference server has no way to share documents across processes")
    protocol = "hocuspocus" if name == "hocuspocus" else "y-websocket"
    env = {**os.environ, "HOCUSPOCUS_REDIS_PREFIX": f"bench-{uuid.uuid4().hex[:8]}"}
    shared = [redis_url] if redis_url is not None and processes > 1 else []
    started, ports = launch(
        processes,
        lambda port: ["node", str(NODE_DIR / "peers.mjs"), name, str(port), *shared],
        NODE_DIR,
        env,
        core,
    )
    return Running(
        name, started, {"protocol": protocol, "urls": [f"ws://127.0.0.1:{p}" for p in ports]}
    )


def start(
    name: str, workdir: Path, *, processes: int = 1, redis_url: str | None = None, **kwargs: Any
) -> Running:
    if name == "roundtable":
        return start_roundtable(workdir, processes=processes, redis_url=redis_url, **kwargs)
    return start_peer(name, processes=processes, redis_url=redis_url, **kwargs)


def stop(running: Running) -> None:
    for process in running.processes:
        process.terminate()
    for process in running.processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def serving(name: str, workdir: Path, **kwargs: Any) -> Iterator[Running]:
    running = start(name, workdir, **kwargs)
    try:
        yield running
    finally:
        stop(running)


def run_loadgen(
    running: Running, spec: dict[str, Any], *, core: int | None = 1, quiet: bool = False
) -> dict[str, Any]:
    """Run one workload of the Node load generator against ``running``; its JSON result."""
    full = {"target": running.target, "pids": running.pids, **spec}
    env = {**os.environ, "LOADGEN_QUIET": "1" if quiet else "0"}
    completed = subprocess.run(
        pinned(core, ["node", str(NODE_DIR / "loadgen.mjs"), json.dumps(full)]),
        cwd=NODE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"load generator failed on {running.name}: {spec['workload']}")
    result: dict[str, Any] = json.loads(completed.stdout)
    return result
