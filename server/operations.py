"""The operator's commands besides ``serve`` and ``admin``: ``room export``, ``room
import``, ``backup`` and ``migrate [--check]``. Each opens the database named by
``--database-url`` (or ``ROUNDTABLE_DATABASE_URL``), does one thing, prints what it did,
and exits 0; a refusal goes to stderr with exit 2 (``migrate --check``: 1 when behind)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from server.config import Settings

# The commands' modules (Alembic among what they import) are loaded when one runs: a
# server process, which builds this parser too, has no use for them.

DATABASE_HELP = "SQLAlchemy URL (ROUNDTABLE_DATABASE_URL)"


def add_parsers(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    room_commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    export = room_commands.add_parser(
        "export", help="write a room (documents, threads, versions, people) to one archive"
    )
    export.add_argument("room", help="the room's slug")
    export.add_argument("--output", required=True, help="the archive to write (a .zip)")
    export.add_argument("--database-url", help=DATABASE_HELP)
    load = room_commands.add_parser("import", help="load a room archive into this instance")
    load.add_argument("archive", help="a file written by `roundtable room export`")
    load.add_argument("--slug", help="the room's slug here (default: the archive's)")
    load.add_argument("--database-url", help=DATABASE_HELP)
    copy = commands.add_parser(
        "backup", help="copy a SQLite database while servers use it (PostgreSQL: pg_dump)"
    )
    copy.add_argument("--output", required=True, help="the copy to write")
    copy.add_argument("--database-url", help=DATABASE_HELP)
    migrate = commands.add_parser("migrate", help="apply the schema migrations")
    migrate.add_argument(
        "--check",
        action="store_true",
        help="only say whether the database is at head (exit 0) or behind (exit 1)",
    )
    migrate.add_argument("--database-url", help=DATABASE_HELP)


def handles(args: argparse.Namespace) -> bool:
    return args.command in ("backup", "migrate") or (
        args.command == "room" and args.room_command in ("export", "import")
    )


def run(args: argparse.Namespace) -> int:
    database_url = Settings.from_env(database_url=args.database_url).database_url
    if args.command == "migrate" and args.check:
        from server import upgrade

        return _report(lambda: asyncio.run(upgrade.check(database_url)))
    name = args.room_command if args.command == "room" else args.command
    command = _COMMANDS[name]
    return _report(lambda: (0, command(database_url, args)))


def _migrate(database_url: str, args: argparse.Namespace) -> str:
    from server import upgrade

    return asyncio.run(upgrade.migrate(database_url))


def _backup(database_url: str, args: argparse.Namespace) -> str:
    from server import backup

    return backup.backup(database_url, Path(args.output))


def _export(database_url: str, args: argparse.Namespace) -> str:
    from server import room_transfer

    return asyncio.run(room_transfer.export_room(database_url, args.room, Path(args.output)))


def _import(database_url: str, args: argparse.Namespace) -> str:
    from server import room_transfer

    return asyncio.run(room_transfer.import_room(database_url, Path(args.archive), args.slug))


_COMMANDS: dict[str, Callable[[str, argparse.Namespace], str]] = {
    "migrate": _migrate,
    "backup": _backup,
    "export": _export,
    "import": _import,
}


def _report(work: Callable[[], tuple[int, str]]) -> int:
    from server import backup, room_transfer
    from server.storage.revisions import UnknownRevision

    try:
        code, message = work()
    except (
        room_transfer.TransferRefused,
        backup.BackupRefused,
        UnknownRevision,
        SQLAlchemyError,
        OSError,
    ) as exc:
        print(f"roundtable: {exc}", file=sys.stderr)
        return 2
    print(message)
    return code
