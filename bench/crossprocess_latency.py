"""Added latency of an update that crosses processes through Redis.

Starts two Roundtable processes (A and B) on one database and one Redis, connects a
writer and a reader to A and a reader to B, sends updates at a fixed rate from the
writer and records when each reader receives each one. The reader on A measures the
in-process path, the reader on B the path through Redis; the difference is the cost
of crossing processes.

    .venv/bin/python bench/crossprocess_latency.py --updates 2000 --rate 200
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from pycrdt import Doc, Text
from websockets.asyncio.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crdt.protocol import (  # noqa: E402
    SyncStep1,
    SyncUpdate,
    decode_message,
    encode_sync_step1,
    encode_sync_step2,
    encode_update,
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_server(port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "server.cli",
            "serve",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def wait_healthy(port: int) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(300):
            try:
                if (await client.get(f"http://127.0.0.1:{port}/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
    raise RuntimeError(f"server on {port} did not start")


async def handshake(ws: ClientConnection) -> None:
    doc: Doc[Any] = Doc()
    await ws.send(encode_sync_step1(doc.get_state()))
    while True:
        message = decode_message(await ws.recv())  # type: ignore[arg-type]
        if isinstance(message, SyncStep1):
            await ws.send(encode_sync_step2(doc.get_update(message.state_vector)))
        elif type(message).__name__ == "SyncStep2":
            return


async def read_updates(ws: ClientConnection, arrivals: list[float], count: int) -> None:
    while len(arrivals) < count:
        message = decode_message(await ws.recv())  # type: ignore[arg-type]
        if isinstance(message, SyncUpdate):
            arrivals.append(time.perf_counter())


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(args: argparse.Namespace) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="roundtable-bench-"))
    database = args.database_url or f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
    env = {
        **os.environ,
        "ROUNDTABLE_DATABASE_URL": database,
        "ROUNDTABLE_REDIS_URL": args.redis_url,
        "ROUNDTABLE_REDIS_PREFIX": f"bench-{uuid.uuid4().hex[:8]}",
        "ROUNDTABLE_SECRET_KEY": "bench-secret-key-long-enough-for-signing-0123",
    }
    creating = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server.cli",
        "room",
        "create",
        "Bench",
        "--json",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
    )
    created, _ = await creating.communicate()
    if creating.returncode != 0:
        raise RuntimeError("could not create the bench room")
    room = json.loads(created)
    port_a, port_b = free_port(), free_port()
    servers = [start_server(port_a, env), start_server(port_b, env)]
    try:
        await wait_healthy(port_a)
        await wait_healthy(port_b)
        async with httpx.AsyncClient() as client:
            joined = await client.post(
                f"http://127.0.0.1:{port_a}/api/join",
                json={"invite": room["invites"]["member"], "name": "bench"},
            )
        token = joined.json()["token"]
        path = f"/sync/{room['room']}/bench?token={token}"
        writer = await connect(f"ws://127.0.0.1:{port_a}{path}")
        local = await connect(f"ws://127.0.0.1:{port_a}{path}")
        remote = await connect(f"ws://127.0.0.1:{port_b}{path}")
        for ws in (writer, local, remote):
            await handshake(ws)
        doc: Doc[Any] = Doc()
        text = doc.get("text", type=Text)
        sent: list[float] = []
        local_arrivals: list[float] = []
        remote_arrivals: list[float] = []
        readers = [
            asyncio.create_task(read_updates(local, local_arrivals, args.updates)),
            asyncio.create_task(read_updates(remote, remote_arrivals, args.updates)),
        ]
        interval = 1 / args.rate
        start = time.perf_counter()
        for i in range(args.updates):
            # Open loop: latency counts from the intended send time.
            intended = start + i * interval
            delay = intended - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            before = doc.get_state()
            text.insert(len(text), "x")
            sent.append(intended)
            await writer.send(encode_update(doc.get_update(before)))
        await asyncio.wait_for(asyncio.gather(*readers), 60)
        in_process = [(a - s) * 1000 for a, s in zip(local_arrivals, sent, strict=True)]
        crossing = [(a - s) * 1000 for a, s in zip(remote_arrivals, sent, strict=True)]
        added = [c - i for c, i in zip(crossing, in_process, strict=True)]
        print(f"{args.updates} updates at {args.rate}/s, database {database.split(':')[0]}")
        print(f"{'path':<22}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}")
        for name, values in (
            ("same process", in_process),
            ("through Redis", crossing),
            ("added by crossing", added),
        ):
            print(
                f"{name:<22}{statistics.median(values):>9.3f}"
                f"{percentile(values, 0.99):>9.3f}{max(values):>9.3f}"
            )
        for ws in (writer, local, remote):
            await ws.close()
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=200.0, help="updates per second")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
