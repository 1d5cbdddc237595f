"""HTML -> the readable text of a page, for a model with a limited context.

Uses the stdlib `html.parser`: drops scripts, styles and other non-text elements and all tags, turns
block elements into line breaks, collapses whitespace. Does not render layout, keep links' targets or
tables' structure, nor run JavaScript: pages that build their text in the browser come out nearly empty.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

__all__ = ["html_to_text"]

_SKIPPED = {"script", "style", "noscript", "template", "svg"}
_BLOCKS = {
    "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption", "figure", "footer",
    "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section",
    "table", "title", "tr", "ul",
}


def html_to_text(html: str) -> str:
    """The visible text of an HTML document, one block per line.

    Example: `html_to_text("<p>a <b>b</b></p><script>x()</script><p>c</p>")` -> `"a b\\nc"`
    """
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    lines = (re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in "".join(parser.chunks).split("\n"))
    return "\n".join(line for line in lines if line)


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._skipping: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self._skipping.append(tag)
        if tag in _BLOCKS:
            self.chunks.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._skipping:
            del self._skipping[self._skipping.index(tag) :]
        if tag in _BLOCKS:
            self.chunks.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.chunks.append(data.replace("\n", " "))
