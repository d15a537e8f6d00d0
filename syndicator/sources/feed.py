"""RSS and Atom feeds: fetched over HTTP (conditional GET) or from a file, read into entries.

``fetch_feed`` is the source stage for one poll: it returns the feed's entries as ``FeedEntry``
records (plain text, absolute URLs, UTC times) with notes on what it had to skip or repair,
or raises ``FeedError`` saying why there is nothing to read. Parsing is CPU-bound: only the
fast path's few milliseconds run on the event loop, feedparser in a worker thread. Given the
fingerprints of the items it read last time (``known``), it leaves out the items that have
not changed.
"""

from __future__ import annotations

import asyncio
import http
import socket
from collections.abc import Container, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

import httpx

from syndicator import __version__
from syndicator.errors import FeedError
from syndicator.records import FeedEntry
from syndicator.sources.parse import ParsedFeed, parse_fast, parse_feed, parse_with_feedparser

MAX_BYTES = 10 * 1024 * 1024
INLINE_BYTES = 512 * 1024  # the largest document the fast path reads on the event loop
USER_AGENT = f"syndicator/{__version__} (+https://github.com/syndicator-news/syndicator)"


NOTHING = ParsedFeed(())


@dataclass(frozen=True, slots=True)
class FeedFetch:
    """What one poll of a feed found."""

    not_modified: bool  # True on HTTP 304: nothing parsed
    etag: str | None  # to send next time (If-None-Match)
    last_modified: str | None  # to send next time (If-Modified-Since)
    status: int | None  # HTTP status; None for a local file
    feed: ParsedFeed = NOTHING  # entries, notes and links; empty when not modified

    @property
    def entries(self) -> tuple[FeedEntry, ...]:
        """In the feed's own order."""
        return self.feed.entries

    @property
    def problems(self) -> tuple[str, ...]:
        """Notes for the feed's health page: what was skipped or repaired."""
        return self.feed.problems


def http_client(
    *, connect_timeout: float = 10.0, read_timeout: float = 30.0, max_connections: int = 100
) -> httpx.AsyncClient:
    """The one client every feed is fetched with; the caller closes it."""
    return httpx.AsyncClient(
        headers={"User-Agent": USER_AGENT},
        timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
        limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=20),
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
    max_bytes: int = MAX_BYTES,
    known: Container[bytes] = frozenset(),
) -> FeedFetch:
    """Read the feed at ``location``: an http(s) URL, a ``file:`` URL or a local path.

    ``etag`` and ``last_modified`` are the previous fetch's, for a conditional GET; a local
    file is always read in full. A body over ``max_bytes`` (after decompression) is refused.
    Items whose fingerprint is in ``known`` (``ParsedFeed.item_digests`` of the previous
    fetch) are left out of the entries.
    """
    scheme = urlsplit(location).scheme.lower()
    if scheme in ("http", "https"):
        return await _fetch_http(client, location, etag, last_modified, max_bytes, known)
    if scheme == "file" or len(scheme) <= 1:  # one letter: a Windows drive
        content, base_url = await asyncio.to_thread(_read_file, location)
        feed = await _parse(location, content, base_url, None, None, known)
        return FeedFetch(False, None, None, None, feed)
    raise FeedError(location, f"unsupported scheme {scheme!r}: only http(s) and files are read")


async def _fetch_http(
    client: httpx.AsyncClient,
    url: str,
    etag: str | None,
    last_modified: str | None,
    max_bytes: int,
    known: Container[bytes],
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
                # Read the (empty) body to its end: a response left unread closes its
                # connection, and most polls are 304s (docs/benchmarks.md).
                await response.aread()
                # A 304 may omit the validators; the ones sent are still the current ones.
                etag = response.headers.get("ETag", etag)
                last_modified = response.headers.get("Last-Modified", last_modified)
                return FeedFetch(True, etag, last_modified, status)
            if not 200 <= status < 300:
                phrase = response.reason_phrase or _standard_phrase(status)
                wait = retry_after(response.headers.get("Retry-After"))
                reason = f"HTTP {status} {phrase}".strip()
                if wait is not None:
                    reason += f" (asked to retry after {wait:.0f} s)"
                raise FeedError(url, reason, status=status, retry_after=wait)
            content = await _read_capped(response, url, max_bytes)
    except httpx.HTTPError as e:
        raise FeedError(url, _transport_reason(url, e)) from e
    except httpx.InvalidURL as e:
        raise FeedError(url, f"invalid URL: {e}") from e
    base_url = str(response.url)  # after redirects: relative links are relative to this
    content_type = response.headers.get("Content-Type")
    feed = await _parse(url, content, base_url, content_type, status, known)
    etag, last_modified = response.headers.get("ETag"), response.headers.get("Last-Modified")
    return FeedFetch(False, etag, last_modified, status, feed)


def retry_after(header: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date."""
    if not header:
        return None
    value = header.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


async def _read_capped(response: httpx.Response, url: str, max_bytes: int) -> bytes:
    """The body, refused as soon as it is known to exceed ``max_bytes``: no feed is that big."""
    too_large = f"response larger than {_size(max_bytes)}"
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise FeedError(url, too_large, status=response.status_code)
    body = bytearray()
    async for chunk in response.aiter_bytes():  # decoded: a gzip bomb is caught here too
        body += chunk
        if len(body) > max_bytes:
            raise FeedError(url, too_large, status=response.status_code)
    return bytes(body)


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:g} MiB" if n >= 1024 * 1024 else f"{n / 1024:g} KiB"


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


async def _parse(
    location: str,
    content: bytes,
    base_url: str,
    content_type: str | None,
    status: int | None,
    known: Container[bytes],
) -> ParsedFeed:
    """The fast path on the event loop, feedparser in a worker thread.

    A news feed whose items are mostly known takes the fast path a millisecond or two, less
    than handing it to a thread costs: the worker and the loop then take turns with the GIL.
    feedparser can take a second on a big feed, so it never runs on the loop; nor does the
    fast path for a document over ``INLINE_BYTES``.
    """
    try:
        if len(content) <= INLINE_BYTES:
            fast = parse_fast(content, base_url=base_url, content_type=content_type, known=known)
            if fast is not None:
                return fast
            return await asyncio.to_thread(
                parse_with_feedparser,
                content,
                base_url=base_url,
                content_type=content_type,
                known=known,
            )
        return await asyncio.to_thread(
            parse_feed, content, base_url=base_url, content_type=content_type, known=known
        )
    except FeedError as e:  # named by the URL it was fetched from, not the one it ended at
        raise FeedError(location, e.reason, status=status) from e


__all__ = ["FeedFetch", "ParsedFeed", "fetch_feed", "http_client", "parse_feed"]
