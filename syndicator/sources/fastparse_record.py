"""What a feed comes to, whichever path read it: ``ParsedFeed`` and the ``FeedEntry`` of an entry.

Both parsers (feedparser in ``parse.py``, lxml in ``fastparse``) gather an entry's fields
their own way and hand them to ``entry_link`` and ``entry_record``, which make the record:
so the rules (which link, which guid, a title when there is none, which picture) live here
once and the two paths cannot drift apart. ``build_entry`` gathers the fields of the fast
path's ``RawEntry``; ``parse.py`` does the same for a feedparser entry.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

from syndicator.records import FeedEntry
from syndicator.sources.chrome import without_trailing_chrome
from syndicator.sources.fastparse_fields import RawEntry
from syndicator.sources.text import fold_whitespace, without_controls
from syndicator.sources.urls import is_http_url

_TITLE_FALLBACK_CHARS = 120

Links = Sequence[Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """What a feed document holds for us: its entries, notes, and where to subscribe.

    ``item_digests`` fingerprint every item as read: passed back as ``known`` at the next
    reading, they let items that have not changed be left out, and ``unchanged`` counts
    those (the fast path leaves them unread; for feedparser they are cut out of the
    document, see ``known_items``).
    """

    entries: tuple[FeedEntry, ...]
    problems: tuple[str, ...] = ()
    hub: str | None = None  # a WebSub hub the feed advertises (rel="hub")
    self_url: str | None = None  # the feed's own canonical URL (rel="self"), the WebSub topic
    unchanged: int = 0
    item_digests: frozenset[bytes] = field(default=frozenset(), compare=False, repr=False)


class Skipped(ValueError):
    """Why an entry cannot be posted: the note says it, and the entry is left out."""


def entry_link(link: str | None, base: str) -> str:
    """The entry's link made absolute against ``base``; ``Skipped`` if it has no usable one."""
    found = without_controls(link or "").strip()
    if not found:
        raise Skipped("has no link")
    url = urljoin(base, found)  # feedparser resolves most links, but not all of them
    if not is_http_url(url):
        raise Skipped(f"has a link that is not http(s) ({found!r})")
    return url


def entry_record(
    url: str,
    *,
    base: str,
    guid: str | None,
    title: str,
    summary: str,
    published: Any,
    terms: Iterable[str | None],
    media_content: Links,
    media_thumbnail: Links,
    links: Links,
    author: str | None,
) -> FeedEntry:
    """The record of an entry whose ``url`` passed ``entry_link``; text is plain already.

    ``published`` is feedparser's UTC ``struct_time``; ``terms`` are category terms in order.
    The site's footer lines at the end of a summary are left out (``chrome``).
    """
    summary = without_trailing_chrome(summary)
    return FeedEntry(
        guid=without_controls(guid or "").strip() or url,
        url=url,
        title=title or _shorten(" ".join(summary.split())) or url,
        summary=summary,
        published=_utc(published),
        categories=tuple(dict.fromkeys(t for t in map(_term, terms) if t)),
        image_url=_image(media_content, media_thumbnail, links, base),
        author=fold_whitespace(author or "") or None,
    )


def identify(guid: str | None, title: str | None) -> str:
    """How a note on a skipped entry names it."""
    if guid:
        return f"guid {guid}"
    if title:
        return f"title {fold_whitespace(title)!r}"
    return "no guid or title"


def feed_link(links: Links, rel: str, base_url: str) -> str | None:
    """The first feed-level link with this ``rel`` (Atom or atom:link in RSS), absolute."""
    for link in links:
        if link.get("rel") == rel and link.get("href"):
            url = urljoin(base_url, link["href"])
            return url if is_http_url(url) else None
    return None


def build_entry(raw: RawEntry, base_url: str) -> FeedEntry | str:
    """The fast path's entry as a record, or why it is skipped (feedparser's reading of it)."""
    detail = raw.title_detail or raw.summary_detail
    base = (detail[1] if detail else "") or base_url
    try:
        url = entry_link(raw.link, base)
    except Skipped as skipped:
        return str(skipped)
    summary = ""
    if raw.summary is not None:
        plain = raw.summary_detail is not None and raw.summary_detail[0] == "text/plain"
        summary = raw.summary.text(plain=plain)
    if not summary and raw.content is not None:
        summary = raw.content.text(plain=raw.content_type == "text/plain")
    title = ""
    if raw.title is not None:
        plain = raw.title_detail is not None and raw.title_detail[0] == "text/plain"
        title = raw.title.text(plain=plain)
    return entry_record(
        url,
        base=base,
        guid=raw.id,
        title=title,
        summary=summary,
        published=raw.published or raw.updated,
        terms=(tag[0] for tag in raw.tags),
        media_content=raw.media_content,
        media_thumbnail=raw.media_thumbnail,
        links=raw.links,
        author=raw.author,
    )


def _term(term: str | None) -> str:
    return fold_whitespace(term or "")


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


def _image(media_content: Links, media_thumbnail: Links, links: Links, base: str) -> str | None:
    """The entry's picture: media:content, else media:thumbnail, else an image enclosure."""
    candidates: list[str] = [
        media.get("url") or ""
        for media in media_content
        if _is_image(media.get("medium") or "", media.get("type") or "")
    ]
    candidates += [thumb.get("url") or "" for thumb in media_thumbnail]
    candidates += [
        link.get("href") or ""
        for link in links
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
