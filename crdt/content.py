"""Document content: the Y.XmlFragment ``default`` with TipTap StarterKit node names.

Server-side edits (templates, restoring a version) are made on a scratch copy of the
document and returned as one Yjs update, which the caller applies like a client's
edit, so every client receives it and it is stored once. Exports walk the fragment
and write Markdown or HTML; text is always escaped, link targets are limited to
http, https and mailto.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from typing import Any

from pycrdt import Doc, XmlElement, XmlFragment, XmlText

from crdt.anchors import CONTENT_ROOT

# A block: (node name, attributes, text or child blocks).
Block = tuple[str, dict[str, Any], str | Sequence["Block"]]

_SAFE_LINK = re.compile(r"^(https?:|mailto:)", re.IGNORECASE)
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>~|])")


def content_of(state: bytes) -> Doc[Any]:
    doc: Doc[Any] = Doc()
    if state:
        doc.apply_update(state)
    return doc


def fragment(doc: Doc[Any]) -> XmlFragment:
    root: XmlFragment = doc.get(CONTENT_ROOT, type=XmlFragment)
    return root


def edit(state: bytes, change: Callable[[XmlFragment], None]) -> bytes:
    """The update that ``change`` makes to a document whose state is ``state``."""
    doc = content_of(state)
    before = doc.get_state()
    with doc.transaction():
        change(fragment(doc))
    return doc.get_update(before)


def _attributes(element: XmlElement) -> dict[str, Any]:
    # pycrdt types the attribute view's __iter__ as an Iterable, not an Iterator.
    return dict(element.attributes.__iter__())


def _clear(target: XmlFragment | XmlElement) -> None:
    while len(target.children):
        del target.children[len(target.children) - 1]


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
    """A change that makes the content equal to the content of ``source_state``."""

    def change(target: XmlFragment) -> None:
        _clear(target)
        _copy_children(fragment(content_of(source_state)), target)

    return change


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


# Markdown


def _int(value: object, default: int) -> int:
    """A numeric attribute as clients store it (JavaScript numbers), or ``default``."""
    if isinstance(value, bool):
        return default
    if isinstance(value, int | float) and value == value and abs(value) < 2**31:
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit() and len(value) < 10:
        return int(value)
    return default


def _longest_run(text: str, char: str) -> int:
    return max((len(run) for run in re.findall(f"{re.escape(char)}+", text)), default=0)


def _md_escape(text: str) -> str:
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def _md_line_start(line: str) -> str:
    """Escape what would start a block (heading, quote, list, rule) at a line's start."""
    stripped = line.lstrip(" ")
    pad = line[: len(line) - len(stripped)]
    number = re.match(r"(\d{1,9})([.)])", stripped)
    if number:
        return f"{pad}{number[1]}\\{number[2]}{stripped[number.end() :]}"
    if re.match(r"(#{1,6}|[-+=])(\s|$)", stripped) or re.match(r"[-=]{3,}\s*$", stripped):
        return f"{pad}\\{stripped}"
    return line


def _md_code_span(code: str) -> str:
    fence = "`" * (_longest_run(code, "`") + 1)
    pad = " " if code.startswith("`") or code.endswith("`") else ""
    return f"{fence}{pad}{code}{pad}{fence}"


def _md_inline(node: XmlElement) -> str:
    out: list[str] = []
    for child in node.children:
        if isinstance(child, XmlText):
            for chunk, attrs in child.diff():
                if not isinstance(chunk, str):
                    continue
                marks = attrs or {}
                text = _md_code_span(chunk) if "code" in marks else _md_escape(chunk)
                if "bold" in marks:
                    text = f"**{text}**"
                if "italic" in marks:
                    text = f"*{text}*"
                if "strike" in marks:
                    text = f"~~{text}~~"
                link = marks.get("link")
                if isinstance(link, dict) and _SAFE_LINK.match(str(link.get("href", ""))):
                    href = str(link["href"])
                    for char, code in (("(", "%28"), (")", "%29"), (" ", "%20"), ("<", "%3C")):
                        href = href.replace(char, code)
                    text = f"[{text}]({href})"
                out.append(text)
        elif isinstance(child, XmlElement) and child.tag == "hardBreak":
            out.append("\\\n")
        elif isinstance(child, XmlElement):
            out.append(_md_inline(child))
    return "\n".join(_md_line_start(line) for line in "".join(out).split("\n"))


def _indent(text: str, prefix: str) -> str:
    return "\n".join(f"{prefix}{line}" if line else line for line in text.split("\n"))


def _md_list(element: XmlElement) -> str:
    items = []
    start = _int(element.attributes.get("start"), 1)
    for number, item in enumerate(c for c in element.children if isinstance(c, XmlElement)):
        if element.tag == "orderedList":
            marker, prefix = f"{start + number}. ", ""
        elif element.tag == "taskList":
            marker = "- "
            prefix = "[x] " if item.attributes.get("checked") is True else "[ ] "
        else:
            marker, prefix = "- ", ""
        content = _md_item(item)
        body = _indent(prefix + content, " " * len(marker))
        items.append(marker + body[len(marker) :])
    return "\n".join(items)


# Blocks that may start right below a line of text without joining it.
_INTERRUPTING = {
    "heading",
    "bulletList",
    "orderedList",
    "taskList",
    "blockquote",
    "codeBlock",
}


def _md_item(item: XmlElement) -> str:
    """A list item's blocks, each on the next line; a blank line before a paragraph,
    which would otherwise continue the line above it."""
    parts: list[str] = []
    for child in item.children:
        if not isinstance(child, XmlElement):
            continue
        if parts:
            parts.append("\n\n" if child.tag not in _INTERRUPTING else "\n")
        parts.append(_md_block(child))
    return "".join(parts)


def _md_block(child: XmlElement) -> str:
    tag = child.tag
    if tag == "heading":
        level = min(max(_int(child.attributes.get("level"), 1), 1), 6)
        return f"{'#' * level} {_md_inline(child)}"
    if tag in ("bulletList", "orderedList", "taskList"):
        return _md_list(child)
    if tag == "blockquote":
        quoted = "\n\n".join(_md_block(c) for c in child.children if isinstance(c, XmlElement))
        return "\n".join(f"> {line}".rstrip() for line in quoted.split("\n"))
    if tag == "codeBlock":
        language = str(child.attributes.get("language") or "")
        code = "".join(str(c) for c in child.children if isinstance(c, XmlText))
        fence = "`" * max(3, _longest_run(code, "`") + 1)
        return "\n".join([f"{fence}{language}", *code.split("\n"), fence])
    if tag == "horizontalRule":
        return "---"
    return _md_inline(child)  # paragraph, and anything unknown: its text


def to_markdown(state: bytes) -> str:
    root = fragment(content_of(state))
    blocks = [_md_block(c) for c in root.children if isinstance(c, XmlElement)]
    return "\n\n".join(blocks).strip() + "\n"


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
            code = html.escape("".join(str(c) for c in child.children if isinstance(c, XmlText)))
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
