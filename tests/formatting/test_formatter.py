"""The posts each network gets from the default templates, and the rules they keep."""

from __future__ import annotations

import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from syndicator.errors import FormattingError
from syndicator.formatting import Formatter
from syndicator.formatting.measure import parse_telegram_html, telegram_length, twitter_length
from syndicator.records import Article, ChannelType

DEFAULT_TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
URL = "https://www.examplenews.com/world/2024/05/01/floods-hit-riverside-town"
ATTRIBUTION = "Example News"


@pytest.fixture(scope="module")
def formatter() -> Formatter:
    return Formatter(DEFAULT_TEMPLATES)


def article(title: str = "Floods hit riverside town", summary: str = "", **kw: object) -> Article:
    fields: dict[str, object] = {
        "id": 1,
        "source": "world",
        "guid": "g-1",
        "url": URL,
        "title": title,
        "summary": summary,
        "published": datetime(2024, 5, 1, 8, 0, tzinfo=UTC),
        "image_url": "https://www.examplenews.com/img/floods.jpg",
    }
    fields.update(kw)
    return Article(**fields)  # type: ignore[arg-type]


def render(formatter: Formatter, channel_type: ChannelType, item: Article) -> str:
    post = formatter.render(channel_type, item, attribution=ATTRIBUTION, channel="main")
    assert post.length <= post.limit
    return post.text


NORMAL = article(summary="Rivers burst their banks overnight, forcing hundreds from their homes.")


def test_telegram_post_is_a_linked_bold_title_summary_and_source(formatter: Formatter) -> None:
    assert render(formatter, ChannelType.TELEGRAM, NORMAL) == (
        f'<b><a href="{URL}">Floods hit riverside town</a></b>\n\n'
        "Rivers burst their banks overnight, forcing hundreds from their homes.\n\n"
        f'Source: <a href="{URL}">Example News</a>'
    )


def test_x_post_is_title_summary_url_and_source(formatter: Formatter) -> None:
    assert render(formatter, ChannelType.TWITTER, NORMAL) == (
        "Floods hit riverside town\n\n"
        "Rivers burst their banks overnight, forcing hundreds from their homes.\n\n"
        f"{URL}\nSource: Example News"
    )


def test_x_post_without_summary_has_no_empty_paragraph(formatter: Formatter) -> None:
    assert render(formatter, ChannelType.TWITTER, article()) == (
        f"Floods hit riverside town\n\n{URL}\nSource: Example News"
    )


def test_facebook_post_is_title_summary_and_source_with_link(formatter: Formatter) -> None:
    post = formatter.render(ChannelType.FACEBOOK, NORMAL, attribution=ATTRIBUTION, channel="p")
    assert post.text == (
        "Floods hit riverside town\n\n"
        "Rivers burst their banks overnight, forcing hundreds from their homes.\n\n"
        f"Source: Example News — {URL}"
    )
    assert post.link == URL
    assert post.image_url == "https://www.examplenews.com/img/floods.jpg"
    assert (post.length, post.limit) == (len(post.text), 63206)


@pytest.mark.parametrize("channel_type", list(ChannelType))
def test_long_summary_is_shortened_at_a_word_and_keeps_link_and_source(
    formatter: Formatter, channel_type: ChannelType
) -> None:
    summary = "Water levels rose quickly after days of heavy rain. " * 2000
    text = render(formatter, channel_type, article(summary=summary))
    body = text.split("\n\n")[1]
    assert body.endswith("…")
    assert body.removesuffix("…") in summary
    assert summary[len(body) - 1] in " ,."  # cut where a word ended
    assert URL in text
    assert ATTRIBUTION in text


def test_x_post_with_cjk_and_emoji_title_fits_280(formatter: Formatter) -> None:
    title = "東京で記録的な大雨 🌧️☔ 避難指示が出される 👨‍👩‍👧‍👦🇯🇵 " * 10
    text = render(formatter, ChannelType.TWITTER, article(title=title, summary="洪水" * 300))
    assert twitter_length(text) <= 280
    assert f"\n\n{URL}\nSource: Example News" in text
    assert text.split("\n\n")[0].endswith("…")


