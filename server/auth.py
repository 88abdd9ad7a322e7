"""Who is asking: the one authentication step of HTTP routes and both sockets.

A participant token (a signed JWT from ``POST /api/join``) names a participant, their
room and role. A request is taken when the token verifies, names the room of the URL,
the room exists, the participant has not been removed since the token was issued, and
(for a token a signed-in browser got) that browser has not been signed out.
The role and name are read from storage, not taken from the token: a facilitator may
have changed the role since.
Each failure is a :class:`rooms.errors.Refused` that the edge turns into an HTTP
status or a close code.

:func:`authenticate` does all of it. The sync socket starts watching the room's events
between :func:`identify` and :func:`check_standing`, so that no removal can fall in
between unseen.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from rooms.comment_views import Viewer
from rooms.errors import Forbidden, NotFound, Unauthenticated
from rooms.records import Room, RoomEvent
from server.state import AppState
from server.tokens import InvalidToken, TokenClaims

REMOVED = "you were removed from this room"
ROLE_CHANGED = "your role changed"
SIGNED_OUT = "this browser was signed out"


@dataclass(frozen=True, slots=True)
class Caller:
    """A participant whose token was taken, and their room."""

    room: Room
    claims: TokenClaims

    @property
    def viewer(self) -> Viewer:
        claims = self.claims
        return Viewer(claims.participant_id, claims.role, claims.name)

    @property
    def who(self) -> str:
        """For logs: the role and the start of the participant id."""
        return f"{self.claims.role} {self.claims.participant_id[:8]}"


async def identify(state: AppState, token: str, room_slug: str) -> Caller:
    """The caller of ``token`` in room ``room_slug``, standing not yet checked."""
    try:
        claims = state.signer.verify(token)
    except InvalidToken as exc:
        raise Unauthenticated("unauthorized", str(exc)) from exc
    if claims.room != room_slug:
        raise Forbidden("forbidden", "token is for another room")
    room = await state.directory.room(room_slug)
    if room is None:
        raise NotFound("unknown_room", "no such room")
    return Caller(room, claims)


async def check_standing(state: AppState, caller: Caller, *, remembered: bool = False) -> Caller:
    """Refuse a participant removed from the room since their token was issued; else
    the caller with the role and name they hold now (a facilitator may have changed the
    role, the person their name, since the token was issued).

    ``remembered``: the caller follows the room's events (a socket subscribed first),
    so the standing may come from this process's memo of the room
    (:meth:`rooms.events.RoomEvents.remembered`), which those events keep current.
    """
    participant_id = caller.claims.participant_id
    if remembered:
        standing = await state.events.remembered(
            caller.room.id,
            ("standing", participant_id),
            lambda: state.participants.standing(participant_id),
        )
    else:
        standing = await state.participants.standing(participant_id)
    if standing is None:
        raise Forbidden("removed", REMOVED)
    session_id = caller.claims.session_id
    if session_id is not None and not await state.accounts.store.session_alive(session_id):
        raise Unauthenticated("signed_out", SIGNED_OUT)
    role, name = standing
    claims = caller.claims
    if role is claims.role and name == claims.name:
        return caller
    return Caller(caller.room, replace(claims, role=role, name=name))


async def authenticate(state: AppState, token: str, room_slug: str) -> Caller:
    return await check_standing(state, await identify(state, token, room_slug))


def signs_out(event: RoomEvent, participant_id: str, session_id: str | None) -> bool:
    """Whether ``event`` signs out the browser a connection's token was issued to."""
    if event.type != "participant.signed_out" or session_id is None:
        return False
    sessions = event.data.get("sessions")
    return (
        event.data.get("participant_id") == participant_id
        and isinstance(sessions, list)
        and session_id in sessions
    )
