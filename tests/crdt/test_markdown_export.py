"""The exports hold no HTML, link or structure that the document did not have.

Every document here is rendered the way a permissive viewer renders it (raw HTML on,
any link scheme followed: ``tests/support/rendered.py``), and the result is read back: it may
only hold the elements the document's own nodes and marks map to, attributes only
from a short list (safe link targets, a code block's language, a list's start), no
comments or declarations, and exactly the document's text. A hostile corpus covers
each construct; a property test covers random documents made of the characters that
Markdown gives a meaning to.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import unquote

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from crdt.content import to_html, to_markdown
from tests.crdt.test_content import (
    BOLD,
    CODE,
    ITALIC,
    STRIKE,
    E,
    Marks,
    T,
    code_block,
    el,
    h,
    li,
    link,
    p,
    state,
    t,
    task,
)
from tests.support.rendered import Page, read_html, read_markdown

# No example database: the suite must not leave a .hypothesis directory in the repository.
PROPERTY = settings(database=None, max_examples=300, deadline=None)

SAFE_SCHEME = re.compile(r"(https?|mailto):", re.IGNORECASE)
LANGUAGE_CLASS = re.compile(r"language-[A-Za-z0-9_+.#-]+")

IMG = "<img src=x onerror=alert(1)>"
SCRIPT = "<script>alert(1)</script>"

# ------------------------------------------------------------------ what a document allows


def _level(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return min(max(value, 1), 6)
    return 1


_BLOCK_TAGS: dict[str, set[str]] = {
    "paragraph": {"p"},
    "bulletList": {"ul"},
    "orderedList": {"ol"},
    "taskList": {"ul"},
    "listItem": {"li"},
    "taskItem": {"li"},
    "blockquote": {"blockquote"},
    "codeBlock": {"pre", "code"},
    "horizontalRule": {"hr"},
    "hardBreak": {"br"},
}
_MARK_TAGS = {"bold": "strong", "italic": "em", "strike": "s", "code": "code"}


def _runs(nodes: Sequence[E | T]) -> list[tuple[str, Marks]]:
    found: list[tuple[str, Marks]] = []
    for node in nodes:
        if isinstance(node, T):
            found.extend((text, marks or {}) for text, marks in node.runs)
        else:
            found.extend(_runs(node.children))
    return found


def _safe_href(marks: Marks) -> str | None:
    value = marks.get("link")
    href = str(value.get("href", "")) if isinstance(value, dict) else ""
    return href if SAFE_SCHEME.match(href) else None


def allowed_tags(blocks: Sequence[E | T], *, page: bool = False) -> set[str]:
    """The elements a rendering of ``blocks`` may hold."""
    tags = {"html", "head", "meta", "title", "body"} if page else set()

    def walk(node: E | T) -> None:
        if isinstance(node, T):
            return
        if node.tag == "heading":
            tags.add(f"h{_level(node.attrs.get('level'))}")
        else:
            # Anything else is exported as a paragraph, loose list items hold paragraphs.
            tags.update(_BLOCK_TAGS.get(node.tag, {"p"}))
        if node.tag == "taskItem":
            # The HTML export's checkbox; in Markdown, the box is text that may stand
            # as a paragraph of its own.
            tags.add("input" if page else "p")
        for child in node.children:
            walk(child)

    for block in blocks:
        walk(block)
    for text, marks in _runs(blocks):
        # Markdown leaves whitespace outside emphasis and links; a code span keeps it.
        shown = page or bool(text.strip()) or "code" in marks
        tags.update(tag for mark, tag in _MARK_TAGS.items() if mark in marks and shown)
        if shown and _safe_href(marks) is not None:
            tags.add("a")
    if not page and tags & {"strong", "em"}:
        # Neighbouring runs' "*" delimiters can pair up differently in Markdown: a
        # difference of emphasis, never of content.
        tags |= {"strong", "em"}
    return tags


def expected_text(blocks: Sequence[E | T], *, task_markers: bool) -> str:
    """The document's text without whitespace (a Markdown task item shows ``[x]``)."""
    parts: list[str] = []

    def walk(node: E | T) -> None:
        if isinstance(node, T):
            parts.extend(text for text, _ in node.runs)
            return
        if node.tag == "taskItem" and task_markers:
            parts.append("[x]" if node.attrs.get("checked") is True else "[ ]")
        for child in node.children:
            walk(child)

    for block in blocks:
        walk(block)
    return "".join("".join(parts).split())


def uses_emphasis(blocks: Sequence[E | T]) -> bool:
    return any(m in marks for _, marks in _runs(blocks) for m in ("bold", "italic", "strike"))


