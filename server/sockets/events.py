"""WebSocket ``/events/{room}?token=...&after=SEQ``: the room's live events, as JSON.

Every message is a JSON object with a ``type``. Room events carry ``seq`` (gapless per
room), ``at`` and ``data``; comment and thread events are rendered for the reader
(see :mod:`rooms.comment_views`). Control messages have no ``seq``:

* ``{"type": "ready", "seq": N}``: everything up to ``N`` has been sent; live from here.
* ``{"type": "resync", "seq": N}``: too much was missed (or ``after`` is unknown):
  reload the state over HTTP, then continue from ``N``.
* ``{"type": "pong"}`` answers ``{"type": "ping"}``.
* ``{"type": "roster", "participants": [...]}``: who is in the room now, after each
  change (see :mod:`rooms.presence`).

A client sends pings and ``{"type": "presence", "document", "state", "following",
"spotlight_opt_out"}`` (any subset) to say where it is. The connection itself is the
participant's presence in the room. A client that reconnects passes the last ``seq``
it saw as ``after`` and gets what it missed, in order, before ``ready``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Callable
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from rooms.comment_views import Viewer
from rooms.directory import document_name, is_code
from rooms.live.peer import CloseCode
from rooms.presence import STATES, Presence
from rooms.records import RoomEvent
from server.sockets.admission import MessageBudget, at_expiry
from server.sockets.peer import close_or_abort
from server.state import AppState
from server.tokens import InvalidToken

log = logging.getLogger("roundtable.events")

# A reconnecting client gets at most this many missed events; beyond, it resyncs.
MAX_CATCH_UP = 1000
# Events queued for a client that does not read; beyond, it is dropped (1013).
MAX_PENDING = 5000
MAX_CLIENT_MESSAGE = 1024
REMOVED = "you were removed from this room"


async def _refuse(websocket: WebSocket, code: CloseCode, message: str) -> None:
    with contextlib.suppress(Exception):
        await websocket.send_text(json.dumps({"type": "error", "message": message}))
        await websocket.close(code, message)


def _after(raw: str | None) -> int | None:
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise ValueError("after must be a sequence number")
    return int(raw)


async def events_endpoint(websocket: WebSocket) -> None:
    state: AppState = websocket.app.state.roundtable
    room_slug = websocket.path_params["room"]
    if not await state.admission.admit(websocket):
        return
    await websocket.accept()
    try:
        claims = state.signer.verify(websocket.query_params.get("token", ""))
    except InvalidToken as exc:
        await _refuse(websocket, CloseCode.UNAUTHORIZED, str(exc))
        return
    if claims.room != room_slug:
        await _refuse(websocket, CloseCode.FORBIDDEN, "token is for another room")
        return
    room = await state.directory.room(room_slug)
    if room is None:
        await _refuse(websocket, CloseCode.NOT_FOUND, "no such room")
        return
    if not await state.control_store.participant_active(claims.participant_id):
        await _refuse(websocket, CloseCode.FORBIDDEN, REMOVED)
        return
    try:
        after = _after(websocket.query_params.get("after"))
    except ValueError as exc:
        await _refuse(websocket, CloseCode.BAD_REQUEST, str(exc))
        return

    viewer = Viewer(claims.participant_id, claims.role, claims.name)
    who = f"{claims.role} {claims.participant_id[:8]}"
    queue: asyncio.Queue[RoomEvent | dict[str, Any]] = asyncio.Queue()
    overflowed = asyncio.Event()
    # Set when the participant is removed or the token expires: from that moment nothing
    # the client sends is taken, and the socket is closed with ``revoked``'s code.
    stopped = asyncio.Event()
    revoked: list[tuple[CloseCode, str]] = []

    def revoke(code: CloseCode, reason: str) -> None:
        if not revoked:
            revoked.append((code, reason))
            stopped.set()

    def deliver(item: RoomEvent | dict[str, Any]) -> None:
        if (
            isinstance(item, RoomEvent)
            and item.type == "participant.removed"
            and item.data.get("participant_id") == viewer.id
        ):
            revoke(CloseCode.FORBIDDEN, REMOVED)
        if queue.qsize() >= MAX_PENDING:
            overflowed.set()
            return
        queue.put_nowait(item)

    connection = uuid.uuid4().hex
    unsubscribe = await state.events.subscribe(room.id, deliver)
    unwatch = await state.roster.watch(
        room.id, lambda roster: deliver({"type": "roster", "participants": roster})
    )
    first = await state.roster.enter(
        room.id, connection, Presence(viewer.id, claims.name, claims.role.value)
    )
    if first:
        await state.controls.record(room, viewer.id, claims.name, "presence.entered", {})
    sender: asyncio.Task[None] | None = None
    expiry = at_expiry(claims.expires_at, lambda: revoke(CloseCode.UNAUTHORIZED, "token expired"))
    try:
        # Subscribed first, then read the latest number: nothing falls in between.
        latest = await state.store.last_event_seq(room.id)
        sent = latest
        if after is not None and after <= latest and latest - after <= MAX_CATCH_UP:
            for event in await state.events.since(room.id, after, MAX_CATCH_UP):
                await _send(websocket, await state.comments.render(event, viewer))
                sent = event.seq
            await _send(websocket, {"type": "ready", "seq": sent})
        elif after is not None and after != latest:
            await _send(websocket, {"type": "resync", "seq": latest})
        else:
            await _send(websocket, {"type": "ready", "seq": latest})

        async def send_live() -> None:
            last = sent
            while True:
                item = await queue.get()
                if isinstance(item, dict):
                    await _send(websocket, item)
                    continue
                if item.seq <= last:
                    continue
                await _send(websocket, await state.comments.render(item, viewer))
                last = item.seq
                if (
                    item.type == "participant.removed"
                    and item.data.get("participant_id") == viewer.id
                ):
                    return

        def presence(changes: dict[str, Any]) -> None:
            state.roster.update(room.id, connection, **changes)

        sender = asyncio.create_task(send_live())
        watcher = asyncio.create_task(overflowed.wait())
        budget = MessageBudget(state.settings.max_messages_per_second, state.settings.message_burst)
        receiver = asyncio.create_task(_receive(websocket, presence, budget))
        stopper = asyncio.create_task(stopped.wait())
        done, pending = await asyncio.wait(
            {sender, watcher, receiver, stopper}, return_when=asyncio.FIRST_COMPLETED
        )
        grace = state.settings.close_grace_seconds
        if revoked:
            # Stop reading at once; what is queued up to the removal event may still go
            # out within the grace (the client learns why), then the close.
            receiver.cancel()
            if not sender.done():
                await asyncio.wait({sender}, timeout=grace)
            pending = {task for task in pending if not task.done()}
        for task in pending:
            task.cancel()
        # Reading the sender's outcome also keeps asyncio from logging it as unretrieved
        # when the client left while an event was being sent.
        failure = sender.exception() if sender.done() and not sender.cancelled() else None
        if revoked:
            await close_or_abort(websocket, revoked[0][0], revoked[0][1], grace)
        elif watcher in done:
            log.warning("dropped %s from room %s events: not reading", who, room.slug)
            await close_or_abort(
                websocket, CloseCode.TRY_AGAIN_LATER, "too many unread events", grace
            )
        elif receiver in done:
            refusal, reason = receiver.result()
            if refusal is not None:
                await close_or_abort(websocket, refusal, reason, grace)
        elif failure is not None and not isinstance(failure, WebSocketDisconnect | RuntimeError):
            raise failure
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        expiry.cancel()
        if sender is not None and not sender.done():
            sender.cancel()
        await unsubscribe()
        await unwatch()
        if await state.roster.leave(room.id, connection):
            await state.controls.record(room, viewer.id, claims.name, "presence.left", {})


async def _send(websocket: WebSocket, message: dict[str, Any]) -> None:
    await websocket.send_text(json.dumps(message, separators=(",", ":")))


def _presence_changes(request: dict[str, Any]) -> dict[str, Any]:
    """The roster fields of a presence message, or ValueError."""
    changes: dict[str, Any] = {}
    for key, value in request.items():
        if key == "type":
            continue
        if key == "document":
            if value is not None:
                value = document_name(value)
                if value is None:
                    raise ValueError("document must be a document name or null")
        elif key == "state":
            if value not in STATES:
                raise ValueError(f"state must be one of {list(STATES)}")
        elif key == "following":
            if value is not None and not is_code(value):
                raise ValueError("following must be a participant id or null")
        elif key == "spotlight_opt_out":
            if not isinstance(value, bool):
                raise ValueError("spotlight_opt_out must be true or false")
        else:
            # The reason goes out in the close frame, which holds at most 123 bytes.
            raise ValueError(f"unknown presence field {ascii(key)[:40]}")
        changes[key] = value
    return changes


async def _receive(
    websocket: WebSocket, presence: Callable[[dict[str, Any]], None], budget: MessageBudget
) -> tuple[int | None, str]:
    """Answer pings and take presence until the client leaves; a close code for bad input."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return None, ""
        if not budget.spend():
            return CloseCode.TOO_MANY_MESSAGES, "too many messages"
        text = message.get("text")
        if text is None:
            return CloseCode.UNSUPPORTED_DATA, "send JSON text messages"
        if len(text) > MAX_CLIENT_MESSAGE:
            return CloseCode.MESSAGE_TOO_BIG, "message too large"
        try:
            request = json.loads(text)
        except ValueError:
            return CloseCode.BAD_REQUEST, "message is not JSON"
        kind = request.get("type") if isinstance(request, dict) else None
        if kind == "ping":
            await _send(websocket, {"type": "pong"})
        elif kind == "presence":
            try:
                presence(_presence_changes(request))
            except ValueError as exc:
                return CloseCode.BAD_REQUEST, str(exc)
        else:
            return CloseCode.BAD_REQUEST, "a client sends ping or presence messages"
