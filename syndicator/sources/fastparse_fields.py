"""Values as feedparser keeps them: attribute names, resolved links, finished text.

feedparser's ``pop`` finishes every value the same way: links resolved against the
element's base, HTML resolved and sanitized, UTF-8 misread as Latin-1 repaired and C1
controls read as windows-1252. ``Text`` keeps a title, summary or content raw and finishes it
only when it is read; sanitizing, the slow part, is skipped where it provably cannot change
the visible text (``fastparse_html``). ``RawEntry`` holds the keys of a feedparser entry that
``parse.py`` reads.
"""

from __future__ import annotations

import contextlib
from typing import Any
from urllib.parse import urljoin

from feedparser.html import _cp1252
from feedparser.mixin import _FeedParserMixin
from feedparser.sanitizer import _sanitize_html
from feedparser.urls import _urifixer, _urljoin, resolve_relative_uris

from syndicator.sources.fastparse_html import sanitizer_keeps, split, visible_text
from syndicator.sources.text import Pieces, fold_whitespace, render

# feedparser's namespace table (lower-cased URI -> canonical prefix, "" for RSS and Atom).
CANONICAL: dict[str, str] = {
    uri.lower(): prefix for uri, prefix in _FeedParserMixin.namespaces.items()
}


class Unsure(Exception):
    """The document does something that the fast path does not replay exactly."""


def finish(value: str) -> str:
    """feedparser's last touches to every value: UTF-8 read as Latin-1 repaired, C1 as cp1252."""
    if value.isascii():
        return value
    with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
        value = value.encode("iso-8859-1").decode("utf-8")
    return value.translate(_cp1252)


def resolve(base: str, uri: str) -> str:
    """feedparser's ``_urljoin``, skipping its slash-fixing substitution where it is a no-op."""
    fixable = _urifixer.match(uri)
    if fixable is not None and fixable.group(2):
        joined: str = _urljoin(base, uri)
        return joined
    try:
        return urljoin(base, uri)
    except ValueError:
        return ""


def map_content_type(value: str) -> str:
    """feedparser's reading of a ``type`` attribute: "html" is text/html, and so on."""
    value = value.lower()
    if value in ("text", "plain"):
        return "text/plain"
    return {"html": "text/html", "xhtml": "application/xhtml+xml"}.get(value, value)


def leaf_text(element: Any) -> str:
    """The stripped character data of an element that must hold nothing but text."""
    if len(element):
        raise Unsure("markup inside a text element")  # feedparser's inline-content path
    text: str = element.text or ""
    return text.strip()


def attributes(items: list[tuple[str, str]]) -> dict[str, str]:
    """An element's attributes as feedparser's SAX handler names them.

    Names lower-cased; a known namespace's attribute under both "prefix:name" and "name";
    ``rel`` and ``type`` values lower-cased.
    """
    attrs: dict[str, str] = {}
    for name, value in items:
        if not name.isascii():
            raise Unsure("a non-ASCII attribute name")  # expat and libxml2 disagree on these
        if name[0] == "{":
            uri, local = name[1:].split("}", 1)
            local = local.lower()
            prefix = CANONICAL.get(uri.lower(), "")
            if prefix:
                attrs[f"{prefix}:{local}".lower()] = value
        else:
            local = name.lower()
        if local in attrs:
            raise Unsure("two attributes with one local name")  # feedparser keeps either
        attrs[local] = value.lower() if local in ("rel", "type") else value
    return attrs


def link_attributes(attrs: dict[str, str], base: str) -> dict[str, str]:
    """feedparser's ``_start_link``: default rel and type, ``href`` from url/uri, resolved."""
    found = dict(attrs)
    found.setdefault("rel", "alternate")
    found.setdefault("type", "application/atom+xml" if found["rel"] == "self" else "text/html")
    found = enforce_href(found)
    if "href" in found:
        found["href"] = resolve(base, found["href"])
    return found


def enforce_href(attrs: dict[str, str]) -> dict[str, str]:
    """feedparser's ``_enforce_href``: a url or uri attribute becomes ``href``."""
    href = attrs.get("url", attrs.get("uri", attrs.get("href")))
    if href:
        attrs.pop("url", None)
        attrs.pop("uri", None)
        attrs["href"] = href
    return attrs


class Text:
    """A text construct as feedparser stores it: ``raw`` is its stripped character data."""

    __slots__ = ("_kept", "_value", "base", "html", "raw")

    def __init__(self, raw: str, *, html: bool, base: str) -> None:
        self.raw = raw
        self.html = html  # feedparser sanitizes it as HTML
        self.base = base
        self._value: str | None = None
        self._kept: Pieces | bool | None = False  # False: not yet known

    @property
    def value(self) -> str:
        """The string feedparser stores, sanitized for real where it is HTML."""
        if self._value is None:
            text = self.raw
            if self.html:
                text = resolve_relative_uris(text, self.base, "utf-8", "text/html")
                text = _sanitize_html(text, "utf-8", "text/html")
            self._value = finish(text)
        return self._value

    def _unsanitized(self) -> bool:
        """Whether ``finish(raw)`` reads exactly as the stored value: no sanitizing needed."""
        if not self.html:
            return True
        if self._kept is False:
            self._kept = sanitizer_keeps(self.raw, self.base)
        return self._kept is not None

    def is_empty(self) -> bool:
        if self._value is None and self._unsanitized():
            return not self.raw  # the sanitizer keeps every tag of such HTML: still not empty
        return not self.value

    def text(self, *, plain: bool) -> str:
        """What ``parse.py``'s ``_text`` makes of the stored value."""
        if plain:
            return fold_whitespace(self.value)
        if self._value is not None or not self._unsanitized():
            return visible_text(self.value)
        finished = finish(self.raw)
        pieces = self._kept if finished is self.raw else split(finished)
        if pieces is None or isinstance(pieces, bool):
            return visible_text(finished)
        return render(pieces)


class RawEntry:
    """The keys of one feedparser entry that ``parse.py`` reads, as feedparser would set them."""

    __slots__ = ("author", "author_at", "authors", "content", "content_type", "id", "id_at",
                 "link", "links", "media_content", "media_thumbnail", "published", "summary",
                 "summary_at", "summary_detail", "tags", "title", "title_at", "title_detail",
                 "updated")  # fmt: skip

    def __init__(self) -> None:
        self.id: str | None = None
        self.id_at: int | None = None  # depth of the element that set it (feedparser's rule)
        self.link: str | None = None
        self.links: list[dict[str, str]] = []
        self.title: Text | None = None
        self.title_at: int | None = None
        self.title_detail: tuple[str, str] | None = None  # (type, base)
        self.summary: Text | None = None
        self.summary_at: int | None = None
        self.summary_detail: tuple[str, str] | None = None
        self.content: Text | None = None  # the first content element only: parse.py's choice
        self.content_type = ""
        self.published: Any = None  # feedparser's struct_time, or None
        self.updated: Any = None
        self.tags: list[list[str | None]] = []  # [term, scheme, label]
        self.media_content: list[dict[str, str]] = []
        self.media_thumbnail: list[dict[str, str]] = []
        self.author: str | None = None
        self.author_at: int | None = None
        self.authors: list[dict[str, str]] = []
