"""The buffer of updates that wait for edits the document lacks: its limits per source
and per document, by count and by bytes, exactly at the limit, and the accounting that
hands the room back as updates leave."""

from __future__ import annotations

import pytest

from crdt.pending import PendingLimitReached, PendingLimits, PendingUpdates, Waiting
from crdt.update import Update

LIMITS = PendingLimits(updates=4, bytes=100, updates_per_source=2, bytes_per_source=40)


def waiting(size: int, source: object) -> Waiting:
    return Waiting(b"x" * size, Update([], [], 0), source, check=False)


def test_a_source_holds_up_to_its_share_in_count_and_bytes() -> None:
    pending = PendingUpdates(LIMITS)
    pending.add(waiting(20, "a"), (1, 5))
    pending.add(waiting(20, "a"), (1, 6))  # exactly 40 bytes: at the limit, taken
    with pytest.raises(PendingLimitReached, match="too many updates waiting"):
        pending.add(waiting(1, "a"), (1, 7))  # a third update
    pending = PendingUpdates(LIMITS)
    pending.add(waiting(39, "a"), (1, 5))
    with pytest.raises(PendingLimitReached, match="too many updates waiting"):
        pending.add(waiting(2, "a"), (1, 6))  # 41 bytes
    pending.add(waiting(1, "a"), (1, 6))  # 40 bytes
    assert (len(pending), pending.size, pending.waiting_from("a")) == (2, 40, 2)


def test_the_document_holds_up_to_its_limit_across_sources() -> None:
    pending = PendingUpdates(LIMITS)
    for source in "abc":
        pending.add(waiting(30, source), (1, 5))
    pending.add(waiting(10, "d"), (1, 5))  # exactly 100 bytes
    with pytest.raises(PendingLimitReached, match="the document holds"):
        pending.add(waiting(1, "e"), (1, 5))  # a fifth update
    pending = PendingUpdates(LIMITS)
    for source in "abc":
        pending.add(waiting(30, source), (1, 5))
    with pytest.raises(PendingLimitReached, match="the document holds"):
        pending.add(waiting(11, "d"), (1, 5))  # 101 bytes


def test_taking_updates_out_gives_their_room_back() -> None:
    pending = PendingUpdates(LIMITS)
    for _ in range(10):
        pending.add(waiting(20, "a"), (1, 5))
        pending.add(waiting(20, "a"), (2, 9))
        assert [w.source for w in pending.take(1, 6)] == ["a"]
        assert pending.take(2, 9) == []  # still waits: clock 9 is not there yet
        assert (len(pending), pending.size, pending.waiting_from("a")) == (1, 20, 1)
        assert len(pending.take(2, 10)) == 1
        assert (len(pending), pending.size, pending.waiting_from("a")) == (0, 0, 0)
        assert pending.clients() == []


def test_an_update_put_back_is_not_counted_against_the_limits() -> None:
    pending = PendingUpdates(LIMITS)
    pending.add(waiting(20, "a"), (1, 5))
    pending.add(waiting(20, "a"), (1, 6))
    (first, second) = pending.take(1, 7)
    pending.add(first, (3, 0), counted=False)
    pending.add(second, (3, 0), counted=False)
    assert (len(pending), pending.size, pending.waiting_from("a")) == (2, 40, 2)
    assert pending.entries() == {3: [(0, first), (0, second)]}
