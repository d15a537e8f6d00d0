"""The demo's news site: an RSS feed that gains an article every ~30 seconds while it runs.

It answers conditional GETs (ETag, Last-Modified) like a well-behaved news site, so the demo
shows the same polling path a real feed takes.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from importlib import resources
from xml.etree import ElementTree as ET

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

SITE = "https://demo-daily.example.com"
FEED_LENGTH = 20


@dataclass(frozen=True, slots=True)
class DemoArticle:
    slug: str
    title: str
    summary: str
    categories: tuple[str, ...]


def bundled_articles() -> list[DemoArticle]:
    raw = resources.files("syndicator.demo").joinpath("articles.json").read_text("utf-8")
    return [
        DemoArticle(item["slug"], item["title"], item["summary"], tuple(item["categories"]))
        for item in json.loads(raw)
    ]


class DemoFeed:
    """Reveals ``initial`` articles at once, then one more every ``every`` seconds."""

    def __init__(
        self,
        articles: list[DemoArticle],
        *,
        initial: int = 3,
        every: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.articles = articles
        self.initial = initial
        self.every = every
        self.clock = clock
        self.started = clock()

    def published(self, index: int) -> datetime:
        if index >= self.initial:
            offset = (index - self.initial + 1) * self.every
        else:  # the site's existing articles, a minute apart
            offset = (index - self.initial) * 60.0
        return datetime.fromtimestamp(int(self.started + offset), UTC)

    def visible(self) -> int:
        """How many articles the site has published by now."""
        return self.initial + int((self.clock() - self.started) // self.every)

    def article(self, index: int) -> DemoArticle:
        """The index-th article; after the bundled ones run out, follow-ups of them."""
        base = self.articles[index % len(self.articles)]
        round_ = index // len(self.articles)
        if round_ == 0:
            return base
        return DemoArticle(
            f"{base.slug}-follow-up-{round_}",
            f"{base.title}: follow-up {round_}",
            base.summary,
            base.categories,
        )

    def rss(self, count: int) -> bytes:
        rss = ET.Element("rss", version="2.0")
        channel = ET.SubElement(rss, "channel")
        ET.SubElement(channel, "title").text = "Demo Daily"
        ET.SubElement(channel, "link").text = SITE + "/"
        ET.SubElement(channel, "description").text = "Invented news for the syndicator demo"
        # The newest 20, newest first, as news sites list them.
        for index in reversed(range(max(0, count - FEED_LENGTH), count)):
            article = self.article(index)
            item = ET.SubElement(channel, "item")
            url = f"{SITE}/news/{article.slug}"
            ET.SubElement(item, "title").text = article.title
            ET.SubElement(item, "link").text = url
            ET.SubElement(item, "guid", isPermaLink="true").text = url
            ET.SubElement(
                item, "description"
            ).text = f"<p>{article.summary}</p><p>© Demo Daily — must be hyperlinked when used</p>"
            ET.SubElement(item, "pubDate").text = format_datetime(self.published(index))
            for category in article.categories:
                ET.SubElement(item, "category").text = category
        body: bytes = ET.tostring(rss, encoding="utf-8", xml_declaration=True)
        return body

    async def feed(self, request: Request) -> Response:
        count = self.visible()
        modified = self.published(count - 1)
        etag = '"' + hashlib.sha256(str(count).encode()).hexdigest()[:16] + '"'
        headers = {"ETag": etag, "Last-Modified": format_datetime(modified, usegmt=True)}
        if request.headers.get("if-none-match") == etag or _not_modified_since(
            request.headers.get("if-modified-since"), modified
        ):
            return Response(status_code=304, headers=headers)
        return Response(self.rss(count), media_type="application/rss+xml", headers=headers)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/feed.xml", self.feed)])


def _not_modified_since(header: str | None, modified: datetime) -> bool:
    if not header:
        return False
    try:
        return parsedate_to_datetime(header) >= modified
    except (TypeError, ValueError):
        return False
