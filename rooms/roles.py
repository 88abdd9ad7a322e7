"""Roles a participant can hold in a room, and what each may do."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    FACILITATOR = "facilitator"
    MEMBER = "member"
    OBSERVER = "observer"
    # Someone from outside the cohort (a learner's manager) who follows the documents
    # they were made the mentor of, and sees and comments on those only. Invited by
    # email for a document; there is no invite link for it.
    MENTOR = "mentor"

    @property
    def can_edit(self) -> bool:
        """Whether this role's document updates are applied."""
        return self not in (Role.OBSERVER, Role.MENTOR)

    @property
    def can_create_documents(self) -> bool:
        return self.can_edit

    @property
    def sees_room(self) -> bool:
        """Whether this role sees the whole room (every document, thread and person);
        a mentor sees only the documents they mentor, and what is on them."""
        return self is not Role.MENTOR

    @property
    def has_invite_link(self) -> bool:
        return self is not Role.MENTOR

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
    Role.MENTOR: "Mentor",
}

# The roles a room has invite links for, and that a facilitator gives and invites to.
INVITE_ROLES = tuple(role for role in Role if role.has_invite_link)
