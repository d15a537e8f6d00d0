"""Plain text from the HTML that feeds put in titles and summaries.

Posts are plain text (or a network's own small markup, added later by the formatter), so a
source hands on the text a reader would see in a browser: no tags, no entities, no script,
paragraphs kept as paragraphs and the source's own line wrapping folded away.
"""

from __future__ import annotations

import enum
import re
from html.parser import HTMLParser


class _Break(enum.IntEnum):
    """A boundary between pieces of text; where several meet, the strongest wins."""

    NEWLINE = 0  # a <br>: not a boundary but a line of its own, so <br><br> is a blank line
    SPACE = 1  # between table cells
    LINE = 2  # around div, li, tr ...
    PARAGRAPH = 3  # around p, h1-h6, lists, tables ...


# Elements whose content is never shown to a reader.
_HIDDEN = frozenset({"script", "style", "template"})

_BREAKS: dict[str, _Break] = {
    **dict.fromkeys(("td", "th"), _Break.SPACE),
    **dict.fromkeys(("div", "li", "dt", "dd", "tr", "figcaption", "caption"), _Break.LINE),
    **dict.fromkeys(
        ("p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "ul", "ol", "dl",
         "table", "figure", "hr", "section", "article", "header", "footer", "aside", "address"),
        _Break.PARAGRAPH,
    ),
}  # fmt: skip

_SEPARATORS = {_Break.SPACE: " ", _Break.LINE: "\n", _Break.PARAGRAPH: "\n\n"}
_SPACES = re.compile(r"[^\S\n]+")
# Control characters that are not whitespace: never shown, and a NUL is refused by PostgreSQL
# and the networks alike. (Whitespace controls such as a vertical tab fold to a space.)
_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f]")
_BLANK_LINES = re.compile(r"\n{3,}")


class _TextCollector(HTMLParser):
    """Collects visible text and breaks in document order; the base class decodes entities."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pieces: list[str | _Break] = []
        self.saw_markup = False
        self._hidden_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.saw_markup = True
        if tag in _HIDDEN:
            self._hidden_depth += 1
        else:
            self._mark(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # A self-closing <script/> hides nothing; <br/> still breaks the line.
        self.saw_markup = True
        if tag not in _HIDDEN:
            self._mark(tag)

    def handle_endtag(self, tag: str) -> None:
        self.saw_markup = True
        if tag in _HIDDEN:
            self._hidden_depth = max(0, self._hidden_depth - 1)
        else:  # browsers read a stray </br> as <br>, and so does this
            self._mark(tag)

    def handle_comment(self, data: str) -> None:
        self.saw_markup = True

    def handle_data(self, data: str) -> None:
        if not self._hidden_depth:
            # In HTML a newline in the source is only a space; the elements make the breaks.
            self.pieces.append(data)

    def _mark(self, tag: str) -> None:
        if tag == "br":
            self.pieces.append(_Break.NEWLINE)
        elif tag in _BREAKS:
            self.pieces.append(_BREAKS[tag])


def without_controls(text: str) -> str:
    """``text`` without the control characters that are not whitespace (NUL, ESC, DEL ...)."""
    return _CONTROLS.sub("", text)


def fold_whitespace(text: str) -> str:
    """Tidy plain text: spaces folded to one, lines trimmed, at most one blank line in a row.

    Control characters other than whitespace are dropped.
    """
    text = without_controls(text).replace("\r\n", "\n")
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def _render(pieces: list[str | _Break]) -> str:
    out: list[str] = []
    pending: _Break | None = None  # the strongest break since the last visible text
    for piece in pieces:
        if piece is _Break.NEWLINE:
            pending = _Break.LINE if pending is None or pending < _Break.LINE else _Break.PARAGRAPH
        elif isinstance(piece, _Break):
            pending = piece if pending is None else max(pending, piece)
        elif pending is not None and not piece.strip():
            continue  # whitespace beside a block boundary is not shown
        else:
            if pending is not None:
                out.append(_SEPARATORS[pending])
                pending = None
            out.append(re.sub(r"\s+", " ", piece))
    return fold_whitespace("".join(out))


def html_to_text(html: str) -> str:
    """The text a reader would see in ``html``, paragraphs separated by one blank line.

    Text without any markup keeps its own line breaks, so plain text ("AT&T < 5") comes back
    as it was, apart from folded whitespace. Entities are decoded as a browser would, so a
    bare ``&not`` becomes ``¬`` and ``&lt;p&gt;`` a ``<p>`` that a second pass would drop:
    text known to be plain (a feed's ``text/plain`` title) wants ``fold_whitespace`` instead.
    """
    collector = _TextCollector()
    collector.feed(html)
    collector.close()
    if not collector.saw_markup:
        return fold_whitespace("".join(str(piece) for piece in collector.pieces))
    return _render(collector.pieces)
