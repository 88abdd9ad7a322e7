"""Random edits of a pycrdt document, the same operations the Node clients make.

The operations and their weights match ``tests/interop/convergence.mjs``: insert,
delete and format (bold/italic, set or cleared) characters of the ``Y.Text`` root and
of any XmlText in the fragment; insert a block (paragraph, heading with a level, bullet
list of list items holding paragraphs) or delete one; insert or delete a list item
inside a bullet list; undo the client's own last edit. Each operation is one
transaction with the origin :data:`LOCAL`, which the client's ``UndoManager`` tracks
(remote updates are applied under another origin, so undo never touches them).

pycrdt counts text positions in UTF-8 bytes, Yjs in UTF-16 units: positions are
chosen as character indices and converted, and the alphabet keeps to the BMP.
"""

from __future__ import annotations

import random
from typing import Any

from pycrdt import Doc, Text, UndoManager, XmlElement, XmlFragment, XmlText

from tests.convergence.content import CONTENT_ROOT, TEXT_ROOT

LOCAL = "local"
ALPHABET = "abcdefghijklmnopqrstuvwxyz ABCDE.éüß中"

OPERATIONS: list[tuple[str, int]] = [
    ("text.insert", 10),
    ("text.delete", 5),
    ("text.format", 4),
    ("xml.insert", 12),
    ("xml.delete", 6),
    ("xml.format", 5),
    ("block.insert", 5),
    ("block.delete", 3),
    ("item.insert", 3),
    ("item.delete", 2),
    ("undo", 4),
]


def random_string(rng: random.Random) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 6)))


def random_mark(rng: random.Random) -> dict[str, Any]:
    return {rng.choice(["bold", "italic"]): True if rng.random() < 0.7 else None}


def plain(text: Text | XmlText) -> str:
    return "".join(chunk for chunk, _ in text.diff() if isinstance(chunk, str))


def _bytes(value: str, index: int) -> int:
    return len(value[:index].encode())


def _xml_texts(node: XmlFragment | XmlElement, out: list[XmlText]) -> list[XmlText]:
    for child in node.children:
        if isinstance(child, XmlText):
            out.append(child)
        elif isinstance(child, XmlElement):
            _xml_texts(child, out)
    return out


def _paragraph(parent: XmlFragment | XmlElement, index: int, rng: random.Random) -> None:
    element = parent.children.insert(index, XmlElement("paragraph"))
    element.children.append(XmlText(random_string(rng)))


def _list_item(parent: XmlElement, index: int, rng: random.Random) -> None:
    item = parent.children.insert(index, XmlElement("listItem"))
    _paragraph(item, 0, rng)


def _block(fragment: XmlFragment, rng: random.Random) -> None:
    index = rng.randint(0, len(fragment.children))
    kind = rng.choice(["paragraph", "paragraph", "heading", "bulletList"])
    if kind == "paragraph":
        _paragraph(fragment, index, rng)
    elif kind == "heading":
        # TipTap keeps the level a number (pycrdt annotates attributes as strings).
        attrs: dict[str, Any] = {"level": rng.randint(1, 3)}
        heading = fragment.children.insert(index, XmlElement("heading", attrs))
        heading.children.append(XmlText(random_string(rng)))
    else:
        bullets = fragment.children.insert(index, XmlElement("bulletList"))
        for position in range(rng.randint(1, 2)):
            _list_item(bullets, position, rng)


def _edit_text(rng: random.Random, text: Text | XmlText, kind: str) -> str:
    value = plain(text)
    if kind == "insert" or not value:
        attrs = random_mark(rng) if rng.random() < 0.2 else None
        text.insert(_bytes(value, rng.randint(0, len(value))), random_string(rng), attrs)
        return "insert"
    index = rng.randint(0, len(value) - 1)
    span = rng.randint(1, min(6, len(value) - index))
    start, stop = _bytes(value, index), _bytes(value, index + span)
    if kind == "delete":
        del text[start:stop]
    else:
        text.format(start, stop, random_mark(rng))
    return kind


class Editor:
    """Random operations on one client's document, with its own undo manager."""

    def __init__(self, doc: Doc[Any], rng: random.Random, capture_timeout_ms: int) -> None:
        self.doc = doc
        self.rng = rng
        self.text = doc.get(TEXT_ROOT, type=Text)
        self.fragment = doc.get(CONTENT_ROOT, type=XmlFragment)
        self.undo_manager = UndoManager(
            scopes=[self.fragment, self.text], capture_timeout_millis=capture_timeout_ms
        )
        self.undo_manager.include_origin(LOCAL)

    def operation(self) -> str:
        """Make one random operation; return its name (``undo.none``: nothing to undo)."""
        rng = self.rng
        names, weights = zip(*OPERATIONS, strict=True)
        op = rng.choices(names, weights)[0]
        if op == "undo":
            return "undo" if self.undo_manager.undo() else "undo.none"
        with self.doc.transaction(origin=LOCAL):
            return self._edit(op)

    def _edit(self, op: str) -> str:
        rng, fragment = self.rng, self.fragment
        area, _, kind = op.partition(".")
        if area == "text":
            return "text." + _edit_text(rng, self.text, kind)
        if area == "xml":
            texts = _xml_texts(fragment, [])
            if texts:
                return "xml." + _edit_text(rng, rng.choice(texts), kind)
            _block(fragment, rng)
            return "block.insert"
        lists = [
            child
            for child in fragment.children
            if isinstance(child, XmlElement) and child.tag == "bulletList"
        ]
        if op == "item.insert" and lists:
            bullets = rng.choice(lists)
            _list_item(bullets, rng.randint(0, len(bullets.children)), rng)
            return op
        filled = [bullets for bullets in lists if len(bullets.children)]
        if op == "item.delete" and filled:
            bullets = rng.choice(filled)
            del bullets.children[rng.randint(0, len(bullets.children) - 1)]
            return op
        if op == "block.delete" and len(fragment.children):
            del fragment.children[rng.randint(0, len(fragment.children) - 1)]
            return op
        _block(fragment, rng)
        return "block.insert"
