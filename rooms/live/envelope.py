"""The binary envelope of broker messages: kind, origin, target, payload.

``kind`` (1 byte) | ``origin`` (16 bytes) | ``target`` (16 bytes, zeros for everyone)
| payload. Update bytes travel as they are: no base64, no JSON around them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from pycrdt import write_var_uint

from crdt.protocol import ProtocolError, Reader

ID_BYTES = 16
EVERYONE = bytes(ID_BYTES)
_HEADER = 1 + 2 * ID_BYTES


class Kind(IntEnum):
    # Document updates published together: varuint count, then each as var bytes.
    UPDATES = 0
    # An awareness update as the y-protocol encodes it.
    AWARENESS = 1
    # A state vector; the first byte says whether the receiver should send its own back.
    SYNC_STEP1 = 2
    # What the target lacks, in answer to its step 1.
    SYNC_STEP2 = 3
    # Asks every process for the awareness states of its own clients.
    AWARENESS_QUERY = 4
    # A room event, as UTF-8 JSON.
    EVENT = 5
    # One process's roster entries for a room, as UTF-8 JSON (a list).
    PRESENCE = 6
    # Asks every process for its roster entries of a room.
    PRESENCE_QUERY = 7


@dataclass(frozen=True, slots=True)
class Envelope:
    kind: Kind
    origin: bytes
    target: bytes
    payload: bytes

    def encode(self) -> bytes:
        return bytes([self.kind]) + self.origin + self.target + self.payload


def decode(message: bytes) -> Envelope:
    if len(message) < _HEADER:
        raise ProtocolError("broker message shorter than its header")
    try:
        kind = Kind(message[0])
    except ValueError as exc:
        raise ProtocolError(f"unknown broker message kind {message[0]}") from exc
    return Envelope(
        kind, message[1 : 1 + ID_BYTES], message[1 + ID_BYTES : _HEADER], message[_HEADER:]
    )


def encode_updates(updates: list[bytes]) -> bytes:
    parts = [write_var_uint(len(updates))]
    for update in updates:
        parts.append(write_var_uint(len(update)))
        parts.append(update)
    return b"".join(parts)


def decode_updates(payload: bytes) -> list[bytes]:
    reader = Reader(payload)
    updates = [reader.var_bytes() for _ in range(reader.var_uint())]
    if not reader.exhausted:
        raise ProtocolError("trailing bytes after updates")
    return updates
