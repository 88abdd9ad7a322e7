"""WebSocket ``/events/{room}?token=...&after=SEQ``: the room's live events, as JSON.

Every message is a JSON object with a ``type``. Room events carry ``seq`` (gapless per
room), ``at`` and ``data``; comment and thread events are rendered for the reader
(see :mod:`rooms.comment_views`). Control messages have no ``seq``:

* ``{"type": "ready", "seq": N}``: everything up to ``N`` has been sent; live from here.
* ``{"type": "resync", "seq": N}``: too much was missed (or ``after`` is unknown):
  reload the state over HTTP, then continue from ``N``.
* ``{"type": "pong"}`` answers ``{"type": "ping"}``, the only message a client sends.

A client that reconnects passes the last ``seq`` it saw as ``after`` and gets what it
missed, in order, before ``ready``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from rooms.comment_views import Viewer
from rooms.peer import CloseCode
from rooms.records import RoomEvent
from server.state import AppState
from server.tokens import InvalidToken

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
    if not raw.isdigit() or len(raw) > 18:
        raise ValueError("after must be a sequence number")
    return int(raw)


async def events_endpoint(websocket: WebSocket) -> None:
    state: AppState = websocket.app.state.roundtable
    room_slug = websocket.path_params["room"]
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
    try:
        after = _after(websocket.query_params.get("after"))
    except ValueError as exc:
        await _refuse(websocket, CloseCode.BAD_REQUEST, str(exc))
        return

    viewer = Viewer(claims.participant_id, claims.role)
    who = f"{claims.role} {claims.participant_id[:8]}"
    queue: asyncio.Queue[RoomEvent] = asyncio.Queue()
    overflowed = asyncio.Event()

    def deliver(event: RoomEvent) -> None:
        if queue.qsize() >= MAX_PENDING:
            overflowed.set()
            return
        queue.put_nowait(event)

    unsubscribe = await state.events.subscribe(room.id, deliver)
    sender: asyncio.Task[None] | None = None
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
                event = await queue.get()
                if event.seq <= last:
                    continue
                await _send(websocket, await state.comments.render(event, viewer))
                last = event.seq

        sender = asyncio.create_task(send_live())
        watcher = asyncio.create_task(overflowed.wait())
        receiver = asyncio.create_task(_receive(websocket))
        done, pending = await asyncio.wait(
            {sender, watcher, receiver}, return_when=asyncio.FIRST_COMPLETED
        )
        for task in pending:
            task.cancel()
        if watcher in done:
            log.warning("dropped %s from room %s events: not reading", who, room.slug)
            await _close(websocket, CloseCode.TRY_AGAIN_LATER, "too many unread events")
        elif receiver in done:
            code, reason = receiver.result()
            if code is not None:
                await _close(websocket, code, reason)
        elif sender.exception() is not None:
            raise sender.exception()  # type: ignore[misc]
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        if sender is not None and not sender.done():
            sender.cancel()
        await unsubscribe()


async def _send(websocket: WebSocket, message: dict[str, Any]) -> None:
    await websocket.send_text(json.dumps(message, separators=(",", ":")))


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    with contextlib.suppress(Exception):
        await websocket.close(code, reason)


async def _receive(websocket: WebSocket) -> tuple[int | None, str]:
    """Answer pings until the client leaves; returns a close code for bad input."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return None, ""
        text = message.get("text")
        if text is None:
            return CloseCode.UNSUPPORTED_DATA, "send JSON text messages"
        if len(text) > MAX_CLIENT_MESSAGE:
            return CloseCode.MESSAGE_TOO_BIG, "message too large"
        try:
            request = json.loads(text)
        except ValueError:
            return CloseCode.BAD_REQUEST, "message is not JSON"
        if not isinstance(request, dict) or request.get("type") != "ping":
            return CloseCode.BAD_REQUEST, "the only message a client sends is a ping"
        await _send(websocket, {"type": "pong"})
