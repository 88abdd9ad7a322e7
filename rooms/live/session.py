"""One connection's conversation with one document, over the y-websocket protocol."""

from __future__ import annotations

import logging
import time

from crdt.awareness import AwarenessTooLarge
from crdt.document import InvalidUpdate, TooManyWaiting, update_clients
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
from rooms.live.budget import MessageBudget
from rooms.live.counters import COUNTERS, UPDATE
from rooms.live.document import ASK_INTERVAL, LiveDocument
from rooms.live.peer import CloseCode, Peer
from rooms.roles import Role

log = logging.getLogger("roundtable.sync")

READ_ONLY_NOTICE = "read-only: this connection's document updates are not accepted"
LOCKED_NOTICE = "locked: a facilitator locked this document; updates are not accepted"


# Bytes of document one connection may make the server read to check its edits, when
# the quick check cannot tell (an edit among deleted text, or that builds on itself): a
# second's worth on average, a burst at once.
CHECK_BYTES_PER_SECOND = 4 * 1024 * 1024
CHECK_BYTES_BURST = 64 * 1024 * 1024

# Yjs client ids one connection may claim: one per document instance it edits from (a
# document kept offline across reloads holds structs of each of its earlier ids).
MAX_CLIENT_IDS = 16
# Ids a catch-up may name while the document recovers (most of them other participants').
MAX_RECOVERY_CLIENT_IDS = 1024


class NeedsClaim(Exception):
    """The frame speaks for client ids whose owners the document does not know yet:
    claim them for this connection's participant (:meth:`LiveDocument.claim`), then hand
    the same frame to :meth:`SyncSession.receive` again. Nothing was applied."""

    def __init__(self, client_ids: list[int]) -> None:
        super().__init__(f"unclaimed client ids {client_ids}")
        self.client_ids = client_ids


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
        participant_id: str,
        state_requests: MessageBudget | None = None,
    ) -> None:
        self.document = document
        self.participant_id = participant_id
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
        # While the document's recovery window is open, the client's reply to the
        # server's sync step 1 (its first step 2) may carry structs of other
        # participants' client ids that the server lacks: copies of edits a process that
        # stopped without storing them had relayed (rooms/live/recovery.py). Everywhere else
        # a struct under another participant's client id is a forgery. The same holds
        # for its answers to the step 1 the server sends when an update of it waits
        # (_ask_for_missing): this counts the step 2 answers still due.
        self._answers_due = 1
        self._claimed: set[int] = set()
        self._checks = MessageBudget(CHECK_BYTES_PER_SECOND, CHECK_BYTES_BURST)
        self._asked_at = -ASK_INTERVAL

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
            COUNTERS.updates_received += UPDATE + len(message.update)
            if not self.can_edit:
                self._drop_update(message.update)
                return
            try:
                catch_up = isinstance(message, SyncStep2) and self._answers_due > 0
                # The usual update holds the sender's own structs only: its first bytes
                # say so. Anything else is looked at closely.
                clients = update_clients(message.update)
                if clients is None or any(
                    document.owners.get(client) != self.participant_id for client in clients
                ):
                    clients = document.sync.new_struct_clients(message.update)
                    self._check_authors(clients, catch_up)
                if isinstance(message, SyncStep2) and self._answers_due:
                    self._answers_due -= 1
                checked = document.sync.checked_bytes
                if document.apply_client_update(
                    message.update, origin=self.peer, author=self.participant_id
                ):
                    self._ask_for_missing()
            except TooManyWaiting as exc:
                raise ProtocolViolation(CloseCode.POLICY_VIOLATION, str(exc)) from exc
            except InvalidUpdate as exc:
                raise ProtocolViolation(
                    CloseCode.INVALID_PAYLOAD, f"update refused: {exc}"
                ) from exc
            cost = document.sync.checked_bytes - checked
            if cost and not self._checks.spend(cost=cost):
                raise ProtocolViolation(
                    CloseCode.TOO_MANY_MESSAGES, "too many edits that are costly to check"
                )
        elif isinstance(message, AwarenessUpdate):
            try:
                ids = document.awareness.client_ids(message.update)
                mine = self._own(ids)
                only = mine if len(mine) < len(set(ids)) else None
                relayed = document.awareness.apply(message.update, owner=self, only=only)
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

    def _ask_for_missing(self) -> None:
        """The client's update waits for edits the server lacks: ask it for them.

        Its sync step 2 answer holds whatever the server lacks of what it has, which
        may be other participants' edits a process lost: that answer is checked like
        a first step 2 (taken while the document is recovering, else 1013). Not asked
        while an answer is still due (the first one, after the handshake, brings it).
        """
        now = time.monotonic()
        if self._answers_due or now - self._asked_at < ASK_INTERVAL:
            return
        self._asked_at = now
        self._answers_due += 1
        self.peer.send(encode_sync_step1(self.document.sync.state_vector()))

    def _own(self, client_ids: list[int], recovering: bool = False) -> set[int]:
        """Which of ``client_ids`` belong to this connection's participant; raises
        :class:`NeedsClaim` for ids nobody is known to hold yet.

        A connection may hold MAX_CLIENT_IDS ids. A catch-up while the document is
        recovering may name many more, other participants' (copies of a stopped
        process's edits): they are looked up, and only those that turn out to be this
        participant's count.
        """
        owners = self.document.owners
        unknown = sorted({c for c in client_ids if c not in owners})
        held = {
            c for c in self._claimed if owners.get(c, self.participant_id) == self.participant_id
        }
        self._claimed = held
        limit = MAX_RECOVERY_CLIENT_IDS if recovering else MAX_CLIENT_IDS
        if len(held) > MAX_CLIENT_IDS or len(held) + len(unknown) > limit:
            raise ProtocolViolation(CloseCode.POLICY_VIOLATION, "too many client ids")
        if unknown:
            self._claimed.update(unknown)
            raise NeedsClaim(unknown)
        return {c for c in client_ids if owners[c] == self.participant_id}

    def _check_authors(self, clients: list[int], catch_up: bool) -> None:
        """Refuse new structs under another participant's client id.

        In the client's first step 2 (``catch_up``) they are taken while the document
        is recovering. Outside that window they close the connection with 1013, not
        4403: the process that lost them may just have died, and another process learns
        so only after a few missed heartbeats; the client reconnects and sends them again.
        """
        recovering = catch_up and self.document.recovery.active
        mine = self._own(clients, recovering)
        foreign = [client for client in clients if client not in mine]
        if not foreign:
            return
        if recovering:
            return
        if catch_up:
            raise ProtocolViolation(
                CloseCode.TRY_AGAIN_LATER,
                f"client id {foreign[0]} belongs to another participant; not recovering",
            )
        raise ProtocolViolation(
            CloseCode.FORBIDDEN, f"client id {foreign[0]} belongs to another participant"
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
