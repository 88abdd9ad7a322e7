"""Comment anchors: Yjs relative positions decoded strictly, checked, and resolved.

The literal vectors below were produced by yjs 13.6 (``Y.encodeRelativePosition`` and
``Y.encodeStateAsUpdate``) with this script, run in ``tests/interop``::

    const doc = new Y.Doc(); doc.clientID = 2969592046
    const fragment = doc.getXmlFragment('default')
    const p0 = new Y.XmlElement('paragraph')
    const t0 = new Y.XmlText('The quick brown fox jumps over the lazy dog')
    p0.insert(0, [t0])
    const p1 = new Y.XmlElement('paragraph')
    const t1 = new Y.XmlText('Pack my box with five dozen liquor jugs')
    p1.insert(0, [t1])
    fragment.insert(0, [p0, p1])
    doc.getText('text').insert(0, 'notes')
    // BASE = encodeStateAsUpdate(doc); positions: createRelativePositionFromTypeIndex
    // ASCII_EDIT: client 1234 deletes "quick " and inserts "Yesterday, " at 0 of t0
    // UNICODE_EDIT: client 5678 inserts "Café 🦊 " at 0 of t0
    // and createAbsolutePositionFromRelativePosition(...).index after each edit.

Clocks of client 2969592046 in BASE: paragraph 0 is 0, its XmlText 1, its characters
2..44; paragraph 1 is 45, its XmlText 46, its characters 47..85; "notes" 86..90.
"""

from __future__ import annotations

import contextlib
from functools import cache
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pycrdt import Doc, StickyIndex, XmlElement, XmlFragment, XmlText

from crdt.anchors import (
    CONTENT_ROOT,
    MAX_ANCHOR_BYTES,
    PositionKind,
    RelativePosition,
    anchor_index,
    canonical,
    check_in_document,
    decode_relative_position,
)
from crdt.document import SyncDocument, decode_state_vector
from crdt.protocol import ProtocolError
from tests.support.encoding import var

# No example database: the suite must not leave a .hypothesis directory in the repository.
PROPERTY = settings(database=None, max_examples=300)

CLIENT = 2969592046  # varuint ee c1 81 88 0b
CLIENT_HEX = "eec181880b"

BASE = bytes.fromhex(
    "0107eec181880b0007010764656661756c7403097061726167726170680700eec181880b000604"
    "00eec181880b012b54686520717569636b2062726f776e20666f78206a756d7073206f76657220"
    "746865206c617a7920646f6787eec181880b0003097061726167726170680700eec181880b2d06"
    "0400eec181880b2e275061636b206d7920626f782077697468206669766520646f7a656e206c69"
    "71756f72206a75677304010474657874056e6f74657300"
)
BASE_STATE_VECTOR = bytes.fromhex("01eec181880b5b")  # {CLIENT: 91}
PASSAGE = "brown fox"

# createRelativePositionFromTypeIndex(t0, 10, 0): before "brown", sticking to the "b".
START = bytes.fromhex("00eec181880b0c00")
# createRelativePositionFromTypeIndex(t0, 19, -1): after "fox", sticking to the "x".
END = bytes.fromhex("00eec181880b1441")
# createRelativePositionFromTypeIndex(t0, t0.length, 0): the end of the XmlText.
TYPE_END = bytes.fromhex("02eec181880b0100")
# createRelativePositionFromTypeIndex(fragment, fragment.length, 0): the root's end.
ROOT_END = bytes.fromhex("010764656661756c7400")
# createRelativePositionFromTypeIndex(fragment, 1, 0): before paragraph 1.
SECOND_PARAGRAPH = bytes.fromhex("00eec181880b2d00")
# createRelativePositionFromTypeIndex(t1, 0, 0): the start of paragraph 1's text.
SECOND_TEXT_START = bytes.fromhex("00eec181880b2f00")
# createRelativePositionFromTypeIndex(doc.getText('text'), 2, 0): inside "notes".
NOTES = bytes.fromhex("00eec181880b5800")

ASCII_EDIT = bytes.fromhex("0101d2090044eec181880b020b5965737465726461792c2001eec181880b010606")
ASCII_TEXT = "Yesterday, The brown fox jumps over the lazy dog"
ASCII_START, ASCII_END = 15, 24  # Yjs's absolute indices after ASCII_EDIT

