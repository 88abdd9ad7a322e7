"""How long a participant token lasts: 7 days by default, ``ROUNDTABLE_TOKEN_TTL_SECONDS``
otherwise. ``POST /api/join`` answers the expiry as ``expires_at`` (Unix seconds): the
token's own ``exp`` claim, its issue time (``iat``) plus the lifetime. The token is taken
until then and refused (401) from then on.
"""

from __future__ import annotations

import asyncio
import math
import time
from pathlib import Path
from typing import Any

import httpx
import jwt

from rooms.roles import Role
from server.config import Settings
from tests.support.harness import RunningServer, run_server
from tests.support.timing import timeout

SEVEN_DAYS = 7 * 24 * 3600
KEY = "token-lifetime-test-key-0123456789abcdef"


def settings_from(environ: dict[str, str], tmp_path: Path) -> Settings:
    return Settings.from_env(
        {"ROUNDTABLE_SECRET_KEY": KEY, **environ},
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'rt.db'}",
        flush_interval=0.05,
    )


async def joined(server: RunningServer) -> tuple[dict[str, Any], dict[str, Any], int, int]:
    """Join a new room as a member: the response body, the token's claims, and the
    Unix seconds just before and just after the request."""
    room = await server.create_room()
    async with httpx.AsyncClient(base_url=server.http) as client:
        before = math.floor(time.time())
        response = await client.post(
            "/api/join", json={"invite": room.invites[Role.MEMBER], "name": "Ann"}
        )
        after = math.ceil(time.time())
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    claims: dict[str, Any] = jwt.decode(
        body["token"], KEY, algorithms=["HS256"], issuer="roundtable"
    )
    return body, claims, before, after


async def test_a_token_lasts_seven_days_by_default(tmp_path: Path) -> None:
    settings = settings_from({}, tmp_path)
    async with run_server(settings) as server:
        body, claims, before, after = await joined(server)
    assert isinstance(body["expires_at"], int)
    assert body["expires_at"] == claims["exp"]
    assert before <= claims["iat"] <= after
    assert claims["exp"] == claims["iat"] + SEVEN_DAYS
    assert before + SEVEN_DAYS <= body["expires_at"] <= after + SEVEN_DAYS
    assert settings.token_ttl_seconds == Settings().token_ttl_seconds == SEVEN_DAYS


async def test_the_lifetime_comes_from_the_environment(tmp_path: Path) -> None:
    settings = settings_from({"ROUNDTABLE_TOKEN_TTL_SECONDS": "3600"}, tmp_path)
    assert settings.token_ttl_seconds == 3600
    async with run_server(settings) as server:
        body, claims, before, after = await joined(server)
        assert server.app_state.signer.verify(body["token"]).expires_at == body["expires_at"]
    assert body["expires_at"] == claims["exp"] == claims["iat"] + 3600
    assert before + 3600 <= body["expires_at"] <= after + 3600


async def test_a_token_is_taken_until_expires_at_and_refused_from_then_on(
    tmp_path: Path,
) -> None:
    ttl = 3
    settings = settings_from({"ROUNDTABLE_TOKEN_TTL_SECONDS": str(ttl)}, tmp_path)
    async with run_server(settings) as server:
        room = await server.create_room()
        async with httpx.AsyncClient(base_url=server.http) as client:
            response = await client.post(
                "/api/join", json={"invite": room.invites[Role.MEMBER], "name": "Ann"}
            )
            body = response.json()
            expires_at: int = body["expires_at"]
            headers = {"authorization": f"Bearer {body['token']}"}
            statuses: list[int] = []
            deadline = time.time() + ttl + timeout(5)
            while time.time() < deadline:
                sent = time.time()
                answer = await client.get(f"/api/rooms/{room.room.slug}", headers=headers)
                statuses.append(answer.status_code)
                if answer.status_code != 200:
                    break
                # Taken only while the request was answered before the expiry.
                assert sent < expires_at, "a token was taken after its expiry"
                await asyncio.sleep(0.05)
    assert statuses[0] == 200, "the fresh token was refused"
    assert statuses[-1] == 401, statuses
    assert answer.json()["error"] == {"code": "unauthorized", "message": "token expired"}
    assert time.time() >= expires_at, "the token was refused before its expiry"
