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
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from rooms.directory import document_name, is_code
from rooms.errors import Refused
from rooms.live.counters import COUNTERS
from rooms.live.peer import CloseCode
from rooms.presence import STATES, Presence, colour_for, roster_for
from rooms.records import RoomEvent
from server.auth import REMOVED, ROLE_CHANGED, SIGNED_OUT, Caller, authenticate, signs_out
from server.shutdown import RESTARTING
from server.sockets.admission import MessageBudget, at_expiry, deny
from server.sockets.peer import close_or_abort
from server.sockets.refusals import close_code
from server.state import AppState

log = logging.getLogger("roundtable.events")

# A reconnecting client gets at most this many missed events; beyond, it resyncs.
MAX_CATCH_UP = 1000
# Events queued for a client that does not read; beyond, it is dropped (1013).
MAX_PENDING = 5000
MAX_CLIENT_MESSAGE = 1024


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
    if not await state.admission.admit(websocket):
        return
    if websocket.app.state.shutdown.draining:
        # Sent elsewhere: a proxy tries the next instance on a 503, a client reconnects.
        await deny(websocket, 503, "restarting", "this server is restarting: connect again")
        return
    await websocket.accept()
    try:
        caller = await authenticate(
            state, websocket.query_params.get("token", ""), websocket.path_params["room"]
        )
        after = _after(websocket.query_params.get("after"))
    except Refused as exc:
        await _refuse(websocket, close_code(exc), exc.message)
        return
    except ValueError as exc:
        await _refuse(websocket, CloseCode.BAD_REQUEST, str(exc))
        return
    await EventConnection(websocket, state, caller).run(after)


