"""The :class:`rooms.ports.ControlStore` on SQLAlchemy 2 async."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from rooms.control_records import AuditEntry, RoomControls, VersionInfo
from rooms.ports import StoreError
from rooms.records import DocumentInfo, Invite, Room
from rooms.roles import Role
from server.storage.sessions import Sessions
from server.storage.store import document_info
from server.storage.tables import (
    AuditRow,
    DocumentRow,
    InviteRow,
    RoomRow,
    VersionRow,
    utcnow,
)


def _version(row: VersionRow) -> VersionInfo:
    return VersionInfo(
        row.id, row.document_id, row.name, row.reason, row.created_by, row.created_at
    )


class SqlControlStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._sessions = Sessions(engine)

    async def rotate_invite(self, room_id: int, role: Role, code: str) -> Invite:
        now = utcnow()
        try:
            async with self._sessions.begin() as session:
                await session.execute(
                    update(InviteRow)
                    .where(
                        InviteRow.room_id == room_id,
                        InviteRow.role == role.value,
                        InviteRow.revoked_at.is_(None),
                    )
                    .values(revoked_at=now)
                )
                session.add(InviteRow(code=code, room_id=room_id, role=role.value, created_at=now))
                room = await session.get(RoomRow, room_id)
                if room is None:
                    raise StoreError(f"no room {room_id}")
        except SQLAlchemyError as exc:
            raise StoreError(f"could not rotate an invite: {exc}") from exc
        return Invite(code, Room(room.id, room.slug, room.title, room.created_at), role)

    async def document_by_id(self, document_id: int) -> DocumentInfo | None:
        async with self._sessions() as session:
            row = await session.get(DocumentRow, document_id)
            return None if row is None else document_info(row)

    async def set_document_locked(
        self, document_id: int, locked: bool, by: str | None = None
    ) -> None:
        await self._update(
            update(DocumentRow)
            .where(DocumentRow.id == document_id)
            .values(locked=locked, locked_by=by if locked else None),
            "lock a document",
        )

    async def describe_document(
        self, document_id: int, template: str | None, created_by: str | None
    ) -> None:
        await self._update(
            update(DocumentRow)
            .where(DocumentRow.id == document_id)
            .values(template=template, created_by=created_by),
            "describe a document",
        )

    async def set_document_mentor(self, document_id: int, mentor_id: str | None) -> None:
        await self._update(
            update(DocumentRow).where(DocumentRow.id == document_id).values(mentor_id=mentor_id),
            "set a mentor",
        )

    async def room_controls(self, room_id: int) -> RoomControls:
        async with self._sessions() as session:
            row = await session.get(RoomRow, room_id)
        if row is None:
            return RoomControls()
        return RoomControls(
            row.spotlight_id, row.timer_started_at, row.timer_ends_at, row.timer_label
        )

    async def set_spotlight(self, room_id: int, participant_id: str | None) -> None:
        await self._update(
            update(RoomRow).where(RoomRow.id == room_id).values(spotlight_id=participant_id),
            "set the spotlight",
        )

    async def set_timer(
        self,
        room_id: int,
        started_at: datetime | None,
        ends_at: datetime | None,
        label: str | None,
    ) -> None:
        await self._update(
            update(RoomRow)
            .where(RoomRow.id == room_id)
            .values(timer_started_at=started_at, timer_ends_at=ends_at, timer_label=label),
            "set the timer",
        )

    async def save_version(
        self, document_id: int, name: str, reason: str, created_by: str | None, state: bytes
    ) -> VersionInfo:
        try:
            async with self._sessions.begin() as session:
                row = VersionRow(
                    document_id=document_id,
                    name=name,
                    reason=reason,
                    created_by=created_by,
                    created_at=utcnow(),
                    state=state,
                )
                session.add(row)
        except SQLAlchemyError as exc:
            raise StoreError(f"could not save a version: {exc}") from exc
        return _version(row)

    async def list_versions(self, document_id: int) -> list[VersionInfo]:
        async with self._sessions() as session:
            rows = (
                await session.execute(
                    select(
                        VersionRow.id,
                        VersionRow.document_id,
                        VersionRow.name,
                        VersionRow.reason,
                        VersionRow.created_by,
                        VersionRow.created_at,
                    )
                    .where(VersionRow.document_id == document_id)
                    .order_by(VersionRow.id.desc())
                )
            ).all()
        return [VersionInfo(*row) for row in rows]

    async def get_version(self, version_id: int) -> tuple[VersionInfo, bytes] | None:
        async with self._sessions() as session:
            row = await session.get(VersionRow, version_id)
            return None if row is None else (_version(row), row.state)

    async def record(
        self,
        room_id: int,
        actor_id: str | None,
        actor_name: str,
        action: str,
        details: dict[str, Any],
    ) -> None:
        try:
            async with self._sessions.begin() as session:
                session.add(
                    AuditRow(
                        room_id=room_id,
                        at=utcnow(),
                        actor_id=actor_id,
                        actor_name=actor_name,
                        action=action,
                        details=json.dumps(details),
                    )
                )
        except SQLAlchemyError as exc:
            raise StoreError(f"could not record an audit entry: {exc}") from exc

    async def audit_log(self, room_id: int, limit: int, before_id: int | None) -> list[AuditEntry]:
        query = select(AuditRow).where(AuditRow.room_id == room_id)
        if before_id is not None:
            query = query.where(AuditRow.id < before_id)
        async with self._sessions() as session:
            rows = await session.scalars(query.order_by(AuditRow.id.desc()).limit(limit))
            return [
                AuditEntry(r.id, r.at, r.actor_id, r.actor_name, r.action, json.loads(r.details))
                for r in rows
            ]

    async def _update(self, statement: Any, what: str) -> None:
        try:
            async with self._sessions.begin() as session:
                await session.execute(statement)
        except SQLAlchemyError as exc:
            raise StoreError(f"could not {what}: {exc}") from exc
