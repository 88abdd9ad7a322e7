"""Asyncio driver of ``tests/interop/convergence.mjs``: real yjs + y-websocket clients.

One Node process hosts every Node client of a run. Each command gets a ``reply`` with
the same ``seq``; a watched client (a settled one, or a fresh joiner) reports its
content after each change as a ``content`` event, kept in :attr:`NodePeers.latest`;
closes the server initiated arrive as ``closed`` events, kept in
:attr:`NodePeers.closes`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import sys
from collections import deque
from dataclasses import dataclass
from typing import Any

from tests.convergence.content import Content, normalise
from tests.support.node_client import INTEROP_DIR, spawn_node
from tests.support.timing import timeout

SCRIPT = INTEROP_DIR / "convergence.mjs"


class NodeError(RuntimeError):
    """A command failed in the Node process, or the process died."""


@dataclass(frozen=True)
class NodeSnapshot:
    """A Node client's document as it reported it."""

    content: Content
    xml: str
    state_vector: bytes
    # Yjs keeps structs whose dependencies are missing pending: {client id: clock}
    # of what it waits for, and whether deletions wait too.
    pending: dict[str, Any]

    @classmethod
    def of(cls, event: dict[str, Any]) -> NodeSnapshot:
        return cls(
            normalise(event["content"]),
            event["xml"],
            base64.b64decode(event["stateVector"]),
            event["pending"],
        )

    @property
    def waiting(self) -> bool:
        return bool(self.pending["missing"]) or bool(self.pending["deletions"])


class NodePeers:
    """The ``node convergence.mjs`` process and what it reported."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self._process = process
        self._seq = 0
        self._replies: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.latest: dict[str, NodeSnapshot] = {}
        self.closes: list[tuple[str, int, str]] = []
        self.errors: list[str] = []
        self._ready = asyncio.Event()
        self._stderr: deque[str] = deque(maxlen=40)
        self._reader = asyncio.create_task(self._read(), name="convergence-node-stdout")
        self._err_reader = asyncio.create_task(self._read_stderr(), name="convergence-node-err")

    @classmethod
    async def start(cls) -> NodePeers:
        process = await spawn_node(SCRIPT)
        peers = cls(process)
        try:
            async with asyncio.timeout(timeout(15)):
                await peers._ready.wait()
        except BaseException:
            await peers.close()
            raise
        return peers

    async def _read(self) -> None:
        stdout = self._process.stdout
        assert stdout is not None
        try:
            while line := await stdout.readline():
                event = json.loads(line)
                kind = event.get("event")
                if kind == "reply":
                    future = self._replies.pop(event["seq"], None)
                    if future is not None and not future.done():
                        future.set_result(event)
                    continue
                if kind == "ready":
                    self._ready.set()
                elif kind == "content":
                    self.latest[event["id"]] = NodeSnapshot.of(event)
                elif kind == "closed":
                    self.closes.append((event["id"], int(event["code"]), event["reason"]))
                elif kind == "error":
                    self.errors.append(str(event.get("message")))
        finally:
            failure = NodeError(f"the Node process ended: {self.stderr_tail()}")
            for future in self._replies.values():
                if not future.done():
                    future.set_exception(failure)
            self._ready.set()

    async def _read_stderr(self) -> None:
        stderr = self._process.stderr
        assert stderr is not None
        while line := await stderr.readline():
            text = line.decode(errors="replace").rstrip()
            self._stderr.append(text)
            print(f"[node] {text}", file=sys.stderr)

    def stderr_tail(self) -> str:
        return "\n".join(self._stderr)

    async def call(self, op: str, **fields: Any) -> dict[str, Any]:
        """Run a command; its reply (raises :class:`NodeError` if it failed)."""
        stdin = self._process.stdin
        assert stdin is not None
        if self._process.returncode is not None or self._reader.done():
            raise NodeError(f"the Node process exited: {self.stderr_tail()}")
        self._seq += 1
        seq = self._seq
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._replies[seq] = future
        stdin.write(json.dumps({"op": op, "seq": seq, **fields}).encode() + b"\n")
        await stdin.drain()
        async with asyncio.timeout(timeout(10)):
            reply = await future
        if "error" in reply:
            raise NodeError(f"{op} {fields.get('id')}: {reply['error']}")
        return reply

    async def snapshot(self, ident: str) -> tuple[NodeSnapshot, bytes]:
        """A client's document now, and as one Yjs update."""
        reply = await self.call("content", id=ident)
        return NodeSnapshot.of(reply), base64.b64decode(reply["update"])

    async def sent_frames(self, ident: str) -> list[bytes]:
        """The frames a client sent (the last 5,000), oldest first."""
        reply = await self.call("sent", id=ident)
        return [base64.b64decode(frame) for frame in reply["frames"]]

    async def close(self) -> None:
        process = self._process
        stdin = process.stdin
        if stdin is not None and process.returncode is None:
            with contextlib.suppress(ConnectionError, RuntimeError):
                stdin.write(b'{"op":"exit"}\n')
                await stdin.drain()
            stdin.close()
        try:
            await asyncio.wait_for(process.wait(), timeout(5))
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
        for task in (self._reader, self._err_reader):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, timeout(5))
