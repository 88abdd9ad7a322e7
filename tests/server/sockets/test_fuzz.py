"""Fuzzing a LIVE server with random and mutated y-websocket frames.

The decoder's own property tests live in ``tests/crdt/test_protocol.py``; here the
frames go over a real socket to a server running in-process on a SQLite file, so that
the whole path is exercised: framing, the session, pycrdt, awareness, the broadcast and
the write-behind storage.

What is fuzzed (hypothesis strategies below):

* arbitrary bytes, and each message type (sync step 1, step 2, update, awareness,
  auth, query awareness) with random payloads;
* valid frames built from real pycrdt edits (texts, maps, arrays, nested types, rich
  text formatting), real state vectors and awareness updates with JSON states;
* mutations of those valid frames, either of the whole frame or of the payload then
  re-framed: bit flips, byte replacement, truncation, insertion, deletion,
  duplication/concatenation, varuints replaced, length prefixes changed or encoded
  overlong;
* updates delivered out of order (they depend on updates sent later or never), deletes
  of ids the server never saw, awareness updates with random JSON, invalid UTF-8, huge
  clocks, oversized or deeply nested states;
* text frames and frames over the size limit;
* sequences of several frames on one connection, as a member (edits accepted) or an
  observer (edits dropped).

After each sequence the connection must either have been closed by the server with a
code from :data:`ALLOWED_CLOSE_CODES` and a reason (a text, oversized or undecodable
frame always closes it), or still be open and answer a probe (sync step 1 with an empty
state vector, answered by a sync step 2).

One server and room serve a whole run, with two documents. The "guide" has a watcher
and a writer connected throughout, and gets every frame except updates that wait on
the server or that only some of a sequence's frames make dishonest (see
:func:`needs_scratch`); those go to the "scratch" document. At the end nothing
was logged at ERROR; fuzz connections left no holder, peer or awareness state behind; a
fresh client syncs; every stored update applies; the guide's stored document equals the
live one, the watcher's and a fresh client's; on the scratch document everything the
server counts is stored; and the writer's edit still reaches the watcher.

Bounded soak: ``ROUNDTABLE_FUZZ_FRAMES=N pytest tests/server/sockets/test_fuzz.py -s`` (or
``make fuzz FRAMES=N``) sends at least N frames. Every run prints a report line.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import math
import os
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from pycrdt import Array, Doc, Map, Text, get_update, write_var_uint
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from crdt.document import EMPTY_STATE_VECTOR, SyncDocument, decode_state_vector
from crdt.protocol import (
    Message,
    ProtocolError,
    Reader,
    SyncStep1,
    SyncStep2,
    SyncUpdate,
    decode_message,
    encode_sync_step1,
    encode_sync_step2,
    encode_update,
)
from rooms.directory import CreatedRoom
from rooms.live.document import LiveDocument
from rooms.live.peer import CloseCode
from rooms.roles import INVITE_ROLES, Role
from tests.support.harness import RunningServer, run_server
from tests.support.settings import fast_settings
from tests.support.timing import eventually, timeout
from tests.support.yclient import YClient, open_synced

MAX_MESSAGE = 16 * 1024
MAX_AWARENESS = 2 * 1024
# Where the fuzz goes: "guide" has the bystanders and the strict checks; "scratch" takes
# the updates replicas may integrate differently (see needs_scratch).
GUIDE = "guide"
SCRATCH = "scratch"

# How the server may close a connection that sent bad input, and why.
ALLOWED_CLOSE_CODES: dict[int, str] = {
    CloseCode.PROTOCOL_ERROR: "malformed frame or awareness update",
    CloseCode.UNSUPPORTED_DATA: "text frame",
    CloseCode.INVALID_PAYLOAD: "update or state vector malformed or dishonest",
    CloseCode.MESSAGE_TOO_BIG: "frame or awareness state over its limit",
    CloseCode.POLICY_VIOLATION: (
        "more Yjs client ids than one connection may claim, or too many updates waiting"
    ),
    CloseCode.FORBIDDEN: "document structs under another participant's client id",
}

# Frames for the whole live run: ROUNDTABLE_FUZZ_FRAMES for a soak, else a CI-sized run.
DEFAULT_FRAMES = 2000
SOAK_FRAMES = int(os.environ.get("ROUNDTABLE_FUZZ_FRAMES", "0") or 0)
TARGET_FRAMES = SOAK_FRAMES or DEFAULT_FRAMES
# Examples per hypothesis run; a run is repeated (with another seed) until enough frames
# went out.
EXAMPLES_PER_ROUND = 500
# Generous: a slow machine manages a few hundred frames a second.
RUN_TIMEOUT = 120 + TARGET_FRAMES * 0.05

# Clocks are 32-bit in the CRDT core.
MAX_CLOCK = 2**32 - 1
PROBE = encode_sync_step1(EMPTY_STATE_VECTOR)
STEP2_PREFIX = b"\x00\x01"

HEADERS: dict[str, bytes] = {
    "step1": b"\x00\x00",
    "step2": b"\x00\x01",
    "update": b"\x00\x02",
    "awareness": b"\x01",
    "auth": b"\x02\x00",
}


# Encoding helpers.


def var_uint(value: int, pad: int = 0) -> bytes:
    """A lib0 varuint, with ``pad`` extra (non-canonical, overlong) continuation bytes."""
    encoded = bytearray(write_var_uint(value))
    if pad > 0:
        encoded[-1] |= 0x80
        encoded += b"\x80" * (pad - 1) + b"\x00"
    return bytes(encoded)


def frame_of(kind: str, payload: bytes, declared: int | None = None, pad: int = 0) -> bytes:
    """A frame of ``kind`` around ``payload``; ``declared`` overrides its length prefix."""
    length = len(payload) if declared is None else max(declared, 0)
    return HEADERS[kind] + var_uint(length, pad) + payload


def state_vector_of(clocks: dict[int, int]) -> bytes:
    return var_uint(len(clocks)) + b"".join(var_uint(c) + var_uint(k) for c, k in clocks.items())


def delete_only_update(ranges: dict[int, list[tuple[int, int]]]) -> bytes:
    """A v1 update with no structs and a delete set of (clock, length) ranges per client."""
    out = bytearray(var_uint(0) + var_uint(len(ranges)))
    for client, spans in ranges.items():
        out += var_uint(client) + var_uint(len(spans))
        for clock, length in spans:
            out += var_uint(clock) + var_uint(length)
    return bytes(out)


def awareness_of(entries: Sequence[tuple[int, int, bytes]]) -> bytes:
    out = bytearray(var_uint(len(entries)))
    for client, clock, state in entries:
        out += var_uint(client) + var_uint(clock) + var_uint(len(state)) + state
    return bytes(out)


# Real pycrdt edits.


@dataclass(frozen=True)
class Edit:
    """One local edit of a pycrdt document: its incremental update is one fuzz payload."""

    kind: str
    index: int = 0
    length: int = 0
    text: str = ""
    key: str = ""
    value: Any = None

    def apply(self, doc: Doc[Any]) -> None:
        text = doc.get("text", type=Text)
        meta = doc.get("meta", type=Map)
        items = doc.get("list", type=Array)
        size = len(text)
        if self.kind == "insert":
            text.insert(min(self.index, size), self.text)
        elif self.kind == "insert_unicode":
            # pycrdt counts text in UTF-8 bytes, so positional edits stay in the ASCII
            # "text"; "notes" only grows at its start, always a character boundary.
            doc.get("notes", type=Text).insert(0, self.text)
        elif self.kind == "delete" and size:
            start = min(self.index, size - 1)
            del text[start : min(size, start + self.length)]
        elif self.kind == "format" and size:
            start = min(self.index, size - 1)
            text.format(start, min(size, start + self.length), {self.key or "b": self.value})
        elif self.kind == "set":
            meta[self.key] = self.value
        elif self.kind == "unset" and self.key in meta:
            del meta[self.key]
        elif self.kind == "append":
            items.append(self.value)
        elif self.kind == "nested":
            nested: Text | Map[Any] | Array[Any]
            if self.index % 3 == 0:
                nested = Text(self.text)
            elif self.index % 3 == 1:
                nested = Map({self.key: self.value})
            else:
                nested = Array([self.value])
            items.insert(min(self.length, len(items)), nested)
        elif self.kind == "remove" and len(items):
            del items[min(self.index, len(items) - 1)]


@dataclass(frozen=True)
class History:
    """The incremental updates of a sequence of edits by one client, and its end state."""

    updates: tuple[bytes, ...]
    full: bytes
    state_vector: bytes


ascii_text = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=6)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)
positions = st.integers(0, 40)
# Edits that always add content, hence always make an update.
growing_edits = st.one_of(
    st.builds(Edit, st.just("insert"), positions, text=ascii_text.filter(bool)),
    st.builds(Edit, st.just("insert_unicode"), text=st.text(min_size=1, max_size=4)),
    st.builds(Edit, st.just("set"), key=st.text(max_size=4), value=json_values),
    st.builds(Edit, st.just("append"), value=json_values | st.binary(max_size=6)),
    st.builds(
        Edit,
        st.just("nested"),
        st.integers(0, 2),
        positions,
        text=ascii_text,
        key=st.text(max_size=4),
        value=json_scalars,
    ),
)
edits = st.one_of(
    growing_edits,
    st.builds(Edit, st.just("delete"), positions, st.integers(1, 6)),
    st.builds(
        Edit, st.just("format"), positions, st.integers(1, 6), key=ascii_text, value=json_scalars
    ),
    st.builds(Edit, st.just("unset"), key=st.text(max_size=4)),
    st.builds(Edit, st.just("remove"), positions),
)


@st.composite
def histories(
    draw: st.DrawFn, kinds: st.SearchStrategy[Edit] = edits, min_edits: int = 1
) -> History:
    chosen = draw(st.lists(kinds, min_size=min_edits, max_size=5))
    # The client id derives from the edits: two histories never claim the same ids with
    # different content, as honest clients don't (mutations fuzz the dishonest ones).
    digest = hashlib.blake2b(repr(chosen).encode(), digest_size=8).digest()
    doc: Doc[Any] = Doc(client_id=int.from_bytes(digest) % (2**53 - 1) + 1)
    updates: list[bytes] = []
    doc.observe(lambda event: updates.append(event.update))
    for edit in chosen:
        edit.apply(doc)
    return History(tuple(updates), doc.get_update(), doc.get_state())


# Valid payloads, by message kind.

client_ids = st.integers(0, 50) | st.integers(0, 2**53 - 1)
clocks = st.integers(0, 20) | st.integers(0, 2**53 - 1)
state_vectors = histories().map(lambda h: h.state_vector) | st.dictionaries(
    client_ids, clocks, max_size=4
).map(state_vector_of)
update_payloads = histories().flatmap(
    lambda h: st.sampled_from([*h.updates, h.full]) if h.updates else st.just(h.full)
)
unknown_deletes = st.dictionaries(
    client_ids,
    st.lists(st.tuples(clocks, st.integers(0, 2**20)), min_size=1, max_size=3),
    min_size=1,
    max_size=3,
).map(delete_only_update)


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


awareness_states = st.one_of(
    st.dictionaries(st.text(max_size=6), json_values, max_size=4).map(_json_bytes),
    st.just(b"null"),
    json_values.map(_json_bytes),  # often not an object: refused
    st.binary(max_size=12),
    st.binary(max_size=8).map(lambda b: b'{"name":"' + b + b'\xff\xfe"}'),  # invalid UTF-8
    st.sampled_from([b'{"a":NaN}', b'{"a":Infinity}', b'{"a":1}{"b":2}', b'{"a":"\\ud800"}']),
    st.integers(10, 1200).map(lambda depth: b'{"a":' + b"[" * depth + b"]" * depth + b"}"),
    st.integers(MAX_AWARENESS - 20, MAX_AWARENESS + 40).map(
        lambda size: b'{"a":"' + b"x" * size + b'"}'
    ),
)
awareness_payloads = st.lists(st.tuples(client_ids, clocks, awareness_states), max_size=3).map(
    awareness_of
)
auth_payloads = st.text(max_size=20).map(lambda t: t.encode("utf-8")) | st.binary(max_size=8)

valid_payloads: st.SearchStrategy[tuple[str, bytes]] = st.one_of(
    st.tuples(st.just("update"), update_payloads),
    st.tuples(st.just("step2"), update_payloads),
    st.tuples(st.just("update"), unknown_deletes),
    st.tuples(st.just("step1"), state_vectors),
    st.tuples(st.just("awareness"), awareness_payloads),
    st.tuples(st.just("auth"), auth_payloads),
)


# Mutations.


@dataclass(frozen=True)
class Mutation:
    kind: str
    index: int = 0
    value: int = 0
    data: bytes = b""

    def apply(self, data: bytes) -> bytes:
        at = self.index % (len(data) + 1)
        byte_at = min(at, len(data) - 1)
        if self.kind == "flip" and data:
            return (
                data[:byte_at]
                + bytes([data[byte_at] ^ (1 << (self.value % 8))])
                + data[byte_at + 1 :]
            )
        if self.kind == "set" and data:
            return data[:byte_at] + bytes([self.value % 256]) + data[byte_at + 1 :]
        if self.kind == "truncate":
            return data[:at]
        if self.kind == "insert":
            return data[:at] + self.data + data[at:]
        if self.kind == "delete":
            return data[:at] + data[at + 1 + self.value % 8 :]
        if self.kind == "duplicate":
            return data + data
        if self.kind == "repeat":
            return data[:at] + data[at : at + 1 + self.value % 16] + data[at:]
        if self.kind == "varuint" and data:
            # Replace one byte by a whole varuint: a count, clock or length changes.
            return data[:byte_at] + var_uint(self.value) + data[byte_at + 1 :]
        if self.kind == "overlong" and data and data[byte_at] < 0x80:
            return data[:byte_at] + bytes([data[byte_at] | 0x80, 0]) + data[byte_at + 1 :]
        return data


indexes = st.integers(0, 2**16)
mutations = st.one_of(
    st.builds(Mutation, st.just("flip"), indexes, st.integers(0, 7)),
    st.builds(Mutation, st.just("set"), indexes, st.integers(0, 255)),
    st.builds(Mutation, st.just("truncate"), indexes),
    st.builds(Mutation, st.just("insert"), indexes, data=st.binary(min_size=1, max_size=6)),
    st.builds(Mutation, st.just("delete"), indexes, st.integers(0, 7)),
    st.builds(Mutation, st.just("duplicate")),
    st.builds(Mutation, st.just("repeat"), indexes, st.integers(0, 15)),
    st.builds(
        Mutation,
        st.just("varuint"),
        indexes,
        st.integers(0, 300) | st.integers(0, 2**64) | st.sampled_from([2**53 - 1, 2**53, 2**56]),
    ),
    st.builds(Mutation, st.just("overlong"), indexes),
)


@st.composite
def mutated_frames(draw: st.DrawFn) -> bytes:
    kind, payload = draw(valid_payloads)
    changes = draw(st.lists(mutations, min_size=1, max_size=3))
    where = draw(st.sampled_from(["payload", "frame", "length"]))
    if where == "payload":
        # The frame stays well formed: the mutated bytes reach pycrdt or awareness.
        for change in changes:
            payload = change.apply(payload)
        return frame_of(kind, payload)
    if where == "length":
        delta = draw(st.integers(-4, 4) | st.integers(-(2**20), 2**40))
        pad = draw(st.integers(0, 9))
        return frame_of(kind, payload, declared=len(payload) + delta, pad=pad)
    frame = frame_of(kind, payload)
    for change in changes:
        frame = change.apply(frame)
    return frame


@st.composite
def concatenated_frames(draw: st.DrawFn) -> bytes:
    """Two valid frames in one WebSocket message: trailing bytes, refused."""
    first, second = draw(st.lists(valid_payloads, min_size=2, max_size=2))
    return frame_of(*first) + frame_of(*second)


@dataclass(frozen=True)
class Frame:
    """One WebSocket message of a case, and how it was made."""

    data: bytes | str
    made: str

    def __repr__(self) -> str:
        data = self.data if len(self.data) <= 200 else f"<{len(self.data)} bytes>"
        return f"Frame({data!r}, {self.made!r})"

    @property
    def honest(self) -> bool:
        """Built from real edits of a client with its own id: updates the CRDT core must
        integrate the same way on every replica."""
        return self.made in ("valid", "out of order")


def _made(label: str) -> Callable[[bytes | str], Frame]:
    return lambda data: Frame(data, label)


@st.composite
def oversized_frames(draw: st.DrawFn) -> Frame:
    """Frames around the size limit (built here: hypothesis never sees the bytes)."""
    size = draw(st.integers(MAX_MESSAGE - 8, MAX_MESSAGE + 64))
    return Frame(frame_of("update", bytes(size)), "oversized")


frames: st.SearchStrategy[Frame] = st.one_of(
    st.binary(max_size=40).map(_made("random")),
    st.tuples(st.sampled_from(list(HEADERS)), st.binary(max_size=40))
    .map(lambda kp: frame_of(*kp))
    .map(_made("random payload")),
    valid_payloads.map(lambda kp: frame_of(*kp)).map(_made("valid")),
    mutated_frames().map(_made("mutated")),
    mutated_frames().map(_made("mutated")),
    concatenated_frames().map(_made("concatenated")),
    st.just(b"\x03").map(_made("valid")),
    st.text(max_size=10).map(_made("text")),
    oversized_frames(),
)


@st.composite
def out_of_order(draw: st.DrawFn) -> list[Frame]:
    """Real updates of one history, delivered in another order or with some missing."""
    history = draw(histories(growing_edits, min_edits=2))
    chosen = draw(st.permutations(history.updates))
    keep = draw(st.integers(1, len(chosen)))
    kind = draw(st.sampled_from(["update", "step2"]))
    return [Frame(frame_of(kind, update), "out of order") for update in chosen[:keep]]


@dataclass(frozen=True)
class FuzzCase:
    role: Role
    frames: tuple[Frame, ...]

    @classmethod
    def of(cls, role: Role, *data: bytes) -> FuzzCase:
        return cls(role, tuple(Frame(d, "valid") for d in data))


fuzz_cases = st.builds(
    FuzzCase,
    st.sampled_from([Role.MEMBER, Role.MEMBER, Role.MEMBER, Role.OBSERVER]),
    (st.lists(frames, min_size=1, max_size=4) | out_of_order()).map(tuple),
)


# The live side.


class ErrorLog(logging.Handler):
    """Collects ERROR records from the server's loggers."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def describe(self) -> str:
        return "\n".join(f"{r.name}: {r.getMessage()} {r.exc_text or ''}" for r in self.records)