def test_telegram_escapes_feed_text_and_counts_visible_text(formatter: Formatter) -> None:
    title = 'Q&A: "Is <b>this</b> bold?" & more'
    summary = '<script>alert("x")</script> a < b > c & "d" ' * 300
    text = render(formatter, ChannelType.TELEGRAM, article(title=title, summary=summary))
    parsed = parse_telegram_html(text)  # valid Telegram HTML
    assert parsed.text.startswith(title + "\n\n")
    assert "<script>" not in text and "<b>this" not in text
    assert parsed.links == (URL, URL)
    assert telegram_length(text) <= 4096
    assert len(text) > 4096  # the escaped markup is longer than what Telegram counts


def test_attribution_too_long_to_fit_is_a_formatting_error(formatter: Formatter) -> None:
    with pytest.raises(FormattingError, match="limit of 280"):
        formatter.render(ChannelType.TWITTER, NORMAL, attribution="Agency " * 50, channel="x")


def test_empty_attribution_is_a_formatting_error(formatter: Formatter) -> None:
    with pytest.raises(FormattingError, match="attribution"):
        formatter.render(ChannelType.TELEGRAM, NORMAL, attribution=" ", channel="t")


def test_link_that_is_not_http_is_a_formatting_error(formatter: Formatter) -> None:
    item = article(url="javascript:alert(1)")
    with pytest.raises(FormattingError, match="not an http"):
        formatter.render(ChannelType.TELEGRAM, item, attribution=ATTRIBUTION, channel="t")


@pytest.mark.parametrize(
    ("name", "template", "channel_type"),
    [
        ("twitter.txt.j2", "{{ title }}\nSource: {{ attribution }}", ChannelType.TWITTER),
        ("twitter.txt.j2", "{{ title }} {{ url }}?utm=x {{ attribution }}", ChannelType.TWITTER),
        ("telegram.html.j2", "{{ title }} {{ url }} {{ attribution }}", ChannelType.TELEGRAM),
        ("facebook.txt.j2", "{{ title }} {{ url }}", ChannelType.FACEBOOK),
    ],
)
def test_template_that_drops_the_link_or_attribution_is_a_formatting_error(
    tmp_path: Path, name: str, template: str, channel_type: ChannelType
) -> None:
    directory = Path(shutil.copytree(DEFAULT_TEMPLATES, tmp_path / "templates"))
    (directory / name).write_text(template, encoding="utf-8")
    formatter = Formatter(directory)  # it renders: the problem is what it leaves out
    with pytest.raises(FormattingError, match=str(directory / name)):
        formatter.render(channel_type, NORMAL, attribution=ATTRIBUTION, channel="c")


def test_template_producing_tags_telegram_refuses_is_a_formatting_error(tmp_path: Path) -> None:
    directory = Path(shutil.copytree(DEFAULT_TEMPLATES, tmp_path / "templates"))
    (directory / "telegram.html.j2").write_text(
        '<p><a href="{{ url }}">{{ title }}</a></p> {{ attribution }}', encoding="utf-8"
    )
    with pytest.raises(FormattingError, match="not valid Telegram HTML"):
        Formatter(directory).render(
            ChannelType.TELEGRAM, NORMAL, attribution=ATTRIBUTION, channel="t"
        )


def test_feed_whitespace_and_control_characters_are_tidied(formatter: Formatter) -> None:
    item = article(title="  Floods\n hit\ttown\x00 ", summary="\n\nRivers  burst.\r\n")
    assert render(formatter, ChannelType.TWITTER, item).startswith(
        "Floods hit town\n\nRivers burst.\n\n"
    )


@pytest.mark.parametrize("channel_type", list(ChannelType))
def test_a_100_kb_summary_is_fitted_quickly(
    formatter: Formatter, channel_type: ChannelType
) -> None:
    item = article(summary="Officials said the river would crest on Friday. " * 2100)
    formatter.render(channel_type, item, attribution=ATTRIBUTION, channel="c")  # warm up
    started = time.perf_counter()
    formatter.render(channel_type, item, attribution=ATTRIBUTION, channel="c")
    assert time.perf_counter() - started < 0.25  # ~10-30 ms here; generous for slow CI
