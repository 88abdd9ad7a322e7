"""Routes for people with accounts: signing in by email, signing out, the account, its
browsers, and the rooms it has a seat in.

These routes read the account session cookie (:mod:`server.http.signed_in`, which also
holds the cross-site defence). Each handler's docstring holds its OpenAPI operation
(after ``---``).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from rooms.account_records import Account, DeviceSession, Purpose
from rooms.accounts import (
    FORMER_PARTICIPANT,
    INVITATION_DAYS,
    SIGN_IN_MINUTES,
    SignedIn,
    SignInTicket,
)
from rooms.comment_views import Viewer
from rooms.emails import normalise_email
from rooms.errors import Invalid, NotFound
from rooms.records import Participant, Room
from rooms.roles import Role
from server.account_data import account_archive
from server.http.common import app_state, json_body, log, optional_json_body
from server.http.signed_in import (
    COOKIE,
    account_of,
    check_origin,
    clear_session_cookie,
    set_session_cookie,
    signed_in,
)
from server.http.views import person_json
from server.mail_messages import invitation_message, sign_in_message
from server.state import AppState


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def base_url(request: Request) -> str:
    """This server's address for links in emails, ending in ``/``."""
    public = app_state(request).settings.public_url
    return (public.rstrip("/") + "/") if public else str(request.base_url)


def sign_in_link(request: Request, ticket: SignInTicket) -> str:
    return f"{base_url(request)}sign-in/{ticket.token}"


async def send_invitation(
    request: Request,
    room: Room,
    inviter: Viewer,
    email: object,
    role: Role,
    role_label: str,
    next_path: str,
    document_id: int | None = None,
) -> SignInTicket:
    """Store an invitation (a sign-in that seats the person in ``room`` with ``role``,
    and makes them the mentor of ``document_id`` if given) and email its personal link."""
    state = app_state(request)
    ticket = await state.accounts.request(
        email,
        client_address(request),
        purpose=Purpose.INVITATION,
        next_path=next_path,
        room=room,
        role=role,
        document_id=document_id,
    )
    link = sign_in_link(request, ticket)
    state.outbox.submit(
        invitation_message(
            ticket.email, inviter.name, room.title, role_label, link, INVITATION_DAYS
        )
    )
    return ticket


def account_json(account: Account, may_create: bool) -> dict[str, Any]:
    return {
        "id": account.id,
        "email": account.email,
        "name": account.name,
        "admin": account.admin,
        "can_create_rooms": may_create,
    }


def joined_json(
    state: AppState, participant: Participant, room: Room, session: DeviceSession | None = None
) -> dict[str, Any]:
    """A participant token for ``participant``, as ``POST /api/join`` answers; one for a
    signed-in browser (``session``) stops working when it signs out."""
    token, expires_at = state.signer.issue(
        participant, room, None if session is None else session.id
    )
    return {
        "token": token,
        "expires_at": expires_at,
        "room": room.slug,
        "title": room.title,
        "role": participant.role.value,
        "participant": person_json(participant),
    }


def _session_json(session: DeviceSession, current: DeviceSession) -> dict[str, Any]:
    return {
        "id": session.id,
        "device": session.device,
        "created_at": session.created_at.isoformat(),
        "last_used_at": session.last_used_at.isoformat(),
        "current": session.id == current.id,
    }