# Task lists and the page around the content, in the HTML export.
_PAGE_ATTRIBUTES = {"data-type", "data-checked", "type", "disabled", "checked", "lang", "charset"}


def _without_delimiters(text: str) -> str:
    return text.replace("*", "").replace("~", "")


def check_attributes(
    page: Page, blocks: Sequence[E | T], *, html_export: bool, context: str
) -> None:
    hrefs = {unquote(h) for _, m in _runs(blocks) if (h := _safe_href(m)) is not None}
    for tag, attrs in page.elements:
        assert not any(name.startswith("on") for name in attrs), (tag, attrs, context)
        names = set(attrs)
        if tag == "a":
            assert names == ({"href", "rel"} if html_export else {"href"}), (attrs, context)
            href = attrs["href"] or ""
            assert SAFE_SCHEME.match(href), (href, context)
            assert unquote(href) in hrefs, (href, hrefs, context)
        elif tag == "code":
            assert names <= {"class"}, (attrs, context)
            if "class" in attrs and not html_export:
                assert LANGUAGE_CLASS.fullmatch(attrs["class"] or ""), (attrs, context)
        elif tag == "ol":
            assert names <= {"start"}, (attrs, context)
            number = r"-?\d+" if html_export else r"\d+"
            assert re.fullmatch(number, attrs.get("start") or "0"), (attrs, context)
        elif html_export and tag in ("ul", "li", "input", "html", "meta"):
            assert names <= _PAGE_ATTRIBUTES, (attrs, context)
        else:
            assert names == set(), (tag, attrs, context)


def check_markdown(*blocks: E | T) -> str:
    """Export ``blocks``, render the Markdown permissively, check what came out."""
    markdown = to_markdown(state(*blocks))
    page = read_markdown(markdown)
    context = f"markdown: {markdown!r}"
    assert page.markup == [], context
    allowed = allowed_tags(blocks)
    assert page.tags <= allowed, (page.tags - allowed, context)
    check_attributes(page, blocks, html_export=False, context=context)
    text, wanted = page.visible(), expected_text(blocks, task_markers=True)
    if uses_emphasis(blocks):
        # CommonMark leaves a delimiter as text next to some punctuation; that is
        # appearance, not content.
        text, wanted = _without_delimiters(text), _without_delimiters(wanted)
    assert text == wanted, context
    return markdown


def check_html(*blocks: E | T) -> str:
    page_text = to_html(state(*blocks), "Title")
    page = read_html(page_text)
    context = f"html: {page_text!r}"
    assert page.markup == ["<!doctype html>"], context
    allowed = allowed_tags(blocks, page=True)
    assert page.tags <= allowed, (page.tags - allowed, context)
    check_attributes(page, blocks, html_export=True, context=context)
    assert page.visible() == "Title" + expected_text(blocks, task_markers=False), context
    return page_text


# ------------------------------------------------------------------ the hostile corpus


def para(*children: E | T) -> E:
    return el("paragraph", *children)


def ol(*items: E, **attrs: Any) -> E:
    return el("orderedList", *items, **attrs)


def bullets(*items: E) -> E:
    return el("bulletList", *items)


