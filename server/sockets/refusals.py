"""The WebSocket close code of each kind of refusal (:mod:`rooms.errors`)."""

from __future__ import annotations

from rooms.errors import (
    Conflict,
    Forbidden,
    Gone,
    Invalid,
    Limited,
    NotFound,
    Refused,
    Unauthenticated,
)
from rooms.live.peer import CloseCode

CLOSE_CODES: dict[type[Refused], CloseCode] = {
    Invalid: CloseCode.BAD_REQUEST,
    Unauthenticated: CloseCode.UNAUTHORIZED,
    Forbidden: CloseCode.FORBIDDEN,
    NotFound: CloseCode.NOT_FOUND,
    Conflict: CloseCode.CONFLICT,
    Gone: CloseCode.NOT_FOUND,
    Limited: CloseCode.TOO_MANY_MESSAGES,
}


def close_code(refused: Refused) -> CloseCode:
    for kind in type(refused).__mro__:
        if kind in CLOSE_CODES:
            return CLOSE_CODES[kind]
    return CloseCode.BAD_REQUEST