async def request_sign_in(request: Request) -> Response:
    """Ask for a sign-in email: a link and a six-digit code, valid 15 minutes, used once.
    The answer is the same whether or not the address has an account (signing in the
    first time creates it).
    ---
    summary: Ask for a sign-in email
    security: []
    requestBody:
      required: true
      content:
        application/json:
          schema:
            type: object
            required: [email]
            properties:
              email: {type: string, format: email, maxLength: 254}
              name: {type: string, maxLength: 64, description: the display name of a new account}
              next: {type: string, description: a path on this server to go to afterwards}
    responses:
      202:
        description: The email is on its way (if the address can receive it)
        content:
          application/json:
            schema:
              type: object
              required: [email, expires_in]
              properties:
                email: {type: string, description: the address as normalised}
                expires_in: {type: integer, description: seconds the link and code stay valid}
      403: {description: "cross_site: the request came from another site's page"}
      422: {description: "invalid_email"}
      429:
        description: >-
          too_many_sign_ins: too many sign-in emails for this address or from this client
          address in the last hour. Retry-After says when to try again.
        headers:
          Retry-After: {schema: {type: integer}, description: seconds to wait}
    """
    check_origin(request)
    state = app_state(request)
    body = await json_body(request)
    ticket = await state.accounts.request(
        body.get("email"),
        client_address(request),
        next_path=body.get("next"),
        name=body.get("name"),
    )
    state.outbox.submit(
        sign_in_message(ticket.email, sign_in_link(request, ticket), ticket.code, SIGN_IN_MINUTES)
    )
    return JSONResponse(
        {"email": ticket.email, "expires_in": SIGN_IN_MINUTES * 60}, status_code=202
    )


async def _signed_in_response(request: Request, done: SignedIn) -> Response:
    state = app_state(request)
    token, _ = await state.accounts.start_session(
        done.account, request.headers.get("user-agent", "")
    )
    log.info("account %s signed in", done.account.id[:8])
    if done.mentor_of is not None and done.seat is not None and done.room is not None:
        await state.controls.appoint_mentor(done.room, done.mentor_of, done.seat)
    body: dict[str, Any] = {
        "account": account_json(done.account, await state.accounts.may_create_rooms(done.account)),
        "next": done.next,
        "seat_kept": done.seat_kept,
    }
    response = JSONResponse(body)
    set_session_cookie(response, request, token)
    return response


async def redeem_link(request: Request) -> Response:
    """Sign in with the token of an emailed link; sets the session cookie.
    ---
    summary: Sign in with a link
    security: []
    requestBody:
      required: true
      content:
        application/json:
          schema:
            type: object
            required: [token]
            properties: {token: {type: string}}
    responses:
      200:
        description: Signed in; the session cookie is set
        content:
          application/json:
            schema: {$ref: '#/components/schemas/SignedIn'}
      404: {description: "unknown_link"}
      410: {description: "link_expired or link_used"}
    """
    check_origin(request)
    body = await json_body(request)
    done = await app_state(request).accounts.redeem_link(body.get("token"))
    return await _signed_in_response(request, done)


async def redeem_code(request: Request) -> Response:
    """Sign in with the six-digit code of the email (for when the link opens in another
    browser); sets the session cookie. Five wrong codes end the sign-in.
    ---
    summary: Sign in with a code
    security: []
    requestBody:
      required: true
      content:
        application/json:
          schema:
            type: object
            required: [email, code]
            properties:
              email: {type: string}
              code: {type: string, pattern: '^[0-9 ]{6,7}$'}
    responses:
      200:
        description: Signed in; the session cookie is set
        content:
          application/json:
            schema: {$ref: '#/components/schemas/SignedIn'}
      401: {description: "wrong_code"}
      410: {description: "code_expired: no sign-in of this address can still be used"}
    """
    check_origin(request)
    body = await json_body(request)
    done = await app_state(request).accounts.redeem_code(body.get("email"), body.get("code"))
    return await _signed_in_response(request, done)


async def sign_out(request: Request) -> Response:
    """Sign this browser out.
    ---
    summary: Sign out
    responses:
      204: {description: Signed out; the cookie is cleared}
    """
    check_origin(request)
    state = app_state(request)
    found = await state.accounts.session(request.cookies.get(COOKIE))
    if found is not None:
        session, account = found
        await state.accounts.end_session(account, session.id)
    response = Response(status_code=204)
    clear_session_cookie(response, request)
    return response


async def sign_out_everywhere(request: Request) -> Response:
    """Sign every browser of this account out, this one too.
    ---
    summary: Sign out everywhere
    responses:
      204: {description: Every session ended; the cookie is cleared}
      401: {description: "signed_out"}
    """
    account = await account_of(request)
    await app_state(request).accounts.end_sessions(account)
    response = Response(status_code=204)
    clear_session_cookie(response, request)
    return response


