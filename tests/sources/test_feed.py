"""Feeds served over real HTTP on 127.0.0.1, read the way the poller reads them."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from syndicator.errors import FeedError
from syndicator.serving import ThreadedServer
from syndicator.sources import FeedFetch, fetch_feed, http_client, parse_feed

RSS_HEAD = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"
     xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>
<title>The Daily Example</title><link>https://news.example.com/</link>"""
RSS_TAIL = "</channel></rss>"


def rss(items: str) -> bytes:
    return f"{RSS_HEAD}{items}{RSS_TAIL}".encode()


@dataclass
class Page:
    body: bytes
    content_type: str = "application/rss+xml"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    chunks: int = 1  # the body is sent this many times over, streamed


class FeedSite:
    """A web site that serves the pages a test puts on it and remembers the requests it got."""

    def __init__(self) -> None:
        self.pages: dict[str, Page] = {}
        self.requests: list[Request] = []
        self.app = Starlette(routes=[Route("/{path:path}", self._serve)])
        self.url = ""

    async def _serve(self, request: Request) -> Response:
        self.requests.append(request)
        page = self.pages.get(request.url.path)
        if page is None:
            return Response("no such page", status_code=404)
        if page.delay:
            await asyncio.sleep(page.delay)
        etag, modified = page.headers.get("ETag"), page.headers.get("Last-Modified")
        if (etag and request.headers.get("If-None-Match") == etag) or (
            modified and request.headers.get("If-Modified-Since") == modified
        ):
            return Response(status_code=304, headers=page.headers)
        if page.chunks > 1:
            return StreamingResponse(self._stream(page), media_type=page.content_type)
        return Response(page.body, page.status, page.headers, media_type=page.content_type)

    @staticmethod
    async def _stream(page: Page) -> AsyncIterator[bytes]:
        for _ in range(page.chunks):
            yield page.body

    def put(self, path: str, page: Page) -> str:
        self.pages[path] = page
        return f"{self.url}{path}"


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[ThreadedServer, FeedSite]]:
    site = FeedSite()
    with ThreadedServer(site.app) as served:
        site.url = served.url
        yield served, site


@pytest.fixture
def site(server: tuple[ThreadedServer, FeedSite]) -> FeedSite:
    site = server[1]
    site.pages.clear()
    site.requests.clear()
    return site


def fetch(
    location: str,
    client: httpx.AsyncClient | None = None,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
) -> FeedFetch:
    async def run() -> FeedFetch:
        async with client or http_client() as c:
            return await fetch_feed(c, location, etag=etag, last_modified=last_modified)

    return asyncio.run(run())


def feed_error(location: str, client: httpx.AsyncClient | None = None) -> FeedError:
    with pytest.raises(FeedError) as caught:
        fetch(location, client)
    return caught.value


def test_rss_items_become_entries_with_plain_text_and_utc_times(site: FeedSite) -> None:
    feed = rss("""
        <item><title>Rates rise &amp; markets fall</title>
          <link>https://news.example.com/2025/01/rates</link>
          <guid isPermaLink="false">story-1</guid>
          <description>&lt;p&gt;The bank moved.&lt;/p&gt;
            &lt;p&gt;Again &amp;amp; again.&lt;/p&gt;</description>
          <pubDate>Mon, 06 Jan 2025 10:00:00 +0200</pubDate>
          <category>Economy</category><category> Markets </category><category>Economy</category>
          <dc:creator>Ann Writer</dc:creator>
          <media:content url="https://cdn.example.com/rates.jpg" medium="image"/>
        </item>
        <item><title>Second story</title><link>https://news.example.com/2025/01/second</link>
          <enclosure url="https://cdn.example.com/second.png" type="image/png" length="10"/>
        </item>""")
    url = site.put("/rss.xml", Page(feed))

    result = fetch(url)

    first, second = result.entries
    assert (first.title, first.url, first.guid) == (
        "Rates rise & markets fall", "https://news.example.com/2025/01/rates", "story-1",
    )  # fmt: skip
    assert first.summary == "The bank moved.\n\nAgain & again."
    assert first.published == datetime(2025, 1, 6, 8, 0, tzinfo=UTC)
    assert first.categories == ("Economy", "Markets")
    assert first.image_url == "https://cdn.example.com/rates.jpg"
    assert first.author == "Ann Writer"
    assert second.title == "Second story"
    assert second.image_url == "https://cdn.example.com/second.png"
    assert second.guid == second.url  # no guid: the link stands in for it
    assert (result.status, result.not_modified, result.problems) == (200, False, ())


