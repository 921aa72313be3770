"""Model output to safe HTML: Markdown rendered without raw HTML, then sanitised, citations linked."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup, escape

_ALLOWED_TAGS = {
    "p", "br", "strong", "em", "b", "i", "code", "pre", "blockquote", "ul", "ol", "li", "h1", "h2", "h3",
    "h4", "h5", "h6", "hr", "table", "thead", "tbody", "tr", "th", "td", "a", "del", "sup", "sub", "span", "bdi",
}
_ALLOWED_ATTRIBUTES = {"a": {"href", "title", "class"}, "span": {"class"}, "bdi": {"class", "title"},
                       "th": {"align"}, "td": {"align"}}
_CITATION = re.compile(r"\[(\d{1,3})\]")


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    # "html": False makes raw HTML in the text render as text; links keep markdown-it's URL checks.
    return MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")


def _link_citations(html: str, links: Mapping[int, tuple[str, str]]) -> str:
    def swap(match: re.Match[str]) -> str:
        number = int(match.group(1))
        if number not in links:
            return match.group(0)
        url, title = links[number]
        # An isolate: "[1]" after "ה-mRNA" stays where it was written, whatever the languages around it.
        if not url:
            return f'<bdi class="cite" title="{escape(title)}">[{number}]</bdi>'
        return f'<bdi><a class="cite" href="{escape(url)}" title="{escape(title)}">[{number}]</a></bdi>'

    # Only outside tags: split on tags and rewrite the text pieces.
    parts = re.split(r"(<[^>]+>)", html)
    return "".join(p if p.startswith("<") else _CITATION.sub(swap, p) for p in parts)


def render_markdown(text: str, citations: Mapping[int, tuple[str, str]] | None = None) -> Markup:
    """Render Markdown to sanitised HTML. `citations` maps a source number to (url, title):
    every "[n]" in the text becomes a link to that source."""
    html = _parser().render(text or "")
    if citations:
        html = _link_citations(html, citations)
    clean = nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    return Markup(clean)
