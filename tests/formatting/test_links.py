"""The article link: UTM parameters added without disturbing it, and linkable on X."""

from __future__ import annotations

import pytest
import twitter_text

from syndicator.errors import FormattingError
from syndicator.formatting.links import add_utm, as_uri, check_article_url, has_plain_url, x_link

UTM = {"utm_source": "telegram", "utm_medium": "social"}


@pytest.mark.parametrize(
    ("url", "tracked"),
    [
        ("https://e.com/a", "https://e.com/a?utm_source=telegram&utm_medium=social"),
        ("https://e.com/a?id=1", "https://e.com/a?id=1&utm_source=telegram&utm_medium=social"),
        ("https://e.com/a#top", "https://e.com/a?utm_source=telegram&utm_medium=social#top"),
        (
            "https://e.com/a?q=%22x%22&b=a+b#sec?not=query",
            "https://e.com/a?q=%22x%22&b=a+b&utm_source=telegram&utm_medium=social#sec?not=query",
        ),
        ("https://e.com/a?", "https://e.com/a?utm_source=telegram&utm_medium=social"),
        ("https://e.com/a?x=1&", "https://e.com/a?x=1&utm_source=telegram&utm_medium=social"),
        ("https://e.com/a;p?x", "https://e.com/a;p?x&utm_source=telegram&utm_medium=social"),
    ],
)
def test_utm_parameters_are_appended_keeping_query_and_fragment(url: str, tracked: str) -> None:
    assert add_utm(url, UTM) == tracked


def test_a_utm_parameter_the_url_has_keeps_the_urls_value() -> None:
    url = "https://e.com/a?UTM_Source=rss&id=1"
    assert add_utm(url, UTM) == "https://e.com/a?UTM_Source=rss&id=1&utm_medium=social"


def test_no_utm_leaves_the_url_exactly_as_it_was() -> None:
    url = "https://e.com/a?b=%7e&c#"
    assert add_utm(url, {}) == url


def test_utm_values_are_percent_encoded() -> None:
    tracked = add_utm("https://e.com/a", {"utm_campaign": "spring sale & more/ü"})
    assert tracked == "https://e.com/a?utm_campaign=spring%20sale%20%26%20more%2F%C3%BC"


def test_iri_becomes_the_same_address_in_ascii() -> None:
    assert as_uri("https://Bücher.de:8080/straße?q=ä#ü") == (
        "https://xn--bcher-kva.de:8080/stra%C3%9Fe?q=%C3%A4#%C3%BC"
    )
    assert as_uri("https://e.com/a%20b?x=%41") == "https://e.com/a%20b?x=%41"  # kept as escaped


@pytest.mark.parametrize(
    "url",
    [
        "https://www.examplenews.com/a?id=1&lang=en#top",
        "https://пример.рф/новости/1",
        "https://bücher.de/x?y=1#z",
    ],
)
def test_x_keeps_a_link_it_recognises_whole(url: str) -> None:
    assert x_link(url) == url
    assert twitter_text.extract_urls(f"Title\n{url}\nSource") == [url]


def test_x_gets_a_cjk_path_percent_encoded_since_it_would_stop_the_link() -> None:
    url = "https://例え.jp/記事"
    assert twitter_text.extract_urls(url) != [url]
    assert x_link(url) == "https://xn--r8jz45g.jp/%E8%A8%98%E4%BA%8B"


def test_x_link_that_cannot_be_made_whole_is_a_formatting_error() -> None:
    with pytest.raises(FormattingError, match="X would not link"):
        x_link("https://www.examplenews.com/story.")


@pytest.mark.parametrize(
    "url",
    [
        "ftp://e.com/a",
        "https:///a",
        "https://localhost/a",
        "https://e.com/a b",
        "https://e.com/a\tb",
        "http://[::1",
    ],
)
def test_links_networks_would_not_link_are_refused(url: str) -> None:
    with pytest.raises(FormattingError):
        check_article_url(url)


def test_ip_and_ipv6_hosts_are_links() -> None:
    check_article_url("http://127.0.0.1:8080/a")
    check_article_url("http://[2001:db8::1]/a")


def test_a_plain_url_must_stand_alone() -> None:
    url = "https://e.com/a"
    assert has_plain_url(f"Read: {url}\nmore", url)
    assert has_plain_url(f"({url})", url)
    assert not has_plain_url(f"{url}/b", url)
    assert not has_plain_url(f"{url}x", url)
    assert not has_plain_url(f"x{url}", url)
