"""Document content: the Y.XmlFragment ``default`` with TipTap StarterKit node names.

Server-side edits (templates, restoring a version) are made on a scratch copy of the
document and returned as one Yjs update, which the caller applies like a client's
edit, so every client receives it and it is stored once. Exports walk the fragment
and write Markdown or HTML; text is always escaped, link targets are limited to
http, https and mailto. The Markdown holds no HTML and no structure the document does
not have, even for a renderer that lets raw HTML through.
"""

from __future__ import annotations

import html
import itertools
import json
import re
import unicodedata
from collections.abc import Callable, Sequence
from difflib import SequenceMatcher
from typing import Any

from pycrdt import Doc, XmlElement, XmlFragment, XmlText

from crdt.alignment import ordered_pairs
from crdt.anchors import CONTENT_ROOT

# A block: (node name, attributes, text or child blocks).
Block = tuple[str, dict[str, Any], str | Sequence["Block"]]

_SAFE_LINK = re.compile(r"^(https?:|mailto:)", re.IGNORECASE)


def content_of(state: bytes) -> Doc[Any]:
    doc: Doc[Any] = Doc()
    if state:
        doc.apply_update(state)
    return doc


def fragment(doc: Doc[Any]) -> XmlFragment:
    root: XmlFragment = doc.get(CONTENT_ROOT, type=XmlFragment)
    return root


def edit(
    state: bytes, change: Callable[[XmlFragment], None], client_id: int | None = None
) -> bytes:
    """The update that ``change`` makes to a document whose state is ``state``, as
    Yjs client ``client_id`` (a random one when None)."""
    doc: Doc[Any] = Doc() if client_id is None else Doc(client_id=client_id)
    if state:
        doc.apply_update(state)
    before = doc.get_state()
    with doc.transaction():
        change(fragment(doc))
    return doc.get_update(before)


def _attributes(element: XmlElement) -> dict[str, Any]:
    # pycrdt types the attribute view's __iter__ as an Iterable, not an Iterator.
    return dict(element.attributes.__iter__())


def _copy_children(source: XmlFragment | XmlElement, target: XmlFragment | XmlElement) -> None:
    for child in source.children:
        if isinstance(child, XmlText):
            copy = target.children.append(XmlText())
            index = 0
            for chunk, attrs in child.diff():
                if isinstance(chunk, str):
                    copy.insert(index, chunk, attrs)
                    # yrs counts text offsets in UTF-8 bytes.
                    index += len(chunk.encode())
        elif isinstance(child, XmlElement):
            element = target.children.append(XmlElement(child.tag, _attributes(child)))
            _copy_children(child, element)


def replace_with(source_state: bytes) -> Callable[[XmlFragment], None]:
    """A change that makes the content equal to the content of ``source_state``,
    changing only what differs.

    Blocks are matched as sequences (equal ones are left alone), a changed block is
    brought in line with its most similar counterpart (attributes, children, and its
    text by a word diff), and only text that differs is deleted or inserted, so the
    Yjs items of everything else survive, with the comment anchors, carets and
    authorship on them.
    """

    def change(target: XmlFragment) -> None:
        _reconcile_children(fragment(content_of(source_state)), target)

    return change


_Node = XmlText | XmlElement
_Parent = XmlFragment | XmlElement
# Pairing blocks by similarity costs a text comparison per pair; beyond this many
# pairs in one changed stretch, blocks are paired in order.
_MAX_PAIRINGS = 400
_TOKEN = re.compile(r"\w+|\s+|[^\w\s]")
# Texts are compared character by character up to this many character pairs.
_MAX_CHAR_PAIRS = 4_000_000


def _children(node: _Parent) -> list[_Node]:
    return [c for c in node.children if isinstance(c, XmlText | XmlElement)]


def _signature(node: _Node) -> str:
    """A string equal for two nodes exactly when their content is."""
    if isinstance(node, XmlText):
        return "t" + json.dumps([[c, a] for c, a in node.diff()], sort_keys=True, default=str)
    children = ",".join(_signature(child) for child in _children(node))
    attrs = json.dumps(_attributes(node), sort_keys=True, default=str)
    return f"e{node.tag}{attrs}[{children}]"


def _text_of(node: _Node) -> str:
    if isinstance(node, XmlText):
        return "".join(c for c, _ in node.diff() if isinstance(c, str))
    return "\n".join(_text_of(child) for child in _children(node))


