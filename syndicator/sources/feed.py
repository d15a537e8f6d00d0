"""RSS and Atom feeds: fetched over HTTP (conditional GET) or from a file, read into entries.

``fetch_feed`` is the source stage for one poll: it returns the feed's entries as ``FeedEntry``
records (plain text, absolute URLs, UTC times) with notes on what it had to skip or repair,
or raises ``FeedError`` saying why there is nothing to read. feedparser does the parsing; it
is CPU-bound, so ``fetch_feed`` runs it in a worker thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import http
import io
import socket
import xml.sax
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit
from urllib.request import url2pathname

import feedparser
import httpx

from syndicator import __version__
from syndicator.errors import FeedError
from syndicator.records import FeedEntry
from syndicator.sources.text import fold_whitespace, html_to_text
from syndicator.sources.urls import is_http_url

MAX_BYTES = 10 * 1024 * 1024
USER_AGENT = f"syndicator/{__version__} (+https://github.com/syndicator-news/syndicator)"
_TITLE_FALLBACK_CHARS = 120


@dataclass(frozen=True, slots=True)
class FeedFetch:
    """What one poll of a feed found."""

    not_modified: bool  # True on HTTP 304: nothing parsed
    entries: tuple[FeedEntry, ...]  # in the feed's own order
    etag: str | None  # to send next time (If-None-Match)
    last_modified: str | None  # to send next time (If-Modified-Since)
    status: int | None  # HTTP status; None for a local file
    problems: tuple[str, ...]  # notes for the feed's health page: what was skipped or repaired


def http_client() -> httpx.AsyncClient:
    """The one client every feed is fetched with; the caller closes it."""
    return httpx.AsyncClient(
        headers={"User-Agent": USER_AGENT},
        timeout=httpx.Timeout(30.0, connect=10.0),
        follow_redirects=True,
        max_redirects=5,
        http1=True,
        http2=False,
    )


async def fetch_feed(
    client: httpx.AsyncClient,
    location: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
) -> FeedFetch:
    """Read the feed at ``location``: an http(s) URL, a ``file:`` URL or a local path.

    ``etag`` and ``last_modified`` are the previous fetch's, for a conditional GET; a local
    file is always read in full.
    """
    scheme = urlsplit(location).scheme.lower()
    if scheme in ("http", "https"):
        return await _fetch_http(client, location, etag, last_modified)
    if scheme == "file" or len(scheme) <= 1:  # one letter: a Windows drive
        content, base_url = await asyncio.to_thread(_read_file, location)
        entries, problems = await _parse_off_loop(location, content, base_url, None, None)
        return FeedFetch(False, entries, None, None, None, problems)
    raise FeedError(location, f"unsupported scheme {scheme!r}: only http(s) and files are read")


async def _fetch_http(
    client: httpx.AsyncClient, url: str, etag: str | None, last_modified: str | None
) -> FeedFetch:
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    try:
        async with client.stream("GET", url, headers=headers) as response:
            status = response.status_code
            if status == http.HTTPStatus.NOT_MODIFIED:
                # A 304 may omit the validators; the ones sent are still the current ones.
                etag = response.headers.get("ETag", etag)
                last_modified = response.headers.get("Last-Modified", last_modified)
                return FeedFetch(True, (), etag, last_modified, status, ())
            if not 200 <= status < 300:
                phrase = response.reason_phrase or _standard_phrase(status)
                raise FeedError(url, f"HTTP {status} {phrase}".strip(), status=status)
            content = await _read_capped(response, url)
    except httpx.HTTPError as e:
        raise FeedError(url, _transport_reason(url, e)) from e
    except httpx.InvalidURL as e:
        raise FeedError(url, f"invalid URL: {e}") from e
    base_url = str(response.url)  # after redirects: relative links are relative to this
    content_type = response.headers.get("Content-Type")
    entries, problems = await _parse_off_loop(url, content, base_url, content_type, status)
    etag, last_modified = response.headers.get("ETag"), response.headers.get("Last-Modified")
    return FeedFetch(False, entries, etag, last_modified, status, problems)


async def _read_capped(response: httpx.Response, url: str) -> bytes:
    """The body, refused as soon as it is known to exceed ``MAX_BYTES``: no feed is that big."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > MAX_BYTES:
        raise FeedError(url, "response larger than 10 MiB", status=response.status_code)
    body = bytearray()
    async for chunk in response.aiter_bytes():  # decoded: a gzip bomb is caught here too
        body += chunk
        if len(body) > MAX_BYTES:
            raise FeedError(url, "response larger than 10 MiB", status=response.status_code)
    return bytes(body)


def _standard_phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""


def _causes(e: BaseException) -> Iterator[BaseException]:
    seen: BaseException | None = e
    while seen is not None:
        yield seen
        seen = seen.__cause__ or seen.__context__