UNICODE_EDIT = bytes.fromhex("0101ae2c0044eec181880b020b436166c3a920f09fa68a2000")
UNICODE_TEXT = "Café 🦊 The quick brown fox jumps over the lazy dog"
# Yjs counts UTF-16 code units: "Café 🦊 " is 8 of them (the fox is a surrogate pair).
UNICODE_START, UNICODE_END = 18, 27


# lib0 encoding, to build positions field by field.


def var_int(value: int) -> bytes:
    """lib0 ``writeVarInt``: six value bits and a sign bit first, then seven per byte."""
    magnitude = abs(value)
    first = (0x40 if value < 0 else 0) | (magnitude & 0x3F)
    magnitude >>= 6
    out = bytearray([first | (0x80 if magnitude else 0)])
    while magnitude:
        byte = magnitude & 0x7F
        magnitude >>= 7
        out.append(byte | (0x80 if magnitude else 0))
    return bytes(out)


def encode_position(
    kind: int, *, client: int = 0, clock: int = 0, root: str = "", assoc: int | None = 0
) -> bytes:
    """An encoded relative position; ``assoc=None`` leaves the optional assoc out."""
    if kind == PositionKind.ROOT:
        name = root.encode("utf-8")
        body = var(kind) + var(len(name)) + name
    else:
        body = var(kind) + var(client) + var(clock)
    return body + (b"" if assoc is None else var_int(assoc))


def doc_of(*updates: bytes) -> Doc[Any]:
    doc: Doc[Any] = Doc()
    for update in updates:
        doc.apply_update(update)
    return doc


def first_text(doc: Doc[Any]) -> XmlText:
    paragraph = doc.get("default", type=XmlFragment).children[0]
    assert isinstance(paragraph, XmlElement)
    text = paragraph.children[0]
    assert isinstance(text, XmlText)
    return text


def resolve(doc: Doc[Any], data: bytes) -> int | None:
    """``anchor_index``, with a pyo3 panic (a BaseException) turned into a test failure."""
    try:
        return anchor_index(doc, data)
    except BaseException as exc:
        if type(exc).__name__ != "PanicException":
            raise
        raise AssertionError(f"anchor_index panicked on {data.hex()}: {exc}") from None


# Decoding real Yjs output.


@pytest.mark.parametrize(
    ("encoded", "expected"),
    [
        # From the brief: an item position, assoc 0 and assoc -1.
        ("00eec181880b0a00", RelativePosition(PositionKind.ITEM, CLIENT, 10)),
        ("00eec181880b1241", RelativePosition(PositionKind.ITEM, CLIENT, 18, assoc=-1)),
        (START.hex(), RelativePosition(PositionKind.ITEM, CLIENT, 12)),
        (END.hex(), RelativePosition(PositionKind.ITEM, CLIENT, 20, assoc=-1)),
        (TYPE_END.hex(), RelativePosition(PositionKind.TYPE, CLIENT, 1)),
        (ROOT_END.hex(), RelativePosition(PositionKind.ROOT, root="default")),
        (SECOND_PARAGRAPH.hex(), RelativePosition(PositionKind.ITEM, CLIENT, 45)),
        # Yjs 13.6: createRelativePositionFromTypeIndex(t0, 10, 5000) and (..., -5000).
        ("00eec181880b0c884e", RelativePosition(PositionKind.ITEM, CLIENT, 12, assoc=5000)),
        ("00eec181880b0cc84e", RelativePosition(PositionKind.ITEM, CLIENT, 12, assoc=-5000)),
    ],
)
def test_decode_yjs_positions(encoded: str, expected: RelativePosition) -> None:
    assert decode_relative_position(bytes.fromhex(encoded)) == expected


def test_decode_root_name_position_spelled_out() -> None:
    data = b"\x01\x07default\x00"
    assert data == ROOT_END
    assert decode_relative_position(data) == RelativePosition(PositionKind.ROOT, root="default")


