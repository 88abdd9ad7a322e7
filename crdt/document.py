"""A server-side Yjs document: apply client updates, answer sync steps, compact logs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pycrdt import Doc, Subscription, TransactionEvent, get_update, write_var_uint

from crdt.protocol import ProtocolError, Reader

# The v1 encoding of an update that changes nothing: no structs, an empty delete set.
EMPTY_UPDATE = b"\x00\x00"
EMPTY_STATE_VECTOR = b"\x00"
# A clock past any a client reaches (Yjs clocks are JavaScript integers).
MAX_CLOCK = 2**53
# Bytes of update new_struct_clients reads at most: an update names one client per
# read of it, so a large one may name only a few.
NEW_CLIENTS_BUDGET = 64 * 1024 * 1024


class InvalidUpdate(ValueError):
    """Bytes that pycrdt refuses as an update or a state vector."""


class SyncDocument:
    """One pycrdt document as the server holds it.

    :meth:`apply` returns the update the document actually integrated (already-known
    structs and structs still waiting for missing dependencies are left out), which
    is what the caller must broadcast and store: duplicates then cost nothing.
    """

    __slots__ = ("_clocks", "_doc", "_emitted", "_silent", "_subscription", "_whole")

    def __init__(self, snapshot: bytes | None = None, updates: Iterable[bytes] = ()) -> None:
        self._doc: Doc[Any] = Doc()
        for stored in (snapshot, *updates):
            if stored:
                self._doc.apply_update(stored)
        self._emitted: list[bytes] = []
        # Set by a transaction that changed the document but reported no update.
        self._silent = False
        # The whole document as one update, kept until the next change: every client
        # joining with nothing (a new tab, a reconnect after a restart) needs exactly it.
        self._whole: bytes | None = None
        # The state vector decoded, kept until the next change.
        self._clocks: dict[int, int] | None = None
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
            self._clocks = None
            return
        # pycrdt (yrs 0.28) integrates a struct that starts past a gap in its client's
        # clocks without reporting it when its origins are known. The state vector
        # still moves (a bytes comparison, cheap): apply() then emits what changed.
        # (Not in pycrdt's annotations, but every TransactionEvent has both states.)
        if event.before_state != event.after_state:  # type: ignore[attr-defined]
            self._silent = True
            self._clocks = None

    @property
    def ydoc(self) -> Doc[Any]:
        """The underlying pycrdt document, for reading content (exports, anchors)."""
        return self._doc

    def apply(self, update: bytes) -> bytes | None:
        """Apply a client's update; return what changed, or None when nothing did.

        Raises :class:`InvalidUpdate` if pycrdt cannot decode the bytes; the document
        is then unchanged.
        """
        if update == EMPTY_UPDATE:
            return None
        _check_declared_count(update, min_bytes_each=3, what="update")
        self._emitted.clear()
        self._silent = False
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
            # The update as it came is relayed and stored like any change (a diff from
            # the earlier state would leave out a struct past a gap): every replica gets
            # it, and a Yjs client keeps it pending until the gap closes.
            self._emitted.append(update)
            self._silent = False
            self._whole = None
        if not self._emitted:
            return None
        if len(self._emitted) == 1:
            return self._emitted[0]
        return _fold(self._emitted)

    def adds_structs(self, update: bytes) -> bool:
        """Whether ``update`` holds insertions this document does not have yet.

        Cheap (no apply); deletions of known content are not detected. Bytes that do
        not decode count as adding nothing.
        """
        try:
            _check_declared_count(update, min_bytes_each=3, what="update")
            # What the update holds beyond this document's state vector: its first
            # varuint counts the clients with new structs.
            new = get_update(update, self._doc.get_state())
            return Reader(new).var_uint() > 0
        except (ValueError, ProtocolError):
            return False
        except BaseException as exc:
            if type(exc).__name__ == "PanicException":
                return False
            raise

    def new_struct_clients(self, update: bytes) -> list[int]:
        """The client ids under which ``update`` adds structs this document lacks.

        No apply: what the update holds beyond the state vector is asked of pycrdt
        client by client (each answer names the next client; a found one is then
        excluded), at most ``NEW_CLIENTS_BUDGET`` bytes of update read in all. Raises
        :class:`InvalidUpdate` for bytes pycrdt cannot decode, or an update naming
        too many clients for its size.
        """
        if update == EMPTY_UPDATE:
            return []
        _check_declared_count(update, min_bytes_each=3, what="update")
        if self._clocks is None:
            self._clocks = decode_state_vector(self._doc.get_state())
        clocks = dict(self._clocks)
        found: list[int] = []
        budget = NEW_CLIENTS_BUDGET
        while True:
            budget -= len(update)
            if budget < 0:
                raise InvalidUpdate("update names too many clients for its size")
            try:
                rest = Reader(get_update(update, encode_state_vector(clocks)))
                if rest.var_uint() == 0:
                    return sorted(found)
                rest.var_uint()  # how many structs
                client = rest.var_uint()
            except (ValueError, ProtocolError) as exc:
                raise InvalidUpdate(f"invalid update: {exc}") from exc
            except BaseException as exc:
                if type(exc).__name__ == "PanicException":
                    raise InvalidUpdate(f"update rejected by the CRDT core: {exc}") from exc
                raise
            if client in found:  # pycrdt did not leave it out: never loop
                raise InvalidUpdate("invalid update: inconsistent client blocks")
            found.append(client)
            clocks[client] = MAX_CLOCK

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


def encode_state_vector(clocks: dict[int, int]) -> bytes:
    """The inverse of :func:`decode_state_vector`."""
    out = [write_var_uint(len(clocks))]
    for client, clock in clocks.items():
        out += [write_var_uint(client), write_var_uint(clock)]
    return b"".join(out)


def _fold(updates: Iterable[bytes]) -> bytes:
    doc: Doc[Any] = Doc()
    for update in updates:
        doc.apply_update(update)
    return doc.get_update()


def compact(snapshot: bytes | None, updates: Iterable[bytes]) -> bytes:
    """Fold a snapshot and a log of updates into one update.

    Applies everything to a fresh document and re-encodes it: linear in the input,
    unlike pycrdt's ``merge_updates``, which is quadratic in the number of updates.
    """
    return _fold(u for u in (snapshot, *updates) if u)