HOSTILE: dict[str, tuple[E, ...]] = {
    # Fenced code: the info string and the content.
    "language with newline and fence": (code_block("x", f"js\n```\n{IMG}\n```"),),
    "language with tilde fence": (code_block("x", f"js\n~~~\n{IMG}"),),
    "language with backtick": (code_block(IMG, "a`b"),),
    "language with backtick and script": (code_block(SCRIPT, "js`"),),
    "language with spaces and quotes": (code_block("x", 'js" onclick="alert(1)'),),
    "language with carriage return": (code_block("x", f"js\r{IMG}"),),
    "code containing fences": (code_block(f"```\n{IMG}\n```\n````\n~~~\n{SCRIPT}", "html"),),
    "code with carriage returns": (code_block(f"x\r```\r{IMG}\r\n```"),),
    "code in list breaking out with CR": (bullets(li(code_block(f"a\r{SCRIPT}", "sh"))),),
    "code in quote breaking out with CR": (el("blockquote", code_block(f"a\r{SCRIPT}")),),
    "code after empty paragraph in list": (bullets(li(para(), code_block(SCRIPT))),),
    "code first in task item": (el("taskList", task(False, code_block(SCRIPT))),),
    "code block with marked text": (el("codeBlock", t(("<b>", BOLD), SCRIPT)),),
    # Inline code.
    "code mark with blank line": (p((f"a\n\n{IMG}", CODE)),),
    "code mark with newline": (p((f"a\n{SCRIPT}", CODE)),),
    "code mark with carriage returns": (p((f"a\r\r{IMG}", CODE)),),
    "code mark with backticks": (p(("``` <b> `", CODE), " and ", ("`", CODE)),),
    "code mark with spaces": (p((" `x` ", CODE), " ", ("  ", CODE)),),
    "code mark in heading": (el("heading", t((f"a\n\n{IMG}", CODE)), level=2),),
    "code mark next to code mark": (p(("a", CODE), ("b", {**CODE, "underline": {}})),),
    # Text that looks like HTML, autolinks, entities.
    "html block after blank line": (p(f"a\n\n<div onmouseover=alert(1)>x</div>\n{SCRIPT}"),),
    "html at line starts": (p(f"{SCRIPT}\n<!-- c -->\n<?php x ?>\n<![CDATA[x]]>\n<!X>"),),
    "inline html": (p(f"a {IMG} <a href=javascript:alert(1)>b</a> c"),),
    "autolinks": (p("<http://e.com> <javascript:alert(1)> <a@b.c> www.e.com"),),
    "entities stay literal": (p("&lt;img src=x onerror=alert(1)&gt; &#60;b&#62; &#x3C; &amp;"),),
    "carriage returns in text": (p(f"a\r\r{IMG}\rb\r\n\r\nc"),),
    "indented code from text": (p("a\n\n    <b>code</b>\n\tmore"),),
    "leading spaces": (p("    four\n  two\n\ttab"),),
    "link syntax in text": (
        p("[x](javascript:alert(1)) ![i](javascript:alert(1)) [r]\n[r]: javascript:alert(1)"),
    ),
    "reference definition at start": (p("[r]: javascript:alert(1)"), p("[r]")),
    "table syntax": (p(f"| a | b |\n|---|---|\n| {IMG} | d |"),),
    "emphasis syntax in text": (p("*a* _b_ **c** __d__ ~~e~~ `f` \\*g\\*"),),
    "hard breaks in text": (p("a  \nb\\\nc\\"),),
    "braces and pipes": (p("{: onclick=alert(1)} a{.x} |b|"),),
    # Every block start at a line start.
    "block starters": (
        p("a\n===\nb\n---\n- c\n+ d\n* e\n1) f\n2. g\n> h\n# i\n-- -\n==\n_ _ _\n~~~\n```"),
    ),
    "list markers at paragraph start": (p("1. x"), p("- y"), p("+ z"), p("> q"), p("* w")),
    "task markers in text": (bullets(li(p("[ ] fake")), li(p("[x] done"))),),
    # Headings.
    "heading with newline": (h(2, f"a\n{IMG}"),),
    "heading with blank line": (h(2, "a\n\n# b\n---"),),
    "heading with hard break": (el("heading", t("a"), el("hardBreak"), t(SCRIPT), level=3),),
    "heading with closing hashes": (h(1, "Learn C #"), h(2, "# ##"), h(3, "#"), h(4, "a \\#")),
    "heading level too high": (h(99, "x"),),
    "heading level negative": (h(-3, "x"),),
    "heading level text": (h("7<script>", "x"),),
    # Lists.
    "ordered start text": (ol(li(p("x")), start="1<img src=x>"),),
    "ordered start huge": (ol(li(p("x")), li(p("y")), start=10**12),),
    "ordered start negative": (ol(li(p("x")), start=-5),),
    "ordered start fraction": (ol(li(p("x")), start=2.5),),
    "ordered list after paragraph in item": (bullets(li(p("a"), ol(li(p("b")), start=3))),),
    "empty list after paragraph in item": (bullets(li(p("a"), bullets(li(para())))),),
    "list items looking like markers": (
        bullets(li(p("1. x")), li(p("- y")), li(p("+ z")), li(p("> q")), li(p(IMG))),
    ),
    "task item with heading first": (el("taskList", task(True, h(2, "x"), p(SCRIPT))),),
    # Links.
    "javascript link": (p(("go", link("javascript:alert(1)"))),),
    "mixed-case javascript link": (p(("go", link("JaVaScRiPt:alert(1)"))),),
    "javascript link after newline": (p(("go", link("\njavascript:alert(1)"))),),
    "data and vbscript links": (
        p(("a", link("data:text/html,<script>alert(1)</script>")), ("b", link("vbscript:x"))),
    ),
    "href with newline and tag": (p(("go", link(f"https://e.com/\n{IMG}"))),),
    "href with quotes": (p(("go", link('https://e.com/" onmouseover="alert(1)'))),),
    "href with markdown specials": (
        p(("go", link("https://e.com/a b) <c> `d` \\e &lt; 'f' [g] *h*"))),
    ),
    "href with closing bracket text": (p(("a](javascript:alert(1))[", link("https://e.com"))),),
    "mailto with tag": (p(("mail", link(f"mailto:a@b.c?subject={IMG}"))),),
    "link text with code": (p(("](javascript:alert(1))", {**CODE, **link("https://e.com")})),),
    "link text over lines": (p((f"a\n\n{IMG}", link("https://e.com"))),),
    "link mark not a dict": (p(("x", {"link": "javascript:alert(1)"})),),
    # Blockquotes, rules, breaks, emphasis, unknown nodes.
    "quote with hostile blocks": (
        el("blockquote", p(f"a\n\n{IMG}"), code_block(f"x\r{SCRIPT}", f"x\n{IMG}")),
    ),
    "rule then text": (el("horizontalRule"), p("---")),
    "hard break then tag": (para(t("a"), el("hardBreak"), t("<div>"), el("hardBreak")),),
    "hard break only": (para(el("hardBreak")),),
    "emphasis with outer spaces": (p(("x", BOLD), (f" {IMG} ", ITALIC), (" y", STRIKE)),),
    "emphasis at line start": (p(("\n- a", BOLD), (" b", ITALIC)),),
    "unknown nodes": (
        el("image", src="javascript:alert(1)"),
        el("iframe", t("frame"), src="javascript:alert(1)"),
        el("htmlBlock", t(SCRIPT)),
        el("paragraph", el("mention", t("@ann"), id=IMG)),
    ),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_markdown_renders_inert(name: str) -> None:
    check_markdown(*HOSTILE[name])


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_html_export_is_inert(name: str) -> None:
    check_html(*HOSTILE[name])


def test_every_hostile_document_together() -> None:
    blocks = tuple(block for name in sorted(HOSTILE) for block in HOSTILE[name])
    check_markdown(*blocks)
    check_html(*blocks)


# ------------------------------------------------------------------ exact output


def test_code_block_language_is_a_token_or_nothing() -> None:
    assert to_markdown(state(code_block("x", "c++"))) == "```c++\nx\n```\n"
    assert to_markdown(state(code_block("x", "objective-c"))) == "```objective-c\nx\n```\n"
    for language in (f"js\n```\n{IMG}", "a`b", "js onclick", "x" * 100, "ü"):
        assert to_markdown(state(code_block("x", language))) == "```\nx\n```\n", language


def test_code_mark_never_spans_lines() -> None:
    assert to_markdown(state(p((f"a\n\n{IMG}", CODE)))) == f"`a  {IMG}`\n"


def test_code_span_keeps_outer_spaces() -> None:
    # CommonMark strips one space from each end of a code span that has both.
    assert to_markdown(state(p((" x ", CODE)))) == "`  x  `\n"
    # Only spaces: nothing is taken off.
    assert to_markdown(state(p(("  ", CODE)))) == "`  `\n"
    assert to_markdown(state(p(("`", CODE)))) == "`` ` ``\n"


def test_ampersand_before_a_name_or_number_is_escaped() -> None:
    assert to_markdown(state(p("&lt; &#60; & x &"))) == "\\&lt; \\&#60; & x &\n"


def test_heading_is_one_line() -> None:
    heading = el("heading", t("a\n\nb"), el("hardBreak"), t("c"), level=2)
    assert to_markdown(state(heading)) == "## a b c\n"


def test_carriage_returns_are_line_breaks() -> None:
    assert to_markdown(state(p("a\rb\r\nc"))) == "a\nb\nc\n"
    assert to_markdown(state(code_block("a\rb\r\nc"))) == "```\na\nb\nc\n```\n"


def test_blank_lines_inside_a_paragraph_are_dropped() -> None:
    assert to_markdown(state(p("a\n\n \n\tb\n"))) == "a\nb\n"


def test_ordered_list_numbers_stay_valid() -> None:
    assert to_markdown(state(ol(li(p("x")), start=-5))) == "0. x\n"
    assert to_markdown(state(ol(li(p("x")), li(p("y")), start=2_000_000_000))) == (
        "999999999. x\n999999999. y\n"
    )
    # Beyond what a client stores as a list's start: the default.
    assert to_markdown(state(ol(li(p("x")), start=10**12))) == "1. x\n"


def test_emphasis_keeps_outer_spaces_outside() -> None:
    assert to_markdown(state(p("a", (" b ", BOLD), "c", (" ", ITALIC), "d"))) == "a **b** c d\n"


def test_href_is_percent_encoded() -> None:
    href = "https://e.com/a b\n<c>\"d\"'e'`f`\\g(h)&lt;"
    assert to_markdown(state(p(("x", link(href))))) == (
        "[x](https://e.com/a%20b%0A%3Cc%3E%22d%22%27e%27%60f%60%5Cg%28h%29\\&lt;)\n"
    )


def test_code_block_after_empty_paragraph_in_list() -> None:
    assert to_markdown(state(bullets(li(para(), code_block("x"))))) == "- ```\n  x\n  ```\n"


def test_nested_lists_with_an_empty_item_are_not_a_rule() -> None:
    nested = bullets(li(bullets(li(bullets(li())))))
    assert to_markdown(state(nested)) == "-\n  -\n    -\n"


def test_rule_first_in_a_list_item_stays_in_the_item() -> None:
    # "- ---" alone would be a rule, not an item holding one.
    blocks = bullets(li(el("horizontalRule"), p("a")), li(p("b")))
    assert to_markdown(state(blocks)) == "-\n  ---\n\n  a\n- b\n"


def test_task_item_starting_with_a_code_block() -> None:
    blocks = el("taskList", task(True, code_block("x")))
    assert to_markdown(state(blocks)) == "- [x]\n  ```\n  x\n  ```\n"


def test_html_code_block_holds_the_text_without_mark_tags() -> None:
    assert "<pre><code>&lt;b&gt;x</code></pre>" in to_html(
        state(el("codeBlock", t(("<b>", BOLD), "x"))), "t"
    )


# ------------------------------------------------------------------ random documents

_CHARS = st.sampled_from(list("ab1 \n\r\t`<>&[]()*_#-!:~|\\=+.;/\"'{}%?@x"))
_TEXT = st.text(_CHARS, max_size=16)
_WORD = st.text(_CHARS, min_size=1, max_size=16)
_HREF = st.one_of(
    _TEXT,
    st.builds(
        str.__add__,
        st.sampled_from(["https://e.com/", "http:", "mailto:", "javascript:", "JAVASCRIPT:"]),
        _TEXT,
    ),
)
_MARKS: st.SearchStrategy[Marks] = st.fixed_dictionaries(
    {},
    optional={
        "bold": st.just({}),
        "italic": st.just({}),
        "strike": st.just({}),
        "code": st.just({}),
        "underline": st.just({}),
        "link": _HREF.map(lambda href: {"href": href}),
    },
)
_INLINE: st.SearchStrategy[E | T] = st.one_of(
    st.builds(lambda runs: T(tuple(runs)), st.lists(st.tuples(_WORD, _MARKS), max_size=4)),
    st.just(el("hardBreak")),
)
_PARAGRAPH = st.builds(lambda kids: E("paragraph", {}, tuple(kids)), st.lists(_INLINE, max_size=3))
_HEADING = st.builds(
    lambda kids, level: E("heading", {"level": level}, tuple(kids)),
    st.lists(_INLINE, max_size=3),
    st.integers(-3, 9),
)
_CODE_BLOCK = st.builds(code_block, _TEXT, st.none() | _TEXT | st.sampled_from(["js", "c++"]))
_LEAF = st.one_of(_PARAGRAPH, _HEADING, _CODE_BLOCK, st.just(el("horizontalRule")))


def _containers(inner: st.SearchStrategy[E]) -> st.SearchStrategy[E]:
    item = st.lists(inner, max_size=3).map(lambda kids: el("listItem", *kids))
    task_item = st.builds(
        lambda checked, kids: task(checked, *kids), st.booleans(), st.lists(inner, max_size=3)
    )
    return st.one_of(
        st.lists(item, min_size=1, max_size=3).map(lambda items: el("bulletList", *items)),
        st.builds(
            lambda items, start: el("orderedList", *items, start=start),
            st.lists(item, min_size=1, max_size=3),
            st.integers(-3, 2**31) | _TEXT,
        ),
        st.lists(task_item, min_size=1, max_size=3).map(lambda items: el("taskList", *items)),
        st.lists(inner, max_size=3).map(lambda kids: el("blockquote", *kids)),
    )


_BLOCK = st.recursive(_LEAF, _containers, max_leaves=8)
_DOCUMENT = st.lists(_BLOCK, min_size=1, max_size=4)


@PROPERTY
@given(_DOCUMENT)
@example([code_block("x", f"js\n```\n{IMG}")])
@example([p((f"a\n\n{IMG}", CODE))])
@example([p(("a", {**ITALIC, **CODE}), ("a", ITALIC), ("a", {**ITALIC, **CODE}))])
def test_random_documents_render_inert(blocks: list[E]) -> None:
    check_markdown(*blocks)
    check_html(*blocks)
