"""Reading an RSS or Atom document into ``FeedEntry`` records: a fast path, else feedparser.

Plain text (HTML dropped, entities decoded), absolute URLs, UTC times; an entry that cannot
be posted (no link) is skipped with a note rather than failing the whole feed. Whatever the
document, ``safety`` checks it first (its encoding, no entity declarations). A well-formed
feed is then read by ``fastparse``, which gives exactly what feedparser would, some ten
times faster; anything else (malformed, unusual, not UTF-8) goes to feedparser.
"""

from __future__ import annotations

import io
import xml.sax
from collections.abc import Container, Mapping
from dataclasses import replace
from typing import Any

import feedparser

from syndicator.errors import FeedError
from syndicator.records import FeedEntry
from syndicator.sources.fastparse import fast_parse
from syndicator.sources.fastparse_record import (
    ParsedFeed,
    Skipped,
    entry_link,
    entry_record,
    feed_link,
    identify,
)
from syndicator.sources.known_items import leave_out_known
from syndicator.sources.safety import Decoded, declares_entities, decode_feed
from syndicator.sources.text import fold_whitespace, html_to_text


def parse_feed(
    content: bytes,
    *,
    base_url: str,
    content_type: str | None = None,
    known: Container[bytes] = frozenset(),
) -> ParsedFeed:
    """The entries of an RSS or Atom document, and notes on what was skipped or repaired.

    Relative links resolve against ``base_url``. The encoding comes from a byte order mark,
    the charset in ``content_type``, or the document's XML declaration, and is guessed when
    they are wrong. Raises ``FeedError`` if it is not a feed at all, or if it declares XML
    entities (see ``syndicator.sources.safety``). Items whose fingerprint is in ``known``
    (``item_digests`` of a previous reading of the feed) are read as before and left out.
    """
    fast = parse_fast(content, base_url=base_url, content_type=content_type, known=known)
    if fast is not None:
        return fast
    return parse_with_feedparser(content, base_url=base_url, content_type=content_type, known=known)


def parse_fast(
    content: bytes,
    *,
    base_url: str,
    content_type: str | None = None,
    known: Container[bytes] = frozenset(),
) -> ParsedFeed | None:
    """``parse_feed`` if the fast path can read the document, else None: a millisecond or
    two for a news feed whose items are mostly ``known``. Raises ``FeedError`` as it does.
    """
    _checked(content, base_url, content_type)
    return fast_parse(content, base_url=base_url, content_type=content_type, known=known)


def parse_with_feedparser(
    content: bytes,
    *,
    base_url: str,
    content_type: str | None = None,
    known: Container[bytes] = frozenset(),
) -> ParsedFeed:
    """``parse_feed`` without the fast path: what the fast path must match, feed for feed.

    Items in ``known`` are cut out of the document before feedparser reads it, where that
    cannot change how it reads the rest (``known_items``): a malformed feed costs what its
    new items cost, not what the whole document does.
    """
    decoded, document = _checked(content, base_url, content_type)
    skimmed = leave_out_known(document, base_url=base_url, content_type=content_type,
                              known=known)  # fmt: skip
    feed = _read(decoded, skimmed.document, base_url, content_type, skimmed.left_out)
    return replace(feed, unchanged=skimmed.left_out, item_digests=skimmed.digests)


def _checked(content: bytes, base_url: str, content_type: str | None) -> tuple[Decoded, bytes]:
    """The document as text and as UTF-8, once it is known to be safe to parse."""
    decoded = decode_feed(content, content_type)
    if not decoded.text.strip():
        raise FeedError(base_url, "not a feed: the document is empty")
    document = decoded.text.encode("utf-8")
    if declares_entities(document):
        raise FeedError(base_url, "feed declares XML entities; refused for safety")
    return decoded, document


def _read(
    decoded: Decoded, document: bytes, base_url: str, content_type: str | None, left_out: int
) -> ParsedFeed:
    """feedparser's reading of the checked document, handed to it as UTF-8 that says so
    (``left_out``: items known from before were cut out of it)."""
    media_type = (content_type or "").split(";")[0].strip() or "application/xml"
    headers = {"content-location": base_url, "content-type": f"{media_type}; charset=utf-8"}
    # A stream, never bytes: feedparser would open bytes that look like a path or a URL.
    parsed = feedparser.parse(io.BytesIO(document), response_headers=headers)
    raw_entries: list[Any] = parsed.get("entries", [])
    bozo = parsed.get("bozo_exception") if parsed.get("bozo") else None
    if not raw_entries and not left_out and not parsed.get("feed", {}).get("title"):
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
        if isinstance(entry, str):
            named = identify(raw.get("id"), raw.get("title"))
            problems.append(f"entry {number} ({named}) {entry}: skipped")
        else:
            entries.append(entry)
    links = parsed.get("feed", {}).get("links", [])
    hub, self_url = feed_link(links, "hub", base_url), feed_link(links, "self", base_url)
    return ParsedFeed(tuple(entries), tuple(problems), hub, self_url)


def _repair_note(bozo: Exception, media_type: str) -> str:
    if isinstance(bozo, xml.sax.SAXException):
        return f"feed is not well-formed XML (recovered): {bozo}"
    if isinstance(bozo, feedparser.NonXMLContentType):
        return f"feed is not served as XML (recovered): served as {media_type}"
    return f"feed has a problem (recovered): {bozo}"


def _entry(raw: Mapping[str, Any], base_url: str) -> FeedEntry | str:
    """A feedparser entry as a record, or why it has to be skipped."""
    base = (raw.get("title_detail") or raw.get("summary_detail") or {}).get("base") or base_url
    try:
        url = entry_link(raw.get("link"), base)
    except Skipped as skipped:
        return str(skipped)
    summary = _text(raw, "summary")
    if not summary and raw.get("content"):
        summary = _text(raw["content"][0], "value")
    return entry_record(
        url,
        base=base,
        guid=raw.get("id"),
        title=_text(raw, "title"),
        summary=summary,
        # "in": feedparser's get() would map a missing updated_parsed to published_parsed,
        # with a DeprecationWarning, and that one is None here already.
        published=raw.get("published_parsed")
        or (raw["updated_parsed"] if "updated_parsed" in raw else None),  # noqa: SIM401
        terms=(tag.get("term") for tag in raw.get("tags") or []),
        media_content=raw.get("media_content") or [],
        media_thumbnail=raw.get("media_thumbnail") or [],
        links=raw.get("links") or [],
        author=raw.get("author"),
    )


def _text(holder: Mapping[str, Any], key: str) -> str:
    """A text construct as plain text. feedparser says whether it holds HTML or plain text."""
    value: str = holder.get(key) or ""
    detail = holder if key == "value" else holder.get(f"{key}_detail") or {}
    if detail.get("type") == "text/plain":
        return fold_whitespace(value)  # "Why <script> matters" is a title, not markup
    return html_to_text(value)


__all__ = ["ParsedFeed", "parse_fast", "parse_feed", "parse_with_feedparser"]
