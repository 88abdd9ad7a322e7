"""The browser's account session: its cookie, and the cross-site defence of the routes
that read it.

The session token is random (256 bits), kept by the browser in an HttpOnly cookie that
scripts cannot read, ``SameSite=Strict`` (no other site's page or link sends it), and
``Secure`` when the server is reached over HTTPS. Storage holds only its hash.

Only the account routes (``/api/sign-in/...``, ``/api/sign-out...``, ``/api/account...``
and room creation) read the cookie. The room routes and both sockets still take the
participant token as a Bearer token or query parameter, never an ambient credential.
Every cookie route that changes something also checks where the request comes from: its
``Origin`` must be this server's own (or one of ``allowed_origins``), and a browser's
``Sec-Fetch-Site`` must not say ``cross-site``. Browsers send ``Origin`` with every
``POST``, ``PATCH``, ``PUT`` and ``DELETE``; a page of another site cannot forge it, and
without CORS headers it cannot read any answer.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from rooms.account_records import Account, DeviceSession
from rooms.errors import Forbidden, Unauthenticated
from server.http.common import app_state

COOKIE = "roundtable_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _own_origins(request: Request) -> set[str]:
    settings = app_state(request).settings
    origins = {o.strip().rstrip("/").lower() for o in settings.allowed_origins.split(",")}
    if settings.public_url:
        parts = urlsplit(settings.public_url)
        origins.add(f"{parts.scheme}://{parts.netloc}".lower())
    origins.discard("")
    return origins


def check_origin(request: Request) -> None:
    """Refuse a request that another site's page made (403 ``cross_site``)."""
    if request.headers.get("sec-fetch-site") == "cross-site":
        raise Forbidden("cross_site", "requests from other sites are refused")
    if request.method in SAFE_METHODS:
        return
    origin = request.headers.get("origin")
    if origin is None:
        raise Forbidden(
            "cross_site", "send the Origin header of this server with a signed-in request"
        )
    origin = origin.rstrip("/").lower()
    if origin in _own_origins(request):
        return
    host = request.headers.get("host", "").lower()
    try:
        netloc = urlsplit(origin).netloc
    except ValueError:
        netloc = ""
    if not host or netloc != host:
        raise Forbidden("cross_site", "requests from other sites are refused")


async def signed_in(request: Request) -> tuple[DeviceSession, Account]:
    """The session and account of the request's cookie; 401 ``signed_out`` without one."""
    check_origin(request)
    found = await app_state(request).accounts.session(request.cookies.get(COOKIE))
    if found is None:
        raise Unauthenticated("signed_out", "sign in first")
    return found


async def account_of(request: Request) -> Account:
    return (await signed_in(request))[1]


def _secure(request: Request) -> bool:
    public = app_state(request).settings.public_url or ""
    return request.url.scheme == "https" or public.startswith("https:")


def set_session_cookie(response: Response, request: Request, token: str) -> None:
    days = app_state(request).settings.session_days
    response.set_cookie(
        COOKIE,
        token,
        max_age=days * 24 * 3600,
        path="/",
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )


def clear_session_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(
        COOKIE, path="/", httponly=True, samesite="strict", secure=_secure(request)
    )
