"""Real processes for multi-process and fault tests.

``roundtable serve`` subprocesses (``Launcher``, ``ServeProcess``), a redis-server and a
PostgreSQL server of a test's own that it may kill and restart (``RedisServer``,
``PostgresServer``), a TCP relay to Redis the test can cut (``RedisProxy``), the test's
own view of a shared database (``Database``), and the helpers to join and wait on them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from pycrdt import Text
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from crdt.document import SyncDocument
from rooms.directory import CreatedRoom, RoomDirectory
from rooms.records import StoredDocument
from rooms.roles import Role
from server.storage.participants import SqlParticipantStore
from server.storage.store import SqlStore, create_engine
from server.storage.tables import UpdateRow
from tests.support.harness import RunningServer
from tests.support.services import service_missing
from tests.support.timing import eventually, timeout
from tests.support.yclient import YClient, open_synced
from tests.support.yclient import close_all as close_every

ROOT = Path(__file__).resolve().parents[2]
DOC = "guide"
# One signing key for every process of a test: a token issued by one works on all.
SECRET = "scale-out-test-secret-key-0123456789abcdef0123456789"


async def redis_answers(url: str) -> bool:
    client = Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    try:
        return bool(await client.ping())
    except (RedisError, OSError):
        return False
    finally:
        await client.aclose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def poll(check: Callable[[], Awaitable[bool]], seconds: float, what: str) -> None:
    """Like ``eventually`` for a condition that needs I/O (a query, an HTTP request)."""
    try:
        async with asyncio.timeout(timeout(seconds)):
            while not await check():  # noqa: ASYNC110 (no event to wait on)
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(
            f"timed out after {timeout(seconds):.1f}s waiting for {what}"
        ) from None


def doc_url(server: RunningServer | ServeProcess, room: CreatedRoom, name: str = DOC) -> str:
    return f"{server.sync_url(room.room.slug)}/{name}"


def text_of_stored(stored: StoredDocument) -> str:
    doc = SyncDocument(stored.snapshot, stored.updates).ydoc
    return str(doc.get("text", type=Text))


async def update_rows(engine: AsyncEngine, document_id: int) -> int:
    """How many rows the document's update log holds."""
    async with engine.connect() as connection:
        count = await connection.scalar(
            select(func.count()).select_from(UpdateRow).where(UpdateRow.document_id == document_id)
        )
    return int(count or 0)


async def connect(
    server: RunningServer | ServeProcess,
    room: CreatedRoom,
    name: str,
    role: Role = Role.MEMBER,
    doc: str = DOC,
) -> YClient:
    """Join the room over HTTP as ``name`` and open a synced client on ``doc``."""
    return await open_synced(
        doc_url(server, room, doc), await join_over_http(server.http, room, role, name)
    )


async def converge(
    probes: dict[str, Callable[[], str | None]], words: Iterable[str], seconds: float = 10.0
) -> str:
    """Wait until every probe reads the same text, holding every word; return it."""
    wanted = list(words)

    def done() -> bool:
        texts = {probe() for probe in probes.values()}
        if len(texts) != 1:
            return False
        [text] = texts
        return text is not None and all(word in text for word in wanted)

    try:
        await eventually(done, seconds, "convergence")
    except AssertionError as exc:
        current = {name: probe() for name, probe in probes.items()}
        raise AssertionError(f"{exc}: want all of {wanted} in one text, have {current}") from None
    text = next(iter(probes.values()))()
    assert text is not None
    return text


async def close_all(clients: Iterable[YClient]) -> None:
    """Close every client, then raise the first failure any of them had."""
    await close_every(*clients)


async def join_over_http(base: str, room: CreatedRoom, role: Role, name: str) -> str:
    async with httpx.AsyncClient(base_url=base) as client:
        response = await client.post("/api/join", json={"invite": room.invites[role], "name": name})
    response.raise_for_status()
    token: str = response.json()["token"]
    return token