@contextlib.contextmanager
def server_errors() -> Iterator[ErrorLog]:
    handler = ErrorLog()
    loggers = [logging.getLogger(name) for name in ("roundtable", "uvicorn", "asyncio")]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield handler
    finally:
        for logger in loggers:
            logger.removeHandler(handler)


@dataclass
class FuzzStats:
    frames: int = 0
    connections: int = 0
    probes: int = 0
    closed: Counter[int] = field(default_factory=Counter)
    # Cases sent to the scratch document, and examples run.
    scratch_cases: int = 0
    cases: int = 0

    def report(self, errors: int) -> str:
        codes = ", ".join(f"{code}: {n}" for code, n in sorted(self.closed.items()))
        return (
            f"fuzz: sent {self.frames} frames on {self.connections} connections; "
            f"closed by code {{{codes}}}; answered probes: {self.probes}; server errors: {errors}"
        )


def decoded(frame: Frame) -> Message | None:
    """The message the server will decode from ``frame``, if any."""
    if isinstance(frame.data, bytes) and len(frame.data) <= MAX_MESSAGE:
        with contextlib.suppress(ValueError):
            return decode_message(frame.data)
    return None


def certain_close(frame: Frame) -> int | None:
    """The close code ``frame`` gets whatever the server holds, if it has one."""
    if isinstance(frame.data, str):
        return CloseCode.UNSUPPORTED_DATA
    if len(frame.data) > MAX_MESSAGE:
        return CloseCode.MESSAGE_TOO_BIG
    try:
        decode_message(frame.data)
    except ProtocolError:
        return CloseCode.PROTOCOL_ERROR
    return None


