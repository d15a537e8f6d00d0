"""An article read from its web page: parsed from HTML, and fetched over HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import socket
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from syndicator.errors import PageError
from syndicator.records import FeedEntry
from syndicator.serving import ThreadedServer
from syndicator.sources.page import PageArticle, article_from_html, article_from_url

STORY_URL = "https://eurasiadiary.com/news/2026/03/baku-tbilisi-green-corridor"

# A small English-language news agency's article page, chrome and all.
AGENCY_PAGE = """<!DOCTYPE html>
<html lang="en"><head>
<meta charset="utf-8">
<title>Baku and Tbilisi sign green corridor deal | EurasiaDiary</title>
<meta name="description" content="The two capitals agreed on Tuesday to link their power
  grids by 2029, officials said.">
<link rel="canonical" href="/news/2026/03/baku-tbilisi-green-corridor">
<meta property="og:type" content="article">
<meta property="og:site_name" content="EurasiaDiary">
<meta property="og:image" content="/uploads/2026/03/grid.jpg">
<meta property="article:section" content="Politics">
<meta property="article:tag" content="Energy">
<meta property="article:tag" content="Georgia">
<meta name="twitter:card" content="summary_large_image">
<meta name="twitter:description"
      content="© 2026 EurasiaDiary — must be hyperlinked when used">
<script type="application/ld+json">
{"@context": "https://schema.org", "@type": "NewsArticle",
 "headline": "Baku &amp; Tbilisi sign &#8216;green corridor&#8217; deal",
 "datePublished": "2026-03-03T14:05:00+04:00",
 "author": {"@type": "Person", "name": "Leyla Aliyeva"},
 "publisher": {"@type": "Organization", "name": "EurasiaDiary",
               "logo": {"@type": "ImageObject", "url": "https://eurasiadiary.com/logo.png"}},
 "keywords": "energy, Azerbaijan"}
</script>
</head><body>
<header>
  <div class="top">Follow us: <a href="https://x.com/eurasiadiary">X</a>
    <a href="https://t.me/eurasiadiary">Telegram</a> · Tel.: +994 12 505 50 50</div>
  <div class="font-size">A A A</div>
  <nav><a href="/politics">Politics</a> <a href="/economy">Economy</a></nav>
</header>
<main>
  <div class="notice">Report a mistake by marking it and pressing Ctrl+Enter</div>
  <article>
    <h1>Baku and Tbilisi sign green corridor deal</h1>
    <time datetime="2026-03-03T14:05">3 March 2026, 14:05</time>
    <p>Azerbaijan and Georgia agreed on Tuesday to link their power grids by 2029.</p>
    <p>The line will carry electricity from the Caspian to the Black Sea.</p>
  </article>