def _alike(a: _Node, b: _Node) -> bool:
    if isinstance(a, XmlText):
        return isinstance(b, XmlText)
    return isinstance(b, XmlElement) and a.tag == b.tag


def _pairs(olds: list[_Node], news: list[_Node]) -> list[tuple[int, int]]:
    """Which old and new nodes of a changed stretch to bring in line, in order: the
    pairing with the most similar text (an ordered alignment), alike nodes only."""
    if len(olds) * len(news) > _MAX_PAIRINGS:
        return [(k, k) for k in range(min(len(olds), len(news))) if _alike(olds[k], news[k])]
    old_texts = [_text_of(n) for n in olds]
    new_texts = [_text_of(n) for n in news]
    score = [[-1.0] * len(news) for _ in olds]
    for i, old in enumerate(olds):
        for j, new in enumerate(news):
            if _alike(old, new):
                ratio = SequenceMatcher(None, old_texts[i], new_texts[j], autojunk=False).ratio()
                score[i][j] = ratio if len(olds) == len(news) == 1 else ratio - 0.3
    return ordered_pairs(score)


def _reconcile_children(source: _Parent, target: _Parent) -> None:
    olds = _children(target)
    news = _children(source)
    matcher = SequenceMatcher(
        None, [_signature(n) for n in olds], [_signature(n) for n in news], autojunk=False
    )
    # From the end, so that the positions of earlier stretches hold.
    for op, i1, i2, j1, j2 in reversed(matcher.get_opcodes()):
        if op == "equal":
            continue
        pairs = _pairs(olds[i1:i2], news[j1:j2])
        # Each stretch between two pairs (and after the last) is replaced outright;
        # again from the end.
        bounds = [(-1, -1), *pairs, (i2 - i1, j2 - j1)]
        for (pi, pj), (qi, qj) in reversed(list(itertools.pairwise(bounds))):
            for _ in range(qi - pi - 1):
                del target.children[i1 + pi + 1]
            for offset, node in enumerate(news[j1 + pj + 1 : j1 + qj]):
                _insert_copy(node, target, i1 + pi + 1 + offset)
            if pi >= 0:
                _reconcile(news[j1 + pj], olds[i1 + pi])


def _reconcile(source: _Node, target: _Node) -> None:
    if isinstance(source, XmlText) and isinstance(target, XmlText):
        _reconcile_text(source, target)
        return
    assert isinstance(source, XmlElement) and isinstance(target, XmlElement)
    wanted = _attributes(source)
    for key, value in _attributes(target).items():
        if key not in wanted:
            del target.attributes[key]
        elif wanted[key] == value:
            del wanted[key]
    for key, value in wanted.items():
        target.attributes[key] = value
    _reconcile_children(source, target)


def _insert_copy(node: _Node, target: _Parent, index: int) -> None:
    if isinstance(node, XmlText):
        copy = target.children.insert(index, XmlText())
        _copy_text(node, copy)
    else:
        element = target.children.insert(index, XmlElement(node.tag, _attributes(node)))
        _copy_children(node, element)


def _copy_text(source: XmlText, target: XmlText) -> None:
    index = 0
    for chunk, attrs in source.diff():
        if isinstance(chunk, str):
            target.insert(index, chunk, attrs)
            # yrs counts text offsets in UTF-8 bytes.
            index += len(chunk.encode())


def _chars(node: XmlText) -> list[tuple[str, str]]:
    """Each character of ``node`` with its formatting (as a JSON string)."""
    out: list[tuple[str, str]] = []
    for chunk, attrs in node.diff():
        marks = json.dumps(attrs or {}, sort_keys=True, default=str)
        out += [(char, marks) for char in chunk]
    return out


def _reconcile_text(source: XmlText, target: XmlText) -> None:
    if any(not isinstance(c, str) for c, _ in [*source.diff(), *target.diff()]):
        # Embedded objects (no StarterKit node writes them): replace the whole text.
        del target[0 : len(str(target).encode())]
        _copy_text(source, target)
        return
    new = _chars(source)
    old_text = "".join(c for c, _ in _chars(target))
    new_text = "".join(c for c, _ in new)
    if old_text != new_text:
        old_bytes = _byte_offsets(old_text)
        for start, end, j1, j2 in reversed(_text_changes(old_text, new_text)):
            if old_bytes[end] > old_bytes[start]:
                del target[old_bytes[start] : old_bytes[end]]
            at = old_bytes[start]
            for chunk, marks in _runs(new[j1:j2]):
                target.insert(at, chunk, json.loads(marks) or None)
                at += len(chunk.encode())
    # The text is the source's now; bring the formatting in line.
    current = _chars(target)
    at = 0
    for (char, marks), (_, wanted) in zip(current, new, strict=True):
        size = len(char.encode())
        if marks != wanted:
            attrs: dict[str, Any] = dict.fromkeys(json.loads(marks), None)
            attrs.update(json.loads(wanted))
            target.format(at, at + size, attrs)
        at += size