def expected_answers(frames: Sequence[Frame]) -> int:
    """Sync step 2 answers the server owes: one per step 1 sent, one for the probe."""
    return 1 + sum(isinstance(decoded(frame), SyncStep1) for frame in frames)


def struct_starts(update: bytes) -> dict[int, int]:
    """The clock at which each client's structs start in ``update`` ({} if unreadable).

    pycrdt has no update parser, but diffing the update against a state vector that
    claims every client seen so far leaves the next client first in the header.
    """
    found: dict[int, int] = {}
    try:
        while True:
            rest = get_update(update, state_vector_of(dict.fromkeys(found, MAX_CLOCK)))
            reader = Reader(rest)
            if reader.var_uint() == 0:
                return found
            reader.var_uint()  # the number of structs
            client = reader.var_uint()
            if client in found:
                return found
            found[client] = reader.var_uint()
    except (ValueError, ProtocolError):
        return found
    except BaseException as exc:
        if type(exc).__name__ == "PanicException":
            return found
        raise


def needs_scratch(frames: Sequence[Frame], state_vector: dict[int, int]) -> bool:
    """Whether a member's ``frames`` hold an update the guide document must not get.

    The guide, where every replica must agree, takes updates only from honest clients
    whose structs continue the clocks it has (``state_vector``, taken before the first
    frame: conservative for later ones). The scratch document takes the rest: an
    update starting past a gap waits on the server for the missing clocks, and a
    mutated update may be refused only after others that depend on it were sent.
    """
    for frame in frames:
        message = decoded(frame)
        if isinstance(message, SyncStep2 | SyncUpdate):
            if not frame.honest:
                return True
            starts = struct_starts(message.update)
            if any(clock > state_vector.get(client, 0) for client, clock in starts.items()):
                return True
    return False


