"""The ``roundtable`` command as a user runs it: room creation, serve, graceful stop."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import sys
from pathlib import Path

import httpx
import pytest
from pycrdt import Text

from crdt.document import SyncDocument
from rooms.roles import Role
from server.storage.store import SqlStore, create_engine
from tests.support.timing import timeout
from tests.support.yclient import open_synced

ROOT = Path(__file__).resolve().parents[2]


async def _run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server.cli",
        *args,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout(60))
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_room_create_prints_json_with_invites(sqlite_url: str) -> None:
    code, out, err = await _run(
        "room", "create", "Style guide sprint", "--json", "--database-url", sqlite_url
    )
    assert code == 0, err
    created = json.loads(out)
    assert created["room"].startswith("style-guide-sprint-")
    assert created["title"] == "Style guide sprint"
    assert set(created["invites"]) == {"facilitator", "member", "observer"}
    assert len(set(created["invites"].values())) == 3


async def test_room_create_refuses_an_empty_title(sqlite_url: str) -> None:
    code, _, err = await _run("room", "create", "   ", "--database-url", sqlite_url)
    assert code == 2
    assert "title must not be empty" in err


async def test_several_workers_without_redis_are_refused(sqlite_url: str) -> None:
    code, _, err = await _run("serve", "--workers", "2", "--database-url", sqlite_url)
    assert code == 2
    assert "--redis-url" in err


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
async def test_serve_prints_a_demo_link_and_flushes_on_stop(
    tmp_path: Path, stop: signal.Signals
) -> None:
    database = f"sqlite+aiosqlite:///{tmp_path / 'rt.db'}"
    port = _free_port()
    # A write-behind window far longer than the test: only the stop can store the edit.
    env = {**os.environ, "ROUNDTABLE_FLUSH_INTERVAL": "600", "ROUNDTABLE_LOG_LEVEL": "debug"}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server.cli",
        "serve",
        "--port",
        str(port),
        "--database-url",
        database,
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    try:
        link = ""
        async with asyncio.timeout(timeout(30)):
            while not link:
                line = (await process.stdout.readline()).decode()
                assert line, "serve exited before printing the demo link"
                match = re.search(r"(http://\S+/join/(\S+))", line)
                link = match.group(2) if match else ""
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base) as client:
            async with asyncio.timeout(timeout(30)):
                while True:
                    try:
                        if (await client.get("/health")).status_code == 200:
                            break
                    except httpx.TransportError:
                        await asyncio.sleep(0.05)
            page = await client.get(f"/join/{link}")
            assert page.status_code == 200
            joined = await client.post("/api/join", json={"invite": link, "name": "Fay"})
            assert joined.status_code == 200
            body = joined.json()
        assert body["room"] == "demo" and body["role"] == Role.FACILITATOR
        token = body["token"]
        url = f"ws://127.0.0.1:{port}/sync/demo/notes"
        writer = await open_synced(url, token)
        reader = await open_synced(url, token)
        writer.insert(0, "kept across a stop")
        await reader.wait_text("kept across a stop")
        process.send_signal(stop)
        await asyncio.wait_for(process.wait(), timeout(30))
        stderr = (await process.stderr.read()).decode()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    # uvicorn re-raises the stop signal once shutdown is complete, so a supervisor sees
    # how the process ended; the log says everything was stored first.
    assert process.returncode in (0, -stop), stderr
    assert "all updates stored; stopped" in stderr
    assert token not in stderr and link not in stderr
    assert "[redacted]" in stderr

    store = SqlStore(create_engine(database))
    try:
        demo = await store.get_room("demo")
        assert demo is not None
        info = await store.get_document(demo.id, "notes")
        assert info is not None
        stored = await store.load_document(info.id)
    finally:
        await store.close()
    doc = SyncDocument(stored.snapshot, stored.updates).ydoc
    assert str(doc.get("text", type=Text)) == "kept across a stop"
