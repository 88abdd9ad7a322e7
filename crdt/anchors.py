"""Comment anchors: Yjs relative positions, checked strictly before pycrdt sees them.

A relative position (``Y.encodeRelativePosition``; pycrdt's ``StickyIndex``) is one of

* ``0`` and an item id (client, clock): the position next to that item;
* ``1`` and a root type name: the end of that root type;
* ``2`` and a type id (client, clock): the end of that nested type;

followed by an optional signed varint ``assoc`` (``>= 0`` sticks to the item after the
position, ``< 0`` to the one before).

pycrdt's decoder panics on malformed bytes and on ids the document does not hold, so
:func:`decode_relative_position` parses them here first, and :func:`check_in_document`
refuses positions that do not point into the document.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from pycrdt import Doc, StickyIndex, write_var_uint

from crdt.document import decode_state_vector
from crdt.protocol import ProtocolError, Reader

# Anchors are a handful of varuints; anything much longer is not an anchor.
MAX_ANCHOR_BYTES = 64
# The root type that holds document content (TipTap's Collaboration extension).
CONTENT_ROOT = "default"


class PositionKind(IntEnum):
    ITEM = 0
    ROOT = 1
    TYPE = 2


@dataclass(frozen=True, slots=True)
class RelativePosition:
    kind: PositionKind
    client: int = 0
    clock: int = 0
    root: str = ""
    assoc: int = 0


def _var_int(reader: Reader) -> int:
    """A lib0 signed varint: the first byte holds a sign bit and six value bits."""
    first = reader.var_uint()  # reads the continuation chain; re-split below
    # Re-encode the chain's layout: lib0 stores 6 value bits in the first byte
    # (bit 6 is the sign), then 7 per byte, which var_uint read as 7 per byte.
    low = first & 0x7F
    negative = bool(low & 0x40)
    value = (low & 0x3F) | ((first >> 7) << 6)
    return -value if negative else value


def decode_relative_position(data: bytes) -> RelativePosition:
    """Parse an encoded relative position, or raise :class:`ProtocolError`."""
    if not data or len(data) > MAX_ANCHOR_BYTES:
        raise ProtocolError(f"an anchor is 1 to {MAX_ANCHOR_BYTES} bytes")
    reader = Reader(data)
    kind_value = reader.var_uint()
    try:
        kind = PositionKind(kind_value)
    except ValueError as exc:
        raise ProtocolError(f"unknown anchor kind {kind_value}") from exc
    if kind is PositionKind.ROOT:
        position = RelativePosition(kind, root=reader.var_string())
    else:
        position = RelativePosition(kind, client=reader.var_uint(), clock=reader.var_uint())
    if not reader.exhausted:
        assoc = _var_int(reader)
        position = RelativePosition(
            position.kind, position.client, position.clock, position.root, assoc
        )
    if not reader.exhausted:
        raise ProtocolError("trailing bytes after anchor")
    return position


def canonical(position: RelativePosition) -> bytes:
    """The position encoded as Yjs writes it, with ``assoc`` 0 (after) or -1 (before).

    Yjs reads any ``assoc`` by its sign; pycrdt reads only one signed byte and panics
    on a missing one, so anchors are stored in this form.
    """
    if position.kind is PositionKind.ROOT:
        name = position.root.encode()
        body = write_var_uint(len(name)) + name
    else:
        body = write_var_uint(position.client) + write_var_uint(position.clock)
    return bytes([position.kind]) + body + (b"\x41" if position.assoc < 0 else b"\x00")


def check_in_document(
    position: RelativePosition,
    state_vector: bytes,
    root_of: Callable[[tuple[int, int]], str | None] | None = None,
) -> None:
    """Raise :class:`ProtocolError` unless ``position`` points into this document.

    A root position must name the content root. An item or type position must be one
    the document holds and, given ``root_of`` (the root an item lies in:
    ``SyncDocument.root_of``), one inside the content root.
    """
    if position.kind is PositionKind.ROOT:
        if position.root != CONTENT_ROOT:
            raise ProtocolError(f"anchor names root {position.root!r}, not {CONTENT_ROOT!r}")
        return
    known = decode_state_vector(state_vector)
    if position.clock >= known.get(position.client, 0):
        raise ProtocolError("anchor points at content this document does not hold")
    if root_of is not None and root_of((position.client, position.clock)) != CONTENT_ROOT:
        raise ProtocolError(f"anchor points at content outside {CONTENT_ROOT!r}")


def anchor_index(ydoc: Doc[Any], data: bytes) -> int | None:
    """The current offset of a checked, canonical anchor inside the type that holds it.

    The offset is counted as yrs counts by default, in UTF-8 bytes; Yjs counts UTF-16
    code units, so the two agree only on ASCII text. None when yrs cannot resolve the
    position (the item was garbage-collected after deletion).
    """
    try:
        sticky = StickyIndex.decode(data)
        with ydoc.transaction() as txn:
            return sticky.get_index(txn)
    except BaseException as exc:
        # yrs reports an unresolvable position with a Rust panic, which pyo3 raises
        # as PanicException, a BaseException.
        if type(exc).__name__ != "PanicException":
            raise
        return None
