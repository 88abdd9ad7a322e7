"""The :class:`rooms.ports.ParticipantStore` on SQLAlchemy 2 async."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Integer,
    ScalarSelect,
    String,
    and_,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from rooms.participation_records import PresenceSpan
from rooms.ports import ParticipantLimitReached, StoreError
from rooms.presence import COLOURS
from rooms.records import Participant
from rooms.roles import Role
from server.storage.sessions import Sessions
from server.storage.tables import (
    ParticipantRow,
    PresenceSpanRow,
    RoomRow,
    UTCDateTime,
    utcnow,
)


def participant_of(row: ParticipantRow) -> Participant:
    return Participant(
        row.id,
        row.room_id,
        row.name,
        Role(row.role),
        row.created_at,
        row.removed_at is not None,
        row.account_id,
        row.colour,
    )


def _least_used_colour(room_id: int) -> ScalarSelect[int]:
    """The palette index used least among the room's people not removed, the lowest
    among equals (as :func:`rooms.presence.least_used_colour`). Rows without a colour
    (from before migration 0010) count for none: their hashed one is not in SQL."""
    # Inline constants: a bound parameter in a UNION has no type PostgreSQL can infer.
    palette = union_all(
        *(select(literal_column(str(i), Integer).label("i")) for i in range(len(COLOURS)))
    ).subquery("palette")
    used = (
        select(func.count())
        .select_from(ParticipantRow)
        .where(
            ParticipantRow.room_id == room_id,
            ParticipantRow.removed_at.is_(None),
            ParticipantRow.colour == palette.c.i,
        )
        .correlate(palette)
        .scalar_subquery()
    )
    return select(palette.c.i).order_by(used, palette.c.i).limit(1).scalar_subquery()


class SqlParticipantStore:
    """Participants in the same database as everything else; each method is one transaction."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._sessions = Sessions(engine)

    async def add_participant(
        self, room_id: int, name: str, role: Role, limit: int = 0, account_id: str | None = None
    ) -> Participant:
        try:
            return await self._add(room_id, name, role, limit, account_id)
        except IntegrityError:
            # The account's seat in this room was stored first by another request.
            if account_id is None:
                raise
            existing = await self._seat(room_id, account_id)
            if existing is None:
                raise
            return existing

    async def _seat(self, room_id: int, account_id: str) -> Participant | None:
        statement = select(ParticipantRow).where(
            ParticipantRow.room_id == room_id, ParticipantRow.account_id == account_id
        )
        async with self._sessions() as session:
            row = await session.scalar(statement)
            return None if row is None else participant_of(row)

    async def _add(
        self, room_id: int, name: str, role: Role, limit: int, account_id: str | None
    ) -> Participant:
        participant_id, created_at = uuid.uuid4().hex, utcnow()
        # One statement reads the room's colours (and its cap) and inserts: SQLite runs it
        # under its write lock, and on PostgreSQL the transaction first locks the room's
        # row, so that joins to one room take turns and each sees the ones before it.
        # Without that lock two joins at the same moment could pick the same colour: no
        # harm beyond two people sharing one, as before colours were stored.
        values = select(
            literal(participant_id),
            literal(room_id),
            literal(name),
            literal(role.value),
            literal(created_at, UTCDateTime()),
            literal(account_id, String(32)),
            _least_used_colour(room_id),
        )
        if limit > 0:
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
            # As for documents: the count and the insert are one statement.
            values = values.where(held < limit)
        statement = (
            insert(ParticipantRow)
            .from_select(
                ["id", "room_id", "name", "role", "created_at", "account_id", "colour"], values
            )
            .returning(ParticipantRow.colour)
        )
        async with self._sessions.begin() as session:
            if self._engine.dialect.name == "postgresql":
                await session.execute(
                    select(RoomRow.id).where(RoomRow.id == room_id).with_for_update()
                )
            inserted = (await session.execute(statement)).first()
        if inserted is None:
            raise ParticipantLimitReached
        return Participant(
            participant_id, room_id, name, role, created_at, False, account_id, inserted[0]
        )

    async def get_participant(self, participant_id: str) -> Participant | None:
        async with self._sessions() as session:
            row = await session.get(ParticipantRow, participant_id)
            return None if row is None else participant_of(row)

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
            return [participant_of(r) for r in rows]

    async def standing(self, participant_id: str) -> tuple[Role, str] | None:
        # Asked on every connection: a plain connection costs half an ORM session.
        async with self._engine.connect() as connection:
            found = await connection.execute(
                select(ParticipantRow.role, ParticipantRow.name).where(
                    ParticipantRow.id == participant_id, ParticipantRow.removed_at.is_(None)
                )
            )
            row = found.first()
        return None if row is None else (Role(row[0]), str(row[1]))

    async def remove_participant(self, participant_id: str) -> None:
        await self._update(
            update(ParticipantRow)
            .where(ParticipantRow.id == participant_id, ParticipantRow.removed_at.is_(None))
            .values(removed_at=utcnow()),
            "remove a participant",
        )

    async def set_role(self, participant_id: str, role: Role) -> None:
        await self._update(
            update(ParticipantRow)
            .where(ParticipantRow.id == participant_id)
            .values(role=role.value),
            "change a role",
        )

    async def count_role(self, room_id: int, role: Role) -> int:
        statement = (
            select(func.count())
            .select_from(ParticipantRow)
            .where(
                ParticipantRow.room_id == room_id,
                ParticipantRow.role == role.value,
                ParticipantRow.removed_at.is_(None),
            )
        )
        async with self._sessions() as session:
            return int(await session.scalar(statement) or 0)

    async def add_presence(
        self, room_id: int, participant_id: str, started_at: datetime, ended_at: datetime
    ) -> None:
        await self._update(
            insert(PresenceSpanRow).values(
                room_id=room_id,
                participant_id=participant_id,
                started_at=started_at,
                ended_at=ended_at,
            ),
            "record a presence",
        )

    async def presence_spans(
        self, room_id: int, participant_id: str | None = None
    ) -> list[PresenceSpan]:
        statement = (
            select(
                PresenceSpanRow.participant_id,
                PresenceSpanRow.started_at,
                PresenceSpanRow.ended_at,
            )
            .where(PresenceSpanRow.room_id == room_id)
            .order_by(PresenceSpanRow.started_at, PresenceSpanRow.participant_id)
        )
        if participant_id is not None:
            statement = statement.where(PresenceSpanRow.participant_id == participant_id)
        async with self._sessions() as session:
            rows = (await session.execute(statement)).all()
        return [PresenceSpan(str(p), started, ended) for p, started, ended in rows]

    async def _update(self, statement: Any, what: str) -> None:
        try:
            async with self._sessions.begin() as session:
                await session.execute(statement)
        except SQLAlchemyError as exc:
            raise StoreError(f"could not {what}: {exc}") from exc
