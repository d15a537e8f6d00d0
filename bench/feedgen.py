"""Feeds for the polling benchmark: realistic news feeds, made up on demand, same bytes each time.

A feed is known by its number; its version says how far its news has moved on: each version
has a few new stories on top (the oldest fall off the end), and now and then a headline of
an older story is corrected. Styles follow what news sites
publish: WordPress RSS with full ``content:encoded``, a broadcaster's RSS with thumbnails and
a short body, and Atom from a newsroom CMS. Each is about 100 KB with 50 items, HTML in its
summaries and bodies, typographic entities, and now and then an embedded post with a
``<script>``. A malformed feed has the faults seen in the wild: an unescaped ampersand, an HTML
entity that XML does not define.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape

ITEMS = 50
NEW_PER_VERSION = 3  # stories a changed feed gains between two polls
_EPOCH = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)
_WORDS = (
    "council",
    "government",
    "minister",
    "plans",
    "funding",
    "residents",
    "report",
    "Tuesday",
    "confirmed",
    "officials",
    "year",
    "later",
    "since",
    "first",
    "work",
    "expect",
    "concerns",
    "reviewed",
    "traffic",
    "cost",
    "school",
    "hospital",
    "police",
    "river",
    "bridge",
    "station",
    "market",
    "election",
    "vote",
    "budget",
    "housing",
    "energy",
    "prices",
    "strike",
    "talks",
    "union",
    "court",
    "ruling",
    "appeal",
    "inquiry",
    "weather",
    "storm",
    "flood",
    "warning",
    "football",
    "match",
    "season",
    "club",
    "transfer",
    "museum",
    "festival",
    "theatre",
    "library",
    "airport",
    "rail",
    "bus",
    "road",
    "repairs",
    "scheme",
    "community",
    "local",
    "national",
    "business",
    "jobs",
    "workers",
    "company",
    "profits",
    "shares",
    "investors",
)  # the news vocabulary of the made-up stories
_NAMES = (
    "Morgan Courts", "Priya Example", "Sam O'Neill", "Dana Whitfield", "Lee Ferreira",
    "Alex Brennan", "Jo Nakamura", "Chris Adeyemi", "Ruth Kowalski", "Weather Desk",
)  # fmt: skip
_SECTIONS = ("News", "Politics", "Business", "Sport", "Culture", "Education", "Health",
             "Transport", "Weather", "Opinion")  # fmt: skip


@dataclass(frozen=True, slots=True)
class Served:
    """One feed as the server sends it."""

    body: bytes
    content_type: str
    etag: str
    last_modified: str


def _sentence(rng: random.Random, words: int) -> str:
    text = " ".join(rng.choice(_WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + "."


def _paragraphs(rng: random.Random, count: int) -> list[str]:
    return [
        " ".join(_sentence(rng, rng.randint(7, 14)) for _ in range(rng.randint(2, 3)))
        for _ in range(count)
    ]


@dataclass(frozen=True, slots=True)
class _Story:
    serial: int
    title: str
    url: str
    author: str
    sections: tuple[str, ...]
    published: datetime
    paragraphs: list[str]
    image: str
    embed: bool  # carries an embedded social post (a blockquote and a script)


def _story(feed: int, serial: int, site: str, newest: int) -> _Story:
    rng = random.Random(feed * 1_000_003 + serial)
    title = _sentence(rng, rng.randint(6, 11))[:-1]
    if rng.random() < 0.3:
        title = f"&#8216;{title}&#8217;, says {rng.choice(_NAMES)}"
    if rng.random() < 0.2:
        title += f" &#8211; &#163;{rng.randint(2, 90)}m plan"
    if serial % 5 == 0 and newest - serial >= 2 * NEW_PER_VERSION:
        title += " (updated)"  # a corrected headline: recorded as an update, not a new post
    day = _EPOCH + timedelta(minutes=20 * serial)
    return _Story(
        serial=serial,
        title=title,
        url=f"https://{site}/{day:%Y/%m/%d}/story-{serial}/",
        author=rng.choice(_NAMES),
        sections=tuple(rng.sample(_SECTIONS, rng.randint(1, 3))),
        published=day,
        paragraphs=_paragraphs(rng, rng.randint(2, 3)),
        image=f"https://{site}/wp-content/uploads/{day:%Y/%m}/story-{serial}.jpg",
        embed=rng.random() < 0.08,
    )


def _body_html(story: _Story) -> str:
    parts = [f"<p>{story.paragraphs[0]} &#8220;{story.paragraphs[1][:80]}&#8221;</p>"]
    parts.append(
        f'<figure class="wp-block-image size-large"><img loading="lazy" width="1024" '
        f'height="683" src="{story.image}" alt="" /></figure>'
    )
    parts += [f"<p>{paragraph}</p>" for paragraph in story.paragraphs[1:]]
    parts.append(f'<p>Read more: <a href="{story.url}#more">{story.title}</a></p>')
    if story.embed:
        parts.append(
            '<blockquote class="twitter-tweet"><p lang="en" dir="ltr">Update from the scene '
            '<a href="https://t.example/abc">pic.example/abc</a></p>&mdash; Desk (@desk) '
            '<a href="https://x.example/desk/status/1">May 14, 2024</a></blockquote>'
            '<script async src="https://platform.x.example/widgets.js" charset="utf-8"></script>'
        )
    return "\n".join(parts)


def _wordpress_item(story: _Story, malformed: bool) -> str:
    categories = "".join(f"<category><![CDATA[{s}]]></category>" for s in story.sections)
    title = story.title
    if malformed and story.serial % 10 == 0:
        title += " &nbsp;&mdash; live"  # HTML entities that XML does not define
    summary = f"<p>{story.paragraphs[0]}</p>\n<p>The post <a href=\"{story.url}\">" \
        f"{story.title}</a> appeared first on <a href=\"https://{_host(story.url)}\">" \
        f"The Courier</a>.</p>"  # fmt: skip
    return f"""
	<item>
		<title>{title}</title>
		<link>{story.url}</link>
		<comments>{story.url}#respond</comments>
		<dc:creator><![CDATA[{story.author}]]></dc:creator>
		<pubDate>{format_datetime(story.published, usegmt=True)}</pubDate>
		{categories}
		<guid isPermaLink="false">https://{_host(story.url)}/?p={story.serial}</guid>
		<description><![CDATA[{summary}]]></description>
		<content:encoded><![CDATA[{_body_html(story)}]]></content:encoded>
		<media:content url="{story.image}" medium="image" width="1200" height="800"><media:credit>Courier photographer</media:credit></media:content>
		<wfw:commentRss>{story.url}feed/</wfw:commentRss>
		<slash:comments>{story.serial % 40}</slash:comments>
	</item>"""  # noqa: E501


def _broadcaster_item(story: _Story, malformed: bool) -> str:
    author = escape(story.author)
    if malformed and story.serial % 10 == 0:
        author = "Desk & Wires"  # an ampersand nobody escaped
    paragraphs = "".join(f"<p>{p}</p>" for p in story.paragraphs)
    return f"""
        <item>
            <title><![CDATA[{story.title}]]></title>
            <description><![CDATA[{story.paragraphs[0]}]]></description>
            <content:encoded><![CDATA[{paragraphs}{story.paragraphs[-1]}]]></content:encoded>
            <link>{story.url}</link>
            <guid isPermaLink="true">{story.url}</guid>
            <pubDate>{format_datetime(story.published, usegmt=True)}</pubDate>
            <dc:creator>{author}</dc:creator>
            <category>{story.sections[0]}</category>
            <media:thumbnail width="240" height="135" url="{story.image}"/>
        </item>"""


def _atom_entry(story: _Story, malformed: bool) -> str:
    categories = "".join(f'<category term="{s.lower()}" label="{s}"/>' for s in story.sections)
    body = escape(_body_html(story), quote=False)
    title = escape(story.title, quote=False)
    if malformed and story.serial % 10 == 0:
        title += " &hellip;"  # an HTML entity that XML does not define
    return f"""
  <entry>
    <id>tag:{_host(story.url)},2026:article/{story.serial}</id>
    <title type="html">{title}</title>
    <link rel="alternate" type="text/html" href="{story.url}"/>
    <link rel="enclosure" type="image/jpeg" length="48211" href="{story.image}"/>
    <published>{story.published.isoformat()}</published>
    <updated>{story.published.isoformat()}</updated>
    <author><name>{escape(story.author)}</name></author>
    {categories}
    <summary type="html">{escape(f"<p>{story.paragraphs[0]}</p>", quote=False)}</summary>
    <content type="html">{body}</content>
  </entry>"""


def _host(url: str) -> str:
    return url.split("/")[2]


_WORDPRESS_HEAD = """<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"
	xmlns:content="http://purl.org/rss/1.0/modules/content/"
	xmlns:wfw="http://wellformedweb.org/CommentAPI/"
	xmlns:dc="http://purl.org/dc/elements/1.1/"
	xmlns:atom="http://www.w3.org/2005/Atom"
	xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"
	xmlns:slash="http://purl.org/rss/1.0/modules/slash/"
	xmlns:media="http://search.yahoo.com/mrss/"
	>
