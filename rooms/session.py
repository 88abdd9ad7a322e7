"""One connection's conversation with one document, over the y-websocket protocol."""

from __future__ import annotations

import logging

from crdt.awareness import AwarenessTooLarge
from crdt.document import InvalidUpdate
from crdt.protocol import (
    AwarenessUpdate,
    PermissionDenied,
    ProtocolError,
    QueryAwareness,
    SyncStep1,
    SyncStep2,
    SyncUpdate,
    decode_message,
    encode_awareness,
    encode_permission_denied,
    encode_sync_step1,
    encode_sync_step2,
)
from rooms.budget import MessageBudget
from rooms.live import LiveDocument
from rooms.peer import CloseCode, Peer
from rooms.roles import Role

log = logging.getLogger("roundtable.sync")

READ_ONLY_NOTICE = "read-only: this connection's document updates are not accepted"
LOCKED_NOTICE = "locked: a facilitator locked this document; updates are not accepted"


class ProtocolViolation(Exception):
    """The client broke the protocol; close its connection with :attr:`code`."""

    def __init__(self, code: CloseCode, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class SyncSession:
    """Handles the frames of one peer on one document.

    The caller runs :meth:`start` once, :meth:`receive` for each binary frame (closing
    the connection with the code of a raised :class:`ProtocolViolation`), and
    :meth:`end` when the connection is gone. The permission check is this session's
    own: it depends on the role of this connection, not on the room.
    """

    def __init__(
        self,
        document: LiveDocument,
        peer: Peer,
        role: Role,
        who: str,
        state_requests: MessageBudget | None = None,
    ) -> None:
        self.document = document
        self.peer = peer
        self.role = role
        self.who = who
        self.dropped_updates = 0
        # Whether the document is locked; facilitators still edit a locked document.
        self.locked = False
        # An edit of this connection was dropped while the document was locked: the
        # client holds content the server does not, and its later edits depend on it.
        self._diverged = False
        self._ended = False
        # Each sync step 1 makes the server encode and send what the client lacks, the
        # whole document for an empty state vector: a client may ask only so often.
        self._state_requests = state_requests

    @property
    def can_edit(self) -> bool:
        return self.role.can_edit and not (self.locked and self.role is not Role.FACILITATOR)

    def set_locked(self, locked: bool) -> None:
        """Apply a lock or unlock at once, to the next frame this connection sends."""
        if locked != self.locked:
            self.locked = locked
            self.dropped_updates = 0
            if not locked and self._diverged:
                # Its later edits would build on what the server dropped and never
                # integrate: reconnecting makes the client send everything again.
                self._diverged = False
                self.peer.close(CloseCode.RESYNC, "unlocked: reconnect to sync")

    def start(self) -> None:
        """Send the server's state vector and the current awareness states."""
        self.peer.send(encode_sync_step1(self.document.sync.state_vector()))
        states = self.document.awareness.encode_all()
        if states is not None:
            self.peer.send(encode_awareness(states))

    def receive(self, frame: bytes) -> None:
        try:
            message = decode_message(frame)
        except ProtocolError as exc:
            raise ProtocolViolation(CloseCode.PROTOCOL_ERROR, f"malformed frame: {exc}") from exc
        document = self.document
        if isinstance(message, SyncStep1):
            if self._state_requests is not None and not self._state_requests.spend():
                raise ProtocolViolation(CloseCode.TOO_MANY_MESSAGES, "too many sync requests")
            try:
                missing = document.sync.diff(message.state_vector)
            except InvalidUpdate as exc:
                raise ProtocolViolation(CloseCode.INVALID_PAYLOAD, str(exc)) from exc
            self.peer.send(encode_sync_step2(missing))
            # The peer now holds the server state: from here on it gets every update.
            document.join(self.peer)
        elif isinstance(message, SyncStep2 | SyncUpdate):
            if not self.can_edit:
                self._drop_update(message.update)
                return
            try:
                document.apply_client_update(message.update, origin=self.peer)
            except InvalidUpdate as exc:
                raise ProtocolViolation(
                    CloseCode.INVALID_PAYLOAD, f"update refused: {exc}"
                ) from exc
        elif isinstance(message, AwarenessUpdate):
            try:
                relayed = document.awareness.apply(message.update, owner=self)
            except AwarenessTooLarge as exc:
                raise ProtocolViolation(CloseCode.MESSAGE_TOO_BIG, str(exc)) from exc
            except ProtocolError as exc:
                raise ProtocolViolation(
                    CloseCode.PROTOCOL_ERROR, f"malformed awareness update: {exc}"
                ) from exc
            document.relay_awareness(relayed)
        elif isinstance(message, QueryAwareness):
            states = document.awareness.encode_all()
            if states is not None:
                self.peer.send(encode_awareness(states))
        elif isinstance(message, PermissionDenied):
            log.info(
                "%s on %s reported permission denied: %s", self.who, document.label, message.reason
            )

    def _drop_update(self, update: bytes) -> None:
        # y-websocket answers the server's step 1 with a step 2 even when it has nothing
        # new: only an update that would add content counts as a refused edit.
        if not self.document.sync.adds_structs(update):
            return
        self.dropped_updates += 1
        if self.role.can_edit:
            self._diverged = True
        if self.dropped_updates == 1:
            log.info("dropping updates from read-only %s on %s", self.who, self.document.label)
            notice = READ_ONLY_NOTICE if not self.role.can_edit else LOCKED_NOTICE
            self.peer.send(encode_permission_denied(notice))

    def end(self) -> None:
        """Leave the broadcast set and remove the awareness states this peer controlled."""
        if self._ended:
            return
        self._ended = True
        self.document.leave(self.peer)
        self.document.relay_awareness(self.document.awareness.remove_owner(self))
