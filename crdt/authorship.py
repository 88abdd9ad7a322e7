"""Who wrote each character of a document's content, and how two versions differ.

Every Yjs item carries the client id that wrote it. pycrdt does not expose items, so
the content is read twice: from the state itself, and from a copy in which the text
of each string item is replaced by one code character per client
(``crdt.update.with_strings``). Both copies have the same structure and text lengths,
so walking them side by side gives each character's client.

Blocks are the leaves of the content (paragraphs, headings, code blocks, rules), each
with its place (the containers around it: lists, list items, quotes) and its text as
runs of one client. ``compare`` aligns the blocks of two versions and, inside a changed
block, the words, and reports every run as kept, added or removed.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from enum import StrEnum
from typing import Any

from pycrdt import XmlElement, XmlFragment, XmlText

from crdt.alignment import ordered_pairs
from crdt.content import content_of, fragment
from crdt.update import decode_update, with_strings

# Code points standing for clients in the coded copy: one UTF-16 unit each (no
# surrogates), from the private use area first.
_PRIVATE_USE = range(0xE000, 0xF900)
_CJK = range(0x3400, 0xA000)
_CODE_COUNT = len(_PRIVATE_USE) + len(_CJK)
_TOKEN = re.compile(r"\s*\w+|\s*[^\w\s]|\s+")
# Blocks are paired by similarity below this many pairs in one changed stretch.
_MAX_PAIRINGS = 400
# Blocks are compared character by character up to this many character pairs (a long
# code block is compared word by word).
_MAX_CHAR_PAIRS = 4_000_000
# A stretch of this few equal characters between two changes is shown as changed: a
# sentence rewritten shares letters with the old one that nobody kept on purpose.
_SHORT_EQUAL = 4


def _code(n: int) -> str:
    """The code character of the ``n``-th client."""
    private = len(_PRIVATE_USE)
    return chr(_PRIVATE_USE[n] if n < private else _CJK[n - private])


@dataclass(frozen=True, slots=True)
class Run:
    """Text of one client (None: not known, e.g. beyond the codes)."""

    text: str
    client: int | None


@dataclass(frozen=True, slots=True)
class Block:
    tag: str
    level: int | None
    # The containers around the block, outermost first.
    path: tuple[str, ...]
    runs: tuple[Run, ...]

    @property
    def text(self) -> str:
        return "".join(run.text for run in self.runs)


class Change(StrEnum):
    SAME = "same"
    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"


@dataclass(frozen=True, slots=True)
class ChangedRun:
    text: str
    change: Change
    client: int | None


@dataclass(frozen=True, slots=True)
class ChangedBlock:
    tag: str
    level: int | None
    path: tuple[str, ...]
    change: Change
    runs: tuple[ChangedRun, ...]


def blocks(state: bytes) -> list[Block]:
    """The content's blocks, each character with the client that wrote it."""
    if not state:
        return []
    update = decode_update(state)
    clients = sorted({block.client for block in update.blocks})
    code_of = {client: _code(n) for n, client in enumerate(clients) if n < _CODE_COUNT}
    by_code = {code: client for client, code in code_of.items()}
    coded = content_of(with_strings(state, lambda c: code_of.get(c, "\ufffd"), update))
    out: list[Block] = []
    _walk(fragment(content_of(state)), fragment(coded), (), by_code, out)
    return out


def _children(node: XmlFragment | XmlElement) -> list[XmlText | XmlElement]:
    return [c for c in node.children if isinstance(c, XmlText | XmlElement)]


def _is_leaf(element: XmlElement) -> bool:
    children = _children(element)
    return all(isinstance(c, XmlText) or not _children(c) for c in children) and (
        bool(children) or element.tag not in _CONTAINERS
    )


_CONTAINERS = frozenset(
    {"bulletList", "orderedList", "listItem", "taskList", "taskItem", "blockquote"}
)


def _level(element: XmlElement) -> int | None:
    value: Any = dict(element.attributes.__iter__()).get("level")
    return int(value) if isinstance(value, int | float) else None


def _walk(
    real: XmlFragment | XmlElement,
    coded: XmlFragment | XmlElement,
    path: tuple[str, ...],
    by_code: dict[str, int],
    out: list[Block],
) -> None:
    for node, copy in zip(_children(real), _children(coded), strict=True):
        if isinstance(node, XmlText) and isinstance(copy, XmlText):
            # Text straight in a container (no StarterKit node does this): a block.
            out.append(Block("text", None, path, tuple(_runs(node, copy, by_code))))
        elif isinstance(node, XmlElement) and isinstance(copy, XmlElement):
            if _is_leaf(node):
                runs: list[Run] = []
                for inline, inline_copy in zip(_children(node), _children(copy), strict=True):
                    if isinstance(inline, XmlText) and isinstance(inline_copy, XmlText):
                        runs += _runs(inline, inline_copy, by_code)
                    else:
                        runs.append(Run("\n", None))
                out.append(Block(node.tag or "", _level(node), path, tuple(_merge(runs))))
            else:
                _walk(node, copy, (*path, node.tag or ""), by_code, out)


def _runs(text: XmlText, coded: XmlText, by_code: dict[str, int]) -> list[Run]:
    real = "".join(c for c, _ in text.diff() if isinstance(c, str))
    codes = "".join(c for c, _ in coded.diff() if isinstance(c, str))
    runs: list[Run] = []
    at = 0
    for char in real:
        client = by_code.get(codes[at]) if at < len(codes) else None
        at += 2 if ord(char) > 0xFFFF else 1
        runs.append(Run(char, client))
    return _merge(runs)


