"""``ROUNDTABLE_LOG_FORMAT=json``: one JSON object a line, with the request and connection
ids, and secrets still redacted.

A real ``roundtable serve`` writes its log in JSON while it is driven over HTTP (with and
without an ``X-Request-ID``) and over a sync socket whose URL carries a token; every
line of its stderr must parse, and carry the ids of what it was written for. The
formatter itself is checked on an exception holding a token.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from rooms.roles import Role
from server import log_context
from server.logs import JsonLines, RedactSecrets, configure_logging
from tests.support.cluster import (
    ROOT,
    SECRET,
    Database,
    Launcher,
    ServeProcess,
    doc_url,
    free_port,
)
from tests.support.timing import timeout
from tests.support.yclient import open_synced

REQUEST_ID = "probe-req.1_A"


async def start_json_server(launcher: Launcher, tmp_path: Path, database_url: str) -> ServeProcess:
    """``roundtable serve`` with JSON logs; its stderr (the log) alone in ``name.log``."""
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ROUNDTABLE_")}
    environ.update(
        {
            "ROUNDTABLE_SECRET_KEY": SECRET,
            "ROUNDTABLE_LOG_LEVEL": "info",
            "ROUNDTABLE_LOG_FORMAT": "json",
            "ROUNDTABLE_DRAIN_SECONDS": "0",
            "ROUNDTABLE_CLOSE_SPREAD_SECONDS": "0",
        }
    )
    log_path = tmp_path / "json.log"
    with log_path.open("wb") as stderr, (tmp_path / "stdout.txt").open("wb") as stdout:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "server.cli",
            "serve",
            "--port",
            str(port),
            "--database-url",
            database_url,
            cwd=ROOT,
            env=environ,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
        )
    served = ServeProcess("json", process, port, log_path)
    launcher.started.append(served)
    await served.wait_healthy()
    return served


def parse_lines(text: str) -> list[dict[str, Any]]:
    records = []
    for number, line in enumerate(text.splitlines(), 1):
        try:
            record = json.loads(line)
        except ValueError:
            raise AssertionError(f"line {number} is not JSON: {line!r}") from None
        assert isinstance(record, dict), line
        assert {"time", "level", "logger", "message"} <= record.keys(), line
        assert record["time"].endswith("+00:00"), line
        records.append(record)
    return records


async def test_a_server_logs_json_lines_with_request_and_connection_ids(
    launcher: Launcher, tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'rt.db'}"
    served = await start_json_server(launcher, tmp_path, url)
    database = Database(url)
    try:
        room = await database.create_room()
    finally:
        await database.close()
    slug = room.room.slug
    invite = room.invites[Role.MEMBER]
    unsafe_id = "not safe: spaces and " + "x" * 80
    async with httpx.AsyncClient(base_url=served.http) as http:
        joined = await http.post(
            "/api/join",
            json={"invite": invite, "name": "Ann"},
            headers={"x-request-id": REQUEST_ID},
        )
        assert joined.status_code == 200, joined.text
        assert joined.headers["x-request-id"] == REQUEST_ID
        token = joined.json()["token"]
        other = await http.get(f"/api/rooms/{slug}", headers={"x-request-id": unsafe_id})
        generated = other.headers["x-request-id"]
        assert generated != unsafe_id and generated.isalnum()
        page = await http.get(f"/join/{invite}")
        assert page.status_code == 200
    client = await open_synced(doc_url(served, room), token)
    client.insert(0, "hello")
    await client.edits_sent()
    await client.close()
    assert await served.stop(signal.SIGTERM) == 0, served.log()[-4000:]

    log = served.log()
    records = parse_lines(log)
    assert token not in log and invite not in log, "a secret reached the JSON log"
    assert unsafe_id not in log

    with_id = [r for r in records if r.get("request_id") == REQUEST_ID]
    assert any(
        r["logger"] == "uvicorn.access" and "POST /api/join" in r["message"] for r in with_id
    ), with_id
    assert any(r.get("request_id") == generated and r.get("room") == slug for r in records)
    redacted = [r for r in records if "/join/[redacted]" in r["message"]]
    assert redacted, "the invite link's access line is missing"

    sync_lines = [r for r in records if r["logger"] == "roundtable.sync"]
    assert [r["message"].split()[-2] for r in sync_lines] == ["joined", "left"], sync_lines
    ids = {r.get("connection_id") for r in sync_lines}
    assert len(ids) == 1 and None not in ids, sync_lines
    [connection] = ids
    assert all((r["room"], r["document"]) == (slug, "guide") for r in sync_lines)
    opened = [
        r
        for r in records
        if r.get("connection_id") == connection and "?token=[redacted]" in r["message"]
    ]
    assert opened, "uvicorn's line for the socket's handshake lacks the connection id"


@pytest.fixture
def captured() -> Any:
    """A logger writing JSON lines, as configured, into a buffer."""
    output = io.StringIO()
    handler = logging.StreamHandler(output)
    handler.setFormatter(JsonLines())
    handler.addFilter(RedactSecrets())
    logger = logging.getLogger("roundtable.test_log_format")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield logger, output
    finally:
        logger.removeHandler(handler)


def test_an_exception_is_one_json_line_with_its_text_redacted(captured: Any) -> None:
    logger, output = captured
    secret = "eyJhbGciOi.secret-token-value"
    token = log_context.connection_id.set("conn-1")
    try:
        raise RuntimeError(f"failed for /sync/r/d?token={secret}")
    except RuntimeError:
        logger.exception("closing ?token=%s", secret)
    finally:
        log_context.connection_id.reset(token)
    [line] = output.getvalue().splitlines()
    record = json.loads(line)
    assert secret not in line
    assert record["message"] == "closing ?token=[redacted]"
    assert record["level"] == "ERROR"
    assert record["connection_id"] == "conn-1"
    assert "request_id" not in record
    assert record["exception"].startswith("Traceback")
    assert "token=[redacted]" in record["exception"]


def test_an_unknown_log_format_is_refused() -> None:
    with pytest.raises(ValueError, match="ROUNDTABLE_LOG_FORMAT='xml'"):
        configure_logging("info", "xml")


def test_the_cli_refuses_an_unknown_log_format(tmp_path: Path) -> None:
    environ = {**os.environ, "ROUNDTABLE_LOG_FORMAT": "xml"}
    result = subprocess.run(
        [sys.executable, "-m", "server.cli", "serve", "--database-url", "sqlite://"],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=timeout(60),
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "ROUNDTABLE_LOG_FORMAT='xml'" in result.stderr
