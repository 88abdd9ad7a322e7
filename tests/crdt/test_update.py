"""The update decoder: every struct and deletion as written, refusal of malformed bytes."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pycrdt import Array, Doc, Map, Text, XmlElement, XmlFragment, XmlText, write_var_uint

from crdt.protocol import ProtocolError
from crdt.update import (
    MAX_ANY_DEPTH,
    Content,
    decode_update,
    utf16_length,
    visible_copy,
    without_right_origins,
)
from tests.support.encoding import var

PROPERTY = settings(database=None, max_examples=60, deadline=None)


def every_kind() -> bytes:
    """A document of client 7 with text, formatting, deletions, maps, arrays and XML."""
    doc: Doc[Any] = Doc(client_id=7)
    text = doc.get("text", type=Text)
    text += "hé 😀 w"
    text.format(0, 2, {"bold": True})
    del text[1:3]
    doc.get("meta", type=Map)["title"] = {"x": [1, 2.5, None, True, "s"]}
    array = doc.get("list", type=Array)
    array.extend([1, "two", {"three": 3}])
    fragment = doc.get("default", type=XmlFragment)
    paragraph = fragment.children.append(XmlElement("paragraph", {"level": "1"}))
    paragraph.children.append(XmlText("hi"))
    return doc.get_update()


def test_decodes_every_struct_of_a_pycrdt_document() -> None:
    data = every_kind()
    update = decode_update(data)
    assert update.clients() == [7]
    structs = update.structs
    # Clocks are contiguous from 0 and the lengths add up to the state vector's clock.
    clock = 0
    for struct in structs:
        assert (struct.client, struct.clock) == (7, clock)
        clock = struct.last
    doc: Doc[Any] = Doc()
    doc.apply_update(data)
    assert doc.get_state() == b"\x01\x07" + write_var_uint(clock)
    kinds = {struct.content for struct in structs}
    assert {Content.STRING, Content.FORMAT, Content.ANY, Content.TYPE} <= kinds
    first = structs[0]
    assert (first.parent, first.origin, first.right) == ("text", None, None)
    title = next(s for s in structs if s.parent == "meta")
    assert title.parent_sub == "title"
    types = [s for s in structs if s.content is Content.TYPE]
    assert [t.parent for t in types] == ["default", (7, types[0].clock)]
    attribute = next(s for s in structs if s.parent_sub == "level")
    assert attribute.parent == (7, types[0].clock)
    assert update.deletes  # the two deleted characters
    assert update.structs_end < len(data)


def test_string_length_is_counted_in_utf16_units() -> None:
    assert utf16_length("abc") == 3
    assert utf16_length("é") == 1
    assert utf16_length("😀") == 2
    doc: Doc[Any] = Doc(client_id=3)
    doc.get("t", type=Text).insert(0, "a😀b")
    (struct,) = decode_update(doc.get_update()).structs
    assert struct.length == 4
    assert doc.get_state() == b"\x01\x03\x04"


def test_origins_and_deletions_are_read() -> None:
    doc: Doc[Any] = Doc(client_id=1)
    text = doc.get("t", type=Text)
    text.insert(0, "ac")
    before = doc.get_state()
    text.insert(1, "b")
    (struct,) = decode_update(doc.get_update(before)).structs
    assert (struct.clock, struct.origin, struct.right, struct.parent) == (2, (1, 0), (1, 1), None)
    before = doc.get_state()
    del text[0:2]
    deletion = decode_update(doc.get_update(before))
    assert deletion.blocks == []
    assert sorted(deletion.deletes) == [(1, 0, 1), (1, 2, 1)]


@PROPERTY
@given(st.data())
def test_every_strict_prefix_is_refused(data: st.DataObject) -> None:
    whole = every_kind()
    cut = data.draw(st.integers(min_value=0, max_value=len(whole) - 1))
    with pytest.raises(ProtocolError):
        decode_update(whole[:cut])


ONE_CHAR = var(1, 1, 5, 0) + b"\x04" + var(1, 1) + b"t" + var(1) + b"x" + var(0)

MALFORMED = {
    "trailing bytes": ONE_CHAR + b"\x00",
    "client in two blocks": var(2, 1, 5, 0) + b"\x04" + var(1, 1) + b"t" + var(1) + b"x"
    + var(1, 5, 1) + b"\x84" + var(5, 0) + var(1) + b"y" + var(0),
    "unknown content": var(1, 1, 5, 0) + b"\x0b" + var(1, 1) + b"t" + var(0),
    "unknown shared type": var(1, 1, 5, 0) + b"\x07" + var(1, 1) + b"t" + var(7) + var(0),
    "empty garbage range": var(1, 1, 5, 0) + b"\x00" + var(0) + var(0),
    "clock past 2**53": var(1, 1, 5, 2**53 - 1) + b"\x00" + var(2) + var(0),
    "deleted range past 2**53": var(0) + var(1, 5, 1, 2**53 - 1, 2),
    "too many clients for the bytes": var(100, 1, 5, 0) + b"\x00" + var(1),
    "invalid UTF-8": var(1, 1, 5, 0) + b"\x04" + var(1, 1) + b"t" + var(1) + b"\xff" + var(0),
    "value nested too deeply": var(1, 1, 5, 0) + b"\x08" + var(1, 1) + b"t" + var(1)
    + b"\x75\x01" * 100 + b"\x7e" + var(0),
    "unknown value type": var(1, 1, 5, 0) + b"\x08" + var(1, 1) + b"t" + var(1) + b"\x10"
    + var(0),
}  # fmt: skip


def lib0_int(value: int) -> bytes:
    """lib0's signed varint: sign in bit 0x40 of the first byte, 6 bits there, then 7."""
    rest = abs(value)
    first = (rest & 0x3F) | (0x40 if value < 0 else 0)
    rest >>= 6
    out = [first | (0x80 if rest else 0)]
    while rest:
        out.append((rest & 0x7F) | (0x80 if rest >> 7 else 0))
        rest >>= 7
    return bytes(out)


