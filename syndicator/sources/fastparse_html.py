"""Simple HTML read without sgmllib or html.parser, to the same text as with them.

On the feedparser path an HTML summary passes three pure-Python parsers: feedparser's URL
resolver and sanitizer (sgmllib) and ``html_to_text`` (html.parser). For the HTML that news
feeds mostly carry (paragraphs, links, emphasis, images, known entities, all tags whole)
the sanitizer keeps every tag and every character of text, and html.parser sees nothing but
tags and text. ``split`` recognises exactly that HTML with one regular expression and cuts it
into the pieces html.parser would make; ``text.render`` joins them as for ``html_to_text``.
"""

from __future__ import annotations

import html
import html.entities
import re

from feedparser.sanitizer import _HTMLSanitizer

from syndicator.sources.text import BREAKS, HIDDEN, Break, Pieces, html_to_text, render

# Elements the sanitizer keeps, html.parser reads as plain tags and html_to_text never hides.
_VOID = frozenset({"br", "hr", "img"})
_KEPT = frozenset(
    {"a", "abbr", "acronym", "address", "article", "aside", "b", "big", "blockquote", "caption",
     "center", "cite", "code", "dd", "del", "dfn", "div", "dl", "dt", "em", "figcaption",
     "figure", "font", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "i", "ins", "kbd",
     "li", "ol", "p", "pre", "q", "s", "samp", "section", "small", "span", "strike", "strong",
     "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "time", "tr", "tt", "u", "ul",
     "var"} | _VOID
) & frozenset(_HTMLSanitizer.acceptable_elements) - HIDDEN  # fmt: skip
_ENTITIES = frozenset(html.entities.name2codepoint) | {"apos"}  # what sgmllib passes through
_ATTRIBUTE = r"""\s+[A-Za-z_][-.:A-Za-z0-9_]*(?:\s*=\s*(?:"[^"<>]*"|'[^'<>]*'))?"""
# A whole tag: (closing slash, name, attributes, self-closing slash).
_TAGS = re.compile(rf"<(/?)([A-Za-z][A-Za-z0-9]*)((?:{_ATTRIBUTE})*+)\s*(/?)>")
# An "&" that begins no character reference: fine before a space or at the very end only.
_STRAY_AMPERSAND = re.compile(
    r"&(?!#[0-9]{1,7};|#[xX][0-9a-fA-F]{1,6};|[A-Za-z][A-Za-z0-9]{0,31};|\s)"
)
_NAMED = re.compile(r"&([A-Za-z][A-Za-z0-9]*);")
_TAG = re.compile(r"<[^>]*>")
_LATIN1_HIGH = re.compile("[\x80-\xff]")

_NO_BREAK = Break.NONE.value


def split(value: str) -> Pieces | None:
    """``value`` as html.parser hands it to ``html_to_text``: text runs with entities decoded,
    and the breaks its tags make; None unless it is simple HTML as described above.
    """
    if "\r" in value:
        return None
    parts = _TAGS.split(value) if "<" in value else [value]
    last = len(parts) - 1
    pieces: Pieces = []
    for index in range(0, len(parts), 5):
        text = parts[index]
        if text:
            if "<" in text:
                return None  # a "<" that is not a whole tag
            if "&" in text:
                ended = text + (" " if index == last else "<")  # what follows this run
                if _STRAY_AMPERSAND.search(ended) or not _ENTITIES.issuperset(_NAMED.findall(text)):
                    return None  # sgmllib would rewrite "&name" or "&unknown;"
                text = html.unescape(text)
            pieces.append(text)
        if index == last:
            break
        closing, name, attributes, slash = parts[index + 1 : index + 5]
        name = name.lower()
        if name not in _KEPT or (closing and (slash or attributes or name in _VOID)):
            return None
        if slash and name not in _VOID:
            return None  # feedparser writes <p/> as <p></p>
        pieces.append(BREAKS.get(name, _NO_BREAK))
    return pieces


def sanitizer_keeps(raw: str, base: str) -> Pieces | None:
    """``raw``'s pieces if feedparser's resolver and sanitizer leave it reading the same.

    ``raw`` must be simple HTML; where it has Latin-1 letters, that feedparser's later
    UTF-8 repair may rewrite, its tags and ``base`` must be ASCII so that the repair sees the
    same characters before and after sanitizing.
    """
    pieces = split(raw)
    if pieces is None or raw.isascii() or not _LATIN1_HIGH.search(raw):
        return pieces
    return pieces if base.isascii() and all(tag.isascii() for tag in _TAG.findall(raw)) else None


def visible_text(value: str) -> str:
    """Exactly ``html_to_text(value)``, faster where ``value`` is simple HTML."""
    pieces = split(value)
    return html_to_text(value) if pieces is None else render(pieces)
