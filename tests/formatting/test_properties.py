"""Whatever a feed sends, every post fits, keeps the exact link and the attribution.

Each network's verdict comes from an oracle independent of the formatter: for Telegram the
emulator's port of TDLib's HTML parser and text fixing (what the Bot API would store and
count), for X twitter-text (what X counts and links). Inputs: any Unicode (emoji with
modifiers and ZWJ sequences, CJK, RTL, combining marks, controls, lone surrogates), HTML
specials, empty text, 100 KB text; URLs long, with query and fragment, on IDN hosts; UTM
parameters and hashtags on and off; Telegram and Facebook photo captions.
"""

from __future__ import annotations

import re
import string
import unicodedata
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import pytest
import twitter_text
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syndicator.errors import FormattingError
from syndicator.formatting import Formatter
from syndicator.formatting.fit import ELLIPSIS, ZWJ, fit_post
from syndicator.records import Article, ChannelType, Post
from syndicator.sandbox.telegram_html import parse_html
from syndicator.sandbox.telegram_text import fix_formatted_text, message_length
from tests.formatting.support import DEFAULT_TEMPLATES, channel

FORMATTER = Formatter(DEFAULT_TEMPLATES)
ATTRIBUTION = 'Example News & "Partners" <EN>'
PIECES = [
    "日本語", "東京", "한국어", "😷", "👨\u200d👩\u200d👧\u200d👦", "🧑🏽\u200d🚀", "🏳️\u200d🌈",
    "🇯🇵", "👍🏽", "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f", "❤\ufe0f",
    "e\u0301", "A\u030a", "a\u0333", "مرحبا بالعالم", "שלום", "\u200f", "\u200e", "\u202e",
    "<b>", "</a>", "&amp;", "&", "&#", "&lt", '"', "'", "<", ">", " ", "  ", "\n", "\t", "\r",
    "\x00", "\u2028", ZWJ, "\ufe0f", "\ufeff", "\ud83d", "…", ".", ",", "news", "Floods",
    "https://t.co/x", "example.com", "@user", "#tag", "\u3000", "\u00a0",
]  # fmt: skip
feed_text = st.one_of(
    st.text(max_size=60),
    st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=8)), max_size=60).map("".join),
    st.builds(lambda s, n: s * n, st.text(min_size=1, max_size=30), st.integers(1, 300)),
    st.builds(  # 100 KB, with or without spaces
        lambda s: (s * (100_000 // len(s) + 1))[:100_000],
        st.one_of(st.sampled_from(["word ", "東京", "😷", "a<&>b ", "x"]), st.text(min_size=1)),
    ),
)

HOSTS = [
    "www.examplenews.com", "examplenews.co.uk", "news.example-daily.com", "пример.рф",
    "bücher.de", "例え.jp", "xn--e1afmkfd.xn--p1ai", "127.0.0.1:8080",
]  # fmt: skip
SEGMENT = st.one_of(
    st.text("abcdefghijklmnopqrstuvwxyz0123456789-_~", min_size=1, max_size=30),
    st.sampled_from(["новости", "記事", "straße", "%E2%9C%93", "a.html", "2024", "(b)"]),
)
QUERY_PAIR = st.tuples(
    st.text("abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8),
    st.text("abcdefghijklmnopqrstuvwxyz0123456789-%+", max_size=12),
).map("=".join)


def escaped(value: str) -> str:
    """Every byte but ASCII letters, digits, "-" and "_" as %XX (X links up to the last one)."""
    plain = string.ascii_letters + string.digits + "-_"
    return "".join(c if c in plain else quote(c, safe="").replace(".", "%2E") for c in value)


@dataclass(frozen=True)
class Link:
    """An article URL and what it must become with the channel's UTM parameters."""

    url: str
    query: str | None
    fragment: str | None

    def tracked(self, utm: dict[str, str]) -> str:
        base = self.url.partition("?")[0].partition("#")[0]
        pairs = [p for p in [self.query or ""] if p]
        pairs += [f"{k}={escaped(v)}" for k, v in utm.items()]
        query = "&".join(pairs)
        if self.query is not None or query:
            base += f"?{query}"
        return base + (f"#{self.fragment}" if self.fragment is not None else "")


def make_link(
    scheme: str, host: str, path: list[str], query: list[str] | None, fragment: str | None
) -> Link:
    joined = None if query is None else "&".join(query)
    url = f"{scheme}://{host}/{'/'.join(path)}"
    url += "" if joined is None else f"?{joined}"
    url += "" if fragment is None else f"#{fragment}"
    return Link(url, joined, fragment)


links = st.builds(
    make_link,
    st.sampled_from(["http", "https"]),
    st.sampled_from(HOSTS),
    st.lists(SEGMENT, max_size=40),
    st.one_of(st.none(), st.lists(QUERY_PAIR, min_size=1, max_size=6)),
    st.one_of(st.none(), st.text("abcdefghijklmnopqrstuvwxyz-", max_size=20)),
)
UTMS: list[dict[str, str]] = [
    {},
    {"source": "social", "medium": "post"},
    {"campaign": "a b&c", "content": "v2.0"},
]
channel_settings = st.fixed_dictionaries(
    {
        "utm": st.sampled_from(UTMS),
        "hashtags": st.booleans(),
        "max_hashtags": st.integers(0, 5),
    }
)
categories = st.lists(st.one_of(st.sampled_from(["Economy", "Central Asia", "2024"]), feed_text))
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def render(
    kind: ChannelType, link: Link, title: str, summary: str, tags: list[str], photo: bool,
    options: dict[str, Any],
) -> tuple[Post, str]:  # fmt: skip
    target = channel(kind, **options)
    item = Article(
        id=1, source="s", guid="g", url=link.url, title=title, summary=summary,
        categories=tuple(tag[:200] for tag in tags[:20]),
    )  # fmt: skip
    post = FORMATTER.render(target, item, attribution=ATTRIBUTION, photo=photo)
    return post, link.tracked(target.utm)


def assert_whole_characters(text: str) -> None:
    """(d): no lone surrogate anywhere, so none at the end either."""
    text.encode("utf-8")


@PROPERTY
@given(
    title=feed_text, summary=feed_text, link=links, tags=categories, options=channel_settings,
    photo=st.booleans(),
)  # fmt: skip
def test_every_telegram_post_is_what_the_bot_api_accepts_with_the_exact_link(
    title: str, summary: str, link: Link, tags: list[str], options: dict[str, Any],
    photo: bool,
) -> None:  # fmt: skip
    post, tracked = render(ChannelType.TELEGRAM, link, title, summary, tags, photo, options)
    parsed = parse_html(post.text)  # (c) raises where the Bot API would refuse the markup
    fixed = fix_formatted_text(parsed)
    limit = 1024 if photo else 4096
    assert message_length(parsed) == post.length <= limit == post.limit  # (a)
    assert len(post.text.encode("utf-8")) <= 32768
    assert post.link == tracked  # (b)
    assert tracked in {e.url for e in fixed.entities if e.type == "text_link"}
    assert ATTRIBUTION in fixed.text
    assert {e.type for e in fixed.entities} <= {"bold", "text_link"}  # feed text made no tags
    assert_only_escaped_text(post.text)
    assert_whole_characters(post.text)


TAG = re.compile(r'<(?:b|/b|/a|a href="[^"<>]*")>')
ENTITY = re.compile(r"&(?:amp|lt|gt|quot|#\d{1,7});")


def assert_only_escaped_text(markup: str) -> None:
    """(c), (d): outside our own tags no markup character stands bare, no entity is cut."""
    text = TAG.sub("", markup)
    assert "<" not in text and ">" not in text
    assert ENTITY.sub("", text).count("&") == 0


@PROPERTY
@given(title=feed_text, summary=feed_text, link=links, tags=categories, options=channel_settings)
def test_every_x_post_fits_280_and_x_links_the_whole_tracked_url(
    title: str, summary: str, link: Link, tags: list[str], options: dict[str, Any]
) -> None:
    tracked = link.tracked(channel(ChannelType.TWITTER, **options).utm)
    if not any(twitter_text.extract_urls(u) == [u] for u in (tracked, ascii_form(tracked))):
        # X would link a shorter URL, or none (an IP address, a path ending in "."): the
        # post must fail rather than go out with a link to another page
        with pytest.raises(FormattingError, match="X would not link"):
            render(ChannelType.TWITTER, link, title, summary, tags, True, options)
        return
    post, tracked = render(ChannelType.TWITTER, link, title, summary, tags, True, options)
    parsed = twitter_text.parse_tweet(post.text)
    assert parsed.valid and parsed.weightedLength == post.length <= 280 == post.limit  # (a)
    assert post.link in twitter_text.extract_urls(post.text)  # (b)
    assert same_address(post.link, tracked)
    assert f"\nSource: {ATTRIBUTION}" in post.text
    assert_whole_characters(post.text)


def ascii_form(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    rest = url.split(parts.netloc, 1)[1]
    netloc = parts.netloc.replace(host, host.encode("idna").decode("ascii"))
    return f"{parts.scheme}://{netloc}{quote(rest, safe=string.punctuation)}"


def same_address(written: str, tracked: str) -> bool:
    """``written`` is ``tracked`` itself, or its ASCII spelling (punycode host, %-escapes)."""
    if written == tracked:
        return True
    ours, theirs = urlsplit(written), urlsplit(tracked)
    host = (theirs.hostname or "").encode("idna").decode("ascii")
    return (
        written.isascii()
        and ours.hostname == host
        and unquote(written.split(ours.netloc, 1)[1]) == unquote(tracked.split(theirs.netloc, 1)[1])
    )


@PROPERTY
@given(
    title=feed_text, summary=feed_text, link=links, tags=categories, options=channel_settings,
    photo=st.booleans(),
)  # fmt: skip
def test_every_facebook_post_fits_and_a_caption_carries_the_plain_tracked_url(
    title: str, summary: str, link: Link, tags: list[str], options: dict[str, Any],
    photo: bool,
) -> None:  # fmt: skip
    post, tracked = render(ChannelType.FACEBOOK, link, title, summary, tags, photo, options)
    assert len(post.text.encode("utf-16-le")) // 2 <= 63206  # (a)
    assert post.link == tracked  # (b): the link card's link, and in the text
    assert f"Source: {ATTRIBUTION} — {tracked}" in post.text
    assert_whole_characters(post.text)


@settings(max_examples=100, deadline=None)
@given(text=feed_text, limit=st.integers(1, 400))
def test_shortened_text_is_a_prefix_ending_on_a_whole_character(text: str, limit: int) -> None:
    fitted = fit_post(
        lambda title, summary, extras: title,
        lambda rendered: len(rendered) <= limit,
        title=text,
        summary="",
        bound=2000,
    )
    if fitted is None or fitted.title == text:
        return
    head = fitted.title.removesuffix(ELLIPSIS)
    assert fitted.title.endswith(ELLIPSIS) and head
    assert text.startswith(head)
    assert not head.endswith(ZWJ)
    following = text[len(head)]
    assert following == ZWJ or not (
        unicodedata.category(following).startswith("M")
        or "\ufe00" <= following <= "\ufe0f"
        or "\U0001f3fb" <= following <= "\U0001f3ff"
    )
