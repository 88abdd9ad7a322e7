"""Logs never hold tokens or invite codes (docs/reliability.md, "Logs").

The server's own log set-up (:func:`server.logs.configure_logging`, at ``debug``, its
most talkative level) writes to a buffer while a real server is driven with secrets in
every place a request carries them: ``Authorization: Bearer`` on the HTTP API and on a
WebSocket handshake, ``?token=`` on both sockets (accepted, refused for a forged token,
refused for another site's Origin), and invite codes in ``/join/`` links. No secret may
appear in the output, and the lines that carried them must be there with the
``[redacted]`` marker instead, uvicorn's access lines included.
"""

from __future__ import annotations

import io
import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Origin

from rooms.roles import Role
from server.logs import configure_logging
from server.storage.store import create_engine
from tests.support.harness import run_server
from tests.support.settings import fast_settings
from tests.support.timing import timeout
from tests.support.yclient import YClient, open_synced

# The loggers configure_logging changes; "" is the root logger.
CONFIGURED = ["", "alembic", "aiosqlite", "uvicorn", "uvicorn.error", "uvicorn.access"]


@contextmanager
def server_log(level: str) -> Iterator[io.StringIO]:
    """The server's log output, in a buffer, while the block runs; the logging set-up
    before it is restored afterwards."""
    saved = []
    for name in CONFIGURED:
        logger = logging.getLogger(name)
        saved.append((logger, logger.level, list(logger.handlers), logger.propagate))
    output = io.StringIO()
    stderr = sys.stderr
    sys.stderr = output
    try:
        configure_logging(level)
    finally:
        sys.stderr = stderr
    try:
        yield output
    finally:
        for logger, logger_level, handlers, propagate in saved:
            for handler in list(logger.handlers):
                logger.removeHandler(handler)
            for handler in handlers:
                logger.addHandler(handler)
            logger.setLevel(logger_level)
            logger.propagate = propagate


async def test_no_token_or_invite_code_reaches_the_log(tmp_path: Path) -> None:
    with server_log("debug") as output:
        async with run_server(fast_settings(f"sqlite+aiosqlite:///{tmp_path / 'rt.db'}")) as server:
            room = await server.create_room()
            slug = room.room.slug
            member = await server.join(room, Role.MEMBER, "Ann")
            facilitator = await server.join(room, Role.FACILITATOR, "Fay")
            forged = member[:-4] + ("AAAA" if not member.endswith("AAAA") else "BBBB")
            ws_base = f"ws://127.0.0.1:{server.port}"

            async with httpx.AsyncClient(base_url=server.http) as client:
                for token, status in ((member, 200), (facilitator, 200), (forged, 401)):
                    answer = await client.get(
                        f"/api/rooms/{slug}", headers={"authorization": f"Bearer {token}"}
                    )
                    assert answer.status_code == status
                page = await client.get(f"/join/{room.invites[Role.OBSERVER]}")
                assert page.status_code == 200

            synced = await open_synced(f"{server.sync_url(slug)}/guide", member)
            await synced.close()
            async with connect(
                f"{ws_base}/events/{slug}?token={facilitator}&after=0", open_timeout=timeout(5)
            ) as events:
                await events.recv()
            refused = await YClient.open(f"{server.sync_url(slug)}/guide", forged)
            assert (await refused.wait_closed())[0] == 4401
            async with connect(
                f"{ws_base}/sync/{slug}/guide",
                additional_headers={"authorization": f"Bearer {member}"},
                open_timeout=timeout(5),
            ) as in_header:
                await in_header.wait_closed()
            assert in_header.close_code == 4401
            with pytest.raises(InvalidStatus) as refused_handshake:
                async with connect(
                    f"{ws_base}/sync/{slug}/guide?token={member}",
                    origin=Origin("http://elsewhere.example"),
                    open_timeout=timeout(5),
                ):
                    pass
            assert refused_handshake.value.response.status_code == 403
    log = output.getvalue()

    secrets = {
        "member token": member,
        "facilitator token": facilitator,
        "forged token": forged,
        **{f"{role} invite": code for role, code in room.invites.items()},
    }
    leaked = [what for what, secret in secrets.items() if secret in log]
    assert not leaked, f"the log holds the {leaked}"

    expected = [
        r'"GET /join/\[redacted\] HTTP/1\.1" 200',
        rf'"WebSocket /sync/{slug}/guide\?token=\[redacted\]" \[accepted\]',
        rf'"WebSocket /events/{slug}\?token=\[redacted\]&after=0" \[accepted\]',
        rf'"WebSocket /sync/{slug}/guide\?token=\[redacted\]" 403',
        r"uvicorn\.error: < authorization: Bearer \[redacted\]",
        rf'"GET /api/rooms/{slug} HTTP/1\.1" 401',
    ]
    missing = [pattern for pattern in expected if not re.search(pattern, log)]
    assert not missing, f"no log line matches {missing}:\n{log[-6000:]}"


def test_exception_text_stack_and_any_bearer_value_are_redacted() -> None:
    log = logging.getLogger("roundtable.test")
    with server_log("info") as output:
        try:
            raise ValueError("refused /sync/r/d?token=eyJsecret.part.sig for /join/INVITE1")
        except ValueError:
            log.exception("failed")
        log.info("header: Bearer AbC+/dEf==", stack_info=True)
        log.warning("admin: Bearer %s", "c2VjcmV0/K3k=")
    text = output.getvalue()
    for secret in ("eyJsecret", "INVITE1", "AbC+/dEf==", "+/dEf", "c2VjcmV0", "K3k="):
        assert secret not in text, secret
    assert "ValueError: refused /sync/r/d?token=[redacted] for /join/[redacted]" in text
    assert "Bearer [redacted]" in text
    assert "Stack (most recent call last)" in text


async def test_database_errors_name_no_parameters(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'rt.db'}")
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (code TEXT UNIQUE)"))
            await connection.execute(text("INSERT INTO t VALUES (:code)"), {"code": "INVITE2"})
            with pytest.raises(IntegrityError) as refused:
                await connection.execute(text("INSERT INTO t VALUES (:code)"), {"code": "INVITE2"})
    finally:
        await engine.dispose()
    assert "INVITE2" not in str(refused.value)
    assert "parameters hidden" in str(refused.value)
