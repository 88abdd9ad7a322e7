"""Two hosts behind nginx, restarted one at a time while people type.

Two ``roundtable serve`` processes stand in for two hosts: their own ports, one
PostgreSQL database and one Redis. Debian's nginx runs the deployment guide's
configuration (``docs/deploy/nginx.conf``, see ``proxy.py``) in front of them: TLS,
round robin, no sticky sessions. Real Yjs clients (the npm y-websocket provider, which
reconnects by itself) join and type through the proxy while each instance in turn is
stopped with SIGTERM and started again on its port; every client must end with the same
text holding every edit anyone made, and storage must hold that text.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from rooms.directory import CreatedRoom
from rooms.roles import Role
from tests.deploy.proxy import NginxProxy, nginx_binary, running_nginx
from tests.support.cluster import DOC, Database, Launcher, ServeProcess, converge, poll
from tests.support.node_client import NodeClient, NodePuppet, require_node_puppet
from tests.support.timing import SCALE, eventually, timeout

# Five server starts in a row: on a loaded machine each takes up to 15 s.
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.node,
    pytest.mark.timeout(int(240 * SCALE)),
]

WAIT = timeout(10.0)
CLIENTS = 4
# Seconds between two edits of one client: a fast typist, well under the server's
# per-connection message budget.
PACE = 0.1
# Edits each client makes after each restart before the next step (so edits are made
# while its socket is down, reconnecting, and back).
EDITS_PER_STEP = 10
# A stopping instance drains and closes its sockets over a few seconds in production;
# here briefly, so the test stays short.
INSTANCE_ENV = {"ROUNDTABLE_DRAIN_SECONDS": "0.5", "ROUNDTABLE_CLOSE_SPREAD_SECONDS": "0.5"}
MARKER = re.compile(r"<[a-z0-9]+\.[0-9]+>")


@dataclass
class Typist:
    """One client typing a unique marker at the start of the text, over and over."""

    client: NodeClient
    typed: list[str] = field(default_factory=list)

    async def type_until(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            marker = f"<{self.client.id}.{len(self.typed)}>"
            # Index 0 is valid whatever this client has received meanwhile.
            await self.client.insert(0, marker)
            self.typed.append(marker)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), PACE)

    def text(self) -> str | None:
        return self.client.text

    @property
    def connected(self) -> bool:
        event = self.client.puppet.latest(
            lambda e: e["event"] == "status" and e.get("id") == self.client.id
        )
        return event is not None and event["status"] == "connected"

    def closed_since(self, mark: int) -> list[Any]:
        """Close codes the server sent this client since ``mark``."""
        return [
            e.get("code")
            for e in self.client.puppet.events[mark:]
            if e["event"] == "close" and e.get("id") == self.client.id and not e.get("local")
        ]


def missing(typists: list[Typist], markers: list[str]) -> dict[str, str]:
    """What each client lacks of ``markers``, in short."""
    report = {}
    for typist in typists:
        text = typist.text() or ""
        lacking = [marker for marker in markers if marker not in text]
        report[typist.client.id] = f"{len(lacking)} of {len(markers)} missing: {lacking[:5]}"
    return report


async def join_through(proxy: NginxProxy, room: CreatedRoom, name: str) -> str:
    async with proxy.client() as client:
        response = await client.post(
            "/api/join", json={"invite": room.invites[Role.MEMBER], "name": name}
        )
    response.raise_for_status()
    token: str = response.json()["token"]
    return token


async def documents_loaded(instance: ServeProcess) -> int:
    async with httpx.AsyncClient(base_url=instance.http) as client:
        response = await client.get("/health", timeout=2)
    return int(response.json()["documents_loaded"])


async def wait_ready(instance: ServeProcess) -> None:
    """Until the instance answers GET /ready with 200 on its own port."""

    async def ready() -> bool:
        if not instance.running:
            raise AssertionError(f"{instance.name} exited:\n{instance.log()[-4000:]}")
        try:
            async with httpx.AsyncClient(base_url=instance.http) as client:
                return (await client.get("/ready", timeout=2)).status_code == 200
        except httpx.TransportError:
            return False

    await poll(ready, 30, f"{instance.name} to be ready")


async def stop_cleanly(instance: ServeProcess) -> None:
    code = await instance.stop(signal.SIGTERM)
    assert code == 0, f"{instance.name} exited with {code}:\n{instance.log()[-4000:]}"


async def each_typed(typists: list[Typist], edits: int, what: str) -> None:
    """Until every client has made ``edits`` more edits and is connected."""
    wanted = {t.client.id: len(t.typed) + edits for t in typists}
    await eventually(
        lambda: all(len(t.typed) >= wanted[t.client.id] and t.connected for t in typists),
        30,
        what,
    )


async def test_clients_typing_through_nginx_lose_nothing_while_each_instance_restarts(
    launcher: Launcher,
    database: Database,
    postgres_url: str,
    redis_url: str,
    prefix: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    nginx_binary()
    require_node_puppet()
    common: dict[str, Any] = {
        "database_url": postgres_url,
        "redis_url": redis_url,
        "prefix": prefix,
        "env": INSTANCE_ENV,
    }
    # Together, as hosts come up (the first to migrate the schema holds a lock).
    a, b = await asyncio.gather(launcher.start("a", **common), launcher.start("b", **common))
    room = await database.create_room()
    slug = room.room.slug

    async with running_nginx(tmp_path / "nginx", [a.port, b.port]) as proxy:
        async with proxy.client() as client:
            plain = await client.get(proxy.http + "/join/x", follow_redirects=False)
            metrics = await client.get("/metrics")
        assert plain.status_code == 301
        assert plain.headers["location"].startswith("https://")
        assert metrics.status_code == 404

        # Node trusts the proxy's self-signed certificate.
        monkeypatch.setenv("NODE_EXTRA_CA_CERTS", str(proxy.certificate))
        puppet = await NodePuppet.start(ready_timeout=timeout(15.0))
        try:
            # All joins first: nginx takes turns over every request, and a join and a
            # socket one after the other would each time land on the same pair.
            tokens = [await join_through(proxy, room, f"Typist {n}") for n in range(CLIENTS)]
            typists = [Typist(puppet.client(f"c{n}")) for n in range(CLIENTS)]
            for typist, token in zip(typists, tokens, strict=True):
                await typist.client.connect(proxy.sync_url(slug), DOC, token)
                await typist.client.wait_synced(WAIT)

            # Round robin put clients on both instances.
            async def both_serve_the_document() -> bool:
                return await documents_loaded(a) >= 1 and await documents_loaded(b) >= 1

            try:
                await poll(both_serve_the_document, 10, "clients on both instances")
            except AssertionError as exc:
                raise AssertionError(f"{exc}; nginx passed on: {proxy.access_log()}") from None

            stop = asyncio.Event()
            typing = [asyncio.create_task(t.type_until(stop)) for t in typists]
            try:
                await each_typed(typists, EDITS_PER_STEP, "everyone typing")

                mark = puppet.mark()
                await stop_cleanly(a)
                a = await launcher.start("a-again", **common, port=a.port)
                await wait_ready(a)
                await each_typed(typists, EDITS_PER_STEP, "everyone back after A's restart")
                cut = {t.client.id: t.closed_since(mark) for t in typists}
                # Its clients were told it restarts (and then reconnected elsewhere).
                assert any(1012 in codes for codes in cut.values()), f"restarting A: {cut}"

                mark = puppet.mark()
                await stop_cleanly(b)
                b = await launcher.start("b-again", **common, port=b.port)
                await wait_ready(b)
                await each_typed(typists, EDITS_PER_STEP, "everyone back after B's restart")
                cut = {t.client.id: t.closed_since(mark) for t in typists}
                # Its clients were told it restarts (and then reconnected elsewhere).
                assert any(1012 in codes for codes in cut.values()), f"restarting B: {cut}"
            finally:
                stop.set()
                await asyncio.gather(*typing)

            markers = [marker for t in typists for marker in t.typed]
            probes: dict[str, Callable[[], str | None]] = {t.client.id: t.text for t in typists}
            try:
                text = await converge(probes, markers, seconds=30)
            except AssertionError:
                raise AssertionError(f"no convergence: {missing(typists, markers)}") from None
            # Each edit once, and nothing else.
            found = Counter(MARKER.findall(text))
            assert found == Counter(markers)
            assert "".join(MARKER.findall(text)) == text

            for t in typists:
                await t.client.destroy()
            await stop_cleanly(a)
            await stop_cleanly(b)
            assert await database.text(room) == text

            a = await launcher.start("a-alone", **common, port=a.port)
            await wait_ready(a)
            reader = puppet.client("reader")
            await reader.connect(
                proxy.sync_url(slug), DOC, await join_through(proxy, room, "Reader")
            )
            await reader.wait_synced(WAIT)
            await reader.wait_text(text, WAIT)
        finally:
            await puppet.close()