def _text_changes(old: str, new: str) -> list[tuple[int, int, int, int]]:
    """The stretches (old start, old end, new start, new end, in characters) to
    replace for ``old`` to read ``new``: character by character, so that every
    character that can stay does (its item, and what hangs on it, survives); word by
    word for texts too long to compare so."""
    if len(old) * len(new) <= _MAX_CHAR_PAIRS:
        matcher = SequenceMatcher(None, old, new, autojunk=False)
        return [(i1, i2, j1, j2) for op, i1, i2, j1, j2 in matcher.get_opcodes() if op != "equal"]
    old_tokens, new_tokens = _TOKEN.findall(old), _TOKEN.findall(new)
    old_at, new_at = _offsets(old_tokens), _offsets(new_tokens)
    matcher = SequenceMatcher(None, old_tokens, new_tokens, autojunk=False)
    return [
        (old_at[i1], old_at[i2], new_at[j1], new_at[j2])
        for op, i1, i2, j1, j2 in matcher.get_opcodes()
        if op != "equal"
    ]


def _offsets(tokens: list[str]) -> list[int]:
    """The character offset where each token starts, and the total."""
    return [0, *itertools.accumulate(len(t) for t in tokens)]


def _byte_offsets(text: str) -> list[int]:
    """The UTF-8 offset of each character of ``text``, and the total."""
    return [0, *itertools.accumulate(len(c.encode()) for c in text)]


