"""Participant tokens: signed JWTs (PyJWT, HS256) naming participant, room, role and expiry."""

from __future__ import annotations

import time
from dataclasses import dataclass

import jwt

from rooms.records import Participant, Room
from rooms.roles import Role

_ISSUER = "roundtable"
_ALGORITHM = "HS256"


class InvalidToken(Exception):
    """A token that is malformed, forged, expired or otherwise unusable."""


@dataclass(frozen=True, slots=True)
class TokenClaims:
    participant_id: str
    room: str
    role: Role
    name: str
    expires_at: int
    # The account session (signed-in browser) the token was issued to, if any: the token
    # stops working when that browser signs out.
    session_id: str | None = None


class TokenSigner:
    def __init__(self, secret: str, ttl_seconds: int) -> None:
        if len(secret) < 32:
            raise ValueError("the signing secret must be at least 32 characters")
        self._secret = secret
        self._ttl = ttl_seconds

    def issue(
        self, participant: Participant, room: Room, session_id: str | None = None
    ) -> tuple[str, int]:
        """A token for ``participant`` (for a signed-in browser: ``session_id``) and its
        expiry (Unix seconds)."""
        now = int(time.time())
        expires_at = now + self._ttl
        claims: dict[str, object] = {
            "iss": _ISSUER,
            "sub": participant.id,
            "room": room.slug,
            "role": participant.role.value,
            "name": participant.name,
            "iat": now,
            "exp": expires_at,
        }
        if session_id is not None:
            claims["sid"] = session_id
        return jwt.encode(claims, self._secret, algorithm=_ALGORITHM), expires_at

    def verify(self, token: str) -> TokenClaims:
        if not token.isascii():
            # A JWT is ASCII; PyJWT would fail to encode a lone surrogate rather than refuse.
            raise InvalidToken("invalid token")
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[_ALGORITHM],
                issuer=_ISSUER,
                options={"require": ["exp", "iat", "sub", "iss"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidToken("token expired") from exc
        except jwt.InvalidTokenError as exc:
            raise InvalidToken("invalid token") from exc
        try:
            return TokenClaims(
                participant_id=str(claims["sub"]),
                room=str(claims["room"]),
                role=Role(claims["role"]),
                name=str(claims.get("name", "")),
                expires_at=int(claims["exp"]),
                session_id=None if claims.get("sid") is None else str(claims["sid"]),
            )
        except (KeyError, ValueError) as exc:
            raise InvalidToken("invalid token claims") from exc
