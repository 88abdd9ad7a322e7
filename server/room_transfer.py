"""``roundtable room export`` and ``roundtable room import``: one room moved between
instances as one archive (``server/room_archive.py``), read and written by
``server/storage/archive.py``."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from sqlalchemy.exc import DataError, IntegrityError

from server.room_archive import SLUG, ArchiveError, build_archive, read_archive
from server.storage.archive import ImportedRoom, SlugTaken, UnknownRoom, read_room, write_room
from server.storage.migrate import upgrade
from server.storage.revisions import standing
from server.storage.store import create_engine


class TransferRefused(Exception):
    """The export or import did not happen; the message says why (nothing was written)."""


async def export_room(database_url: str, slug: str, output: Path) -> str:
    engine = create_engine(database_url)
    try:
        # A read changes no schema: the servers using this database migrate it.
        found = await standing(engine)
        if not found.at_head:
            raise TransferRefused(
                f"the database is at revision {found.current}, behind this code's "
                f"{found.head}: run `roundtable migrate` first (docs/upgrades.md)"
            )
        try:
            rows, stored = await read_room(engine, slug)
        except UnknownRoom as exc:
            raise TransferRefused(str(exc.args[0])) from None
    finally:
        await engine.dispose()
    data = await asyncio.to_thread(build_archive, rows, stored, found.current)
    await asyncio.to_thread(_write_whole, output, data)
    counts = ", ".join(
        f"{len(rows[name])} {name}" for name in ("documents", "versions", "threads", "people")
    )
    return f"wrote room {slug} ({counts}) to {output}: {len(data):,} bytes"


def _write_whole(output: Path, data: bytes) -> None:
    """Write to a file beside ``output``, then rename: no half-written archive under
    the name asked for, whatever happens."""
    part = output.with_name(f".{output.name}.{os.getpid()}.part")
    try:
        with part.open("wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(part, output)
    finally:
        part.unlink(missing_ok=True)


async def import_room(database_url: str, archive: Path, slug: str | None) -> str:
    if slug is not None and not SLUG.fullmatch(slug):
        raise TransferRefused(
            f"{slug!r} is not a room slug: lowercase letters, digits and '-', at most 64"
        )
    try:
        data = await asyncio.to_thread(archive.read_bytes)
    except OSError as exc:
        raise TransferRefused(f"cannot read {archive}: {exc.strerror}") from None
    try:
        manifest, rows = await asyncio.to_thread(read_archive, data)
    except ArchiveError as exc:
        raise TransferRefused(f"{archive}: {exc}") from None
    target = slug or manifest.slug
    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        try:
            imported = await write_room(engine, rows, target)
        except SlugTaken:
            raise TransferRefused(
                f"a room with the slug {target!r} exists already in this instance; "
                "import it under another with --slug NEW (nothing was imported)"
            ) from None
        except (IntegrityError, DataError) as exc:
            raise TransferRefused(
                f"the database refused the archive, nothing was imported: {exc.orig}"
            ) from None
    finally:
        await engine.dispose()
    return _report(imported, manifest.title, rows.sections)


def _report(
    imported: ImportedRoom, title: str, sections: dict[str, list[dict[str, object]]]
) -> str:
    counts = ", ".join(
        f"{len(sections.get(name, []))} {name}"
        for name in ("documents", "versions", "threads", "comments", "people")
    )
    lines = [f"imported room {imported.slug} ({title}): {counts}"]
    for invite in sections.get("invites", []):
        code = str(invite["code"])
        shown = imported.new_codes.get(code, code)
        state = " (revoked)" if invite["revoked_at"] is not None else ""
        changed = " (new: the archive's code is taken here)" if code in imported.new_codes else ""
        lines.append(f"  {invite['role']!s:<12} invite {shown}{state}{changed}")
    if imported.new_participant_ids:
        lines.append(
            f"{len(imported.new_participant_ids)} participant ids were taken here and got new ones"
        )
    if imported.accounts_created:
        lines.append("accounts created for: " + ", ".join(imported.accounts_created))
    return "\n".join(lines)