class FuzzConnection:
    """A bare sync socket: sends whatever it is given, counts the sync step 2 answers."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    @classmethod
    async def open(cls, url: str, token: str) -> FuzzConnection:
        ws = await connect(f"{url}?token={token}", max_size=None, open_timeout=timeout(5))
        return cls(ws)

    @property
    def closed(self) -> bool:
        return self.ws.close_code is not None

    async def send(self, frame: bytes | str) -> None:
        with contextlib.suppress(ConnectionClosed):
            await self.ws.send(frame)

    async def outcome(self, answers: int) -> tuple[int, str] | None:
        """None once ``answers`` step 2 frames arrived, else the close code and reason."""
        try:
            async with asyncio.timeout(timeout(5)):
                while answers:
                    frame = await self.ws.recv()
                    if isinstance(frame, bytes) and frame.startswith(STEP2_PREFIX):
                        answers -= 1
        except ConnectionClosed:
            return self.ws.close_code or 0, self.ws.close_reason or ""
        except TimeoutError:
            raise AssertionError(
                f"stuck connection: open, but {answers} sync step 2 answer(s) missing"
            ) from None
        return None

    async def close(self) -> None:
        await self.ws.close()


@dataclass
class LiveRun:
    """One server and room for a whole run, with two bystanders on the guide document."""

    server: RunningServer
    room: CreatedRoom
    tokens: dict[Role, str]
    watcher: YClient
    writer: YClient
    errors: ErrorLog
    stats: FuzzStats = field(default_factory=FuzzStats)
    connections: dict[tuple[str, Role], FuzzConnection] = field(default_factory=dict)

    def url(self, name: str) -> str:
        return f"{self.server.sync_url(self.room.room.slug)}/{name}"

    def document(self, name: str) -> LiveDocument | None:
        for document in self.server.app_state.hub.documents.values():
            if document.info.room_id == self.room.room.id and document.info.name == name:
                return document
        return None

    @property
    def guide(self) -> LiveDocument:
        document = self.document(GUIDE)
        assert document is not None, "the guide document is not loaded"
        return document

    def route_of(self, case: FuzzCase) -> str:
        """Observers' frames change nothing: they all go to the guide."""
        if case.role is Role.MEMBER:
            known = decode_state_vector(self.guide.sync.state_vector())
            if needs_scratch(case.frames, known):
                return SCRATCH
        return GUIDE

    async def connection(self, name: str, role: Role) -> FuzzConnection:
        current = self.connections.get((name, role))
        if current is None or current.closed:
            current = await FuzzConnection.open(self.url(name), self.tokens[role])
            self.connections[name, role] = current
            self.stats.connections += 1
        return current

    async def feed(self, case: FuzzCase, name: str | None = None) -> None:
        """Send the case's frames and a probe; the server closes cleanly or answers."""
        errors_before = len(self.errors.records)
        name = name or self.route_of(case)
        self.stats.cases += 1
        self.stats.scratch_cases += name == SCRATCH
        connection = await self.connection(name, case.role)
        for frame in case.frames:
            await connection.send(frame.data)
        self.stats.frames += len(case.frames)
        await connection.send(PROBE)
        closed = await connection.outcome(expected_answers(case.frames))
        if closed is None:
            self.stats.probes += 1
        else:
            code, reason = closed
            self.stats.closed[code] += 1
            assert code in ALLOWED_CLOSE_CODES, f"closed with {code} ({reason!r})"
            assert reason, f"closed with {code} and no reason"
        # A text frame, an oversized or a malformed one always closes the connection
        # (with its own code when nothing before it did).
        for number, frame in enumerate(case.frames):
            expected = certain_close(frame)
            if expected is not None:
                assert closed is not None, f"frame {number} was answered, not refused"
                # The WebSocket layer refuses an oversized frame as it arrives, even
                # with earlier frames still queued for the server.
                if number == 0 or expected == CloseCode.MESSAGE_TOO_BIG:
                    oversized = any(certain_close(f) == 1009 for f in case.frames)
                    assert closed[0] == expected or oversized, f"closed with {closed[0]}"
                break
        new_errors = self.errors.records[errors_before:]
        assert not new_errors, self.errors.describe()

    async def close_connections(self) -> None:
        for connection in self.connections.values():
            await connection.close()
        self.connections.clear()