def test_decode_keeps_a_non_default_root_name() -> None:
    # Decoding is about form only; check_in_document refuses the name.
    position = decode_relative_position(b"\x01\x04text\x41")
    assert position == RelativePosition(PositionKind.ROOT, root="text", assoc=-1)
    assert decode_relative_position("\x01\x05café\x00".encode()).root == "café"
    assert decode_relative_position(b"\x01\x00\x00").root == ""


@pytest.mark.parametrize(
    ("assoc_hex", "assoc"),
    [
        ("00", 0),
        ("01", 1),
        ("3f", 63),  # the largest one-byte value
        ("41", -1),
        ("7f", -63),
        ("8001", 64),  # continuation: 6 bits, then 7
        ("c001", -64),
        ("bf7f", 8191),
        ("ff7f", -8191),
        ("80807f", 127 << 13),
        ("884e", 5000),
        ("c84e", -5000),
        ("bfffffff0f", 2**31 - 1),
        ("c080808010", -(2**31)),
        ("bfffffffffffff1f", 2**53 - 1),  # Number.MAX_SAFE_INTEGER: 8 bytes
        ("ffffffffffffff1f", -(2**53 - 1)),
        ("40", 0),  # negative zero
        ("c000", 0),  # negative zero, padded
        ("8000", 0),  # zero, padded
    ],
)
def test_decode_signed_varint_assoc(assoc_hex: str, assoc: int) -> None:
    data = bytes.fromhex("00" + CLIENT_HEX + "0c" + assoc_hex)
    assert decode_relative_position(data) == RelativePosition(
        PositionKind.ITEM, CLIENT, 12, assoc=assoc
    )


def test_var_int_helper_matches_the_table() -> None:
    assert var_int(5000).hex() == "884e"
    assert var_int(-5000).hex() == "c84e"
    assert var_int(-1).hex() == "41"
    assert var_int(2**53 - 1).hex() == "bfffffffffffff1f"


def test_assoc_is_optional_as_in_yjs() -> None:
    # Yjs's readRelativePosition reads assoc only `if (decoding.hasContent(decoder))`.
    assert decode_relative_position(bytes.fromhex("00" + CLIENT_HEX + "0c")) == RelativePosition(
        PositionKind.ITEM, CLIENT, 12
    )
    assert decode_relative_position(b"\x01\x07default") == RelativePosition(
        PositionKind.ROOT, root="default"
    )
    assert decode_relative_position(bytes.fromhex("02" + CLIENT_HEX + "01")) == RelativePosition(
        PositionKind.TYPE, CLIENT, 1
    )


def test_decode_large_ids() -> None:
    # lib0 varuints go up to Number.MAX_SAFE_INTEGER (eight bytes).
    big = 2**53 - 1
    data = encode_position(PositionKind.TYPE, client=big, clock=big, assoc=-1)
    assert decode_relative_position(data) == RelativePosition(PositionKind.TYPE, big, big, assoc=-1)
    assert decode_relative_position(b"\x00\x00\x00") == RelativePosition(PositionKind.ITEM)


def test_padded_kind_varint_is_the_same_kind() -> None:
    # 0x80 0x00 is a non-canonical zero; lib0 and yrs read it as 0 too.
    assert decode_relative_position(bytes.fromhex("8000" + CLIENT_HEX + "0c00")) == (
        RelativePosition(PositionKind.ITEM, CLIENT, 12)
    )


def test_largest_anchor_is_accepted() -> None:
    data = encode_position(PositionKind.ROOT, root="r" * (MAX_ANCHOR_BYTES - 2), assoc=None)
    assert len(data) == MAX_ANCHOR_BYTES
    assert decode_relative_position(data).root == "r" * (MAX_ANCHOR_BYTES - 2)


# Refusals.