class Database:
    """The test's own connection to a database the servers share."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.store = SqlStore(create_engine(url))
        self.directory = RoomDirectory(self.store, SqlParticipantStore(self.store.engine))

    async def create_room(self, title: str = "Scale-out sprint") -> CreatedRoom:
        """Create a room directly (the schema must exist: a server has started)."""
        return await self.directory.create_room(title)

    async def document_id(self, room: CreatedRoom, name: str = DOC) -> int | None:
        info = await self.store.get_document(room.room.id, name)
        return None if info is None else info.id

    async def text(self, room: CreatedRoom, name: str = DOC) -> str:
        """The stored text ("" while the document does not exist)."""
        document_id = await self.document_id(room, name)
        if document_id is None:
            return ""
        return text_of_stored(await self.store.load_document(document_id))

    async def rows(self, room: CreatedRoom, name: str = DOC) -> int:
        document_id = await self.document_id(room, name)
        return 0 if document_id is None else await update_rows(self.store.engine, document_id)

    async def close(self) -> None:
        await self.store.close()


@dataclass
class ServeProcess:
    """One ``python -m server.cli serve`` subprocess (its own session: workers included)."""

    name: str
    process: asyncio.subprocess.Process
    port: int
    log_path: Path

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def sync_url(self, room: str) -> str:
        return f"ws://127.0.0.1:{self.port}/sync/{room}"

    @property
    def running(self) -> bool:
        return self.process.returncode is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    async def health(self) -> int | None:
        """The status of GET /health, or None when nothing answers."""
        try:
            async with httpx.AsyncClient(base_url=self.http) as client:
                return (await client.get("/health", timeout=2)).status_code
        except httpx.TransportError:
            return None

    async def wait_healthy(self, seconds: float = 30.0) -> None:
        async def healthy() -> bool:
            if not self.running:
                raise AssertionError(
                    f"{self.name} exited ({self.process.returncode}) before it was healthy:\n"
                    + self.log()[-4000:]
                )
            return await self.health() == 200

        await poll(healthy, seconds, f"{self.name} to answer /health")

    async def kill(self) -> None:
        """SIGKILL: no shutdown, no flush."""
        self.process.kill()
        await asyncio.wait_for(self.process.wait(), timeout(10))

    async def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        self.process.send_signal(sig)
        code = await asyncio.wait_for(self.process.wait(), timeout(30))
        return code


@dataclass
class Launcher:
    tmp_path: Path
    started: list[ServeProcess] = field(default_factory=list)

    async def start(
        self,
        name: str,
        *,
        database_url: str,
        redis_url: str | None = None,
        prefix: str = "roundtable",
        workers: int = 1,
        env: dict[str, str] | None = None,
        wait: bool = True,
        port: int | None = None,
    ) -> ServeProcess:
        """Start a server (without Redis when ``redis_url`` is None); ``port`` reuses one."""
        port = port or free_port()
        log_path = self.tmp_path / f"{name}.log"
        # Only the settings this test chooses: no ROUNDTABLE_* leaks in from outside.
        environ = {k: v for k, v in os.environ.items() if not k.startswith("ROUNDTABLE_")}
        environ.update(
            {
                "ROUNDTABLE_REDIS_PREFIX": prefix,
                "ROUNDTABLE_SECRET_KEY": SECRET,
                "ROUNDTABLE_LOG_LEVEL": "info",
                **(env or {}),
            }
        )
        with log_path.open("ab") as log_file:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "server.cli",
                "serve",
                "--port",
                str(port),
                "--database-url",
                database_url,
                *(["--redis-url", redis_url] if redis_url else []),
                "--workers",
                str(workers),
                cwd=ROOT,
                env=environ,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        serving = ServeProcess(name, process, port, log_path)
        self.started.append(serving)
        if wait:
            await serving.wait_healthy()
        return serving

    async def kill_all(self) -> None:
        for serving in self.started:
            if serving.running:
                # The whole session: uvicorn's worker processes too.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(serving.process.pid, signal.SIGKILL)
                await serving.process.wait()


class RedisServer:
    """A ``redis-server`` of this test alone, which the test can kill and restart."""

    def __init__(self, tmp_path: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            service_missing("redis-server is not installed: it is needed to kill Redis")
            raise AssertionError("unreachable")
        self.binary = binary
        self.port = free_port()
        self.log_path = tmp_path / "redis.log"
        self.process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        with self.log_path.open("ab") as log_file:
            self.process = await asyncio.create_subprocess_exec(
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

        async def answers() -> bool:
            assert self.process is not None
            if self.process.returncode is not None:
                raise AssertionError(
                    f"redis-server exited: {self.log_path.read_text(errors='replace')[-2000:]}"
                )
            return await redis_answers(self.url)

        await poll(answers, 10, "redis-server to answer PING")

    async def kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await asyncio.wait_for(self.process.wait(), timeout(10))


class RedisProxy:
    """A TCP relay to Redis that the test can cut, and hold: accept, but relay nothing."""

    def __init__(self, upstream_url: str) -> None:
        upstream = urlsplit(upstream_url)
        self._upstream = (upstream.hostname or "127.0.0.1", upstream.port or 6379)
        self._path = upstream.path
        self._released = asyncio.Event()
        self._released.set()
        self._transports: set[asyncio.BaseTransport] = set()
        self._server: asyncio.Server | None = None
        self.port = 0
        # Connections accepted so far.
        self.accepted = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}{self._path}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def hold(self) -> None:
        self._released.clear()

    def release(self) -> None:
        self._released.set()

    def cut(self) -> None:
        """Drop every relayed connection at once."""
        for transport in list(self._transports):
            transport.abort()  # type: ignore[attr-defined]
        self._transports.clear()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self._transports.add(writer.transport)
        upstream: asyncio.StreamWriter | None = None
        try:
            await self._released.wait()
            up_reader, upstream = await asyncio.open_connection(*self._upstream)
            self._transports.add(upstream.transport)
            await asyncio.gather(_pump(reader, upstream), _pump(up_reader, writer))
        except OSError:
            pass
        finally:
            for stream in (writer, upstream):
                if stream is not None:
                    stream.transport.abort()
                    self._transports.discard(stream.transport)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        self.cut()
        self.release()
        if self._server is not None:
            await self._server.wait_closed()


async def _pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    try:
        while data := await source.read(65536):
            sink.write(data)
            await sink.drain()
    except OSError:
        pass
    finally:
        sink.transport.abort()


class PostgresServer:
    """A PostgreSQL server of this test alone, which the test can crash and restart.

    Its cluster lives in a fresh directory (owned by the ``postgres`` user when the
    tests run as root, since PostgreSQL refuses to run as root) and listens on a free
    port of 127.0.0.1 with trust authentication.
    """

    def __init__(self) -> None:
        binaries = [shutil.which("initdb"), shutil.which("pg_ctl")]
        if None in binaries:
            service_missing("initdb and pg_ctl are not on PATH: they are needed to stop PostgreSQL")
        self.initdb, self.pg_ctl = (str(binary) for binary in binaries)
        self.port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="roundtable-pg-"))
        self.data = self.directory / "data"
        self._as_postgres: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.directory, user="postgres")
            self._as_postgres = ["runuser", "-u", "postgres", "--"]
        self._initialised = False

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    async def _run(self, *command: str) -> None:
        process = await asyncio.create_subprocess_exec(
            *self._as_postgres,
            *command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        output, _ = await asyncio.wait_for(process.communicate(), timeout(60))
        if process.returncode != 0:
            raise AssertionError(f"{' '.join(command)} failed: {output.decode(errors='replace')}")

    async def start(self) -> None:
        if not self._initialised:
            await self._run(
                self.initdb, "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync"
            )
            self._initialised = True
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.directory / "postgres.log")
        await self._run(self.pg_ctl, "-D", str(self.data), "-l", log, "-o", options, "-w", "start")

    async def crash(self) -> None:
        """Stop at once, as a crash would: no checkpoint, every connection dropped."""
        await self._run(self.pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop")

    async def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(AssertionError):
                await self.crash()
        shutil.rmtree(self.directory, ignore_errors=True)