def lib0_string(value: str) -> bytes:
    encoded = value.encode()
    return var(len(encoded)) + encoded


def values_update(count: int, values: bytes) -> bytes:
    """One ContentAny struct of ``count`` lib0 values in the root array ``a``."""
    return var(1, 1, 5, 0) + b"\x08" + var(1, 1) + b"a" + var(count) + values + var(0)


# Each lib0 value kind, as yjs writes it, and what pycrdt reads from it.
LIB0_VALUES: list[tuple[bytes, Any]] = [
    (b"\x7f", None),  # undefined
    (b"\x7e", None),  # null
    (b"\x79", False),
    (b"\x78", True),
    (b"\x7d" + lib0_int(5), 5),
    (b"\x7d" + lib0_int(-5), -5),
    (b"\x7d" + lib0_int(2**40 + 3), 2**40 + 3),
    (b"\x7d" + lib0_int(-(2**53 - 1)), -(2**53 - 1)),  # 8 bytes: the longest
    (b"\x7c" + bytes.fromhex("3fc00000"), 1.5),  # float32
    (b"\x7b" + bytes.fromhex("400921fb54442d18"), 3.141592653589793),  # float64
    (b"\x7a" + (2**60).to_bytes(8, "big"), 2**60),  # bigint64
    (b"\x77" + lib0_string("hé 😀"), "hé 😀"),
    (b"\x76" + var(2) + lib0_string("k") + b"\x78" + lib0_string("n") + b"\x7e",
     {"k": True, "n": None}),
    (b"\x75" + var(3) + b"\x7d" + lib0_int(1) + b"\x75" + var(0) + b"\x77" + lib0_string("s"),
     [1, [], "s"]),
    (b"\x74" + var(3) + b"\x00\xff\x10", b"\x00\xff\x10"),
]  # fmt: skip


def test_every_lib0_value_kind_is_read_to_its_end() -> None:
    values = b"".join(encoded for encoded, _ in LIB0_VALUES)
    data = values_update(len(LIB0_VALUES), values)
    (struct,) = decode_update(data).structs
    assert (struct.content, struct.length, struct.end) == (
        Content.ANY,
        len(LIB0_VALUES),
        len(data) - 1,
    )
    # pycrdt reads the same bytes as the same values: the reader skipped each one whole.
    doc: Doc[Any] = Doc()
    doc.apply_update(data)
    assert doc.get("a", type=Array).to_py() == [value for _, value in LIB0_VALUES]


@pytest.mark.parametrize(
    "level",
    [b"\x75\x01", b"\x76\x01" + lib0_string("k")],
    ids=["arrays", "objects"],
)
def test_values_nest_up_to_the_depth_limit(level: bytes) -> None:
    deepest = level * MAX_ANY_DEPTH + b"\x7e"
    (struct,) = decode_update(values_update(1, deepest)).structs
    assert struct.length == 1
    with pytest.raises(ProtocolError, match="nested too deeply"):
        decode_update(values_update(1, level + deepest))


def test_the_smallest_entries_fit_their_declared_count() -> None:
    # Three nulls take three bytes; two empty keys with null values, four.
    for values, expected in (
        (b"\x75" + var(3) + b"\x7e" * 3, [None, None, None]),
        (b"\x76" + var(2) + (lib0_string("") + b"\x7e") * 2, {"": None}),
    ):
        data = values_update(1, values)
        assert decode_update(data).structs[0].length == 1
        doc: Doc[Any] = Doc()
        doc.apply_update(data)
        assert doc.get("a", type=Array).to_py() == [expected]


def test_a_signed_varint_has_at_most_eight_bytes() -> None:
    eight = b"\x7d" + b"\xff" * 7 + b"\x01"
    assert decode_update(values_update(1, eight)).structs[0].length == 1
    with pytest.raises(ProtocolError, match="longer than 53 bits"):
        decode_update(values_update(1, b"\x7d" + b"\xff" * 8 + b"\x01"))


@pytest.mark.parametrize("data", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_updates_are_refused(data: bytes) -> None:
    with pytest.raises(ProtocolError):
        decode_update(data)


def test_the_one_char_fixture_is_valid() -> None:
    doc: Doc[Any] = Doc()
    doc.apply_update(ONE_CHAR)
    assert str(doc.get("t", type=Text)) == "x"
    (struct,) = decode_update(ONE_CHAR).structs
    assert (struct.client, struct.clock, struct.length, struct.parent) == (5, 0, 1, "t")


def test_visible_copy_makes_deleted_items_and_marks_take_room() -> None:
    doc: Doc[Any] = Doc(client_id=9)
    text = doc.get("t", type=Text)
    text.insert(0, "abcdef")
    text.format(1, 3, {"bold": True})
    del text[2:5]
    assert str(text) == "abf"
    data = doc.get_update()
    copy: Doc[Any] = Doc()
    copy.apply_update(visible_copy(data))
    shown = str(copy.get("t", type=Text))
    # Every clock of the text takes room: 6 characters and 2 formatting marks.
    assert len(shown) == 8
    assert shown.replace("-", "") == "abf"
    assert copy.get_state() == doc.get_state()


def test_visible_copy_cuts_a_deleted_run_of_types_into_one_empty_type_each() -> None:
    doc: Doc[Any] = Doc(client_id=9)
    fragment = doc.get("default", type=XmlFragment)
    fragment.children.append(XmlElement("hr"))  # 9:0, kept
    fragment.children.insert(0, XmlElement("p"))  # 9:1, before the rule
    fragment.children.insert(1, XmlElement("q"))  # 9:2, after 9:1
    del fragment.children[0:2]
    data = doc.get_update()
    deleted = [s for s in decode_update(data).structs if s.content is Content.DELETED]
    # The two deleted elements are one run of two clocks, both of them types.
    assert [(s.clock, s.length, s.origin, s.right) for s in deleted] == [(1, 2, None, (9, 0))]

    def types_in(client: int, start: int, end: int) -> list[int]:
        return [clock for clock in (1, 2) if client == 9 and start <= clock < end]

    copy = visible_copy(data, types_in=types_in)
    pieces = [s for s in decode_update(copy).structs if s.clock > 0]
    # The first piece keeps the run's origins; the second follows it, up to the same
    # right origin.
    assert [(s.clock, s.length, s.content, s.origin, s.right) for s in pieces] == [
        (1, 1, Content.TYPE, None, (9, 0)),
        (2, 1, Content.TYPE, (9, 1), (9, 0)),
    ]
    shown: Doc[Any] = Doc()
    shown.apply_update(copy)
    children = list(shown.get("default", type=XmlFragment).children)
    assert [type(child).__name__ for child in children] == ["XmlText", "XmlText", "XmlElement"]
    assert shown.get_state() == doc.get_state()


def test_visible_copy_makes_collected_structs_collected_ranges() -> None:
    doc: Doc[Any] = Doc(client_id=9)
    text = doc.get("t", type=Text)
    text.insert(0, "abcd")  # 9:0-3
    text.insert(0, "z")  # 9:4
    data = doc.get_update()
    copy = decode_update(visible_copy(data, collected=frozenset({(9, 4)})))
    assert [(s.clock, s.length, s.content) for s in copy.structs] == [
        (0, 4, Content.STRING),
        (4, 1, Content.GC),
    ]


def test_without_right_origins_leaves_out_only_the_named_right_origins() -> None:
    doc: Doc[Any] = Doc(client_id=1)
    text = doc.get("t", type=Text)
    text.insert(0, "ad")
    base, before = doc.get_update(), doc.get_state()
    text.insert(1, "c")  # 1:2, between "a" and "d"
    text.insert(1, "b")  # 1:3, between "a" and "c"
    del text[0:1]
    data = doc.get_update(before)
    update = decode_update(data)
    rewritten = decode_update(without_right_origins(data, update, {(1, 3)}))
    assert [(s.clock, s.origin, s.right) for s in update.structs] == [
        (2, (1, 0), (1, 1)),
        (3, (1, 0), (1, 2)),
    ]
    assert [(s.clock, s.origin, s.right) for s in rewritten.structs] == [
        (2, (1, 0), (1, 1)),
        (3, (1, 0), None),
    ]
    assert rewritten.deletes == update.deletes == [(1, 0, 1)]
    assert without_right_origins(data, update, set()) == data
    # What is left is an update pycrdt takes: "b" right after "a", before "c".
    copy: Doc[Any] = Doc()
    copy.apply_update(base)
    copy.apply_update(without_right_origins(data, update, {(1, 3)}))
    assert str(copy.get("t", type=Text)) == "bcd"
