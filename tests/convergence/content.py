"""The content every copy of a fuzzed document must agree on, in one canonical form.

Both shapes the product uses: the ``Y.XmlFragment`` named ``default`` (TipTap nodes
holding XmlText) and the ``Y.Text`` named ``text``. The form is plain JSON, the same
whether a pycrdt document or a Yjs one (``tests/interop/convergence.mjs``) produced it:
the fragment as a list of nodes, an element ``{"name", "attrs", "children"}``, a text
``{"text": delta}``; a delta is a list of ``[insert, attributes]`` with null attributes
left out and neighbours with equal attributes merged. Numbers that are whole are
integers (yrs reads every Yjs number as a float).
"""

from __future__ import annotations

import difflib
import json
from typing import Any

from pycrdt import Doc, Text, XmlElement, XmlFragment, XmlText

CONTENT_ROOT = "default"
TEXT_ROOT = "text"

Content = dict[str, Any]


def _value(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _value(item) for key, item in sorted(value.items()) if item is not None}
    if isinstance(value, list):
        return [_value(item) for item in value]
    return value


def _delta(chunks: list[tuple[Any, dict[str, Any] | None]]) -> list[list[Any]]:
    out: list[list[Any]] = []
    for insert, attributes in chunks:
        attrs = _value(dict(attributes or {}))
        if not isinstance(insert, str):
            out.append([{"embed": str(insert)}, attrs])
        elif out and isinstance(out[-1][0], str) and out[-1][1] == attrs:
            out[-1][0] += insert
        elif insert:
            out.append([insert, attrs])
    return out


def _node(node: XmlElement | XmlText | XmlFragment) -> dict[str, Any]:
    if isinstance(node, XmlText):
        return {"text": _delta(node.diff())}
    if isinstance(node, XmlElement):
        return {
            "name": node.tag,
            # pycrdt types the attribute view's __iter__ as an Iterable.
            "attrs": _value(dict(node.attributes.__iter__())),
            "children": [_node(child) for child in node.children],
        }
    return {"other": str(node)}


def content_of(doc: Doc[Any]) -> Content:
    """The canonical content of a pycrdt document."""
    fragment = doc.get(CONTENT_ROOT, type=XmlFragment)
    text = doc.get(TEXT_ROOT, type=Text)
    return {
        "default": [_node(child) for child in fragment.children],
        "text": _delta(text.diff()),
    }


def xml_of(doc: Doc[Any]) -> str:
    """The fragment's string form as pycrdt renders it."""
    return str(doc.get(CONTENT_ROOT, type=XmlFragment))


def normalise(content: Any) -> Content:
    """Content that came as JSON (from the Node side) in the canonical form."""
    normal: Content = _value(content)
    return normal


def canonical(content: Content) -> str:
    """One string per distinct content: what copies are compared by."""
    return json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def describe(content: Content) -> str:
    """Readable lines: one per block (indented by depth), then the text with its marks."""
    lines: list[str] = []

    def delta(chunks: list[list[Any]]) -> str:
        parts = []
        for insert, attrs in chunks:
            marks = "".join(f"[{name}]" for name in attrs)
            parts.append(f"{marks}{insert!r}" if marks else repr(insert))
        return " + ".join(parts) or "''"

    def walk(nodes: list[dict[str, Any]], depth: int) -> None:
        for node in nodes:
            if "text" in node:
                lines.append("  " * depth + "text " + delta(node["text"]))
            elif "name" in node:
                attrs = "".join(f" {k}={v}" for k, v in node["attrs"].items())
                lines.append("  " * depth + f"<{node['name']}{attrs}>")
                walk(node["children"], depth + 1)
            else:
                lines.append("  " * depth + json.dumps(node))

    walk(content.get("default", []), 0)
    lines.append("Y.Text: " + delta(content.get("text", [])))
    return "\n".join(lines)


def diff(expected: Content, actual: Content, expected_name: str, actual_name: str) -> str:
    """A unified diff of two contents, line by line in :func:`describe` form."""
    return "\n".join(
        difflib.unified_diff(
            describe(expected).splitlines(),
            describe(actual).splitlines(),
            expected_name,
            actual_name,
            lineterm="",
        )
    )


def state_of(update: bytes) -> Doc[Any]:
    doc: Doc[Any] = Doc()
    if update:
        doc.apply_update(update)
    return doc
