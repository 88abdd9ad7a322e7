"""WebSocket ``/sync/{room}/{doc}``: authenticate, attach to the document, relay frames."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from starlette.websockets import WebSocket

from crdt.protocol import encode_permission_denied
from rooms.controls import may_see
from rooms.errors import NotFound, Refused
from rooms.live.counters import COUNTERS
from rooms.live.peer import CloseCode
from rooms.live.session import NeedsClaim, ProtocolViolation, SyncSession
from rooms.records import DocumentInfo, RoomEvent
from server.auth import REMOVED, ROLE_CHANGED, SIGNED_OUT, check_standing, identify, signs_out
from server.shutdown import RESTARTING
from server.sockets.admission import MessageBudget, at_expiry, deny
from server.sockets.peer import WebSocketPeer
from server.sockets.refusals import close_code
from server.state import AppState
from server.tokens import TokenClaims

log = logging.getLogger("roundtable.sync")


async def _refuse(websocket: WebSocket, code: CloseCode, reason: str) -> None:
    """Tell a y-websocket client it is refused (auth message), then close."""
    with contextlib.suppress(Exception):
        await websocket.send_bytes(encode_permission_denied(reason))
        await websocket.close(code, reason)


async def sync_endpoint(websocket: WebSocket) -> None:
    state: AppState = websocket.app.state.roundtable
    room_slug = websocket.path_params["room"]
    doc_name = websocket.path_params["doc"]
    if not await state.admission.admit(websocket):
        return
    if websocket.app.state.shutdown.draining:
        # Sent elsewhere: a proxy tries the next instance on a 503, a client reconnects.
        await deny(websocket, 503, "restarting", "this server is restarting: connect again")
        return
    # Accept first: a refusal is then an auth message and a close code the client can
    # read, where a rejected handshake would only be an opaque HTTP 403.
    await websocket.accept()

    try:
        caller = await identify(state, websocket.query_params.get("token", ""), room_slug)
    except Refused as exc:
        log.info("refused sync connection to %s/%s: %s", room_slug, doc_name, exc.message)
        await _refuse(websocket, close_code(exc), exc.message)
        return
    room, claims, who = caller.room, caller.claims, caller.who
    # Watch the room's events before reading the participant's standing and the
    # document's lock state, so that no removal or lock can fall in between.
    watch = _Watch(claims.participant_id, claims.session_id, claims.role.sees_room)
    unwatch = await state.events.subscribe(room.id, watch.on_event)
    try:
        try:
            # Both reads at once: a cohort joining together waits for one round trip each.
            # A cohort joining at once: each process reads them once (see remembered()).
            caller, found = await asyncio.gather(
                check_standing(state, caller, remembered=True),
                state.events.remembered(
                    room.id,
                    ("document", doc_name),
                    lambda: state.directory.find_document(room, doc_name),
                ),
            )
            claims = caller.claims
            if found is None and not claims.role.sees_room:
                raise NotFound("unknown_document", "no such document in this room")
            info = found or await state.directory.open_document(room, doc_name, claims.role)
            if not may_see(caller.viewer, info):
                # A mentor from outside the cohort: told the same as for no document.
                raise NotFound("unknown_document", "no such document in this room")
        except Refused as exc:
            log.info("refused %s on %s/%s: %s", who, room_slug, doc_name, exc.message)
            await _refuse(websocket, close_code(exc), exc.message)
            return
        await _serve(websocket, state, info, room.slug, claims, who, watch)
    finally:
        await unwatch()


NO_LONGER_MENTOR = "you no longer mentor this document"


@dataclass
class _Watch:
    """What one sync connection learns from its room's events: locks and its removal."""

    participant_id: str
    session_id: str | None = None
    # False for a mentor from outside the cohort, who may only hold documents they mentor.
    sees_room: bool = True
    session: SyncSession | None = None
    peer: WebSocketPeer | None = None
    removed: bool = False
    # Lock changes seen before the session existed, by document id.
    locks: dict[int, bool] = field(default_factory=dict)

    def on_event(self, event: RoomEvent) -> None:
        if event.type == "document.updated" and not self.sees_room:
            document = event.data.get("document")
            if (
                isinstance(document, dict)
                and self.session is not None
                and self.peer is not None
                and document.get("name") == self.session.document.info.name
                and document.get("mentor_id") != self.participant_id
            ):
                # No longer this document's mentor: no longer its reader.
                self.peer.close(CloseCode.FORBIDDEN, NO_LONGER_MENTOR)
        if event.type == "document.locked":
            document_id, locked = event.data.get("document_id"), bool(event.data.get("locked"))
            if self.session is not None and self.session.document.info.id == document_id:
                self.session.set_locked(locked)
            elif isinstance(document_id, int):
                self.locks[document_id] = locked
        elif (
            event.type == "participant.removed"
            and event.data.get("participant_id") == self.participant_id
        ):
            self.removed = True
            if self.peer is not None:
                self.peer.close(CloseCode.FORBIDDEN, REMOVED)
        elif (
            event.type == "participant.role"
            and event.data.get("participant_id") == self.participant_id
            and self.peer is not None
        ):
            # Connect again, with the new role's rights.
            self.peer.close(CloseCode.RESYNC, ROLE_CHANGED)
        elif signs_out(event, self.participant_id, self.session_id):
            self.removed = True
            if self.peer is not None:
                self.peer.close(CloseCode.UNAUTHORIZED, SIGNED_OUT)

    def attach(self, session: SyncSession, peer: WebSocketPeer) -> None:
        session.set_locked(self.locks.get(session.document.info.id, session.locked))
        self.session, self.peer = session, peer
        if self.removed:
            peer.close(CloseCode.FORBIDDEN, REMOVED)


