"""The :class:`rooms.ports.ThreadStore` on SQLAlchemy 2 async."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, and_, case, delete, func, insert, not_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from rooms.participation_records import ThreadCounts, UnansweredQuestion
from rooms.ports import StoreError
from rooms.roles import Role
from rooms.threads import (
    Anchor,
    Author,
    Comment,
    CommentState,
    NewThread,
    Reaction,
    RoomSettings,
    Thread,
    ThreadKind,
    ThreadQuery,
    ThreadStatus,
)
from server.storage.sessions import Sessions
from server.storage.tables import (
    CommentRow,
    DocumentRow,
    MentionRow,
    ParticipantRow,
    ReactionRow,
    RoomRow,
    ThreadRow,
    utc_of,
    utcnow,
)

# Comments whose body is gone (deleted by their author, removed by a facilitator).
_ERASED = (CommentState.DELETED.value, CommentState.REMOVED.value)

_ThreadSelect = Select[ThreadRow, ParticipantRow, str]


def _author(row: ParticipantRow) -> Author:
    return Author(row.id, row.name, Role(row.role))


class SqlThreadStore:
    """Threads, comments, reactions and mentions in the same database as everything else."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = Sessions(engine)

    async def create_thread(self, draft: NewThread) -> int:
        now = utcnow()
        anchor = draft.anchor
        try:
            async with self._sessions.begin() as session:
                thread = ThreadRow(
                    room_id=draft.room_id,
                    document_id=draft.document_id,
                    kind=draft.kind.value,
                    author_id=draft.author_id,
                    anonymous=draft.anonymous,
                    anchor_start=None if anchor is None else anchor.start,
                    anchor_end=None if anchor is None else anchor.end,
                    quote=None if anchor is None else anchor.quote,
                    status=ThreadStatus.OPEN.value,
                    locked=False,
                    post_first=draft.post_first,
                    accepted_comment_id=None,
                    reply_count=0,
                    created_at=now,
                    last_activity_at=now,
                )
                session.add(thread)
                await session.flush()
                await self._insert_comment(
                    session, thread.id, draft.author_id, draft.body, draft.mention_ids, False
                )
        except SQLAlchemyError as exc:
            raise StoreError(f"could not store a thread: {exc}") from exc
        return thread.id

    async def _insert_comment(
        self,
        session: AsyncSession,
        thread_id: int,
        author_id: str,
        body: str,
        mention_ids: Sequence[str],
        is_reply: bool,
    ) -> int:
        comment = CommentRow(
            thread_id=thread_id,
            author_id=author_id,
            is_reply=is_reply,
            body=body,
            state=CommentState.VISIBLE.value,
            created_at=utcnow(),
        )
        session.add(comment)
        await session.flush()
        if mention_ids:
            await session.execute(
                insert(MentionRow),
                [{"comment_id": comment.id, "participant_id": m} for m in mention_ids],
            )
        return comment.id

    async def add_comment(
        self, thread_id: int, author_id: str, body: str, mention_ids: Sequence[str]
    ) -> int:
        try:
            async with self._sessions.begin() as session:
                # Counting first locks the thread row (PostgreSQL) until commit.
                await session.execute(
                    update(ThreadRow)
                    .where(ThreadRow.id == thread_id)
                    .values(reply_count=ThreadRow.reply_count + 1, last_activity_at=utcnow())
                )
                return await self._insert_comment(
                    session, thread_id, author_id, body, mention_ids, True
                )
        except SQLAlchemyError as exc:
            raise StoreError(f"could not store a reply: {exc}") from exc

    async def thread_of_comment(self, comment_id: int) -> int | None:
        async with self._sessions() as session:
            return await session.scalar(
                select(CommentRow.thread_id).where(CommentRow.id == comment_id)
            )

    async def edit_comment(self, comment_id: int, body: str, mention_ids: Sequence[str]) -> None:
        try:
            async with self._sessions.begin() as session:
                await session.execute(
                    update(CommentRow)
                    .where(CommentRow.id == comment_id)
                    .values(body=body, edited_at=utcnow())
                )
                await session.execute(delete(MentionRow).where(MentionRow.comment_id == comment_id))
                if mention_ids:
                    await session.execute(
                        insert(MentionRow),
                        [{"comment_id": comment_id, "participant_id": m} for m in mention_ids],
                    )
        except SQLAlchemyError as exc:
            raise StoreError(f"could not store an edit: {exc}") from exc

    async def set_comment_state(self, comment_id: int, state: CommentState) -> None:
        try:
            async with self._sessions.begin() as session:
                row = await session.scalar(
                    select(CommentRow).where(CommentRow.id == comment_id).with_for_update()
                )
                if row is None:
                    return
                counted_before = not CommentState(row.state).erased
                row.state = state.value
                if state.erased:
                    row.body = ""
                    await session.execute(
                        delete(MentionRow).where(MentionRow.comment_id == comment_id)
                    )
                    await session.execute(
                        delete(ReactionRow).where(ReactionRow.comment_id == comment_id)
                    )
                    changes: dict[str, Any] = {}
                    if row.is_reply and counted_before:
                        changes["reply_count"] = ThreadRow.reply_count - 1
                    changes["accepted_comment_id"] = case(
                        (ThreadRow.accepted_comment_id == comment_id, None),
                        else_=ThreadRow.accepted_comment_id,
                    )
                    await session.execute(
                        update(ThreadRow).where(ThreadRow.id == row.thread_id).values(**changes)
                    )
        except SQLAlchemyError as exc:
            raise StoreError(f"could not change a comment: {exc}") from exc

    async def update_thread(
        self,
        thread_id: int,
        *,
        status: ThreadStatus | None = None,
        locked: bool | None = None,
        accepted_comment_id: int | bool | None = False,
    ) -> None:
        values: dict[str, Any] = {}
        if status is not None:
            values["status"] = status.value
        if locked is not None:
            values["locked"] = locked
        if accepted_comment_id is not False:
            values["accepted_comment_id"] = accepted_comment_id
        if not values:
            return
        try:
            async with self._sessions.begin() as session:
                await session.execute(
                    update(ThreadRow).where(ThreadRow.id == thread_id).values(**values)
                )
        except SQLAlchemyError as exc:
            raise StoreError(f"could not change a thread: {exc}") from exc

    async def set_reaction(
        self, comment_id: int, participant_id: str, reaction: Reaction, on: bool
    ) -> bool:
        key = (
            (ReactionRow.comment_id == comment_id)
            & (ReactionRow.participant_id == participant_id)
            & (ReactionRow.reaction == reaction.value)
        )
        try:
            async with self._sessions.begin() as session:
                exists = await session.scalar(select(func.count()).where(key)) or 0
                if on and not exists:
                    session.add(
                        ReactionRow(
                            comment_id=comment_id,
                            participant_id=participant_id,
                            reaction=reaction.value,
                            created_at=utcnow(),
                        )
                    )
                    return True
                if not on and exists:
                    await session.execute(delete(ReactionRow).where(key))
                    return True
                return False
        except SQLAlchemyError as exc:
            # Two identical reactions at once: the second insert loses, which is fine.
            if "unique" in str(exc).lower() or "duplicate" in str(exc).lower():
                return False
            raise StoreError(f"could not store a reaction: {exc}") from exc

    async def load_thread(self, thread_id: int) -> Thread | None:
        async with self._sessions() as session:
            threads = await self._load(session, self._threads().where(ThreadRow.id == thread_id))
        return threads[0] if threads else None

    async def list_threads(self, room_id: int, query: ThreadQuery) -> list[Thread]:
        statement = self._threads().where(ThreadRow.room_id == room_id)
        if query.document_id is not None:
            statement = statement.where(ThreadRow.document_id == query.document_id)
        if query.general is not None:
            statement = statement.where(
                ThreadRow.document_id.is_(None)
                if query.general
                else ThreadRow.document_id.is_not(None)
            )
        if query.kind is not None:
            statement = statement.where(ThreadRow.kind == query.kind.value)
        if query.status is not None:
            statement = statement.where(ThreadRow.status == query.status.value)
        if query.author_id is not None:
            statement = statement.where(ThreadRow.author_id == query.author_id)
        if query.answer_state is not None:
            statement = statement.where(ThreadRow.kind == ThreadKind.QUESTION.value)
            if query.answer_state == "accepted":
                statement = statement.where(ThreadRow.accepted_comment_id.is_not(None))
            else:
                statement = statement.where(ThreadRow.accepted_comment_id.is_(None)).where(
                    ThreadRow.reply_count == 0
                    if query.answer_state == "unanswered"
                    else ThreadRow.reply_count > 0
                )
        unanswered_first = case(
            (
                (ThreadRow.kind == ThreadKind.QUESTION.value)
                & (ThreadRow.reply_count == 0)
                & (ThreadRow.accepted_comment_id.is_(None)),
                0,
            ),
            else_=1,
        )
        statement = (
            statement.order_by(
                unanswered_first, ThreadRow.last_activity_at.desc(), ThreadRow.id.desc()
            )
            .limit(query.limit)
            .offset(query.offset)
        )
        async with self._sessions() as session:
            return await self._load(session, statement)

    def _threads(self) -> _ThreadSelect:
        return (
            select(ThreadRow, ParticipantRow, DocumentRow.name)
            .join(ParticipantRow, ParticipantRow.id == ThreadRow.author_id)
            .outerjoin(DocumentRow, DocumentRow.id == ThreadRow.document_id)
        )

    async def _load(self, session: AsyncSession, statement: _ThreadSelect) -> list[Thread]:
        rows = (await session.execute(statement)).all()
        if not rows:
            return []
        ids = [thread.id for thread, _, _ in rows]
        comment_rows = (
            await session.execute(
                select(CommentRow, ParticipantRow)
                .join(ParticipantRow, ParticipantRow.id == CommentRow.author_id)
                .where(CommentRow.thread_id.in_(ids))
                .order_by(CommentRow.id)
            )
        ).all()
        comment_ids = [c.id for c, _ in comment_rows]
        reactions: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        mentions: dict[int, list[Author]] = defaultdict(list)
        if comment_ids:
            for reaction in await session.scalars(
                select(ReactionRow)
                .where(ReactionRow.comment_id.in_(comment_ids))
                .order_by(ReactionRow.created_at)
            ):
                reactions[reaction.comment_id][reaction.reaction].append(reaction.participant_id)
            for comment_id, person in (
                await session.execute(
                    select(MentionRow.comment_id, ParticipantRow)
                    .join(ParticipantRow, ParticipantRow.id == MentionRow.participant_id)
                    .where(MentionRow.comment_id.in_(comment_ids))
                    .order_by(ParticipantRow.name)
                )
            ).all():
                mentions[comment_id].append(_author(person))
        comments: dict[int, list[Comment]] = defaultdict(list)
        for row, author in comment_rows:
            comments[row.thread_id].append(
                Comment(
                    id=row.id,
                    thread_id=row.thread_id,
                    author=_author(author),
                    body=row.body,
                    state=CommentState(row.state),
                    created_at=row.created_at,
                    edited_at=row.edited_at,
                    reactions={k: tuple(v) for k, v in reactions[row.id].items()},
                    mentions=tuple(mentions[row.id]),
                )
            )
        return [
            Thread(
                id=thread.id,
                room_id=thread.room_id,
                document=document,
                kind=ThreadKind(thread.kind),
                author=_author(author),
                anonymous=thread.anonymous,
                anchor=None
                if thread.anchor_start is None or thread.anchor_end is None
                else Anchor(thread.anchor_start, thread.anchor_end, thread.quote or ""),
                status=ThreadStatus(thread.status),
                locked=thread.locked,
                post_first=thread.post_first,
                accepted_comment_id=thread.accepted_comment_id,
                reply_count=thread.reply_count,
                created_at=thread.created_at,
                last_activity_at=thread.last_activity_at,
                comments=tuple(comments[thread.id]),
            )
            for thread, author, document in rows
        ]

    async def mentions_of(
        self, room_id: int, participant_id: str, limit: int, offset: int
    ) -> list[tuple[int, int]]:
        async with self._sessions() as session:
            rows = await session.execute(
                select(CommentRow.thread_id, CommentRow.id)
                .join(MentionRow, MentionRow.comment_id == CommentRow.id)
                .join(ThreadRow, ThreadRow.id == CommentRow.thread_id)
                .where(ThreadRow.room_id == room_id, MentionRow.participant_id == participant_id)
                .order_by(CommentRow.id.desc())
                .limit(limit)
                .offset(offset)
            )
            return [(int(t), int(c)) for t, c in rows.all()]

    async def room_settings(self, room_id: int) -> RoomSettings:
        async with self._sessions() as session:
            row = await session.get(RoomRow, room_id)
        if row is None:
            return RoomSettings()
        return RoomSettings(
            row.observers_can_ask,
            row.post_first_questions,
            row.max_participants,
            row.guests_allowed,
        )

    async def participation_counts(
        self,
        room_id: int,
        *,
        participant_id: str | None = None,
        include_anonymous: bool = True,
    ) -> list[ThreadCounts]:
        def one(condition: Any) -> Any:
            return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

        question = ThreadRow.kind == ThreadKind.QUESTION.value
        in_room = (ThreadRow.room_id == room_id) & CommentRow.state.not_in(_ERASED)
        if not include_anonymous:
            # What an asker wrote in their own anonymous question stays out.
            in_room &= not_(and_(ThreadRow.anonymous, CommentRow.author_id == ThreadRow.author_id))
        written = (
            select(
                CommentRow.author_id,
                one(ThreadRow.kind == ThreadKind.COMMENT.value),
                one(question & ~CommentRow.is_reply),
                one(question & ~CommentRow.is_reply & ThreadRow.anonymous)
                if include_anonymous
                else func.coalesce(func.sum(0), 0),
                one(question & CommentRow.is_reply),
                one(CommentRow.is_reply & (ThreadRow.accepted_comment_id == CommentRow.id)),
                func.max(CommentRow.created_at),
            )
            .join(ThreadRow, ThreadRow.id == CommentRow.thread_id)
            .where(in_room)
            .group_by(CommentRow.author_id)
        )
        given = (
            select(ReactionRow.participant_id, func.count(), func.max(ReactionRow.created_at))
            .join(CommentRow, CommentRow.id == ReactionRow.comment_id)
            .join(ThreadRow, ThreadRow.id == CommentRow.thread_id)
            .where(ThreadRow.room_id == room_id)
            .group_by(ReactionRow.participant_id)
        )
        received = (
            select(CommentRow.author_id, func.count())
            .select_from(ReactionRow)
            .join(CommentRow, CommentRow.id == ReactionRow.comment_id)
            .join(ThreadRow, ThreadRow.id == CommentRow.thread_id)
            .where(in_room, ReactionRow.participant_id != CommentRow.author_id)
            .group_by(CommentRow.author_id)
        )
        if participant_id is not None:
            written = written.where(CommentRow.author_id == participant_id)
            given = given.where(ReactionRow.participant_id == participant_id)
            received = received.where(CommentRow.author_id == participant_id)
        counts: dict[str, dict[str, Any]] = defaultdict(dict)

        def seen(person: str, at: Any) -> None:
            moment = utc_of(at)
            last = counts[person].get("last_at")
            counts[person]["last_at"] = moment if last is None else max(last, moment)

        async with self._sessions() as session:
            for person, comments, questions, anonymous, answers, accepted, last in (
                await session.execute(written)
            ).all():
                counts[person].update(
                    comments=int(comments),
                    questions=int(questions),
                    anonymous_questions=int(anonymous),
                    answers=int(answers),
                    accepted_answers=int(accepted),
                )
                seen(person, last)
            for person, number, last in (await session.execute(given)).all():
                counts[person]["reactions_given"] = int(number)
                seen(person, last)
            for person, number in (await session.execute(received)).all():
                counts[person]["reactions_received"] = int(number)
        return [ThreadCounts(person, **found) for person, found in sorted(counts.items())]

    async def unanswered_questions(self, room_id: int) -> list[UnansweredQuestion]:
        statement = (
            select(ThreadRow, DocumentRow.name, CommentRow.body)
            .join(
                CommentRow,
                (CommentRow.thread_id == ThreadRow.id) & ~CommentRow.is_reply,
            )
            .outerjoin(DocumentRow, DocumentRow.id == ThreadRow.document_id)
            .where(
                ThreadRow.room_id == room_id,
                ThreadRow.kind == ThreadKind.QUESTION.value,
                ThreadRow.status == ThreadStatus.OPEN.value,
                ThreadRow.reply_count == 0,
                ThreadRow.accepted_comment_id.is_(None),
                CommentRow.state.not_in(_ERASED),
            )
            .order_by(ThreadRow.created_at, ThreadRow.id)
        )
        async with self._sessions() as session:
            rows = (await session.execute(statement)).all()
        return [
            UnansweredQuestion(
                thread.id, document, body, thread.author_id, thread.anonymous, thread.created_at
            )
            for thread, document, body in rows
        ]

    async def update_room_settings(self, room_id: int, settings: RoomSettings) -> None:
        try:
            async with self._sessions.begin() as session:
                await session.execute(
                    update(RoomRow)
                    .where(RoomRow.id == room_id)
                    .values(
                        observers_can_ask=settings.observers_can_ask,
                        post_first_questions=settings.post_first_questions,
                        max_participants=settings.max_participants,
                        guests_allowed=settings.guests_allowed,
                    )
                )
        except SQLAlchemyError as exc:
            raise StoreError(f"could not store room settings: {exc}") from exc