def _transport_reason(url: str, e: httpx.HTTPError) -> str:
    """Why no HTTP answer came, in words an operator can act on."""
    if isinstance(e, httpx.ConnectTimeout):
        return "timed out connecting to the server"
    if isinstance(e, httpx.TimeoutException):
        return "timed out waiting for the server"
    if isinstance(e, httpx.TooManyRedirects):
        return "too many redirects"
    if isinstance(e, httpx.ConnectError):
        for cause in _causes(e):
            if isinstance(cause, socket.gaierror):
                return f"DNS lookup failed for {urlsplit(url).hostname}: {cause.strerror}"
            if isinstance(cause, ConnectionRefusedError):
                return "connection refused"
        return f"could not connect: {e}"
    if isinstance(e, httpx.RemoteProtocolError):
        return f"the server broke the HTTP protocol: {e}"
    if isinstance(e, httpx.DecodingError):
        return f"the response could not be decoded: {e}"
    return f"{type(e).__name__}: {e}"


def _read_file(location: str) -> tuple[bytes, str]:
    """The file's bytes and its URI, the base for relative links. Runs in a worker thread."""
    parts = urlsplit(location)
    if parts.scheme.lower() == "file":
        if parts.netloc not in ("", "localhost"):
            raise FeedError(location, f"file URL names another host: {parts.netloc}")
        path = Path(url2pathname(parts.path))
    else:
        path = Path(location)
    try:
        with path.open("rb") as f:
            content = f.read(MAX_BYTES + 1)
    except FileNotFoundError as e:
        raise FeedError(location, "file not found") from e
    except OSError as e:
        raise FeedError(location, f"file cannot be read: {e.strerror or e}") from e
    if len(content) > MAX_BYTES:
        raise FeedError(location, "file larger than 10 MiB")
    return content, path.resolve().as_uri()


async def _parse_off_loop(
    location: str, content: bytes, base_url: str, content_type: str | None, status: int | None
) -> tuple[tuple[FeedEntry, ...], tuple[str, ...]]:
    try:
        return await asyncio.to_thread(
            parse_feed, content, base_url=base_url, content_type=content_type
        )
    except FeedError as e:  # named by the URL it was fetched from, not the one it ended at
        raise FeedError(location, e.reason, status=status) from e


def parse_feed(
    content: bytes, *, base_url: str, content_type: str | None = None
) -> tuple[tuple[FeedEntry, ...], tuple[str, ...]]:
    """The entries of an RSS or Atom document, and notes on what was skipped or repaired.

    Relative links resolve against ``base_url``. Without a ``content_type`` the document's
    own XML declaration says its encoding. Raises ``FeedError`` if it is not a feed at all.
    """
    headers = {"content-location": base_url, "content-type": content_type or "application/xml"}
    # A stream, never bytes: feedparser would open bytes that look like a path or a URL.
    parsed = feedparser.parse(io.BytesIO(content), response_headers=headers)
    raw_entries: list[Any] = parsed.get("entries", [])
    bozo = parsed.get("bozo_exception") if parsed.get("bozo") else None
    if not raw_entries and not parsed.get("feed", {}).get("title"):
        if bozo is not None:
            raise FeedError(base_url, f"not a feed: {bozo}")
        if not parsed.get("version"):
            raise FeedError(base_url, "not a feed: no RSS or Atom content")
    problems = [] if bozo is None else [_repair_note(bozo)]
    entries = []
    for number, raw in enumerate(raw_entries, start=1):
        entry = _entry(raw, base_url)
        if isinstance(entry, FeedEntry):
            entries.append(entry)
        else:
            problems.append(f"entry {number} ({_identify(raw)}) {entry}: skipped")
    return tuple(entries), tuple(problems)


def _repair_note(bozo: Exception) -> str:
    if isinstance(bozo, xml.sax.SAXException):
        return f"feed is not well-formed XML (recovered): {bozo}"
    if isinstance(bozo, feedparser.CharacterEncodingOverride):
        return f"feed declares the wrong character encoding (recovered): {bozo}"
    if isinstance(bozo, feedparser.NonXMLContentType):
        return f"feed is not served as XML (recovered): {bozo}"
    return f"feed has a problem (recovered): {bozo}"


def _identify(raw: Mapping[str, Any]) -> str:
    if raw.get("id"):
        return f"guid {raw['id']}"
    if raw.get("title"):
        return f"title {fold_whitespace(raw['title'])!r}"
    return "no guid or title"


def _entry(raw: Mapping[str, Any], base_url: str) -> FeedEntry | str:
    """The entry as a record, or why it has to be skipped."""
    link = (raw.get("link") or "").strip()
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
        guid=(raw.get("id") or "").strip() or url,
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