class EventConnection:
    """One participant's event socket, in named steps: :meth:`enter` the room's
    events and roster, :meth:`catch_up` on what they missed, then :meth:`send_loop`
    and :meth:`receive_loop` until one of them ends, :meth:`close` with the reason,
    and :meth:`leave`."""

    def __init__(self, websocket: WebSocket, state: AppState, caller: Caller) -> None:
        self.websocket = websocket
        self.state = state
        self.room = caller.room
        self.claims = caller.claims
        self.viewer = caller.viewer
        self.who = caller.who
        self.connection = uuid.uuid4().hex
        # What goes out, in order; ``None`` ends the sending once a revocation's reason
        # (and everything queued before it) has gone out.
        self.queue: asyncio.Queue[RoomEvent | dict[str, Any] | None] = asyncio.Queue()
        self.overflowed = asyncio.Event()
        # Set when the participant is removed or the token expires: from that moment
        # nothing the client sends is taken, and the socket is closed with ``revoked``.
        self.stopped = asyncio.Event()
        self.revoked: tuple[CloseCode, str] | None = None

    async def run(self, after: int | None) -> None:
        leave = await self.enter()
        COUNTERS.event_connections += 1
        unregister = self.websocket.app.state.shutdown.register(
            lambda: self.revoke(CloseCode.SERVICE_RESTART, RESTARTING)
        )
        expiry = at_expiry(
            self.claims.expires_at, lambda: self.revoke(CloseCode.UNAUTHORIZED, "token expired")
        )
        try:
            sent = await self.catch_up(after)
            await self.main_loop(sent)
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            COUNTERS.event_connections -= 1
            unregister()
            expiry.cancel()
            await leave()

    # Steps.

    async def enter(self) -> Callable[[], Awaitable[None]]:
        """Subscribe to the room's events and roster and enter the roster; returns what
        undoes it."""
        state, room, viewer = self.state, self.room, self.viewer
        unsubscribe = await state.events.subscribe(room.id, self.deliver)
        # A mentor from outside the cohort sees who is on the documents they mentor.
        seen = {d.name for d in await state.controls.documents(room, viewer)}
        unwatch = await state.roster.watch(
            room.id,
            lambda roster: self.deliver(
                {"type": "roster", "participants": roster_for(viewer, roster, seen)}
            ),
        )
        entered_at = datetime.now(UTC)
        seat = await state.participants.get_participant(viewer.id)
        presence = Presence(
            viewer.id,
            self.claims.name,
            self.claims.role.value,
            since=entered_at.timestamp(),
            colour=colour_for(viewer.id, None if seat is None else seat.colour),
        )
        if await state.roster.enter(room.id, self.connection, presence):
            await state.controls.record(room, viewer.id, viewer.name, "presence.entered", {})

        async def leave() -> None:
            await unsubscribe()
            await unwatch()
            if await state.roster.leave(room.id, self.connection):
                await state.controls.record(room, viewer.id, viewer.name, "presence.left", {})
            # What happened while the page was open was seen: "new since your last visit"
            # (My rooms) starts from here. A guest's seat has no account: nothing changes.
            try:
                await state.accounts.store.mark_seen(
                    viewer.id, await state.store.last_event_seq(room.id)
                )
            except Exception as exc:
                log.warning("could not note %s's visit to %s: %s", self.who, room.slug, exc)
            # The time present, for participation (rooms/participation.py).
            try:
                await state.participants.add_presence(
                    room.id, viewer.id, entered_at, datetime.now(UTC)
                )
            except Exception as exc:
                log.warning("could not record %s's time in %s: %s", self.who, room.slug, exc)

        return leave

    async def catch_up(self, after: int | None) -> int:
        """Send what the client missed since ``after``, then ``ready`` (or ``resync``
        when too much was missed); returns the last number sent."""
        state, room = self.state, self.room
        # Subscribed first, then read the latest number: nothing falls in between.
        latest = await state.store.last_event_seq(room.id)
        sent = latest
        if after is not None and after <= latest and latest - after <= MAX_CATCH_UP:
            missed = await state.events.since(room.id, after, MAX_CATCH_UP)
            for event in missed:
                await _send(self.websocket, await state.comments.render(event, self.viewer))
                sent = event.seq
            COUNTERS.caught_up(len(missed))
            await _send(self.websocket, {"type": "ready", "seq": sent})
        elif after is not None and after != latest:
            COUNTERS.event_resyncs += 1
            await _send(self.websocket, {"type": "resync", "seq": latest})
        else:
            await _send(self.websocket, {"type": "ready", "seq": latest})
        return sent

    async def send_loop(self, sent: int) -> None:
        """Send live events (rendered for the reader) and roster changes, in order,
        until the participant's own removal has gone out."""
        last = sent
        while True:
            item = await self.queue.get()
            if item is None:
                return
            if isinstance(item, dict):
                await _send(self.websocket, item)
                continue
            if item.seq <= last:
                continue
            await _send(self.websocket, await self.state.comments.render(item, self.viewer))
            last = item.seq
            if self._removes_me(item):
                return

    async def receive_loop(self) -> tuple[int | None, str]:
        """Answer pings and take presence until the client leaves; a close code for
        bad input."""
        settings = self.state.settings
        budget = MessageBudget(settings.max_messages_per_second, settings.message_burst)

        def presence(changes: dict[str, Any]) -> None:
            self.state.roster.update(self.room.id, self.connection, **changes)

        return await _receive(self.websocket, presence, budget)

    async def main_loop(self, sent: int) -> None:
        """Run the loops until one ends (or the client stops reading, or is revoked),
        then close for that reason."""
        sender = asyncio.create_task(self.send_loop(sent))
        watcher = asyncio.create_task(self.overflowed.wait())
        receiver = asyncio.create_task(self.receive_loop())
        stopper = asyncio.create_task(self.stopped.wait())
        try:
            done, pending = await asyncio.wait(
                {sender, watcher, receiver, stopper}, return_when=asyncio.FIRST_COMPLETED
            )
            grace = self.state.settings.close_grace_seconds
            if self.revoked:
                # Stop reading at once; what was queued before the revocation (the
                # removal event: the client learns why) goes out within the grace, then
                # the close.
                receiver.cancel()
                if not sender.done():
                    await asyncio.wait({sender}, timeout=grace)
                pending = {task for task in pending if not task.done()}
            for task in pending:
                task.cancel()
            # Reading the sender's outcome also keeps asyncio from logging it as
            # unretrieved when the client left while an event was being sent.
            failure = sender.exception() if sender.done() and not sender.cancelled() else None
            await self.close(done, watcher, receiver, failure, grace)
        finally:
            if not sender.done():
                sender.cancel()

    async def close(
        self,
        done: set[asyncio.Task[Any]],
        watcher: asyncio.Task[Any],
        receiver: asyncio.Task[tuple[int | None, str]],
        failure: BaseException | None,
        grace: float,
    ) -> None:
        websocket = self.websocket
        if self.revoked:
            await close_or_abort(websocket, self.revoked[0], self.revoked[1], grace)
        elif watcher in done:
            COUNTERS.event_slow_readers += 1
            log.warning("dropped %s from room %s events: not reading", self.who, self.room.slug)
            await close_or_abort(
                websocket, CloseCode.TRY_AGAIN_LATER, "too many unread events", grace
            )
        elif receiver in done:
            refusal, reason = receiver.result()
            if refusal is not None:
                await close_or_abort(websocket, refusal, reason, grace)
        elif failure is not None and not isinstance(failure, WebSocketDisconnect | RuntimeError):
            raise failure

    # Events from the room.

    def deliver(self, item: RoomEvent | dict[str, Any]) -> None:
        if self.revoked is not None:
            return
        if self.queue.qsize() >= MAX_PENDING:
            self.overflowed.set()
        else:
            self.queue.put_nowait(item)
        if isinstance(item, RoomEvent) and self._removes_me(item):
            self.revoke(CloseCode.FORBIDDEN, REMOVED)
        elif (
            isinstance(item, RoomEvent)
            and item.type == "participant.role"
            and item.data.get("participant_id") == self.viewer.id
        ):
            # After the event itself: the page learns its new role, then connects again.
            self.revoke(CloseCode.RESYNC, ROLE_CHANGED)
        elif isinstance(item, RoomEvent) and signs_out(
            item, self.viewer.id, self.claims.session_id
        ):
            self.revoke(CloseCode.UNAUTHORIZED, SIGNED_OUT)

    def revoke(self, code: CloseCode, reason: str) -> None:
        if self.revoked is None:
            self.revoked = (code, reason)
            # The sender stops after what is already queued (the removal event itself).
            self.queue.put_nowait(None)
            self.stopped.set()

    def _removes_me(self, event: RoomEvent) -> bool:
        return (
            event.type == "participant.removed"
            and event.data.get("participant_id") == self.viewer.id
        )


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
