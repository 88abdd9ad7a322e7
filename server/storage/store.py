"""The :class:`rooms.ports.Store` on SQLAlchemy 2 async: SQLite by default, PostgreSQL too."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, event, func, insert, literal, select, true, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from rooms.participation_records import ActivityBucket, DocumentActivity
from rooms.ports import DocumentLimitReached, StoreError
from rooms.records import DocumentInfo, Invite, Room, RoomEvent, StoredDocument, TextActivity
from rooms.roles import Role
from server.storage.sessions import Sessions
from server.storage.tables import (
    ActivityRow,
    ClientClaimRow,
    DocumentRow,
    InviteRow,
    RoomEventRow,
    RoomRow,
    SettingRow,
    UpdateRow,
    UTCDateTime,
    utc_of,
    utcnow,
)

# Settings keys of the processes serving now, each with when it last said so.
_RUN = "run:"

# Log rows deleted per statement, well under the drivers' bound-parameter limits.
_DELETE_BATCH = 1000


# Connections kept open in each process's pool. A burst of joins (a cohort arriving at
# the start of a session) runs this many queries at once without opening connections;
# past the pool's default of 5, every extra connection was opened and closed per query.
POOL_SIZE = 20
POOL_OVERFLOW = 10


def create_engine(database_url: str, busy_timeout: float = 30.0) -> AsyncEngine:
    """An engine for ``database_url``; SQLite gets WAL and a busy timeout in seconds."""
    # Parameters stay out of error messages (and so out of logs): they carry invite
    # codes, token hashes and what people wrote.
    pool: dict[str, Any] = {
        "pool_size": POOL_SIZE,
        "max_overflow": POOL_OVERFLOW,
        "hide_parameters": True,
    }
    if database_url.startswith("sqlite"):
        engine = create_async_engine(database_url, connect_args={"timeout": busy_timeout}, **pool)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
            _enable_wal(cursor)
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_async_engine(database_url, pool_pre_ping=True, **pool)


def _enable_wal(cursor: Any) -> None:
    """Switch a SQLite database to WAL once; it stays so for every later connection.

    Two processes opening a new database at once can both try the switch, and SQLite
    answers "database is locked" at once, without its busy handler: retry briefly.
    """
    for _ in range(100):
        try:
            cursor.execute("PRAGMA journal_mode")
            if cursor.fetchone()[0] == "wal":
                return
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except Exception as exc:
            # The driver's own OperationalError class, whichever adapter raised it.
            if "database is locked" not in str(exc):
                raise
            time.sleep(0.05)
    raise StoreError("could not switch the SQLite database to WAL: it stays locked")


def _room(row: RoomRow) -> Room:
    return Room(row.id, row.slug, row.title, row.created_at)


def document_info(row: DocumentRow) -> DocumentInfo:
    return DocumentInfo(
        row.id,
        row.room_id,
        row.name,
        row.created_at,
        locked=row.locked,
        template=row.template,
        created_by=row.created_by,
        mentor_id=row.mentor_id,
        locked_by=row.locked_by,
    )


class SqlStore:
    """Durable storage in one SQL database; every method is one transaction.

    Writes raise :class:`StoreError` on database failure, leaving the database as it
    was, so the caller can keep its data and retry.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._sessions = Sessions(engine)

    async def close(self) -> None:
        await self.engine.dispose()

    async def ping(self) -> None:
        async with self._sessions() as session:
            await session.execute(select(1))

    async def get_or_create_setting(self, key: str, make: Callable[[], str]) -> str:
        """The stored value of ``key``; the first caller of all processes stores ``make()``."""
        query = select(SettingRow.value).where(SettingRow.key == key)
        async with self._sessions() as session:
            value = await session.scalar(query)
        if value is not None:
            return value
        try:
            async with self._sessions.begin() as session:
                session.add(SettingRow(key=key, value=make()))
        except IntegrityError:
            pass  # another process stored it first; read theirs
        async with self._sessions() as session:
            stored = await session.scalar(query)
        if stored is None:
            raise StoreError(f"setting {key} vanished")
        return stored

    async def create_room(self, slug: str, title: str, invites: dict[Role, str]) -> Room:
        async with self._sessions.begin() as session:
            row = RoomRow(slug=slug, title=title, created_at=utcnow())
            session.add(row)
            await session.flush()
            for role, code in invites.items():
                session.add(InviteRow(code=code, room_id=row.id, role=role.value))
            return _room(row)

    async def get_room(self, slug: str) -> Room | None:
        async with self._sessions() as session:
            row = await session.scalar(select(RoomRow).where(RoomRow.slug == slug))
            return None if row is None else _room(row)

    async def get_invite(self, code: str) -> Invite | None:
        async with self._sessions() as session:
            found = (
                await session.execute(
                    select(InviteRow, RoomRow)
                    .join(RoomRow, RoomRow.id == InviteRow.room_id)
                    .where(InviteRow.code == code)
                )
            ).first()
            if found is None:
                return None
            invite, room = found
            return Invite(
                invite.code, _room(room), Role(invite.role), invite.revoked_at is not None
            )

    async def list_invites(self, room_id: int) -> list[Invite]:
        async with self._sessions() as session:
            room = await session.get(RoomRow, room_id)
            if room is None:
                return []
            rows = await session.scalars(
                select(InviteRow)
                .where(InviteRow.room_id == room_id, InviteRow.revoked_at.is_(None))
                .order_by(InviteRow.created_at)
            )
            return [Invite(r.code, _room(room), Role(r.role)) for r in rows]

    async def list_documents(self, room_id: int) -> list[DocumentInfo]:
        async with self._sessions() as session:
            rows = await session.scalars(
                select(DocumentRow).where(DocumentRow.room_id == room_id).order_by(DocumentRow.id)
            )
            return [document_info(r) for r in rows]

    async def get_document(self, room_id: int, name: str) -> DocumentInfo | None:
        async with self._sessions() as session:
            row = await session.scalar(
                select(DocumentRow).where(DocumentRow.room_id == room_id, DocumentRow.name == name)
            )
            return None if row is None else document_info(row)

    async def create_document(self, room_id: int, name: str, limit: int = 0) -> DocumentInfo:
        created_at = utcnow()
        held = (
            select(func.count())
            .select_from(DocumentRow)
            .where(DocumentRow.room_id == room_id)
            .scalar_subquery()
        )
        # One statement counts and inserts: SQLite runs it under its write lock, so no
        # other writer can create in between. PostgreSQL first locks the room's row, so
        # that creations in one room, from any process, take turns.
        values = select(
            literal(room_id),
            literal(name),
            literal(0),
            literal(False),
            literal(created_at, UTCDateTime()),
        ).where(held < limit if limit > 0 else true())
        statement = (
            insert(DocumentRow)
            .from_select(["room_id", "name", "snapshot_version", "locked", "created_at"], values)
            .returning(DocumentRow.id)
        )
        try:
            async with self._sessions.begin() as session:
                if limit > 0 and self.engine.dialect.name == "postgresql":
                    await session.execute(
                        select(RoomRow.id).where(RoomRow.id == room_id).with_for_update()
                    )
                document_id = (await session.execute(statement)).scalar_one_or_none()
            if document_id is None:
                raise DocumentLimitReached
            return DocumentInfo(document_id, room_id, name, created_at)
        except IntegrityError:
            existing = await self.get_document(room_id, name)
            if existing is None:
                raise
            return existing

    async def load_document(self, document_id: int) -> StoredDocument:
        async with self._sessions() as session:
            # The log is read before the snapshot: a compaction committing in between
            # then leaves rows that are also in the newer snapshot (harmless), never a
            # snapshot older than rows that were deleted (a loss).
            rows = (
                await session.execute(
                    select(UpdateRow.id, UpdateRow.data)
                    .where(UpdateRow.document_id == document_id)
                    .order_by(UpdateRow.id)
                )
            ).all()
            found = (
                await session.execute(
                    select(DocumentRow.snapshot, DocumentRow.snapshot_version).where(
                        DocumentRow.id == document_id
                    )
                )
            ).first()
        if found is None:
            raise StoreError(f"no document {document_id}")
        snapshot, version = found
        return StoredDocument(snapshot, version, [r.data for r in rows], tuple(r.id for r in rows))

    async def append_updates(
        self,
        document_id: int,
        updates: Sequence[bytes],
        activity: Sequence[TextActivity] = (),
    ) -> None:
        if not updates:
            return
        now = utcnow()
        try:
            async with self._sessions.begin() as session:
                await session.execute(
                    insert(UpdateRow),
                    [{"document_id": document_id, "data": u, "created_at": now} for u in updates],
                )
                if activity:
                    await session.execute(self._add_activity(document_id, activity))
        except (SQLAlchemyError, OSError) as exc:
            raise StoreError(f"could not append {len(updates)} updates: {exc}") from exc

    def _add_activity(self, document_id: int, activity: Sequence[TextActivity]) -> Any:
        """One upsert that adds ``activity`` to the document's sums."""
        # One row per key: PostgreSQL refuses to update a row twice in one statement.
        merged: dict[tuple[str, datetime], list[int]] = {}
        for part in activity:
            sums = merged.setdefault((part.participant_id, part.bucket), [0, 0, 0])
            sums[0] += part.added
            sums[1] += part.removed
            sums[2] += part.edits
        rows = [
            {
                "document_id": document_id,
                "participant_id": participant_id,
                "bucket": bucket,
                "added": added,
                "removed": removed,
                "edits": edits,
            }
            for (participant_id, bucket), (added, removed, edits) in merged.items()
        ]
        upsert = pg_insert if self.engine.dialect.name == "postgresql" else sqlite_insert
        statement = upsert(ActivityRow).values(rows)
        return statement.on_conflict_do_update(
            index_elements=[
                ActivityRow.document_id,
                ActivityRow.participant_id,
                ActivityRow.bucket,
            ],
            set_={
                "added": ActivityRow.added + statement.excluded.added,
                "removed": ActivityRow.removed + statement.excluded.removed,
                "edits": ActivityRow.edits + statement.excluded.edits,
            },
        )

    async def activity_totals(
        self, room_id: int, participant_id: str | None = None
    ) -> list[DocumentActivity]:
        statement = (
            select(
                ActivityRow.document_id,
                ActivityRow.participant_id,
                func.sum(ActivityRow.added),
                func.sum(ActivityRow.removed),
                func.sum(ActivityRow.edits),
                func.max(ActivityRow.bucket),
            )
            .join(DocumentRow, DocumentRow.id == ActivityRow.document_id)
            .where(DocumentRow.room_id == room_id)
            .group_by(ActivityRow.document_id, ActivityRow.participant_id)
            .order_by(ActivityRow.document_id, ActivityRow.participant_id)
        )
        if participant_id is not None:
            statement = statement.where(ActivityRow.participant_id == participant_id)
        async with self._sessions() as session:
            rows = (await session.execute(statement)).all()
        # max() of a column goes through no type decorator: SQLite gives back text.
        return [
            DocumentActivity(
                int(document_id),
                str(person),
                int(added),
                int(removed),
                int(edits),
                utc_of(last),
            )
            for document_id, person, added, removed, edits, last in rows
        ]

    async def activity_buckets(
        self, room_id: int, since: datetime | None = None
    ) -> list[ActivityBucket]:
        statement = (
            select(
                ActivityRow.document_id,
                ActivityRow.bucket,
                func.sum(ActivityRow.added),
                func.sum(ActivityRow.removed),
                func.sum(ActivityRow.edits),
            )
            .join(DocumentRow, DocumentRow.id == ActivityRow.document_id)
            .where(DocumentRow.room_id == room_id)
            .group_by(ActivityRow.document_id, ActivityRow.bucket)
            .order_by(ActivityRow.bucket, ActivityRow.document_id)
        )
        if since is not None:
            statement = statement.where(ActivityRow.bucket >= since)
        async with self._sessions() as session:
            rows = (await session.execute(statement)).all()
        return [
            ActivityBucket(int(document_id), bucket, int(added), int(removed), int(edits))
            for document_id, bucket, added, removed, edits in rows
        ]

    async def begin_run(self, run_id: str, *, sole: bool, stale_after: float) -> list[str]:
        now = time.time()
        try:
            async with self._sessions.begin() as session:
                rows = await session.execute(
                    select(SettingRow.key, SettingRow.value).where(
                        SettingRow.key.startswith(_RUN, autoescape=True)
                    )
                )
                others = {k: float(v) for k, v in rows.all() if k != _RUN + run_id}
                gone = [k for k, at in others.items() if sole or now - at > stale_after]
                if gone:
                    await session.execute(delete(SettingRow).where(SettingRow.key.in_(gone)))
                session.add(SettingRow(key=_RUN + run_id, value=repr(now)))
        except (SQLAlchemyError, OSError) as exc:
            raise StoreError(f"could not record this process: {exc}") from exc
        return sorted(k.removeprefix(_RUN) for k in others)

    async def renew_run(self, run_id: str) -> None:
        try:
            async with self._sessions.begin() as session:
                await session.execute(
                    update(SettingRow)
                    .where(SettingRow.key == _RUN + run_id)
                    .values(value=repr(time.time()))
                )
        except (SQLAlchemyError, OSError) as exc:
            raise StoreError(f"could not renew this process's record: {exc}") from exc

    async def end_run(self, run_id: str) -> bool:
        try:
            async with self._sessions.begin() as session:
                result = await session.execute(
                    delete(SettingRow).where(SettingRow.key == _RUN + run_id)
                )
                removed: int = result.rowcount  # type: ignore[attr-defined]
        except (SQLAlchemyError, OSError) as exc:
            raise StoreError(f"could not record a clean stop: {exc}") from exc
        return removed > 0

    async def claim_clients(
        self, document_id: int, participant_id: str, client_ids: Sequence[int]
    ) -> dict[int, str]:
        if not client_ids:
            return {}
        insert_ignoring = pg_insert if self.engine.dialect.name == "postgresql" else sqlite_insert
        now = utcnow()
        rows = [
            {
                "document_id": document_id,
                "client_id": client_id,
                "participant_id": participant_id,
                "claimed_at": now,
            }
            for client_id in client_ids
        ]
        try:
            async with self._sessions.begin() as session:
                await session.execute(
                    insert_ignoring(ClientClaimRow).on_conflict_do_nothing(), rows
                )
                result = await session.execute(
                    select(ClientClaimRow.client_id, ClientClaimRow.participant_id).where(
                        ClientClaimRow.document_id == document_id,
                        ClientClaimRow.client_id.in_(client_ids),
                    )
                )
                return {client_id: owner for client_id, owner in result.all()}
        except (SQLAlchemyError, OSError) as exc:
            raise StoreError(f"could not claim client ids: {exc}") from exc

    async def document_authors(self, document_id: int) -> dict[int, str]:
        try:
            async with self._sessions() as session:
                result = await session.execute(
                    select(ClientClaimRow.client_id, ClientClaimRow.participant_id).where(
                        ClientClaimRow.document_id == document_id
                    )
                )
                return {client_id: owner for client_id, owner in result.all()}
        except (SQLAlchemyError, OSError) as exc:
            raise StoreError(f"could not read the document's authors: {exc}") from exc

    async def replace_snapshot(
        self,
        document_id: int,
        expected_version: int,
        snapshot: bytes,
        folded_update_ids: Sequence[int],
    ) -> bool:
        try:
            async with self._sessions.begin() as session:
                # The version check takes the row lock on PostgreSQL: a concurrent
                # compaction waits here, then finds the version moved and gives up.
                result = await session.execute(
                    update(DocumentRow)
                    .where(
                        DocumentRow.id == document_id,
                        DocumentRow.snapshot_version == expected_version,
                    )
                    .values(snapshot=snapshot, snapshot_version=DocumentRow.snapshot_version + 1)
                )
                if result.rowcount != 1:  # type: ignore[attr-defined]
                    await session.rollback()
                    return False
                for start in range(0, len(folded_update_ids), _DELETE_BATCH):
                    batch = folded_update_ids[start : start + _DELETE_BATCH]
                    await session.execute(
                        delete(UpdateRow).where(
                            UpdateRow.document_id == document_id, UpdateRow.id.in_(batch)
                        )
                    )
                return True
        except (SQLAlchemyError, OSError) as exc:
            raise StoreError(f"could not store a snapshot: {exc}") from exc

    async def append_event(self, room_id: int, type: str, data: dict[str, Any]) -> RoomEvent:
        try:
            async with self._sessions.begin() as session:
                # The counter update locks the room row until commit, so concurrent
                # appends from several processes get consecutive numbers, no gaps.
                seq = await session.scalar(
                    update(RoomRow)
                    .where(RoomRow.id == room_id)
                    .values(event_seq=RoomRow.event_seq + 1)
                    .returning(RoomRow.event_seq)
                )
                if seq is None:
                    raise StoreError(f"no room {room_id}")
                row = RoomEventRow(
                    room_id=room_id, seq=seq, type=type, data=json.dumps(data), created_at=utcnow()
                )
                session.add(row)
        except (SQLAlchemyError, OSError) as exc:
            raise StoreError(f"could not store a room event: {exc}") from exc
        return RoomEvent(room_id, seq, type, data, row.created_at)

    async def events_since(self, room_id: int, after_seq: int, limit: int) -> list[RoomEvent]:
        async with self._sessions() as session:
            rows = await session.scalars(
                select(RoomEventRow)
                .where(RoomEventRow.room_id == room_id, RoomEventRow.seq > after_seq)
                .order_by(RoomEventRow.seq)
                .limit(limit)
            )
            return [
                RoomEvent(r.room_id, r.seq, r.type, json.loads(r.data), r.created_at) for r in rows
            ]

    async def last_event_seq(self, room_id: int) -> int:
        async with self._sessions() as session:
            seq = await session.scalar(select(RoomRow.event_seq).where(RoomRow.id == room_id))
        return int(seq or 0)

    async def storage_stats(self, document_id: int) -> tuple[int, int, int]:
        """(log rows, log bytes, snapshot bytes) of one document."""
        async with self._sessions() as session:
            rows, log_bytes = (
                await session.execute(
                    select(
                        func.count(UpdateRow.id),
                        func.coalesce(func.sum(func.length(UpdateRow.data)), 0),
                    ).where(UpdateRow.document_id == document_id)
                )
            ).one()
            snapshot = await session.scalar(
                select(func.coalesce(func.length(DocumentRow.snapshot), 0)).where(
                    DocumentRow.id == document_id
                )
            )
        return int(rows), int(log_bytes), int(snapshot or 0)


def new_secret() -> str:
    return secrets.token_urlsafe(48)