@pytest.mark.parametrize(
    "encoded",
    [
        pytest.param("", id="empty"),
        pytest.param("03" + CLIENT_HEX + "0c00", id="kind-3"),
        pytest.param("7f", id="kind-127"),
        pytest.param("8001" + CLIENT_HEX + "0c00", id="kind-128-two-bytes"),
        pytest.param("80", id="truncated-kind"),
        pytest.param("00", id="item-without-id"),
        pytest.param("00ee", id="truncated-client"),
        pytest.param("00" + CLIENT_HEX, id="item-without-clock"),
        pytest.param("00" + CLIENT_HEX + "8c", id="truncated-clock"),
        pytest.param("02" + CLIENT_HEX, id="type-without-clock"),
        pytest.param("01", id="root-without-name"),
        pytest.param("0107646566", id="truncated-root-name"),
        pytest.param("01ff", id="truncated-root-length"),
        pytest.param("0102fffe00", id="root-name-not-utf8"),
        pytest.param("0103c328a100", id="root-name-invalid-utf8-sequence"),
        pytest.param("0101ed00", id="root-name-truncated-utf8"),
        pytest.param("00" + CLIENT_HEX + "0c80", id="truncated-assoc"),
        pytest.param("00" + CLIENT_HEX + "0cc0", id="truncated-negative-assoc"),
        pytest.param("00" + CLIENT_HEX + "0c0000", id="trailing-byte"),
        pytest.param("00" + CLIENT_HEX + "0c41ff", id="trailing-byte-after-negative"),
        pytest.param("010764656661756c740000", id="root-trailing-byte"),
        pytest.param("00ffffffffffffffff01" + "0c00", id="client-longer-than-53-bits"),
        pytest.param("00" + CLIENT_HEX + "ffffffffffffffff01", id="clock-longer-than-53-bits"),
        pytest.param("00" + CLIENT_HEX + "0cffffffffffffffff01", id="assoc-longer-than-8-bytes"),
    ],
)
def test_malformed_positions_are_refused(encoded: str) -> None:
    with pytest.raises(ProtocolError):
        decode_relative_position(bytes.fromhex(encoded))


def test_anchors_longer_than_64_bytes_are_refused() -> None:
    root = "r" * (MAX_ANCHOR_BYTES - 2)
    data = encode_position(PositionKind.ROOT, root=root, assoc=0)
    assert len(data) == MAX_ANCHOR_BYTES + 1
    with pytest.raises(ProtocolError, match="64 bytes"):
        decode_relative_position(data)
    # Refused on length alone, before parsing: even a well-formed prefix.
    with pytest.raises(ProtocolError):
        decode_relative_position(START + bytes(MAX_ANCHOR_BYTES))
    with pytest.raises(ProtocolError):
        decode_relative_position(bytes(1000))


def test_unknown_kind_is_named() -> None:
    with pytest.raises(ProtocolError, match="unknown anchor kind 3"):
        decode_relative_position(b"\x03\x01\x01\x00")


# check_in_document against state vectors.


def test_check_accepts_ids_the_document_holds() -> None:
    for data in (START, END, TYPE_END, SECOND_PARAGRAPH, SECOND_TEXT_START):
        check_in_document(decode_relative_position(data), BASE_STATE_VECTOR)
    last = RelativePosition(PositionKind.ITEM, CLIENT, 90)
    check_in_document(last, BASE_STATE_VECTOR)


def test_check_refuses_clocks_the_document_has_not_seen() -> None:
    # The state vector holds the next clock: 91 is the first clock not yet written.
    for kind in (PositionKind.ITEM, PositionKind.TYPE):
        for clock in (91, 92, 2**53 - 1):
            with pytest.raises(ProtocolError, match="does not hold"):
                check_in_document(RelativePosition(kind, CLIENT, clock), BASE_STATE_VECTOR)


def test_check_refuses_unknown_clients() -> None:
    for client in (0, 1234, CLIENT + 1):
        with pytest.raises(ProtocolError):
            check_in_document(RelativePosition(PositionKind.ITEM, client, 0), BASE_STATE_VECTOR)
    # An empty document holds nothing at all.
    with pytest.raises(ProtocolError):
        check_in_document(decode_relative_position(START), Doc().get_state())


def test_check_uses_every_client_of_the_state_vector() -> None:
    doc = doc_of(BASE, ASCII_EDIT, UNICODE_EDIT)
    state_vector = doc.get_state()
    # 1234 wrote "Yesterday, " (11 characters), 5678 "Café 🦊 " (8 UTF-16 units).
    check_in_document(RelativePosition(PositionKind.ITEM, 1234, 10), state_vector)
    check_in_document(RelativePosition(PositionKind.ITEM, 5678, 7, assoc=-1), state_vector)
    with pytest.raises(ProtocolError):
        check_in_document(RelativePosition(PositionKind.ITEM, 1234, 11), state_vector)
    with pytest.raises(ProtocolError):
        check_in_document(RelativePosition(PositionKind.ITEM, 5678, 8), state_vector)


