"""Plain text from the HTML that feeds put in titles and summaries.

Posts are plain text (or a network's own small markup, added later by the formatter), so a
source hands on the text a reader would see in a browser: no tags, no entities, no script,
paragraphs kept as paragraphs and the source's own line wrapping folded away.
"""

from __future__ import annotations

import enum
import re
from html.parser import HTMLParser


class Break(enum.IntEnum):
    """A boundary between pieces of text; where several meet, the strongest wins."""

    NONE = -1  # a tag or comment that breaks nothing, though it shows the text is HTML
    NEWLINE = 0  # a <br>: not a boundary but a line of its own, so <br><br> is a blank line
    SPACE = 1  # between table cells
    LINE = 2  # around div, li, tr ...
    PARAGRAPH = 3  # around p, h1-h6, lists, tables ...


# Elements whose content is never shown to a reader.
HIDDEN = frozenset({"script", "style", "template"})

# The break each element makes, as a plain int (pieces compare faster than enum members).
BREAKS: dict[str, int] = {
    "br": Break.NEWLINE.value,
    **dict.fromkeys(("td", "th"), Break.SPACE.value),
    **dict.fromkeys(("div", "li", "dt", "dd", "tr", "figcaption", "caption"), Break.LINE.value),
    **dict.fromkeys(
        ("p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "ul", "ol", "dl",
         "table", "figure", "hr", "section", "article", "header", "footer", "aside", "address"),
        Break.PARAGRAPH.value,
    ),
}  # fmt: skip

# What html.parser makes of HTML: text runs (entities decoded) and the breaks between them.
Pieces = list[str | int]

_SEPARATORS = {Break.SPACE.value: " ", Break.LINE.value: "\n", Break.PARAGRAPH.value: "\n\n"}
_NONE, _NEWLINE, _LINE, _PARAGRAPH = (
    Break.NONE.value, Break.NEWLINE.value, Break.LINE.value, Break.PARAGRAPH.value
)  # fmt: skip
# Control characters that are not whitespace: never shown, and a NUL is refused by PostgreSQL
# and the networks alike. (Whitespace controls such as a vertical tab fold to a space.)
_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f]")
_BLANK_LINES = re.compile(r"\n{3,}")


class _TextCollector(HTMLParser):
    """Collects visible text and breaks in document order; the base class decodes entities."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pieces: Pieces = []
        self._hidden_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in HIDDEN:
            self._hidden_depth += 1
        self._mark(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._mark(tag)  # a self-closing <script/> hides nothing; <br/> still breaks the line

    def handle_endtag(self, tag: str) -> None:
        if tag in HIDDEN:
            self._hidden_depth = max(0, self._hidden_depth - 1)
        self._mark(tag)  # browsers read a stray </br> as <br>, and so does this

    def handle_comment(self, data: str) -> None:
        self.pieces.append(_NONE)

    def handle_data(self, data: str) -> None:
        if not self._hidden_depth:
            # In HTML a newline in the source is only a space; the elements make the breaks.
            self.pieces.append(data)

    def _mark(self, tag: str) -> None:
        self.pieces.append(_NONE if tag in HIDDEN else BREAKS.get(tag, _NONE))


def without_controls(text: str) -> str:
    """``text`` without the control characters that are not whitespace (NUL, ESC, DEL ...)."""
    return _CONTROLS.sub("", text)


def fold_whitespace(text: str) -> str:
    """Tidy plain text: spaces folded to one, lines trimmed, at most one blank line in a row.

    Control characters other than whitespace are dropped. (Whitespace is what ``str.split``
    splits on, which is exactly what ``\\s`` matches in a regular expression.)
    """
    text = without_controls(text)
    if "\n" not in text:
        return " ".join(text.split())  # "\r" alone is whitespace like any other
    lines = [" ".join(line.split()) for line in text.replace("\r\n", "\n").split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def render(pieces: Pieces) -> str:
    """The text of html.parser's pieces, each run's whitespace folded as a browser folds it.

    Without any markup (no int among the pieces) the text keeps its own line breaks.
    """
    if not any(type(piece) is int for piece in pieces):
        return fold_whitespace("".join(piece for piece in pieces if isinstance(piece, str)))
    out: list[str] = []
    pending = _NONE  # the strongest break since the last visible text
    for piece in pieces:
        if isinstance(piece, str):
            if pending > _NONE:
                if not piece.strip():
                    continue  # whitespace beside a block boundary is not shown
                out.append(_SEPARATORS[pending])
                pending = _NONE
            out.append(_collapse(piece))
        elif piece == _NEWLINE:
            pending = _LINE if pending < _LINE else _PARAGRAPH
        elif piece > pending:
            pending = piece
    return fold_whitespace("".join(out))


def _collapse(piece: str) -> str:
    """Each run of whitespace as one space (``re.sub(r"\\s+", " ", piece)``, only faster)."""
    words = " ".join(piece.split())
    if not words:
        return " " if piece else ""
    return f"{' ' if piece[0].isspace() else ''}{words}{' ' if piece[-1].isspace() else ''}"


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
    return render(collector.pieces)
