"""Reading an RSS or Atom document into ``FeedEntry`` records, with feedparser.

Plain text (HTML dropped, entities decoded), absolute URLs, UTC times; an entry that cannot
be posted (no link) is skipped with a note rather than failing the whole feed.
"""

from __future__ import annotations

import io
import xml.sax
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import feedparser

from syndicator.errors import FeedError
from syndicator.records import FeedEntry
from syndicator.sources.safety import declares_entities, decode_feed
from syndicator.sources.text import fold_whitespace, html_to_text, without_controls
from syndicator.sources.urls import is_http_url

_TITLE_FALLBACK_CHARS = 120


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """What a feed document holds for us: its entries, notes, and where to subscribe."""

    entries: tuple[FeedEntry, ...]
    problems: tuple[str, ...] = ()
    hub: str | None = None  # a WebSub hub the feed advertises (rel="hub")
    self_url: str | None = None  # the feed's own canonical URL (rel="self"), the WebSub topic


def parse_feed(content: bytes, *, base_url: str, content_type: str | None = None) -> ParsedFeed:
    """The entries of an RSS or Atom document, and notes on what was skipped or repaired.

    Relative links resolve against ``base_url``. The encoding comes from a byte order mark,
    the charset in ``content_type``, or the document's XML declaration, and is guessed when
    they are wrong. Raises ``FeedError`` if it is not a feed at all, or if it declares XML
    entities (see ``syndicator.sources.safety``).
    """
    decoded = decode_feed(content, content_type)
    if not decoded.text.strip():
        raise FeedError(base_url, "not a feed: the document is empty")
    document = decoded.text.encode("utf-8")
    if declares_entities(document):
        raise FeedError(base_url, "feed declares XML entities; refused for safety")
    media_type = (content_type or "").split(";")[0].strip() or "application/xml"
    headers = {"content-location": base_url, "content-type": f"{media_type}; charset=utf-8"}
    # A stream, never bytes: feedparser would open bytes that look like a path or a URL.
    parsed = feedparser.parse(io.BytesIO(document), response_headers=headers)
    raw_entries: list[Any] = parsed.get("entries", [])
    bozo = parsed.get("bozo_exception") if parsed.get("bozo") else None
    if not raw_entries and not parsed.get("feed", {}).get("title"):
        if bozo is not None:
            raise FeedError(base_url, f"not a feed: {bozo}")
        if not parsed.get("version"):
            raise FeedError(base_url, "not a feed: no RSS or Atom content")
    problems = [decoded.note] if decoded.note else []
    if bozo is not None:
        problems.append(_repair_note(bozo, media_type))
    entries = []
    for number, raw in enumerate(raw_entries, start=1):
        entry = _entry(raw, base_url)
        if isinstance(entry, FeedEntry):
            entries.append(entry)
        else:
            problems.append(f"entry {number} ({_identify(raw)}) {entry}: skipped")
    hub, self_url = _feed_link(parsed, "hub", base_url), _feed_link(parsed, "self", base_url)
    return ParsedFeed(tuple(entries), tuple(problems), hub, self_url)


def _feed_link(parsed: Mapping[str, Any], rel: str, base_url: str) -> str | None:
    """The first feed-level link with this ``rel`` (Atom or atom:link in RSS), absolute."""
    for link in parsed.get("feed", {}).get("links", []):
        if link.get("rel") == rel and link.get("href"):
            url = urljoin(base_url, link["href"])
            return url if is_http_url(url) else None
    return None


def _repair_note(bozo: Exception, media_type: str) -> str:
    if isinstance(bozo, xml.sax.SAXException):
        return f"feed is not well-formed XML (recovered): {bozo}"
    if isinstance(bozo, feedparser.NonXMLContentType):
        return f"feed is not served as XML (recovered): served as {media_type}"
    return f"feed has a problem (recovered): {bozo}"


def _identify(raw: Mapping[str, Any]) -> str:
    if raw.get("id"):
        return f"guid {raw['id']}"
    if raw.get("title"):
        return f"title {fold_whitespace(raw['title'])!r}"
    return "no guid or title"


def _entry(raw: Mapping[str, Any], base_url: str) -> FeedEntry | str:
    """The entry as a record, or why it has to be skipped."""
    link = without_controls(raw.get("link") or "").strip()
    if not link:
        return "has no link"
    base = (raw.get("title_detail") or raw.get("summary_detail") or {}).get("base") or base_url
    url = urljoin(base, link)  # feedparser resolves most links, but not all of them
    if not is_http_url(url):
        return f"has a link that is not http(s) ({link!r})"
    summary = _text(raw, "summary")
    if not summary and raw.get("content"):
        summary = _text(raw["content"][0], "value")
    title = _text(raw, "title") or _shorten(" ".join(summary.split())) or url
    return FeedEntry(
        guid=without_controls(raw.get("id") or "").strip() or url,
        url=url,
        title=title,
        summary=summary,
        published=_utc(raw.get("published_parsed") or raw.get("updated_parsed")),
        categories=_categories(raw.get("tags") or []),
        image_url=_image(raw, base),
        author=fold_whitespace(raw.get("author") or "") or None,
    )


def _text(holder: Mapping[str, Any], key: str) -> str:
    """A text construct as plain text. feedparser says whether it holds HTML or plain text."""
    value: str = holder.get(key) or ""
    detail = holder if key == "value" else holder.get(f"{key}_detail") or {}
    if detail.get("type") == "text/plain":
        return fold_whitespace(value)  # "Why <script> matters" is a title, not markup
    return html_to_text(value)


def _shorten(text: str) -> str:
    if len(text) <= _TITLE_FALLBACK_CHARS:
        return text
    cut = text[: _TITLE_FALLBACK_CHARS - 1]
    if " " in cut[_TITLE_FALLBACK_CHARS // 2 :]:
        cut = cut.rsplit(" ", 1)[0]
    return f"{cut.rstrip(' ,;:.')}…"


def _utc(parsed: Any) -> datetime | None:
    """feedparser's ``*_parsed`` (a UTC struct_time) as an aware datetime."""
    if parsed is None:
        return None
    try:
        year, month, day, hour, minute, second = parsed[:6]
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except (TypeError, ValueError):
        return None


def _categories(tags: list[Mapping[str, Any]]) -> tuple[str, ...]:
    terms = (fold_whitespace(tag.get("term") or "") for tag in tags)
    return tuple(dict.fromkeys(term for term in terms if term))


def _image(raw: Mapping[str, Any], base: str) -> str | None:
    """The entry's picture: media:content, else media:thumbnail, else an image enclosure."""
    candidates: list[str] = [
        media.get("url") or ""
        for media in raw.get("media_content") or []
        if _is_image(media.get("medium") or "", media.get("type") or "")
    ]
    candidates += [thumb.get("url") or "" for thumb in raw.get("media_thumbnail") or []]
    candidates += [
        link.get("href") or ""
        for link in raw.get("links") or []
        if link.get("rel") == "enclosure" and (link.get("type") or "").startswith("image/")
    ]
    for candidate in candidates:
        url = urljoin(base, candidate.strip()) if candidate.strip() else ""
        if is_http_url(url):
            return url
    return None


def _is_image(medium: str, mime_type: str) -> bool:
    if medium == "image" or mime_type.startswith("image/"):
        return True
    return not medium and not mime_type  # a bare media:content is nearly always a picture