async def get_account(request: Request) -> Response:
    """The signed-in account and the rooms it has a seat in, with what is new in each
    since its last visit.
    ---
    summary: My account and rooms
    responses:
      200:
        description: The account and its rooms, most recently active first
        content:
          application/json:
            schema:
              type: object
              required: [account, rooms]
              properties:
                account: {$ref: '#/components/schemas/Account'}
                rooms:
                  type: array
                  items:
                    type: object
                    required: [room, title, role, participant_id, new_activity, last_activity]
                    properties:
                      room: {type: string}
                      title: {type: string}
                      role: {type: string}
                      participant_id: {type: string}
                      new_activity:
                        type: integer
                        description: threads, replies, documents and restores since the last visit
                      last_activity: {type: [string, 'null'], format: date-time}
      401: {description: "signed_out"}
    """
    account = await account_of(request)
    accounts = app_state(request).accounts
    seats = await accounts.seats(account)
    return JSONResponse(
        {
            "account": account_json(account, await accounts.may_create_rooms(account)),
            "rooms": [
                {
                    "room": seat.room.slug,
                    "title": seat.room.title,
                    "role": seat.participant.role.value,
                    "participant_id": seat.participant.id,
                    "new_activity": seat.new_activity,
                    "last_activity": None
                    if seat.last_activity is None
                    else seat.last_activity.isoformat(),
                }
                for seat in seats
            ],
        }
    )


async def update_account(request: Request) -> Response:
    """Change the account's display name (in every room too).
    ---
    summary: Rename my account
    requestBody:
      required: true
      content:
        application/json:
          schema:
            type: object
            required: [name]
            properties: {name: {type: string, minLength: 1, maxLength: 64}}
    responses:
      200: {description: The account}
      401: {description: "signed_out"}
      422: {description: "invalid_name"}
    """
    account = await account_of(request)
    body = await json_body(request)
    accounts = app_state(request).accounts
    renamed = await accounts.rename(account, body.get("name"))
    return JSONResponse(
        {"account": account_json(renamed, await accounts.may_create_rooms(renamed))}
    )


async def list_sessions(request: Request) -> Response:
    """The browsers this account is signed in on, most recently used first.
    ---
    summary: My devices
    responses:
      200:
        description: One entry per signed-in browser
        content:
          application/json:
            schema:
              type: object
              required: [sessions]
              properties:
                sessions:
                  type: array
                  items:
                    type: object
                    required: [id, device, created_at, last_used_at, current]
                    properties:
                      id: {type: string}
                      device: {type: string, description: browser and system, from its User-Agent}
                      created_at: {type: string, format: date-time}
                      last_used_at: {type: string, format: date-time}
                      current: {type: boolean, description: the browser asking}
      401: {description: "signed_out"}
    """
    current, account = await signed_in(request)
    sessions = await app_state(request).accounts.sessions(account)
    return JSONResponse({"sessions": [_session_json(s, current) for s in sessions]})


async def end_session(request: Request) -> Response:
    """Sign one of this account's browsers out.
    ---
    summary: Sign a device out
    parameters:
      - {in: path, name: session, required: true, schema: {type: string}}
    responses:
      204: {description: That browser is signed out}
      404: {description: "unknown_session"}
    """
    current, account = await signed_in(request)
    session_id = request.path_params["session"]
    await app_state(request).accounts.end_session(account, session_id)
    response = Response(status_code=204)
    if session_id == current.id:
        clear_session_cookie(response, request)
    return response


