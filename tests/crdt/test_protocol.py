"""The y-websocket framing: literal byte vectors in, messages out, and back again."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crdt.protocol import (
    AwarenessUpdate,
    Message,
    PermissionDenied,
    ProtocolError,
    QueryAwareness,
    Reader,
    SyncStep1,
    SyncStep2,
    SyncUpdate,
    decode_message,
    encode_awareness,
    encode_permission_denied,
    encode_query_awareness,
    encode_sync_step1,
    encode_sync_step2,
    encode_update,
)

# No example database: the suite must not leave a .hypothesis directory in the repository.
PROPERTY = settings(database=None, max_examples=300)

PAYLOAD_200 = bytes(range(200))


# Decoding each message type.


def test_decode_sync_step1() -> None:
    assert decode_message(b"\x00\x00\x01\x00") == SyncStep1(b"\x00")


def test_decode_sync_step2() -> None:
    assert decode_message(b"\x00\x01\x02\x00\x00") == SyncStep2(b"\x00\x00")


def test_decode_sync_update() -> None:
    assert decode_message(b"\x00\x02\x03abc") == SyncUpdate(b"abc")


def test_decode_sync_update_with_empty_payload() -> None:
    assert decode_message(b"\x00\x02\x00") == SyncUpdate(b"")


def test_decode_awareness() -> None:
    assert decode_message(b"\x01\x03xyz") == AwarenessUpdate(b"xyz")


def test_decode_query_awareness() -> None:
    assert decode_message(b"\x03") == QueryAwareness()


def test_decode_permission_denied() -> None:
    assert decode_message(b"\x02\x00\x06denied") == PermissionDenied("denied")


def test_decode_permission_denied_with_empty_reason() -> None:
    assert decode_message(b"\x02\x00\x00") == PermissionDenied("")


def test_decode_permission_denied_with_non_ascii_reason() -> None:
    assert decode_message(b"\x02\x00\x03\xc3\xa9!") == PermissionDenied("\xe9!")


def test_decode_payload_of_127_bytes_uses_one_byte_length() -> None:
    assert decode_message(b"\x01\x7f" + bytes(127)) == AwarenessUpdate(bytes(127))


def test_decode_payload_of_128_bytes_uses_two_byte_length() -> None:
    assert decode_message(b"\x01\x80\x01" + bytes(128)) == AwarenessUpdate(bytes(128))


def test_decode_payload_of_200_bytes_uses_two_byte_length() -> None:
    assert decode_message(b"\x00\x02\xc8\x01" + PAYLOAD_200) == SyncUpdate(PAYLOAD_200)


def test_decode_payload_of_16384_bytes_uses_three_byte_length() -> None:
    payload = b"\x07" * 16384
    assert decode_message(b"\x00\x01\x80\x80\x01" + payload) == SyncStep2(payload)


def test_decode_accepts_eight_byte_varuint() -> None:
    # Message type 3 spread over eight 7-bit groups: the longest varuint allowed.
    assert decode_message(b"\x83\x80\x80\x80\x80\x80\x80\x00") == QueryAwareness()


# Encoding: literal bytes.


def test_encode_sync_step1() -> None:
    assert encode_sync_step1(b"\x00") == b"\x00\x00\x01\x00"


def test_encode_sync_step2() -> None:
    assert encode_sync_step2(b"\x00\x00") == b"\x00\x01\x02\x00\x00"


def test_encode_update() -> None:
    assert encode_update(b"abc") == b"\x00\x02\x03abc"


def test_encode_awareness() -> None:
    assert encode_awareness(b"xyz") == b"\x01\x03xyz"


def test_encode_query_awareness() -> None:
    assert encode_query_awareness() == b"\x03"


def test_encode_permission_denied() -> None:
    assert encode_permission_denied("denied") == b"\x02\x00\x06denied"


def test_encode_permission_denied_prefixes_utf8_byte_length_not_character_count() -> None:
    assert encode_permission_denied("\xe9!") == b"\x02\x00\x03\xc3\xa9!"


def test_encode_update_of_200_bytes_uses_two_byte_length() -> None:
    assert encode_update(PAYLOAD_200) == b"\x00\x02\xc8\x01" + PAYLOAD_200


def test_encode_sync_step1_of_empty_payload() -> None:
    assert encode_sync_step1(b"") == b"\x00\x00\x00"


# Encoding then decoding.


ROUND_TRIPS: list[tuple[bytes, Message]] = [
    (encode_sync_step1(b"\x01\x01\x04"), SyncStep1(b"\x01\x01\x04")),
    (encode_sync_step2(b"\x00\x00"), SyncStep2(b"\x00\x00")),
    (encode_update(PAYLOAD_200), SyncUpdate(PAYLOAD_200)),
    (encode_awareness(b"\x00"), AwarenessUpdate(b"\x00")),
    (encode_query_awareness(), QueryAwareness()),
    (
        encode_permission_denied("read-only \u2014 \U0001f512"),
        PermissionDenied("read-only \u2014 \U0001f512"),
    ),
]


@pytest.mark.parametrize(
    ("frame", "message"),
    ROUND_TRIPS,
    ids=["step1", "step2", "update", "awareness", "query-awareness", "permission-denied"],
)
def test_encoded_frame_decodes_to_its_message(frame: bytes, message: Message) -> None:
    assert decode_message(frame) == message


# Malformed frames.


MALFORMED: dict[str, tuple[bytes, str]] = {
    "empty frame": (b"", "truncated varuint"),
    "truncated message type": (b"\x80", "truncated varuint"),
    "sync without sync type": (b"\x00", "truncated varuint"),
    "sync without payload length": (b"\x00\x00", "truncated varuint"),
    "sync with truncated payload length": (b"\x00\x02\x80", "truncated varuint"),
    "awareness without payload length": (b"\x01", "truncated varuint"),
    "auth without auth type": (b"\x02", "truncated varuint"),
    "auth without reason length": (b"\x02\x00", "truncated varuint"),
    "message type of nine bytes": (
        b"\x83\x80\x80\x80\x80\x80\x80\x80\x00",
        "varuint longer than",
    ),
    "payload length of nine bytes": (
        b"\x01\xff\xff\xff\xff\xff\xff\xff\xff\x7f",
        "varuint longer than",
    ),
    "sync payload shorter than declared": (b"\x00\x02\x05abcd", "payload declares 5 bytes"),
    "awareness payload missing": (b"\x01\x01", "payload declares 1 bytes"),
    "reason shorter than declared": (b"\x02\x00\x03ab", "payload declares 3 bytes"),
    "two-byte length, one byte short": (
        b"\x00\x02\xc8\x01" + PAYLOAD_200[:-1],
        "payload declares 200 bytes but only 199 remain",
    ),
    "huge declared length": (b"\x01\xff\xff\xff\xff\x0fabc", "payload declares"),
    "query awareness with trailing byte": (b"\x03\x00", "trailing bytes"),
    "sync step1 with trailing byte": (b"\x00\x00\x01\x00\x00", "trailing bytes"),
    "awareness with trailing byte": (b"\x01\x00\xff", "trailing bytes"),
    "permission denied with trailing byte": (b"\x02\x00\x00!", "trailing bytes"),
    "message type 4": (b"\x04", "unknown message type 4"),
    "message type 127": (b"\x7f", "unknown message type 127"),
    "message type 200 as two-byte varuint": (b"\xc8\x01", "unknown message type 200"),
    "sync type 3": (b"\x00\x03\x00", "unknown sync message type 3"),
    "sync type 128 as two-byte varuint": (b"\x00\x80\x01\x00", "unknown sync message type 128"),
    "auth type 1": (b"\x02\x01\x00", "unknown auth message type 1"),
    "reason with invalid byte": (b"\x02\x00\x01\xff", "not valid UTF-8"),
    "reason with bad continuation byte": (b"\x02\x00\x02\xc3\x28", "not valid UTF-8"),
    "reason with truncated sequence": (b"\x02\x00\x01\xc3", "not valid UTF-8"),
    "reason with encoded surrogate": (b"\x02\x00\x03\xed\xa0\x80", "not valid UTF-8"),
    "reason with overlong encoding": (b"\x02\x00\x02\xc0\xaf", "not valid UTF-8"),
}


@pytest.mark.parametrize(("frame", "match"), MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_frame_raises_protocol_error(frame: bytes, match: str) -> None:
    with pytest.raises(ProtocolError, match=match):
        decode_message(frame)


def test_protocol_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown message type 4"):
        decode_message(b"\x04")


# The reader.


def test_reader_reads_multi_byte_varuint() -> None:
    reader = Reader(b"\xc8\x01")
    assert reader.var_uint() == 200
    assert reader.exhausted


def test_reader_reads_length_prefixed_bytes() -> None:
    reader = Reader(b"\x02ab\x01c")
    assert reader.var_bytes() == b"ab"
    assert not reader.exhausted
    assert reader.var_bytes() == b"c"
    assert reader.exhausted


def test_reader_refuses_to_read_past_the_end() -> None:
    reader = Reader(b"\x01")
    assert reader.var_uint() == 1
    with pytest.raises(ProtocolError, match="truncated varuint"):
        reader.var_uint()


# Properties.


@PROPERTY
@given(st.binary(max_size=64))
def test_decode_arbitrary_bytes_returns_message_or_raises_protocol_error(frame: bytes) -> None:
    try:
        message = decode_message(frame)
    except ProtocolError:
        return
    assert isinstance(
        message,
        SyncStep1 | SyncStep2 | SyncUpdate | AwarenessUpdate | QueryAwareness | PermissionDenied,
    )


HEADERS: list[tuple[bytes, type[Message]]] = [
    (b"\x00\x00", SyncStep1),
    (b"\x00\x01", SyncStep2),
    (b"\x00\x02", SyncUpdate),
    (b"\x01", AwarenessUpdate),
    (b"\x02\x00", PermissionDenied),
]


@pytest.mark.parametrize(
    ("header", "message_class"),
    HEADERS,
    ids=["step1", "step2", "update", "awareness", "permission-denied"],
)
@PROPERTY
@given(rest=st.binary(max_size=64))
def test_decode_arbitrary_bytes_after_a_valid_header_keeps_the_message_type(
    header: bytes, message_class: type[Message], rest: bytes
) -> None:
    try:
        message = decode_message(header + rest)
    except ProtocolError:
        return
    assert isinstance(message, message_class)


PAYLOAD_ENCODERS: list[tuple[Callable[[bytes], bytes], Callable[[bytes], Message]]] = [
    (encode_sync_step1, SyncStep1),
    (encode_sync_step2, SyncStep2),
    (encode_update, SyncUpdate),
    (encode_awareness, AwarenessUpdate),
]
ENCODER_IDS = ["step1", "step2", "update", "awareness"]


@pytest.mark.parametrize(("encode", "message_class"), PAYLOAD_ENCODERS, ids=ENCODER_IDS)
@PROPERTY
@given(payload=st.binary(max_size=300))
def test_decode_inverts_payload_encoder(
    encode: Callable[[bytes], bytes], message_class: Callable[[bytes], Message], payload: bytes
) -> None:
    assert decode_message(encode(payload)) == message_class(payload)


def _permission_denied_frame(payload: bytes) -> bytes:
    return encode_permission_denied(payload.decode("utf-8", "replace"))


def _query_awareness_frame(payload: bytes) -> bytes:
    return encode_query_awareness()


# Every encoder, as a function of bytes, for the properties that only look at the framing.
FRAME_ENCODERS: list[Callable[[bytes], bytes]] = [
    *(encode for encode, _ in PAYLOAD_ENCODERS),
    _permission_denied_frame,
    _query_awareness_frame,
]
FRAME_ENCODER_IDS = [*ENCODER_IDS, "permission-denied", "query-awareness"]


@PROPERTY
@given(st.text(max_size=100))
def test_decode_inverts_encode_permission_denied(reason: str) -> None:
    assert decode_message(encode_permission_denied(reason)) == PermissionDenied(reason)


@pytest.mark.parametrize("encode", FRAME_ENCODERS, ids=FRAME_ENCODER_IDS)
@PROPERTY
@given(payload=st.binary(max_size=300), data=st.data())
def test_every_proper_prefix_of_an_encoded_frame_is_refused(
    encode: Callable[[bytes], bytes],
    payload: bytes,
    data: st.DataObject,
) -> None:
    frame = encode(payload)
    cut = data.draw(st.integers(min_value=0, max_value=len(frame) - 1))
    with pytest.raises(ProtocolError):
        decode_message(frame[:cut])


@pytest.mark.parametrize("encode", FRAME_ENCODERS, ids=FRAME_ENCODER_IDS)
@PROPERTY
@given(payload=st.binary(max_size=300), suffix=st.binary(min_size=1, max_size=8))
def test_encoded_frame_followed_by_anything_is_refused(
    encode: Callable[[bytes], bytes],
    payload: bytes,
    suffix: bytes,
) -> None:
    with pytest.raises(ProtocolError, match="trailing bytes"):
        decode_message(encode(payload) + suffix)
