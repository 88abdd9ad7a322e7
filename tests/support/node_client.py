"""Asyncio driver for the Node interop puppet (``puppet.mjs``).

The puppet hosts real ``yjs`` + ``y-websocket`` clients; Python sends it
newline-delimited JSON commands and receives newline-delimited JSON events.
Every event ever received is kept in :attr:`NodePuppet.events` so tests can
wait for things that already happened as well as for things still to come.

What goes wrong inside the puppet fails the test: an ``error`` event that answers no
command (an exception thrown in a y-websocket handler, say on a frame it cannot
decode), a line that is not an event, a puppet that dies. The first such failure is
kept in :attr:`NodePuppet.failure`; every wait, every command and :meth:`NodePuppet.close`
(so the fixture that owns the puppet, at teardown) raise it as a :class:`PuppetError`.

Typical use::

    puppet = await NodePuppet.start()
    try:
        a = puppet.client("a")
        await a.connect(f"ws://127.0.0.1:{port}/sync/room", "doc", token)
        await a.wait_synced()
        await a.insert(0, "hello")
        await puppet.client("b").wait_text("hello")
    finally:
        await puppet.close()
"""

# The public API takes explicit ``timeout`` arguments (test ergonomics); ASYNC109
# would rather have callers wrap every call in ``asyncio.timeout``.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import shutil
import sys
from collections import deque
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

__all__ = [
    "INTEROP_DIR",
    "PUPPET_SCRIPT",
    "Event",
    "NodeClient",
    "NodePuppet",
    "PuppetError",
    "node_available",
    "node_modules_ready",
    "require_node_puppet",
    "spawn_node",
]

Event = dict[str, Any]
"""One JSON event emitted by the puppet (always has an ``"event"`` key)."""

INTEROP_DIR = Path(__file__).resolve().parents[1] / "interop"
PUPPET_SCRIPT = INTEROP_DIR / "puppet.mjs"

_STREAM_LIMIT = 64 * 1024 * 1024  # state events carry whole documents (base64)
_HISTORY_IN_ERRORS = 20


async def spawn_node(script: Path, node: str = "node") -> asyncio.subprocess.Process:
    """Run ``script`` with Node from the interop folder (its npm packages), with pipes
    for newline-delimited JSON both ways and for diagnostics."""
    return await asyncio.create_subprocess_exec(
        node,
        str(script),
        cwd=str(INTEROP_DIR),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        limit=_STREAM_LIMIT,
        env={**os.environ, "NODE_NO_WARNINGS": "1"},
    )


def node_modules_ready() -> bool:
    """True when ``npm install`` has been run in ``tests/interop``."""
    modules = INTEROP_DIR / "node_modules"
    return all((modules / name).is_dir() for name in ("yjs", "y-websocket", "ws"))


def node_available() -> bool:
    """True when a ``node`` executable is on PATH."""
    return shutil.which("node") is not None


def require_node_puppet() -> None:
    """Skip (fail, when services are required) unless Node.js and the npm packages are in."""
    from tests.support.services import service_missing

    if not node_available():
        service_missing("node is not installed: the interop tests need Node.js 18+ on PATH")
    if not node_modules_ready():
        service_missing(
            "the npm packages of the interop tests are missing: run `npm ci` in tests/interop"
        )


class PuppetError(RuntimeError):
    """A command failed inside the puppet, or the puppet process died."""


