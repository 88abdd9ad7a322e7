"""A document loaded in memory with the connections editing it."""

from __future__ import annotations

import logging

from crdt.awareness import DocumentAwareness
from crdt.document import SyncDocument
from crdt.protocol import encode_awareness, encode_update
from rooms.peer import Peer
from rooms.records import DocumentInfo, StoredDocument
from rooms.store import Store
from rooms.writer import DocumentWriter, WriterSettings

log = logging.getLogger("roundtable.hub")


class LiveDocument:
    """One loaded document: its CRDT state, awareness, peers and writer.

    Only peers that have been sent the server state are in the broadcast set
    (:meth:`join`); a frame is encoded once and queued on every peer without waiting.
    """

    def __init__(
        self,
        info: DocumentInfo,
        room_slug: str,
        stored: StoredDocument,
        store: Store,
        writer_settings: WriterSettings,
        max_awareness_bytes: int,
    ) -> None:
        self.info = info
        self.label = f"{room_slug}/{info.name}"
        self.sync = SyncDocument(stored.snapshot, stored.updates)
        self.awareness = DocumentAwareness(max_state_bytes=max_awareness_bytes)
        self.writer = DocumentWriter(
            store, info.id, self.label, writer_settings, log_rows=len(stored.updates)
        )
        self.peers: set[Peer] = set()
        # Sessions attached, whether or not they have finished the handshake.
        self.holders = 0

    def join(self, peer: Peer) -> None:
        self.peers.add(peer)

    def leave(self, peer: Peer) -> None:
        self.peers.discard(peer)

    def broadcast(self, frame: bytes, exclude: Peer | None = None) -> None:
        for peer in self.peers:
            if peer is not exclude:
                peer.send(frame)

    def apply_client_update(self, update: bytes, origin: Peer) -> None:
        """Apply, relay and store an update a client sent. Raises InvalidUpdate."""
        changed = self.sync.apply(update)
        if changed is None:
            return
        self.broadcast(encode_update(changed), exclude=origin)
        self.writer.enqueue(changed)

    def relay_awareness(self, update: bytes | None) -> None:
        if update is not None:
            self.broadcast(encode_awareness(update))
