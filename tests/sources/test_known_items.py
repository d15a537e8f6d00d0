"""Known items left out of what feedparser reads: what it finds new must not change.

The rule every test checks: read a feed once, then read a later version of it with the first
reading's fingerprints as ``known``. The entries that are new (not among the first reading's)
must be exactly those feedparser finds new when it reads the later version whole, and every
entry must be one feedparser finds in it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syndicator.records import FeedEntry
from syndicator.sources.parse import ParsedFeed, parse_with_feedparser
from tests.sources.support import first_item_retitled

CORPUS = Path(__file__).parent / "corpus"
BASE_URL = "https://www.example-news.com/feeds/world/rss.xml"


def _read(content: bytes, known: frozenset[bytes] = frozenset()) -> ParsedFeed:
    return parse_with_feedparser(content, base_url=BASE_URL, known=known)


def _new(entries: tuple[FeedEntry, ...], before: ParsedFeed) -> list[FeedEntry]:
    return [entry for entry in entries if entry not in before.entries]


def assert_reads_what_is_new(before: bytes, after: bytes) -> ParsedFeed:
    first = _read(before)
    whole = _read(after)
    again = _read(after, first.item_digests)
    assert _new(again.entries, first) == _new(whole.entries, first)
    assert set(again.entries) <= set(whole.entries)
    assert again.item_digests == whole.item_digests
    assert (again.hub, again.self_url) == (whole.hub, whole.self_url)
    return again


# Every corpus feed but the one refused for safety (it declares entities).
READABLE = [path for path in sorted(CORPUS.glob("*.xml")) if path.name != "doctype_entities.xml"]


@pytest.mark.parametrize("path", READABLE, ids=lambda path: path.name)
def test_corpus_feed_read_again_finds_what_feedparser_finds_new(path: Path) -> None:
    content = path.read_bytes()
    assert_reads_what_is_new(content, content)
    assert_reads_what_is_new(content, first_item_retitled(content))


def _rss(items: list[str], *, channel_title: str = "World") -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        f"<channel><title>{channel_title}</title><link>https://news.example.com/</link>\n"
        + "\n".join(items)
        + "\n</channel></rss>"
    ).encode("utf-8")


def _item(n: int, title: str | None = None, body: str = "<p>Body</p>", extra: str = "") -> str:
    return (
        f"<item{extra}><title>{title or f'Story {n}'}</title>"
        f"<link>https://news.example.com/{n}</link><guid>urn:story:{n}</guid>"
        f"<description><![CDATA[{body}]]></description></item>"
    )


BARE_AMPERSAND = _item(90, title="Salt & pepper")  # not well-formed: feedparser reads leniently


def test_known_items_of_a_malformed_feed_are_left_out() -> None:
    before = _rss([BARE_AMPERSAND, *(_item(n) for n in range(1, 9))])
    after = _rss([_item(10), _item(9), BARE_AMPERSAND, *(_item(n) for n in range(1, 9))])
    again = assert_reads_what_is_new(before, after)
    assert [entry.title for entry in again.entries] == ["Story 10", "Story 9", "Salt & pepper"]
    assert again.unchanged == 8
    assert any("not well-formed" in problem for problem in again.problems)


def test_the_only_flaw_stays_in_so_feedparser_reads_as_leniently_as_before() -> None:
    before = _rss([*(_item(n) for n in range(1, 5)), BARE_AMPERSAND])
    after = _rss([_item(5), *(_item(n) for n in range(1, 5)), BARE_AMPERSAND])
    again = assert_reads_what_is_new(before, after)
    assert [entry.title for entry in again.entries] == ["Story 5", "Salt & pepper"]
    assert again.unchanged == 4


def test_nothing_after_an_unbalanced_item_is_left_out() -> None:
    unclosed = _item(50).replace("<![CDATA[<p>Body</p>]]>", "<p>Body")
    items = [_item(1), unclosed, _item(2), _item(3)]
    again = assert_reads_what_is_new(_rss(items), _rss([_item(4), *items]))
    assert again.unchanged == 1  # only the item before the unbalanced one


def test_nothing_after_a_namespace_declared_in_an_item_is_left_out() -> None:
    declaring = _item(50, extra=' xmlns:x="http://unknown.example/ns"')
    items = [_item(1), declaring, _item(2)]
    again = assert_reads_what_is_new(_rss(items), _rss(items))
    assert again.unchanged == 1


def test_items_read_strictly_before_are_read_again_when_the_feed_turns_malformed() -> None:
    items = [_item(n) for n in range(1, 5)]
    again = assert_reads_what_is_new(_rss(items), _rss(items, channel_title="News & views"))
    assert again.unchanged == 0


def test_a_malformed_feed_with_every_item_known_yields_no_entries() -> None:
    content = _rss([BARE_AMPERSAND, _item(1)], channel_title="")
    again = _read(content, _read(content).item_digests)
    assert again.entries == () or set(again.entries) <= set(_read(content).entries)
    assert again.unchanged >= 1


# Items as they come in the wild, flawed ones too; a version of a feed is a list of them.
_PIECES = [
    _item(1),
    _item(2, body="<p>Two &amp; more</p>"),
    _item(3, title="Bare & ampersand"),
    _item(4, body="<p>An&nbsp;HTML entity</p>").replace("<![CDATA[", "").replace("]]>", ""),
    _item(5, body="A CDATA holding </item><item> text"),
    _item(6, extra=' xml:base="https://other.example.com/"').replace(
        "https://news.example.com/6", "/relative/6"
    ),
    _item(7).replace("<title>", "<!-- </item> --><title>"),
    _item(8, body="<p>unclosed").replace("<![CDATA[", "").replace("]]>", ""),
    _item(9, title="Caf\u00e9 cr\u00e8me"),
    _item(10).replace("<title>", "<title type='html'>"),
    _item(11, extra=' xmlns:x="http://unknown.example/ns"'),
    "<item><title>No link</title><guid>urn:nolink</guid></item>",
    _item(13).replace("<title>", "<x:tag>prefixed</x:tag><title>"),  # x declared in item 11?
    _item(12, body="x")
    .replace("<description>", "<content:encoded>")
    .replace("</description>", "</content:encoded>"),
]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.sampled_from(_PIECES), max_size=6),
    st.lists(st.sampled_from(_PIECES), max_size=6),
    st.sampled_from(["World", "News & views", "Plain"]),
    st.sampled_from(["World", "News & views", "Plain"]),
)
def test_any_two_versions_of_a_feed(
    before: list[str], added: list[str], title_before: str, title_after: str
) -> None:
    assert_reads_what_is_new(
        _rss(before, channel_title=title_before),
        _rss(added + before[: len(before) // 2 + 1], channel_title=title_after),
    )