def _runs(chars: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Characters with the same formatting joined into runs."""
    return [("".join(c for c, _ in group), marks) for marks, group in _group(chars)]


def _group(chars: list[tuple[str, str]]) -> list[tuple[str, list[tuple[str, str]]]]:
    return [(marks, list(group)) for marks, group in itertools.groupby(chars, key=lambda c: c[1])]


def _append_blocks(target: XmlFragment | XmlElement, blocks: Sequence[Block]) -> None:
    for name, attrs, content in blocks:
        element = target.children.append(XmlElement(name, dict(attrs)))
        if isinstance(content, str):
            if content:
                element.children.append(XmlText(content))
        else:
            _append_blocks(element, content)


def append_blocks(blocks: Sequence[Block]) -> Callable[[XmlFragment], None]:
    """A change that appends ``blocks`` to the content."""

    def change(target: XmlFragment) -> None:
        _append_blocks(target, blocks)

    return change


def plain_text(state: bytes) -> str:
    """The text of the content, one line per block."""
    lines: list[str] = []

    def walk(node: XmlFragment | XmlElement) -> None:
        for child in node.children:
            if isinstance(child, XmlText):
                lines.append("".join(c for c, _ in child.diff() if isinstance(c, str)))
            elif isinstance(child, XmlElement):
                walk(child)

    walk(fragment(content_of(state)))
    return "\n".join(lines)


# Attributes and text, as both exports read them


def _int(value: object, default: int) -> int:
    """A numeric attribute as clients store it (JavaScript numbers), or ``default``."""
    if isinstance(value, bool):
        return default
    if isinstance(value, int | float) and value == value and abs(value) < 2**31:
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit() and len(value) < 10:
        return int(value)
    return default


def _line_breaks(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _code_text(element: XmlElement) -> str:
    """A code block's text (marks, which a code block does not take, are left out)."""
    chunks = (
        chunk
        for child in element.children
        if isinstance(child, XmlText)
        for chunk, _ in child.diff()
        if isinstance(chunk, str)
    )
    return _line_breaks("".join(chunks))


# Markdown
#
# The export must stay inert in any renderer, including one that passes raw HTML
# through: text never opens a construct of its own (HTML, autolink, entity reference,
# link, emphasis, code, a new block), and attributes reach the output only through
# whitelists (a code block's language, link schemes, numbers). CommonMark ends a line
# at "\r" as well as at "\n", so every text is read with its line breaks made "\n".

# Escaped wherever they appear in text: each can open inline syntax (GFM tables and
# strikethrough, and the attribute lists of other dialects, included); "&" only where
# it would start an entity reference.
_MARKDOWN_SPECIAL = re.compile(r"[\\`*_\[\]<>~|{}]|&(?=[A-Za-z0-9#])")
# An ordered list marker; CommonMark reads at most nine digits as a list number.
_LIST_NUMBER = re.compile(r"\d{1,9}(?=[.)])")
_MAX_LIST_NUMBER = 999_999_999
# A fenced code block's info string: a language name and nothing else.
_LANGUAGE = re.compile(r"[A-Za-z0-9_+.#-]{1,40}")
# Percent-encoded in a link target, with every whitespace and control character: what
# would end it, open other syntax, or break out of a carelessly built attribute.
_URL_UNSAFE = frozenset("()<>\\`\"' ")
_HARD_BREAK = "\\\n"
# Nodes that are blocks of their own in Markdown; anything else is written as text.
_BLOCKS = {
    "heading",
    "bulletList",
    "orderedList",
    "taskList",
    "blockquote",
    "codeBlock",
    "horizontalRule",
}

# Code span, bold, italic, strike, safe link target: what a run looks like in Markdown.
_Style = tuple[bool, bool, bool, bool, str | None]


def _longest_run(text: str, char: str) -> int:
    return max((len(run) for run in re.findall(f"{re.escape(char)}+", text)), default=0)


def _md_escape(text: str) -> str:
    return _MARKDOWN_SPECIAL.sub(r"\\\g<0>", text)


def _md_line(line: str, *, first: bool) -> str:
    """One line of a paragraph: no indentation that would make it code, nothing at its
    start that would open a block (heading, list item, setext underline, rule), no
    trailing whitespace (two spaces would be a hard break). A blank line becomes empty."""
    body = line.lstrip(" \t")
    pad = line[: len(line) - len(body)]
    if first or "\t" in pad or len(pad) > 3:
        pad = ""
    body = body.rstrip()
    if not body:
        return ""
    number = _LIST_NUMBER.match(body)
    if number:
        body = f"{number[0]}\\{body[number.end() :]}"
    elif body[0] in "#+-=":
        body = "\\" + body
    return pad + body


def _md_code_span(code: str) -> str:
    # A line break in a code span renders as a space; kept, it could end the paragraph.
    code = code.replace("\n", " ")
    fence = "`" * (_longest_run(code, "`") + 1)
    # CommonMark takes a space off both ends of a span that starts and ends with one.
    ends = code[:1] + code[-1:]
    padded = "`" in ends or (ends == "  " and code.strip(" ") != "")
    pad = " " if padded else ""
    return f"{fence}{pad}{code}{pad}{fence}"


def _md_destination(href: str) -> str:
    encoded = "".join(
        "".join(f"%{byte:02X}" for byte in char.encode())
        if char in _URL_UNSAFE or unicodedata.category(char)[0] in "CZ"
        else char
        for char in href
    )
    return re.sub(r"&(?=[A-Za-z0-9#])", r"\\&", encoded)


def _md_style(marks: dict[str, Any]) -> _Style:
    link = marks.get("link")
    href = str(link.get("href", "")) if isinstance(link, dict) else ""
    return (
        "code" in marks,
        "bold" in marks,
        "italic" in marks,
        "strike" in marks,
        href if _SAFE_LINK.match(href) else None,
    )


def _md_runs(node: XmlElement, runs: list[tuple[str, _Style] | None]) -> None:
    """The text runs under ``node``, ``None`` for a hard break. Neighbours that look the
    same in Markdown are one run, so two code spans never touch."""
    for child in node.children:
        if isinstance(child, XmlText):
            for chunk, attrs in child.diff():
                if not isinstance(chunk, str) or not chunk:
                    continue
                style, text = _md_style(attrs or {}), _line_breaks(chunk)
                last = runs[-1] if runs else None
                if last is not None and last[1] == style:
                    runs[-1] = (last[0] + text, style)
                else:
                    runs.append((text, style))
        elif isinstance(child, XmlElement) and child.tag == "hardBreak":
            runs.append(None)
        elif isinstance(child, XmlElement):
            _md_runs(child, runs)


def _md_run(text: str, style: _Style) -> str:
    code, bold, italic, strike, href = style
    if code:
        lead, core, trail = "", _md_code_span(text), ""
    else:
        # Whitespace stays outside delimiters, next to which they would not count.
        stripped = text.strip()
        if not stripped:
            return text
        lead = text[: len(text) - len(text.lstrip())]
        trail = text[len(text.rstrip()) :]
        core = _md_escape(stripped)
    if bold:
        core = f"**{core}**"
    if italic:
        core = f"*{core}*"
    if strike:
        core = f"~~{core}~~"
    if href is not None:
        core = f"[{core}]({_md_destination(href)})"
    return lead + core + trail


def _ends_with_hard_break(line: str) -> bool:
    # Backslashes of the text itself come in pairs.
    return (len(line) - len(line.rstrip("\\"))) % 2 == 1


def _md_inline(node: XmlElement, *, one_line: bool = False) -> str:
    """A paragraph's (or a heading's, on ``one_line``) text: lines that cannot open a
    block, and no blank line, which would end the paragraph."""
    runs: list[tuple[str, _Style] | None] = []
    _md_runs(node, runs)
    hard_break = " " if one_line else _HARD_BREAK
    pieces = [hard_break if run is None else _md_run(*run) for run in runs]
    for i in range(1, len(pieces)):
        if pieces[i].startswith("[") and pieces[i - 1].endswith("!"):
            # "!" right before a link would make it an image.
            pieces[i - 1] = pieces[i - 1][:-1] + "\\!"
    text = "".join(pieces)
    if one_line:
        text = re.sub("\n+", " ", text).rstrip()
        hashes = len(text) - len(text.rstrip("#"))
        if hashes:
            # Else read as the heading's closing sequence, and dropped.
            text = f"{text[:-hashes]}\\{text[-hashes:]}"
    lines = [_md_line(line, first=not i) for i, line in enumerate(text.split("\n"))]
    lines = [line for line in lines if line]
    # A hard break at the end of a block would show as a backslash.
    while lines and _ends_with_hard_break(lines[-1]):
        lines[-1] = lines[-1][:-1].rstrip()
        if not lines[-1]:
            lines.pop()
    return "\n".join(lines)


def _interrupts(tag: str, text: str) -> bool:
    """Whether this block may start on the line below a paragraph without joining it:
    a list only if its first item has content, an ordered one only from 1."""
    if tag in ("bulletList", "orderedList", "taskList"):
        return re.match(r"(?:-|1\.) +\S", text) is not None
    return tag in ("heading", "blockquote", "codeBlock")


def _md_item(item: XmlElement, box: str | None = None) -> str:
    """A list item's blocks, each on the next line, or after a blank line where it
    would otherwise continue the paragraph above it. A task item's ``box`` opens its
    first paragraph, or stands as a paragraph of its own above any other block. Empty
    blocks are left out: an item that starts with a blank line ends there."""
    blocks = [(c.tag or "", _md_block(c)) for c in item.children if isinstance(c, XmlElement)]
    blocks = [(tag, text) for tag, text in blocks if text]
    if box is not None:
        if blocks and blocks[0][0] not in _BLOCKS:
            blocks[0] = ("paragraph", f"{box} {blocks[0][1]}")
        else:
            blocks.insert(0, ("paragraph", box))
    out: list[str] = []
    if blocks and blocks[0][0] in ("bulletList", "orderedList", "taskList", "horizontalRule"):
        # Below the marker: on its line, "- ---" or nested markers "- - -" are a rule.
        out.append("")
    for index, (tag, text) in enumerate(blocks):
        if index:
            # Two quotes a line apart are one quote.
            joins = tag == blocks[index - 1][0] == "blockquote"
            out.append("\n" if _interrupts(tag, text) and not joins else "\n\n")
        elif out:
            out.append("\n")
        out.append(text)
    return "".join(out)


def _md_list(element: XmlElement) -> str:
    start = min(max(_int(element.attributes.get("start"), 1), 0), _MAX_LIST_NUMBER)
    items = []
    for number, item in enumerate(c for c in element.children if isinstance(c, XmlElement)):
        if element.tag == "orderedList":
            marker, content = f"{min(start + number, _MAX_LIST_NUMBER)}. ", _md_item(item)
        elif element.tag == "taskList":
            box = "[x]" if item.attributes.get("checked") is True else "[ ]"
            marker, content = "- ", _md_item(item, box)
        else:
            marker, content = "- ", _md_item(item)
        first, *rest = content.split("\n")
        pad = " " * len(marker)
        lines = [(marker + first).rstrip(" "), *(pad + line if line else "" for line in rest)]
        items.append("\n".join(lines))
    return "\n".join(items)


def _md_language(element: XmlElement) -> str:
    language = element.attributes.get("language")
    return language if isinstance(language, str) and _LANGUAGE.fullmatch(language) else ""


def _md_block(child: XmlElement) -> str:
    tag = child.tag
    if tag == "heading":
        level = min(max(_int(child.attributes.get("level"), 1), 1), 6)
        return f"{'#' * level} {_md_inline(child, one_line=True)}".rstrip()
    if tag in ("bulletList", "orderedList", "taskList"):
        return _md_list(child)
    if tag == "blockquote":
        quoted = "\n\n".join(_md_block(c) for c in child.children if isinstance(c, XmlElement))
        return "\n".join(f"> {line}" if line else ">" for line in quoted.split("\n"))
    if tag == "codeBlock":
        code = _code_text(child)
        # Longer than any run of backticks in the code, which therefore cannot close it.
        fence = "`" * max(3, _longest_run(code, "`") + 1)
        return "\n".join([fence + _md_language(child), *code.split("\n"), fence])
    if tag == "horizontalRule":
        return "---"
    return _md_inline(child)  # paragraph, and anything unknown: its text


def to_markdown(state: bytes) -> str:
    root = fragment(content_of(state))
    blocks = [_md_block(c) for c in root.children if isinstance(c, XmlElement)]
    return "\n\n".join(blocks).strip("\n") + "\n"


# HTML


def _html_inline(node: XmlElement) -> str:
    out: list[str] = []
    for child in node.children:
        if isinstance(child, XmlText):
            for chunk, attrs in child.diff():
                if not isinstance(chunk, str):
                    continue
                marks = attrs or {}
                text = html.escape(chunk)
                for mark, tag in (("code", "code"), ("bold", "strong"), ("italic", "em")):
                    if mark in marks:
                        text = f"<{tag}>{text}</{tag}>"
                if "strike" in marks:
                    text = f"<s>{text}</s>"
                link = marks.get("link")
                if isinstance(link, dict) and _SAFE_LINK.match(str(link.get("href", ""))):
                    href = html.escape(str(link["href"]), quote=True)
                    text = f'<a href="{href}" rel="noopener noreferrer nofollow">{text}</a>'
                out.append(text)
        elif isinstance(child, XmlElement) and child.tag == "hardBreak":
            out.append("<br>")
        elif isinstance(child, XmlElement):
            out.append(_html_inline(child))
    return "".join(out)


def _html_blocks(node: XmlFragment | XmlElement) -> str:
    out: list[str] = []
    for child in node.children:
        if not isinstance(child, XmlElement):
            continue
        tag = child.tag
        if tag == "heading":
            level = min(max(_int(child.attributes.get("level"), 1), 1), 6)
            out.append(f"<h{level}>{_html_inline(child)}</h{level}>")
        elif tag == "bulletList":
            out.append(f"<ul>{_html_blocks(child)}</ul>")
        elif tag == "orderedList":
            start = _int(child.attributes.get("start"), 1)
            attr = f' start="{start}"' if start != 1 else ""
            out.append(f"<ol{attr}>{_html_blocks(child)}</ol>")
        elif tag == "taskList":
            out.append(f'<ul data-type="taskList">{_html_blocks(child)}</ul>')
        elif tag == "taskItem":
            checked = bool(child.attributes.get("checked"))
            box = '<input type="checkbox" disabled' + (" checked>" if checked else ">")
            out.append(
                f'<li data-checked="{str(checked).lower()}">{box} {_html_blocks(child)}</li>'
            )
        elif tag == "listItem":
            out.append(f"<li>{_html_blocks(child)}</li>")
        elif tag == "blockquote":
            out.append(f"<blockquote>{_html_blocks(child)}</blockquote>")
        elif tag == "codeBlock":
            language = str(child.attributes.get("language") or "")
            code = html.escape(_code_text(child))
            cls = f' class="language-{html.escape(language, quote=True)}"' if language else ""
            out.append(f"<pre><code{cls}>{code}</code></pre>")
        elif tag == "horizontalRule":
            out.append("<hr>")
        else:
            out.append(f"<p>{_html_inline(child)}</p>")
    return "".join(out)


def to_html(state: bytes, title: str) -> str:
    """A standalone HTML page with the content."""
    body = _html_blocks(fragment(content_of(state)))
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )
