"""The server-side document: effective updates, sync-step answers, log compaction."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pycrdt import Doc, Map, Text

from crdt.document import EMPTY_UPDATE, InvalidUpdate, SyncDocument, compact, update_clients

# Client 1 types "ab", then "cd" after it, then deletes "bc": three sequential updates.
INSERT_AB = b"\x01\x01\x01\x00\x04\x01\x01t\x02ab\x00"
INSERT_CD = b"\x01\x01\x01\x02\x84\x01\x01\x02cd\x00"
DELETE_BC = b"\x00\x01\x01\x01\x01\x02"
# "ab" and "cd" from client 1 as one update, and the whole of client 1's history.
STATE_ABCD = b"\x01\x01\x01\x00\x04\x01\x01t\x04abcd\x00"
STATE_AD = (
    b"\x01\x03\x01\x00\x04\x01\x01t\x01a\x81\x01\x00\x02\x84\x01\x02\x01d\x01\x01\x01\x01\x02"
)
# Client 2 types "x" into an empty document.
INSERT_X = b"\x01\x01\x02\x00\x04\x01\x01t\x01x\x00"

# An update that makes yrs panic when applied on top of INSERT_HELLO (found by fuzzing).
INSERT_HELLO = b"\x01\x01\x01\x00\x04\x01\x01t\x05hello\x00"
PANICKING_UPDATE = b"\x01\x00\x01\x01\x00X\x02\x06\x01"

PROPERTY = settings(database=None, max_examples=60, deadline=None)


def text_of(doc: Doc[Any]) -> str:
    return str(doc.get("t", type=Text))


def doc_with(*updates: bytes) -> Doc[Any]:
    doc: Doc[Any] = Doc()
    for update in updates:
        doc.apply_update(update)
    return doc


def single_char_updates(text: str, client_id: int = 1) -> list[bytes]:
    """One update per character, each appended after the previous one."""
    doc: Doc[Any] = Doc(client_id=client_id)
    ytext = doc.get("t", type=Text)
    updates = []
    for char in text:
        before = doc.get_state()
        ytext += char
        updates.append(doc.get_update(before))
    return updates


# The literal vectors above are what pycrdt produces: check them once.


def test_literal_updates_are_what_a_client_produces() -> None:
    doc: Doc[Any] = Doc(client_id=1)
    ytext = doc.get("t", type=Text)
    produced = []
    for edit in ("ab", "cd", None):
        before = doc.get_state()
        if edit is None:
            del ytext[1:3]
        else:
            ytext += edit
        produced.append(doc.get_update(before))
    assert produced == [INSERT_AB, INSERT_CD, DELETE_BC]
    assert doc.get_update() == STATE_AD
    assert text_of(doc) == "ad"


# A new document.


def test_new_document_has_empty_state_vector() -> None:
    assert SyncDocument().state_vector() == b"\x00"


def test_new_document_encodes_as_empty_update() -> None:
    assert SyncDocument().encode_state() == EMPTY_UPDATE == b"\x00\x00"


# apply.


def test_apply_returns_the_update_it_integrated() -> None:
    document = SyncDocument()
    assert document.apply(INSERT_AB) == INSERT_AB
    assert text_of(document.ydoc) == "ab"
    assert document.state_vector() == b"\x01\x01\x02"


def test_apply_same_update_twice_returns_none_the_second_time() -> None:
    document = SyncDocument()
    assert document.apply(INSERT_AB) == INSERT_AB
    assert document.apply(INSERT_AB) is None
    assert text_of(document.ydoc) == "ab"


def test_apply_update_known_from_construction_returns_none() -> None:
    document = SyncDocument(INSERT_AB)
    assert document.apply(INSERT_AB) is None


def test_apply_partly_known_update_returns_only_the_new_part() -> None:
    document = SyncDocument(INSERT_AB)
    assert document.apply(STATE_ABCD) == INSERT_CD
    assert text_of(document.ydoc) == "abcd"


def test_apply_deletion_returns_the_deletion() -> None:
    document = SyncDocument(INSERT_AB, [INSERT_CD])
    assert document.apply(DELETE_BC) == DELETE_BC
    assert text_of(document.ydoc) == "ad"


def test_apply_same_deletion_twice_returns_none_the_second_time() -> None:
    document = SyncDocument(INSERT_AB, [INSERT_CD])
    document.apply(DELETE_BC)
    assert document.apply(DELETE_BC) is None


def test_apply_empty_update_returns_none() -> None:
    document = SyncDocument(INSERT_AB)
    assert document.apply(b"\x00\x00") is None
    assert document.state_vector() == b"\x01\x01\x02"


def test_apply_concurrent_update_from_another_client() -> None:
    document = SyncDocument(INSERT_AB)
    assert document.apply(INSERT_X) == INSERT_X
    assert sorted(text_of(document.ydoc)) == ["a", "b", "x"]
    assert document.diff(doc_with(INSERT_AB, INSERT_X).get_state()) == b"\x00\x00"


GARBAGE = {
    "one byte": b"\x01",
    "lone zero": b"\x00",
    "all ones": b"\xff\xff\xff",
    "text": b"garbage",
    "struct count without structs": b"\x01\x01\x01\x00",
    "truncated update": INSERT_AB[:-3],
}


@pytest.mark.parametrize("garbage", GARBAGE.values(), ids=GARBAGE.keys())
def test_apply_garbage_raises_invalid_update(garbage: bytes) -> None:
    with pytest.raises(InvalidUpdate):
        SyncDocument().apply(garbage)


@pytest.mark.parametrize("garbage", GARBAGE.values(), ids=GARBAGE.keys())
def test_apply_garbage_leaves_document_unchanged(garbage: bytes) -> None:
    document = SyncDocument(INSERT_AB)
    with pytest.raises(InvalidUpdate):
        document.apply(garbage)
    assert document.state_vector() == b"\x01\x01\x02"
    assert document.encode_state() == INSERT_AB


def test_update_that_panics_the_crdt_core_is_refused_before_it() -> None:
    document = SyncDocument(INSERT_HELLO)
    with pytest.raises(InvalidUpdate, match="trailing bytes"):
        document.apply(PANICKING_UPDATE)


def test_document_stays_usable_after_a_panicking_update() -> None:
    document = SyncDocument(INSERT_HELLO)
    with pytest.raises(InvalidUpdate):
        document.apply(PANICKING_UPDATE)
    assert document.encode_state() == INSERT_HELLO
    assert document.apply(INSERT_X) == INSERT_X
    assert sorted(text_of(document.ydoc)) == sorted("hellox")


def test_invalid_update_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="update"):
        SyncDocument().apply(b"garbage")


# Missing dependencies.


def test_update_with_missing_dependency_changes_nothing_visible() -> None:
    document = SyncDocument()
    assert document.apply(INSERT_CD) is None
    assert text_of(document.ydoc) == ""
    assert document.state_vector() == b"\x00"


def test_update_with_missing_dependency_is_integrated_when_the_dependency_arrives() -> None:
    document = SyncDocument()
    document.apply(INSERT_CD)
    relayed = document.apply(INSERT_AB)
    assert relayed is not None
    assert text_of(doc_with(relayed)) == "abcd"
    assert text_of(document.ydoc) == "abcd"


def test_effective_updates_bring_a_peer_up_to_date_despite_reordering() -> None:
    document = SyncDocument()
    relayed = [document.apply(update) for update in (DELETE_BC, INSERT_CD, INSERT_AB)]
    assert relayed[:2] == [None, None]
    assert relayed[2] is not None
    assert text_of(doc_with(relayed[2])) == "ad"
    assert text_of(document.ydoc) == "ad"


# Client 1 inserts a, b, c, d, e, f at indexes 0, 1, 1, 1, 3, 1 (text "afdceb"):
# one update per character, clocks 0 to 5.
INSERTS_AFDCEB = [
    b"\x01\x01\x01\x00\x04\x01\x01t\x01a\x00",
    b"\x01\x01\x01\x01\x84\x01\x00\x01b\x00",
    b"\x01\x01\x01\x02\xc4\x01\x00\x01\x01\x01c\x00",
    b"\x01\x01\x01\x03\xc4\x01\x00\x01\x02\x01d\x00",
    b"\x01\x01\x01\x04\xc4\x01\x02\x01\x01\x01e\x00",
    b"\x01\x01\x01\x05\xc4\x01\x00\x01\x03\x01f\x00",
]


def test_inserts_afdceb_are_what_a_client_produces() -> None:
    doc: Doc[Any] = Doc(client_id=1)
    ytext = doc.get("t", type=Text)
    produced = []
    for index, char in zip([0, 1, 1, 1, 3, 1], "abcdef", strict=True):
        before = doc.get_state()
        ytext.insert(index, char)
        produced.append(doc.get_update(before))
    assert produced == INSERTS_AFDCEB
    assert text_of(doc) == "afdceb"


def test_many_pending_updates_are_all_integrated_when_their_dependencies_arrive() -> None:
    document = SyncDocument()
    for clock in (1, 5, 2, 4, 0, 3):
        document.apply(INSERTS_AFDCEB[clock])
    assert text_of(document.ydoc) == "afdceb"
    assert document.state_vector() == b"\x01\x01\x06"


def test_many_pending_updates_are_integrated_in_another_order() -> None:
    document = SyncDocument()
    for clock in (5, 4, 3, 2, 1):
        assert document.apply(INSERTS_AFDCEB[clock]) is None
    relayed = document.apply(INSERTS_AFDCEB[0])
    assert relayed is not None
    assert text_of(doc_with(relayed)) == "afdceb"
    assert document.state_vector() == b"\x01\x01\x06"


# diff.


def test_diff_against_empty_state_vector_is_the_whole_document() -> None:
    document = SyncDocument(INSERT_AB, [INSERT_CD])
    assert document.diff(b"\x00") == STATE_ABCD


def test_diff_yields_exactly_what_the_peer_lacks() -> None:
    document = SyncDocument(INSERT_AB, [INSERT_CD])
    peer = doc_with(INSERT_AB)
    missing = document.diff(peer.get_state())
    assert missing == INSERT_CD
    peer.apply_update(missing)
    assert text_of(peer) == "abcd"


def test_diff_against_own_state_vector_is_empty() -> None:
    document = SyncDocument(INSERT_AB, [INSERT_CD])
    assert document.diff(document.state_vector()) == b"\x00\x00"


def test_diff_for_peer_ahead_of_the_server_is_empty() -> None:
    document = SyncDocument(INSERT_AB)
    peer = doc_with(INSERT_AB, INSERT_CD, INSERT_X)
    assert document.diff(peer.get_state()) == b"\x00\x00"


def test_diff_for_peer_with_other_client_omits_that_client() -> None:
    document = SyncDocument(INSERT_AB, [INSERT_X])
    peer = doc_with(INSERT_X)
    missing = document.diff(peer.get_state())
    assert missing == INSERT_AB
    peer.apply_update(missing)
    assert text_of(peer) == text_of(document.ydoc)


def test_diff_carries_deletions() -> None:
    document = SyncDocument(INSERT_AB, [INSERT_CD, DELETE_BC])
    peer = doc_with(INSERT_AB, INSERT_CD)
    peer.apply_update(document.diff(peer.get_state()))
    assert text_of(peer) == "ad"


INVALID_STATE_VECTORS = {
    "empty": b"",
    "truncated count": b"\xff",
    "count without entries": b"\x01",
    "entry without clock": b"\x01\x01",
    "text": b"garbage",
}


@pytest.mark.parametrize(
    "state_vector", INVALID_STATE_VECTORS.values(), ids=INVALID_STATE_VECTORS.keys()
)
def test_diff_with_invalid_state_vector_raises_invalid_update(state_vector: bytes) -> None:
    with pytest.raises(InvalidUpdate, match="invalid state vector"):
        SyncDocument(INSERT_AB).diff(state_vector)


# Construction and compaction.


def test_construct_from_snapshot_and_updates_reproduces_content() -> None:
    document = SyncDocument(INSERT_AB, [INSERT_CD, DELETE_BC])
    assert text_of(document.ydoc) == "ad"
    assert document.encode_state() == STATE_AD


def test_construct_from_updates_only() -> None:
    document = SyncDocument(None, [INSERT_AB, INSERT_CD])
    assert document.encode_state() == STATE_ABCD


def test_construct_skips_empty_snapshot_and_updates() -> None:
    document = SyncDocument(b"", [b"", INSERT_AB, b""])
    assert document.encode_state() == INSERT_AB


def test_construct_from_compacted_log_equals_construct_from_log() -> None:
    log = [INSERT_CD, INSERT_X, DELETE_BC]
    compacted = SyncDocument(compact(INSERT_AB, log))
    replayed = SyncDocument(INSERT_AB, log)
    assert compacted.state_vector() == replayed.state_vector()
    assert text_of(compacted.ydoc) == text_of(replayed.ydoc)


def test_compact_nothing_is_the_empty_update() -> None:
    assert compact(None, []) == b"\x00\x00"


def test_compact_snapshot_alone_is_the_snapshot() -> None:
    assert compact(INSERT_AB, []) == INSERT_AB


def test_compact_sequential_inserts_into_one_update() -> None:
    assert compact(INSERT_AB, [INSERT_CD]) == STATE_ABCD


def test_compact_keeps_deletions() -> None:
    assert compact(None, [INSERT_AB, INSERT_CD, DELETE_BC]) == STATE_AD


def test_compact_skips_empty_entries() -> None:
    assert compact(b"", [b"", INSERT_AB, b""]) == INSERT_AB


def test_compact_integrates_out_of_order_log() -> None:
    assert compact(None, [DELETE_BC, INSERT_CD, INSERT_AB]) == STATE_AD


def test_compact_equals_applying_everything() -> None:
    log = [INSERT_CD, INSERT_X, DELETE_BC]
    compacted = doc_with(compact(INSERT_AB, log))
    applied = doc_with(INSERT_AB, *log)
    assert compacted.get_state() == applied.get_state()
    assert text_of(compacted) == text_of(applied)


def test_compact_two_thousand_single_character_updates() -> None:
    text = "".join(chr(ord("a") + i % 26) for i in range(2000))
    updates = single_char_updates(text)
    assert len(updates) == 2000
    compacted = compact(None, updates)
    assert text_of(doc_with(compacted)) == text
    assert SyncDocument(compacted).state_vector() == b"\x01\x01\xd0\x0f"


# Properties.


@st.composite
def concurrent_edits(draw: st.DrawFn) -> tuple[list[list[bytes]], str]:
    """Two clients editing one text, syncing now and then.

    Returns each client's updates, in the order it produced them, and the text both
    clients hold once fully synced.
    """
    docs: list[Doc[Any]] = [Doc(client_id=1), Doc(client_id=2)]
    texts = [doc.get("t", type=Text) for doc in docs]
    updates: list[list[bytes]] = [[], []]
    for _ in range(draw(st.integers(min_value=1, max_value=12))):
        who = draw(st.integers(min_value=0, max_value=1))
        doc, ytext = docs[who], texts[who]
        before = doc.get_state()
        length = len(str(ytext))
        if length and draw(st.booleans()):
            start = draw(st.integers(min_value=0, max_value=length - 1))
            stop = draw(st.integers(min_value=start + 1, max_value=length))
            del ytext[start:stop]
        else:
            index = draw(st.integers(min_value=0, max_value=length))
            ytext.insert(index, draw(st.text(alphabet="xyz", min_size=1, max_size=3)))
        update = doc.get_update(before)
        updates[who].append(update)
        if draw(st.booleans()):
            docs[1 - who].apply_update(update)
    for doc, other in ((docs[0], docs[1]), (docs[1], docs[0])):
        other.apply_update(doc.get_update(other.get_state()))
    assert str(texts[0]) == str(texts[1])
    return updates, str(texts[0])


@PROPERTY
@given(concurrent_edits(), st.data())
def test_relaying_effective_updates_converges_whatever_the_interleaving(
    edits: tuple[list[list[bytes]], str], data: st.DataObject
) -> None:
    # Each client's connection is ordered; the two connections interleave arbitrarily,
    # so one client's updates may arrive before those of the other they depend on.
    per_client, final_text = edits
    queues = [list(updates) for updates in per_client]
    document = SyncDocument()
    peer: Doc[Any] = Doc()
    while queues[0] or queues[1]:
        who = data.draw(st.sampled_from([i for i, queue in enumerate(queues) if queue]))
        relayed = document.apply(queues[who].pop(0))
        if relayed is not None:
            peer.apply_update(relayed)
    assert text_of(document.ydoc) == final_text
    assert text_of(peer) == final_text
    assert peer.get_state() == document.state_vector()


@PROPERTY
@given(concurrent_edits())
def test_compact_of_any_log_equals_applying_it(edits: tuple[list[list[bytes]], str]) -> None:
    per_client, final_text = edits
    log = [update for updates in per_client for update in updates]
    assert text_of(doc_with(compact(None, log))) == final_text


def test_whole_state_for_an_empty_peer_is_encoded_once_until_the_next_change() -> None:
    doc = SyncDocument(INSERT_HELLO)
    first = doc.diff(b"\x00")
    assert text_of(doc_with(first)) == "hello"
    assert doc.diff(b"\x00") is first  # no second encoding
    assert doc.encode_state() is first
    doc.apply(INSERT_X)
    after = doc.diff(b"\x00")
    assert after is not first
    assert doc_with(after).get_state() == doc.state_vector()
    assert doc_with(after).get_update() == doc.ydoc.get_update()


@PROPERTY
@given(st.text(alphabet="abc", min_size=1, max_size=12), st.integers(0, 11))
def test_whole_state_is_always_current(text: str, cut: int) -> None:
    updates = single_char_updates(text)
    cut = min(cut, len(updates))
    doc = SyncDocument(None, updates[:cut])
    doc.diff(b"\x00")  # cached before the rest arrives
    for update in updates[cut:]:
        doc.apply(update)
        assert text_of(doc_with(doc.diff(b"\x00"))) == text_of(doc.ydoc)
    assert text_of(doc_with(doc.diff(b"\x00"))) == text


def test_a_struct_past_a_gap_waits_for_the_gap_to_close() -> None:
    # pycrdt alone would show a struct whose client skipped clock 0 (and report no
    # update); the server keeps it aside until clock 0 arrives, as a Yjs client does.
    source: Doc[Any] = Doc(client_id=777)
    updates: list[bytes] = []
    source.observe(lambda event: updates.append(event.update))
    source.get("meta", type=Map)["title"] = "draft"  # clock 0, sent last
    source.get("text", type=Text).insert(0, "ghost")  # clocks 1-5
    title, ghost = updates
    document = SyncDocument()
    assert document.apply(ghost) is None
    assert document.apply(ghost) is None  # a duplicate waits beside it
    assert document.waiting == 2
    assert document.state_vector() == b"\x00"
    relayed = document.apply(title)
    assert relayed is not None
    assert doc_with(relayed).get("text", type=Text).to_py() == "ghost"
    assert document.ydoc.get("text", type=Text).to_py() == "ghost"
    assert document.waiting == 0


def _typed(client_id: int, value: str, base: bytes | None = None) -> tuple[Doc[Any], bytes]:
    """A document of ``client_id`` (on top of ``base``) and the update of typing ``value``."""
    doc: Doc[Any] = Doc(client_id=client_id)
    if base:
        doc.apply_update(base)
    before = doc.get_state()
    doc.get("text", type=Text).insert(0, value)
    return doc, doc.get_update(before)


def test_update_clients_reads_the_one_client_of_a_typing_update() -> None:
    _, update = _typed(1234, "hi")
    assert update_clients(update) == [1234]
    assert update_clients(EMPTY_UPDATE) == []
    assert update_clients(b"\x80") is None  # truncated varuint


def test_update_clients_gives_up_on_several_clients() -> None:
    a, _ = _typed(1, "a")
    b, _ = _typed(2, "b", a.get_update())
    assert update_clients(b.get_update()) is None


def test_new_struct_clients_names_only_what_the_document_lacks() -> None:
    a, first = _typed(1, "abc")
    document = SyncDocument()
    assert document.new_struct_clients(first) == [1]
    document.apply(first)
    assert document.new_struct_clients(first) == []
    # A diff that starts past clock 0 (pycrdt's get_state of it would name no client).
    _, more = _typed(1, "d", a.get_update())
    assert document.new_struct_clients(more) == [1]
    # Two clients, one of them known: only the other.
    b, _ = _typed(2, "e", a.get_update())
    assert document.new_struct_clients(b.get_update()) == [2]
    # Nothing new, but several known clients: nothing.
    document.apply(b.get_update())
    assert document.new_struct_clients(b.get_update()) == []


def test_new_struct_clients_refuses_bytes_that_are_not_an_update() -> None:
    with pytest.raises(InvalidUpdate):
        SyncDocument().new_struct_clients(b"\x01\x05\xff")


def test_adds_structs_is_false_for_what_is_known_and_for_bytes_that_are_no_update() -> None:
    a, first = _typed(1, "abc")
    document = SyncDocument()
    assert document.adds_structs(first)
    document.apply(first)
    assert not document.adds_structs(first)
    assert not document.adds_structs(EMPTY_UPDATE)
    assert not document.adds_structs(b"\x01\x05\xff")
    # Deleting known text adds no structs.
    before = a.get_state()
    del a.get("text", type=Text)[0:1]
    assert not document.adds_structs(a.get_update(before))