def _merge(runs: Sequence[Run]) -> list[Run]:
    return [
        Run("".join(r.text for r in group), client)
        for client, group in itertools.groupby(runs, key=lambda r: r.client)
    ]


def authors(state: bytes) -> dict[int, int]:
    """Characters of the content per client (None is left out)."""
    counts: dict[int, int] = {}
    for block in blocks(state):
        for run in block.runs:
            if run.client is not None:
                counts[run.client] = counts.get(run.client, 0) + len(run.text)
    return counts


# Comparing two versions


def compare(old: Sequence[Block], new: Sequence[Block]) -> list[ChangedBlock]:
    """The blocks of ``new`` and the removed ones of ``old``, in reading order, each
    run kept, added or removed."""
    keys_old = [_key(b) for b in old]
    keys_new = [_key(b) for b in new]
    out: list[ChangedBlock] = []
    matcher = SequenceMatcher(None, keys_old, keys_new, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            out += [_whole(b, Change.SAME) for b in new[j1:j2]]
            continue
        pairs = _pairs(old[i1:i2], new[j1:j2])
        bounds = [(-1, -1), *pairs, (i2 - i1, j2 - j1)]
        for (pi, pj), (qi, qj) in itertools.pairwise(bounds):
            if pi >= 0:
                out.append(_changed(old[i1 + pi], new[j1 + pj]))
            out += [_whole(b, Change.REMOVED) for b in old[i1 + pi + 1 : i1 + qi]]
            out += [_whole(b, Change.ADDED) for b in new[j1 + pj + 1 : j1 + qj]]
    return out


def _key(block: Block) -> tuple[str, int | None, tuple[str, ...], str]:
    return block.tag, block.level, block.path, block.text


def _whole(block: Block, change: Change) -> ChangedBlock:
    run_change = Change.SAME if change is Change.SAME else change
    runs = tuple(ChangedRun(r.text, run_change, r.client) for r in block.runs)
    return ChangedBlock(block.tag, block.level, block.path, change, runs)


def _pairs(olds: Sequence[Block], news: Sequence[Block]) -> list[tuple[int, int]]:
    """Old and new blocks to show as one changed block: an ordered pairing of the
    most similar ones of the same kind (at least 40% alike)."""
    if len(olds) * len(news) > _MAX_PAIRINGS:
        return [(k, k) for k in range(min(len(olds), len(news))) if olds[k].tag == news[k].tag]
    score = [[_similarity(o, n) for n in news] for o in olds]
    return ordered_pairs(score)


def _similarity(old: Block, new: Block) -> float:
    """How alike two blocks read, from 0.4 to 1; -1 when they are not to be paired
    (another kind of block, or less alike than that)."""
    if old.tag != new.tag:
        return -1.0
    ratio = SequenceMatcher(None, old.text, new.text, autojunk=False).ratio()
    return ratio if ratio >= 0.4 else -1.0


def _chars(block: Block) -> list[tuple[str, int | None]]:
    return [(char, run.client) for run in block.runs for char in run.text]


_Marked = list[tuple[str, Change, int | None]]


def _char_diff(
    old_chars: list[tuple[str, int | None]], new_chars: list[tuple[str, int | None]]
) -> _Marked:
    """Characters compared with their writers: a character kept is the same character
    by the same client, which is as near to the same Yjs item as the text tells."""
    ops = SequenceMatcher(None, old_chars, new_chars, autojunk=False).get_opcodes()
    marked: _Marked = []
    removed: _Marked = []
    added: _Marked = []
    for n, (op, i1, i2, j1, j2) in enumerate(ops):
        short = 0 < n < len(ops) - 1 and i2 - i1 < _SHORT_EQUAL
        if op == "equal" and not short:
            marked += removed + added
            removed, added = [], []
            marked += [(c, Change.SAME, k) for c, k in new_chars[j1:j2]]
            continue
        removed += [(c, Change.REMOVED, k) for c, k in old_chars[i1:i2]]
        added += [(c, Change.ADDED, k) for c, k in new_chars[j1:j2]]
    return marked + removed + added


def _word_diff(
    old: Block,
    new: Block,
    old_chars: list[tuple[str, int | None]],
    new_chars: list[tuple[str, int | None]],
) -> _Marked:
    old_tokens, new_tokens = _TOKEN.findall(old.text), _TOKEN.findall(new.text)
    old_at = [0, *itertools.accumulate(len(t) for t in old_tokens)]
    new_at = [0, *itertools.accumulate(len(t) for t in new_tokens)]
    marked: _Marked = []
    matcher = SequenceMatcher(None, old_tokens, new_tokens, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            marked += [(c, Change.SAME, k) for c, k in new_chars[new_at[j1] : new_at[j2]]]
            continue
        marked += [(c, Change.REMOVED, k) for c, k in old_chars[old_at[i1] : old_at[i2]]]
        marked += [(c, Change.ADDED, k) for c, k in new_chars[new_at[j1] : new_at[j2]]]
    return marked


def _changed(old: Block, new: Block) -> ChangedBlock:
    old_chars, new_chars = _chars(old), _chars(new)
    if len(old_chars) * len(new_chars) <= _MAX_CHAR_PAIRS:
        marked = _char_diff(old_chars, new_chars)
    else:
        marked = _word_diff(old, new, old_chars, new_chars)
    runs = tuple(
        ChangedRun("".join(m[0] for m in group), change, client)
        for (change, client), group in itertools.groupby(marked, key=lambda m: (m[1], m[2]))
    )
    same = all(run.change is Change.SAME for run in runs) and old.level == new.level
    return ChangedBlock(new.tag, new.level, new.path, Change.SAME if same else Change.CHANGED, runs)