<channel>
	<title>The Courier {feed}</title>
	<atom:link href="https://{site}/feed/" rel="self" type="application/rss+xml" />
	<link>https://{site}</link>
	<description>Local news, sport and what&#039;s on</description>
	<lastBuildDate>{updated}</lastBuildDate>
	<language>en-GB</language>
	<sy:updatePeriod>hourly</sy:updatePeriod>
	<sy:updateFrequency>1</sy:updateFrequency>
	<generator>https://wordpress.org/?v=6.5.3</generator>"""
_BROADCASTER_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<?xml-stylesheet title="XSL_formatting" type="text/xsl" href="/shared/xsl/rss.xsl"?>
<rss xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:atom="http://www.w3.org/2005/Atom" version="2.0" xmlns:media="http://search.yahoo.com/mrss/">
    <channel>
        <title><![CDATA[Broadcaster {feed} - World]]></title>
        <description><![CDATA[Broadcaster {feed} - World]]></description>
        <link>https://{site}/news/world</link>
        <image><url>https://{site}/img/logo.gif</url><title>Broadcaster</title><link>https://{site}/</link></image>
        <generator>RSS for Node</generator>
        <lastBuildDate>{updated}</lastBuildDate>
        <atom:link href="https://{site}/news/world/rss.xml" rel="self" type="application/rss+xml"/>
        <ttl>15</ttl>"""  # noqa: E501
_ATOM_HEAD = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">
  <title type="text">Ledger {feed} — Latest</title>
  <id>tag:{site},2026:feed/latest</id>
  <link rel="alternate" type="text/html" href="https://{site}/"/>
  <link rel="self" type="application/atom+xml" href="https://{site}/feeds/latest.atom"/>
  <updated>{updated}</updated>
  <rights>© 2026 Ledger Ltd</rights>"""
