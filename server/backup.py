"""``roundtable backup``: a copy of a SQLite database taken with SQLite's online backup
API, while servers may be using it (see docs/backup.md; PostgreSQL has pg_dump).

The copy is one consistent snapshot: the whole database is copied in one step, under a
read transaction, and in WAL mode readers do not hold writers up, so running servers go
on storing edits meanwhile. It is written beside the target under a temporary name,
checked (``PRAGMA integrity_check``) and only then renamed into place.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupRefused(Exception):
    """No backup was written; the message says why."""


def sqlite_path(database_url: str) -> Path:
    url = make_url(database_url)
    if not url.drivername.startswith("sqlite"):
        raise BackupRefused(
            "roundtable backup copies SQLite databases; for PostgreSQL use pg_dump "
            "(pg_dump -Fc -f roundtable.dump DBNAME, restored with pg_restore: docs/backup.md)"
        )
    if not url.database or url.database == ":memory:":
        raise BackupRefused("the database URL names no SQLite file")
    return Path(url.database)


def backup(database_url: str, output: Path, busy_timeout: float = 30.0) -> str:
    source_path = sqlite_path(database_url)
    if not source_path.is_file():
        raise BackupRefused(f"there is no database at {source_path}")
    part = output.with_name(f".{output.name}.{os.getpid()}.part")
    part.unlink(missing_ok=True)
    try:
        source = sqlite3.connect(source_path, timeout=busy_timeout)
        try:
            target = sqlite3.connect(part)
            try:
                source.backup(target)
                revision = _check(target)
            finally:
                target.close()
        finally:
            source.close()
        with part.open("rb+") as file:
            os.fsync(file.fileno())
        os.replace(part, output)
    except sqlite3.Error as exc:
        raise BackupRefused(f"the backup failed, nothing was written to {output}: {exc}") from None
    finally:
        part.unlink(missing_ok=True)
    _sync_directory(output.parent)
    size = output.stat().st_size
    return (
        f"backed up {source_path} to {output}: {size:,} bytes, schema revision {revision}, "
        "integrity check ok"
    )


def _check(copy: sqlite3.Connection) -> str:
    """The copy's schema revision, after SQLite found nothing wrong with it."""
    problems = [row[0] for row in copy.execute("PRAGMA integrity_check")]
    if problems != ["ok"]:
        raise sqlite3.DatabaseError("integrity check: " + "; ".join(problems[:5]))
    try:
        row = copy.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError:
        row = None
    return "none (not a Roundtable database?)" if row is None else str(row[0])


def _sync_directory(directory: Path) -> None:
    """Make the rename itself durable."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
