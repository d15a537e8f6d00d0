"""Each network's length, counted the way the network counts it."""

from __future__ import annotations

import pytest

from syndicator.formatting.measure import (
    RULES,
    MarkupError,
    facebook_length,
    parse_telegram_html,
    rules_for,
    telegram_length,
    telegram_visible_text,
    twitter_length,
)
from syndicator.records import ChannelType


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("a" * 280, 280),
        ("日本語", 6),
        ("😷", 2),
        ("👨\u200d👩\u200d👧\u200d👦", 2),
        ("…", 2),
        ("—", 1),
        ("https://www.reuters.com/world/a-very-long-path/with/many/segments?and=query", 23),
        ("english text 日本語 😷 https://example.com", 46),
    ],
)
def test_x_counts_weighted_characters(text: str, length: int) -> None:
    assert twitter_length(text) == length


@pytest.mark.parametrize(
    ("markup", "visible"),
    [
        ("<b>Hi</b> &amp; x", "Hi & x"),
        ("&lt;tag&gt; &quot;q&quot; &#39;s&#39; &#x41;&#66;", "<tag> \"q\" 's' AB"),
        ("&nbsp;&apos;&#X41;", "&nbsp;&apos;&#X41;"),  # unknown names and capital X stay literal
        ("&#12345678;", "&#12345678;"),  # more than 7 digits stays literal
        ("AT&T > all", "AT&T > all"),  # bare & and > are text
        ("  \n<b>x</b>\n\n ", "x"),  # spaces and newlines trimmed at both ends
        ('\n <a href="https://e.com/"> x</a>', " x"),  # leading trim stops at a link
        ("\n <b> x</b> ", " x"),  # ... and at any other entity
        ("a\tb\x01c\rd", "a b cd"),  # controls become spaces, CR is deleted
        ("A\u030a \u2028x\u202e", "A x"),  # deleted before counting
        ("😷 𝕏", "😷 𝕏"),  # astral characters count once
    ],
)
def test_telegram_counts_the_visible_text(markup: str, visible: str) -> None:
    assert telegram_visible_text(markup) == visible
    assert telegram_length(markup) == len(visible)


def test_telegram_links_are_decoded_from_href() -> None:
    parsed = parse_telegram_html('<a href="https://e.com/?a=1&amp;b=&#34;2&#34;">x</a>')
    assert parsed.links == ('https://e.com/?a=1&b="2"',)
    literal = parse_telegram_html('<a href="https://e.com/?q=R&D&amp;x=&bogus;&">x</a>')
    assert literal.links == ("https://e.com/?q=R&D&x=&bogus;&",)  # what is no entity stays


@pytest.mark.parametrize(
    "markup",
    [
        "<p>x</p>",
        "a < b",
        "<b>x",
        "x</b>",
        "<b>x</i>",
        "<br/>",
        "<b",
        "<span>x</span>",
        "&#xD800;",
    ],
)
def test_telegram_markup_it_would_refuse_is_an_error(markup: str) -> None:
    with pytest.raises(MarkupError):
        parse_telegram_html(markup)


def test_telegram_accepts_its_own_tags() -> None:
    markup = (
        "<b>b</b><strong>s</strong><i>i</i><em>e</em><u>u</u><ins>n</ins><s>s</s><del>d</del>"
        '<tg-spoiler>t</tg-spoiler><span class="tg-spoiler">p</span><code>c</code>'
        '<pre><code class="language-python">x</code></pre><blockquote expandable>q</blockquote>'
        "<b>and <i>nested</></b>"  # "</>" closes the innermost tag
    )
    assert telegram_visible_text(markup) == "bsieunsdtpcxqand nested"


def test_telegram_raw_markup_over_32768_bytes_does_not_fit() -> None:
    rules = RULES[ChannelType.TELEGRAM]
    assert not rules.fits("&amp;" * 4000 + "x" * 20000)  # 4000 visible, 40000 bytes
    assert rules.fits("&amp;" * 4000)


def test_telegram_caption_rule_is_1024_and_x_ignores_photos() -> None:
    assert rules_for(ChannelType.TELEGRAM, photo=True).limit == 1024
    assert rules_for(ChannelType.TELEGRAM).limit == 4096
    assert rules_for(ChannelType.TWITTER, photo=True) is RULES[ChannelType.TWITTER]
    assert rules_for(ChannelType.FACEBOOK, photo=True).limit == 63206


def test_x_refuses_its_invalid_characters_whatever_the_length() -> None:
    assert not RULES[ChannelType.TWITTER].fits("short \ufeff post")
    assert RULES[ChannelType.TWITTER].fits("short post")


def test_facebook_counts_utf16_units() -> None:
    assert facebook_length("abc") == 3
    assert facebook_length("😷") == 2


def test_each_network_has_its_documented_limit() -> None:
    assert RULES[ChannelType.TWITTER].limit == 280
    assert RULES[ChannelType.TELEGRAM].limit == 4096
    assert RULES[ChannelType.FACEBOOK].limit == 63206