def test_atom_entries_become_entries(site: FeedSite) -> None:
    feed = b"""<?xml version="1.0" encoding="utf-8"?>
        <feed xmlns="http://www.w3.org/2005/Atom"><title>Example Atom</title>
        <id>urn:feed</id><updated>2025-03-01T12:00:00Z</updated>
        <entry><title type="html">Storm &lt;em&gt;warning&lt;/em&gt;</title><id>urn:story:9</id>
          <link rel="alternate" href="https://news.example.com/storm"/>
          <link rel="enclosure" type="image/jpeg" href="https://cdn.example.com/storm.jpg"/>
          <updated>2025-03-01T09:30:00-05:00</updated>
          <summary type="html">&lt;p&gt;Winds of &lt;b&gt;100 km/h&lt;/b&gt;.&lt;/p&gt;</summary>
          <category term="Weather"/><author><name>Bo Reporter</name></author>
        </entry></feed>"""
    url = site.put("/atom.xml", Page(feed, content_type="application/atom+xml"))

    (entry,) = fetch(url).entries

    assert entry.title == "Storm warning"
    assert entry.guid == "urn:story:9"
    assert entry.url == "https://news.example.com/storm"
    assert entry.summary == "Winds of 100 km/h."
    assert entry.published == datetime(2025, 3, 1, 14, 30, tzinfo=UTC)  # updated, as UTC
    assert entry.categories == ("Weather",)
    assert entry.image_url == "https://cdn.example.com/storm.jpg"
    assert entry.author == "Bo Reporter"


def test_second_fetch_with_the_validators_is_not_modified(site: FeedSite) -> None:
    validators = {"ETag": '"v1"', "Last-Modified": "Mon, 06 Jan 2025 08:00:00 GMT"}
    feed = rss("<item><link>https://e.com/a</link></item>")
    url = site.put("/cond.xml", Page(feed, headers=validators))

    first = fetch(url)
    second = fetch(url, etag=first.etag or "", last_modified=first.last_modified or "")

    assert (first.etag, first.last_modified) == ('"v1"', "Mon, 06 Jan 2025 08:00:00 GMT")
    assert len(first.entries) == 1
    assert site.requests[1].headers["If-None-Match"] == '"v1"'
    assert site.requests[1].headers["If-Modified-Since"] == "Mon, 06 Jan 2025 08:00:00 GMT"
    assert (second.not_modified, second.status, second.entries) == (True, 304, ())
    assert second.etag == '"v1"'


def test_polls_answered_304_keep_reusing_one_connection(site: FeedSite) -> None:
    """Most polls are 304s: each must leave its connection open for the next fetch."""
    feed = rss("<item><link>https://e.com/a</link></item>")
    url = site.put("/keepalive.xml", Page(feed, headers={"ETag": '"k1"'}))

    async def run() -> list[bool]:
        async with http_client() as client:
            fetches = [await fetch_feed(client, url, etag='"k1"') for _ in range(4)]
        return [fetched.not_modified for fetched in fetches]

    assert asyncio.run(run()) == [True] * 4
    ports = {request.client.port for request in site.requests if request.client}
    assert len(site.requests) == 4 and len(ports) == 1


def test_last_modified_alone_gets_not_modified(site: FeedSite) -> None:
    stamp = "Tue, 07 Jan 2025 08:00:00 GMT"
    url = site.put("/lm.xml", Page(rss(""), headers={"Last-Modified": stamp}))

    result = fetch(url, last_modified=stamp)

    assert result.not_modified
    assert "If-None-Match" not in site.requests[0].headers


def test_relative_links_resolve_against_the_feed_url(site: FeedSite) -> None:
    feed = rss("""
        <item><title>Local</title><link>../2025/local-story</link>
          <media:thumbnail url="/images/local.jpg"/></item>""")
    url = site.put("/news/feeds/main.xml", Page(feed))

    (entry,) = fetch(url).entries

    assert entry.url == f"{site.url}/news/2025/local-story"
    assert entry.image_url == f"{site.url}/images/local.jpg"


def test_relative_links_resolve_against_the_url_a_redirect_led_to(site: FeedSite) -> None:
    site.put("/desk/feed.xml", Page(rss("<item><link>story</link></item>")))
    old = site.put("/old-feed", Page(b"", status=301, headers={"Location": "/desk/feed.xml"}))

    (entry,) = fetch(old).entries

    assert entry.url == f"{site.url}/desk/story"


def test_html_in_titles_becomes_plain_text(site: FeedSite) -> None:
    feed = rss("""
        <item><title>&lt;b&gt;Breaking:&lt;/b&gt; bonds &amp;amp; &lt;i&gt;gilts&lt;/i&gt;</title>
          <link>https://e.com/a</link></item>
        <item><title><![CDATA[<span class="kicker">Live</span> Election night]]></title>
          <link>https://e.com/b</link></item>""")
    url = site.put("/html-title.xml", Page(feed))

    titles = [entry.title for entry in fetch(url).entries]

    assert titles == ["Breaking: bonds & gilts", "Live Election night"]


def test_a_plain_text_title_keeps_what_looks_like_a_tag(site: FeedSite) -> None:
    feed = rss("""
        <item><title>Why the &lt;script&gt; tag still matters</title>
          <link>https://e.com/a</link></item>""")
    url = site.put("/plain.xml", Page(feed))

    (entry,) = fetch(url).entries

    assert entry.title == "Why the <script> tag still matters"


