"""The :class:`rooms.ports.AccountStore` on SQLAlchemy 2 async."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from rooms.account_records import Account, DeviceSession, Purpose, Seat, SignIn
from rooms.ports import StoreError
from rooms.records import Participant, Room
from rooms.roles import Role
from server.storage.participants import participant_of
from server.storage.sessions import Sessions
from server.storage.tables import (
    AccountRow,
    AccountSessionRow,
    ParticipantRow,
    RoomCreatorRow,
    RoomEventRow,
    RoomRow,
    SettingRow,
    SignInRow,
    utcnow,
)

# What counts as new in a room since a person's last visit: what someone said or made.
NEW_ACTIVITY = ("thread.created", "comment.created", "document.created", "version.restored")


def _account(row: AccountRow) -> Account:
    return Account(row.id, row.email, row.name, row.created_at, row.admin)


def _sign_in(row: SignInRow) -> SignIn:
    return SignIn(
        email=row.email,
        link_hash=row.link_hash,
        code_hash=row.code_hash,
        purpose=Purpose(row.purpose),
        address=row.address,
        created_at=row.created_at,
        expires_at=row.expires_at,
        next=row.next,
        name=row.name,
        participant_id=row.participant_id,
        room_id=row.room_id,
        role=None if row.role is None else Role(row.role),
        document_id=row.document_id,
        id=row.id,
        used_at=row.used_at,
        failed_codes=row.failed_codes,
    )


def _session(row: AccountSessionRow) -> DeviceSession:
    return DeviceSession(
        row.id, row.account_id, row.device, row.created_at, row.last_used_at, row.expires_at
    )


def _room(row: RoomRow) -> Room:
    return Room(row.id, row.slug, row.title, row.created_at)


class SqlAccountStore:
    """Accounts in the same database as everything else; each method is one transaction."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._sessions = Sessions(engine)

    # Sign-in emails

    async def recent_sign_ins(
        self, email: str, address: str, since: datetime
    ) -> tuple[list[datetime], list[datetime]]:
        recent = SignInRow.created_at >= since
        by_email = select(SignInRow.created_at).where(SignInRow.email == email, recent)
        by_address = select(SignInRow.created_at).where(SignInRow.address == address, recent)
        async with self._sessions() as session:
            emails = list(await session.scalars(by_email.order_by(SignInRow.created_at)))
            addresses = list(await session.scalars(by_address.order_by(SignInRow.created_at)))
        return emails, addresses

    async def add_sign_in(self, sign_in: SignIn) -> int:
        """Store a sign-in, and forget the ones past any use: expired a day ago (they no
        longer count for the limits, which look back an hour), and expired sessions."""
        row = SignInRow(
            email=sign_in.email,
            link_hash=sign_in.link_hash,
            code_hash=sign_in.code_hash,
            purpose=sign_in.purpose.value,
            address=sign_in.address,
            created_at=sign_in.created_at,
            expires_at=sign_in.expires_at,
            next=sign_in.next,
            name=sign_in.name,
            participant_id=sign_in.participant_id,
            room_id=sign_in.room_id,
            role=None if sign_in.role is None else sign_in.role.value,
            document_id=sign_in.document_id,
        )
        stale = sign_in.created_at - timedelta(days=1)
        async with self._sessions.begin() as session:
            await session.execute(delete(SignInRow).where(SignInRow.expires_at < stale))
            await session.execute(
                delete(AccountSessionRow).where(AccountSessionRow.expires_at < sign_in.created_at)
            )
            session.add(row)
            await session.flush()
            return row.id

    async def use_link(self, link_hash: str, now: datetime, max_failures: int) -> SignIn | None:
        statement = (
            update(SignInRow)
            .where(
                SignInRow.link_hash == link_hash,
                SignInRow.used_at.is_(None),
                SignInRow.expires_at > now,
                SignInRow.failed_codes < max_failures,
            )
            .values(used_at=now)
            .returning(SignInRow)
        )
        async with self._sessions.begin() as session:
            row = (await session.execute(statement)).scalar_one_or_none()
            return None if row is None else _sign_in(row)

    async def sign_in_by_link(self, link_hash: str) -> SignIn | None:
        async with self._sessions() as session:
            row = await session.scalar(select(SignInRow).where(SignInRow.link_hash == link_hash))
            return None if row is None else _sign_in(row)

    async def live_sign_ins(self, email: str, now: datetime, max_failures: int) -> list[SignIn]:
        statement = (
            select(SignInRow)
            .where(
                SignInRow.email == email,
                SignInRow.used_at.is_(None),
                SignInRow.expires_at > now,
                SignInRow.failed_codes < max_failures,
            )
            .order_by(SignInRow.created_at.desc(), SignInRow.id.desc())
        )
        async with self._sessions() as session:
            return [_sign_in(r) for r in await session.scalars(statement)]

    async def use_sign_in(self, sign_in_id: int, now: datetime) -> bool:
        statement = (
            update(SignInRow)
            .where(SignInRow.id == sign_in_id, SignInRow.used_at.is_(None))
            .values(used_at=now)
            .returning(SignInRow.id)
        )
        async with self._sessions.begin() as session:
            return (await session.execute(statement)).scalar_one_or_none() is not None

    async def fail_codes(self, sign_in_ids: Sequence[int]) -> None:
        if sign_in_ids:
            await self._write(
                update(SignInRow)
                .where(SignInRow.id.in_(list(sign_in_ids)))
                .values(failed_codes=SignInRow.failed_codes + 1),
                "count a wrong code",
            )

    # Accounts

    async def account(self, account_id: str) -> Account | None:
        async with self._sessions() as session:
            row = await session.get(AccountRow, account_id)
            return None if row is None else _account(row)

    async def account_by_email(self, email: str) -> Account | None:
        async with self._sessions() as session:
            row = await session.scalar(select(AccountRow).where(AccountRow.email == email))
            return None if row is None else _account(row)

    async def create_account(self, email: str, name: str, admin: bool = False) -> Account:
        row = AccountRow(
            id=uuid.uuid4().hex, email=email, name=name, created_at=utcnow(), admin=admin
        )
        try:
            async with self._sessions.begin() as session:
                session.add(row)
        except IntegrityError:
            existing = await self.account_by_email(email)
            if existing is None:
                raise
            return existing
        return _account(row)

    async def rename_account(self, account_id: str, name: str) -> None:
        async with self._sessions.begin() as session:
            await session.execute(
                update(AccountRow).where(AccountRow.id == account_id).values(name=name)
            )
            await session.execute(
                update(ParticipantRow)
                .where(ParticipantRow.account_id == account_id)
                .values(name=name)
            )

    async def set_admin(self, account_id: str, admin: bool) -> None:
        await self._write(
            update(AccountRow).where(AccountRow.id == account_id).values(admin=admin),
            "change an admin",
        )

    async def list_admins(self) -> list[Account]:
        statement = select(AccountRow).where(AccountRow.admin).order_by(AccountRow.email)
        async with self._sessions() as session:
            return [_account(r) for r in await session.scalars(statement)]

    async def delete_account(self, account_id: str, former_name: str) -> None:
        account = await self.account(account_id)
        async with self._sessions.begin() as session:
            now = utcnow()
            await session.execute(
                update(ParticipantRow)
                .where(ParticipantRow.account_id == account_id)
                .values(
                    name=former_name,
                    account_id=None,
                    removed_at=func.coalesce(ParticipantRow.removed_at, now),
                )
            )
            if account is not None:
                await session.execute(delete(SignInRow).where(SignInRow.email == account.email))
            await session.execute(
                delete(AccountSessionRow).where(AccountSessionRow.account_id == account_id)
            )
            await session.execute(delete(AccountRow).where(AccountRow.id == account_id))

    # Signed-in browsers

    async def add_session(self, session_record: DeviceSession, token_hash: str) -> None:
        async with self._sessions.begin() as session:
            session.add(
                AccountSessionRow(
                    id=session_record.id,
                    account_id=session_record.account_id,
                    token_hash=token_hash,
                    device=session_record.device,
                    created_at=session_record.created_at,
                    last_used_at=session_record.last_used_at,
                    expires_at=session_record.expires_at,
                )
            )

    async def session_by_token(
        self, token_hash: str, now: datetime
    ) -> tuple[DeviceSession, Account] | None:
        statement = (
            select(AccountSessionRow, AccountRow)
            .join(AccountRow, AccountRow.id == AccountSessionRow.account_id)
            .where(AccountSessionRow.token_hash == token_hash, AccountSessionRow.expires_at > now)
        )
        async with self._sessions() as session:
            found = (await session.execute(statement)).first()
        if found is None:
            return None
        return _session(found[0]), _account(found[1])

    async def session_alive(self, session_id: str) -> bool:
        # Asked on every request and connection of a signed-in browser's room token.
        async with self._engine.connect() as connection:
            found = await connection.execute(
                select(AccountSessionRow.expires_at).where(AccountSessionRow.id == session_id)
            )
            row = found.first()
        if row is None:
            return False
        expires_at: datetime = row[0]
        if expires_at.tzinfo is None:
            expires_at = expires_at.replace(tzinfo=UTC)
        return expires_at > utcnow()

    async def touch_session(self, session_id: str, now: datetime, expires_at: datetime) -> None:
        await self._write(
            update(AccountSessionRow)
            .where(AccountSessionRow.id == session_id)
            .values(last_used_at=now, expires_at=expires_at),
            "note a session's use",
        )

    async def list_sessions(self, account_id: str) -> list[DeviceSession]:
        statement = (
            select(AccountSessionRow)
            .where(AccountSessionRow.account_id == account_id)
            .order_by(AccountSessionRow.last_used_at.desc())
        )
        async with self._sessions() as session:
            return [_session(r) for r in await session.scalars(statement)]

    async def end_session(self, account_id: str, session_id: str) -> bool:
        statement = (
            delete(AccountSessionRow)
            .where(AccountSessionRow.account_id == account_id, AccountSessionRow.id == session_id)
            .returning(AccountSessionRow.id)
        )
        async with self._sessions.begin() as session:
            return (await session.execute(statement)).first() is not None

    async def end_sessions(self, account_id: str) -> list[str]:
        statement = (
            delete(AccountSessionRow)
            .where(AccountSessionRow.account_id == account_id)
            .returning(AccountSessionRow.id)
        )
        async with self._sessions.begin() as session:
            return [str(r[0]) for r in (await session.execute(statement)).all()]

    # Seats

    async def seat(self, account_id: str, room_id: int) -> Participant | None:
        statement = select(ParticipantRow).where(
            ParticipantRow.account_id == account_id, ParticipantRow.room_id == room_id
        )
        async with self._sessions() as session:
            row = await session.scalar(statement)
            return None if row is None else participant_of(row)

    async def seats(self, account_id: str, include_removed: bool = False) -> list[Seat]:
        statement = (
            select(ParticipantRow, RoomRow)
            .join(RoomRow, RoomRow.id == ParticipantRow.room_id)
            .where(ParticipantRow.account_id == account_id)
        )
        if not include_removed:
            statement = statement.where(ParticipantRow.removed_at.is_(None))
        seats: list[Seat] = []
        async with self._sessions() as session:
            for participant_row, room_row in (await session.execute(statement)).all():
                new = await session.scalar(
                    select(func.count())
                    .select_from(RoomEventRow)
                    .where(
                        RoomEventRow.room_id == room_row.id,
                        RoomEventRow.seq > participant_row.last_seen_seq,
                        RoomEventRow.type.in_(NEW_ACTIVITY),
                    )
                )
                last = await session.scalar(
                    select(func.max(RoomEventRow.created_at)).where(
                        RoomEventRow.room_id == room_row.id
                    )
                )
                if last is not None and last.tzinfo is None:
                    last = last.replace(tzinfo=room_row.created_at.tzinfo)
                seats.append(
                    Seat(_room(room_row), participant_of(participant_row), int(new or 0), last)
                )
        seats.sort(key=lambda s: s.last_activity or s.room.created_at, reverse=True)
        return seats

    async def attach(self, participant_id: str, account_id: str) -> bool:
        async with self._sessions.begin() as session:
            row = await session.get(ParticipantRow, participant_id, with_for_update=True)
            if row is None or row.account_id is not None or row.removed_at is not None:
                return False
            taken = await session.scalar(
                select(ParticipantRow.id).where(
                    ParticipantRow.room_id == row.room_id,
                    ParticipantRow.account_id == account_id,
                )
            )
            if taken is not None:
                return False
            row.account_id = account_id
        return True

    async def mark_seen(self, participant_id: str, seq: int) -> None:
        await self._write(
            update(ParticipantRow)
            .where(
                ParticipantRow.id == participant_id,
                ParticipantRow.account_id.is_not(None),
                ParticipantRow.last_seen_seq < seq,
            )
            .values(last_seen_seq=seq),
            "note a visit",
        )

    async def room(self, room_id: int) -> Room | None:
        async with self._sessions() as session:
            row = await session.get(RoomRow, room_id)
            return None if row is None else _room(row)

    # Who may create rooms

    async def room_creators(self) -> list[str]:
        async with self._sessions() as session:
            rows = await session.scalars(select(RoomCreatorRow.pattern).order_by("pattern"))
            return list(rows)

    async def add_room_creator(self, pattern: str) -> None:
        try:
            async with self._sessions.begin() as session:
                session.add(RoomCreatorRow(pattern=pattern, created_at=utcnow()))
        except IntegrityError:
            pass  # listed already

    async def remove_room_creator(self, pattern: str) -> bool:
        statement = (
            delete(RoomCreatorRow)
            .where(RoomCreatorRow.pattern == pattern)
            .returning(RoomCreatorRow.pattern)
        )
        async with self._sessions.begin() as session:
            return (await session.execute(statement)).first() is not None

    async def get_setting(self, key: str) -> str | None:
        async with self._sessions() as session:
            return await session.scalar(select(SettingRow.value).where(SettingRow.key == key))

    async def set_setting(self, key: str, value: str) -> None:
        async with self._sessions.begin() as session:
            row = await session.get(SettingRow, key)
            if row is None:
                session.add(SettingRow(key=key, value=value))
            else:
                row.value = value

    async def _write(self, statement: Any, what: str) -> None:
        try:
            async with self._sessions.begin() as session:
                await session.execute(statement)
        except SQLAlchemyError as exc:
            raise StoreError(f"could not {what}: {exc}") from exc