class NodePuppet:
    """One ``node puppet.mjs`` process hosting any number of named clients."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self._process = process
        self.events: list[Event] = []
        """Full event history, in arrival order (never truncated)."""
        self._search_from = 0
        self._cond = asyncio.Condition()
        self._seq = 0
        self._eof = False
        self._stderr_tail: deque[str] = deque(maxlen=50)
        self.failure: str | None = None
        """What went wrong inside the puppet first (see the module's docstring)."""
        self._clients: dict[str, NodeClient] = {}
        # Killed on purpose (kill()): its exit is what the test wanted, not a failure.
        self._killed = False
        self._reader = asyncio.create_task(self._read_stdout(), name="node-puppet-stdout")
        self._err_reader = asyncio.create_task(self._read_stderr(), name="node-puppet-stderr")

    # ------------------------------------------------------------------ life

    @classmethod
    async def start(cls, *, node: str = "node", ready_timeout: float = 15.0) -> NodePuppet:
        """Spawn the puppet and wait until it reports ``ready``."""
        process = await spawn_node(PUPPET_SCRIPT, node)
        puppet = cls(process)
        try:
            await puppet.wait_for(lambda e: e["event"] == "ready", timeout=ready_timeout)
        except BaseException:
            await puppet.close()
            raise
        return puppet

    async def close(self, timeout: float = 5.0) -> None:
        """Ask the puppet to exit (destroying all clients); kill it if it hangs. Then
        raise the puppet's failure, if it had one."""
        process = self._process
        if process.returncode not in (None, 0) and not self._killed:
            self._fail(f"the puppet exited with {process.returncode} before it was closed")
        if process.stdin is not None:
            if process.returncode is None and not process.stdin.is_closing():
                with contextlib.suppress(ConnectionError, RuntimeError):
                    process.stdin.write(b'{"op":"exit"}\n')
                    await process.stdin.drain()
            # Closing stdin alone also makes the puppet exit.
            process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), timeout)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
        for task in (self._reader, self._err_reader):
            try:
                await asyncio.wait_for(task, timeout)
            except TimeoutError:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self.check()

    async def __aenter__(self) -> NodePuppet:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def kill(self) -> None:
        """Kill the puppet at once (SIGKILL), as a tab vanishes: its clients say nothing."""
        self._killed = True
        self._process.kill()

    @property
    def returncode(self) -> int | None:
        return self._process.returncode

    # --------------------------------------------------------------- readers

    def _fail(self, what: str) -> None:
        if self.failure is None:
            self.failure = what

    def check(self) -> None:
        """Raise the puppet's failure, if it had one."""
        if self.failure is not None:
            raise PuppetError(self._describe(f"the Node puppet failed: {self.failure}"))

    def _look_for_failure(self, event: Event) -> None:
        if event["event"] == "_invalid":
            self._fail(f"it wrote a line that is not an event: {event['line'][:500]!r}")
        elif event["event"] == "error" and event.get("seq") is None:
            # A failed command's error carries its seq, and its ack raises in send().
            self._fail(f"it reported an error: {event.get('message')!r}")

    async def _read_stdout(self) -> None:
        stdout = self._process.stdout
        assert stdout is not None
        try:
            while True:
                line = await stdout.readline()
                if not line:
                    break
                text = line.decode("utf-8", errors="replace").strip()
                if not text:
                    continue
                try:
                    parsed = json.loads(text)
                except json.JSONDecodeError:
                    parsed = None
                event: Event = (
                    parsed
                    if isinstance(parsed, dict) and "event" in parsed
                    else {"event": "_invalid", "line": text}
                )
                async with self._cond:
                    self.events.append(event)
                    self._look_for_failure(event)
                    self._cond.notify_all()
        except Exception as exc:
            self._fail(f"reading its events failed: {exc!r}")
        finally:
            async with self._cond:
                self._eof = True
                self._cond.notify_all()

    async def _read_stderr(self) -> None:
        stderr = self._process.stderr
        assert stderr is not None
        while True:
            line = await stderr.readline()
            if not line:
                return
            text = line.decode("utf-8", errors="replace").rstrip("\n")
            self._stderr_tail.append(text)
            # Forwarded so pytest shows it for failing tests.
            print(f"[node] {text}", file=sys.stderr)

    # ---------------------------------------------------------------- events

    def mark(self) -> int:
        """Position in :attr:`events`; pass as ``since=`` to only see newer events."""
        return len(self.events)

    def clear(self) -> None:
        """Make default searches ignore everything received so far.

        The history itself is kept (for :meth:`latest_text` and diagnostics).
        """
        self._search_from = len(self.events)

    def _find(self, predicate: Callable[[Event], bool], since: int) -> Event | None:
        for event in self.events[since:]:
            if predicate(event):
                return event
        return None

    def _describe(self, what: str) -> str:
        recent = "\n".join("  " + json.dumps(e)[:500] for e in self.events[-_HISTORY_IN_ERRORS:])
        stderr = "\n".join("  " + line for line in list(self._stderr_tail)[-10:])
        return f"{what}\nlast {_HISTORY_IN_ERRORS} puppet events:\n{recent or '  (none)'}" + (
            f"\nlast puppet stderr lines:\n{stderr}" if stderr else ""
        )

    async def _wait_until(
        self,
        check: Callable[[], Event | None],
        timeout: float,
        what: str | Callable[[], str],
    ) -> Event:
        found: list[Event] = []

        def ready() -> bool:
            if self.failure is not None:
                return True
            result = check()
            if result is not None:
                found.append(result)
                return True
            return self._eof

        async with self._cond:
            try:
                await asyncio.wait_for(self._cond.wait_for(ready), timeout)
            except TimeoutError:
                self.check()
                description = what() if callable(what) else what
                raise TimeoutError(
                    self._describe(f"timed out after {timeout}s waiting for {description}")
                ) from None
        self.check()
        if found:
            return found[0]
        description = what() if callable(what) else what
        raise PuppetError(
            self._describe(
                f"puppet exited (rc={self._process.returncode}) while waiting for {description}"
            )
        )

    async def wait_for(
        self,
        predicate: Callable[[Event], bool],
        timeout: float = 10.0,
        *,
        since: int | None = None,
        what: str = "matching event",
    ) -> Event:
        """Return the first event matching ``predicate``.

        Searches events already received (from the last :meth:`clear`, or from
        ``since`` when given) before waiting for new ones. On timeout raises
        :class:`TimeoutError` listing the most recent events.
        """
        start = self._search_from if since is None else since
        return await self._wait_until(lambda: self._find(predicate, start), timeout, what)

    def latest(self, predicate: Callable[[Event], bool]) -> Event | None:
        """The most recent event (whole history) matching ``predicate``."""
        for event in reversed(self.events):
            if predicate(event):
                return event
        return None

    def latest_text(self, client_id: str) -> str | None:
        """Content of ``Y.Text('text')`` according to the client's latest text event."""
        event = self.latest(lambda e: e["event"] == "text" and e.get("id") == client_id)
        return None if event is None else str(event["text"])

    def latest_awareness(self, client_id: str) -> list[dict[str, Any]] | None:
        """Remote awareness states according to the client's latest awareness event."""
        event = self.latest(lambda e: e["event"] == "awareness" and e.get("id") == client_id)
        return None if event is None else list(event["states"])

    async def wait_text(self, client_id: str, text: str, timeout: float = 10.0) -> None:
        """Wait until the latest text event of ``client_id`` equals ``text``."""

        def check() -> Event | None:
            event = self.latest(lambda e: e["event"] == "text" and e.get("id") == client_id)
            return event if event is not None and event["text"] == text else None

        await self._wait_until(
            check,
            timeout,
            lambda: (
                f"client {client_id!r} text == {text!r} (latest: {self.latest_text(client_id)!r})"
            ),
        )

    async def wait_awareness(
        self,
        client_id: str,
        predicate: Callable[[list[dict[str, Any]]], bool],
        timeout: float = 10.0,
    ) -> list[dict[str, Any]]:
        """Wait until the client's latest remote awareness states satisfy ``predicate``.

        States are ``[{"clientID": int, "state": {...}}, ...]`` (own state excluded).
        Before any awareness event arrived the states count as ``[]``.
        """

        def check() -> Event | None:
            event = self.latest(lambda e: e["event"] == "awareness" and e.get("id") == client_id)
            states: list[dict[str, Any]] = [] if event is None else list(event["states"])
            if predicate(states):
                return event if event is not None else {"event": "awareness", "states": []}
            return None

        event = await self._wait_until(check, timeout, f"awareness condition on {client_id!r}")
        return list(event["states"])

    # -------------------------------------------------------------- commands

    async def send(self, cmd: dict[str, Any], timeout: float = 10.0) -> Event:
        """Send one command and wait for its ack (returned).

        Raises :class:`PuppetError` if the puppet reports the command failed.
        """
        self._seq += 1
        seq = self._seq
        payload = {**cmd, "seq": seq}
        since = self.mark()
        self.check()
        stdin = self._process.stdin
        if stdin is None or self._process.returncode is not None or self._eof:
            raise PuppetError(self._describe(f"puppet is not running; cannot send {cmd!r}"))
        stdin.write((json.dumps(payload) + "\n").encode("utf-8"))
        await stdin.drain()
        ack = await self.wait_for(
            lambda e: e["event"] == "ack" and e.get("seq") == seq,
            timeout,
            since=since,
            what=f"ack of {cmd.get('op')!r} (seq {seq})",
        )
        if "error" in ack:
            raise PuppetError(f"puppet command {cmd!r} failed: {ack['error']}")
        return ack

    async def batch(self, *commands: dict[str, Any], timeout: float = 10.0) -> Event:
        """Run several commands (built with :meth:`NodeClient.command`) in one Node turn.

        No client receives anything from the server in between, so edits of different
        clients in one batch are truly concurrent: each is made on the state its client
        had before the batch.
        """
        return await self.send({"op": "batch", "id": None, "ops": list(commands)}, timeout)

    def latest_xml(self, client_id: str) -> Event | None:
        """The client's latest ``xml`` event (only sent after :meth:`NodeClient.watch_xml`)."""
        return self.latest(lambda e: e["event"] == "xml" and e.get("id") == client_id)

    async def wait_xml(
        self,
        client_id: str,
        predicate: Callable[[Event], bool],
        timeout: float = 10.0,
    ) -> Event:
        """Wait until the client's latest ``xml`` event satisfies ``predicate``.

        The event carries ``xml`` (``fragment.toString()``), ``paragraphs`` (the plain
        text of each child of the ``default`` fragment) and ``stateVector`` (base64).
        """

        def check() -> Event | None:
            event = self.latest_xml(client_id)
            return event if event is not None and predicate(event) else None

        def describe() -> str:
            latest = self.latest_xml(client_id)
            shown = None if latest is None else latest.get("paragraphs")
            return f"xml condition on {client_id!r} (latest paragraphs: {shown!r})"

        return await self._wait_until(check, timeout, describe)

    def client(self, client_id: str) -> NodeClient:
        """Handle for the client named ``client_id`` (created lazily, cached)."""
        handle = self._clients.get(client_id)
        if handle is None:
            handle = NodeClient(self, client_id)
            self._clients[client_id] = handle
        return handle


