"""A whole room's rows, read in one transaction and written back in one: what
``roundtable room export`` and ``roundtable room import`` move between instances
(``server/room_archive.py`` turns them into the archive and back).

What goes along is named column by column (``SECTIONS``), so a new column never
travels by accident. What stays behind: the room's event log (the live channel's
catch-up, meaningless elsewhere; the room's counter starts again at 0), sign-in
emails, account sessions, the instance's settings (its secret key among them), and the
document update log (folded into each document's state by the exporter).

On import, rows get the target's own numbers (rooms, documents, versions, threads,
comments: the target's sequences stay right), participant ids keep their value unless
the target holds the same id, and invite codes keep theirs unless the target has the
code; every reference is rewritten through the same maps, so threads point at their
documents, authors and replies, and each Yjs client id (``document_clients``) at the
person who typed with it.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Column, ColumnElement, CursorResult, Table, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from server.storage.sessions import writer_turn
from server.storage.tables import (
    AccountRow,
    ActivityRow,
    AuditRow,
    ClientClaimRow,
    CommentRow,
    DocumentRow,
    InviteRow,
    MentionRow,
    ParticipantRow,
    PresenceSpanRow,
    ReactionRow,
    RoomRow,
    ThreadRow,
    UpdateRow,
    VersionRow,
    utcnow,
)

Row = dict[str, Any]


def _table(row: type[Any]) -> Table:
    table: Table = row.__table__
    return table


@dataclass(frozen=True)
class Section:
    """One kind of record in the archive: the table it comes from and the columns that
    go along (the rest are the target's own: the room id, numbering, counters)."""

    table: Table
    columns: tuple[str, ...]

    def column(self, name: str) -> Column[Any]:
        return self.table.c[name]


SECTIONS: dict[str, Section] = {
    "room": Section(
        _table(RoomRow),
        (
            "slug",
            "title",
            "created_at",
            "observers_can_ask",
            "post_first_questions",
            "max_participants",
            "guests_allowed",
            "spotlight_id",
            "timer_started_at",
            "timer_ends_at",
            "timer_label",
        ),
    ),
    "invites": Section(_table(InviteRow), ("code", "role", "created_at", "revoked_at")),
    "people": Section(
        _table(ParticipantRow), ("id", "name", "role", "created_at", "removed_at", "colour")
    ),
    "documents": Section(
        _table(DocumentRow),
        ("id", "name", "created_at", "locked", "locked_by", "template", "created_by", "mentor_id"),
    ),
    "claims": Section(
        _table(ClientClaimRow), ("document_id", "client_id", "participant_id", "claimed_at")
    ),
    "versions": Section(
        _table(VersionRow), ("id", "document_id", "name", "reason", "created_by", "created_at")
    ),
    "threads": Section(
        _table(ThreadRow),
        (
            "id",
            "document_id",
            "kind",
            "author_id",
            "anonymous",
            "anchor_start",
            "anchor_end",
            "quote",
            "status",
            "locked",
            "post_first",
            "accepted_comment_id",
            "reply_count",
            "created_at",
            "last_activity_at",
        ),
    ),
    "comments": Section(
        _table(CommentRow),
        ("id", "thread_id", "author_id", "is_reply", "body", "state", "created_at", "edited_at"),
    ),
    "reactions": Section(
        _table(ReactionRow), ("comment_id", "participant_id", "reaction", "created_at")
    ),
    "mentions": Section(_table(MentionRow), ("comment_id", "participant_id")),
    "audit": Section(_table(AuditRow), ("at", "actor_id", "actor_name", "action", "details")),
    "activity": Section(
        _table(ActivityRow),
        ("document_id", "participant_id", "bucket", "added", "removed", "edits"),
    ),
    "presence": Section(_table(PresenceSpanRow), ("participant_id", "started_at", "ended_at")),
}


@dataclass
class RoomRows:
    """One room's records, section by section (``SECTIONS``). ``room`` is the one room
    row; each person may carry ``account_email`` and ``account_name`` (the account their
    seat belongs to); each document carries ``state`` (bytes, a Yjs update) and each
    version ``state``."""

    room: Row
    sections: dict[str, list[Row]] = field(default_factory=dict)

    def __getitem__(self, name: str) -> list[Row]:
        return self.sections.setdefault(name, [])


@dataclass
class ImportedRoom:
    """What an import did besides copying: ids and codes it had to change."""

    room_id: int
    slug: str
    new_codes: dict[str, str] = field(default_factory=dict)
    new_participant_ids: dict[str, str] = field(default_factory=dict)
    accounts_created: list[str] = field(default_factory=list)


class SlugTaken(Exception):
    def __init__(self, slug: str) -> None:
        super().__init__(f"a room with the slug {slug!r} exists already")
        self.slug = slug


class UnknownRoom(LookupError):
    def __init__(self, slug: str) -> None:
        super().__init__(f"no room has the slug {slug!r}")


# ------------------------------------------------------------------ reading


async def read_room(
    engine: AsyncEngine, slug: str
) -> tuple[RoomRows, dict[int, tuple[bytes | None, list[bytes]]]]:
    """The room's rows as one consistent read, and each document's stored snapshot and
    update log (by document id) for the caller to fold into one state."""
    async with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            # pysqlite opens no transaction for reads: without one, each SELECT would
            # see the database as it is at that moment, not one snapshot.
            await connection.exec_driver_sql("BEGIN")
        else:
            await connection.execution_options(isolation_level="REPEATABLE READ")
            await connection.begin()
        try:
            return await _read(connection, slug)
        finally:
            await connection.rollback()


def _select(name: str, *extra: ColumnElement[Any]) -> Any:
    section = SECTIONS[name]
    return select(*(section.column(c) for c in section.columns), *extra)


async def _rows(connection: AsyncConnection, statement: Any) -> list[Row]:
    return [dict(row) for row in (await connection.execute(statement)).mappings()]


async def _read(
    connection: AsyncConnection, slug: str
) -> tuple[RoomRows, dict[int, tuple[bytes | None, list[bytes]]]]:
    rooms = _table(RoomRow)
    found = (
        (await connection.execute(_select("room", rooms.c.id).where(rooms.c.slug == slug)))
        .mappings()
        .first()
    )
    if found is None:
        raise UnknownRoom(slug)
    room = dict(found)
    room_id = room.pop("id")
    out = RoomRows(room)
    invites, people, accounts = _table(InviteRow), _table(ParticipantRow), _table(AccountRow)
    documents, threads, comments = _table(DocumentRow), _table(ThreadRow), _table(CommentRow)
    out.sections["invites"] = await _rows(
        connection, _select("invites").where(invites.c.room_id == room_id).order_by(invites.c.role)
    )
    out.sections["people"] = await _rows(
        connection,
        _select(
            "people",
            accounts.c.email.label("account_email"),
            accounts.c.name.label("account_name"),
        )
        .outerjoin(accounts, accounts.c.id == people.c.account_id)
        .where(people.c.room_id == room_id)
        .order_by(people.c.created_at, people.c.id),
    )
    out.sections["documents"] = await _rows(
        connection,
        _select("documents").where(documents.c.room_id == room_id).order_by(documents.c.id),
    )
    document_ids = [d["id"] for d in out["documents"]]
    in_room = documents.c.room_id == room_id
    room_documents = select(documents.c.id).where(in_room).scalar_subquery()
    claims, versions = _table(ClientClaimRow), _table(VersionRow)
    out.sections["claims"] = await _rows(
        connection,
        _select("claims")
        .where(claims.c.document_id.in_(room_documents))
        .order_by(claims.c.document_id, claims.c.client_id),
    )
    out.sections["versions"] = await _rows(
        connection,
        _select("versions", versions.c.state)
        .where(versions.c.document_id.in_(room_documents))
        .order_by(versions.c.id),
    )
    out.sections["threads"] = await _rows(
        connection, _select("threads").where(threads.c.room_id == room_id).order_by(threads.c.id)
    )
    room_threads = select(threads.c.id).where(threads.c.room_id == room_id).scalar_subquery()
    out.sections["comments"] = await _rows(
        connection,
        _select("comments").where(comments.c.thread_id.in_(room_threads)).order_by(comments.c.id),
    )
    room_comments = select(comments.c.id).where(comments.c.thread_id.in_(room_threads))
    reactions, mentions = _table(ReactionRow), _table(MentionRow)
    out.sections["reactions"] = await _rows(
        connection,
        _select("reactions")
        .where(reactions.c.comment_id.in_(room_comments.scalar_subquery()))
        .order_by(reactions.c.comment_id, reactions.c.created_at, reactions.c.participant_id),
    )
    out.sections["mentions"] = await _rows(
        connection,
        _select("mentions")
        .where(mentions.c.comment_id.in_(room_comments.scalar_subquery()))
        .order_by(mentions.c.comment_id, mentions.c.participant_id),
    )
    audit, activity, presence = _table(AuditRow), _table(ActivityRow), _table(PresenceSpanRow)
    out.sections["audit"] = await _rows(
        connection, _select("audit").where(audit.c.room_id == room_id).order_by(audit.c.id)
    )
    out.sections["activity"] = await _rows(
        connection,
        _select("activity")
        .where(activity.c.document_id.in_(room_documents))
        .order_by(activity.c.document_id, activity.c.bucket, activity.c.participant_id),
    )
    out.sections["presence"] = await _rows(
        connection,
        _select("presence").where(presence.c.room_id == room_id).order_by(presence.c.id),
    )
    stored: dict[int, tuple[bytes | None, list[bytes]]] = {}
    updates = _table(UpdateRow)
    for document_id in document_ids:
        # The log before the snapshot, as the store loads it (see SqlStore.load_document).
        log = (
            await connection.execute(
                select(updates.c.data)
                .where(updates.c.document_id == document_id)
                .order_by(updates.c.id)
            )
        ).scalars()
        data = list(log)
        snapshot = (
            await connection.execute(
                select(documents.c.snapshot).where(documents.c.id == document_id)
            )
        ).scalar_one()
        stored[document_id] = (snapshot, data)
    return out, stored


# ------------------------------------------------------------------ writing


async def write_room(engine: AsyncEngine, rows: RoomRows, slug: str) -> ImportedRoom:
    """Insert the room under ``slug`` in one transaction: on any error nothing stays.

    Raises ``SlugTaken`` when the target has a room with that slug. The rows must be
    consistent (every reference names a record of the same ``rows``); the archive
    reader checks that before this runs, and the database's constraints refuse the rest.
    """
    async with writer_turn(engine), engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            # The write lock from the start: the checks below and the inserts are one.
            await connection.exec_driver_sql("BEGIN IMMEDIATE")
        return await _write(connection, rows, slug)


async def _taken(connection: AsyncConnection, column: Column[Any], values: list[Any]) -> set[Any]:
    if not values:
        return set()
    found = await connection.execute(select(column).where(column.in_(values)))
    return set(found.scalars())


def _pick(row: Row, name: str) -> Row:
    return {column: row[column] for column in SECTIONS[name].columns}


async def _write(connection: AsyncConnection, rows: RoomRows, slug: str) -> ImportedRoom:
    rooms, people_table = _table(RoomRow), _table(ParticipantRow)
    if await _taken(connection, rooms.c.slug, [slug]):
        raise SlugTaken(slug)

    # People first in memory: the room row names its spotlight by participant id.
    taken_ids = await _taken(connection, people_table.c.id, [p["id"] for p in rows["people"]])
    person: dict[str, str] = {
        p["id"]: uuid.uuid4().hex if p["id"] in taken_ids else p["id"] for p in rows["people"]
    }

    def who(value: str | None) -> str | None:
        return None if value is None else person.get(value, value)

    room = {
        **_pick(rows.room, "room"),
        "slug": slug,
        "spotlight_id": who(rows.room["spotlight_id"]),
    }
    room_id: int = _new_id(await connection.execute(insert(rooms).values(**room, event_seq=0)))
    result = ImportedRoom(room_id, slug)
    result.new_participant_ids = {old: new for old, new in person.items() if old != new}

    invites = _table(InviteRow)
    taken_codes = await _taken(connection, invites.c.code, [i["code"] for i in rows["invites"]])
    invite_rows = []
    for invite in rows["invites"]:
        code = invite["code"]
        if code in taken_codes:
            code = secrets.token_urlsafe(12)
            result.new_codes[invite["code"]] = code
        invite_rows.append({**_pick(invite, "invites"), "code": code, "room_id": room_id})
    await _insert_all(connection, invites, invite_rows)

    account_of = await _accounts(connection, rows["people"], result)
    await _insert_all(
        connection,
        people_table,
        [
            {
                **_pick(p, "people"),
                "id": person[p["id"]],
                "room_id": room_id,
                "account_id": account_of.get(p["id"]),
                "last_seen_seq": 0,
            }
            for p in rows["people"]
        ],
    )

    documents = _table(DocumentRow)
    document: dict[int, int] = {}
    for row in rows["documents"]:
        values = {
            **_pick(row, "documents"),
            "room_id": room_id,
            "created_by": who(row["created_by"]),
            "mentor_id": who(row["mentor_id"]),
            "snapshot": row["state"],
            "snapshot_version": 0,
        }
        del values["id"]
        inserted = await connection.execute(insert(documents).values(**values))
        document[row["id"]] = _new_id(inserted)

    def on_document(value: int | None) -> int | None:
        return None if value is None else document[value]

    await _insert_all(
        connection,
        _table(ClientClaimRow),
        [
            {
                **_pick(c, "claims"),
                "document_id": document[c["document_id"]],
                "participant_id": person[c["participant_id"]],
            }
            for c in rows["claims"]
        ],
    )
    await _insert_all(
        connection,
        _table(VersionRow),
        [
            {
                **{k: v for k, v in _pick(v, "versions").items() if k != "id"},
                "document_id": document[v["document_id"]],
                "created_by": who(v["created_by"]),
                "state": v["state"],
            }
            for v in rows["versions"]
        ],
    )
    await _write_threads(connection, rows, room_id, person, on_document)
    await _insert_all(
        connection,
        _table(AuditRow),
        [
            {**_pick(a, "audit"), "room_id": room_id, "actor_id": who(a["actor_id"])}
            for a in rows["audit"]
        ],
    )
    await _insert_all(
        connection,
        _table(ActivityRow),
        [
            {
                **_pick(a, "activity"),
                "document_id": document[a["document_id"]],
                "participant_id": who(a["participant_id"]),
            }
            for a in rows["activity"]
        ],
    )
    await _insert_all(
        connection,
        _table(PresenceSpanRow),
        [
            {
                **_pick(p, "presence"),
                "room_id": room_id,
                "participant_id": person[p["participant_id"]],
            }
            for p in rows["presence"]
        ],
    )
    return result


async def _write_threads(
    connection: AsyncConnection,
    rows: RoomRows,
    room_id: int,
    person: dict[str, str],
    on_document: Any,
) -> None:
    threads, comments = _table(ThreadRow), _table(CommentRow)
    thread: dict[int, int] = {}
    for row in rows["threads"]:
        values = {
            **_pick(row, "threads"),
            "room_id": room_id,
            "document_id": on_document(row["document_id"]),
            "author_id": person[row["author_id"]],
            # Set once the comments have their new ids.
            "accepted_comment_id": None,
        }
        del values["id"]
        inserted = await connection.execute(insert(threads).values(**values))
        thread[row["id"]] = _new_id(inserted)
    comment: dict[int, int] = {}
    for row in rows["comments"]:
        values = {
            **_pick(row, "comments"),
            "thread_id": thread[row["thread_id"]],
            "author_id": person[row["author_id"]],
        }
        del values["id"]
        inserted = await connection.execute(insert(comments).values(**values))
        comment[row["id"]] = _new_id(inserted)
    for row in rows["threads"]:
        if row["accepted_comment_id"] is not None:
            await connection.execute(
                update(threads)
                .where(threads.c.id == thread[row["id"]])
                .values(accepted_comment_id=comment[row["accepted_comment_id"]])
            )
    for name, table in (("reactions", _table(ReactionRow)), ("mentions", _table(MentionRow))):
        await _insert_all(
            connection,
            table,
            [
                {
                    **_pick(r, name),
                    "comment_id": comment[r["comment_id"]],
                    "participant_id": person[r["participant_id"]],
                }
                for r in rows[name]
            ],
        )


async def _accounts(
    connection: AsyncConnection, people: list[Row], result: ImportedRoom
) -> dict[str, str]:
    """The target's account for each seat linked to one (by email), creating the
    accounts it lacks, so the person signs in there and finds their seat."""
    accounts = _table(AccountRow)
    linked: dict[str, str] = {}
    for p in people:
        email = p.get("account_email")
        if email is None:
            continue
        found = (
            await connection.execute(select(accounts.c.id).where(accounts.c.email == email))
        ).scalar()
        if found is None:
            found = uuid.uuid4().hex
            await connection.execute(
                insert(accounts).values(
                    id=found,
                    email=email,
                    name=p.get("account_name") or p["name"],
                    created_at=utcnow(),
                    admin=False,
                )
            )
            result.accounts_created.append(email)
        linked[p["id"]] = found
    return linked


def _new_id(result: CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


async def _insert_all(connection: AsyncConnection, table: Table, rows: list[Row]) -> None:
    if rows:
        await connection.execute(insert(table), rows)
