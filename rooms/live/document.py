"""A document loaded in memory with the connections editing it."""

from __future__ import annotations

import asyncio
import logging
import time

from crdt.awareness import DocumentAwareness
from crdt.document import Integrated, InvalidUpdate, SyncDocument, TooManyWaiting
from crdt.protocol import ProtocolError, encode_awareness, encode_update
from rooms.live.counters import COUNTERS, UPDATE
from rooms.live.fanout import DocumentFanout
from rooms.live.peer import Peer
from rooms.live.recovery import Recovery
from rooms.live.writer import DocumentWriter, WriterSettings
from rooms.ports import Store, StoreError
from rooms.records import DocumentInfo, StoredDocument

log = logging.getLogger("roundtable.hub")

# Seconds between two requests for the edits waiting updates lack (to the other
# processes, or to one client).
ASK_INTERVAL = 1.0


class LiveDocument:
    """One loaded document: its CRDT state, awareness, peers, writer and fan-out.

    Only peers that have been sent the server state are in the broadcast set
    (:meth:`join`); a frame is encoded once and queued on every peer without waiting.
    An update from a local client is relayed, stored and published to the other
    processes; one from another process is relayed only: it is that process's to store.
    """

    def __init__(
        self,
        info: DocumentInfo,
        room_slug: str,
        stored: StoredDocument,
        store: Store,
        writer_settings: WriterSettings,
        awareness: DocumentAwareness,
        fanout: DocumentFanout,
    ) -> None:
        self.info = info
        self.label = f"{room_slug}/{info.name}"
        self.sync = SyncDocument(stored.snapshot, stored.updates)
        self.awareness = awareness
        self.writer = DocumentWriter(
            store, info.id, self.label, writer_settings, log_rows=len(stored.updates)
        )
        self.fanout = fanout
        self.peers: set[Peer] = set()
        # Sessions attached, whether or not they have finished the handshake.
        self.holders = 0
        # Processes whose updates this copy holds, and which are to store them.
        self.remote_origins: set[bytes] = set()
        # Yjs client id -> the participant it belongs to, as far as this process has
        # needed to know (claims are stored and never change: see claim()).
        self.owners: dict[int, str] = {}
        # The participant behind each source of client updates (a connection), so
        # that what their edits add and delete is counted for them.
        self._authors: dict[object, str] = {}
        self._store = store
        self.writer.on_claims = self.owners.update
        # Open while copies of a stopped process's unstored edits may come back.
        self.recovery = Recovery(0.0)
        # When the other processes were last asked for missing edits, and the timer to
        # ask again.
        self._asked_at = -ASK_INTERVAL
        self._ask_again: asyncio.TimerHandle | None = None
        self._closed = False

    def close(self) -> None:
        """Release the CRDT state once the document is unloaded."""
        self._closed = True
        if self._ask_again is not None:
            self._ask_again.cancel()
            self._ask_again = None
        if self.sync.waiting:
            # Their clients hold them and send them again when they reconnect.
            log.warning(
                "%s unloaded with %d updates waiting for edits it never got",
                self.label,
                self.sync.waiting,
            )
        self.sync.close()

    async def claim(self, participant_id: str, client_ids: list[int]) -> None:
        """Learn the owners of ``client_ids``, giving those nobody holds to
        ``participant_id``."""
        try:
            owners = await self._store.claim_clients(self.info.id, participant_id, client_ids)
        except StoreError:
            # Storage is down: edits go on in memory until the writer can store them,
            # and so do claims. This process's first use decides for now; the writer
            # stores the claims before the next batch and corrects this map should
            # another process have claimed an id first.
            for client_id in client_ids:
                self.owners.setdefault(client_id, participant_id)
            self.writer.claim_later(
                participant_id, [c for c in client_ids if self.owners[c] == participant_id]
            )
            return
        self.owners.update(owners)

    def join(self, peer: Peer) -> None:
        self.peers.add(peer)

    def leave(self, peer: Peer) -> None:
        self.peers.discard(peer)
        self._authors.pop(peer, None)

    def broadcast(self, frame: bytes, exclude: object | None = None) -> None:
        for peer in self.peers:
            if peer is not exclude:
                peer.send(frame)

    def apply_client_update(
        self, update: bytes, origin: Peer | None, author: str | None = None
    ) -> bool:
        """Apply, relay, store and publish an update a client sent (or the server made,
        with no origin). Raises InvalidUpdate (TooManyWaiting when it would wait and its
        connection already has the most updates waiting it may).

        An update that builds on edits this copy lacks waits (crdt/pending.py), and the
        other processes are asked for what is missing; True then (the caller asks the
        client too). ``author``: the participant whose edit it is; their text counts.
        """
        if author is not None and origin is not None:
            self._authors[origin] = author
        waiting = self.sync.waiting
        integrated = self.sync.integrate(update, origin)
        waits = self.sync.waiting > waiting
        if waits:
            self.ask_processes()
        self._spread(integrated, author)
        return waits

    def apply_remote_update(self, update: bytes, origin: bytes | None = None) -> None:
        """Apply and relay an update from another process (``origin``) or from storage.

        It is not stored here: the process it came from stores it. Should that process
        die first, the hub stores what storage lacks (:attr:`remote_origins`).
        """
        waiting = self.sync.waiting
        try:
            integrated = self.sync.integrate(update, origin, check=False)
        except TooManyWaiting:
            # That process still holds it: its answer to the request below brings it.
            log.warning("%s: too many updates from %s wait; asking again", self.label, origin)
            self.fanout.request_missing()
            return
        except InvalidUpdate as exc:
            log.warning("dropped a remote update to %s: %s", self.label, exc)
            return
        waits = self.sync.waiting > waiting
        if waits:
            self.ask_processes()
            if origin is not None:
                # It goes in later: this copy holds it then.
                self.remote_origins.add(origin)
        self._spread(integrated)

    def _spread(self, integrated: list[Integrated], author: str | None = None) -> None:
        """Relay what went in to every peer but the one that sent it; store and publish
        what came from this process's clients (or the server), whether it went in now
        or had waited; note the processes whose edits this copy holds."""
        for item in integrated:
            source = item.source
            self.broadcast(encode_update(item.changed), exclude=source)
            peers = self.peers
            COUNTERS.updates_sent += (UPDATE + len(item.changed)) * (len(peers) - (source in peers))
            if item.from_client:
                who = author if source is None else self._authors.get(source)
                self.writer.enqueue(item.changed, who, item.added, item.removed)
                self.fanout.publish_update(item.changed)
            elif isinstance(source, bytes):
                self.remote_origins.add(source)

    def ask_processes(self) -> None:
        """Ask the other processes for the edits waiting updates build on, at most once
        every ASK_INTERVAL seconds, and again after it while updates still wait (what
        they wait for may reach another process later)."""
        now = time.monotonic()
        if now - self._asked_at >= ASK_INTERVAL:
            self._asked_at = now
            self.fanout.request_missing()
        if self._ask_again is None:
            self._ask_again = asyncio.get_running_loop().call_later(ASK_INTERVAL, self._retry_ask)

    def _retry_ask(self) -> None:
        self._ask_again = None
        if self.sync.waiting and not self._closed:
            self.ask_processes()

    def state_vector(self) -> bytes:
        return self.sync.state_vector()

    def missing_for(self, state_vector: bytes) -> bytes:
        """The update a peer (another process) with ``state_vector`` lacks."""
        return self.sync.diff(state_vector)

    def owned_awareness(self) -> bytes | None:
        """The awareness states of this process's own clients, encoded, or None."""
        return self.awareness.encode_owned()

    def relay_awareness(self, update: bytes | None) -> None:
        """Relay a change of local clients' awareness here and to the other processes."""
        if update is not None:
            self.broadcast(encode_awareness(update))
            self.fanout.publish_awareness(update)

    def apply_remote_awareness(self, payload: bytes) -> None:
        try:
            relayed = self.awareness.apply(payload, owner=None)
        except ProtocolError as exc:
            log.warning("dropped a remote awareness update to %s: %s", self.label, exc)
            return
        if relayed is not None:
            self.broadcast(encode_awareness(relayed))

    def expire_awareness(self) -> None:
        """Drop remote clients' states that stopped being renewed (their process died)."""
        removed = self.awareness.remove_outdated(keep_owned=True)
        if removed is not None:
            self.broadcast(encode_awareness(removed))
