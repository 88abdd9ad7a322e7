"""A person's data, in one ZIP archive: what ``GET /api/account/export`` and
``roundtable admin export`` hand over.

``account.json`` holds the profile; for each room the person had a seat in,
``rooms/<room>/room.json`` holds their seat, the threads and questions they started and
every comment they wrote (their anonymous questions too: they are theirs), and
``rooms/<room>/comments.md`` the same for reading; each document they created is
``rooms/<room>/documents/<name>.md``. ``README.txt`` says what is where.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from crdt.content import to_markdown
from rooms.account_records import Account, Seat
from rooms.ports import Store, ThreadStore
from rooms.records import DocumentInfo, Room
from rooms.threads import Thread, ThreadQuery

# The document's content as one Yjs update.
StateOf = Callable[[Room, DocumentInfo], Awaitable[bytes]]
PAGE = 200

README = """Your data from Roundtable

account.json                    your account: email, name, when it was made
rooms/<room>/room.json          your seat in the room, and every thread, question and
                                comment you wrote there (as data)
rooms/<room>/comments.md        the same, to read
rooms/<room>/documents/*.md     the documents you created in the room, as they are now

Text you wrote in documents that others created is part of those documents and stays
with the room.
"""


async def account_archive(
    account: Account,
    seats: list[Seat],
    store: Store,
    threads: ThreadStore,
    state_of: StateOf,
) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", README)
        archive.writestr(
            "account.json",
            _json(
                {
                    "id": account.id,
                    "email": account.email,
                    "name": account.name,
                    "created_at": account.created_at.isoformat(),
                    "admin": account.admin,
                    "exported_at": datetime.now(UTC).isoformat(),
                }
            ),
        )
        for seat in seats:
            await _room(archive, seat, store, threads, state_of)
    return buffer.getvalue()


async def _room(
    archive: zipfile.ZipFile, seat: Seat, store: Store, threads: ThreadStore, state_of: StateOf
) -> None:
    room, me = seat.room, seat.participant
    base = f"rooms/{room.slug}/"
    started: list[dict[str, Any]] = []
    written: list[dict[str, Any]] = []
    lines = [f"# {room.title}", "", f"Your comments and questions in {room.title}.", ""]
    offset = 0
    while True:
        page = await threads.list_threads(room.id, ThreadQuery(limit=PAGE, offset=offset))
        for thread in page:
            mine = [c for c in thread.comments if c.author.id == me.id]
            if thread.author.id == me.id:
                started.append(_thread_json(thread))
            if not mine and thread.author.id != me.id:
                continue
            lines.append(f"## {thread.kind.value.capitalize()} ({thread.created_at:%Y-%m-%d})")
            if thread.document:
                lines.append(f"On {thread.document}")
            if thread.anchor is not None:
                lines.append(f"> {thread.anchor.quote}")
            lines.append("")
            for comment in mine:
                written.append(
                    {
                        "thread": thread.id,
                        "id": comment.id,
                        "body": comment.body,
                        "state": comment.state.value,
                        "created_at": comment.created_at.isoformat(),
                        "edited_at": None
                        if comment.edited_at is None
                        else comment.edited_at.isoformat(),
                    }
                )
                lines += [comment.body, "", f"*{comment.created_at:%Y-%m-%d %H:%M} UTC*", ""]
        if len(page) < PAGE:
            break
        offset += PAGE
    documents: list[str] = []
    for info in await store.list_documents(room.id):
        if info.created_by != me.id:
            continue
        documents.append(info.name)
        archive.writestr(f"{base}documents/{info.name}.md", to_markdown(await state_of(room, info)))
    archive.writestr(
        base + "room.json",
        _json(
            {
                "room": room.slug,
                "title": room.title,
                "participant": {
                    "id": me.id,
                    "name": me.name,
                    "role": me.role.value,
                    "joined_at": me.created_at.isoformat(),
                    "removed": me.removed,
                },
                "threads_started": started,
                "comments": written,
                "documents": documents,
            }
        ),
    )
    archive.writestr(base + "comments.md", "\n".join(lines) + "\n")


def _thread_json(thread: Thread) -> dict[str, Any]:
    return {
        "id": thread.id,
        "kind": thread.kind.value,
        "document": thread.document,
        "anonymous": thread.anonymous,
        "quote": None if thread.anchor is None else thread.anchor.quote,
        "status": thread.status.value,
        "created_at": thread.created_at.isoformat(),
    }


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2) + "\n"
