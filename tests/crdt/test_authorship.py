"""Attributing each character to the Yjs client that wrote it, and comparing versions."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pycrdt import Doc, XmlElement, XmlFragment, XmlText

from crdt.authorship import Block, Change, Run, blocks, compare
from crdt.content import plain_text


def doc(client_id: int, state: bytes = b"") -> Doc[Any]:
    d: Doc[Any] = Doc(client_id=client_id)
    if state:
        d.apply_update(state)
    return d


def root(d: Doc[Any]) -> XmlFragment:
    fragment: XmlFragment = d.get("default", type=XmlFragment)
    return fragment


def paragraph(d: Doc[Any], text: str, tag: str = "paragraph", **attrs: Any) -> XmlText:
    node = root(d).children.append(XmlElement(tag, attrs))
    return node.children.append(XmlText(text))


def test_each_character_has_the_client_that_wrote_it() -> None:
    ann = doc(1)
    title = paragraph(ann, "Guide 🎉 é", "heading", level=2)
    ben = doc(2, ann.get_update())
    ben_title = root(ben).children[0].children[0]  # type: ignore[union-attr]
    assert isinstance(ben_title, XmlText)
    ben_title.insert(len(b"Guide "), "new ")
    ann.apply_update(ben.get_update())
    del title
    assert blocks(ann.get_update()) == [
        Block("heading", 2, (), (Run("Guide ", 1), Run("new ", 2), Run("🎉 é", 1)))
    ]


def test_blocks_know_the_containers_around_them_and_skip_deleted_text() -> None:
    d = doc(7)
    items = root(d).children.append(XmlElement("bulletList"))
    item = items.children.append(XmlElement("listItem"))
    text = item.children.append(XmlElement("paragraph")).children.append(XmlText("one two"))
    del text[0:4]
    quote = root(d).children.append(XmlElement("blockquote"))
    quote.children.append(XmlElement("paragraph")).children.append(XmlText("q"))
    root(d).children.append(XmlElement("horizontalRule"))
    root(d).children.append(XmlElement("paragraph"))
    assert blocks(d.get_update()) == [
        Block("paragraph", None, ("bulletList", "listItem"), (Run("two", 7),)),
        Block("paragraph", None, ("blockquote",), (Run("q", 7),)),
        Block("horizontalRule", None, (), ()),
        Block("paragraph", None, (), ()),
    ]
    assert blocks(b"") == []


def test_many_writers_in_one_paragraph() -> None:
    base = doc(1000)
    paragraph(base, "")
    state = base.get_update()
    for client in range(1, 41):
        writer = doc(client, state)
        text = root(writer).children[0].children[0]  # type: ignore[union-attr]
        assert isinstance(text, XmlText)
        text.insert(0, chr(ord("A") + client % 26))
        state = writer.get_update()
    [block] = blocks(state)
    assert [run.client for run in block.runs] == list(range(40, 0, -1))


texts = st.text(st.characters(codec="utf-8"), max_size=12)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 4), texts), min_size=1, max_size=8))
def test_blocks_hold_exactly_the_text(writes: list[tuple[int, str]]) -> None:
    state = b""
    for client, text in writes:
        d = doc(client, state)
        paragraph(d, text)
        state = d.get_update()
    found = blocks(state)
    assert "\n".join(b.text for b in found) == plain_text(state)
    assert [[r.client for r in b.runs] for b in found] == [[c] if t else [] for c, t in writes]


def test_compare_marks_kept_added_removed_and_changed_blocks() -> None:
    def b(*runs: tuple[str, int], tag: str = "paragraph") -> Block:
        return Block(tag, None, (), tuple(Run(text, client) for text, client in runs))

    old = [b(("Title", 1), tag="heading"), b(("Keep short sentences", 1)), b(("Gone", 1))]
    new = [
        b(("Title", 1), tag="heading"),
        b(("Keep ", 1), ("clear ", 2), ("short sentences", 1)),
        b(("Brand new", 3)),
    ]
    changed = compare(old, new)
    assert [c.change for c in changed] == [
        Change.SAME,
        Change.CHANGED,
        Change.REMOVED,
        Change.ADDED,
    ]
    assert [(r.text, r.change, r.client) for r in changed[1].runs] == [
        ("Keep ", Change.SAME, 1),
        ("clear ", Change.ADDED, 2),
        ("short sentences", Change.SAME, 1),
    ]
    assert all(c.change is Change.SAME for c in compare(new, new))


def test_the_same_text_retyped_by_someone_else_reads_as_unchanged() -> None:
    """Blocks are compared by their text: a paragraph deleted and typed again reads as
    kept, in its current writer's colour."""
    old = [Block("paragraph", None, (), (Run("Keep it short", 1),))]
    new = [Block("paragraph", None, (), (Run("Keep it short", 2),))]
    [changed] = compare(old, new)
    assert changed.change is Change.SAME
    assert [(r.text, r.change, r.client) for r in changed.runs] == [
        ("Keep it short", Change.SAME, 2)
    ]


def test_a_rewritten_phrase_is_not_shredded_into_shared_letters() -> None:
    old = [Block("paragraph", None, (), (Run("Meet every week on Monday morning", 1),))]
    new = [Block("paragraph", None, (), (Run("Meet when the team asks on Monday morning", 1),))]
    [changed] = compare(old, new)
    assert [(r.text, r.change) for r in changed.runs] == [
        ("Meet ", Change.SAME),
        ("every week", Change.REMOVED),
        ("when the team asks", Change.ADDED),
        (" on Monday morning", Change.SAME),
    ]
