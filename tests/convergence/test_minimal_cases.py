"""The smallest cases of divergences the convergence fuzzer found, as fixed scenarios.

Each sends a client's updates in the order that caused the divergence, as raw frames,
and checks that every copy still agrees.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pycrdt import Doc, Text, XmlElement, XmlFragment, XmlText

from crdt.protocol import encode_sync_step1, encode_update
from rooms.roles import Role
from tests.support.cluster import DOC, SECRET, connect, doc_url
from tests.support.harness import run_server
from tests.support.node_client import NodePuppet, require_node_puppet
from tests.support.settings import fast_settings
from tests.support.timing import eventually, timeout
from tests.support.yclient import YClient


def recorded(doc: Doc[Any]) -> list[bytes]:
    """The updates ``doc`` makes from now on, one per transaction."""
    updates: list[bytes] = []
    doc.observe(lambda event: updates.append(event.update))
    return updates


async def handled(client: YClient) -> None:
    """Wait until the server has handled every frame ``client`` sent so far."""
    client.synced.clear()
    await client.send(encode_sync_step1(b"\x00"))
    async with asyncio.timeout(timeout(5)):
        await client.synced.wait()


@pytest.mark.redis
@pytest.mark.postgres
async def test_an_update_released_by_an_edit_from_the_other_process_is_stored_and_relayed(
    postgres_url: str, redis_url: str, prefix: str
) -> None:
    # A client's second update reaches process A before its first, which reaches
    # process B (the client moved, or its frames took different paths). B applies the
    # first, stores it and publishes it; A then integrates both. The second must be
    # stored and reach B and B's clients like any other edit.
    settings = fast_settings(
        postgres_url, redis_url=redis_url, redis_prefix=prefix, secret_key=SECRET
    )
    async with run_server(settings) as a, run_server(settings) as b:
        room = await a.create_room()
        on_a = await connect(a, room, "Ann")
        on_b = await connect(b, room, "Bo")
        token = await a.join(room, Role.MEMBER, "Xi")
        writer: Doc[Any] = Doc()
        updates = recorded(writer)
        writer.get("text", type=Text).insert(0, "a")
        writer.get("text", type=Text).insert(1, "b")
        first, second = updates
        to_a = await YClient.open(doc_url(a, room), token, handshake=False)
        to_b = await YClient.open(doc_url(b, room), token, handshake=False)
        clients = [on_a, on_b, to_a, to_b]
        try:
            await to_a.send(encode_update(second))
            await handled(to_a)
            await to_b.send(encode_update(first))
            await on_a.wait_text("ab")
            await on_b.wait_text("ab")
            assert b.live_text(room, DOC) == "ab"
            await b.app_state.hub.flush_all()
            stored = await a.stored_document(room, DOC)
            assert str(stored.get("text", type=Text)) == "ab"
        finally:
            for client in clients:
                await client.close()


@pytest.mark.node
async def test_a_yjs_client_is_not_refused_while_another_clients_update_waits(
    sqlite_url: str,
) -> None:
    # A client's second update (a paragraph in the empty fragment: its parent is a root,
    # so pycrdt would integrate it at once) arrives before its first. Yjs keeps such an
    # update pending and sends it back in its sync step 2 after a reconnect; the server
    # must not take that for another participant's edit and refuse the connection (it
    # closed it with 1013 on every reconnect, and the client's own edits never arrived).
    require_node_puppet()
    async with run_server(fast_settings(sqlite_url)) as server:
        room = await server.create_room()
        watcher = await connect(server, room, "Ann")
        puppet = await NodePuppet.start(ready_timeout=timeout(15))
        sender: YClient | None = None
        try:
            yjs = puppet.client("yjs")
            slug = room.room.slug
            await yjs.connect(
                server.sync_url(slug), DOC, await server.join(room, Role.MEMBER, "Yu")
            )
            await yjs.wait_synced(timeout(10))
            writer: Doc[Any] = Doc()
            updates = recorded(writer)
            writer.get("text", type=Text).insert(0, "x")
            paragraph = writer.get("default", type=XmlFragment).children.append(
                XmlElement("paragraph")
            )
            paragraph.children.append(XmlText("p"))
            first, *rest = updates
            sender = await YClient.open(
                doc_url(server, room),
                await server.join(room, Role.MEMBER, "Xi"),
                handshake=False,
            )
            for update in rest:
                await sender.send(encode_update(update))
            await handled(sender)
            await yjs.disconnect()
            await yjs.reconnect()
            await yjs.insert(0, "y")
            await eventually(lambda: str(watcher.text) == "y", 10, "the yjs client's edit")
            await sender.send(encode_update(first))
            # Two inserts at 0 of an empty text: their order goes by client id.
            await eventually(lambda: sorted(str(watcher.text)) == ["x", "y"], 10, "x")
            await yjs.wait_text(str(watcher.text), timeout(10))
            fragment = watcher.doc.get("default", type=XmlFragment)
            assert str(fragment) == "<paragraph>p</paragraph>"
        finally:
            await puppet.close()
            await watcher.close()
            if sender is not None:
                await sender.close()