@contextlib.asynccontextmanager
async def live_run(tmp_path: Path) -> AsyncIterator[LiveRun]:
    settings = fast_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'fuzz.db'}",
        max_message_size=MAX_MESSAGE,
        max_awareness_bytes=MAX_AWARENESS,
        # A fuzz connection sends thousands of frames and opens thousands of sockets.
        max_messages_per_second=0,
        max_connection_attempts_per_minute=0,
        max_sync_requests_per_minute=0,
    )
    with server_errors() as errors:
        async with run_server(settings) as server:
            room = await server.create_room()
            url = f"{server.sync_url(room.room.slug)}/{GUIDE}"
            tokens = {role: await server.join(room, role, role.value) for role in INVITE_ROLES}
            # The member first: an observer may not create the document.
            writer = await open_synced(url, tokens[Role.MEMBER])
            watcher = await open_synced(url, tokens[Role.OBSERVER])
            run = LiveRun(server, room, tokens, watcher, writer, errors)
            try:
                yield run
            finally:
                await run.close_connections()
                await watcher.close()
                await writer.close()


def rebuild(snapshot: bytes | None, updates: Sequence[bytes]) -> Doc[Any]:
    """Apply the snapshot and every update row one by one: each of them must apply."""
    doc: Doc[Any] = Doc()
    for number, update in enumerate((snapshot, *updates)):
        if not update:
            continue
        try:
            doc.apply_update(update)
        except BaseException as exc:  # a Rust panic is a BaseException
            raise AssertionError(f"stored row {number} does not apply: {exc!r}") from exc
    return doc


