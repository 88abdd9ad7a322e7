"""Restoring content changes only what differs: unchanged text keeps its Yjs items.

Comment anchors are Yjs relative positions naming an item; they survive a restore only
if the items they name do. Each test builds a document, saves its state (the version),
edits it as another client, restores the version with ``replace_with`` and checks the
content, the anchors and the ids of the text.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pycrdt import Doc, XmlElement, XmlFragment, XmlText

from crdt.anchors import PositionKind, RelativePosition, anchor_index, canonical
from crdt.content import content_of, edit, replace_with
from crdt.document import decode_state_vector
from crdt.update import Content, decode_update

AUTHOR = 1
EDITOR = 2
RESTORER = 3


def paragraphs(doc: Doc[Any]) -> list[XmlText]:
    out = []
    for block in doc.get("default", type=XmlFragment).children:
        assert isinstance(block, XmlElement)
        [text] = list(block.children)
        assert isinstance(text, XmlText)
        out.append(text)
    return out


def xml(doc: Doc[Any]) -> str:
    return str(doc.get("default", type=XmlFragment))


def write(doc: Doc[Any], *texts: str) -> list[int]:
    """Append a paragraph per text; return the clock of each text's first character."""
    root = doc.get("default", type=XmlFragment)
    starts = []
    for text in texts:
        node = root.children.append(XmlElement("paragraph")).children.append(XmlText())
        starts.append(decode_state_vector(doc.get_state()).get(doc.client_id, 0))
        node.insert(0, text)
    return starts


def anchor(client: int, clock: int, assoc: int = 0) -> bytes:
    return canonical(RelativePosition(PositionKind.ITEM, client, clock, assoc=assoc))


def anchored(doc: Doc[Any], text: XmlText, start: bytes, end: bytes) -> str:
    """The text between two anchors inside ``text`` ('' when the range collapsed)."""
    a, b = anchor_index(doc, start), anchor_index(doc, end)
    assert a is not None and b is not None
    plain = "".join(chunk for chunk, _ in text.diff())
    return plain.encode()[a:b].decode()


def fork(state: bytes, client_id: int) -> Doc[Any]:
    doc: Doc[Any] = Doc(client_id=client_id)
    doc.apply_update(state)
    return doc


def restore(doc: Doc[Any], version: bytes) -> bytes:
    update = edit(doc.get_update(), replace_with(version), RESTORER)
    doc.apply_update(update)
    return update


def test_unchanged_text_keeps_its_items_and_its_anchors() -> None:
    doc: Doc[Any] = Doc(client_id=AUTHOR)
    first, second, _ = write(
        doc, "The quick brown fox jumps", "Second paragraph stays", "Third one"
    )
    version = doc.get_update()

    current = fork(version, EDITOR)
    texts = paragraphs(current)
    texts[0].insert(len("The quick "), "very ")  # "The quick very brown fox jumps"
    del texts[2][0:5]  # "Third one" -> " one"
    (new,) = write(current, "A new passage")
    new_text = paragraphs(current)[3]
    # Anchors: "quick" (unchanged word in a changed paragraph), the whole of the
    # unchanged second paragraph, and "new" in a paragraph the restore removes.
    quick = anchor(AUTHOR, first + 4), anchor(AUTHOR, first + 8, -1)
    stays = anchor(AUTHOR, second), anchor(AUTHOR, second + 15, -1)
    fresh = anchor(EDITOR, new + 2), anchor(EDITOR, new + 4, -1)
    assert anchored(current, texts[0], *quick) == "quick"
    assert anchored(current, texts[1], *stays) == "Second paragraph"
    assert anchored(current, new_text, *fresh) == "new"

    restore(current, version)

    assert xml(current) == xml(content_of(version))
    after = paragraphs(current)
    assert anchored(current, after[0], *quick) == "quick"
    assert anchored(current, after[1], *stays) == "Second paragraph"
    # The passage the restore removed: its range collapsed, the thread is detached.
    start, end = anchor_index(current, fresh[0]), anchor_index(current, fresh[1])
    assert start == end


def test_only_the_differing_words_are_new() -> None:
    doc: Doc[Any] = Doc(client_id=AUTHOR)
    write(doc, "one two three four five")
    version = doc.get_update()
    current = fork(version, EDITOR)
    text = paragraphs(current)[0]
    del text[4:8]  # "one three four five"
    text.insert(4, "2 ")  # "one 2 three four five"
    update = restore(current, version)
    assert str(paragraphs(current)[0]) == "one two three four five"
    # The restore inserts "two" and deletes "2": a few characters, not the whole
    # paragraph again.
    decoded = decode_update(update)
    inserted = sum(s.length for s in decoded.structs if s.content is Content.STRING)
    # An update carries every deletion of its document: the four characters of "two "
    # deleted before, and the restore's one.
    deleted = sum(length for _, _, length in decoded.deletes)
    assert (inserted, deleted) == (3, 4 + 1)


