"""The ``FeedEntry`` that ``parse.py`` makes of a feedparser entry, from a ``RawEntry``.

``build_entry`` follows ``parse.py``'s ``_entry`` step for step and calls its helpers where
they read plain mappings (dates, categories, the picture), so that a change to those reaches
both paths. Titles and summaries cannot go through ``parse.py``'s ``_text``, which wants the
sanitized value: ``Text.text`` gives the same result without sanitizing where it can. The
equivalence tests run both paths on every corpus feed, so a change to ``_entry`` that is not
mirrored here fails there.
"""

from __future__ import annotations

from urllib.parse import urljoin

from syndicator.records import FeedEntry
from syndicator.sources import parse as _parse
from syndicator.sources.fastparse_fields import RawEntry
from syndicator.sources.text import fold_whitespace, without_controls
from syndicator.sources.urls import is_http_url


def build_entry(raw: RawEntry, base_url: str) -> FeedEntry | str:
    """The record, or why the entry is skipped."""
    link = without_controls(raw.link or "").strip()
    if not link:
        return "has no link"
    detail = raw.title_detail or raw.summary_detail
    base = (detail[1] if detail else "") or base_url
    url = urljoin(base, link)
    if not is_http_url(url):
        return f"has a link that is not http(s) ({link!r})"
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
    media = {"media_content": raw.media_content, "media_thumbnail": raw.media_thumbnail}
    return FeedEntry(
        guid=without_controls(raw.id or "").strip() or url,
        url=url,
        title=title or _parse._shorten(" ".join(summary.split())) or url,
        summary=summary,
        published=_parse._utc(raw.published or raw.updated),
        categories=_parse._categories([{"term": tag[0]} for tag in raw.tags]),
        image_url=_parse._image({**media, "links": raw.links}, base),
        author=fold_whitespace(raw.author or "") or None,
    )


def identify(raw: RawEntry) -> str:
    """How a note on a skipped entry names it (``parse.py``'s ``_identify``)."""
    if raw.id:
        return f"guid {raw.id}"
    if raw.title is not None and raw.title.value:
        return f"title {fold_whitespace(raw.title.value)!r}"
    return "no guid or title"