async def stored_document(run: LiveRun, name: str) -> Doc[Any]:
    server = run.server
    await server.app_state.hub.flush_all()
    info = await server.app_state.store.get_document(run.room.room.id, name)
    assert info is not None, f"{name} was never stored"
    stored = await server.app_state.store.load_document(info.id)
    doc = rebuild(stored.snapshot, stored.updates)
    # The server loads documents this way: it must give the same state.
    loaded = SyncDocument(stored.snapshot, stored.updates).encode_state()
    assert fingerprint(loaded) == fingerprint(doc.get_update())
    return doc


def counted_clocks(doc: Doc[Any]) -> dict[int, int]:
    """A state vector without the zero entries pycrdt adds for clients past a gap."""
    return {c: k for c, k in decode_state_vector(doc.get_state()).items() if k}


def delete_set(doc: Doc[Any], clients: Iterable[int]) -> dict[int, list[tuple[int, int]]]:
    """The deleted ranges of ``doc`` by client, merged and sorted."""
    everything = state_vector_of(dict.fromkeys(clients, MAX_CLOCK))
    reader = Reader(doc.get_update(everything))
    assert reader.var_uint() == 0, "structs past the 32-bit clock range"
    ranges: dict[int, list[tuple[int, int]]] = {}
    for _ in range(reader.var_uint()):
        client = reader.var_uint()
        spans = sorted((reader.var_uint(), reader.var_uint()) for _ in range(reader.var_uint()))
        merged: list[tuple[int, int]] = []
        for clock, length in spans:
            if merged and merged[-1][0] + merged[-1][1] >= clock:
                start, previous = merged[-1]
                merged[-1] = (start, max(previous, clock + length - start))
            elif length:
                merged.append((clock, length))
        if merged:
            ranges[client] = merged
    return ranges


def fingerprint(update: bytes) -> dict[str, Any]:
    """What two replicas of a document must agree on, whatever the encoding order (the
    CRDT core re-encodes JSON objects in hash order): the structs each client has (where
    they start and end), the deletions, and the content of the four roots the fuzz uses.
    """
    doc: Doc[Any] = Doc()
    doc.apply_update(update)
    starts = struct_starts(update)
    content = {
        "text": str(doc.get("text", type=Text)),
        "notes": str(doc.get("notes", type=Text)),
        "meta": doc.get("meta", type=Map).to_py(),
        "list": doc.get("list", type=Array).to_py(),
    }
    return {
        "starts": starts,
        "clocks": counted_clocks(doc),
        "deletes": delete_set(doc, {*starts, *decode_state_vector(doc.get_state())}),
        # repr for what JSON lacks (bytes, NaN, which is not even equal to itself).
        "content": json.dumps(content, sort_keys=True, default=repr),
    }


async def check_scratch(run: LiveRun) -> None:
    """The scratch document: rows apply, nothing counted live is missing from storage."""
    if await run.server.app_state.store.get_document(run.room.room.id, SCRATCH) is None:
        return  # no case needed it
    fresh = await open_synced(run.url(SCRATCH), run.tokens[Role.MEMBER])
    document = run.document(SCRATCH)
    assert document is not None
    live = document.sync.ydoc
    assert fingerprint(fresh.doc.get_update()) == fingerprint(live.get_update())
    await fresh.close()
    stored = await stored_document(run, SCRATCH)
    # Structs integrated past a clock gap are the known difference (not counted in the
    # state vector, not stored); everything counted is stored.
    assert counted_clocks(stored) == counted_clocks(live)