</main>
<footer>© 2026 EurasiaDiary — must be hyperlinked when used. All rights reserved.</footer>
</body></html>"""


def page(head: str, body: str = "") -> str:
    return f"<!DOCTYPE html><html><head>{head}</head><body>{body}</body></html>"


def ld(data: object) -> str:
    return f'<script type="application/ld+json">{json.dumps(data)}</script>'


def test_news_agency_page_gives_every_field_and_none_of_its_chrome() -> None:
    article = article_from_html(AGENCY_PAGE.encode(), url=f"{STORY_URL}?utm_source=telegram")

    assert article == PageArticle(
        entry=FeedEntry(
            guid=STORY_URL,
            url=STORY_URL,
            title="Baku & Tbilisi sign ‘green corridor’ deal",
            summary="The two capitals agreed on Tuesday to link their power grids by 2029, "
            "officials said.",
            published=datetime(2026, 3, 3, 10, 5, tzinfo=UTC),
            categories=("Politics", "Energy", "Georgia", "Azerbaijan"),
            image_url="https://eurasiadiary.com/uploads/2026/03/grid.jpg",
            author="Leyla Aliyeva",
        ),
        section="Politics",
        site_name="EurasiaDiary",
        sources={
            "site_name": "json-ld",
            "title": "json-ld",
            "url": "<link rel=canonical>",
            "section": "article:section",
            "summary": "meta description",
            "published": "json-ld",
            "image": "og:image",
            "author": "json-ld",
        },
    )


def test_page_with_only_the_html_head_still_gives_an_article() -> None:
    html = page(
        """<title>Ferry service resumes - Caspian Courier</title>
        <meta name="application-name" content="Caspian Courier">
        <meta name="description" content="Boats sail again after the storm.">
        <meta name="author" content="By Rauf Mammadov">
        <link rel="canonical" href="https://courier.example/ferry">""",
        '<article><time datetime="2026-03-02T09:15">9:15</time><p>Text.</p></article>',
    )

    article = article_from_html(html, url="https://courier.example/ferry?ref=home")

    assert article.entry == FeedEntry(
        guid="https://courier.example/ferry",
        url="https://courier.example/ferry",
        title="Ferry service resumes",
        summary="Boats sail again after the storm.",
        published=datetime(2026, 3, 2, 9, 15, tzinfo=UTC),  # no zone given: UTC
        author="Rauf Mammadov",
    )
    assert (article.section, article.site_name) == (None, "Caspian Courier")
    assert article.sources["published"] == "<time datetime>"


def test_json_ld_in_a_graph_with_references_is_read() -> None:
    base = "https://news.example.com"
    graph = {
        "@context": "https://schema.org",
        "@graph": [
            {"@type": "WebPage", "@id": f"{base}/a/#webpage", "url": f"{base}/a/"},
            {"@type": "ImageObject", "@id": f"{base}/a/#image", "url": f"{base}/img/a.webp"},
            {"@type": "Person", "@id": f"{base}/#ann", "name": "Ann Writer"},
            {"@type": "Organization", "@id": f"{base}/#org", "name": "The Daily Example"},
            {
                "@type": ["NewsArticle"],
                "headline": "Council approves the new bridge",
                "description": "A vote of 31 to 4.",
                "mainEntityOfPage": {"@id": f"{base}/a/#webpage"},
                "image": {"@id": f"{base}/a/#image"},
                "author": [{"@id": f"{base}/#ann"}, {"@type": "Person", "name": "Bo Li"}],
                "publisher": {"@id": f"{base}/#org"},
                "datePublished": "2026-01-05T08:00:00Z",
                "articleSection": ["City", "Transport"],
                "keywords": ["bridges", "council"],
            },
        ],
    }

    article = article_from_html(page(ld(graph)), url=f"{base}/a/?amp=1")

    assert article.entry == FeedEntry(
        guid=f"{base}/a/",
        url=f"{base}/a/",
        title="Council approves the new bridge",
        summary="A vote of 31 to 4.",
        published=datetime(2026, 1, 5, 8, 0, tzinfo=UTC),
        categories=("City", "bridges", "council"),
        image_url=f"{base}/img/a.webp",
        author="Ann Writer, Bo Li",
    )
    assert (article.section, article.site_name) == ("City", "The Daily Example")


def test_boilerplate_og_title_and_description_fall_back_to_the_next_source() -> None:
    html = page("""
        <meta property="og:title"
              content="Report a mistake by marking it and pressing Ctrl+Enter">
        <meta name="twitter:title" content="Wheat harvest beats forecasts">
        <meta property="og:description" content="Follow us on Telegram and Facebook">
        <meta name="description" content="Farmers gathered 3.4 million tonnes.">""")

    article = article_from_html(html, url="https://e.com/wheat")

    assert (article.entry.title, article.entry.summary) == (
        "Wheat harvest beats forecasts",
        "Farmers gathered 3.4 million tonnes.",
    )
    assert (article.sources["title"], article.sources["summary"]) == (
        "twitter:title",
        "meta description",
    )


@pytest.mark.parametrize(
    "chrome",
    [
        "Follow us",
        "Call +994 12 505 50 50",
        "A A A",
        "A- A A+",
        "Font size",
        "© 2026 EurasiaDiary — must be hyperlinked when used",
        "Copyright 2026 EurasiaDiary. All rights reserved.",
        "Active hyperlink to the source is required",
        "We use cookies to improve your experience",
        "Subscribe to our newsletter",
        "Share on Facebook",
    ],
)
def test_site_chrome_never_becomes_the_title_or_summary(chrome: str) -> None:
    html = page(f"""<meta property="og:title" content="{chrome}">
        <meta property="og:description" content="{chrome}">
        <title>Flights to Tashkent resume</title>""")

    entry = article_from_html(html, url="https://e.com/flights").entry

    assert (entry.title, entry.summary) == ("Flights to Tashkent resume", "")


@pytest.mark.parametrize(
    "title",
    [
        "EU copyright reform passes its final vote",
        "Electric cars' market share doubles",
        "Population passes 10,000,000 for the first time",
        "Grain exports rose 12% in 2025-2026",
        "Investors follow the central bank's lead",
    ],
)
def test_real_titles_that_resemble_chrome_are_kept(title: str) -> None:
    entry = article_from_html(page(f'<meta property="og:title" content="{title}">'), url=STORY_URL)

    assert entry.entry.title == title


def test_body_text_is_never_the_summary_and_the_article_h1_is_the_last_resort_title() -> None:
    html = page(
        "<title>Follow us</title>",
        "<header><h1>EurasiaDiary</h1></header>"
        "<article><h1>Snow closes the <em>mountain</em> pass</h1><p>Roads shut.</p></article>",
    )

    article = article_from_html(html, url="https://e.com/snow")

    assert (article.entry.title, article.entry.summary) == ("Snow closes the mountain pass", "")
    assert article.sources["title"] == "<h1>"


def test_page_without_any_usable_title_is_an_error() -> None:
    html = page("<title>© 2026 EurasiaDiary</title>", "<p>Report a mistake: Ctrl+Enter</p>")

    with pytest.raises(PageError) as caught:
        article_from_html(html, url="https://e.com/empty")

    assert (caught.value.url, caught.value.reason) == ("https://e.com/empty", "no title found")


def test_relative_og_image_is_resolved_against_the_page_url() -> None:
    html = page('<meta property="og:title" content="T"><meta property="og:image" content="a.jpg">')

    entry = article_from_html(html, url="https://e.com/news/2026/story").entry

    assert entry.image_url == "https://e.com/news/2026/a.jpg"


def test_canonical_url_that_is_not_http_falls_back_to_the_final_url() -> None:
    html = page("""<title>T</title><meta property="og:url" content="javascript:void(0)">
        <link rel="canonical" href="ftp://e.com/story">""")

    article = article_from_html(html, url="https://e.com/story#comments")

    assert (article.entry.url, article.entry.guid) == ("https://e.com/story",) * 2
    assert article.sources["url"] == "final URL"


def test_profile_url_in_article_author_is_not_a_byline() -> None:
    html = page("""<title>T</title>
        <meta property="article:author" content="https://www.facebook.com/eurasiadiary">
        <meta name="author" content="Nigar Huseynova">""")

    assert article_from_html(html, url=STORY_URL).entry.author == "Nigar Huseynova"


def test_unparseable_date_falls_back_and_broken_json_ld_is_skipped() -> None:
    html = page("""<title>T</title>
        <script type="application/ld+json">{"@type": "NewsArticle", "headline": </script>
        <script type="application/ld+json">{"@type": "Article", "datePublished": "soon"}</script>
        <meta property="article:published_time" content="2026-02-01T23:30:00-05:00">""")

    article = article_from_html(html, url=STORY_URL)

    assert article.entry.title == "T"
    assert article.entry.published == datetime(2026, 2, 2, 4, 30, tzinfo=UTC)


def test_site_name_alone_is_not_a_title() -> None:
    html = page("""<meta property="og:site_name" content="EurasiaDiary">
        <meta property="og:title" content="EurasiaDiary">
        <title>EurasiaDiary — Ganja hosts the chess olympiad</title>""")

    article = article_from_html(html, url=STORY_URL)

    assert (article.entry.title, article.sources["title"]) == (
        "Ganja hosts the chess olympiad",
        "<title>",
    )


# --- fetched over HTTP ------------------------------------------------------------------


@dataclass
class Page:
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    chunks: int = 1  # >1: the body is streamed this many times over, without Content-Length


class Site:
    """A web site serving the pages a test puts on it; counts the requests for each path."""

    def __init__(self) -> None:
        self.pages: dict[str, Page] = {}
        self.hits: Counter[str] = Counter()
        self.app = Starlette(routes=[Route("/{path:path}", self._serve)])
        self.url = ""

    async def _serve(self, request: Request) -> Response:
        self.hits[request.url.path] += 1
        found = self.pages.get(request.url.path)
        if found is None:
            return Response("<h1>Not here</h1>", status_code=404, media_type="text/html")
        if found.delay:
            await asyncio.sleep(found.delay)
        if found.chunks > 1:
            return StreamingResponse(self._stream(found), media_type=found.content_type)
        return Response(found.body, found.status, found.headers, media_type=found.content_type)

    @staticmethod
    async def _stream(found: Page) -> AsyncIterator[bytes]:
        for _ in range(found.chunks):
            yield found.body

    def put(self, path: str, found: Page) -> str:
        self.pages[path] = found
        return f"{self.url}{path}"

    def redirect(self, path: str, to: str) -> str:
        return self.put(path, Page(status=301, headers={"Location": to}))


@pytest.fixture(scope="module")
def server() -> Iterator[Site]:
    site = Site()
    with ThreadedServer(site.app) as served:
        site.url = served.url
        yield site


@pytest.fixture
def site(server: Site) -> Site:
    server.pages.clear()
    server.hits.clear()
    return server


def fetch(url: str, client: httpx.AsyncClient | None = None, **options: int) -> PageArticle:
    async def run() -> PageArticle:
        async with client or httpx.AsyncClient() as c:
            return await article_from_url(c, url, **options)

    return asyncio.run(run())


def page_error(url: str, client: httpx.AsyncClient | None = None, **options: int) -> PageError:
    with pytest.raises(PageError) as caught:
        fetch(url, client, **options)
    return caught.value


def test_fetched_page_is_read_at_the_url_its_redirects_lead_to(site: Site) -> None:
    site.put("/news/1", Page(page("<title>Ferry resumes</title>", '<img src="x.png">').encode()))
    start = site.redirect("/n/1", "/news/1")

    article = fetch(start)

    assert (article.entry.url, article.entry.title) == (f"{site.url}/news/1", "Ferry resumes")


def test_five_redirects_are_followed(site: Site) -> None:
    site.put("/end", Page(page("<title>Arrived</title>").encode()))
    for n in range(5):
        site.redirect(f"/r{n}", f"/r{n + 1}" if n < 4 else "/end")

    assert fetch(f"{site.url}/r0").entry.title == "Arrived"


def test_redirect_loop_is_an_error_after_five_redirects(site: Site) -> None:
    start = site.redirect("/loop-a", "/loop-b")
    site.redirect("/loop-b", "/loop-a")

    error = page_error(start, httpx.AsyncClient(max_redirects=50))

    assert (error.url, error.reason) == (start, "too many redirects")
    assert site.hits["/loop-a"] + site.hits["/loop-b"] == 6


@pytest.mark.parametrize("content_type", ["application/pdf", "image/png"])
def test_page_that_is_not_html_is_an_error(site: Site, content_type: str) -> None:
    url = site.put("/file", Page(b"%PDF-1.7 \x00\x01", content_type=content_type))

    error = page_error(url)

    assert (error.reason, error.status) == (f"not an HTML page ({content_type})", 200)


def test_page_over_5_mib_is_refused_while_streaming(site: Site) -> None:
    url = site.put("/huge", Page(b"<p>" + b"x" * (1024 * 1024), chunks=6))

    error = page_error(url)

    assert error.reason == "page larger than 5 MiB"


def test_page_over_a_smaller_cap_says_that_cap(site: Site) -> None:
    url = site.put("/big", Page(page("<title>T</title>", "x" * 70_000).encode()))

    assert page_error(url, max_bytes=64 * 1024).reason == "page larger than 64 KiB"


def test_slow_server_is_a_timeout(site: Site) -> None:
    url = site.put("/slow", Page(page("<title>T</title>").encode(), delay=0.5))

    error = page_error(url, httpx.AsyncClient(timeout=0.1))

    assert error.reason == "timed out"


def test_missing_page_is_an_http_error(site: Site) -> None:
    error = page_error(f"{site.url}/gone")

    assert (error.reason, error.status) == ("HTTP 404 Not Found", 404)


def test_refused_connection_is_an_error() -> None:
    with socket.socket() as bound:  # bound but not listening: connections are refused
        bound.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{bound.getsockname()[1]}/story"

        error = page_error(url)

    assert (error.url, error.reason, error.status) == (url, "connection refused", None)


def test_fetched_page_without_a_title_names_the_url_asked_for(site: Site) -> None:
    site.put("/blank", Page(page("", "<p>Follow us</p>").encode()))
    start = site.redirect("/b", "/blank")

    error = page_error(start)

    assert (error.url, error.reason, error.status) == (start, "no title found", 200)


def test_charset_from_the_http_header_decodes_the_page(site: Site) -> None:
    body = page("<title>Новости Баку</title>").encode("windows-1251")
    url = site.put("/ru", Page(body, content_type="text/html; charset=windows-1251"))

    assert fetch(url).entry.title == "Новости Баку"


def test_redirect_to_a_url_that_is_not_http_is_an_error(site: Site) -> None:
    start = site.redirect("/to-ftp", "ftp://127.0.0.1/story")

    error = page_error(start)

    assert (error.url, error.reason) == (start, "redirected to a URL that is not http(s)")
