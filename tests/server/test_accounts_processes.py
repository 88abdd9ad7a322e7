"""Accounts across processes: two ``roundtable serve`` processes sharing PostgreSQL and
Redis, as two hosts behind a load balancer without sticky sessions. A sign-in asked of
one is redeemed at the other; wrong codes and the sign-in limits count across both; a
session made by one works at the other; signing out at one closes the connections that
browser holds at the other; a role change at one reconnects the person at the other."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from server.storage.accounts import SqlAccountStore
from server.storage.store import create_engine
from tests.support.cluster import Launcher, ServeProcess
from tests.support.smtp import SmtpServer, code_in, link_in
from tests.support.threads_client import event_connection
from tests.support.timing import timeout

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture
async def hosts(
    launcher: Launcher, postgres_url: str, redis_url: str, prefix: str, smtp_server: SmtpServer
) -> tuple[ServeProcess, ServeProcess]:
    common: dict[str, Any] = {
        "database_url": postgres_url,
        "redis_url": redis_url,
        "prefix": prefix,
        "env": {
            "ROUNDTABLE_SMTP_URL": smtp_server.url,
            "ROUNDTABLE_MAX_SIGN_INS_PER_EMAIL_PER_HOUR": "3",
        },
    }
    a = await launcher.start("a", **common)
    b = await launcher.start("b", **common)
    engine = create_engine(postgres_url)
    try:
        await SqlAccountStore(engine).set_setting("room_creation", "anyone")
    finally:
        await engine.dispose()
    return a, b


def browser_at(host: ServeProcess) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=host.http, headers={"origin": host.http})


async def test_a_sign_in_is_one_thing_on_every_host(
    hosts: tuple[ServeProcess, ServeProcess], smtp_server: SmtpServer
) -> None:
    a, b = hosts
    async with browser_at(a) as on_a, browser_at(b) as on_b:
        assert (
            await on_a.post("/api/sign-in", json={"email": "ana@example.com"})
        ).status_code == 202
        message = await smtp_server.next_message()
        token = link_in(message).rsplit("/", 1)[1]
        assert (await on_b.post("/api/sign-in/link", json={"token": token})).status_code == 200
        # Used at B: used at A too.
        again = await on_a.post("/api/sign-in/link", json={"token": token})
        assert again.json()["error"]["code"] == "link_used"
        # B's cookie works at A: one session table.
        on_a.cookies = on_b.cookies
        assert (await on_a.get("/api/account")).json()["account"]["email"] == "ana@example.com"

        # Wrong codes count on both hosts: 3 at A and 2 at B end the sign-in.
        assert (
            await on_b.post("/api/sign-in", json={"email": "bo@example.com"})
        ).status_code == 202
        right = code_in(await smtp_server.next_message())
        wrong = f"{(int(right) + 1) % 10**6:06d}"
        for host in (on_a, on_a, on_a, on_b, on_b):
            answer = await host.post(
                "/api/sign-in/code", json={"email": "bo@example.com", "code": wrong}
            )
            assert answer.status_code == 401
        late = await on_a.post("/api/sign-in/code", json={"email": "bo@example.com", "code": right})
        assert late.json()["error"]["code"] == "code_expired"

        # The limit per address (3 an hour here) counts on both: 2 more asked above.
        assert (
            await on_a.post("/api/sign-in", json={"email": "bo@example.com"})
        ).status_code == 202
        assert (
            await on_b.post("/api/sign-in", json={"email": "bo@example.com"})
        ).status_code == 202
        limited = await on_a.post("/api/sign-in", json={"email": "bo@example.com"})
        assert limited.status_code == 429


async def sign_in(http: httpx.AsyncClient, mail: SmtpServer, email: str) -> None:
    assert (await http.post("/api/sign-in", json={"email": email})).status_code == 202
    code = code_in(await mail.next_message())
    answer = await http.post("/api/sign-in/code", json={"email": email, "code": code})
    assert answer.status_code == 200, answer.text


def events_url(host: ServeProcess, joined: dict[str, Any]) -> str:
    return f"ws://127.0.0.1:{host.port}/events/{joined['room']}?token={joined['token']}"


async def test_sign_outs_and_role_changes_reach_connections_on_the_other_host(
    hosts: tuple[ServeProcess, ServeProcess], smtp_server: SmtpServer
) -> None:
    a, b = hosts
    async with browser_at(a) as owner, browser_at(a) as phone_at_a, browser_at(b) as laptop:
        await sign_in(owner, smtp_server, "fay@example.com")
        created = await owner.post("/api/rooms", json={"title": "Two hosts"})
        assert created.status_code == 201, created.text
        room = created.json()
        await sign_in(phone_at_a, smtp_server, "lu@example.com")
        await sign_in(laptop, smtp_server, "lu@example.com")
        phone = (
            await phone_at_a.post("/api/account/join", json={"invite": room["invites"]["member"]})
        ).json()
        on_b = (await laptop.post(f"/api/account/rooms/{room['room']}/token")).json()
        assert on_b["participant"]["id"] == phone["participant"]["id"]
        async with event_connection(events_url(b, on_b)) as laptop_events:
            # A role change made at A reconnects the laptop at B.
            changed = await owner.patch(
                f"/api/rooms/{room['room']}/participants/{phone['participant']['id']}",
                json={"role": "observer"},
                headers={"authorization": "Bearer " + room["join"]["token"]},
            )
            assert changed.status_code == 200
            await asyncio.wait_for(laptop_events.reader, timeout(10))
            assert laptop_events.ws.close_code == 4000
        async with event_connection(events_url(b, on_b)) as laptop_events:
            # The laptop signs out at A (its cookie works there): its socket at B closes.
            async with browser_at(a) as laptop_at_a:
                laptop_at_a.cookies = laptop.cookies
                sessions = (await laptop_at_a.get("/api/account/sessions")).json()["sessions"]
                mine = next(s for s in sessions if s["current"])
                ended = await laptop_at_a.delete(f"/api/account/sessions/{mine['id']}")
                assert ended.status_code == 204
            await asyncio.wait_for(laptop_events.reader, timeout(10))
            assert laptop_events.ws.close_code == 4401
        # The phone, another browser, goes on.
        assert (
            await phone_at_a.get(
                f"/api/rooms/{room['room']}",
                headers={"authorization": "Bearer " + phone["token"]},
            )
        ).status_code == 200