def test_check_root_positions_by_name_only() -> None:
    root = RelativePosition(PositionKind.ROOT, root=CONTENT_ROOT)
    check_in_document(root, BASE_STATE_VECTOR)
    # A root needs no clock: even an empty document has its content root.
    check_in_document(root, Doc().get_state())
    for name in ("text", "Default", "default ", "", "prosemirror"):
        with pytest.raises(ProtocolError, match="root"):
            check_in_document(RelativePosition(PositionKind.ROOT, root=name), BASE_STATE_VECTOR)


def test_check_refuses_items_outside_the_content_root() -> None:
    position = decode_relative_position(NOTES)  # in "notes", the Y.Text('text') root
    assert resolve(doc_of(BASE), NOTES) == 2  # resolvable: it is in the document...
    document = SyncDocument(BASE)
    with pytest.raises(ProtocolError, match="outside"):  # ...but not in its content
        check_in_document(position, BASE_STATE_VECTOR, document.root_of)
    # An item inside the content (nested in paragraphs) passes.
    check_in_document(decode_relative_position(START), BASE_STATE_VECTOR, document.root_of)


def test_check_refuses_a_malformed_state_vector() -> None:
    position = decode_relative_position(START)
    for state_vector in (b"", b"\x01", b"\x01" + bytes.fromhex(CLIENT_HEX), b"\x00\x00"):
        with pytest.raises(ProtocolError):
            check_in_document(position, state_vector)


def test_check_against_a_pycrdt_built_document() -> None:
    doc: Doc[Any] = Doc(client_id=77)
    fragment = doc.get("default", type=XmlFragment)
    paragraph = fragment.children.append(XmlElement("paragraph"))
    paragraph.children.append(XmlText("hello"))
    state_vector = doc.get_state()
    next_clock = decode_state_vector(state_vector)[77]
    assert next_clock > 0
    check_in_document(RelativePosition(PositionKind.ITEM, 77, next_clock - 1), state_vector)
    with pytest.raises(ProtocolError):
        check_in_document(RelativePosition(PositionKind.ITEM, 77, next_clock), state_vector)


# anchor_index on documents built from real Yjs updates.


def test_anchor_index_of_yjs_positions() -> None:
    doc = doc_of(BASE)
    text = str(first_text(doc))
    start, end = resolve(doc, START), resolve(doc, END)
    assert (start, end) == (10, 19)
    assert text[start:end] == PASSAGE
    assert resolve(doc, TYPE_END) == len(text)
    assert resolve(doc, ROOT_END) == 2  # two paragraphs in the fragment
    assert resolve(doc, SECOND_PARAGRAPH) == 1
    assert resolve(doc, SECOND_TEXT_START) == 0


def test_anchor_index_follows_a_remote_edit() -> None:
    doc = doc_of(BASE, ASCII_EDIT)
    text = str(first_text(doc))
    assert text == ASCII_TEXT
    start, end = resolve(doc, START), resolve(doc, END)
    assert (start, end) == (ASCII_START, ASCII_END)
    assert text[start:end] == PASSAGE


def test_anchor_index_follows_local_edits_at_the_boundaries() -> None:
    doc = doc_of(BASE)
    text = first_text(doc)
    # Inserted just before "brown": start sticks to the "b" (assoc 0), so it moves on.
    text.insert(10, "very ")
    # Inserted just after "fox": end sticks to the "x" (assoc -1), so it stays put.
    text.insert(24, " quickly")
    assert str(text) == "The quick very brown fox quickly jumps over the lazy dog"
    start, end = resolve(doc, START), resolve(doc, END)
    assert start is not None and end is not None
    assert str(text)[start:end] == PASSAGE


def test_anchor_index_after_the_passage_is_deleted() -> None:
    doc = doc_of(BASE, ASCII_EDIT)
    text = first_text(doc)
    del text[ASCII_START - 1 : ASCII_END]  # " brown fox"
    assert str(text) == "Yesterday, The jumps over the lazy dog"
    # Both ends collapse onto the place the passage was: the thread is detached.
    assert resolve(doc, START) == resolve(doc, END) == ASCII_START - 1


