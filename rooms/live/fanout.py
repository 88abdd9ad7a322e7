"""One document's traffic with the other server processes, through the broker."""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from crdt.document import EMPTY_UPDATE, InvalidUpdate
from crdt.protocol import ProtocolError
from rooms.live.broker import Broker
from rooms.live.envelope import EVERYONE, Envelope, Kind, decode, decode_updates, encode_updates

log = logging.getLogger("roundtable.fanout")


class Replica(Protocol):
    """What the fanout needs of the loaded document it carries (a
    :class:`rooms.live.document.Replica`)."""

    @property
    def label(self) -> str: ...

    def state_vector(self) -> bytes:
        """The document's state vector."""
        ...

    def missing_for(self, state_vector: bytes) -> bytes:
        """The update a peer with ``state_vector`` lacks."""
        ...

    def owned_awareness(self) -> bytes | None:
        """The awareness states of this process's own clients, encoded, or None."""
        ...

    def apply_remote_update(self, update: bytes, origin: bytes | None = None) -> None: ...

    def apply_remote_awareness(self, payload: bytes) -> None: ...


def document_channel(document_id: int) -> str:
    return f"doc:{document_id}"


class DocumentFanout:
    """Publishes a document's updates and awareness, and applies those of other processes.

    :meth:`start` subscribes before the document is loaded; what arrives before
    :meth:`attach` is kept and applied right after, so nothing published while the
    document loads is missed. :meth:`attach` then asks the other processes for what
    they hold that storage does not have yet (their write-behind window), as a sync
    step 1 they answer with a step 2. Updates received here are applied and relayed
    to local clients, never stored or published again.
    """

    def __init__(self, broker: Broker, document_id: int) -> None:
        self._broker = broker
        self.channel = document_channel(document_id)
        self._document: Replica | None = None
        self._early: list[bytes] = []
        self._outbox: list[bytes] = []
        self._flush_scheduled = False

    async def start(self) -> None:
        await self._broker.subscribe(self.channel, self.receive)

    async def stop(self) -> None:
        self._flush_outbox()
        await self._broker.unsubscribe(self.channel)

    def attach(self, document: Replica) -> None:
        self._document = document
        early, self._early = self._early, []
        for message in early:
            self.receive(message)
        self.request_sync()

    def request_sync(self) -> None:
        """Ask every other process for what this one lacks (and to ask back)."""
        document = self._document
        if document is None:
            return
        self._send(Kind.SYNC_STEP1, b"\x01" + document.state_vector())
        self._send(Kind.AWARENESS_QUERY, b"")

    def request_missing(self) -> None:
        """Ask every other process for what this one lacks (without asking back): an
        update waits here for edits another process may hold."""
        document = self._document
        if document is not None:
            self._send(Kind.SYNC_STEP1, b"\x00" + document.state_vector())

    def publish_update(self, update: bytes) -> None:
        """Queue a client's update; updates queued in one loop turn go out as one message."""
        self._outbox.append(update)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush_outbox)

    def _flush_outbox(self) -> None:
        self._flush_scheduled = False
        if self._outbox:
            updates, self._outbox = self._outbox, []
            self._send(Kind.UPDATES, encode_updates(updates))

    def publish_awareness(self, update: bytes) -> None:
        self._send(Kind.AWARENESS, update)

    def _send(self, kind: Kind, payload: bytes, target: bytes = EVERYONE) -> None:
        envelope = Envelope(kind, self._broker.origin, target, payload)
        self._broker.publish(self.channel, envelope.encode())

    def receive(self, message: bytes) -> None:
        document = self._document
        if document is None:
            self._early.append(message)
            return
        try:
            envelope = decode(message)
            if envelope.origin == self._broker.origin:
                return
            if envelope.target not in (EVERYONE, self._broker.origin):
                return
            self._handle(document, envelope)
        except (ProtocolError, InvalidUpdate) as exc:
            log.warning("dropped a broker message on %s: %s", document.label, exc)

    def _handle(self, document: Replica, envelope: Envelope) -> None:
        kind, payload = envelope.kind, envelope.payload
        if kind is Kind.UPDATES:
            for update in decode_updates(payload):
                document.apply_remote_update(update, envelope.origin)
        elif kind is Kind.SYNC_STEP2:
            document.apply_remote_update(payload, envelope.origin)
        elif kind is Kind.AWARENESS:
            document.apply_remote_awareness(payload)
        elif kind is Kind.SYNC_STEP1:
            if not payload:
                raise ProtocolError("empty sync step 1")
            wants_reply, state_vector = payload[0] == 1, payload[1:]
            missing = document.missing_for(state_vector)
            if missing != EMPTY_UPDATE:
                self._send(Kind.SYNC_STEP2, missing, target=envelope.origin)
            if wants_reply:
                self._send(Kind.SYNC_STEP1, b"\x00" + document.state_vector(), envelope.origin)
        elif kind is Kind.AWARENESS_QUERY:
            states = document.owned_awareness()
            if states is not None:
                self._send(Kind.AWARENESS, states, target=envelope.origin)
