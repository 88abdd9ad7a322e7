"""Pairing two changed stretches in order."""

from __future__ import annotations

from crdt.alignment import ordered_pairs

NO = -1.0


def test_the_pairing_with_the_largest_total_in_order() -> None:
    # Old 0 is most like new 1, old 1 like new 2: new 0 (an insertion) stays unpaired.
    score = [
        [0.1, 0.9, 0.2],
        [0.2, 0.1, 0.8],
    ]
    assert ordered_pairs(score) == [(0, 1), (1, 2)]


def test_pairs_never_cross() -> None:
    # Old 0 ~ new 1 and old 1 ~ new 0 both score high, but pairs keep the order.
    score = [
        [0.2, 0.9],
        [0.95, 0.1],
    ]
    assert ordered_pairs(score) == [(1, 0)]


def test_negative_scores_are_never_paired() -> None:
    assert ordered_pairs([[NO, NO], [NO, 0.5]]) == [(1, 1)]
    assert ordered_pairs([[NO]]) == []
    assert ordered_pairs([]) == []
