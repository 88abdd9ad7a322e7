"""SQLAlchemy tables. Schema changes go through an Alembic migration in ``migrations/``."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# SQLite only auto-increments an INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    return datetime.now(UTC)


def utc_of(value: datetime | str) -> datetime:
    """A timestamp as a driver may return an aggregate of one (``max()``): aware on
    PostgreSQL, naive or text (both UTC) on SQLite."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every database.

    SQLite stores no offset and reads back naive values; they are UTC, so say so.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    pass


class RoomRow(Base):
    __tablename__ = "rooms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The sequence number of the room's latest event.
    event_seq: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    observers_can_ask: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    post_first_questions: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    # Members and observers the room holds at most; NULL: the server's default; 0: no cap.
    max_participants: Mapped[int | None] = mapped_column(Integer, nullable=True)
    guests_allowed: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # The facilitator everyone follows, while a spotlight is on.
    spotlight_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    timer_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    timer_ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    timer_label: Mapped[str | None] = mapped_column(String(200), nullable=True)


class InviteRow(Base):
    __tablename__ = "invites"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ParticipantRow(Base):
    __tablename__ = "participants"
    __table_args__ = (
        Index(
            "uq_participants_room_account",
            "room_id",
            "account_id",
            unique=True,
            sqlite_where=text("account_id IS NOT NULL"),
            postgresql_where=text("account_id IS NOT NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set when a facilitator removed them: their token stops working.
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The account whose seat this is; NULL for a guest (joined with a name only). One
    # seat per account and room (a partial unique index, see migration 0008).
    account_id: Mapped[str | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True
    )
    # The room's event sequence number when the account last opened the room.
    last_seen_seq: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # An index into rooms.presence.COLOURS, chosen on joining; NULL (rows from before
    # migration 0010): the colour hashed from the id.
    colour: Mapped[int | None] = mapped_column(Integer, nullable=True)


class DocumentRow(Base):
    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("room_id", "name", name="uq_documents_room_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Deferred: loading a document's row (to open it, list it, check its lock) must not
    # read its content; only the store's load and compaction select it.
    snapshot: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True, deferred=True)
    # Bumped by every compaction; a compaction that read an older version gives up.
    snapshot_version: Mapped[int] = mapped_column(Integer, default=0)
    # Locked documents take edits from facilitators only.
    locked: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The display name of who locked it, shown to those it keeps out.
    locked_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    template: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    # Who follows this document (an action plan's mentor); may comment on it.
    mentor_id: Mapped[str | None] = mapped_column(String(36), nullable=True)


class UpdateRow(Base):
    __tablename__ = "document_updates"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    document_id: Mapped[int] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), index=True
    )
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ClientClaimRow(Base):
    """The participant a Yjs client id belongs to in one document: the first who used it
    (for an edit or a cursor). A claim never changes."""

    __tablename__ = "document_clients"

    document_id: Mapped[int] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True
    )
    client_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    participant_id: Mapped[str] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), index=True
    )
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ActivityRow(Base):
    """What the stored edits of one participant did to a document's text within one
    5-minute bucket; added to in the transaction that stores the edits."""

    __tablename__ = "document_activity"

    document_id: Mapped[int] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True
    )
    participant_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    # The start of the bucket (UTC).
    bucket: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    # UTF-16 units inserted and deleted, and the edits (client updates) that did it.
    added: Mapped[int] = mapped_column(BigInteger, default=0)
    removed: Mapped[int] = mapped_column(BigInteger, default=0)
    edits: Mapped[int] = mapped_column(Integer, default=0)


class PresenceSpanRow(Base):
    """One event-socket connection of a participant, recorded when it closed."""

    __tablename__ = "presence_spans"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), index=True)
    participant_id: Mapped[str] = mapped_column(ForeignKey("participants.id", ondelete="CASCADE"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RoomEventRow(Base):
    __tablename__ = "room_events"

    room_id: Mapped[int] = mapped_column(
        ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    type: Mapped[str] = mapped_column(String(64))
    data: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SettingRow(Base):
    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class ThreadRow(Base):
    __tablename__ = "threads"
    __table_args__ = (Index("ix_threads_room_activity", "room_id", "last_activity_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"))
    # None: a general thread of the room, not about one document.
    document_id: Mapped[int | None] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), nullable=True, index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    author_id: Mapped[str] = mapped_column(ForeignKey("participants.id", ondelete="CASCADE"))
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    anchor_start: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    anchor_end: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    quote: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    post_first: Mapped[bool] = mapped_column(Boolean, default=False)
    accepted_comment_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # Replies that are visible or hidden (not deleted or removed).
    reply_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CommentRow(Base):
    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[str] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), index=True
    )
    is_reply: Mapped[bool] = mapped_column(Boolean)
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ReactionRow(Base):
    __tablename__ = "comment_reactions"

    comment_id: Mapped[int] = mapped_column(
        ForeignKey("comments.id", ondelete="CASCADE"), primary_key=True
    )
    participant_id: Mapped[str] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), primary_key=True
    )
    reaction: Mapped[str] = mapped_column(String(16), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MentionRow(Base):
    __tablename__ = "comment_mentions"

    comment_id: Mapped[int] = mapped_column(
        ForeignKey("comments.id", ondelete="CASCADE"), primary_key=True
    )
    participant_id: Mapped[str] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class VersionRow(Base):
    __tablename__ = "document_versions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    document_id: Mapped[int] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    # manual, lock, session or restore
    reason: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    state: Mapped[bytes] = mapped_column(LargeBinary)


class AuditRow(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    actor_name: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    details: Mapped[str] = mapped_column(Text)


class AccountRow(Base):
    """A person: one email address, one display name, a seat in each of their rooms."""

    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    # Normalised (see rooms/emails.py): one account per address however it is typed.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    admin: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class SignInRow(Base):
    """One sign-in email: its link and code, stored as hashes, used once."""

    __tablename__ = "sign_ins"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    link_hash: Mapped[str] = mapped_column(String(64), unique=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    purpose: Mapped[str] = mapped_column(String(16))
    # The client address that asked, for the per-address limit.
    address: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    failed_codes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Where to go afterwards (a path on this server).
    next: Mapped[str | None] = mapped_column(String(300), nullable=True)
    # The name to give a new account.
    name: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # keep_seat: the guest seat to attach to the account.
    participant_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    # invitation: the room and role to seat the account in.
    room_id: Mapped[int | None] = mapped_column(
        ForeignKey("rooms.id", ondelete="CASCADE"), nullable=True
    )
    role: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # invitation of a mentor: the document they are to mentor.
    document_id: Mapped[int | None] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), nullable=True
    )


class AccountSessionRow(Base):
    """One signed-in browser (a device): the hash of its cookie's token."""

    __tablename__ = "account_sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    device: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RoomCreatorRow(Base):
    """Who may create rooms when the instance lists them: an address or ``@domain``."""

    __tablename__ = "room_creators"

    pattern: Mapped[str] = mapped_column(String(254), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