class NodeClient:
    """Convenience wrapper for one puppet client (a Y.Doc + WebsocketProvider).

    ``wait_synced``/``wait_close``/... search from the moment of the last
    :meth:`connect`/:meth:`reconnect` unless ``since`` is given.
    """

    def __init__(self, puppet: NodePuppet, client_id: str) -> None:
        self.puppet = puppet
        self.id = client_id
        self.since = puppet.mark()

    def _mine(self, name: str) -> Callable[[Event], bool]:
        return lambda e: e["event"] == name and e.get("id") == self.id

    async def _op(self, op: str, **fields: Any) -> Event:
        return await self.puppet.send({"op": op, "id": self.id, **fields})

    # commands

    async def connect(
        self,
        server: str,
        doc: str,
        token: str | None = None,
        user: dict[str, Any] | None = None,
    ) -> None:
        """Connect to ``server + "/" + doc + "?token=" + token`` (y-websocket URL rules)."""
        self.since = self.puppet.mark()
        cmd: dict[str, Any] = {"server": server, "doc": doc}
        if token is not None:
            cmd["token"] = token
        if user is not None:
            cmd["user"] = user
        await self._op("connect", **cmd)

    async def insert(self, index: int, text: str) -> None:
        await self._op("insert", index=index, text=text)

    async def delete(self, index: int, length: int) -> None:
        await self._op("delete", index=index, length=length)

    async def set_awareness(self, field: str, value: Any) -> None:
        await self._op("setAwareness", field=field, value=value)

    async def xml_insert_paragraph(self, text: str) -> None:
        await self._op("xmlInsertParagraph", text=text)

    def command(self, op: str, **fields: Any) -> dict[str, Any]:
        """A command for this client, to pass to :meth:`NodePuppet.batch`."""
        return {"op": op, "id": self.id, **fields}

    async def watch_xml(self) -> None:
        """Report the ``default`` fragment as an ``xml`` event now and after every update."""
        await self._op("watchXml")

    async def xml_insert_paragraph_at(self, index: int, text: str) -> None:
        await self._op("xmlInsertParagraphAt", index=index, text=text)

    async def xml_text_insert(self, paragraph: int, index: int, text: str) -> None:
        """Insert into the XmlText of paragraph number ``paragraph`` of the fragment."""
        await self._op("xmlTextInsert", paragraph=paragraph, index=index, text=text)

    async def xml_text_delete(self, paragraph: int, index: int, length: int) -> None:
        await self._op("xmlTextDelete", paragraph=paragraph, index=index, length=length)

    async def relative_position(
        self,
        paragraph: int | None,
        index: int,
        assoc: int = 0,
        *,
        fragment: str = "default",
    ) -> str:
        """``Y.encodeRelativePosition(Y.createRelativePositionFromTypeIndex(...))``, base64.

        The type is the XmlText of paragraph number ``paragraph`` of the XmlFragment
        ``fragment``, or that fragment itself when ``paragraph`` is None.
        """
        ack = await self._op(
            "relativePosition", paragraph=paragraph, index=index, assoc=assoc, fragment=fragment
        )
        event = await self.puppet.wait_for(
            lambda e: self._mine("relativePosition")(e) and e.get("seq") == ack["seq"],
            1.0,
            what="relativePosition",
        )
        return str(event["position"])

    async def resolve_position(self, position: str) -> Event:
        """``Y.createAbsolutePositionFromRelativePosition`` of a base64 position.

        Returns ``{"found", "index", "assoc", "paragraph", "inFragment", "text"}``:
        ``paragraph`` is the number of the paragraph whose XmlText holds the position
        (None if it lies elsewhere) and ``text`` that XmlText's content.
        """
        ack = await self._op("resolvePosition", position=position)
        return await self.puppet.wait_for(
            lambda e: self._mine("absolutePosition")(e) and e.get("seq") == ack["seq"],
            1.0,
            what="absolutePosition",
        )

    async def wait_xml(self, predicate: Callable[[Event], bool], timeout: float = 10.0) -> Event:
        return await self.puppet.wait_xml(self.id, predicate, timeout)

    async def xml_edit(self, *actions: dict[str, Any]) -> None:
        """Apply rich-content edit ``actions`` in one transaction (``xmlEdit`` in puppet.mjs).

        Each action has ``do`` (insertNodes, delete, insertText, format, setAttribute or
        removeAttribute) and ``path``, the child indices from the ``default`` fragment.
        """
        await self._op("xmlEdit", actions=list(actions))

    async def track_undo(self) -> None:
        """Give the client a ``Y.UndoManager`` on the ``default`` fragment; every later
        local transaction is one step."""
        await self._op("trackUndo")

    async def undo(self) -> None:
        """Undo the client's last step (an error if there is none)."""
        await self._op("undo")

    async def xml_dump(self) -> Event:
        """``{"xml", "json", "tree"}`` of the ``default`` fragment (``xmlDump`` in puppet.mjs).

        ``tree`` is ``{"name", "attrs", "children"}`` per element and ``{"text": delta}``
        per text; the fragment itself is ``{"name": None, "children": [...]}``.
        """
        ack = await self._op("xmlDump")
        return await self.puppet.wait_for(
            lambda e: self._mine("xmlDump")(e) and e.get("seq") == ack["seq"],
            1.0,
            what="xmlDump",
        )

    @property
    def xml(self) -> Event | None:
        """The latest ``xml`` event (after :meth:`watch_xml`)."""
        self.puppet.check()
        return self.puppet.latest_xml(self.id)

    async def disconnect(self) -> None:
        await self._op("disconnect")

    async def reconnect(self) -> None:
        self.since = self.puppet.mark()
        await self._op("reconnect")

    async def destroy(self) -> None:
        await self._op("destroy")

    async def state(self) -> tuple[str, bytes]:
        """``(text, Y.encodeStateAsUpdate(doc))`` of the client's document."""
        since = self.puppet.mark()
        await self._op("state")
        event = await self.puppet.wait_for(self._mine("state"), 1.0, since=since, what="state")
        return str(event["text"]), base64.b64decode(event["update"])

    # waits

    async def wait_event(
        self, name: str, timeout: float = 10.0, *, since: int | None = None
    ) -> Event:
        """First event ``name`` of this client since ``since`` (default: last connect)."""
        return await self.puppet.wait_for(
            self._mine(name),
            timeout,
            since=self.since if since is None else since,
            what=f"{name!r} event of client {self.id!r}",
        )

    async def wait_synced(self, timeout: float = 10.0, *, since: int | None = None) -> Event:
        return await self.wait_event("synced", timeout, since=since)

    async def wait_status(
        self, status: str, timeout: float = 10.0, *, since: int | None = None
    ) -> Event:
        return await self.puppet.wait_for(
            lambda e: self._mine("status")(e) and e.get("status") == status,
            timeout,
            since=self.since if since is None else since,
            what=f"status {status!r} of client {self.id!r}",
        )

    async def wait_text(self, text: str, timeout: float = 10.0) -> None:
        await self.puppet.wait_text(self.id, text, timeout)

    async def wait_awareness(
        self,
        predicate: Callable[[list[dict[str, Any]]], bool],
        timeout: float = 10.0,
    ) -> list[dict[str, Any]]:
        return await self.puppet.wait_awareness(self.id, predicate, timeout)

    async def wait_close(
        self,
        timeout: float = 10.0,
        *,
        since: int | None = None,
        include_local: bool = False,
    ) -> Event:
        """First ``close`` event (``{"code", "reason", "local"}``) of this client.

        Closes caused by our own ``disconnect``/``destroy`` (``local: true``,
        ``code: None``) are skipped unless ``include_local``.
        """
        return await self.puppet.wait_for(
            lambda e: self._mine("close")(e) and (include_local or not e.get("local")),
            timeout,
            since=self.since if since is None else since,
            what=f"close of client {self.id!r}",
        )

    async def wait_permission_denied(
        self, timeout: float = 10.0, *, since: int | None = None
    ) -> Event:
        return await self.wait_event("permission-denied", timeout, since=since)

    @property
    def text(self) -> str | None:
        """Latest known content of ``Y.Text('text')``."""
        self.puppet.check()
        return self.puppet.latest_text(self.id)

    @property
    def awareness(self) -> list[dict[str, Any]] | None:
        """Latest known remote awareness states."""
        self.puppet.check()
        return self.puppet.latest_awareness(self.id)
