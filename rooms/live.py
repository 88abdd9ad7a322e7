"""A document loaded in memory with the connections editing it."""

from __future__ import annotations

import logging
import time

from crdt.awareness import DocumentAwareness
from crdt.document import InvalidUpdate, SyncDocument, TooManyWaiting
from crdt.protocol import ProtocolError, encode_awareness, encode_sync_step1, encode_update
from rooms.fanout import DocumentFanout
from rooms.peer import Peer
from rooms.records import DocumentInfo, StoredDocument
from rooms.recovery import Recovery
from rooms.store import Store, StoreError
from rooms.writer import DocumentWriter, WriterSettings

log = logging.getLogger("roundtable.hub")

# Seconds between two requests for the edits waiting updates lack, to one peer.
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
        self._store = store
        self.writer.on_claims = self.owners.update
        # Open while copies of a stopped process's unstored edits may come back.
        self.recovery = Recovery(0.0)
        # When each peer (None: another process) was last asked for missing edits.
        self._asked: dict[Peer | None, float] = {}

    def close(self) -> None:
        """Release the CRDT state once the document is unloaded."""
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

    def broadcast(self, frame: bytes, exclude: Peer | None = None) -> None:
        for peer in self.peers:
            if peer is not exclude:
                peer.send(frame)

    def apply_client_update(self, update: bytes, origin: Peer | None) -> None:
        """Apply, relay, store and publish an update a client sent (or the server made,
        with no origin). Raises InvalidUpdate (TooManyWaiting when it would wait and its
        connection already has the most updates waiting it may).

        An update that builds on edits this copy lacks waits (crdt/pending.py): the
        client that sent it and the other processes are asked for what is missing.
        """
        waiting = self.sync.waiting
        changed = self.sync.apply(update, origin)
        if self.sync.waiting > waiting:
            self._ask_for_missing(origin)
        if changed is None:
            return
        self.broadcast(encode_update(changed), exclude=origin)
        self.writer.enqueue(changed)
        self.fanout.publish_update(changed)

    def apply_remote_update(self, update: bytes, origin: bytes | None = None) -> None:
        """Apply and relay an update from another process (``origin``) or from storage.

        It is not stored here: the process it came from stores it. Should that process
        die first, the hub stores what storage lacks (:attr:`remote_origins`).
        """
        waiting = self.sync.waiting
        try:
            changed = self.sync.apply(update, origin, check=False)
        except TooManyWaiting:
            # That process still holds it: its answer to the request below brings it.
            log.warning("%s: too many updates from %s wait; asking again", self.label, origin)
            self.fanout.request_missing()
            return
        except InvalidUpdate as exc:
            log.warning("dropped a remote update to %s: %s", self.label, exc)
            return
        if self.sync.waiting > waiting:
            self._ask_for_missing(None)
        if changed is not None:
            if origin is not None:
                self.remote_origins.add(origin)
            self.broadcast(encode_update(changed))

    def _ask_for_missing(self, peer: Peer | None) -> None:
        """Ask ``peer`` (its sync step 2 answer holds whatever this copy lacks of what it
        has) and the other processes for the edits waiting updates build on, at most
        once a second each."""
        now = time.monotonic()
        if now - self._asked.get(peer, -ASK_INTERVAL) < ASK_INTERVAL:
            return
        if len(self._asked) > 64:
            self._asked = {k: t for k, t in self._asked.items() if now - t < ASK_INTERVAL}
        self._asked[peer] = now
        if peer is not None:
            peer.send(encode_sync_step1(self.sync.state_vector()))
        self.fanout.request_missing()

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