def test_entry_without_link_is_skipped_with_a_note(site: FeedSite) -> None:
    feed = rss("""
        <item><title>One</title><link>https://e.com/1</link></item>
        <item><title>Two</title><guid isPermaLink="false">two-guid</guid></item>
        <item><title>Three</title><link>mailto:desk@e.com</link></item>
        <item><title>Four</title><link>https://e.com/4</link></item>""")
    url = site.put("/nolink.xml", Page(feed))

    result = fetch(url)

    assert [entry.title for entry in result.entries] == ["One", "Four"]
    assert result.problems == (
        "entry 2 (guid two-guid) has no link: skipped",
        "entry 3 (title 'Three') has a link that is not http(s) ('mailto:desk@e.com'): skipped",
    )


def test_entry_without_title_takes_its_title_from_the_summary(site: FeedSite) -> None:
    words = " ".join(f"word{n}" for n in range(60))
    feed = rss(f"""
        <item><link>https://e.com/1</link><description>{words}</description></item>""")
    url = site.put("/notitle.xml", Page(feed))

    (entry,) = fetch(url).entries

    assert entry.title.startswith("word0 word1 ")
    assert entry.title.endswith("…") and len(entry.title) <= 120


def test_malformed_feed_that_can_be_recovered_still_gives_its_entries(site: FeedSite) -> None:
    feed = rss("""
        <item><title>Fish & chips</title><link>https://e.com/fish</link></item>
        <item><title>Second<br></title><link>https://e.com/second</link></item>""")
    url = site.put("/broken.xml", Page(feed))

    result = fetch(url)

    assert [entry.url for entry in result.entries] == ["https://e.com/fish", "https://e.com/second"]
    assert len(result.problems) == 1
    assert result.problems[0].startswith("feed is not well-formed XML (recovered): ")


def test_html_page_is_not_a_feed(site: FeedSite) -> None:
    url = site.put("/index.html", Page(
        b"<!doctype html><html><head><title>Home</title></head><body><p>Hi</body></html>",
        content_type="text/html; charset=utf-8",
    ))  # fmt: skip

    error = feed_error(url)

    assert error.feed == url
    assert error.reason.startswith("not a feed: ")
    assert url in str(error)


def test_http_500_raises_feed_error_with_the_status(site: FeedSite) -> None:
    url = site.put("/down.xml", Page(b"oops", status=500))

    error = feed_error(url)

    assert (error.feed, error.status) == (url, 500)
    assert error.reason == "HTTP 500 Internal Server Error"


def test_missing_feed_raises_feed_error_with_404(site: FeedSite) -> None:
    error = feed_error(f"{site.url}/nowhere.xml")

    assert error.status == 404
    assert error.reason == "HTTP 404 Not Found"


def test_refused_connection_raises_feed_error() -> None:
    with socket.socket() as bound:  # bound but not listening: connections are refused
        bound.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{bound.getsockname()[1]}/feed.xml"

        error = feed_error(url)

    assert (error.feed, error.reason, error.status) == (url, "connection refused", None)


def test_slow_server_raises_feed_error_on_timeout(site: FeedSite) -> None:
    url = site.put("/slow.xml", Page(rss(""), delay=0.5))

    error = feed_error(url, httpx.AsyncClient(timeout=0.1))

    assert error.reason == "timed out waiting for the server"


def test_response_over_10_mib_is_refused(site: FeedSite) -> None:
    url = site.put("/huge.xml", Page(b"x" * (1024 * 1024), chunks=11))

    error = feed_error(url)

    assert error.reason == "response larger than 10 MiB"


def test_requests_name_syndicator_as_the_user_agent(site: FeedSite) -> None:
    url = site.put("/ua.xml", Page(rss("")))

    fetch(url)

    assert site.requests[0].headers["User-Agent"].startswith("syndicator/")


def test_local_file_path_and_file_url_both_work(tmp_path: Path) -> None:
    path = tmp_path / "feed.xml"
    path.write_bytes(rss("<item><title>Café</title><link>https://e.com/cafe</link></item>"))

    by_path, by_url = fetch(str(path)), fetch(path.as_uri())

    assert by_path == by_url
    assert [entry.title for entry in by_path.entries] == ["Café"]
    assert (by_path.status, by_path.etag, by_path.problems) == (None, None, ())


def test_missing_local_file_raises_feed_error(tmp_path: Path) -> None:
    missing = str(tmp_path / "absent.xml")

    error = feed_error(missing)

    assert (error.feed, error.reason) == (missing, "file not found")


def test_video_media_content_is_not_taken_for_the_picture() -> None:
    feed = rss("""
        <item><link>https://e.com/clip</link>
          <media:content url="https://cdn.e.com/clip.mp4" type="video/mp4"/>
          <media:content url="https://cdn.e.com/clip.jpg" type="image/jpeg"/>
        </item>""")

    entries = parse_feed(feed, base_url="https://e.com/feed.xml").entries

    assert entries[0].image_url == "https://cdn.e.com/clip.jpg"


def test_feed_body_that_looks_like_a_path_is_parsed_not_opened(tmp_path: Path) -> None:
    secret = tmp_path / "secret.xml"
    secret.write_bytes(rss("<item><link>https://e.com/leaked</link></item>"))

    with pytest.raises(FeedError, match="not a feed"):
        parse_feed(str(secret).encode(), base_url="https://e.com/feed.xml")