def test_formatting_is_brought_back_without_retyping() -> None:
    doc: Doc[Any] = Doc(client_id=AUTHOR)
    (start,) = write(doc, "plain bold plain")
    paragraphs(doc)[0].format(6, 10, {"bold": {}})
    version = doc.get_update()
    current = fork(version, EDITOR)
    paragraphs(current)[0].format(6, 10, {"bold": None})
    paragraphs(current)[0].format(0, 5, {"italic": {}})
    word = anchor(AUTHOR, start + 6), anchor(AUTHOR, start + 9, -1)
    restore(current, version)
    assert list(paragraphs(current)[0].diff()) == list(paragraphs(doc)[0].diff())
    assert anchored(current, paragraphs(current)[0], *word) == "bold"


def test_blocks_changed_moved_and_retyped_end_equal_to_the_version() -> None:
    doc: Doc[Any] = Doc(client_id=AUTHOR)
    root = doc.get("default", type=XmlFragment)
    level: Any = {"level": 2}
    heading = root.children.append(XmlElement("heading", level))
    heading.children.append(XmlText("Best practices"))
    write(doc, "Keep it short", "Name things well")
    items = root.children.append(XmlElement("bulletList"))
    item = items.children.append(XmlElement("listItem"))
    item.children.append(XmlElement("paragraph")).children.append(XmlText("first"))
    version = doc.get_update()

    current = fork(version, EDITOR)
    croot = current.get("default", type=XmlFragment)
    first = croot.children[0]
    assert isinstance(first, XmlElement)
    first.attributes["level"] = 3
    del croot.children[1]
    croot.children.insert(0, XmlElement("paragraph")).children.append(XmlText("Intro"))
    croot.children.append(XmlElement("codeBlock")).children.append(XmlText("x = 1"))
    restore(current, version)
    assert xml(current) == xml(content_of(version))


def test_two_clients_editing_during_a_restore_converge() -> None:
    doc: Doc[Any] = Doc(client_id=AUTHOR)
    write(doc, "alpha beta gamma", "delta epsilon", "zeta")
    version = doc.get_update()
    base = fork(version, EDITOR)
    paragraphs(base)[0].insert(0, "Intro: ")
    del base.get("default", type=XmlFragment).children[2]
    state = base.get_update()

    ana, ben, server = fork(state, 10), fork(state, 11), fork(state, 12)
    paragraphs(ana)[1].insert(6, "NEW ")
    paragraphs(ben)[0].insert(len("Intro: alpha "), "BEN ")
    restore_update = edit(server.get_update(), replace_with(version), RESTORER)
    server.apply_update(restore_update)
    a_update, b_update = ana.get_update(), ben.get_update()
    for one, two, three in [
        (restore_update, a_update, b_update),
        (b_update, restore_update, a_update),
        (a_update, b_update, restore_update),
    ]:
        replica = fork(state, 50)
        for update in (one, two, three):
            replica.apply_update(update)
        assert xml(replica) == xml(_all(state, restore_update, a_update, b_update))
    merged = xml(_all(state, restore_update, a_update, b_update))
    # Both concurrent edits survive the restore: they touched text it kept.
    assert "NEW" in merged and "BEN" in merged


def _all(state: bytes, *updates: bytes) -> Doc[Any]:
    doc = fork(state, 60)
    for update in updates:
        doc.apply_update(update)
    return doc


words = st.lists(st.sampled_from(["a", "bb", "ccc", "é", "🎉", " ", ",", "dd ee"]), max_size=8)
blocks = st.lists(words.map("".join), min_size=0, max_size=5)


@settings(max_examples=60, deadline=None)
@given(blocks, blocks)
def test_any_restore_ends_equal_to_the_version(version_texts: list[str], edits: list[str]) -> None:
    doc: Doc[Any] = Doc(client_id=AUTHOR)
    write(doc, *version_texts)
    version = doc.get_update()
    current: Doc[Any] = Doc(client_id=EDITOR)
    write(current, *edits)
    current.apply_update(version)
    restore(current, version)
    assert xml(current) == xml(content_of(version))
