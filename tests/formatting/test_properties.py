"""Whatever a feed sends, every post fits, keeps the exact link and the attribution, and
a Telegram post holds only Telegram's tags (checked with the standard library's parser,
independently of the formatter's own)."""

from __future__ import annotations

import html
import unicodedata
from html.parser import HTMLParser
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syndicator.formatting import Formatter
from syndicator.formatting.fit import ELLIPSIS, ZWJ, fit_post
from syndicator.formatting.measure import RULES
from syndicator.records import Article, ChannelType

DEFAULT_TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
FORMATTER = Formatter(DEFAULT_TEMPLATES)
ATTRIBUTION = 'Example News & "Partners" <EN>'
URLS = [
    "https://www.examplenews.com/world/floods",
    "https://www.examplenews.com/a?id=1&lang=en&q=%22x%22#top",
    "http://examplenews.co.uk/2024/05/01/" + "very-long-slug-" * 20,
    "https://пример.рф/новости/1",
]
PIECES = [
    "日本語", "東京", "한국어", "😷", "👨\u200d👩\u200d👧\u200d👦", "🇯🇵", "👍🏽",
    "❤\ufe0f", "e\u0301",
    "<b>", "</a>", "&amp;", "&", '"', "'", "<", ">", " ", "  ", "\n", "\t", "\x00", ZWJ,
    "\ufe0f", "…", ".", ",", "news", "Floods", "https://t.co/x", "example.com", "@user", "#tag",
]  # fmt: skip
feed_text = st.one_of(
    st.text(max_size=60),
    st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=8)), max_size=60).map("".join),
    st.builds(lambda s, n: s * n, st.text(min_size=1, max_size=30), st.integers(1, 300)),
)
PROPERTY = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ALLOWED = {"a", "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "code", "pre"}


class StrictTelegramChecker(HTMLParser):
    """Fails on anything but Telegram's tags, its four named entities, and balanced nesting."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.hrefs: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        assert tag in ALLOWED, tag
        self.stack.append(tag)
        if tag == "a":
            self.hrefs.append(dict(attrs)["href"] or "")

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack.pop() == tag, tag

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raise AssertionError(f"self-closing <{tag}/>")

    def handle_data(self, data: str) -> None:
        assert "<" not in data and ">" not in data, data
        self.text.append(data)

    def handle_entityref(self, name: str) -> None:
        assert name in ("lt", "gt", "amp", "quot"), name
        self.text.append(html.unescape(f"&{name};"))

    def handle_charref(self, name: str) -> None:
        self.text.append(html.unescape(f"&#{name};"))

    def handle_comment(self, data: str) -> None:
        raise AssertionError("comment")

    def handle_decl(self, decl: str) -> None:
        raise AssertionError("declaration")

    def unknown_decl(self, data: str) -> None:
        raise AssertionError("declaration")


def make(title: str, summary: str, url: str) -> Article:
    return Article(id=1, source="s", guid="g", url=url, title=title, summary=summary)


@settings(PROPERTY)
@given(title=feed_text, summary=feed_text, url=st.sampled_from(URLS))
def test_every_x_post_fits_and_carries_the_plain_link(title: str, summary: str, url: str) -> None:
    post = FORMATTER.render(
        ChannelType.TWITTER, make(title, summary, url), attribution=ATTRIBUTION, channel="x"
    )
    assert RULES[ChannelType.TWITTER].fits(post.text)
    assert post.length <= 280
    assert post.text.endswith(f"{url}\nSource: {ATTRIBUTION}")
    assert post.link == url


@settings(PROPERTY)
@given(title=feed_text, summary=feed_text, url=st.sampled_from(URLS))
def test_every_telegram_post_fits_and_holds_only_telegram_tags(
    title: str, summary: str, url: str
) -> None:
    post = FORMATTER.render(
        ChannelType.TELEGRAM, make(title, summary, url), attribution=ATTRIBUTION, channel="t"
    )
    assert RULES[ChannelType.TELEGRAM].fits(post.text)
    assert post.length <= 4096
    checker = StrictTelegramChecker()
    checker.feed(post.text)
    checker.close()
    assert checker.stack == []
    assert url in checker.hrefs
    assert f"Source: {ATTRIBUTION}" in "".join(checker.text)


@settings(PROPERTY)
@given(title=feed_text, summary=feed_text, url=st.sampled_from(URLS))
def test_every_facebook_post_fits_and_carries_the_attribution(
    title: str, summary: str, url: str
) -> None:
    post = FORMATTER.render(
        ChannelType.FACEBOOK, make(title, summary, url), attribution=ATTRIBUTION, channel="f"
    )
    assert post.length <= 63206
    assert post.text.endswith(f"Source: {ATTRIBUTION} — {url}")
    assert post.link == url


@settings(PROPERTY)
@given(text=feed_text, limit=st.integers(1, 400))
def test_shortened_text_is_a_prefix_ending_on_a_whole_character(text: str, limit: int) -> None:
    fitted = fit_post(
        lambda title, summary: title,
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