_STYLES = (  # head, item maker, tail, media type; weights follow how common each is
    (_WORDPRESS_HEAD, _wordpress_item, "\n</channel>\n</rss>\n", "application/rss+xml"),
    (_WORDPRESS_HEAD, _wordpress_item, "\n</channel>\n</rss>\n", "application/rss+xml"),
    (_BROADCASTER_HEAD, _broadcaster_item, "\n    </channel>\n</rss>\n", "application/rss+xml"),
    (_ATOM_HEAD, _atom_entry, "\n</feed>\n", "application/atom+xml"),
)


def feed(number: int, version: int, *, malformed: bool = False) -> Served:
    """Feed ``number`` at ``version``: its newest story is ``NEW_PER_VERSION`` on per version."""
    head, item, tail, media_type = _STYLES[number % len(_STYLES)]
    site = f"news-{number}.example"
    newest = 1000 + version * NEW_PER_VERSION
    stories = [_story(number, serial, site, newest) for serial in range(newest, newest - ITEMS, -1)]
    updated = stories[0].published
    stamp = updated.isoformat() if item is _atom_entry else format_datetime(updated, usegmt=True)
    text = head.format(feed=number, site=site, updated=stamp)
    text += "".join(item(story, malformed) for story in stories) + tail
    etag = f'"{number:x}-{version}{"m" if malformed else ""}"'
    last_modified = format_datetime(updated, usegmt=True)
    return Served(text.encode("utf-8"), f"{media_type}; charset=UTF-8", etag, last_modified)
