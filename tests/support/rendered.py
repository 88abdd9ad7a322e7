"""Exports rendered the way a permissive viewer shows them, and what the result holds.

The viewer an export must be safe in passes raw HTML through and follows any link:
markdown-it-py's CommonMark preset with ``html`` on, GFM strikethrough and tables
enabled, its link validation (which would hide ``javascript:`` links) switched off, and
its link normalisation too, so that a link target arrives as the Markdown wrote it.
The HTML that comes out, or an HTML export itself, is read with the standard library's
parser into the elements, attributes and text a browser would see.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

from markdown_it import MarkdownIt


@dataclass
class Page:
    """What an HTML text holds."""

    elements: list[tuple[str, dict[str, str | None]]] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    # Comments, declarations, processing instructions: what raw HTML alone brings.
    markup: list[str] = field(default_factory=list)

    @property
    def tags(self) -> set[str]:
        return {tag for tag, _ in self.elements}

    def visible(self) -> str:
        """The text with every whitespace character removed."""
        return "".join("".join(self.text).split())


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.page.elements.append((tag, dict(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.page.elements.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.page.text.append(data)

    def handle_comment(self, data: str) -> None:
        self.page.markup.append(f"<!--{data}-->")

    def handle_decl(self, decl: str) -> None:
        self.page.markup.append(f"<!{decl}>")

    def handle_pi(self, data: str) -> None:
        self.page.markup.append(f"<?{data}>")

    def unknown_decl(self, data: str) -> None:
        self.page.markup.append(f"<![{data}]>")


def read_html(text: str) -> Page:
    reader = _Reader()
    reader.feed(text)
    reader.close()
    return reader.page


def _permissive() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": True}).enable(["strikethrough", "table"])
    md.validateLink = lambda url: True  # type: ignore[method-assign]
    md.normalizeLink = lambda url: url  # type: ignore[method-assign]
    return md


_VIEWER = _permissive()


def render_markdown(markdown: str) -> str:
    rendered: str = _VIEWER.render(markdown)
    return rendered


def read_markdown(markdown: str) -> Page:
    return read_html(render_markdown(markdown))
