"""The :class:`rooms.ports.ParticipantStore` on SQLAlchemy 2 async."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import and_, func, insert, literal, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from rooms.ports import ParticipantLimitReached, StoreError
from rooms.records import Participant
from rooms.roles import Role
from server.storage.tables import ParticipantRow, RoomRow, UTCDateTime, utcnow


def _participant(row: ParticipantRow) -> Participant:
    return Participant(
        row.id, row.room_id, row.name, Role(row.role), row.created_at, row.removed_at is not None
    )


class SqlParticipantStore:
    """Participants in the same database as everything else; each method is one transaction."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def add_participant(
        self, room_id: int, name: str, role: Role, limit: int = 0
    ) -> Participant:
        participant_id, created_at = uuid.uuid4().hex, utcnow()
        if limit <= 0:
            async with self._sessions.begin() as session:
                session.add(
                    ParticipantRow(
                        id=participant_id,
                        room_id=room_id,
                        name=name,
                        role=role.value,
                        created_at=created_at,
                    )
                )
            return Participant(participant_id, room_id, name, role, created_at)
        held = (
            select(func.count())
            .select_from(ParticipantRow)
            .where(
                ParticipantRow.room_id == room_id,
                ParticipantRow.removed_at.is_(None),
                ParticipantRow.role != Role.FACILITATOR.value,
            )
            .scalar_subquery()
        )
        # As for documents: one statement counts and inserts (under SQLite's write lock),
        # and PostgreSQL first locks the room's row so that joins take turns.
        values = select(
            literal(participant_id),
            literal(room_id),
            literal(name),
            literal(role.value),
            literal(created_at, UTCDateTime()),
        ).where(held < limit)
        statement = (
            insert(ParticipantRow)
            .from_select(["id", "room_id", "name", "role", "created_at"], values)
            .returning(ParticipantRow.id)
        )
        async with self._sessions.begin() as session:
            if self._engine.dialect.name == "postgresql":
                await session.execute(
                    select(RoomRow.id).where(RoomRow.id == room_id).with_for_update()
                )
            inserted = (await session.execute(statement)).scalar_one_or_none()
        if inserted is None:
            raise ParticipantLimitReached
        return Participant(participant_id, room_id, name, role, created_at)

    async def get_participant(self, participant_id: str) -> Participant | None:
        async with self._sessions() as session:
            row = await session.get(ParticipantRow, participant_id)
            return None if row is None else _participant(row)

    async def list_participants(
        self, room_id: int, limit: int | None = None, after: Participant | None = None
    ) -> list[Participant]:
        statement = (
            select(ParticipantRow)
            .where(ParticipantRow.room_id == room_id, ParticipantRow.removed_at.is_(None))
            .order_by(ParticipantRow.created_at, ParticipantRow.id)
            .limit(limit)
        )
        if after is not None:
            # Keyset: a page starts right after the last row of the one before, so joins
            # and removals in between neither repeat nor skip anyone.
            statement = statement.where(
                or_(
                    ParticipantRow.created_at > after.created_at,
                    and_(
                        ParticipantRow.created_at == after.created_at,
                        ParticipantRow.id > after.id,
                    ),
                )
            )
        async with self._sessions() as session:
            rows = await session.scalars(statement)
            return [_participant(r) for r in rows]

    async def participant_active(self, participant_id: str) -> bool:
        # Asked on every connection: a plain connection costs half an ORM session.
        async with self._engine.connect() as connection:
            removed = await connection.execute(
                select(ParticipantRow.removed_at).where(ParticipantRow.id == participant_id)
            )
            row = removed.first()
        return row is not None and row[0] is None

    async def remove_participant(self, participant_id: str) -> None:
        await self._update(
            update(ParticipantRow)
            .where(ParticipantRow.id == participant_id, ParticipantRow.removed_at.is_(None))
            .values(removed_at=utcnow()),
            "remove a participant",
        )

    async def _update(self, statement: Any, what: str) -> None:
        try:
            async with self._sessions.begin() as session:
                await session.execute(statement)
        except SQLAlchemyError as exc:
            raise StoreError(f"could not {what}: {exc}") from exc
