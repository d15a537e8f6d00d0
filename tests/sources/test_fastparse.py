"""The fast path gives exactly what the feedparser path gives, or leaves the feed to it.

Every comparison runs both paths on the same bytes: ``fast_parse`` must return None or a
``ParsedFeed`` equal in every field to what the feedparser path returns (entries, notes on
skipped entries, hub and self links). The corpus holds feeds shaped like real news sites';
the well-formed ones must take the fast path, so that the equality is not vacuous.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from syndicator.errors import FeedError
from syndicator.sources import parse
from syndicator.sources.fastparse import fast_parse
from syndicator.sources.fastparse_fields import Text, finish
from syndicator.sources.fastparse_html import sanitizer_keeps, visible_text
from syndicator.sources.parse import ParsedFeed
from syndicator.sources.text import html_to_text
from tests.sources.support import first_item_retitled

CORPUS = Path(__file__).parent / "corpus"
FEEDS = sorted(CORPUS.glob("*.xml"))
BASE_URL = "https://www.example-news.com/feeds/world/rss.xml"

feedparser_path: Callable[..., ParsedFeed] = parse.parse_with_feedparser  # no fast path

# Corpus feeds that the fast path leaves to feedparser, and why.
LEFT_TO_FEEDPARSER = {
    "malformed_ampersand.xml": "not well-formed: a bare &",
    "malformed_unclosed.xml": "not well-formed: mismatched tags",
    "malformed_html_entity.xml": "not well-formed: HTML entities XML does not define",
    "malformed_truncated.xml": "not well-formed: cut off",
    "doctype_entities.xml": "declares entities",
    "encoding_latin1.xml": "ISO-8859-1 bytes",
    "encoding_cp1251.xml": "windows-1251 bytes",
    "encoding_utf16.xml": "UTF-16",
    "atom_xhtml_content.xml": "XHTML text constructs, which feedparser reads its own way",
}


def both_paths(
    content: bytes, base_url: str = BASE_URL, content_type: str | None = None
) -> tuple[Any, ParsedFeed | None]:
    """The feedparser path's result (or the error it raised) and the fast path's."""
    expected: Any
    try:
        expected = feedparser_path(content, base_url=base_url, content_type=content_type)
    except FeedError as e:
        expected = e
    return expected, fast_parse(content, base_url=base_url, content_type=content_type)


def assert_same_or_none(
    content: bytes, base_url: str = BASE_URL, content_type: str | None = None
) -> ParsedFeed | None:
    expected, fast = both_paths(content, base_url, content_type)
    if fast is not None:
        assert isinstance(expected, ParsedFeed), f"feedparser path raised {expected!r}"
        assert fast.entries == expected.entries
        assert fast == expected
    return fast


@pytest.mark.parametrize("path", FEEDS, ids=lambda path: path.name)
def test_corpus_feed_reads_as_feedparser_reads_it(path: Path) -> None:
    fast = assert_same_or_none(path.read_bytes())
    if path.name in LEFT_TO_FEEDPARSER:
        assert fast is None, LEFT_TO_FEEDPARSER[path.name]
    else:
        assert fast is not None, "a well-formed news feed must take the fast path"
        assert fast.entries


def test_most_of_the_corpus_takes_the_fast_path() -> None:
    assert len(FEEDS) >= 25
    assert set(LEFT_TO_FEEDPARSER) <= {path.name for path in FEEDS}
    assert len(LEFT_TO_FEEDPARSER) <= 0.2 * len(FEEDS)


CONTENT_TYPES = [
    "application/rss+xml",
    "text/xml",
    "text/xml; charset=utf-8",
    "application/atom+xml; charset=UTF-8",
    'application/xml; charset="iso-8859-1"',
    "text/html; charset=utf-8",
    "application/octet-stream",
    "application/rss+xml; charset=utf-8; q=0.9",
]


@pytest.mark.parametrize("content_type", CONTENT_TYPES)
@pytest.mark.parametrize(
    "name",
    ["rss_entities.xml", "rss_latin1_declared_ascii.xml", "atom_news.xml", "rss_utf8_bom.xml"],
)
def test_feed_served_under_any_content_type_reads_as_feedparser_reads_it(
    name: str, content_type: str
) -> None:
    assert_same_or_none((CORPUS / name).read_bytes(), content_type=content_type)


@pytest.mark.parametrize("path", FEEDS, ids=lambda path: path.name)
def test_parse_feed_reads_every_corpus_feed_as_feedparser_reads_it(path: Path) -> None:
    """The two paths combined, as the daemon runs them: the fast path changes nothing."""
    content = path.read_bytes()
    for content_type in [None, *CONTENT_TYPES]:
        expected, _ = both_paths(content, content_type=content_type)
        try:
            combined = parse.parse_feed(content, base_url=BASE_URL, content_type=content_type)
        except FeedError as e:
            assert isinstance(expected, FeedError), f"{content_type}: {e}"
            assert str(e) == str(expected)
        else:
            assert combined == expected, content_type


def test_feed_served_as_html_is_left_to_feedparser() -> None:
    content = (CORPUS / "rss_bbc_style.xml").read_bytes()
    assert fast_parse(content, base_url=BASE_URL, content_type="text/html") is None


@pytest.mark.parametrize("path", FEEDS[::3], ids=lambda path: path.name)
@pytest.mark.parametrize("fraction", [0.3, 0.85])
def test_truncated_feed_is_left_to_feedparser(path: Path, fraction: float) -> None:
    content = path.read_bytes()
    assert assert_same_or_none(content[: int(len(content) * fraction)]) is None


@pytest.mark.parametrize(
    "base_url",
    [
        "https://www.example-news.com/",
        "http://localhost:8080/a/b/c?feed=1",
        "https://ünï.example/feed",
    ],
)
@pytest.mark.parametrize(
    "name", ["rss_relative_links.xml", "atom_xml_base.xml", "rss_drupal_style.xml"]
)
def test_relative_links_resolve_as_feedparser_resolves_them(name: str, base_url: str) -> None:
    assert assert_same_or_none((CORPUS / name).read_bytes(), base_url=base_url) is not None


@pytest.mark.parametrize(
    "mutation",
    [
        lambda doc: doc.replace(b"<channel>", b"<channel>\n<!DOCTYPE x>", 1),
        lambda doc: doc.replace(b"<item>", b"<item><image><url>x</url></image>", 1),
        lambda doc: doc.replace(b"<title>", b"<title><b>bold</b>", 1),
        lambda doc: codecs.BOM_UTF16_LE + doc.decode().encode("utf-16-le"),
        lambda doc: doc.replace(b"<item>", b'<item xmlns="http://unknown.example/">', 1),
        lambda doc: doc.replace(b"<item>", "<item><a\u0e00b/>".encode(), 1),
    ],
    ids=[
        "doctype-inside",
        "image-in-item",
        "markup-in-title",
        "utf-16",
        "unknown-default-namespace",
        "name-expat-refuses",
    ],
)
def test_document_the_fast_path_does_not_replay_is_left_to_feedparser(
    mutation: Callable[[bytes], bytes],
) -> None:
    content = mutation((CORPUS / "rss_guardian_style.xml").read_bytes())
    assert assert_same_or_none(content) is None


# -- generated feeds --------------------------------------------------------------------------

_xml_text = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff")
    | st.sampled_from("\n\t <>&\"'"),
    max_size=12,
)
_html_bits = st.sampled_from(
    ["<p>", "</p>", "<b>", "</b>", "<br>", "<br/>", '<a href="/x?a=1&amp;b=2">', "</a>",
     '<img src="i.jpg" alt="Ã©"/>', "<script>x()</script>", "<!-- c -->", "<div>", "</div>",
     "<li>", "<table><tr><td>", "&amp;", "&lt;", "&nbsp;", "&#8217;", "&#150;", "&copy", "&bogus;",
     "AT&T", " & ", "Ã©", "é", "€", "\u2019", "\xa0", "\n", "  ", "]]>", "<iframe src=x></iframe>"]
)  # fmt: skip
_html = st.lists(_html_bits | _xml_text, max_size=8).map("".join)
_links = st.sampled_from(
    ["https://news.example.com/a/1", "/relative/2", "stories/3.html", "//cdn.example.com/4",
     "https://news.example.com/q?a=1&b=2", " https://news.example.com/padded ", "",
     "mailto:x@example.com"]
)  # fmt: skip
_dates = st.sampled_from(
    [
        "Tue, 14 May 2024 08:12:44 GMT",
        "2024-05-14T10:00:00+02:00",
        "14 May 24 09:00 +0000",
        "soon",
        "",
    ]
)


def _text_element(name: str, value: str, cdata: bool, attributes: str = "") -> str:
    body = f"<![CDATA[{value}]]>" if cdata and "]]>" not in value else escape(value)
    return f"<{name}{attributes}>{body}</{name}>"


@st.composite
def _rss_item(draw: st.DrawFn) -> str:
    parts = [_text_element("title", draw(_html | _xml_text), draw(st.booleans()))]
    if draw(st.booleans()):
        parts.append(_text_element("link", draw(_links), False))
    if draw(st.booleans()):
        permalink = draw(st.sampled_from(["", ' isPermaLink="false"', ' isPermaLink="true"']))
        parts.append(_text_element("guid", draw(_links | _xml_text), False, permalink))
    for _ in range(draw(st.integers(0, 2))):
        parts.append(_text_element("description", draw(_html), draw(st.booleans())))
    if draw(st.booleans()):
        parts.append(_text_element("content:encoded", draw(_html), draw(st.booleans())))
    if draw(st.booleans()):
        parts.append(_text_element("pubDate", draw(_dates), False))
    for _ in range(draw(st.integers(0, 2))):
        parts.append(_text_element("category", draw(_xml_text), draw(st.booleans())))
    if draw(st.booleans()):
        parts.append(_text_element("dc:creator", draw(_xml_text), draw(st.booleans())))
    if draw(st.booleans()):
        url, medium = draw(_links), draw(st.sampled_from(["", "image", "video"]))
        parts.append(f"<media:content url={quoteattr(url)} medium={quoteattr(medium)}/>")
    for template in draw(st.lists(_extras, max_size=3)):
        text, link = escape(draw(_html | _xml_text)), escape(draw(_links))
        parts.append(template.format(text=text, link=link))
    draw(st.randoms()).shuffle(parts)
    return f"<item>{''.join(parts)}</item>"


# Elements whose effect depends on what else the entry holds, and on where they stand.
_extras = st.sampled_from(
    ['<media:group><media:content url="{link}"><media:title>{text}</media:title>'
     '<media:thumbnail url="{link}"/></media:content></media:group>',
     '<media:description type="plain">{text}</media:description>', "<dc:title>{text}</dc:title>",
     '<atom:link rel="enclosure" type="image/jpeg" href="{link}"/>', '<atom:link href="{link}"/>',
     "<atom:title>{text}</atom:title>", '<enclosure url="{link}" type="image/png"/>',
     "<media:thumbnail>{link}</media:thumbnail>", '<source url="{link}">{text}</source>',
     "<x:wrap><title>{text}</title><link>{link}</link></x:wrap>", '<x:leaf a="1">{text}</x:leaf>',
     "<media:keywords>{text}, b</media:keywords>", '<category domain="d"/>',
     "<author>{text}</author>", "<atom:author><atom:name>{text}</atom:name></atom:author>",
     "<dc:date>2024-05-14T10:00:00Z</dc:date>", "<summary>{text}</summary>",
     '<guid isPermaLink="false">{text}</guid>', "<!-- {text} -->"]
)  # fmt: skip


@st.composite
def _atom_entry(draw: st.DrawFn) -> str:
    kinds = st.sampled_from(["", ' type="text"', ' type="html"'])
    parts = [
        _text_element("title", draw(_html | _xml_text), draw(st.booleans()), draw(kinds)),
        _text_element("id", draw(_links | _xml_text), False),
    ]
    if draw(st.booleans()):
        parts.append(f"<link href={quoteattr(draw(_links))}/>")
    if draw(st.booleans()):
        parts.append(_text_element("summary", draw(_html), draw(st.booleans()), draw(kinds)))
    if draw(st.booleans()):
        parts.append(_text_element("content", draw(_html), draw(st.booleans()), draw(kinds)))
    if draw(st.booleans()):
        parts.append(_text_element("updated", draw(_dates), False))
    if draw(st.booleans()):
        parts.append(f"<author><name>{escape(draw(_xml_text))}</name></author>")
    if draw(st.booleans()):
        parts.append(f"<category term={quoteattr(draw(_xml_text))}/>")
    draw(st.randoms()).shuffle(parts)
    base = draw(st.sampled_from(["", ' xml:base="https://other.example/dir/"', ' xml:base="sub/"']))
    return f"<entry{base}>{''.join(parts)}</entry>"


@st.composite
def _feeds(draw: st.DrawFn) -> bytes:
    if draw(st.booleans()):
        items = "".join(draw(st.lists(_rss_item(), min_size=1, max_size=3)))
        document = (
            '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0" '
            'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/" '
            'xmlns:media="http://search.yahoo.com/mrss/" '
            'xmlns:atom="http://www.w3.org/2005/Atom" xmlns:x="http://unknown.example/ns">'
            f"<channel><title>Generated</title><link>https://news.example.com/</link>{items}</channel></rss>"
        )
    else:
        entries = "".join(draw(st.lists(_atom_entry(), min_size=1, max_size=3)))
        document = (
            '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
            f"<title>Generated</title><id>urn:generated</id>{entries}</feed>"
        )
    return document.encode("utf-8")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_feeds())
def test_generated_feed_reads_as_feedparser_reads_it(content: bytes) -> None:
    assert_same_or_none(content)


# -- the HTML shortcut --------------------------------------------------------------------------

_simple_html = st.lists(
    st.sampled_from(
        ["<p>", "</p>", "<P class='x'>", "<b>", "</b>", "<br>", "<br/>", "<BR />", "<hr>", "<li>",
         "</li>", "<td>", "<tr>", "<h2>", "</h2>", "<blockquote>", "<img src=\"a.jpg\" alt=\"\">",
         '<a href="/rel?a=1&b=2" title="t">', "</a>", "<span>", "</span>", "<mark>", "<p/>",
         "</br>",
         "&amp;", "&lt;", "&nbsp;", "&hellip;", "&#8217;", "&#x2019;", "&#150;", "&#0;", "&apos;",
         "&foo;", "&copy", "&", " & ", "\n", "\t", "  ", "\xa0", "Ã©", "é", "\x85", "\u2028", "€"]
    )
    | st.text(st.characters(codec="utf-8"), max_size=5),
    max_size=14,
).map("".join)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(_simple_html)
@example("<p>One<br>two</p><p>three &amp; four</p>")
def test_simple_html_reads_as_html_to_text_reads_it(html: str) -> None:
    assert visible_text(html) == html_to_text(html)


@settings(max_examples=300, deadline=None)
@given(
    _simple_html.map(str.strip),
    st.sampled_from(["https://news.example.com/a/", "https://ü.example/"]),
)
def test_sanitizer_leaves_simple_html_reading_the_same(html: str, base: str) -> None:
    sanitized = Text(html, html=True, base=base).value  # feedparser's sanitizer, for real
    if sanitizer_keeps(html, base) is not None:
        assert html_to_text(sanitized) == visible_text(finish(html))
        assert bool(sanitized) == bool(html)


# -- items read before ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["rss_news_100k.xml", "atom_news.xml", "rdf_rss1.xml", "rss_cdata_everywhere.xml"]
)
def test_an_item_changed_since_the_last_reading_is_the_only_one_read_again(name: str) -> None:
    before = parse.parse_feed((CORPUS / name).read_bytes(), base_url=BASE_URL)
    changed = first_item_retitled((CORPUS / name).read_bytes())
    everything = parse.parse_feed(changed, base_url=BASE_URL)
    again = parse.parse_feed(changed, base_url=BASE_URL, known=before.item_digests)
    (entry,) = again.entries
    assert entry.title.startswith("Updated: ") and entry == everything.entries[0]
    assert again.unchanged == len(everything.entries) - 1 + len(everything.problems)
    assert again.item_digests == everything.item_digests
    assert (again.hub, again.self_url) == (everything.hub, everything.self_url)


def test_a_feed_read_again_unchanged_yields_no_entries_and_no_notes() -> None:
    content = (CORPUS / "rss_relative_links.xml").read_bytes()
    first = parse.parse_feed(content, base_url=BASE_URL)
    again = parse.parse_feed(content, base_url=BASE_URL, known=first.item_digests)
    assert (again.entries, again.problems) == ((), ())
    assert again.unchanged == len(first.entries) + len(first.problems) > 0


def test_the_same_items_fetched_from_another_address_are_read_again() -> None:
    content = (CORPUS / "rss_relative_links.xml").read_bytes()
    first = parse.parse_feed(content, base_url=BASE_URL)
    elsewhere = "https://mirror.example.org/feeds/world.xml"  # relative links resolve otherwise
    moved = parse.parse_feed(content, base_url=elsewhere, known=first.item_digests)
    assert moved == parse.parse_feed(content, base_url=elsewhere) and moved.unchanged == 0


def test_a_malformed_feed_is_read_whole_when_no_item_is_known() -> None:
    content = (CORPUS / "malformed_ampersand.xml").read_bytes()
    first = parse.parse_feed(content, base_url=BASE_URL)
    assert first.item_digests  # feedparser's items are fingerprinted too (known_items)
    assert parse.parse_feed(content, base_url=BASE_URL, known={b"\0" * 8}) == first