async def _serve(
    websocket: WebSocket,
    state: AppState,
    info: DocumentInfo,
    room_slug: str,
    claims: TokenClaims,
    who: str,
    watch: _Watch,
) -> None:
    settings = state.settings
    document = await state.hub.acquire(info, room_slug)
    if 0 < settings.max_clients_per_document < document.holders:
        state.hub.release(document)
        log.info("refused %s on %s: document is full", who, document.label)
        limit = settings.max_clients_per_document
        await _refuse(websocket, CloseCode.CONFLICT, f"a document takes {limit} clients at most")
        return
    peer = WebSocketPeer(
        websocket,
        settings.send_buffer_limit,
        settings.send_stall_seconds,
        who,
        close_grace=settings.close_grace_seconds,
    )
    per_minute = settings.max_sync_requests_per_minute
    session = SyncSession(
        document,
        peer,
        claims.role,
        who,
        claims.participant_id,
        MessageBudget(per_minute / 60, per_minute),
    )
    session.set_locked(info.locked)
    watch.attach(session, peer)
    expiry = at_expiry(
        claims.expires_at, lambda: peer.close(CloseCode.UNAUTHORIZED, "token expired")
    )
    unregister = websocket.app.state.shutdown.register(
        lambda: peer.close(CloseCode.SERVICE_RESTART, RESTARTING)
    )
    log.info("%s joined %s", who, document.label)
    COUNTERS.sync_connections += 1
    try:
        session.start()
        budget = MessageBudget(settings.max_messages_per_second, settings.message_burst)
        await _relay(websocket, session, peer, settings.max_message_size, budget)
    except asyncio.CancelledError:
        # The peer cancels this handler when it closes the connection from outside it
        # (removal, expiry, a client that reads too slowly): nothing more is read.
        current = asyncio.current_task()
        if not peer.stopped_handler or current is None or current.uncancel() > 0:
            raise
    finally:
        COUNTERS.sync_connections -= 1
        unregister()
        expiry.cancel()
        session.end()
        state.hub.release(document)
        await peer.finish()
        log.info("%s left %s", who, document.label)


async def _relay(
    websocket: WebSocket,
    session: SyncSession,
    peer: WebSocketPeer,
    max_size: int,
    budget: MessageBudget,
) -> None:
    """Feed the client's frames to the session until it leaves or breaks the protocol."""
    who, label = session.who, session.document.label
    while not peer.closing:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect" or peer.closing:
            return
        data = message.get("bytes")
        if data is None:
            peer.close(CloseCode.UNSUPPORTED_DATA, "text frames are not supported")
            log.info("closed %s on %s: text frame", who, label)
            return
        if len(data) > max_size:
            peer.close(CloseCode.MESSAGE_TOO_BIG, f"message over {max_size} bytes")
            log.info("closed %s on %s: %d-byte message", who, label, len(data))
            return
        if not budget.spend():
            peer.close(CloseCode.TOO_MANY_MESSAGES, "too many messages")
            log.info("closed %s on %s: too many messages", who, label)
            return
        try:
            try:
                session.receive(data)
            except NeedsClaim as need:
                # First use of a client id in this document: the store decides, once and
                # for every process, whose it is. Then the same frame again.
                await session.document.claim(session.participant_id, need.client_ids)
                if peer.closing:
                    return
                session.receive(data)
        except ProtocolViolation as exc:
            peer.close(exc.code, exc.reason[:120])
            log.info("closed %s on %s (%d): %s", who, label, exc.code, exc.reason)
            return
