"""The Yjs update format (v1), decoded to its structs and delete set.

pycrdt integrates updates but does not show what is in one. The server needs to: to
check every item against the document before it is integrated (its origins, its parent),
and to hold an update whose dependencies have not arrived yet. :func:`decode_update`
reads the whole update, refusing anything an encoder of the format does not write, and
keeps each struct's byte span so that an update can be rewritten (:func:`visible_copy`).

An update is ``structs delete-set``. The structs are grouped in client blocks::

    varuint clients; per client: varuint structs, varuint client, varuint clock, structs

A struct starts with an info byte whose low five bits say what it is: 0 a garbage
collected range (GC), 10 a skipped range (Skip), anything else an item with that content
type. An item's info bits 0x80 and 0x40 say that a left and a right origin follow; an
item without origins names its parent (a root type by name, or a nested type by the id
of the item that holds it) and, with bit 0x20, a map key. The delete set is::

    varuint clients; per client: varuint client, varuint ranges, (varuint clock, varuint length)*
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Collection
from dataclasses import dataclass
from enum import IntEnum

from pycrdt import write_var_uint

from crdt.protocol import ProtocolError, Reader

# Yjs clocks are JavaScript integers.
MAX_CLOCK = 2**53
# Nesting depth of a JSON-like value (ContentAny, a subdocument's options) read at most.
MAX_ANY_DEPTH = 64

ID = tuple[int, int]


class Content(IntEnum):
    """The low five bits of a struct's info byte."""

    GC = 0
    DELETED = 1
    JSON = 2
    BINARY = 3
    STRING = 4
    EMBED = 5
    FORMAT = 6
    TYPE = 7
    ANY = 8
    DOC = 9
    SKIP = 10


# Shared type kinds a Type item may hold (Yjs' typeRefs; yrs' weak links are refused).
_TYPE_REFS = range(0, 7)
_XML_ELEMENT = 3
_XML_HOOK = 5
_XML_TEXT = 6

_ORIGIN = 0x80
_RIGHT_ORIGIN = 0x40
_PARENT_SUB = 0x20
_CONTENT_BITS = 0x1F


@dataclass(slots=True)
class Struct:
    """One struct of an update: ``length`` clocks of ``client`` from ``clock``.

    ``parent`` is the root's name or the id of the item holding the parent type, and is
    None when the item has an origin (its parent is its origin's, or else its right
    origin's). ``start``/``end`` are the struct's byte span in the update, and
    ``content_at`` where its content starts.
    """

    client: int
    clock: int
    length: int
    content: Content
    origin: ID | None = None
    right: ID | None = None
    parent: str | ID | None = None
    parent_sub: str | None = None
    start: int = 0
    end: int = 0
    content_at: int = 0

    @property
    def is_item(self) -> bool:
        return self.content not in (Content.GC, Content.SKIP)

    @property
    def last(self) -> int:
        """The clock just past this struct."""
        return self.clock + self.length


@dataclass(slots=True)
class Block:
    """The structs of one client, in clock order."""

    client: int
    structs: list[Struct]


@dataclass(slots=True)
class Update:
    blocks: list[Block]
    # (client, clock, length) ranges deleted.
    deletes: list[tuple[int, int, int]]
    # Byte offset at which the delete set starts.
    structs_end: int

    @property
    def structs(self) -> list[Struct]:
        return [struct for block in self.blocks for struct in block.structs]

    def clients(self) -> list[int]:
        return [block.client for block in self.blocks]


class _Reader(Reader):
    """A :class:`Reader` that also reads lib0's signed varints and JSON-like values."""

    __slots__ = ()

    @property
    def pos(self) -> int:
        return self._pos

    def var_uint(self) -> int:
        # Most varuints of an update fit in one byte.
        data, pos = self._data, self._pos
        if pos < len(data) and data[pos] < 0x80:
            self._pos = pos + 1
            return data[pos]
        return super().var_uint()

    def byte(self) -> int:
        if self._pos >= len(self._data):
            raise ProtocolError("truncated update")
        value = self._data[self._pos]
        self._pos += 1
        return value

    def skip(self, count: int) -> None:
        if self._pos + count > len(self._data):
            raise ProtocolError("truncated update")
        self._pos += count

    def var_int(self) -> None:
        """Skip a lib0 signed varint (sign in bit 0x40 of its first byte)."""
        byte = self.byte()
        for _ in range(8):
            if byte < 0x80:
                return
            byte = self.byte()
        raise ProtocolError("varint longer than 53 bits")

    def any(self, depth: int = 0) -> None:
        """Skip one lib0 ``any`` value."""
        if depth > MAX_ANY_DEPTH:
            raise ProtocolError("value nested too deeply")
        tag = self.byte()
        if tag in (127, 126, 121, 120):  # undefined, null, false, true
            return
        if tag == 125:
            self.var_int()
        elif tag == 124:
            self.skip(4)
        elif tag in (123, 122):  # float64, bigint64
            self.skip(8)
        elif tag == 119:
            self.var_string()
        elif tag == 118:
            for _ in range(self._count(2)):
                self.var_string()
                self.any(depth + 1)
        elif tag == 117:
            for _ in range(self._count(1)):
                self.any(depth + 1)
        elif tag == 116:
            self.var_bytes()
        else:
            raise ProtocolError(f"unknown value type {tag}")

    def _count(self, min_bytes_each: int) -> int:
        """A count of entries that must fit in the bytes left."""
        count = self.var_uint()
        if count * min_bytes_each > len(self._data) - self._pos:
            raise ProtocolError(f"declares {count} entries in fewer bytes")
        return count

    def id(self) -> ID:
        client = self.var_uint()
        clock = self.var_uint()
        if clock >= MAX_CLOCK:
            raise ProtocolError("clock out of range")
        return client, clock


