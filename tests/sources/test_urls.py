"""normalise_url: one key for every spelling of an article's URL."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syndicator.sources import is_http_url, normalise_url


def test_tracking_parameters_are_dropped_and_the_rest_keep_their_order() -> None:
    url = "https://e.com/a?z=1&utm_source=tw&b=2&fbclid=x&UTM_Medium=m&gclid=g&a=3&_ga=1"

    assert normalise_url(url) == "https://e.com/a?z=1&b=2&a=3"


@pytest.mark.parametrize("name", ["mc_cid", "mc_eid", "yclid", "igshid", "utm_content"])
def test_each_tracking_parameter_is_dropped(name: str) -> None:
    assert normalise_url(f"https://e.com/a?{name}=1") == "https://e.com/a"


def test_query_parameters_are_kept_as_written() -> None:
    assert normalise_url("https://e.com/s?q=a+b&flag&x=%2F") == "https://e.com/s?q=a+b&flag&x=%2F"


def test_fragment_is_removed() -> None:
    assert normalise_url("https://e.com/story#comments") == "https://e.com/story"


def test_default_ports_are_removed_and_others_kept() -> None:
    assert normalise_url("http://e.com:80/a") == "http://e.com/a"
    assert normalise_url("https://e.com:443/a") == "https://e.com/a"
    assert normalise_url("https://e.com:80/a") == "https://e.com:80/a"
    assert normalise_url("http://e.com:8080/a") == "http://e.com:8080/a"


def test_scheme_and_host_are_lower_cased_but_not_the_path() -> None:
    assert normalise_url("HTTPS://News.Example.COM/World/Story") == (
        "https://news.example.com/World/Story"
    )


def test_trailing_slash_is_removed_and_an_empty_path_is_the_root() -> None:
    assert normalise_url("https://e.com/world/") == "https://e.com/world"
    assert normalise_url("https://e.com") == normalise_url("https://e.com/") == "https://e.com/"


def test_idn_host_becomes_punycode() -> None:
    assert normalise_url("https://Bücher.example/neu") == "https://xn--bcher-kva.example/neu"


def test_ipv6_host_keeps_its_brackets() -> None:
    assert normalise_url("http://[::1]:80/feed/") == "http://[::1]/feed"


@pytest.mark.parametrize(
    "bad",
    ["ftp://e.com/a", "mailto:desk@e.com", "/relative/path", "e.com/a", "http://", "http:///a",
     "http://e.com:99999/", "http://[::1/", "http://ex ample.com/", "javascript:alert(1)", ""],
)  # fmt: skip
def test_anything_but_an_http_url_raises_value_error(bad: str) -> None:
    with pytest.raises(ValueError):
        normalise_url(bad)
    assert not is_http_url(bad)


def test_error_message_does_not_show_a_password() -> None:
    with pytest.raises(ValueError) as caught:
        normalise_url("ftp://editor:hunter2@e.com/feed")

    assert "hunter2" not in str(caught.value)


def test_is_http_url_accepts_absolute_http_and_https() -> None:
    assert is_http_url("http://e.com")
    assert is_http_url("https://e.com/a?b=c")


@given(
    st.sampled_from(["http", "HTTPS"]),
    st.sampled_from(["e.com", "News.Example.org", "bücher.de", "[::1]"]),
    st.sampled_from(["", ":80", ":443", ":8080"]),
    st.lists(st.sampled_from(["a", "B", "", "x.html"]), max_size=3).map("/".join),
    st.lists(st.sampled_from(["q=1", "utm_source=x", "fbclid=2", "k", "z=%20"]), max_size=4),
    st.sampled_from(["", "#top"]),
)
def test_normalising_twice_changes_nothing(
    scheme: str, host: str, port: str, path: str, query: list[str], fragment: str
) -> None:
    url = f"{scheme}://{host}{port}/{path}{'?' if query else ''}{'&'.join(query)}{fragment}"

    key = normalise_url(url)

    assert normalise_url(key) == key
