"""``roundtable admin ...``: the instance's administrators, who may create rooms, and a
person's data on request (export, deletion). Each command opens the database, does one
thing and prints what it did."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from crdt.document import compact
from rooms.account_records import Account
from rooms.accounts import FORMER_PARTICIPANT, CreationPolicy, creator_pattern, name_from_email
from rooms.emails import normalise_email
from rooms.errors import Refused
from rooms.records import DocumentInfo, Room
from server.account_data import account_archive
from server.config import Settings
from server.storage.accounts import SqlAccountStore
from server.storage.migrate import upgrade
from server.storage.store import SqlStore, create_engine
from server.storage.threads import SqlThreadStore


class Admin:
    """The stores one admin command needs, on one engine."""

    def __init__(self, database_url: str) -> None:
        self.engine = create_engine(database_url)
        self.store = SqlStore(self.engine)
        self.accounts = SqlAccountStore(self.engine)
        self.threads = SqlThreadStore(self.engine)

    async def account(self, email: str) -> Account:
        found = await self.accounts.account_by_email(normalise_email(email))
        if found is None:
            raise LookupError(f"no account has the address {email}")
        return found


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    admin = commands.add_parser(
        "admin", help="administrators, who may create rooms, a person's data on request"
    )
    admin.add_argument("--database-url", help="SQLAlchemy URL (ROUNDTABLE_DATABASE_URL)")
    sub = admin.add_subparsers(dest="admin_command", required=True)
    add = sub.add_parser("add", help="make an address an administrator (creating its account)")
    add.add_argument("email")
    add.add_argument("--name", help="display name of a new account")
    remove = sub.add_parser("remove", help="an administrator is one no more")
    remove.add_argument("email")
    sub.add_parser("list", help="administrators, the room creation policy, who is listed")
    policy = sub.add_parser("policy", help="who may create rooms")
    policy.add_argument("policy", choices=[p.value for p in CreationPolicy])
    allow = sub.add_parser("allow", help="list an address or @domain as allowed to create rooms")
    allow.add_argument("pattern", help="ana@example.com or @example.com")
    disallow = sub.add_parser("disallow", help="take an address or @domain off the list")
    disallow.add_argument("pattern")
    export = sub.add_parser("export", help="write a person's data to a ZIP archive")
    export.add_argument("email")
    export.add_argument("--output", required=True, help="the archive to write")
    delete = sub.add_parser(
        "delete",
        help=f'delete a person\'s account (their comments stay, signed "{FORMER_PARTICIPANT}")',
    )
    delete.add_argument("email")
    delete.add_argument("--yes", action="store_true", help="do it (without: say what would go)")


def run(args: argparse.Namespace) -> int:
    settings = Settings.from_env(database_url=args.database_url)
    command: Callable[[Admin, argparse.Namespace], Awaitable[str]] = _COMMANDS[args.admin_command]

    async def go() -> str:
        admin = Admin(settings.database_url)
        try:
            await upgrade(admin.engine)
            return await command(admin, args)
        finally:
            await admin.engine.dispose()

    try:
        print(asyncio.run(go()))
    except (Refused, LookupError) as exc:
        print(f"roundtable: {getattr(exc, 'message', exc)}", file=sys.stderr)
        return 2
    return 0


async def _add(admin: Admin, args: argparse.Namespace) -> str:
    email = normalise_email(args.email)
    account = await admin.accounts.account_by_email(email)
    if account is None:
        name = args.name or name_from_email(email)
        account = await admin.accounts.create_account(email, name, admin=True)
    await admin.accounts.set_admin(account.id, True)
    return f"{email} is an administrator: they may create rooms and manage this instance"


async def _remove(admin: Admin, args: argparse.Namespace) -> str:
    account = await admin.account(args.email)
    await admin.accounts.set_admin(account.id, False)
    return f"{account.email} is no longer an administrator"


async def _list(admin: Admin, args: argparse.Namespace) -> str:
    value = await admin.accounts.get_setting("room_creation")
    policy = CreationPolicy(value) if value in set(CreationPolicy) else CreationPolicy.LISTED
    admins = [a.email for a in await admin.accounts.list_admins()]
    creators = await admin.accounts.room_creators()
    who = (
        "anyone signed in"
        if policy is CreationPolicy.ANYONE
        else "administrators and the addresses and domains listed"
    )
    lines = [
        f"Room creation: {policy.value} ({who})",
        "Administrators: " + (", ".join(admins) if admins else "none yet"),
        "Listed: " + (", ".join(creators) if creators else "nobody"),
    ]
    return "\n".join(lines)


async def _policy(admin: Admin, args: argparse.Namespace) -> str:
    await admin.accounts.set_setting("room_creation", args.policy)
    if args.policy == CreationPolicy.ANYONE:
        return "Anyone signed in may now create rooms"
    return "Only administrators and the addresses and domains listed may now create rooms"


async def _allow(admin: Admin, args: argparse.Namespace) -> str:
    pattern = creator_pattern(args.pattern)
    await admin.accounts.add_room_creator(pattern)
    return f"{pattern} may create rooms (while the policy is 'listed')"


async def _disallow(admin: Admin, args: argparse.Namespace) -> str:
    pattern = creator_pattern(args.pattern)
    if not await admin.accounts.remove_room_creator(pattern):
        raise LookupError(f"{pattern} is not listed")
    return f"{pattern} is no longer listed"


async def _export(admin: Admin, args: argparse.Namespace) -> str:
    account = await admin.account(args.email)
    seats = await admin.accounts.seats(account.id, include_removed=True)

    async def state_of(room: Room, info: DocumentInfo) -> bytes:
        stored = await admin.store.load_document(info.id)
        return compact(stored.snapshot, stored.updates)

    archive = await account_archive(account, seats, admin.store, admin.threads, state_of)
    await asyncio.to_thread(Path(args.output).write_bytes, archive)
    return f"wrote {len(archive):,} bytes of {account.email}'s data to {args.output}"


async def _delete(admin: Admin, args: argparse.Namespace) -> str:
    account = await admin.account(args.email)
    seats = await admin.accounts.seats(account.id)
    rooms = ", ".join(s.room.slug for s in seats) or "no rooms"
    if not args.yes:
        return (
            f"would delete {account.email} (seats in {rooms}); their comments would stay, "
            f'signed "{FORMER_PARTICIPANT}". Run again with --yes to delete.'
        )
    await admin.accounts.delete_account(account.id, FORMER_PARTICIPANT)
    for seat in seats:
        # Running servers close the person's connections when they see this event.
        await admin.store.append_event(
            seat.room.id,
            "participant.removed",
            {"participant_id": seat.participant.id, "name": FORMER_PARTICIPANT},
        )
    return f"deleted {account.email}; their seats in {rooms} are a former participant's"


_COMMANDS: dict[str, Callable[[Admin, argparse.Namespace], Awaitable[str]]] = {
    "add": _add,
    "remove": _remove,
    "list": _list,
    "policy": _policy,
    "allow": _allow,
    "disallow": _disallow,
    "export": _export,
    "delete": _delete,
}

__all__ = ["add_parser", "run"]
