"""An article from a single web page: what ``syndicator post URL`` publishes.

``article_from_url`` fetches the page (redirects followed, size capped while streaming) and
``article_from_html`` turns it into a ``FeedEntry``: for each field the first usable offer
from JSON-LD, then OpenGraph, Twitter cards, the HTML head (see ``page_meta``, which also
passes over site chrome). A title loses the site's name around it; a link must resolve to an
absolute http(s) URL; a time must parse. Failing that, the next source is asked.
"""

from __future__ import annotations

import asyncio
import contextlib
import http
import re
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar
from urllib.parse import urldefrag, urljoin, urlsplit

import httpx

from syndicator.errors import PageError
from syndicator.records import FeedEntry
from syndicator.sources.page_meta import Offer, read_page
from syndicator.sources.urls import is_http_url

MAX_REDIRECTS = 5
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1"

_SITE_SEPARATORS = (" | ", " - ", " – ", " — ", " · ", " :: ", " » ", ": ")

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PageArticle:
    """An article read from its page, with where each field came from (for ``preview``)."""

    entry: FeedEntry
    section: str | None
    site_name: str | None
    sources: dict[str, str]  # field -> source, e.g. {"title": "json-ld"}


def article_from_html(html: bytes | str, *, url: str) -> PageArticle:
    """The article in ``html``; ``url`` is where it was read from, after redirects.

    Pure: no I/O. Raises ``PageError`` when the page has no usable title.
    """
    meta = read_page(html)
    sources: dict[str, str] = {}

    def pick(field: str, offers: Iterable[Offer], judge: Callable[[str], T | None]) -> T | None:
        for offer in offers:
            value = judge(offer.value)
            if value is not None:
                sources[field] = offer.source
                return value
        return None

    site_name = pick("site_name", meta.site_name, _as_is)
    title = pick("title", meta.title, lambda text: _title(text, site_name))
    if title is None:
        raise PageError(url, "no title found")
    canonical = pick("url", meta.url, lambda href: _link(href, url, keep_fragment=False))
    if canonical is None:
        canonical, sources["url"] = urldefrag(url).url, "final URL"
        if not is_http_url(canonical):
            raise PageError(url, "no http(s) URL for the article")
    section = pick("section", meta.section, _as_is)
    tags = [section] if section else []
    tags += (offer.value for offer in meta.tags)
    entry = FeedEntry(
        guid=canonical,
        url=canonical,
        title=title,
        summary=pick("summary", meta.summary, _as_is) or "",
        published=pick("published", meta.published, parse_time),
        categories=_unique(tags),
        image_url=pick("image", meta.image, lambda href: _link(href, url, keep_fragment=True)),
        author=pick("author", meta.author, _byline),
    )
    return PageArticle(entry, section, site_name, sources)


def _unique(tags: Iterable[str]) -> tuple[str, ...]:
    """Each tag once, in first-seen order and spelling: "Politics" and "politics" are one."""
    seen: dict[str, str] = {}
    for tag in tags:
        seen.setdefault(tag.casefold(), tag)
    return tuple(seen.values())


def _as_is(text: str) -> str | None:
    return text or None


def _title(text: str, site_name: str | None) -> str | None:
    """``text`` without the site's name around it; the site's name alone is no title."""
    if site_name:
        site = site_name.casefold()
        if text.casefold() == site:
            return None
        for sep in _SITE_SEPARATORS:
            head, found, tail = text.rpartition(sep)
            if found and head.strip() and tail.strip().casefold() == site:
                text = head.strip()
                break
            tail, found, head = text.partition(sep)
            if found and head.strip() and tail.strip().casefold() == site:
                text = head.strip()
                break
    return text or None


def _byline(text: str) -> str | None:
    """An author's name; ``article:author`` often holds a profile URL instead, never a name."""
    name = re.sub(r"^by\s+", "", text, flags=re.IGNORECASE)
    return None if re.match(r"https?://", name, re.IGNORECASE) else name or None


def _link(href: str, base: str, *, keep_fragment: bool) -> str | None:
    absolute = urljoin(base, href.strip())
    if not keep_fragment:
        absolute = urldefrag(absolute).url
    return absolute if is_http_url(absolute) else None


def parse_time(text: str) -> datetime | None:
    """An ISO 8601 time (or an RFC 2822 one) as aware UTC; a time without a zone is UTC."""
    value = text.strip()
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


