"""What one participant may see of a thread, as JSON-ready dicts.

Every response and every live event about threads goes through these functions, so
anonymity, post-first and moderation are applied in one place:

* **Anonymous questions.** Peers see no author on the question, nor on the asker's own
  replies in it (those say ``by_asker``). Facilitators and the asker see the name.
* **Post first.** In a post-first question, a member who has not replied sees the
  other replies as ``withheld``: no author, no body. Facilitators, observers (who
  cannot answer) and the asker see everything; so does a member once they replied,
  even if they deleted their reply afterwards.
* **Moderation.** A hidden comment's body is shown only to facilitators and its
  author. Deleted and removed comments have no body (storage erased it).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from rooms.roles import Role
from rooms.threads import Author, Comment, CommentState, Thread, ThreadKind


@dataclass(frozen=True, slots=True)
class Viewer:
    id: str
    role: Role
    name: str = ""

    @property
    def is_facilitator(self) -> bool:
        return self.role is Role.FACILITATOR


def _author(author: Author) -> dict[str, Any]:
    return {"id": author.id, "name": author.name, "role": author.role.value}


def sees_asker(thread: Thread, viewer: Viewer) -> bool:
    return not thread.anonymous or viewer.is_facilitator or viewer.id == thread.author.id


def sees_all_replies(thread: Thread, viewer: Viewer) -> bool:
    if thread.kind is not ThreadKind.QUESTION or not thread.post_first:
        return True
    if viewer.role is not Role.MEMBER or viewer.id == thread.author.id:
        return True
    return any(reply.author.id == viewer.id for reply in thread.replies)


def answer_state(thread: Thread) -> str | None:
    if thread.kind is not ThreadKind.QUESTION:
        return None
    if thread.accepted_comment_id is not None:
        return "accepted"
    return "answered" if thread.reply_count > 0 else "unanswered"


def _withheld(comment: Comment, thread: Thread, viewer: Viewer, sees_all: bool) -> bool:
    return (
        not sees_all
        and comment.id != thread.opening.id
        and comment.author.id not in (viewer.id, thread.author.id)
    )


def comment_view(comment: Comment, thread: Thread, viewer: Viewer) -> dict[str, Any]:
    sees_all = sees_all_replies(thread, viewer)
    view: dict[str, Any] = {
        "id": comment.id,
        "thread_id": thread.id,
        "reply": comment.id != thread.opening.id,
        "accepted": comment.id == thread.accepted_comment_id,
        "created_at": comment.created_at.isoformat(),
        "mine": comment.author.id == viewer.id,
    }
    if _withheld(comment, thread, viewer, sees_all):
        view.update(
            state="withheld",
            author=None,
            by_asker=False,
            body=None,
            edited_at=None,
            reactions={},
            mentions=[],
        )
        return view
    by_asker = comment.author.id == thread.author.id
    hide_author = by_asker and not sees_asker(thread, viewer)
    body: str | None = comment.body
    if comment.state.erased or (
        comment.state is CommentState.HIDDEN
        and not viewer.is_facilitator
        and comment.author.id != viewer.id
    ):
        body = None
    view.update(
        state=comment.state.value,
        author=None if hide_author else _author(comment.author),
        by_asker=by_asker,
        body=body,
        edited_at=comment.edited_at.isoformat() if comment.edited_at else None,
        reactions={
            name: {"count": len(ids), "mine": viewer.id in ids}
            for name, ids in sorted(comment.reactions.items())
            if ids
        },
        mentions=[{"id": m.id, "name": m.name} for m in comment.mentions] if body else [],
    )
    return view


def thread_meta(thread: Thread, viewer: Viewer) -> dict[str, Any]:
    """A thread's own fields, without its comments."""
    sees_all = sees_all_replies(thread, viewer)
    anchor = thread.anchor
    return {
        "id": thread.id,
        "document": thread.document,
        "kind": thread.kind.value,
        "anchor": None
        if anchor is None
        else {
            "start": base64.b64encode(anchor.start).decode(),
            "end": base64.b64encode(anchor.end).decode(),
            "quote": anchor.quote,
        },
        "author": _author(thread.author) if sees_asker(thread, viewer) else None,
        "anonymous": thread.anonymous,
        "mine": thread.author.id == viewer.id,
        "status": thread.status.value,
        "locked": thread.locked,
        "post_first": thread.post_first,
        "answer_state": answer_state(thread),
        "accepted_comment_id": thread.accepted_comment_id,
        "reply_count": thread.reply_count,
        # Answers waiting for the viewer's own (deleted ones are not waiting).
        "withheld_count": sum(
            1
            for c in thread.replies
            if c.counts_as_reply and _withheld(c, thread, viewer, sees_all)
        ),
        "created_at": thread.created_at.isoformat(),
        "last_activity_at": thread.last_activity_at.isoformat(),
    }


def thread_view(thread: Thread, viewer: Viewer) -> dict[str, Any]:
    """A thread with its comments, the opening comment first."""
    view = thread_meta(thread, viewer)
    view["comments"] = [comment_view(c, thread, viewer) for c in thread.comments]
    return view
