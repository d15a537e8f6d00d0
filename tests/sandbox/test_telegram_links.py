"""The emulator keeps, rewrites and drops links in ``<a href>`` as Telegram does."""

from __future__ import annotations

from syndicator.sandbox.telegram_html import parse_html
from syndicator.sandbox.telegram_text import Entity, FormattedText, fix_formatted_text


def sent(html: str) -> FormattedText:
    """What a message would carry after the Bot API parsed and cleaned it."""
    return fix_formatted_text(parse_html(html))


# --- links ---------------------------------------------------------------------------------


def test_a_normal_link_is_kept_with_its_url() -> None:
    ft = sent('Read <a href="https://news.example.com/2026/story?id=7">more</a>')
    assert ft.entities == (
        Entity("text_link", 5, 4, url="https://news.example.com/2026/story?id=7"),
    )


def test_link_scheme_and_host_are_lower_cased_and_a_slash_added() -> None:
    assert sent('<a href="HTTPS://News.Example.COM">x</a>').entities[0].url == (
        "https://news.example.com/"
    )
    assert sent('<a href="example.com/A B">x</a>').entities[0].url == "http://example.com/A%20B"


def test_a_link_entity_has_the_bot_api_json_shape() -> None:
    link = sent('<a href="https://example.com/a">x</a>').entities[0]
    assert link.to_dict() == {
        "offset": 0,
        "length": 1,
        "type": "text_link",
        "url": "https://example.com/a",
    }


def test_a_link_to_a_host_without_a_dot_is_dropped_but_its_text_kept() -> None:
    assert sent('<a href="http://localhost:8080/x">story</a>') == FormattedText("story", ())


def test_a_link_with_an_unsupported_scheme_is_dropped() -> None:
    assert sent('<a href="ftp://files.example.com/a">f</a>') == FormattedText("f", ())


def test_an_anchor_without_href_links_to_its_own_text() -> None:
    ft = sent("<a>example.com/news</a>")
    assert ft.entities == (Entity("text_link", 0, 16, url="http://example.com/news"),)


def test_an_anchor_without_href_and_no_url_text_is_plain_text() -> None:
    assert sent("<a>just words</a>") == FormattedText("just words", ())
