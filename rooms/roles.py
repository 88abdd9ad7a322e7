"""Roles a participant can hold in a room, and what each may do."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    FACILITATOR = "facilitator"
    MEMBER = "member"
    OBSERVER = "observer"

    @property
    def can_edit(self) -> bool:
        """Whether this role's document updates are applied."""
        return self is not Role.OBSERVER

    @property
    def can_create_documents(self) -> bool:
        return self is not Role.OBSERVER

    @property
    def can_moderate(self) -> bool:
        """Whether this role runs the session: hides and removes comments, locks
        documents and threads, restores versions, manages invites and participants."""
        return self is Role.FACILITATOR

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    Role.FACILITATOR: "Facilitator",
    Role.MEMBER: "Member",
    Role.OBSERVER: "Observer",
}
