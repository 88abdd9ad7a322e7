"""A real Roundtable server in the test's event loop (uvicorn on a free port)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn
from pycrdt import Doc, Text

from crdt.document import SyncDocument
from rooms.directory import CreatedRoom
from rooms.live.document import LiveDocument
from rooms.roles import Role
from server.app import create_app
from server.cli import uvicorn_options
from server.config import Settings
from server.state import AppState
from tests.support.timing import eventually


@dataclass
class RunningServer:
    settings: Settings
    port: int
    app_state: AppState

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def sync_url(self, room: str) -> str:
        """The y-websocket ``serverUrl`` of a room: the client appends ``/{doc}``."""
        return f"ws://127.0.0.1:{self.port}/sync/{room}"

    def loaded(self, room: CreatedRoom, name: str) -> LiveDocument | None:
        """The loaded document ``name`` of ``room``, or None if it is not loaded."""
        for document in self.app_state.hub.documents.values():
            if document.info.room_id == room.room.id and document.info.name == name:
                return document
        return None

    def live_document(self, room: CreatedRoom, name: str) -> LiveDocument:
        document = self.loaded(room, name)
        if document is None:
            raise AssertionError(f"document {name!r} of room {room.room.slug} is not loaded")
        return document

    def live_text(self, room: CreatedRoom, name: str) -> str | None:
        """The text of a loaded document as the server holds it, or None if not loaded."""
        document = self.loaded(room, name)
        return None if document is None else str(document.sync.ydoc.get("text", type=Text))

    async def stored_document(self, room: CreatedRoom, name: str) -> Doc[Any]:
        """Flush the write-behind buffers, then rebuild the document from the database."""
        await self.app_state.hub.flush_all()
        info = await self.app_state.store.get_document(room.room.id, name)
        assert info is not None, f"document {name!r} was never stored"
        stored = await self.app_state.store.load_document(info.id)
        return SyncDocument(stored.snapshot, stored.updates).ydoc

    async def create_room(self, title: str = "Style guide sprint") -> CreatedRoom:
        return await self.app_state.directory.create_room(title)

    async def join(self, room: CreatedRoom, role: Role, name: str = "Ann") -> str:
        async with httpx.AsyncClient(base_url=self.http) as client:
            response = await client.post(
                "/api/join", json={"invite": room.invites[role], "name": name}
            )
        response.raise_for_status()
        token: str = response.json()["token"]
        return token


def _free_socket() -> socket.socket:
    # IPPROTO_TCP, not 0: asyncio turns Nagle's algorithm off only for TCP sockets it
    # recognises, and small responses would otherwise wait for delayed ACKs.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@asynccontextmanager
async def run_server(settings: Settings, port: int | None = None) -> AsyncIterator[RunningServer]:
    """Serve the app until the block ends, then shut down as on SIGTERM (flushing all)."""
    app = create_app(settings)
    # The options `roundtable serve` gives uvicorn, with a shorter graceful shutdown.
    options = {**uvicorn_options(settings), "timeout_graceful_shutdown": 5}
    config = uvicorn.Config(app, lifespan="on", **options)
    server = uvicorn.Server(config)
    sock = (
        _free_socket()
        if port is None
        else socket.create_server(("127.0.0.1", port), reuse_port=False)
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        await eventually(lambda: server.started or task.done(), 10, "the server to start")
        if task.done():
            task.result()
            raise RuntimeError("server stopped during start-up")
        yield RunningServer(settings, sock.getsockname()[1], app.state.roundtable)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 15)
        sock.close()
