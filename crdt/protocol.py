"""The y-websocket wire protocol: strict decoding of client frames, encoding of replies.

A frame is one WebSocket binary message. Its first varuint is the message type:

* 0 sync: a second varuint (0 step 1, 1 step 2, 2 update) and a length-prefixed payload;
* 1 awareness: a length-prefixed awareness update;
* 2 auth: 0 (permission denied) and a length-prefixed UTF-8 reason;
* 3 query awareness: nothing else.

Encoding reuses pycrdt's helpers. Decoding is written here because pycrdt's decoder is
lenient (a truncated payload yields a short slice), and the server must refuse such
frames instead of acting on them. :func:`decode_message` raises :class:`ProtocolError`
for anything that is not exactly one well-formed message.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from pycrdt import (
    create_awareness_message,
    create_update_message,
    write_message,
    write_var_uint,
)

# JavaScript clients encode varuints up to Number.MAX_SAFE_INTEGER (53 bits): at most
# eight 7-bit groups. Anything longer is malformed.
_MAX_VARUINT_BYTES = 8


class MessageType(IntEnum):
    SYNC = 0
    AWARENESS = 1
    AUTH = 2
    QUERY_AWARENESS = 3


class SyncType(IntEnum):
    STEP1 = 0
    STEP2 = 1
    UPDATE = 2


class ProtocolError(ValueError):
    """A frame that is not a well-formed y-websocket message."""


@dataclass(frozen=True, slots=True)
class SyncStep1:
    state_vector: bytes


@dataclass(frozen=True, slots=True)
class SyncStep2:
    update: bytes


@dataclass(frozen=True, slots=True)
class SyncUpdate:
    update: bytes


@dataclass(frozen=True, slots=True)
class AwarenessUpdate:
    update: bytes


@dataclass(frozen=True, slots=True)
class QueryAwareness:
    pass


@dataclass(frozen=True, slots=True)
class PermissionDenied:
    reason: str


Message = SyncStep1 | SyncStep2 | SyncUpdate | AwarenessUpdate | QueryAwareness | PermissionDenied


class Reader:
    """Reads lib0-encoded values from a buffer, refusing to read past its end."""

    __slots__ = ("_data", "_pos")

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    @property
    def exhausted(self) -> bool:
        return self._pos == len(self._data)

    def var_uint(self) -> int:
        value = 0
        shift = 0
        for _ in range(_MAX_VARUINT_BYTES):
            if self._pos >= len(self._data):
                raise ProtocolError("truncated varuint")
            byte = self._data[self._pos]
            self._pos += 1
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                return value
            shift += 7
        raise ProtocolError("varuint longer than 53 bits")

    def var_bytes(self) -> bytes:
        length = self.var_uint()
        end = self._pos + length
        if end > len(self._data):
            raise ProtocolError(
                f"payload declares {length} bytes but only {len(self._data) - self._pos} remain"
            )
        chunk = self._data[self._pos : end]
        self._pos = end
        return chunk

    def var_string(self) -> str:
        raw = self.var_bytes()
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProtocolError("string is not valid UTF-8") from exc


def decode_message(frame: bytes) -> Message:
    """Decode one client frame, or raise :class:`ProtocolError`."""
    reader = Reader(frame)
    message_type = reader.var_uint()
    message: Message
    if message_type == MessageType.SYNC:
        sync_type = reader.var_uint()
        payload = reader.var_bytes()
        if sync_type == SyncType.STEP1:
            message = SyncStep1(payload)
        elif sync_type == SyncType.STEP2:
            message = SyncStep2(payload)
        elif sync_type == SyncType.UPDATE:
            message = SyncUpdate(payload)
        else:
            raise ProtocolError(f"unknown sync message type {sync_type}")
    elif message_type == MessageType.AWARENESS:
        message = AwarenessUpdate(reader.var_bytes())
    elif message_type == MessageType.QUERY_AWARENESS:
        message = QueryAwareness()
    elif message_type == MessageType.AUTH:
        auth_type = reader.var_uint()
        if auth_type != 0:
            raise ProtocolError(f"unknown auth message type {auth_type}")
        message = PermissionDenied(reader.var_string())
    else:
        raise ProtocolError(f"unknown message type {message_type}")
    if not reader.exhausted:
        raise ProtocolError("trailing bytes after message")
    return message


def encode_sync_step1(state_vector: bytes) -> bytes:
    return bytes([MessageType.SYNC, SyncType.STEP1]) + write_message(state_vector)


def encode_sync_step2(update: bytes) -> bytes:
    return bytes([MessageType.SYNC, SyncType.STEP2]) + write_message(update)


def encode_update(update: bytes) -> bytes:
    return create_update_message(update)


def encode_awareness(update: bytes) -> bytes:
    return create_awareness_message(update)


def encode_query_awareness() -> bytes:
    return bytes([MessageType.QUERY_AWARENESS])


def encode_permission_denied(reason: str) -> bytes:
    encoded = reason.encode("utf-8")
    return bytes([MessageType.AUTH, 0]) + write_var_uint(len(encoded)) + encoded
