"""A server-side Yjs document: apply client updates, answer sync steps, compact logs."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pycrdt import (
    Doc,
    StickyIndex,
    Subscription,
    Transaction,
    TransactionEvent,
    merge_updates,
    write_var_uint,
)

from crdt.items import (
    GONE,
    InvalidStructs,
    ItemIndex,
    Placed,
    Plan,
    deletes_wait_for,
    index_of_state,
    plan,
)
from crdt.pending import PendingLimitReached, PendingLimits, PendingUpdates, Waiting
from crdt.protocol import ProtocolError, Reader
from crdt.update import (
    ID,
    Content,
    Update,
    decode_update,
    visible_copy,
    without_right_origins,
)

log = logging.getLogger("roundtable.crdt")

# The v1 encoding of an update that changes nothing: no structs, an empty delete set.
EMPTY_UPDATE = b"\x00\x00"
EMPTY_STATE_VECTOR = b"\x00"
# A StickyIndex's association (lib0 varint): right after an id, or right before it.
_AFTER = b"\x00"
_BEFORE = b"\x41"


class InvalidUpdate(ValueError):
    """Bytes that are not an update an honest client writes, or that pycrdt refuses."""


class TooManyWaiting(InvalidUpdate):
    """An update that must wait for missing edits, from a source (or to a document)
    already holding as many waiting updates as it may."""


@dataclass(frozen=True, slots=True)
class Integrated:
    """An update that went into the document: what changed, where it came from (the
    ``source`` given to :meth:`SyncDocument.integrate`), and whether it came from a
    client (checked) rather than from another process or storage."""

    changed: bytes
    source: object | None
    from_client: bool
    # UTF-16 units of text it inserted, and units of content it deleted (only what was
    # not deleted before).
    added: int = 0
    removed: int = 0


def merged(integrated: list[Integrated]) -> bytes | None:
    """What changed in all of ``integrated`` as one update, or None."""
    if not integrated:
        return None
    return merged_bytes([item.changed for item in integrated])


def merged_bytes(updates: list[bytes]) -> bytes:
    if len(updates) == 1:
        return updates[0]
    # Each update builds on the document, not on the others alone: merge them
    # (folding them into a fresh document would leave out what waits there).
    return merge_updates(*updates)


class SyncDocument:
    """One pycrdt document as the server holds it.

    :meth:`apply` checks a client's update against the document before the CRDT core
    sees it (:mod:`crdt.update` decodes it, :mod:`crdt.items` places its structs), keeps
    it aside while an edit it builds on is missing (:mod:`crdt.pending`), and returns
    the update the document actually integrated (already-known structs left out, updates
    that waited and could now go in added), which is what the caller must broadcast and
    store: duplicates then cost nothing.
    """

    __slots__ = (
        "_doc",
        "_emitted",
        "_integrated",
        "_item_index",
        "_last_decoded",
        "_pending",
        "_silent",
        "_subscription",
        "_tails",
        "_visible",
        "_visible_has",
        "_whole",
        "checked_bytes",
        "dropped",
        "uncrossed",
    )

    def __init__(
        self,
        snapshot: bytes | None = None,
        updates: Iterable[bytes] = (),
        limits: PendingLimits | None = None,
    ) -> None:
        self._doc: Doc[Any] = Doc()
        self._pending = PendingUpdates(limits)
        # Stored updates in causal order: pycrdt is never given one that must wait.
        if snapshot:
            self._doc.apply_update(snapshot)
        stored = [update for update in updates if update]
        in_order, waiting = causal_order(stored, decode_state_vector(self._doc.get_state()))
        for position in in_order:
            self._doc.apply_update(stored[position])
        for position, on in waiting:
            update = stored[position]
            self._pending.add(
                Waiting(update, decode_update(update), None, False), on, counted=False
            )
        self._emitted: list[bytes] = []
        # What went in during the current integrate() call.
        self._integrated: list[Integrated] = []
        # Set by a transaction that changed the document but reported no update.
        self._silent = False
        # The whole document as one update, kept until the next change: every client
        # joining with nothing (a new tab, a reconnect after a restart) needs exactly it.
        self._whole: bytes | None = None
        # Built on the first update (joining clients do not need it).
        self._item_index: ItemIndex | None = None
        self._last_decoded: tuple[bytes, Update] | None = None
        # Client -> (the clock past its last item with a right origin, that right
        # origin): the next item it types there needs no look at the document.
        self._tails: dict[int, tuple[int, ID]] = {}
        # A copy of the document in which every item takes room (deleted ones too),
        # built the first time the quick check cannot order two origins and then kept
        # in step, update by update: building it reads the whole document.
        self._visible: Doc[Any] | None = None
        # The update last put into the copy by a check, before it goes into the document.
        self._visible_has: bytes | None = None
        # Bytes of document read to check updates the quick way could not (a measure of
        # the work a connection causes; see apply()).
        self.checked_bytes = 0
        # Waiting updates dropped when they could go in at last but failed their check.
        self.dropped = 0
        # Items taken without their right origin (see _uncross).
        self.uncrossed = 0
        # pycrdt keeps an observed Doc alive until it is unobserved: see close().
        self._subscription: Subscription | None = self._doc.observe(self._on_transaction)

    def close(self) -> None:
        """Stop observing the document, so that it can be freed. Call once done with it."""
        if self._subscription is not None:
            self._doc.unobserve(self._subscription)
            self._subscription = None

    def _on_transaction(self, event: TransactionEvent) -> None:
        update: bytes = event.update
        if update != EMPTY_UPDATE:
            self._emitted.append(update)
            self._whole = None
            return
        # pycrdt (yrs 0.28) integrates a struct that starts past a gap in its client's
        # clocks without reporting it when its origins are known. Such structs never
        # reach it from apply(), but the state vector is cheap to compare (bytes).
        # (Not in pycrdt's annotations, but every TransactionEvent has both states.)
        if event.before_state != event.after_state:  # type: ignore[attr-defined]
            self._silent = True

    @property
    def ydoc(self) -> Doc[Any]:
        """The underlying pycrdt document, for reading content (exports, anchors)."""
        return self._doc

    @property
    def _index(self) -> ItemIndex:
        if self._item_index is None:
            self._item_index = index_of_state(decode_update(self.encode_state()))
        return self._item_index

    @property
    def waiting(self) -> int:
        """How many updates wait for edits the document lacks."""
        return len(self._pending)

    def waiting_from(self, source: object) -> int:
        return self._pending.waiting_from(source)

    def root_of(self, item: ID) -> str | None:
        """The root type that integrated item ``item`` lies in (None: not in it)."""
        return self._index.root_of(item)

    def apply(
        self, update: bytes, source: object | None = None, *, check: bool = True
    ) -> bytes | None:
        """Apply an update; return what changed, or None when nothing did.

        ``check``: the update comes from a client, so every item is checked against the
        document first (another process's updates and stored ones were checked where
        they came in). An update that builds on edits the document lacks waits, counted
        against ``source``, and goes in when they arrive, with anything else that waited
        on it. Raises :class:`InvalidUpdate` (the document is then unchanged), or
        :class:`TooManyWaiting` when the update would wait and ``source`` (or the
        document) already has the most waiting updates it may.

        What changed may include updates that waited, from other sources:
        :meth:`integrate` tells them apart.
        """
        return merged(self.integrate(update, source, check=check))

    def integrate(
        self, update: bytes, source: object | None = None, *, check: bool = True
    ) -> list[Integrated]:
        """Like :meth:`apply`, but return each update that went in (this one, and those
        that waited for it) with its source, in the order they went in."""
        if update == EMPTY_UPDATE:
            return []
        decoded = self._decode(update)
        self._integrated = []
        self._silent = False
        waiting = Waiting(update, decoded, source, check)
        if self._offer(waiting, counted=True):
            self._release()
        integrated, self._integrated = self._integrated, []
        return integrated

    def _decode(self, update: bytes) -> Update:
        # The session asks new_struct_clients() about the update it then applies.
        last = self._last_decoded
        if last is not None and last[0] is update:
            return last[1]
        _check_declared_count(update, min_bytes_each=3, what="update")
        try:
            decoded = decode_update(update)
        except ProtocolError as exc:
            raise InvalidUpdate(f"invalid update: {exc}") from exc
        self._last_decoded = (update, decoded)
        return decoded

    def _offer(self, waiting: Waiting, *, counted: bool) -> bool:
        """Integrate ``waiting`` now if it can go in (True), else keep it aside."""
        try:
            placement = plan(waiting.update, self._index)
        except InvalidStructs as exc:
            raise InvalidUpdate(str(exc)) from exc
        missing = placement.waits_for or deletes_wait_for(waiting.update, self._index, placement)
        if missing:
            try:
                self._pending.add(waiting, missing[0], counted=counted)
            except PendingLimitReached as exc:
                raise TooManyWaiting(str(exc)) from exc
            return False
        if waiting.check:
            waiting, placement = self._uncross(waiting, placement)
        self._emitted.clear()
        try:
            self._integrate(waiting.data)
        except InvalidUpdate:
            self._drop_visible()
            raise
        self._keep_visible(waiting, placement)
        if self._emitted:
            changed = merged_bytes(self._emitted)
            added = sum(
                placed.struct.length
                for placed in placement.placed
                if placed.struct.content is Content.STRING
            )
            # An update repeats every deletion its sender knows of; what the core emits
            # holds only the new ones. Most updates (typing) delete nothing.
            removed = (
                sum(length for _, _, length in decode_update(changed).deletes)
                if waiting.update.deletes
                else 0
            )
            self._integrated.append(
                Integrated(changed, waiting.source, waiting.check, added, removed)
            )
        index = self._index
        for placed in placement.placed:
            struct = placed.struct
            index.add(struct, placed.key)
            if struct.length and struct.right is not None and placed.key is not GONE:
                self._tails[struct.client] = (struct.last, struct.right)
        for client, clock, length in waiting.update.deletes:
            index.note_deleted(client, clock, length)
        return True

    def _release(self) -> None:
        """Integrate the waiting updates whose dependencies arrived, until none can go."""
        progress = True
        while progress and len(self._pending):
            progress = False
            for client in self._pending.clients():
                for waiting in self._pending.take(client, self._index.next_clock(client)):
                    try:
                        progress |= self._offer(waiting, counted=False)
                    except InvalidUpdate as exc:
                        self.dropped += 1
                        log.warning("dropped a waiting update that failed its check: %s", exc)

    def _keep_visible(self, waiting: Waiting, placement: Plan) -> None:
        """Bring the visible copy in step with an update that went in."""
        visible = self._visible
        if visible is None:
            return
        if self._visible_has is waiting.data:
            self._visible_has = None  # the check put it there already
            return
        collected = frozenset(
            (p.struct.client, p.struct.clock) for p in placement.placed if p.key is GONE
        )
        try:
            visible.apply_update(visible_copy(waiting.data, waiting.update, collected))
        except Exception as exc:
            log.warning("rebuilding the visible copy of a document: %s", exc)
            self._drop_visible()

    def _drop_visible(self) -> None:
        self._visible = None
        self._visible_has = None

    def _integrate(self, update: bytes) -> None:
        try:
            self._doc.apply_update(update)
        except Exception as exc:
            raise InvalidUpdate(str(exc)) from exc
        except BaseException as exc:
            # pyo3 turns a Rust panic into PanicException, a BaseException subclass.
            if type(exc).__name__ == "PanicException":
                raise InvalidUpdate(f"update rejected by the CRDT core: {exc}") from exc
            raise
        if self._silent:
            self._emitted.append(update)
            self._silent = False
            self._whole = None

    def _uncross(self, waiting: Waiting, placement: Plan) -> tuple[Waiting, Plan]:
        """``waiting`` with the right origin of each crossed item left out.

        A crossed item's left origin does not lie left of its right origin. Where such
        an item lands depends on how the items around it happen to be split, so a
        replica that gets it as an update and one that loads the encoded document put it
        in different places (Yjs itself does: docs/yjs-crossed-redo.md). Honest clients
        make them: Yjs' undo manager, bringing back a deleted paragraph whose text had
        been brought back once before, can give a restored character a right origin
        left of its left one. Refusing the item would refuse every later edit of that
        client. Without its right origin it is an ordinary insertion right after its
        left origin, which is where the client that made it put it, and every replica
        places it alike.
        """
        while crossed := self._crossed(waiting, placement.placed):
            self.uncrossed += len(crossed)
            log.info(
                "took %d item(s) whose left origin does not lie left of the right one "
                "(first %s:%s) without their right origin",
                len(crossed),
                *min(crossed),
            )
            data = without_right_origins(waiting.data, waiting.update, crossed)
            update = decode_update(data)
            waiting = Waiting(data, update, waiting.source, waiting.check)
            # One dependency fewer: still ready.
            placement = plan(update, self._index)
        return waiting, placement

    def _crossed(self, waiting: Waiting, placed: list[Placed]) -> set[ID]:
        """The items of the update whose left origin does not lie left of the right one.

        The positions of the two origins are compared in the document (pycrdt's
        StickyIndex); when neither takes room (deleted, or a formatting mark) or either
        is in the update itself, they are compared in a copy of the document where
        every item takes room.
        """
        crossed: set[ID] = set()
        pairs: list[tuple[ID, ID, ID, bool]] = []
        tails = self._tails
        index = self._index
        for p in placed:
            if not p.check_order:
                continue
            struct = p.struct
            origin, right = struct.origin, struct.right
            assert origin is not None and right is not None
            if p.crossed:
                crossed.add((struct.client, struct.clock))
                continue
            if p.origins_known and (index.is_collected(origin) or index.is_collected(right)):
                # In a deleted type: the item goes in collected, wherever it points.
                continue
            # Typing on: the left origin ends the client's last item, and the right
            # origin is that item's, which lies right of it.
            if tails.get(origin[0]) != (origin[1] + 1, right):
                pairs.append(((struct.client, struct.clock), origin, right, p.origins_known))
        unsure: list[tuple[ID, ID, ID]] = []
        if pairs:
            with self._doc.transaction() as txn:
                for item, origin, right, known in pairs:
                    order = _order(txn, origin, right) if known else None
                    if order is None:
                        unsure.append((item, origin, right))
                    elif not order:
                        crossed.add(item)
        if unsure:
            first = self._first_crossed_in_copy(waiting, placed, unsure)
            if first is not None:
                crossed.add(first)
        return crossed

    def _first_crossed_in_copy(
        self, waiting: Waiting, placed: list[Placed], unsure: list[tuple[ID, ID, ID]]
    ) -> ID | None:
        """Compare origins in a copy of the document where every item takes room.

        Only the first crossed item counts: the copy holds it as it is, and where it
        landed there says nothing about the items after it that build on it.
        """
        copy = self._visible
        if copy is None:
            whole = self.encode_state()
            self.checked_bytes += len(whole)
            copy = Doc()
            copy.apply_update(visible_copy(whole, types_in=self._index.types_in))
            self._visible = copy
        self.checked_bytes += len(waiting.data)
        collected = frozenset((p.struct.client, p.struct.clock) for p in placed if p.key is GONE)
        copy.apply_update(visible_copy(waiting.data, waiting.update, collected))
        self._visible_has = waiting.data
        with copy.transaction() as txn:
            index = self._index
            for item, origin, right in unsure:
                if any(index.has(id_) and index.is_collected(id_) for id_ in (origin, right)):
                    continue  # in a deleted type: the item goes in collected
                try:
                    after_left = _index(txn, origin, _BEFORE)
                    before_right = _index(txn, right, _AFTER)
                except _Gone:
                    continue
                if after_left > before_right:
                    # The copy holds the item as it came: it goes in otherwise.
                    self._drop_visible()
                    return item
        return None

    def adds_structs(self, update: bytes) -> bool:
        """Whether ``update`` holds structs this document does not have yet.

        Deletions of known content are not counted. Bytes that do not decode count as
        adding nothing.
        """
        try:
            return bool(self.new_struct_clients(update))
        except InvalidUpdate:
            return False

    def new_struct_clients(self, update: bytes) -> list[int]:
        """The client ids under which ``update`` adds structs this document lacks.

        Raises :class:`InvalidUpdate` for bytes that are not an update.
        """
        if update == EMPTY_UPDATE:
            return []
        decoded = self._decode(update)
        index = self._index
        return sorted(
            block.client
            for block in decoded.blocks
            if any(
                struct.content is not Content.SKIP and struct.last > index.next_clock(block.client)
                for struct in block.structs
            )
        )

    def state_vector(self) -> bytes:
        return self._doc.get_state()

    def diff(self, state_vector: bytes) -> bytes:
        """The update a peer with ``state_vector`` is missing."""
        if state_vector == EMPTY_STATE_VECTOR:
            return self.encode_state()
        _check_declared_count(state_vector, min_bytes_each=2, what="state vector")
        try:
            return self._doc.get_update(state_vector)
        except Exception as exc:
            raise InvalidUpdate(f"invalid state vector: {exc}") from exc

    def encode_state(self) -> bytes:
        """The whole document as one update."""
        if self._whole is None:
            self._whole = self._doc.get_update()
        return self._whole


class _Gone(Exception):
    """An id pycrdt cannot place: its item was collected (or its parent was)."""


def _index(txn: Transaction, item: ID, assoc: bytes) -> int:
    """The index just after (_BEFORE) or just before (_AFTER) item ``item`` in its
    parent, counting only content that takes room."""
    encoded = b"\x00" + write_var_uint(item[0]) + write_var_uint(item[1]) + assoc
    try:
        return StickyIndex.decode(encoded).get_index(txn)
    except BaseException as exc:
        # pycrdt unwraps yrs' None (an id it cannot place) into a Rust panic.
        if type(exc).__name__ == "PanicException":
            raise _Gone from exc
        raise


def _order(txn: Transaction, origin: ID, right: ID) -> bool | None:
    """Whether ``origin`` lies left of ``right`` (True), right of it (False), or None
    when the document cannot tell: neither takes room and none does between them."""
    try:
        through_left = _index(txn, origin, _BEFORE)
        through_right = _index(txn, right, _BEFORE)
        if through_left != through_right:
            # Counting what takes room up to each: the right origin's count is larger
            # exactly when it lies right (whether or not either takes room itself).
            return through_left < through_right
        if _index(txn, right, _AFTER) < through_right:
            # The right origin takes room, yet counts no more than the left one.
            return False
        if _index(txn, origin, _AFTER) < through_left:
            # The left origin takes room and the right one, counting as much, does not.
            return True
    except _Gone:
        pass
    return None


def _check_declared_count(data: bytes, min_bytes_each: int, what: str) -> None:
    """Refuse bytes whose leading entry count cannot fit in them.

    The CRDT core sizes its tables from that count before it reads the entries, so a
    16-byte frame declaring millions of clients would cost hundreds of megabytes.
    Every entry (client id, clock, ...) takes at least ``min_bytes_each`` bytes.
    """
    reader = Reader(data)
    try:
        count = reader.var_uint()
    except ProtocolError as exc:
        raise InvalidUpdate(f"invalid {what}: truncated") from exc
    if count * min_bytes_each > len(data):
        raise InvalidUpdate(f"invalid {what}: declares {count} entries in {len(data)} bytes")


def decode_state_vector(state_vector: bytes) -> dict[int, int]:
    """A state vector as {client id: next clock}; raises ProtocolError if malformed."""
    reader = Reader(state_vector)
    entries = reader.var_uint()
    clocks: dict[int, int] = {}
    for _ in range(entries):
        client = reader.var_uint()
        clocks[client] = reader.var_uint()
    if not reader.exhausted:
        raise ProtocolError("trailing bytes after state vector")
    return clocks


def update_clients(update: bytes) -> list[int] | None:
    """The client ids an update holds structs of, when its first bytes tell: none, or
    the one client of an update with one client's structs (what a typing client sends).
    None for several clients (naming the others means decoding the structs) or bytes
    that do not start like an update."""
    reader = Reader(update)
    try:
        count = reader.var_uint()
        if count == 0:
            return []
        if count == 1:
            reader.var_uint()  # how many structs
            return [reader.var_uint()]
    except ProtocolError:
        return None
    return None


def causal_order(
    updates: list[bytes], clocks: dict[int, int]
) -> tuple[list[int], list[tuple[int, ID]]]:
    """An order in which ``updates`` can be applied to a document with state vector
    ``clocks`` with nothing left waiting: the positions of the updates in it, and
    those of the updates that still wait at the end, with the id each waits for.

    A stored log holds updates as processes stored them, not always after what they
    build on (a process stores its clients' edits while another's are still in its
    write-behind buffer), and yrs 0.28 can lose one of several waiting updates. Bytes
    that do not decode are left in place for pycrdt to refuse.
    """
    index = ItemIndex()
    index.seed(clocks)
    pending = PendingUpdates(
        PendingLimits(updates=2**62, bytes=2**62, updates_per_source=2**62, bytes_per_source=2**62)
    )
    order: list[int] = []

    def offer(position: int, update: Update) -> bool:
        placement = plan(update, index, resolve=False)
        missing = placement.waits_for or deletes_wait_for(update, index, placement)
        if missing:
            pending.add(Waiting(b"", update, position, False), missing[0], counted=False)
            return False
        order.append(position)
        for placed in placement.placed:
            index.add(placed.struct, GONE)
        return True

    for position, data in enumerate(updates):
        try:
            update = decode_update(data)
        except ProtocolError:
            order.append(position)
            continue
        if not offer(position, update):
            continue
        progress = True
        while progress and len(pending):
            progress = False
            for client in pending.clients():
                for waiting in pending.take(client, index.next_clock(client)):
                    assert isinstance(waiting.source, int)
                    progress |= offer(waiting.source, waiting.update)
    left = [
        (waiting.source, (client, clock))
        for client, entries in pending.entries().items()
        for clock, waiting in entries
        if isinstance(waiting.source, int)
    ]
    return order, sorted(left)


def fold(snapshot: bytes | None, updates: list[bytes]) -> tuple[bytes, list[int]]:
    """Fold a snapshot and a log of updates into one update, in causal order.

    Returns the update and the positions of the log updates that could not go in
    (they wait for edits the log does not hold): a compaction keeps those as they are,
    since an encoded document leaves out what waits. Applies everything to a fresh
    document and re-encodes it: linear in the input, unlike pycrdt's ``merge_updates``,
    which is quadratic in the number of updates.
    """
    doc: Doc[Any] = Doc()
    if snapshot:
        doc.apply_update(snapshot)
    in_order, waiting = causal_order(updates, decode_state_vector(doc.get_state()))
    for position in in_order:
        if updates[position]:
            doc.apply_update(updates[position])
    return doc.get_update(), [position for position, _ in waiting]


def compact(snapshot: bytes | None, updates: Iterable[bytes]) -> bytes:
    """Fold a snapshot and a log of updates into one update (see :func:`fold`); the
    updates that wait are left out."""
    folded, _ = fold(snapshot, list(updates))
    return folded
