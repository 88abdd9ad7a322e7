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
_LINE_START_SPECIAL = re.compile(r"^(\s*)([#>+\-]|\d+\.)(\s)", re.MULTILINE)


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
                    index += len(chunk)
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
                lines.append(str(child))
            elif isinstance(child, XmlElement):
                walk(child)

    walk(fragment(content_of(state)))
    return "\n".join(lines)


# Markdown


def _md_escape(text: str) -> str:
    text = _MARKDOWN_SPECIAL.sub(r"\\\1", text)
    return _LINE_START_SPECIAL.sub(lambda m: f"{m[1]}\\{m[2]}{m[3]}", text)


def _md_inline(node: XmlElement) -> str:
    out: list[str] = []
    for child in node.children:
        if isinstance(child, XmlText):
            for chunk, attrs in child.diff():
                if not isinstance(chunk, str):
                    continue
                marks = attrs or {}
                text = f"`{chunk.replace('`', '')}`" if "code" in marks else _md_escape(chunk)
                if "bold" in marks:
                    text = f"**{text}**"
                if "italic" in marks:
                    text = f"*{text}*"
                if "strike" in marks:
                    text = f"~~{text}~~"
                link = marks.get("link")
                if isinstance(link, dict) and _SAFE_LINK.match(str(link.get("href", ""))):
                    href = str(link["href"]).replace(")", "%29").replace(" ", "%20")
                    text = f"[{text}]({href})"
                out.append(text)
        elif isinstance(child, XmlElement) and child.tag == "hardBreak":
            out.append("  \n")
        elif isinstance(child, XmlElement):
            out.append(_md_inline(child))
    return "".join(out)


def _md_blocks(node: XmlFragment | XmlElement, indent: str = "") -> list[str]:
    blocks: list[str] = []
    for child in node.children:
        if not isinstance(child, XmlElement):
            continue
        tag = child.tag
        if tag == "heading":
            level = min(max(int(child.attributes.get("level") or 1), 1), 6)
            blocks.append(f"{indent}{'#' * level} {_md_inline(child)}")
        elif tag in ("bulletList", "orderedList", "taskList"):
            items = []
            start = int(child.attributes.get("start") or 1)
            for number, item in enumerate(c for c in child.children if isinstance(c, XmlElement)):
                if tag == "orderedList":
                    marker = f"{start + number}. "
                elif tag == "taskList":
                    marker = "- [x] " if item.attributes.get("checked") else "- [ ] "
                else:
                    marker = "- "
                inner = _md_blocks(item, indent + " " * len(marker))
                first = inner[0].lstrip() if inner else ""
                items.append("\n".join([f"{indent}{marker}{first}", *inner[1:]]))
            blocks.append("\n".join(items))
        elif tag == "blockquote":
            quoted = "\n\n".join(_md_blocks(child))
            blocks.append("\n".join(f"{indent}> {line}".rstrip() for line in quoted.split("\n")))
        elif tag == "codeBlock":
            language = str(child.attributes.get("language") or "")
            code = "".join(str(c) for c in child.children if isinstance(c, XmlText))
            fence = "````" if "```" in code else "```"
            lines = [f"{fence}{language}", *code.split("\n"), fence]
            blocks.append("\n".join(f"{indent}{line}" for line in lines))
        elif tag == "horizontalRule":
            blocks.append(f"{indent}---")
        else:  # paragraph, and anything unknown: its text
            blocks.append(f"{indent}{_md_inline(child)}")
    return blocks


def to_markdown(state: bytes) -> str:
    return "\n\n".join(_md_blocks(fragment(content_of(state)))).strip() + "\n"


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
            level = min(max(int(child.attributes.get("level") or 1), 1), 6)
            out.append(f"<h{level}>{_html_inline(child)}</h{level}>")
        elif tag == "bulletList":
            out.append(f"<ul>{_html_blocks(child)}</ul>")
        elif tag == "orderedList":
            start = int(child.attributes.get("start") or 1)
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