async def check_after_fuzzing(run: LiveRun) -> None:
    """The server still serves, stored what it holds, and its bystanders still talk."""
    server, room = run.server, run.room
    await run.close_connections()
    document = run.guide
    # Closed fuzz connections left nothing behind: no holder, no peer, no awareness.
    await eventually(lambda: document.holders == 2, what="the fuzz connections to detach")
    assert len(document.peers) == 2
    await eventually(lambda: not document.awareness.states, what="fuzz awareness to go")

    live = document.sync.ydoc
    live_text = server.live_text(room, GUIDE)
    assert live_text is not None
    await run.watcher.wait_text(live_text)
    expected = fingerprint(live.get_update())
    assert fingerprint(run.watcher.doc.get_update()) == expected

    fresh = await open_synced(run.url(GUIDE), run.tokens[Role.MEMBER])
    assert fingerprint(fresh.doc.get_update()) == expected
    await fresh.close()

    stored = await stored_document(run, GUIDE)
    # Compared decoded: the CRDT core encodes clients in hash-table order.
    assert decode_state_vector(stored.get_state()) == decode_state_vector(live.get_state())
    assert fingerprint(stored.get_update()) == expected
    assert str(stored.get("text", type=Text)) == live_text == str(run.watcher.text)

    marker = "<after fuzzing>"
    run.writer.insert(0, marker)
    await run.watcher.wait_until(lambda: str(run.watcher.text).startswith(marker))
    assert run.watcher.is_open
    assert run.writer.is_open
    assert server.live_text(room, GUIDE) == str(run.watcher.text) == str(run.writer.text)

    await check_scratch(run)
    assert not run.errors.records, run.errors.describe()


def fuzz_rounds(run: LiveRun, runner: asyncio.Runner, target: int) -> None:
    """Hypothesis examples, each run to completion on the server's event loop.

    The loop only runs inside ``runner.run``: nothing on it (websocket pings use the
    ``random`` module) runs while hypothesis generates, which it would take for a
    strategy using ``random``.
    """
    fuzz_settings = settings(
        database=None,
        deadline=None,
        print_blob=False,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
            HealthCheck.large_base_example,
        ],
    )

    def one_example(case: FuzzCase) -> None:
        runner.run(run.feed(case))

    round_number = 0
    while run.stats.frames < target:
        remaining = target - run.stats.frames
        # About 2.5 frames an example; the loop tops up what a round fell short of.
        examples = max(10, min(EXAMPLES_PER_ROUND, math.ceil(remaining / 2.5)))
        test = settings(fuzz_settings, max_examples=examples)(given(fuzz_cases)(one_example))
        if not SOAK_FRAMES:
            # The CI run is deterministic: the same seeds, so the same frames, every time.
            test = seed(round_number)(test)
        test()
        round_number += 1


@pytest.mark.timeout(RUN_TIMEOUT)
def test_live_server_survives_fuzzed_frames(tmp_path: Path) -> None:
    """One server for the whole run; its event loop runs an example at a time."""
    started = time.monotonic()
    with asyncio.Runner() as runner:
        stack = contextlib.AsyncExitStack()
        run = runner.run(stack.enter_async_context(live_run(tmp_path)))
        stats = run.stats
        try:
            fuzz_rounds(run, runner, TARGET_FRAMES)
            runner.run(check_after_fuzzing(run))
        finally:
            runner.run(stack.aclose())
            # Printed on failure too: a soak's report says how far it got.
            print(f"\n{stats.report(len(run.errors.records))}")
            print(
                f"fuzz: {stats.cases} cases, {stats.scratch_cases} of them on the scratch "
                f"document; {time.monotonic() - started:.1f} s"
            )
    assert stats.frames >= TARGET_FRAMES
    # Both outcomes were exercised: the fuzzing is not all refused, nor all accepted.
    assert stats.probes > 0
    assert sum(stats.closed.values()) > 0


# Targeted cases: what the server does with dependencies it has not seen.


def _history(*texts: str) -> History:
    doc: Doc[Any] = Doc(client_id=4242)
    updates: list[bytes] = []
    doc.observe(lambda event: updates.append(event.update))
    text = doc.get("text", type=Text)
    for value in texts:
        text.insert(len(text), value)
    return History(tuple(updates), doc.get_update(), doc.get_state())


async def _stored_text(run: LiveRun) -> str:
    return str((await stored_document(run, GUIDE)).get("text", type=Text))


async def _barrier(run: LiveRun, marker: str) -> None:
    """Everything the server broadcast before now has reached the watcher."""
    run.writer.insert(len(run.writer.text), marker)
    await run.watcher.wait_until(lambda: str(run.watcher.text).endswith(marker))


async def test_out_of_order_updates_wait_for_what_they_depend_on(tmp_path: Path) -> None:
    """pycrdt keeps an update whose origins are missing pending: it is neither applied,
    relayed nor stored, and the connection stays open. Once the missing update arrives,
    everything integrates, is relayed and stored; nothing pending is ever stored."""
    history = _history("one ", "two ", "three ")
    first, second, third = history.updates
    async with live_run(tmp_path) as run:
        case = FuzzCase.of(Role.MEMBER, encode_update(third), encode_update(second))
        await run.feed(case, GUIDE)
        assert not run.connections[GUIDE, Role.MEMBER].closed
        await _barrier(run, "|")
        assert str(run.watcher.text) == "|"
        assert run.server.live_text(run.room, GUIDE) == "|"
        assert await _stored_text(run) == "|"

        await run.feed(FuzzCase.of(Role.MEMBER, encode_sync_step2(first)), GUIDE)
        await run.watcher.wait_until(lambda: "one two three " in str(run.watcher.text))
        assert await _stored_text(run) == run.server.live_text(run.room, GUIDE)
        await check_after_fuzzing(run)


