"""HTML -> the readable text of a page, for a model with a limited context, in time linear in its size.

The page is parsed by turbohtml, a WHATWG tree builder in C that caps nesting at 512 open elements as
browsers do; without that cap every HTML5 tree builder is quadratic in nesting depth (measured:
selectolax/lexbor takes 1.8 s on 100 KB of `<ul><li>` and 7 s on 100 KB of nested formatting
elements, and the stdlib `html.parser` 3.9 s on 100 KB of `<a`). The walk below is iterative, one
visit per node. Drops scripts, styles and other non-text elements and all tags, turns block elements
into line breaks, collapses whitespace. Does not render layout, keep links' targets or tables'
structure, nor run JavaScript: pages that build their text in the browser come out nearly empty.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from turbohtml import Node

__all__ = ["html_to_text"]

_SKIPPED = {"script", "style", "noscript", "template", "svg"}
_BLOCKS = {
    "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption", "figure", "footer",
    "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section",
    "table", "title", "tr", "ul",
}
_SPACES = re.compile(r"[ \t\r\f\v]+")


def html_to_text(html: str) -> str:
    """The visible text of an HTML document, one block per line.

    Example: `html_to_text("<p>a <b>b</b></p><script>x()</script><p>c</p>")` -> `"a b\\nc"`
    """
    import turbohtml  # here, not at the top: listing the tools (a CLI usage check) must not pay for it

    document = turbohtml.parse(html, positions=False)
    chunks: list[str] = []
    pending: list[Node | None] = [document]  # None: the end of a block element
    while pending:
        node = pending.pop()
        if node is None:
            chunks.append("\n")
        elif isinstance(node, turbohtml.Text):
            chunks.append(node.data.replace("\n", " "))
        elif isinstance(node, turbohtml.Comment) or getattr(node, "tag", None) in _SKIPPED:
            continue
        else:
            if getattr(node, "tag", None) in _BLOCKS:
                chunks.append("\n")
                pending.append(None)
            pending.extend(reversed(node.children))
    lines = (_SPACES.sub(" ", line).strip() for line in "".join(chunks).split("\n"))
    return "\n".join(line for line in lines if line)