def utf16_length(text: str) -> int:
    if text.isascii():
        return len(text)
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


def decode_update(data: bytes) -> Update:
    """Decode a v1 update, or raise :class:`ProtocolError`.

    Refuses what no Yjs encoder writes: empty GC or skipped ranges, clocks past 2**53, a client in
    two blocks, unknown content or type kinds, truncated or trailing bytes.
    """
    reader = _Reader(data)
    blocks: list[Block] = []
    seen: set[int] = set()
    for _ in range(reader._count(3)):
        count = reader._count(1)
        client = reader.var_uint()
        clock = reader.var_uint()
        if client in seen:
            raise ProtocolError(f"client {client} has two blocks")
        seen.add(client)
        structs: list[Struct] = []
        for _ in range(count):
            struct = _read_struct(reader, client, clock)
            clock = struct.last
            if clock > MAX_CLOCK:
                raise ProtocolError("clock out of range")
            structs.append(struct)
        blocks.append(Block(client, structs))
    structs_end = reader.pos
    deletes: list[tuple[int, int, int]] = []
    for _ in range(reader._count(2)):
        client = reader.var_uint()
        for _ in range(reader._count(2)):
            clock = reader.var_uint()
            length = reader.var_uint()
            if clock + length > MAX_CLOCK:
                raise ProtocolError("deleted range out of range")
            if length:
                deletes.append((client, clock, length))
    if not reader.exhausted:
        raise ProtocolError("trailing bytes after the delete set")
    return Update(blocks, deletes, structs_end)


def _read_struct(reader: _Reader, client: int, clock: int) -> Struct:
    start = reader.pos
    info = reader.byte()
    kind = info & _CONTENT_BITS
    if kind in (Content.GC, Content.SKIP):
        length = reader.var_uint()
        if length == 0:
            raise ProtocolError("empty struct")
        end = reader.pos
        return Struct(client, clock, length, Content(kind), start=start, end=end, content_at=end)
    if kind > Content.DOC:
        raise ProtocolError(f"unknown content type {kind}")
    struct = Struct(client, clock, 0, Content(kind), start=start)
    if info & _ORIGIN:
        struct.origin = reader.id()
    if info & _RIGHT_ORIGIN:
        struct.right = reader.id()
    if not info & (_ORIGIN | _RIGHT_ORIGIN):
        if reader.var_uint() == 1:
            struct.parent = reader.var_string()
        else:
            struct.parent = reader.id()
        if info & _PARENT_SUB:
            struct.parent_sub = reader.var_string()
    struct.content_at = reader.pos
    # yrs writes an empty string for a split it left behind: length 0, no clock taken.
    struct.length = _read_content(reader, struct.content)
    struct.end = reader.pos
    return struct


def _read_content(reader: _Reader, kind: Content) -> int:
    """Read an item's content; return its length in clocks."""
    if kind is Content.DELETED:
        return reader.var_uint()
    if kind is Content.JSON:
        count = reader._count(1)
        for _ in range(count):
            reader.var_string()
        return count
    if kind is Content.BINARY:
        reader.var_bytes()
        return 1
    if kind is Content.STRING:
        return utf16_length(reader.var_string())
    if kind is Content.EMBED:
        reader.var_string()
        return 1
    if kind is Content.FORMAT:
        reader.var_string()
        reader.var_string()
        return 1
    if kind is Content.TYPE:
        type_ref = reader.var_uint()
        if type_ref not in _TYPE_REFS:
            raise ProtocolError(f"unknown shared type {type_ref}")
        if type_ref in (_XML_ELEMENT, _XML_HOOK):
            reader.var_string()
        return 1
    if kind is Content.ANY:
        count = reader._count(1)
        for _ in range(count):
            reader.any()
        return count
    # Content.DOC: a subdocument's guid and options.
    reader.var_string()
    reader.any()
    return 1


# Rewriting.


def _header(client: int, clock: int, count: int) -> bytes:
    return write_var_uint(count) + write_var_uint(client) + write_var_uint(clock)