def test_anchor_index_is_none_once_the_content_is_garbage_collected() -> None:
    doc = doc_of(BASE)
    fragment = doc.get("default", type=XmlFragment)
    del fragment.children[1]  # paragraph 1, and with it its XmlText and characters
    assert resolve(doc, SECOND_TEXT_START) is None
    assert resolve(doc, bytes.fromhex("02" + CLIENT_HEX + "2e00")) is None  # its XmlText
    # The deleted paragraph item itself is kept (as deleted), positions next to it hold.
    assert resolve(doc, SECOND_PARAGRAPH) == 1
    assert resolve(doc, ROOT_END) == 1
    assert resolve(doc, START) == 10


def test_anchor_index_of_a_type_position_naming_a_character_is_none() -> None:
    # Kind 2 names a type; (CLIENT, 3) is a character. It passes the state-vector check,
    # and yrs cannot resolve it: None, not a panic.
    data = bytes.fromhex("02" + CLIENT_HEX + "0300")
    check_in_document(decode_relative_position(data), BASE_STATE_VECTOR)
    assert resolve(doc_of(BASE), data) is None


def _utf8_offset(text: str, utf16_index: int) -> int:
    """The UTF-8 byte offset of the character at a UTF-16 index of ``text``."""
    prefix = text.encode("utf-16-le")[: 2 * utf16_index].decode("utf-16-le")
    return len(prefix.encode())


def test_anchor_index_counts_utf8_bytes_where_yjs_counts_utf16_units() -> None:
    doc = doc_of(BASE, UNICODE_EDIT)
    assert str(first_text(doc)) == UNICODE_TEXT
    # Yjs (createAbsolutePositionFromRelativePosition) gives 18 and 27 here; yrs counts
    # the same places in UTF-8 bytes, as anchor_index documents.
    assert (resolve(doc, START), resolve(doc, END)) == (
        _utf8_offset(UNICODE_TEXT, UNICODE_START),
        _utf8_offset(UNICODE_TEXT, UNICODE_END),
    )


def test_a_position_without_assoc_resolves_in_canonical_form() -> None:
    data = bytes.fromhex("00" + CLIENT_HEX + "0c")
    position = decode_relative_position(data)
    check_in_document(position, BASE_STATE_VECTOR)
    assert resolve(doc_of(BASE), canonical(position)) == 10


@pytest.mark.parametrize("assoc", [128, 5000, -129, -5000, 2**31])
def test_a_large_assoc_resolves_by_its_sign_in_canonical_form(assoc: int) -> None:
    data = encode_position(PositionKind.ITEM, client=CLIENT, clock=12, assoc=assoc)
    position = decode_relative_position(data)
    check_in_document(position, BASE_STATE_VECTOR)
    expected = 10 if assoc >= 0 else 11  # Yjs: assoc < 0 sticks after the left item
    assert resolve(doc_of(BASE), canonical(position)) == expected


def test_anchor_index_accepts_assoc_across_the_i8_range() -> None:
    doc = doc_of(BASE)
    for assoc in (-128, -64, -1, 0, 1, 63, 64, 127):
        data = encode_position(PositionKind.ITEM, client=CLIENT, clock=12, assoc=assoc)
        # Item (CLIENT, 12) is the "b" of "brown" at index 10: assoc >= 0 sits before it,
        # assoc < 0 after it (as Yjs's createAbsolutePositionFromRelativePosition).
        assert resolve(doc, data) == (10 if assoc >= 0 else 11), assoc


# Properties.


@PROPERTY
@given(st.binary(max_size=80))
def test_decode_returns_or_raises_protocol_error(data: bytes) -> None:
    # Anything else, an IndexError or a pyo3 PanicException (a BaseException), fails.
    try:
        position = decode_relative_position(data)
    except ProtocolError:
        return
    assert isinstance(position, RelativePosition)
    assert isinstance(position.kind, PositionKind)
    assert 1 <= len(data) <= MAX_ANCHOR_BYTES