async def join_as_account(request: Request) -> Response:
    """Take the signed-in account's seat in an invite's room: the one it has (from any
    device), or a new one with the invite's role. An invite of a higher role lifts the
    seat to it.
    ---
    summary: Join a room as my account
    requestBody:
      required: true
      content:
        application/json:
          schema:
            type: object
            required: [invite]
            properties: {invite: {type: string}}
    responses:
      200:
        description: A participant token, as POST /api/join answers
        content:
          application/json:
            schema: {$ref: '#/components/schemas/Joined'}
      401: {description: "signed_out"}
      403: {description: "removed: this account was removed from the room"}
      404: {description: "unknown_invite"}
      409: {description: "room_full"}
    """
    session, account = await signed_in(request)
    state = app_state(request)
    body = await json_body(request)
    participant, room, new = await state.accounts.join(account, body.get("invite"))
    seq = await state.store.last_event_seq(room.id)
    await state.accounts.seat_for(account, room, seq)
    if new:
        await state.controls.record(
            room,
            participant.id,
            participant.name,
            "participant.joined",
            {"role": participant.role.value, "account": True},
        )
        log.info("%s %s joined room %s", participant.role, participant.id[:8], room.slug)
    return JSONResponse(joined_json(state, participant, room, session))


async def room_token(request: Request) -> Response:
    """A participant token for the account's seat in a room (another device, a later
    visit); notes the visit, so "new since your last visit" starts again.
    ---
    summary: Open one of my rooms
    parameters:
      - {in: path, name: room, required: true, schema: {type: string}}
    responses:
      200:
        description: A participant token, as POST /api/join answers
        content:
          application/json:
            schema: {$ref: '#/components/schemas/Joined'}
      401: {description: "signed_out"}
      403: {description: "removed"}
      404: {description: "not_a_member, or unknown_room"}
    """
    session, account = await signed_in(request)
    state = app_state(request)
    room = await state.directory.room(request.path_params["room"])
    if room is None:
        raise NotFound("unknown_room", "no such room")
    seq = await state.store.last_event_seq(room.id)
    seat = await state.accounts.seat_for(account, room, seq)
    return JSONResponse(joined_json(state, seat, room, session))


async def export_account(request: Request) -> Response:
    """Everything of the signed-in person's, in one ZIP archive: the profile, and per room
    their seat, the threads and questions they started and the comments they wrote (as
    JSON and as Markdown), and the documents they created (Markdown).
    ---
    summary: Download my data
    responses:
      200:
        description: roundtable-data.zip
        content:
          application/zip: {schema: {type: string, format: binary}}
      401: {description: "signed_out"}
    """
    account = await account_of(request)
    state = app_state(request)
    archive = await archive_of(state, account)
    return Response(
        archive,
        media_type="application/zip",
        headers={
            "content-disposition": 'attachment; filename="roundtable-data.zip"',
            "cache-control": "no-store",
        },
    )


async def archive_of(state: AppState, account: Account) -> bytes:
    seats = await state.accounts.store.seats(account.id, include_removed=True)
    return await account_archive(
        account, seats, state.store, state.threads, state.controls.current_state
    )


async def delete_account(request: Request) -> Response:
    """Delete the signed-in account. Its comments stay, signed "A former participant";
    anonymous questions stay anonymous; text written in shared documents stays; the
    account, its email address, its sessions and sign-ins are deleted, and its seats are
    removed from their rooms.
    ---
    summary: Delete my account
    requestBody:
      required: true
      content:
        application/json:
          schema:
            type: object
            required: [email]
            properties:
              email: {type: string, description: the account's address, typed to confirm}
    responses:
      204: {description: Deleted; the cookie is cleared}
      401: {description: "signed_out"}
      422: {description: "confirmation_mismatch: the address typed is not the account's"}
    """
    account = await account_of(request)
    body = await optional_json_body(request)
    typed = body.get("email")
    try:
        matches = normalise_email(typed) == account.email
    except Invalid:
        matches = False
    if not matches:
        raise Invalid("confirmation_mismatch", "type the account's email address to confirm")
    await forget_account(app_state(request), account)
    response = Response(status_code=204)
    clear_session_cookie(response, request)
    return response


async def forget_account(state: AppState, account: Account) -> None:
    """Delete ``account`` and tell the rooms it had seats in that those are gone."""
    seats = await state.accounts.delete(account)
    for seat in seats:
        # Their connections close, and the roster and mentions forget them.
        await state.events.publish_or_log(
            seat.room.id,
            "participant.removed",
            {"participant_id": seat.participant.id, "name": FORMER_PARTICIPANT},
        )
    log.info("account %s deleted", account.id[:8])