# --- fetching -------------------------------------------------------------------------


async def article_from_url(
    client: httpx.AsyncClient, url: str, *, max_bytes: int = 5 * 1024 * 1024
) -> PageArticle:
    """Fetch the page at ``url`` and read its article; ``PageError`` says why not."""
    if not is_http_url(url):
        raise PageError(url, "not an http(s) URL")
    body, final_url, charset, status = await _fetch(client, url, max_bytes)
    html: bytes | str = body
    if charset and not body.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        # The HTTP header's charset, unless a byte order mark overrules it; an unknown one
        # leaves the choice to the page's own <meta charset>.
        with contextlib.suppress(LookupError):
            html = body.decode(charset, errors="replace")
    try:
        return await asyncio.to_thread(article_from_html, html, url=final_url)
    except PageError as e:  # named by the URL asked for, not the one it ended at
        raise PageError(url, e.reason, status=status) from e


async def _fetch(
    client: httpx.AsyncClient, url: str, max_bytes: int
) -> tuple[bytes, str, str | None, int]:
    """The body, final URL, charset and status of the page, redirects followed by hand.

    By hand, so that the limit is ours (``MAX_REDIRECTS``) whatever the client's setting.
    """
    target = url
    try:
        for _ in range(MAX_REDIRECTS + 1):
            headers = {"Accept": _ACCEPT}
            async with client.stream("GET", target, headers=headers, follow_redirects=False) as r:
                if r.next_request is not None:
                    target = str(r.next_request.url)
                    continue
                _check(url, r, max_bytes)
                body = await _read_capped(url, r, max_bytes)
                if not r.headers.get("Content-Type") and not _looks_like_html(body):
                    raise PageError(url, "not an HTML page (no content type)", status=r.status_code)
                return body, str(r.url), r.charset_encoding, r.status_code
    except httpx.HTTPError as e:
        raise PageError(url, _transport_reason(url, e)) from e
    except httpx.InvalidURL as e:
        raise PageError(url, f"invalid URL: {e}") from e
    raise PageError(url, "too many redirects")


def _check(url: str, response: httpx.Response, max_bytes: int) -> None:
    """Refuse an error status, a type that is not HTML, a declared size over the cap."""
    status = response.status_code
    if not 200 <= status < 300:
        phrase = response.reason_phrase or _standard_phrase(status)
        raise PageError(url, f"HTTP {status} {phrase}".strip(), status=status)
    media_type = response.headers.get("Content-Type", "").partition(";")[0].strip().lower()
    if media_type and media_type not in _HTML_TYPES:
        raise PageError(url, f"not an HTML page ({media_type})", status=status)
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise PageError(url, f"page larger than {_size(max_bytes)}", status=status)


async def _read_capped(url: str, response: httpx.Response, max_bytes: int) -> bytes:
    body = bytearray()
    async for chunk in response.aiter_bytes():  # decoded: a compressed bomb is caught too
        body += chunk
        if len(body) > max_bytes:
            raise PageError(
                url, f"page larger than {_size(max_bytes)}", status=response.status_code
            )
    return bytes(body)


def _looks_like_html(body: bytes) -> bool:
    start = body[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return start.startswith((b"<!doctype html", b"<html", b"<head", b"<!--"))


def _size(n: int) -> str:
    for unit, factor in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if n >= factor and n % factor == 0:
            return f"{n // factor} {unit}"
    return f"{n} bytes"


def _standard_phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""


def _transport_reason(url: str, e: httpx.HTTPError) -> str:
    """Why no page came, in words the editor who asked for it can act on."""
    if isinstance(e, httpx.TimeoutException):
        return "timed out"
    if isinstance(e, httpx.TooManyRedirects):
        return "too many redirects"
    if isinstance(e, httpx.UnsupportedProtocol):
        return "redirected to a URL that is not http(s)"
    if isinstance(e, httpx.ConnectError):
        cause: BaseException | None = e
        while cause is not None:
            if isinstance(cause, socket.gaierror):
                return f"DNS lookup failed for {urlsplit(url).hostname}"
            if isinstance(cause, ConnectionRefusedError):
                return "connection refused"
            cause = cause.__cause__ or cause.__context__
        return f"could not connect: {e}"
    return f"{type(e).__name__}: {e}"
