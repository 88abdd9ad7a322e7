"""Document content: Markdown and HTML export, server-side edits (replace, append).

Documents are built with pycrdt the way y-prosemirror stores TipTap content: the
XmlFragment ``default`` holds XmlElements named after StarterKit nodes, text lives in
XmlText, and marks are formatting attributes of the text (``{"bold": {}}``,
``{"link": {"href": ...}}``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from markdown_it import MarkdownIt
from pycrdt import Doc, Text, XmlElement, XmlFragment, XmlText

from crdt.content import (
    Block,
    append_blocks,
    content_of,
    edit,
    plain_text,
    replace_with,
    to_html,
    to_markdown,
)
from rooms.templates import TEMPLATES

# ------------------------------------------------------------------ building documents

Marks = dict[str, Any]

BOLD: Marks = {"bold": {}}
ITALIC: Marks = {"italic": {}}
STRIKE: Marks = {"strike": {}}
CODE: Marks = {"code": {}}


def link(href: str) -> Marks:
    return {"link": {"href": href}}


@dataclass(frozen=True)
class T:
    """An XmlText: runs of text, each with its marks (None: plain)."""

    runs: tuple[tuple[str, Marks | None], ...]


@dataclass(frozen=True)
class E:
    """An XmlElement."""

    tag: str
    attrs: dict[str, Any]
    children: tuple[E | T, ...]


def t(*runs: str | tuple[str, Marks]) -> T:
    return T(tuple((run, None) if isinstance(run, str) else run for run in runs))


def el(tag: str, *children: E | T, **attrs: Any) -> E:
    return E(tag, attrs, children)


def p(*runs: str | tuple[str, Marks]) -> E:
    return el("paragraph", t(*runs))


def h(level: Any, text: str) -> E:
    return el("heading", t(text), level=level)


def li(*children: E) -> E:
    return el("listItem", *children)


def ul(*items: str | E) -> E:
    return el("bulletList", *(li(p(i)) if isinstance(i, str) else i for i in items))


def task(checked: bool, *children: E) -> E:
    return el("taskItem", *children, checked=checked)


def code_block(code: str, language: str | None = None) -> E:
    if language is None:
        return el("codeBlock", t(code))
    return el("codeBlock", t(code), language=language)


def _add(target: XmlFragment | XmlElement, node: E | T) -> None:
    if isinstance(node, T):
        text = target.children.append(XmlText())
        index = 0
        for chunk, marks in node.runs:
            text.insert(index, chunk, marks)
            index += len(chunk.encode())  # yrs counts offsets in UTF-8 bytes
    else:
        element = target.children.append(XmlElement(node.tag, dict(node.attrs)))
        for child in node.children:
            _add(element, child)


def build(*blocks: E | T, client_id: int | None = None) -> Doc[Any]:
    doc: Doc[Any] = Doc() if client_id is None else Doc(client_id=client_id)
    root = doc.get("default", type=XmlFragment)
    with doc.transaction():
        for block in blocks:
            _add(root, block)
    return doc


def state(*blocks: E | T) -> bytes:
    return build(*blocks).get_update()


def markdown(*blocks: E | T) -> str:
    return to_markdown(state(*blocks))


def body(*blocks: E | T) -> str:
    """The HTML between ``<body>`` and ``</body>``."""
    page = to_html(state(*blocks), "Doc")
    _, rest = page.split("<body>\n", 1)
    inner, tail = rest.split("\n</body>", 1)
    assert tail == "\n</html>\n"
    return inner


def xml(doc: Doc[Any]) -> str:
    return str(doc.get("default", type=XmlFragment))


# ------------------------------------------------------------------ every node


EVERY_NODE: tuple[E, ...] = (
    h(1, "Title"),
    p("Intro text."),
    h(2, "Lists"),
    ul("one", "two"),
    el("orderedList", li(p("three")), li(p("four")), start=3),
    el("orderedList", li(p("first"))),
    el("taskList", task(True, p("done")), task(False, p("todo"))),
    h(3, "Quote"),
    el("blockquote", p("Quoted.")),
    code_block('print("hi")\nx = 1 < 2', "python"),
    code_block("plain"),
    el("horizontalRule"),
    el("paragraph", t("line one"), el("hardBreak"), t("line two")),
)


def test_markdown_of_every_node() -> None:
    assert markdown(*EVERY_NODE) == (
        "# Title\n"
        "\n"
        "Intro text.\n"
        "\n"
        "## Lists\n"
        "\n"
        "- one\n"
        "- two\n"
        "\n"
        "3. three\n"
        "4. four\n"
        "\n"
        "1. first\n"
        "\n"
        "- [x] done\n"
        "- [ ] todo\n"
        "\n"
        "### Quote\n"
        "\n"
        "> Quoted.\n"
        "\n"
        "```python\n"
        'print("hi")\n'
        "x = 1 < 2\n"
        "```\n"
        "\n"
        "```\n"
        "plain\n"
        "```\n"
        "\n"
        "---\n"
        "\n"
        "line one\\\n"
        "line two\n"
    )


def test_html_of_every_node() -> None:
    assert body(*EVERY_NODE) == (
        "<h1>Title</h1>"
        "<p>Intro text.</p>"
        "<h2>Lists</h2>"
        "<ul><li><p>one</p></li><li><p>two</p></li></ul>"
        '<ol start="3"><li><p>three</p></li><li><p>four</p></li></ol>'
        "<ol><li><p>first</p></li></ol>"
        '<ul data-type="taskList">'
        '<li data-checked="true"><input type="checkbox" disabled checked> <p>done</p></li>'
        '<li data-checked="false"><input type="checkbox" disabled> <p>todo</p></li>'
        "</ul>"
        "<h3>Quote</h3>"
        "<blockquote><p>Quoted.</p></blockquote>"
        '<pre><code class="language-python">print(&quot;hi&quot;)\nx = 1 &lt; 2</code></pre>'
        "<pre><code>plain</code></pre>"
        "<hr>"
        "<p>line one<br>line two</p>"
    )


def test_html_page_around_the_content() -> None:
    page = to_html(state(p("x")), 'Plan <b>"A"</b> & co')
    assert page == (
        "<!doctype html>\n"
        '<html lang="en">\n'
        "<head>\n"
        '<meta charset="utf-8">\n'
        "<title>Plan &lt;b&gt;&quot;A&quot;&lt;/b&gt; &amp; co</title>\n"
        "</head>\n"
        "<body>\n"
        "<p>x</p>\n"
        "</body>\n"
        "</html>\n"
    )


def test_empty_document() -> None:
    assert to_markdown(b"") == "\n"
    assert to_markdown(state()) == "\n"
    assert body() == ""
    assert plain_text(b"") == ""


def test_empty_paragraph_and_unknown_nodes() -> None:
    # An empty paragraph has no XmlText; an unknown node is exported as a paragraph.
    assert markdown(p("a"), el("paragraph"), el("callout", t("note"))) == "a\n\n\n\nnote\n"
    assert body(p("a"), el("paragraph"), el("callout", t("note"))) == ("<p>a</p><p></p><p>note</p>")


# ------------------------------------------------------------------ marks


MARKED = p(
    "plain ",
    ("bold", BOLD),
    " ",
    ("italic", ITALIC),
    " ",
    ("struck", STRIKE),
    " ",
    ("code", CODE),
    " ",
    ("link", link("https://example.com/a")),
    " ",
    ("all", {**BOLD, **ITALIC, **STRIKE, **CODE, **link("https://example.com")}),
)


def test_marks_in_markdown() -> None:
    assert markdown(MARKED) == (
        "plain **bold** *italic* ~~struck~~ `code` [link](https://example.com/a) "
        "[~~***`all`***~~](https://example.com)\n"
    )


def test_marks_in_html() -> None:
    assert body(MARKED) == (
        "<p>plain <strong>bold</strong> <em>italic</em> <s>struck</s> <code>code</code> "
        '<a href="https://example.com/a" rel="noopener noreferrer nofollow">link</a> '
        '<a href="https://example.com" rel="noopener noreferrer nofollow">'
        "<s><em><strong><code>all</code></strong></em></s></a></p>"
    )


def test_marks_inside_headings_list_items_and_quotes() -> None:
    blocks = (
        el("heading", t("A ", ("b", BOLD)), level=2),
        el("bulletList", li(p(("i", ITALIC), " x"))),
        el("blockquote", p(("c", CODE))),
    )
    assert markdown(*blocks) == "## A **b**\n\n- *i* x\n\n> `c`\n"
    assert body(*blocks) == (
        "<h2>A <strong>b</strong></h2>"
        "<ul><li><p><em>i</em> x</p></li></ul>"
        "<blockquote><p><code>c</code></p></blockquote>"
    )


# ------------------------------------------------------------------ nesting


def test_list_in_list() -> None:
    blocks = (
        el(
            "bulletList",
            li(
                p("a"),
                el(
                    "orderedList",
                    li(p("a1"), el("bulletList", li(p("deep")))),
                    li(p("a2")),
                ),
            ),
            li(p("b")),
        ),
        el("orderedList", li(p("n"), ul("m"))),
    )
    assert markdown(*blocks) == ("- a\n  1. a1\n     - deep\n  2. a2\n- b\n\n1. n\n   - m\n")
    assert body(*blocks) == (
        "<ul><li><p>a</p><ol><li><p>a1</p><ul><li><p>deep</p></li></ul></li>"
        "<li><p>a2</p></li></ol></li><li><p>b</p></li></ul>"
        "<ol><li><p>n</p><ul><li><p>m</p></li></ul></li></ol>"
    )


def test_quote_with_list_and_list_with_quote() -> None:
    blocks = (
        el(
            "blockquote",
            p("Said:"),
            el("bulletList", li(p("one")), li(p("two"))),
            el("blockquote", p("inner")),
        ),
        el("bulletList", li(p("item"), el("blockquote", p("q1"), p("q2")))),
    )
    assert markdown(*blocks) == (
        "> Said:\n>\n> - one\n> - two\n>\n> > inner\n\n- item\n  > q1\n  >\n  > q2\n"
    )
    assert body(*blocks) == (
        "<blockquote><p>Said:</p><ul><li><p>one</p></li><li><p>two</p></li></ul>"
        "<blockquote><p>inner</p></blockquote></blockquote>"
        "<ul><li><p>item</p><blockquote><p>q1</p><p>q2</p></blockquote></li></ul>"
    )


def test_code_block_in_list_keeps_its_lines_indented() -> None:
    blocks = (el("orderedList", li(p("run:"), code_block("a\n  b", "sh"))),)
    assert markdown(*blocks) == "1. run:\n   ```sh\n   a\n     b\n   ```\n"
    assert body(*blocks) == (
        '<ol><li><p>run:</p><pre><code class="language-sh">a\n  b</code></pre></li></ol>'
    )


def test_nested_task_list_html() -> None:
    blocks = (el("taskList", task(False, p("a"), el("taskList", task(True, p("b"))))),)
    assert body(*blocks) == (
        '<ul data-type="taskList"><li data-checked="false"><input type="checkbox" disabled> '
        '<p>a</p><ul data-type="taskList"><li data-checked="true">'
        '<input type="checkbox" disabled checked> <p>b</p></li></ul></li></ul>'
    )


def test_nested_task_list_markdown() -> None:
    blocks = (el("taskList", task(False, p("a"), el("taskList", task(True, p("b"))))),)
    assert markdown(*blocks) == "- [ ] a\n  - [x] b\n"


def test_list_item_with_two_paragraphs_markdown() -> None:
    assert markdown(el("bulletList", li(p("a"), p("b")))) == "- a\n\n  b\n"


# ------------------------------------------------------------------ escaping


def test_html_escapes_text_everywhere() -> None:
    nasty = "<script>alert('x')</script> & \"q\""
    escaped = "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;q&quot;"
    blocks = (
        h(1, nasty),
        p(nasty),
        p((nasty, BOLD), (nasty, CODE)),
        p((nasty, link('https://e.com/?a=1&b="2"<x>'))),
        code_block(nasty, 'js" onclick="x'),
        el("bulletList", li(p(nasty))),
    )
    assert body(*blocks) == (
        f"<h1>{escaped}</h1>"
        f"<p>{escaped}</p>"
        f"<p><strong>{escaped}</strong><code>{escaped}</code></p>"
        '<p><a href="https://e.com/?a=1&amp;b=&quot;2&quot;&lt;x&gt;" '
        f'rel="noopener noreferrer nofollow">{escaped}</a></p>'
        f'<pre><code class="language-js&quot; onclick=&quot;x">{escaped}</code></pre>'
        f"<ul><li><p>{escaped}</p></li></ul>"
    )
    page = to_html(state(*blocks), "t")
    assert "<script>" not in page
    assert "onclick=" not in page.replace("onclick=&quot;", "")


def test_markdown_escapes_inline_specials() -> None:
    text = r"a*b _c_ `d` [e](f) <g> ~h~ |i| \j & k!"
    assert markdown(p(text)) == (r"a\*b \_c\_ \`d\` \[e\](f) \<g\> \~h\~ \|i\| \\j & k!" + "\n")


def test_markdown_escapes_block_markers_at_line_start() -> None:
    # A paragraph whose lines look like a heading, list item or quote stays a paragraph.
    text = "# not a heading\n- not a list\n+ nor this\n> not a quote\n  - indented"
    assert markdown(p(text)) == (
        "\\# not a heading\n\\- not a list\n\\+ nor this\n\\> not a quote\n  \\- indented\n"
    )
    # The same characters in the middle of a line are left alone.
    assert markdown(p("a # b - c + d 1. e")) == "a # b - c + d 1. e\n"


def test_markdown_script_tag_cannot_become_html() -> None:
    assert markdown(p("<script>alert(1)</script>")) == ("\\<script\\>alert(1)\\</script\\>\n")
    assert markdown(h(2, "<img src=x onerror=alert(1)>")) == (
        "## \\<img src=x onerror=alert(1)\\>\n"
    )


def test_markdown_escapes_ordered_list_marker_without_visible_backslash() -> None:
    assert markdown(p("1. not a list")) == "1\\. not a list\n"


def test_markdown_does_not_escape_mid_line_markers_after_a_mark() -> None:
    assert markdown(p(("Step", BOLD), " 1. do it")) == "**Step** 1. do it\n"


@pytest.mark.parametrize(
    ("text", "escaped"),
    [("#", "\\#"), ("---", "\\---"), ("-", "\\-"), ("1) first", "1\\) first")],
)
def test_markdown_escapes_every_block_marker(text: str, escaped: str) -> None:
    assert markdown(p(text)) == escaped + "\n"


def test_markdown_code_mark_keeps_backticks() -> None:
    assert markdown(p(("x`y", CODE))) == "``x`y``\n"


# ------------------------------------------------------------------ links


@pytest.mark.parametrize(
    "href",
    [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        " javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "DATA:text/html;base64,PHNjcmlwdD4=",
        "vbscript:msgbox(1)",
        "/relative/path",
        "",
    ],
)
def test_unsafe_links_are_dropped_but_their_text_kept(href: str) -> None:
    blocks = (p("see ", ("here", link(href)), " now"),)
    assert markdown(*blocks) == "see here now\n"
    assert body(*blocks) == "<p>see here now</p>"


def test_link_mark_without_an_href_is_dropped() -> None:
    blocks = (p(("a", {"link": {}}), ("b", {"link": "https://e.com"})),)
    assert markdown(*blocks) == "ab\n"
    assert body(*blocks) == "<p>ab</p>"


@pytest.mark.parametrize(
    ("href", "md_href"),
    [
        ("http://example.com", "http://example.com"),
        ("https://example.com/a?b=1#c", "https://example.com/a?b=1#c"),
        ("HTTPS://EXAMPLE.COM", "HTTPS://EXAMPLE.COM"),
        ("mailto:ann@example.com", "mailto:ann@example.com"),
        ("https://e.com/a b)", "https://e.com/a%20b%29"),
    ],
)
def test_safe_links_are_kept(href: str, md_href: str) -> None:
    blocks = (p(("go", link(href))),)
    assert markdown(*blocks) == f"[go]({md_href})\n"
    assert body(*blocks) == (f'<p><a href="{href}" rel="noopener noreferrer nofollow">go</a></p>')


def test_markdown_link_with_open_parenthesis() -> None:
    assert markdown(p(("w", link("https://e.com/Foo_(bar")))) == "[w](https://e.com/Foo_%28bar)\n"


# ------------------------------------------------------------------ code blocks


def test_code_block_containing_a_fence_uses_a_longer_fence() -> None:
    code = "Example:\n```js\nlet x = 1\n```"
    assert markdown(code_block(code, "markdown")) == (
        "````markdown\nExample:\n```js\nlet x = 1\n```\n````\n"
    )
    # The code is not escaped in Markdown, and escaped in HTML.
    assert markdown(code_block("a * b <c> _d_")) == "```\na * b <c> _d_\n```\n"
    assert body(code_block(code)) == ("<pre><code>Example:\n```js\nlet x = 1\n```</code></pre>")


def test_code_block_containing_a_four_backtick_fence() -> None:
    code = "````\ninner\n````"
    assert markdown(code_block(code)) == f"`````\n{code}\n`````\n"


# ------------------------------------------------------------------ headings


@pytest.mark.parametrize(
    ("level", "expected"),
    [(1, 1), (2, 2), (3, 3), (4, 4), (5, 5), (6, 6), (0, 1), (-3, 1), (7, 6), (99, 6)],
)
def test_heading_levels_are_clamped(level: int, expected: int) -> None:
    assert markdown(h(level, "Head")) == f"{'#' * expected} Head\n"
    assert body(h(level, "Head")) == f"<h{expected}>Head</h{expected}>"


def test_heading_without_level_is_level_one() -> None:
    assert markdown(el("heading", t("Head"))) == "# Head\n"
    assert body(el("heading", t("Head"))) == "<h1>Head</h1>"


def test_heading_with_a_non_numeric_level_still_exports() -> None:
    assert markdown(h("huge", "Head")) == "# Head\n"


def test_ordered_list_starting_at_zero() -> None:
    blocks = (el("orderedList", li(p("zero")), li(p("one")), start=0),)
    assert markdown(*blocks) == "0. zero\n1. one\n"
    assert body(*blocks) == '<ol start="0"><li><p>zero</p></li><li><p>one</p></li></ol>'


# ------------------------------------------------------------------ plain text


def test_plain_text_one_line_per_text() -> None:
    assert plain_text(state(h(1, "T"), ul("a", "b"), el("blockquote", p("q")))) == "T\na\nb\nq"


def test_plain_text_of_marked_text() -> None:
    assert plain_text(state(p("a ", ("b", BOLD)))) == "a b"


# ------------------------------------------------------------------ replace_with + edit


RICH: tuple[E, ...] = (
    *EVERY_NODE,
    MARKED,
    el("bulletList", li(p("x"), el("taskList", task(True, p(("y", BOLD)))))),
    el("blockquote", p("q"), el("orderedList", li(p("z")), start=7)),
)


def test_replace_with_leaves_exactly_the_source_content() -> None:
    source = build(*RICH, client_id=1)
    target = build(h(2, "Other"), p(("old", ITALIC)), ul("gone"), client_id=2)
    target.get("text", type=Text).insert(0, "not content")
    source_state, target_state = source.get_update(), target.get_update()

    update = edit(target_state, replace_with(source_state))
    target.apply_update(update)
    assert xml(target) == xml(source)
    assert to_markdown(target.get_update()) == to_markdown(source_state)
    assert to_html(target.get_update(), "x") == to_html(source_state, "x")
    # Other roots are left alone, and the source is unchanged.
    assert str(target.get("text", type=Text)) == "not content"
    assert xml(content_of(source_state)) == xml(source)

    # Another replica that receives the same update ends in the same place.
    replica: Doc[Any] = Doc()
    replica.apply_update(target_state)
    replica.apply_update(update)
    assert xml(replica) == xml(source)


def test_replace_with_keeps_attribute_and_mark_values() -> None:
    source = build(
        h(3, "H"),
        el("taskList", task(False, p("t"))),
        code_block("c", "rust"),
        p(("l", link("mailto:a@b.c")), ("b", BOLD)),
    )
    target = content_of(edit(b"", replace_with(source.get_update())))
    root = target.get("default", type=XmlFragment)
    heading, tasks, code, para = list(root.children)
    assert isinstance(heading, XmlElement) and isinstance(tasks, XmlElement)
    assert isinstance(code, XmlElement) and isinstance(para, XmlElement)
    assert heading.attributes["level"] == 3
    [item] = list(tasks.children)
    assert isinstance(item, XmlElement)
    assert item.attributes["checked"] is False
    assert code.attributes["language"] == "rust"
    [text] = list(para.children)
    assert isinstance(text, XmlText)
    assert list(text.diff()) == [("l", link("mailto:a@b.c")), ("b", BOLD)]


def test_replace_with_keeps_marked_text_after_non_ascii_characters() -> None:
    source = build(p("Café — see ", ("the guide", BOLD), " ✓"), p("🎉", ("x", ITALIC)))
    target = build(p("other"))
    target.apply_update(edit(target.get_update(), replace_with(source.get_update())))
    assert xml(target) == xml(source)


def test_replace_with_an_empty_document_clears_the_content() -> None:
    target = build(*RICH)
    target.apply_update(edit(target.get_update(), replace_with(b"")))
    assert xml(target) == ""
    assert to_markdown(target.get_update()) == "\n"


def test_replace_with_the_same_content_is_idempotent() -> None:
    doc = build(*RICH)
    before = xml(doc)
    doc.apply_update(edit(doc.get_update(), replace_with(doc.get_update())))
    assert xml(doc) == before


def test_edit_returns_only_the_change() -> None:
    doc = build(p("a"))
    start = doc.get_update()
    update = edit(start, append_blocks([("paragraph", {}, "b")]))
    # Applied alone to a fresh document, the update holds only the new paragraph's
    # insertion, not the existing one (which it depends on).
    assert xml(doc) == "<paragraph>a</paragraph>"
    doc.apply_update(update)
    assert xml(doc) == "<paragraph>a</paragraph><paragraph>b</paragraph>"
    assert len(update) < len(doc.get_update())


# ------------------------------------------------------------------ append_blocks


def test_append_blocks_to_empty_and_to_existing_content() -> None:
    blocks: list[Block] = [
        ("heading", {"level": 2}, "Added"),
        ("paragraph", {}, ""),
        (
            "bulletList",
            {},
            [("listItem", {}, [("paragraph", {}, "one"), ("bulletList", {}, [])])],
        ),
        ("taskList", {}, [("taskItem", {"checked": True}, [("paragraph", {}, "done")])]),
    ]
    expected = (
        '<heading level="2">Added</heading><paragraph></paragraph>'
        "<bulletList><listItem><paragraph>one</paragraph><bulletList></bulletList>"
        '</listItem></bulletList><taskList><taskItem checked="true">'
        "<paragraph>done</paragraph></taskItem></taskList>"
    )
    fresh = content_of(edit(b"", append_blocks(blocks)))
    assert xml(fresh) == expected
    # The empty paragraph has no XmlText at all.
    empty = list(fresh.get("default", type=XmlFragment).children)[1]
    assert isinstance(empty, XmlElement) and len(empty.children) == 0

    doc = build(p("Existing"))
    doc.apply_update(edit(doc.get_update(), append_blocks(blocks)))
    assert xml(doc) == "<paragraph>Existing</paragraph>" + expected
    md = to_markdown(doc.get_update())
    assert md.startswith("Existing\n\n## Added\n\n")
    assert "\n- one\n" in md
    assert md.endswith("\n- [x] done\n")


def test_append_blocks_does_not_share_attribute_dicts() -> None:
    attrs: dict[str, Any] = {"level": 2}
    change = append_blocks([("heading", {**attrs}, "x")])
    doc = content_of(edit(b"", change))
    attrs["level"] = 5
    assert to_markdown(doc.get_update()) == "## x\n"


@pytest.mark.parametrize("key", sorted(TEMPLATES))
def test_every_template_appends_and_exports(key: str) -> None:
    template = TEMPLATES[key]
    content = edit(b"", append_blocks(template.blocks))
    md = to_markdown(content)
    assert md.startswith(f"# {template.title}\n")
    page = to_html(content, template.title)
    assert f"<h1>{template.title}</h1>" in page
    # Every text of the template is in the export.
    texts = [line for line in plain_text(content).split("\n") if line]
    assert texts
    for text in texts:
        assert text in page.replace("&#x27;", "'")


# A list item whose first block is itself a list or a rule, and two quotes in a row:
# the Markdown, and what a CommonMark reader makes of it (the same structure).
ITEM_CASES = {
    "an ordered list first": (
        el("bulletList", li(el("orderedList", li(p("x"))), p("after"))),
        "-\n  1. x\n\n  after\n",
        "<ul><li><ol><li>x</li></ol><p>after</p></li></ul>",
    ),
    "a task list first": (
        el("bulletList", li(el("taskList", task(True, p("t"))))),
        "-\n  - [x] t\n",
        "<ul><li><ul><li>[x] t</li></ul></li></ul>",
    ),
    "a rule first": (
        el("bulletList", li(el("horizontalRule"))),
        "-\n  ---\n",
        "<ul><li><hr /></li></ul>",
    ),
    "a task item with a list first": (
        el("taskList", task(False, el("bulletList", li(p("n"))))),
        "- [ ]\n  - n\n",
        "<ul><li>[ ]<ul><li>n</li></ul></li></ul>",
    ),
    "two quotes in a row": (
        el("bulletList", li(p("a"), el("blockquote", p("q1")), el("blockquote", p("q2")))),
        "- a\n  > q1\n\n  > q2\n",
        "<ul><li><p>a</p><blockquote><p>q1</p></blockquote>"
        "<blockquote><p>q2</p></blockquote></li></ul>",
    ),
}


@pytest.mark.parametrize(("block", "expected", "read"), ITEM_CASES.values(), ids=ITEM_CASES)
def test_list_items_that_start_with_a_list_a_rule_or_hold_two_quotes(
    block: E, expected: str, read: str
) -> None:
    assert markdown(block) == expected
    assert MarkdownIt("commonmark").render(expected).replace("\n", "") == read
