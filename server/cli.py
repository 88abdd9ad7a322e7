"""The ``roundtable`` command: ``serve``, ``room create`` and ``admin ...``."""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

import uvicorn
from sqlalchemy.exc import IntegrityError

from rooms.directory import RoomDirectory
from rooms.errors import Refused
from rooms.roles import Role
from server import admin, operations
from server.config import Settings
from server.logs import configure_logging
from server.metrics_dir import prepare_directory
from server.storage.migrate import upgrade
from server.storage.participants import SqlParticipantStore
from server.storage.store import SqlStore, create_engine

DEMO_SLUG = "demo"


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        database_url=getattr(args, "database_url", None),
        workers=getattr(args, "workers", None),
        redis_url=getattr(args, "redis_url", None),
        log_level=getattr(args, "log_level", None),
    )


async def _with_directory(database_url: str) -> tuple[SqlStore, RoomDirectory]:
    engine = create_engine(database_url)
    await upgrade(engine)
    store = SqlStore(engine)
    return store, RoomDirectory(store, SqlParticipantStore(engine))


async def _demo_invite(database_url: str) -> str:
    """The facilitator invite of the demo room, creating the room on first start."""
    store, directory = await _with_directory(database_url)
    try:
        room = await directory.room(DEMO_SLUG)
        if room is None:
            try:
                created = await directory.create_room("Demo room", slug=DEMO_SLUG)
                return created.invites[Role.FACILITATOR]
            except IntegrityError:
                # Another process starting at the same moment created it first.
                room = await directory.room(DEMO_SLUG)
                if room is None:
                    raise
        invites = {i.role: i.code for i in await store.list_invites(room.id)}
        return invites[Role.FACILITATOR]
    finally:
        await store.close()


# uvicorn's sans-I/O WebSocket protocol, without compression: Yjs messages are small
# binary diffs that deflate barely shrinks, per-connection compressors cost memory,
# and uncompressed server frames are the same bytes for every peer of a broadcast
# (server/sockets/peer.py writes them once).
WEBSOCKET_OPTIONS: dict[str, Any] = {"ws": "websockets-sansio", "ws_per_message_deflate": False}


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """What every server process gives uvicorn besides where to listen: the WebSocket
    implementation, the message size cap, and logging left to Roundtable."""
    return {
        **WEBSOCKET_OPTIONS,
        "ws_max_size": settings.max_message_size,
        "log_config": None,
        "timeout_graceful_shutdown": 10,
        # How long the supervisor of --workers N waits for a worker to answer before it
        # kills and replaces it: a worker opens storage and the broker first, which on
        # a busy host takes longer than uvicorn's default 5 s.
        "timeout_worker_healthcheck": 30,
    }


def serve(settings: Settings) -> int:
    configure_logging(settings.log_level, settings.log_format)
    if settings.workers > 1 and not settings.redis_url:
        print(
            "roundtable: several workers must share a Redis broker: "
            "add --redis-url redis://HOST:PORT (or set ROUNDTABLE_REDIS_URL)",
            file=sys.stderr,
        )
        return 2
    if settings.workers > 1 and settings.database_url.startswith("sqlite"):
        # A log record, so that it takes the log's format (JSON lines included).
        logging.getLogger("roundtable").warning(
            "several workers on SQLite share one file; use PostgreSQL for deployments"
        )
    invite = asyncio.run(_demo_invite(settings.database_url))
    shown_host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
    base = f"http://{shown_host}:{settings.port}"
    print(f"Roundtable is starting at {base}", flush=True)
    print(f"Facilitator link to the demo room: {base}/join/{invite}", flush=True)
    print(f"Sign in at {base}/sign-in", flush=True)
    if not settings.smtp_url:
        print(
            "No SMTP server is set (ROUNDTABLE_SMTP_URL): sign-in emails are written to this log",
            flush=True,
        )
    # Worker processes rebuild their settings from the environment.
    os.environ.update(settings.to_env())
    if settings.metrics_token and settings.workers > 1:
        # Where every worker writes its metrics for the others to read (server/metrics.py).
        prepare_directory(os.environ, settings.metrics_dir)
    uvicorn.run(
        "server.app:create_app_from_env",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        loop="uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
        http="httptools" if importlib.util.find_spec("httptools") else "h11",
        log_level=settings.log_level,
        **uvicorn_options(settings),
    )
    return 0


async def _create_room(title: str, database_url: str) -> dict[str, object]:
    store, directory = await _with_directory(database_url)
    try:
        created = await directory.create_room(title)
    finally:
        await store.close()
    return {
        "room": created.room.slug,
        "title": created.room.title,
        "invites": {role.value: code for role, code in created.invites.items()},
    }


def room_create(args: argparse.Namespace) -> int:
    settings = _settings(args)
    try:
        created = asyncio.run(_create_room(args.title, settings.database_url))
    except Refused as exc:
        print(f"roundtable: {exc.message}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(created))
    else:
        invites = created["invites"]
        assert isinstance(invites, dict)
        print(f"Room {created['room']} ({created['title']})")
        for role, code in invites.items():
            print(f"  {role:<12} invite {code}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="roundtable", description="Real-time collaborative workspace for learning cohorts."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    serve_cmd = commands.add_parser("serve", help="run the server")
    serve_cmd.add_argument("--host", help="address to listen on (ROUNDTABLE_HOST)")
    serve_cmd.add_argument("--port", type=int, help="port to listen on (ROUNDTABLE_PORT)")
    serve_cmd.add_argument("--database-url", help="SQLAlchemy URL (ROUNDTABLE_DATABASE_URL)")
    serve_cmd.add_argument("--workers", type=int, help="worker processes (ROUNDTABLE_WORKERS)")
    serve_cmd.add_argument("--redis-url", help="Redis broker URL (ROUNDTABLE_REDIS_URL)")
    serve_cmd.add_argument("--log-level", help="debug, info, warning (ROUNDTABLE_LOG_LEVEL)")

    room_cmd = commands.add_parser("room", help="manage rooms")
    room_commands = room_cmd.add_subparsers(dest="room_command", required=True)
    create_cmd = room_commands.add_parser("create", help="create a room and print its invites")
    create_cmd.add_argument("title")
    create_cmd.add_argument("--json", action="store_true", help="print JSON")
    create_cmd.add_argument("--database-url", help="SQLAlchemy URL (ROUNDTABLE_DATABASE_URL)")
    admin.add_parser(commands)
    operations.add_parsers(commands, room_commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "serve":
            return serve(_settings(args))
        if operations.handles(args):
            return operations.run(args)
        if args.command == "admin":
            return admin.run(args)
        return room_create(args)
    except ValueError as exc:
        print(f"roundtable: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
