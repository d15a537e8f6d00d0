"""The posts each network gets from the default templates, and the rules they keep."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import twitter_text

from syndicator.errors import FormattingError
from syndicator.formatting import Formatter
from syndicator.formatting.measure import parse_telegram_html, telegram_length, twitter_length
from syndicator.records import Article, ChannelType, Post
from tests.formatting.support import (
    ATTRIBUTION,
    DEFAULT_TEMPLATES,
    URL,
    article,
    channel,
    copy_templates,
    write,
)

TELEGRAM = channel("telegram")
X = channel("twitter")
FACEBOOK = channel("facebook")
NORMAL = article(summary="Rivers burst their banks overnight, forcing hundreds from their homes.")


@pytest.fixture(scope="module")
def formatter() -> Formatter:
    return Formatter(DEFAULT_TEMPLATES)


def render(
    formatter: Formatter, kind: ChannelType | str, item: Article, *, photo: bool = False, **kw: Any
) -> Post:
    post = formatter.render(channel(kind, **kw), item, attribution=ATTRIBUTION, photo=photo)
    assert post.length <= post.limit
    return post


def test_telegram_post_is_a_linked_bold_title_summary_and_source(formatter: Formatter) -> None:
    assert render(formatter, "telegram", NORMAL).text == (
        f'<b><a href="{URL}">Floods hit riverside town</a></b>\n\n'
        "Rivers burst their banks overnight, forcing hundreds from their homes.\n\n"
        f'Source: <a href="{URL}">Example News</a>'
    )


def test_x_post_is_title_summary_url_and_source(formatter: Formatter) -> None:
    assert render(formatter, "twitter", NORMAL).text == (
        "Floods hit riverside town\n\n"
        "Rivers burst their banks overnight, forcing hundreds from their homes.\n\n"
        f"{URL}\nSource: Example News"
    )


def test_x_post_without_summary_has_no_empty_paragraph(formatter: Formatter) -> None:
    assert render(formatter, "twitter", article()).text == (
        f"Floods hit riverside town\n\n{URL}\nSource: Example News"
    )


def test_facebook_post_is_title_summary_and_source_with_link(formatter: Formatter) -> None:
    post = render(formatter, "facebook", NORMAL)
    assert post.text == (
        "Floods hit riverside town\n\n"
        "Rivers burst their banks overnight, forcing hundreds from their homes.\n\n"
        f"Source: Example News — {URL}"
    )
    assert post.link == URL
    assert post.image_url == "https://www.examplenews.com/img/floods.jpg"
    assert (post.length, post.limit) == (len(post.text), 63206)


def test_telegram_title_links_the_tracked_url_and_source_the_plain_one(
    formatter: Formatter,
) -> None:
    post = render(formatter, "telegram", NORMAL, utm={"source": "telegram", "medium": "social"})
    tracked = f"{URL}?utm_source=telegram&utm_medium=social"
    assert post.link == tracked
    assert parse_telegram_html(post.text).links == (tracked, URL)


def test_telegram_post_without_title_links_the_tracked_url_from_the_source(
    formatter: Formatter,
) -> None:
    post = render(formatter, "telegram", article(title=""), utm={"source": "telegram"})
    assert parse_telegram_html(post.text).links == (f"{URL}?utm_source=telegram",)


def test_x_and_facebook_posts_carry_the_tracked_url(formatter: Formatter) -> None:
    for kind in ("twitter", "facebook"):
        post = render(formatter, kind, NORMAL, utm={"source": kind, "campaign": "spring sale"})
        tracked = f"{URL}?utm_source={kind}&utm_campaign=spring%20sale"
        assert post.link == tracked
        assert f"{tracked}" in post.text


def test_telegram_caption_fits_1024_and_text_post_4096(formatter: Formatter) -> None:
    item = article(summary="Water levels rose quickly after days of heavy rain. " * 200)
    text_post = render(formatter, "telegram", item)
    caption = render(formatter, "telegram", item, photo=True)
    assert (text_post.limit, caption.limit) == (4096, 1024)
    assert 4000 < telegram_length(text_post.text) <= 4096
    assert 950 < telegram_length(caption.text) <= 1024
    assert caption.text.endswith(f'Source: <a href="{URL}">Example News</a>')


def test_x_ignores_photo_and_keeps_its_280(formatter: Formatter) -> None:
    assert render(formatter, "twitter", NORMAL, photo=True) == render(formatter, "twitter", NORMAL)


def test_facebook_photo_caption_carries_the_plain_url(formatter: Formatter) -> None:
    post = render(formatter, "facebook", NORMAL, photo=True, utm={"source": "facebook"})
    assert f"— {URL}?utm_source=facebook" in post.text


def test_hashtags_follow_the_post_when_on(formatter: Formatter) -> None:
    item = article(categories=("Economy", "Central Asia", "2024", "economy"))
    post = render(formatter, "twitter", item, hashtags=True)
    assert post.text.endswith("Source: Example News\n#Economy #CentralAsia")
    assert "#" not in render(formatter, "twitter", item).text


def test_hashtags_stop_at_the_channels_maximum(formatter: Formatter) -> None:
    item = article(categories=("Economy", "Politics", "Energy", "Trade"))
    post = render(formatter, "telegram", item, hashtags=True, max_hashtags=2)
    assert post.text.endswith("\n#Economy #Politics")


def test_hashtags_are_dropped_last_first_before_the_summary_is_cut(
    formatter: Formatter,
) -> None:
    tags = ("Economy", "Politics", "Energy")
    without_tags = render(formatter, "twitter", article(summary="x"))
    room = 280 - twitter_length(without_tags.text) - len("\n#Economy #Politics") - 1
    summary = "y" * room  # the summary plus two hashtags fit; all three do not
    post = render(formatter, "twitter", article(summary=summary, categories=tags), hashtags=True)
    assert summary in post.text
    assert post.text.endswith("\n#Economy #Politics")
    longer = render(
        formatter, "twitter", article(summary=summary + "y" * 40, categories=tags), hashtags=True
    )
    assert "#" not in longer.text


@pytest.mark.parametrize("kind", list(ChannelType))
def test_long_summary_is_shortened_at_a_word_and_keeps_link_and_source(
    formatter: Formatter, kind: ChannelType
) -> None:
    summary = "Water levels rose quickly after days of heavy rain. " * 2000
    text = render(formatter, kind, article(summary=summary)).text
    body = text.split("\n\n")[1]
    assert body.endswith("…")
    assert body.removesuffix("…") in summary
    assert summary[len(body) - 1] in " ,."  # cut where a word ended
    assert URL in text
    assert ATTRIBUTION in text


def test_x_post_with_cjk_and_emoji_title_fits_280(formatter: Formatter) -> None:
    title = "東京で記録的な大雨 🌧️☔ 避難指示が出される 👨‍👩‍👧‍👦🇯🇵 " * 10
    text = render(formatter, "twitter", article(title=title, summary="洪水" * 300)).text
    assert twitter_length(text) <= 280
    assert f"\n\n{URL}\nSource: Example News" in text
    assert text.split("\n\n")[0].endswith("…")


def test_x_writes_a_link_it_would_cut_short_in_its_percent_encoded_form(
    formatter: Formatter,
) -> None:
    item = article(url="https://例え.jp/記事/1?q=東京")
    post = render(formatter, "twitter", item, utm={"source": "x"})
    ascii_url = "https://xn--r8jz45g.jp/%E8%A8%98%E4%BA%8B/1?q=%E6%9D%B1%E4%BA%AC&utm_source=x"
    assert post.link == ascii_url
    assert twitter_text.extract_urls(post.text) == [ascii_url]


def test_telegram_escapes_feed_text_and_counts_visible_text(formatter: Formatter) -> None:
    title = 'Q&A: "Is <b>this</b> bold?" & more'
    summary = '<script>alert("x")</script> a < b > c & "d" ' * 300
    text = render(formatter, "telegram", article(title=title, summary=summary)).text
    parsed = parse_telegram_html(text)  # valid Telegram HTML
    assert parsed.text.startswith(title + "\n\n")
    assert "<script>" not in text and "<b>this" not in text
    assert parsed.links == (URL, URL)
    assert telegram_length(text) <= 4096
    assert len(text) > 4096  # the escaped markup is longer than what Telegram counts


def test_attribution_too_long_to_fit_is_a_formatting_error(formatter: Formatter) -> None:
    with pytest.raises(FormattingError, match="limit of 280"):
        formatter.render(X, NORMAL, attribution="Agency " * 50)


def test_attribution_too_long_for_a_caption_fails_only_as_a_caption(
    formatter: Formatter,
) -> None:
    attribution = "Agency " * 200
    formatter.render(TELEGRAM, NORMAL, attribution=attribution)
    with pytest.raises(FormattingError, match=r"no caption .* limit of 1024"):
        formatter.render(TELEGRAM, NORMAL, attribution=attribution, photo=True)


def test_empty_attribution_is_a_formatting_error(formatter: Formatter) -> None:
    with pytest.raises(FormattingError, match="attribution"):
        formatter.render(TELEGRAM, NORMAL, attribution=" ")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("javascript:alert(1)", "not an http"),
        ("https://localhost:8080/story", "host the networks do not link"),
        ("https://www.examplenews.com/a story", "spaces"),
    ],
)
def test_article_link_no_network_would_link_is_a_formatting_error(
    formatter: Formatter, url: str, reason: str
) -> None:
    with pytest.raises(FormattingError, match=reason):
        formatter.render(TELEGRAM, article(url=url), attribution=ATTRIBUTION)


def test_error_about_a_link_masks_its_password(formatter: Formatter) -> None:
    item = article(url="https://editor:hunter2@localhost/story")
    with pytest.raises(FormattingError) as caught:
        formatter.render(TELEGRAM, item, attribution=ATTRIBUTION)
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize(
    ("name", "template", "kind"),
    [
        ("twitter.txt.j2", "{{ title }}\nSource: {{ attribution }}", ChannelType.TWITTER),
        ("twitter.txt.j2", "{{ title }} {{ url }}x {{ attribution }}", ChannelType.TWITTER),
        ("telegram.html.j2", "{{ title }} {{ url }} {{ attribution }}", ChannelType.TELEGRAM),
        ("telegram.html.j2", '<a href="{{ plain_url }}">{{ attribution }}</a>', "telegram"),
        ("facebook.txt.j2", "{{ title }} {{ url }}", ChannelType.FACEBOOK),
        ("facebook.txt.j2", "{% if not photo %}{{ url }}{% endif %} {{ attribution }}", "facebook"),
    ],
)
def test_template_that_drops_the_link_or_attribution_fails_at_start_up(
    tmp_path: Path, name: str, template: str, kind: str
) -> None:
    directory = copy_templates(tmp_path)
    write(directory / name, template)
    with pytest.raises(FormattingError, match=str(directory / name)):
        Formatter(directory)


def test_template_dropping_the_link_for_one_article_fails_that_post(tmp_path: Path) -> None:
    directory = copy_templates(tmp_path)
    path = write(
        directory / "twitter.txt.j2",
        "{{ title }}\n{% if 'Floods' not in title %}\n{{ url }}\n{% endif %}\n{{ attribution }}",
    )
    formatter = Formatter(directory)  # the samples keep the link
    with pytest.raises(FormattingError, match=str(path)):
        formatter.render(X, NORMAL, attribution=ATTRIBUTION)


def test_template_producing_tags_telegram_refuses_fails_at_start_up(tmp_path: Path) -> None:
    directory = copy_templates(tmp_path)
    write(directory / "telegram.html.j2", '<p><a href="{{ url }}">x</a></p> {{ attribution }}')
    with pytest.raises(FormattingError, match="not valid Telegram HTML"):
        Formatter(directory)


def test_feed_whitespace_and_control_characters_are_tidied(formatter: Formatter) -> None:
    item = article(title="  Floods\n hit\ttown\x00 ", summary="\n\nRivers  burst.\r\n")
    assert render(formatter, "twitter", item).text.startswith(
        "Floods hit town\n\nRivers burst.\n\n"
    )


@pytest.mark.parametrize("kind", list(ChannelType))
def test_a_100_kb_summary_is_fitted_quickly(formatter: Formatter, kind: ChannelType) -> None:
    item = article(summary="Officials said the river would crest on Friday. " * 2100)
    target = channel(kind, hashtags=True)
    formatter.render(target, item, attribution=ATTRIBUTION)  # warm up
    started = time.perf_counter()
    formatter.render(target, item, attribution=ATTRIBUTION)
    assert time.perf_counter() - started < 0.25  # ~10-30 ms here; generous for slow CI
