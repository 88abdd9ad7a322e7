"""The item index: which parent each integrated item lies in, and which items hold a
shared type (the ranges ``visible_copy`` and the collected-item check ask for)."""

from __future__ import annotations

from crdt.items import GONE, ItemIndex, ParentKey
from crdt.update import Content, Struct

ROOT: ParentKey = ("root", "default", None)


def indexed(*runs: tuple[int, Content, ParentKey]) -> ItemIndex:
    """Client 1's items, one run after another from clock 0: (length, content, parent)."""
    index = ItemIndex()
    clock = 0
    for length, content, key in runs:
        index.add(Struct(1, clock, length, content), key)
        clock += length
    return index


def in_type(clock: int) -> ParentKey:
    return ("type", 1, clock, None)


# Clocks 0-1 text in the root, 2 a paragraph, 3-4 text in it, 5 a nested type in the
# paragraph, 6-8 text in that, 9 another paragraph in the root.
DOCUMENT = (
    (2, Content.STRING, ROOT),
    (1, Content.TYPE, ROOT),
    (2, Content.STRING, in_type(2)),
    (1, Content.TYPE, in_type(2)),
    (3, Content.STRING, in_type(5)),
    (1, Content.TYPE, ROOT),
)


def test_types_in_names_the_type_clocks_in_a_half_open_range() -> None:
    index = indexed(*DOCUMENT)
    assert index.types_in(1, 0, 10) == [2, 5, 9]
    assert index.types_in(1, 2, 9) == [2, 5]
    assert index.types_in(1, 3, 10) == [5, 9]
    assert index.types_in(1, 9, 10) == [9]
    assert index.types_in(1, 0, 2) == []
    assert index.types_in(1, 6, 9) == []
    assert index.types_in(2, 0, 10) == []


def test_is_type_only_for_the_clock_of_a_type() -> None:
    index = indexed(*DOCUMENT)
    assert [clock for clock in range(11) if index.is_type((1, clock))] == [2, 5, 9]
    assert not index.is_type((2, 2))


def test_parents_and_roots_through_nested_types() -> None:
    index = indexed(*DOCUMENT)
    assert index.parent_of((1, 0)) == ROOT
    assert index.parent_of((1, 4)) == in_type(2)
    assert index.parent_of((1, 7)) == in_type(5)
    assert index.parent_of((1, 10)) is None  # not integrated
    assert [index.root_of((1, clock)) for clock in (0, 3, 5, 8, 9)] == ["default"] * 5
    assert index.root_of((1, 10)) is None
    assert index.root_of((3, 0)) is None
    assert (index.next_clock(1), index.has((1, 9)), index.has((1, 10))) == (10, True, False)


def test_a_deleted_type_collects_what_lies_in_it_however_deep() -> None:
    index = indexed(*DOCUMENT)
    assert not any(index.is_collected((1, clock)) for clock in range(10))
    # Deleting clocks 4-5 deletes the nested type at 5, not the paragraph at 2.
    index.note_deleted(1, 4, 2)
    collected = [clock for clock in range(10) if index.is_collected((1, clock))]
    assert collected == [6, 7, 8]
    index.note_deleted(1, 1, 2)  # the paragraph at 2
    collected = [clock for clock in range(10) if index.is_collected((1, clock))]
    assert collected == [3, 4, 5, 6, 7, 8]
    assert index.is_collected((1, 10))  # an item the document lacks cannot be placed


def test_an_item_in_a_collected_parent_has_no_root() -> None:
    index = indexed((1, Content.TYPE, ROOT), (2, Content.STRING, GONE))
    assert index.root_of((1, 1)) is None
    assert index.is_collected((1, 2))
    assert index.root_of((1, 0)) == "default"


def test_was_deleted_covers_the_loaded_deleted_ranges_only() -> None:
    index = ItemIndex()
    index.add_deleted(Struct(1, 3, 3, Content.DELETED))  # clocks 3, 4, 5
    index.add_deleted(Struct(1, 8, 1, Content.DELETED))
    deleted = [clock for clock in range(10) if index.was_deleted((1, clock))]
    assert deleted == [3, 4, 5, 8]
    assert not index.was_deleted((2, 3))


def test_runs_start_where_the_index_left_off() -> None:
    index = ItemIndex()
    index.seed({1: 4, 2: 0})
    assert index.clocks() == {1: 4}
    assert index.parent_of((1, 3)) == GONE
    # A struct overlapping what the index has adds only its new part.
    index.add(Struct(1, 2, 4, Content.STRING), ROOT)
    assert (index.parent_of((1, 3)), index.parent_of((1, 4))) == (GONE, ROOT)
    assert index.clocks() == {1: 6}