async def test_deletes_of_unknown_ids_change_nothing_visible(tmp_path: Path) -> None:
    """A delete set naming ids the server never saw is kept pending, like out-of-order
    structs: the connection stays open and nothing is stored. When the content arrives
    later it is deleted at once, for everyone."""
    history = _history("keep ", "gone")
    deleter: Doc[Any] = Doc()
    deleter.apply_update(history.full)
    deleter_updates: list[bytes] = []
    deleter.observe(lambda event: deleter_updates.append(event.update))
    del deleter.get("text", type=Text)[len("keep ") :]
    (deletion,) = deleter_updates
    unknown = delete_only_update({987654: [(0, 5), (100, 2**20)]})
    async with live_run(tmp_path) as run:
        case = FuzzCase.of(Role.MEMBER, encode_update(unknown), encode_update(deletion))
        await run.feed(case, GUIDE)
        await _barrier(run, "|")
        assert await _stored_text(run) == "|"

        await run.feed(FuzzCase.of(Role.MEMBER, encode_update(history.full)), GUIDE)
        await run.watcher.wait_until(lambda: "keep " in str(run.watcher.text))
        assert "gone" not in str(run.watcher.text)
        assert await _stored_text(run) == run.server.live_text(run.room, GUIDE)
        await check_after_fuzzing(run)


async def test_update_past_a_clock_gap_waits_until_the_gap_closes(tmp_path: Path) -> None:
    source: Doc[Any] = Doc(client_id=777)
    updates: list[bytes] = []
    source.observe(lambda event: updates.append(event.update))
    source.get("meta", type=Map)["title"] = "draft"  # clock 0: sent later
    source.get("text", type=Text).insert(0, "ghost")  # clocks 1-5: no origin at all
    title, ghost = updates
    async with live_run(tmp_path) as run:
        await run.feed(FuzzCase.of(Role.MEMBER, encode_update(ghost)), GUIDE)
        await _barrier(run, "|")
        # The server keeps it aside, as a Yjs client does: nobody sees it, nothing is
        # stored, until clock 0 arrives.
        live_text = run.server.live_text(run.room, GUIDE)
        assert live_text == "|"
        assert str(run.watcher.text) == live_text
        assert await _stored_text(run) == live_text
        await run.feed(FuzzCase.of(Role.MEMBER, encode_update(title)), GUIDE)
        await _barrier(run, "#")
        live_text = run.server.live_text(run.room, GUIDE)
        # Both "ghost" and "|" went in at the start: their client ids order them.
        assert live_text in ("ghost|#", "|ghost#")
        assert str(run.watcher.text) == live_text
        assert await _stored_text(run) == live_text


def _item_between(client: int, writer_id: int, origin: int, right: int) -> bytes:
    """An update of ``client`` inserting "X" with left origin (writer, ``origin``) and
    right origin (writer, ``right``)."""
    return (
        var_uint(1) + var_uint(1) + var_uint(client) + var_uint(0) + bytes([0xC4])
        + var_uint(writer_id) + var_uint(origin) + var_uint(writer_id) + var_uint(right)
        + var_uint(1) + b"X" + var_uint(0)
    )  # fmt: skip


@pytest.mark.parametrize("deleted", [False, True], ids=["visible", "deleted"])
async def test_item_with_crossed_origins_lands_after_its_left_origin_everywhere(
    tmp_path: Path, deleted: bool
) -> None:
    """An item whose left origin lies right of its right origin lands in different
    places for a replica that gets it as an update and one that loads the encoded
    document (undo managers write them: docs/yjs-crossed-redo.md). The server takes it
    without its right origin, right after its left origin, whether the origins are
    visible or deleted (then only a copy of the document where deleted items take room
    can tell their order): the member stays connected, and live clients, a client that
    joins later and the stored document all agree. An item between the same two origins
    the right way round keeps both."""
    async with live_run(tmp_path) as run:
        run.writer.insert(0, "0olour")
        if deleted:
            del run.writer.text[2:6]
        visible = "0o" if deleted else "0olour"
        await run.watcher.wait_text(visible)
        writer_id = run.writer.doc.client_id
        # Origin (writer, 5) "r" and right origin (writer, 2) "l".
        member = await FuzzConnection.open(run.url(GUIDE), run.tokens[Role.MEMBER])
        await member.send(encode_update(_item_between(2, writer_id, 5, 2)))
        expected = visible + "X"
        await run.watcher.wait_text(expected)
        assert run.server.live_text(run.room, GUIDE) == expected
        # The same item the right way round (origin "l", right origin "r") goes in.
        honest = await FuzzConnection.open(run.url(GUIDE), run.tokens[Role.MEMBER])
        await honest.send(encode_update(_item_between(3, writer_id, 2, 5)))
        await run.watcher.wait_until(lambda: str(run.watcher.text).count("X") == 2)
        await _barrier(run, "#")
        assert not member.closed and not honest.closed
        live_text = run.server.live_text(run.room, GUIDE)
        assert live_text == ("0oXX#" if deleted else "0olXourX#")
        assert str(run.watcher.text) == live_text
        fresh = await open_synced(run.url(GUIDE), run.tokens[Role.MEMBER])
        try:
            assert str(fresh.text) == live_text
        finally:
            await fresh.close()
        await member.close()
        await honest.close()
        assert await _stored_text(run) == live_text
