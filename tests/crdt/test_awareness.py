"""Awareness as the server relays it: strict parsing, relayed changes, owners, timeouts."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pycrdt import Awareness, Doc

from crdt.awareness import (
    AwarenessEntry,
    AwarenessTooLarge,
    DocumentAwareness,
    encode_awareness_update,
    parse_awareness_update,
)
from crdt.protocol import ProtocolError
from tests.support.encoding import var

PROPERTY = settings(database=None, max_examples=200)

CAP = 64 * 1024

# Client 5 at clock 1 with state {"x":1}; the same with a higher clock; its removal.
X1_CLOCK1 = b'\x01\x05\x01\x07{"x":1}'
X1_CLOCK2 = b'\x01\x05\x02\x07{"x":1}'
REMOVE_5_CLOCK1 = b"\x01\x05\x01\x04null"
# Clients 5 and 6 in one update (one connection controlling two awareness clients).
CLIENTS_5_AND_6 = b'\x02\x05\x01\x07{"x":1}\x06\x03\x07{"y":2}'
# Client 7 at clock 4 with an empty state.
EMPTY_7_CLOCK4 = b"\x01\x07\x04\x02{}"


def entry(client_id: int, clock: int, state: str | bytes) -> bytes:
    """One awareness entry, without the count."""
    raw = state.encode() if isinstance(state, str) else state
    return var(client_id) + var(clock) + var(len(raw)) + raw


def test_helpers_build_the_literal_vectors() -> None:
    assert b"\x01" + entry(5, 1, '{"x":1}') == X1_CLOCK1
    assert b"\x02" + entry(5, 1, '{"x":1}') + entry(6, 3, '{"y":2}') == CLIENTS_5_AND_6
    assert var(300) == b"\xac\x02"


# parse_awareness_update.


def test_parse_one_state() -> None:
    assert parse_awareness_update(X1_CLOCK1, CAP) == [AwarenessEntry(5, 1, {"x": 1})]


def test_parse_removal() -> None:
    assert parse_awareness_update(REMOVE_5_CLOCK1, CAP) == [AwarenessEntry(5, 1, None)]


def test_parse_no_entries() -> None:
    assert parse_awareness_update(b"\x00", CAP) == []


def test_parse_two_entries_in_order() -> None:
    assert parse_awareness_update(CLIENTS_5_AND_6, CAP) == [
        AwarenessEntry(5, 1, {"x": 1}),
        AwarenessEntry(6, 3, {"y": 2}),
    ]


def test_parse_multi_byte_client_id_and_clock() -> None:
    payload = b"\x01\xac\x02\xc8\x01\x02{}"
    assert parse_awareness_update(payload, CAP) == [AwarenessEntry(300, 200, {})]


def test_parse_state_with_whitespace_and_nesting() -> None:
    payload = b"\x01" + entry(5, 1, ' { "user" : {"name": "\\u00e9"} } ')
    assert parse_awareness_update(payload, CAP) == [
        AwarenessEntry(5, 1, {"user": {"name": "\xe9"}})
    ]


def test_parse_state_with_utf8_text() -> None:
    payload = b"\x01\x05\x01\x0d" + '{"n":"\xe9\u20ac"}'.encode()
    assert parse_awareness_update(payload, CAP) == [AwarenessEntry(5, 1, {"n": "\xe9\u20ac"})]


def test_parse_state_exactly_at_the_cap() -> None:
    assert parse_awareness_update(X1_CLOCK1, 7) == [AwarenessEntry(5, 1, {"x": 1})]


def test_parse_state_one_byte_over_the_cap_raises_too_large() -> None:
    with pytest.raises(AwarenessTooLarge, match="7 bytes exceeds the cap of 6"):
        parse_awareness_update(X1_CLOCK1, 6)


def test_parse_oversized_second_state_raises_too_large() -> None:
    payload = b"\x02" + entry(5, 1, "{}") + entry(6, 1, '{"big":"' + "a" * 100 + '"}')
    with pytest.raises(AwarenessTooLarge):
        parse_awareness_update(payload, 64)


def test_too_large_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        parse_awareness_update(X1_CLOCK1, 6)


MALFORMED = {
    "empty payload": (b"", "truncated varuint"),
    "count only": (b"\x01", "truncated varuint"),
    "truncated client id": (b"\x01\x85", "truncated varuint"),
    "missing clock": (b"\x01\x05", "truncated varuint"),
    "missing state length": (b"\x01\x05\x01", "truncated varuint"),
    "state shorter than declared": (b'\x01\x05\x01\x08{"x":1}', "payload declares 8 bytes"),
    "fewer entries than counted": (b"\x02" + entry(5, 1, "{}"), "truncated varuint"),
    "trailing byte": (X1_CLOCK1 + b"\x00", "trailing bytes"),
    "trailing entry": (X1_CLOCK1 + entry(6, 1, "{}"), "trailing bytes"),
    "client id of nine bytes": (b"\x01" + b"\xff" * 8 + b"\x01\x01\x02{}", "varuint longer"),
    "empty state": (b"\x01\x05\x01\x00", "not JSON"),
    "state not JSON": (b"\x01\x05\x01\x03{x}", "not JSON"),
    "state truncated JSON": (b'\x01\x05\x01\x05{"x":', "not JSON"),
    "state with trailing JSON": (b"\x01\x05\x01\x04{}{}", "not JSON"),
    "state not UTF-8": (b'\x01\x05\x01\x08{"x":"\xff"}', "not JSON"),
    "state JSON array": (b"\x01\x05\x01\x02[]", "object or null"),
    "state JSON string": (b'\x01\x05\x01\x03"a"', "object or null"),
    "state JSON number": (b"\x01\x05\x01\x011", "object or null"),
    "state JSON true": (b"\x01\x05\x01\x04true", "object or null"),
    "second state JSON array": (b"\x02" + entry(5, 1, "{}") + entry(6, 1, "[1]"), "object"),
}


@pytest.mark.parametrize(("payload", "match"), MALFORMED.values(), ids=MALFORMED.keys())
def test_parse_malformed_update_raises_protocol_error(payload: bytes, match: str) -> None:
    with pytest.raises(ProtocolError, match=match):
        parse_awareness_update(payload, CAP)


# States that are not UTF-8 JSON, which JavaScript peers could not read.

NOT_UTF8_JSON = {
    # json.loads(bytes) sniffs the encoding (UTF-8 with BOM, UTF-16, UTF-32) and decodes
    # with "surrogatepass"; pycrdt and JavaScript peers read the state as strict UTF-8.
    "UTF-8 with BOM": b"\xef\xbb\xbf{}",
    "UTF-16-LE": "{}".encode("utf-16-le"),
    "UTF-32-BE": "{}".encode("utf-32-be"),
    "encoded lone surrogate": b'{"a":"\xed\xa0\x80"}',
}


@pytest.mark.parametrize("state", NOT_UTF8_JSON.values(), ids=NOT_UTF8_JSON.keys())
def test_parse_state_that_is_not_utf8_json_raises_protocol_error(state: bytes) -> None:
    with pytest.raises(ProtocolError):
        parse_awareness_update(b"\x01" + entry(5, 1, state), CAP)


@pytest.mark.parametrize("state", ['{"x":NaN}', '{"x":Infinity}', '{"x":-Infinity}'])
def test_parse_state_with_non_standard_number_raises_protocol_error(state: str) -> None:
    with pytest.raises(ProtocolError):
        parse_awareness_update(b"\x01" + entry(5, 1, state), CAP)


DEEPLY_NESTED = '{"a":' + "[" * 20_000 + "]" * 20_000 + "}"


def test_parse_deeply_nested_state_raises_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        parse_awareness_update(b"\x01" + entry(5, 1, DEEPLY_NESTED), CAP)


# DocumentAwareness: construction.


def test_server_publishes_no_state_of_its_own() -> None:
    assert DocumentAwareness().states == {}


def test_encode_all_is_none_when_there_are_no_states() -> None:
    assert DocumentAwareness().encode_all() is None


# DocumentAwareness.apply.


def test_apply_returns_the_update_to_relay() -> None:
    awareness = DocumentAwareness()
    assert awareness.apply(X1_CLOCK1, owner="alice") == X1_CLOCK1
    assert awareness.states == {5: {"x": 1}}


def test_apply_relays_a_normalised_state() -> None:
    awareness = DocumentAwareness()
    relayed = awareness.apply(b'\x01\x05\x01\x0d{ "x" : 1.0 }', owner="alice")
    assert relayed == b'\x01\x05\x01\x09{"x":1.0}'


def test_apply_relays_escaped_non_ascii() -> None:
    awareness = DocumentAwareness()
    relayed = awareness.apply(b"\x01\x05\x01\x0a" + '{"n":"\xe9"}'.encode(), owner="alice")
    assert relayed == b'\x01\x05\x01\x0e{"n":"\\u00e9"}'
    assert awareness.states == {5: {"n": "\xe9"}}


def test_apply_relays_every_entry_of_a_multi_client_update() -> None:
    awareness = DocumentAwareness()
    assert awareness.apply(CLIENTS_5_AND_6, owner="alice") == CLIENTS_5_AND_6
    assert awareness.states == {5: {"x": 1}, 6: {"y": 2}}


def test_apply_records_the_owner() -> None:
    awareness = DocumentAwareness()
    awareness.apply(X1_CLOCK1, owner="alice")
    assert awareness.remove_owner("alice") == REMOVE_5_CLOCK1


def test_apply_same_update_twice_is_not_relayed_again() -> None:
    awareness = DocumentAwareness()
    awareness.apply(X1_CLOCK1, owner="alice")
    assert awareness.apply(X1_CLOCK1, owner="alice") is None
    assert awareness.states == {5: {"x": 1}}


def test_apply_new_state_with_same_clock_is_ignored() -> None:
    awareness = DocumentAwareness()
    awareness.apply(X1_CLOCK1, owner="alice")
    assert awareness.apply(b'\x01\x05\x01\x07{"x":2}', owner="alice") is None
    assert awareness.states == {5: {"x": 1}}


def test_apply_state_with_lower_clock_is_ignored() -> None:
    awareness = DocumentAwareness()
    awareness.apply(X1_CLOCK2, owner="alice")
    assert awareness.apply(b'\x01\x05\x01\x07{"x":2}', owner="alice") is None
    assert awareness.states == {5: {"x": 1}}


def test_apply_renewal_with_higher_clock_and_same_state_is_relayed() -> None:
    awareness = DocumentAwareness()
    awareness.apply(X1_CLOCK1, owner="alice")
    assert awareness.apply(X1_CLOCK2, owner="alice") == X1_CLOCK2


def test_apply_new_state_with_higher_clock_is_relayed() -> None:
    awareness = DocumentAwareness()
    awareness.apply(X1_CLOCK1, owner="alice")
    changed = b'\x01\x05\x02\x07{"x":2}'
    assert awareness.apply(changed, owner="alice") == changed
    assert awareness.states == {5: {"x": 2}}


def test_apply_first_state_at_clock_zero_is_ignored() -> None:
    # y-protocols semantics: an unknown client has clock 0, and only a higher clock wins.
    awareness = DocumentAwareness()
    assert awareness.apply(b"\x01\x05\x00\x02{}", owner="alice") is None
    assert awareness.states == {}


def test_apply_removal_at_same_clock_is_relayed() -> None:
    awareness = DocumentAwareness()
    awareness.apply(X1_CLOCK1, owner="alice")
    assert awareness.apply(REMOVE_5_CLOCK1, owner="alice") == REMOVE_5_CLOCK1
    assert awareness.states == {}


def test_apply_removal_by_the_owner_ends_its_ownership() -> None:
    awareness = DocumentAwareness()
    awareness.apply(X1_CLOCK1, owner="alice")
    awareness.apply(REMOVE_5_CLOCK1, owner="alice")
    assert awareness.remove_owner("alice") is None


def test_client_removed_by_its_owner_and_taken_over_is_not_removed_with_the_old_owner() -> None:
    awareness = DocumentAwareness()
    awareness.apply(X1_CLOCK1, owner="alice")
    awareness.apply(REMOVE_5_CLOCK1, owner="alice")
    awareness.apply(X1_CLOCK2, owner="bob")
    assert awareness.remove_owner("alice") is None
    assert awareness.states == {5: {"x": 1}}
    assert awareness.remove_owner("bob") == b"\x01\x05\x02\x04null"


def test_client_removed_by_another_connection_is_not_removed_again_with_its_owner() -> None:
    awareness = DocumentAwareness()
    awareness.apply(X1_CLOCK1, owner="alice")
    awareness.apply(REMOVE_5_CLOCK1, owner="bob")
    assert awareness.states == {}
    assert awareness.remove_owner("alice") is None


def test_apply_removal_of_unknown_client_is_not_relayed() -> None:
    awareness = DocumentAwareness()
    assert awareness.apply(b"\x01\x09\x03\x04null", owner="alice") is None


def test_apply_removal_of_already_removed_client_at_same_clock_is_not_relayed() -> None:
    awareness = DocumentAwareness()
    awareness.apply(X1_CLOCK1, owner="alice")
    awareness.apply(REMOVE_5_CLOCK1, owner="alice")
    assert awareness.apply(REMOVE_5_CLOCK1, owner="alice") is None


def test_apply_empty_update_is_not_relayed() -> None:
    assert DocumentAwareness().apply(b"\x00", owner="alice") is None


def test_apply_from_another_server_is_relayed_but_owned_by_nobody() -> None:
    awareness = DocumentAwareness()
    assert awareness.apply(X1_CLOCK1, owner=None) == X1_CLOCK1
    assert awareness.remove_owner("alice") is None
    assert awareness.states == {5: {"x": 1}}


def test_apply_malformed_update_raises_and_changes_nothing() -> None:
    awareness = DocumentAwareness()
    payload = b"\x02" + entry(5, 1, "{}") + entry(6, 1, "[]")
    with pytest.raises(ProtocolError):
        awareness.apply(payload, owner="alice")
    assert awareness.states == {}
    assert awareness.remove_owner("alice") is None


def test_apply_oversized_update_raises_too_large_and_changes_nothing() -> None:
    awareness = DocumentAwareness(max_state_bytes=6)
    with pytest.raises(AwarenessTooLarge):
        awareness.apply(X1_CLOCK1, owner="alice")
    assert awareness.states == {}


def test_apply_with_custom_cap_accepts_state_at_the_cap() -> None:
    awareness = DocumentAwareness(max_state_bytes=7)
    assert awareness.apply(X1_CLOCK1, owner="alice") == X1_CLOCK1


# States that pycrdt would refuse while applying must be refused by validation first.


def test_apply_state_with_utf8_bom_raises_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        DocumentAwareness().apply(b"\x01" + entry(5, 1, b"\xef\xbb\xbf{}"), owner="alice")


def test_apply_state_with_encoded_surrogate_raises_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        DocumentAwareness().apply(b"\x01" + entry(5, 1, b'{"a":"\xed\xa0\x80"}'), owner="alice")


def test_apply_refused_update_leaves_no_state_behind() -> None:
    awareness = DocumentAwareness()
    payload = b"\x02" + EMPTY_7_CLOCK4[1:] + entry(5, 1, b"\xef\xbb\xbf{}")
    with pytest.raises(ValueError):  # noqa: PT011 - ProtocolError or what pycrdt raises
        awareness.apply(payload, owner="alice")
    assert awareness.states == {}


def test_apply_state_with_nan_is_refused() -> None:
    with pytest.raises(ProtocolError):
        DocumentAwareness().apply(b"\x01" + entry(5, 1, '{"x":NaN}'), owner="alice")


# DocumentAwareness.remove_owner.


def test_remove_owner_removes_exactly_that_owners_clients() -> None:
    awareness = DocumentAwareness()
    awareness.apply(CLIENTS_5_AND_6, owner="alice")
    awareness.apply(EMPTY_7_CLOCK4, owner="bob")
    removal = awareness.remove_owner("alice")
    assert removal == b"\x02\x05\x01\x04null\x06\x03\x04null"
    assert removal is not None
    assert parse_awareness_update(removal, CAP) == [
        AwarenessEntry(5, 1, None),
        AwarenessEntry(6, 3, None),
    ]
    assert awareness.states == {7: {}}


def test_remove_owner_leaves_other_owners_removable() -> None:
    awareness = DocumentAwareness()
    awareness.apply(CLIENTS_5_AND_6, owner="alice")
    awareness.apply(EMPTY_7_CLOCK4, owner="bob")
    awareness.remove_owner("alice")
    assert awareness.remove_owner("bob") == b"\x01\x07\x04\x04null"
    assert awareness.states == {}


def test_remove_owner_twice_returns_none_the_second_time() -> None:
    awareness = DocumentAwareness()
    awareness.apply(X1_CLOCK1, owner="alice")
    awareness.remove_owner("alice")
    assert awareness.remove_owner("alice") is None


def test_remove_unknown_owner_returns_none() -> None:
    awareness = DocumentAwareness()
    awareness.apply(X1_CLOCK1, owner="alice")
    assert awareness.remove_owner("bob") is None
    assert awareness.states == {5: {"x": 1}}


def test_remove_owner_removal_is_applied_by_a_peer_at_the_same_clock() -> None:
    awareness = DocumentAwareness()
    peer = Awareness(Doc())
    peer.apply_awareness_update(X1_CLOCK1, "server")
    awareness.apply(X1_CLOCK1, owner="alice")
    removal = awareness.remove_owner("alice")
    assert removal is not None
    peer.apply_awareness_update(removal, "server")
    assert 5 not in peer.states


def test_client_renewed_after_removal_can_come_back() -> None:
    awareness = DocumentAwareness()
    awareness.apply(X1_CLOCK1, owner="alice")
    awareness.remove_owner("alice")
    assert awareness.apply(X1_CLOCK2, owner="alice") == X1_CLOCK2
    assert awareness.remove_owner("alice") == b"\x01\x05\x02\x04null"


# DocumentAwareness.encode_all.


def test_encode_all_contains_every_state() -> None:
    awareness = DocumentAwareness()
    awareness.apply(CLIENTS_5_AND_6, owner="alice")
    awareness.apply(EMPTY_7_CLOCK4, owner=None)
    everything = awareness.encode_all()
    assert everything is not None
    assert sorted(parse_awareness_update(everything, CAP), key=lambda e: e.client_id) == [
        AwarenessEntry(5, 1, {"x": 1}),
        AwarenessEntry(6, 3, {"y": 2}),
        AwarenessEntry(7, 4, {}),
    ]


def test_encode_all_of_one_state() -> None:
    awareness = DocumentAwareness()
    awareness.apply(X1_CLOCK1, owner="alice")
    assert awareness.encode_all() == X1_CLOCK1


def test_encode_all_is_none_once_every_state_is_removed() -> None:
    awareness = DocumentAwareness()
    awareness.apply(X1_CLOCK1, owner="alice")
    awareness.apply(REMOVE_5_CLOCK1, owner="alice")
    assert awareness.encode_all() is None


# DocumentAwareness.remove_outdated, with pycrdt's clock replaced by a fake one.


@dataclass
class FakeClock:
    now_ms: int


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock(now_ms=1_000_000)
    monkeypatch.setattr(Awareness, "_get_time", lambda self: fake.now_ms)
    return fake


def test_remove_outdated_drops_only_stale_clients(clock: FakeClock) -> None:
    awareness = DocumentAwareness(outdated_ms=30_000)
    awareness.apply(X1_CLOCK1, owner="alice")
    clock.now_ms += 20_000
    awareness.apply(EMPTY_7_CLOCK4, owner="bob")
    assert awareness.remove_outdated(now_ms=1_030_000) == REMOVE_5_CLOCK1
    assert awareness.states == {7: {}}


def test_remove_outdated_keeps_client_one_millisecond_short_of_the_timeout(
    clock: FakeClock,
) -> None:
    awareness = DocumentAwareness(outdated_ms=30_000)
    awareness.apply(X1_CLOCK1, owner="alice")
    assert awareness.remove_outdated(now_ms=1_029_999) is None
    assert awareness.states == {5: {"x": 1}}


def test_remove_outdated_keeps_renewed_client(clock: FakeClock) -> None:
    awareness = DocumentAwareness(outdated_ms=30_000)
    awareness.apply(X1_CLOCK1, owner="alice")
    clock.now_ms += 20_000
    awareness.apply(X1_CLOCK2, owner="alice")
    assert awareness.remove_outdated(now_ms=1_030_000) is None


def test_remove_outdated_with_nothing_stale_returns_none(clock: FakeClock) -> None:
    awareness = DocumentAwareness()
    assert awareness.remove_outdated(now_ms=10_000_000) is None


def test_remove_outdated_ends_ownership(clock: FakeClock) -> None:
    awareness = DocumentAwareness(outdated_ms=30_000)
    awareness.apply(CLIENTS_5_AND_6, owner="alice")
    clock.now_ms += 20_000
    awareness.apply(b'\x01\x06\x04\x07{"y":3}', owner="alice")
    assert awareness.remove_outdated(now_ms=1_030_000) == REMOVE_5_CLOCK1
    assert awareness.remove_owner("alice") == b"\x01\x06\x04\x04null"


def test_client_timed_out_and_taken_over_is_not_removed_with_the_old_owner(
    clock: FakeClock,
) -> None:
    awareness = DocumentAwareness(outdated_ms=30_000)
    awareness.apply(X1_CLOCK1, owner="alice")
    awareness.remove_outdated(now_ms=1_030_000)
    awareness.apply(X1_CLOCK2, owner="bob")
    assert awareness.remove_owner("alice") is None
    assert awareness.states == {5: {"x": 1}}


def test_remove_outdated_honours_custom_timeout(clock: FakeClock) -> None:
    awareness = DocumentAwareness(outdated_ms=1_000)
    awareness.apply(X1_CLOCK1, owner="alice")
    assert awareness.remove_outdated(now_ms=1_000_999) is None
    assert awareness.remove_outdated(now_ms=1_001_000) == REMOVE_5_CLOCK1


def test_remove_outdated_without_now_uses_the_wall_clock(clock: FakeClock) -> None:
    # The fake clock stamps the state in 1970; the wall clock is decades later.
    awareness = DocumentAwareness()
    awareness.apply(X1_CLOCK1, owner="alice")
    assert awareness.remove_outdated() == REMOVE_5_CLOCK1


def test_remove_outdated_without_now_keeps_fresh_state() -> None:
    awareness = DocumentAwareness()
    awareness.apply(X1_CLOCK1, owner="alice")
    assert awareness.remove_outdated() is None


# Properties.


json_objects = st.dictionaries(
    st.text(max_size=8),
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=16),
    max_size=4,
)


@PROPERTY
@given(
    st.lists(
        st.tuples(
            st.integers(0, 2**53 - 1),
            st.integers(0, 2**53 - 1),
            st.none() | json_objects,
        ),
        max_size=5,
    )
)
def test_parse_inverts_the_awareness_encoding(
    entries: list[tuple[int, int, dict[str, object] | None]],
) -> None:
    payload = var(len(entries)) + b"".join(
        entry(client_id, clock, json.dumps(state)) for client_id, clock, state in entries
    )
    assert parse_awareness_update(payload, CAP) == [AwarenessEntry(*e) for e in entries]


@PROPERTY
@given(st.binary(max_size=64))
def test_parse_arbitrary_bytes_returns_entries_or_raises_protocol_error(payload: bytes) -> None:
    try:
        entries = parse_awareness_update(payload, CAP)
    except ProtocolError:
        return
    assert all(isinstance(e, AwarenessEntry) for e in entries)


@PROPERTY
@given(st.lists(st.tuples(st.integers(1, 50), st.integers(1, 5), json_objects), max_size=6))
def test_apply_then_remove_owner_leaves_no_state(
    updates: list[tuple[int, int, dict[str, object]]],
) -> None:
    awareness = DocumentAwareness()
    for client_id, clock, state in updates:
        awareness.apply(b"\x01" + entry(client_id, clock, json.dumps(state)), owner="alice")
    awareness.remove_owner("alice")
    assert awareness.states == {}
    assert awareness.encode_all() is None


def test_encoded_entries_parse_back_unchanged() -> None:
    entries = [
        AwarenessEntry(7, 3, {"user": {"name": "Ann"}, "cursor": None}),
        AwarenessEntry(2**40, 0, None),
    ]
    assert parse_awareness_update(encode_awareness_update(entries), 1 << 20) == entries


def test_remove_outdated_keeps_owned_states_only_when_asked(clock: FakeClock) -> None:
    # Client 5's state comes from a local connection (owned), client 7's from another
    # server; neither was renewed in time.
    for keep_owned, left in ((True, {5: {"x": 1}}), (False, {})):
        awareness = DocumentAwareness(outdated_ms=30_000)
        awareness.apply(X1_CLOCK1, owner="alice")
        awareness.apply(EMPTY_7_CLOCK4, owner=None)
        awareness.remove_outdated(now_ms=1_030_000, keep_owned=keep_owned)
        assert awareness.states == left, keep_owned


def test_only_the_named_client_ids_are_applied_and_relayed() -> None:
    awareness = DocumentAwareness()
    # A connection that holds client 5 sends states for 5 and 6: only 5's is taken.
    relayed = awareness.apply(CLIENTS_5_AND_6, owner="alice", only={5})
    assert relayed == X1_CLOCK1
    assert awareness.states == {5: {"x": 1}}
    # Naming no client it holds changes nothing.
    assert awareness.apply(CLIENTS_5_AND_6, owner="mallory", only=set()) is None
    assert awareness.states == {5: {"x": 1}}
    # Holding every client it names, the update goes in whole.
    relayed = awareness.apply(CLIENTS_5_AND_6, owner="bob", only={5, 6})
    assert relayed == b'\x01\x06\x03\x07{"y":2}'  # 5's state is not new
    assert set(awareness.states) == {5, 6}