def visible_copy(
    data: bytes,
    update: Update | None = None,
    collected: frozenset[ID] = frozenset(),
    types_in: Callable[[int, int, int], list[int]] | None = None,
) -> bytes:
    """``data`` with every item made visible, for comparing positions.

    Deleted content and formatting marks take no room in a type's length, so two
    positions among them cannot be told apart by an index. Here each becomes a string
    of the same clock length (its position unchanged: origins and parents are kept),
    and the delete set is left out, so every item of a sequence counts.

    A deleted item that held a shared type (``types_in(client, start, end)`` names
    their clocks) becomes an empty type, so items in it still have a parent; the
    structs whose ids are in ``collected`` (items in a type collected before the
    document was loaded, which is a string here) become collected ranges.
    """
    if update is None:
        update = decode_update(data)
    out = [write_var_uint(len(update.blocks))]
    for block in update.blocks:
        pieces: list[bytes] = []
        for struct in block.structs:
            if (struct.client, struct.clock) in collected:
                pieces.append(b"\x00" + write_var_uint(struct.length))
            elif struct.content is Content.DELETED:
                types = types_in(struct.client, struct.clock, struct.last) if types_in else []
                pieces += _visible_pieces(data, struct, types)
            elif struct.content is Content.FORMAT:
                pieces += _visible_pieces(data, struct, [])
            else:
                pieces.append(data[struct.start : struct.end])
        clock = block.structs[0].clock if block.structs else 0
        out.append(_header(block.client, clock, len(pieces)))
        out += pieces
    out.append(b"\x00")
    return b"".join(out)


def _visible_pieces(data: bytes, struct: Struct, types: list[int]) -> list[bytes]:
    """A deleted item (or a mark) as visible strings, and empty types at ``types``."""
    # Cut points: each type clock is a piece of its own.
    cuts = sorted({struct.clock, struct.last, *types, *(clock + 1 for clock in types)})
    pieces: list[bytes] = []
    for start, end in itertools.pairwise(cuts):
        if start == struct.clock:
            # The first piece keeps the struct's origins or parent.
            head = (
                bytes([data[struct.start] & ~_CONTENT_BITS])
                + data[struct.start + 1 : struct.content_at]
            )
        else:
            # A later piece follows the one before it, up to the same right origin.
            flags = _ORIGIN | (_RIGHT_ORIGIN if struct.right is not None else 0)
            head = bytes([flags]) + write_var_uint(struct.client) + write_var_uint(start - 1)
            if struct.right is not None:
                head += write_var_uint(struct.right[0]) + write_var_uint(struct.right[1])
        if start in types:
            pieces.append(bytes([head[0] | Content.TYPE]) + head[1:] + write_var_uint(_XML_TEXT))
        else:
            length = end - start
            content = write_var_uint(length) + b"-" * length
            pieces.append(bytes([head[0] | Content.STRING]) + head[1:] + content)
    return pieces


def with_strings(data: bytes, fill: Callable[[int], str], update: Update | None = None) -> bytes:
    """``data`` with the text of every string item replaced by ``fill(client)`` (one
    UTF-16 unit) repeated over the item's clock length.

    Everything else is kept, the delete set too, so a document loaded from it has the
    same structure and text lengths as one loaded from ``data``, and each character of
    its text tells the client that wrote the character in the same place.
    """
    if update is None:
        update = decode_update(data)
    out = [write_var_uint(len(update.blocks))]
    for block in update.blocks:
        clock = block.structs[0].clock if block.structs else 0
        out.append(_header(block.client, clock, len(block.structs)))
        for struct in block.structs:
            if struct.content is Content.STRING:
                text = (fill(struct.client) * struct.length).encode()
                out += [data[struct.start : struct.content_at], write_var_uint(len(text)), text]
            else:
                out.append(data[struct.start : struct.end])
    out.append(data[update.structs_end :])
    return b"".join(out)


def without_right_origins(data: bytes, update: Update, items: Collection[ID]) -> bytes:
    """``data`` with the right origin of the items starting at ``items`` left out.

    Each such item keeps its left origin (which also names its parent), so it becomes
    an insertion right after that origin. Every other byte is kept.
    """
    out = [write_var_uint(len(update.blocks))]
    for block in update.blocks:
        clock = block.structs[0].clock if block.structs else 0
        out.append(_header(block.client, clock, len(block.structs)))
        for struct in block.structs:
            if (struct.client, struct.clock) not in items or struct.right is None:
                out.append(data[struct.start : struct.end])
                continue
            if struct.origin is None:
                raise ValueError("an item without a left origin must keep its right origin")
            out += [
                bytes([data[struct.start] & ~_RIGHT_ORIGIN]),
                write_var_uint(struct.origin[0]),
                write_var_uint(struct.origin[1]),
                data[struct.content_at : struct.end],
            ]
    out.append(data[update.structs_end :])
    return b"".join(out)