@PROPERTY
@given(st.binary(min_size=1, max_size=12).map(lambda b: START[:4] + b))
def test_decode_near_valid_prefixes(data: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        decode_relative_position(data)


SAFE = 2**53 - 1
positions = st.one_of(
    st.builds(
        lambda kind, client, clock, assoc: (kind, client, clock, "", assoc),
        st.sampled_from([PositionKind.ITEM, PositionKind.TYPE]),
        st.integers(0, SAFE),
        st.integers(0, SAFE),
        st.none() | st.integers(-SAFE, SAFE),
    ),
    st.builds(
        lambda root, assoc: (PositionKind.ROOT, 0, 0, root, assoc),
        st.text(max_size=20),
        st.none() | st.integers(-SAFE, SAFE),
    ),
)


@PROPERTY
@given(positions)
def test_encoded_fields_decode_back(fields: tuple[PositionKind, int, int, str, int | None]) -> None:
    kind, client, clock, root, assoc = fields
    data = encode_position(kind, client=client, clock=clock, root=root, assoc=assoc)
    if len(data) > MAX_ANCHOR_BYTES:
        with pytest.raises(ProtocolError):
            decode_relative_position(data)
        return
    assert decode_relative_position(data) == RelativePosition(
        kind, client, clock, root, 0 if assoc is None else assoc
    )


@PROPERTY
@given(
    st.sampled_from([PositionKind.ITEM, PositionKind.TYPE]),
    st.integers(0, 2**32 - 1),
    st.integers(0, 2**32 - 1),
    st.integers(-128, 127),
)
def test_decoding_agrees_with_yrs(kind: PositionKind, client: int, clock: int, assoc: int) -> None:
    """Where pycrdt can decode a position at all, both read the same fields."""
    data = encode_position(kind, client=client, clock=clock, assoc=assoc)
    ours = decode_relative_position(data)
    theirs = StickyIndex.decode(data).to_json()
    key = "item" if kind is PositionKind.ITEM else "type"
    assert theirs[key] == {"client": ours.client, "clock": ours.clock}
    assert theirs["assoc"] == (-1 if ours.assoc < 0 else 0)


@cache
def busy_document() -> Doc[Any]:
    """BASE with two concurrent remote edits, a local one and a deleted paragraph."""
    doc = doc_of(BASE, ASCII_EDIT, UNICODE_EDIT)
    first_text(doc).insert(3, "!")
    del doc.get("default", type=XmlFragment).children[1]
    return doc


def document_positions(assocs: st.SearchStrategy[int | None]) -> st.SearchStrategy[bytes]:
    """Positions aimed at the busy document: mostly its own ids, some just beyond."""
    state = decode_state_vector(busy_document().get_state())
    clients = st.sampled_from(sorted(state)) | st.integers(0, 2**32 - 1)
    ids = st.builds(
        encode_position,
        st.sampled_from([PositionKind.ITEM, PositionKind.TYPE]),
        client=clients,
        clock=st.integers(0, max(state.values()) + 3),
        assoc=assocs,
    )
    roots = st.builds(
        encode_position,
        st.just(PositionKind.ROOT),
        root=st.sampled_from([CONTENT_ROOT, "text", "other"]),
        assoc=assocs,
    )
    return ids | roots


def _resolves_without_raising(data: bytes) -> None:
    doc = busy_document()
    position = decode_relative_position(data)
    try:
        check_in_document(position, doc.get_state())
    except ProtocolError:
        return
    index = resolve(doc, data)
    assert index is None or index >= 0


@PROPERTY
@given(document_positions(st.integers(-128, 127)))
def test_checked_anchors_resolve_without_raising(data: bytes) -> None:
    """Checked anchors with an assoc pycrdt can read (-128..127) never make it raise."""
    _resolves_without_raising(data)


@PROPERTY
@given(document_positions(st.none() | st.integers(-SAFE, SAFE)))
@example(bytes.fromhex("00" + CLIENT_HEX + "0c"))
@example(bytes.fromhex("00" + CLIENT_HEX + "0c884e"))
def test_all_checked_anchors_resolve_without_raising(data: bytes) -> None:
    """anchor_index never raises, even on positions pycrdt cannot decode."""
    _resolves_without_raising(data)
