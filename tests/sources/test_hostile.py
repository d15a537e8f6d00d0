"""Hostile and broken feeds: refused or recovered, never a hang, a blown heap or a leaked file.

Every feed is built here. Most go straight through ``parse_feed``; the ones that involve the
network (a URL an entity names, a charset only the HTTP header gives, a cut-off download)
are served on 127.0.0.1 and read with ``fetch_feed``.
"""

from __future__ import annotations

import asyncio
import time
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from syndicator.errors import FeedError
from syndicator.serving import ThreadedServer
from syndicator.sources import FeedFetch, fetch_feed, http_client, parse_feed
from syndicator.sources.parse import ParsedFeed, parse_with_feedparser

BASE = "https://news.example.com/feeds/main.xml"
UTF8 = '<?xml version="1.0" encoding="utf-8"?>'
MB = 1024 * 1024
REFUSED = "feed declares XML entities; refused for safety"
ITEM = "<item><title>{title}</title><link>{link}</link><description>{body}</description></item>"


def rss(items: str, *, prolog: str = "", declaration: str = UTF8, title: str = "Daily") -> str:
    return (
        f'{declaration}\n{prolog}\n<rss version="2.0"><channel><title>{title}</title>'
        f"<link>https://news.example.com/</link>\n{items}\n</channel></rss>"
    )


def item(title: str = "Story", link: str = "https://news.example.com/story", body: str = "") -> str:
    return ITEM.format(title=title, link=link, body=body)


def parse(document: str | bytes, content_type: str | None = None) -> ParsedFeed:
    """``parse_feed``'s reading, having checked that the fast path changed nothing in it."""
    content = document.encode() if isinstance(document, str) else document
    feed = parse_feed(content, base_url=BASE, content_type=content_type)
    assert feed == parse_with_feedparser(content, base_url=BASE, content_type=content_type)
    return feed


def titles(feed: ParsedFeed) -> list[str]:
    return [entry.title for entry in feed.entries]


def refused_within_bounds(document: str) -> FeedError:
    """The FeedError ``document`` raises, having checked it took under 50 MB and 2 s."""
    content = document.encode()
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(FeedError) as caught:
            parse_feed(content, base_url=BASE)
    finally:
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < 50 * MB, f"peak {peak / MB:.0f} MB"
    assert elapsed < 2.0, f"took {elapsed:.1f} s"
    return caught.value


# --- A site on 127.0.0.1 that remembers what it was asked for -------------------------------


@dataclass
class Site:
    url: str = ""
    pages: dict[str, Response] = field(default_factory=dict)
    requested: list[str] = field(default_factory=list)

    async def serve(self, request: Request) -> Response:
        self.requested.append(request.url.path)
        return self.pages.get(request.url.path) or Response("no such page", 404)

    def put(self, path: str, response: Response) -> str:
        self.pages[path] = response
        return f"{self.url}{path}"


@pytest.fixture(scope="module")
def served() -> Iterator[Site]:
    site = Site()
    with ThreadedServer(Starlette(routes=[Route("/{path:path}", site.serve)])) as server:
        site.url = server.url
        yield site


@pytest.fixture
def site(served: Site) -> Site:
    served.pages.clear()
    served.requested.clear()
    return served


def fetch(url: str) -> FeedFetch:
    async def run() -> FeedFetch:
        async with http_client() as client:
            return await fetch_feed(client, url)

    return asyncio.run(run())


# --- Entities: refused before any parser can expand or fetch them --------------------------

LAUGHS = ['<!ENTITY lol0 "lol">'] + [
    f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10)
]  # ten levels of ten: a billion "lol"s from a document of 1 KB


@pytest.mark.parametrize(
    "prolog",
    [
        "<!DOCTYPE rss [\n" + "\n".join(LAUGHS) + "\n]>",
        "<!DOCTYPE rss [" + "".join(LAUGHS) + "]>",  # one line: feedparser's own strip misses it
        "<!DOCTYPE rss [\n<!-- <a -->\n" + "\n".join(LAUGHS) + "\n]>",  # so does a "<a" before it
    ],
    ids=["declarations-on-their-own-lines", "declarations-on-one-line", "behind-a-comment"],
)
def test_billion_laughs_is_refused_in_little_memory_and_time(prolog: str) -> None:
    error = refused_within_bounds(rss(item(title="&lol9;"), prolog=prolog))

    assert (error.feed, error.reason) == (BASE, REFUSED)


BIG = "A" * 100_000
QUADRATIC_BODY = "&big;" * 10_000  # one 100 KB entity used 10,000 times: 1 GB of text


@pytest.mark.parametrize(
    "document",
    [
        rss(item(body=QUADRATIC_BODY), prolog=f'<!DOCTYPE rss [\n<!ENTITY big "{BIG}">\n]>'),
        # In a comment expat skips it, but feedparser's fallback parser still picks it up.
        rss(
            item(body=QUADRATIC_BODY),
            prolog=f'<!DOCTYPE rss [\n<!--\n<!ENTITY big "{BIG}">\n-->\n]>',
        ),
        # After a root element whose name feedparser does not take for one.
        rss(item(body=QUADRATIC_BODY), prolog=f'<!DOCTYPE Éroot>\n<Éroot>\n<!ENTITY big "{BIG}">'),
    ],
    ids=["in-the-doctype", "inside-a-comment", "after-a-non-ascii-root"],
)
def test_quadratic_blowup_is_refused_in_little_memory_and_time(document: str) -> None:
    error = refused_within_bounds(document)

    assert error.reason == REFUSED


def test_external_entity_naming_a_local_file_is_refused_and_the_file_is_not_read(
    tmp_path: Path,
) -> None:
    secret = tmp_path / "passwd"
    secret.write_text("root:SECRET-LINE")
    prolog = f'<!DOCTYPE rss [\n<!ENTITY xxe SYSTEM "{secret.as_uri()}">\n]>'

    error = refused_within_bounds(rss(item(title="&xxe;"), prolog=prolog))

    assert error.reason == REFUSED
    assert "SECRET" not in str(error)


def test_external_entity_naming_a_url_is_refused_and_never_fetched(site: Site) -> None:
    site.put("/internal/admin", Response("SECRET-PAGE"))
    prolog = f'<!DOCTYPE rss [<!ENTITY xxe SYSTEM "{site.url}/internal/admin">]>'
    url = site.put("/feed.xml", Response(rss(item(title="&xxe;"), prolog=prolog)))

    with pytest.raises(FeedError) as caught:
        fetch(url)

    assert (caught.value.feed, caught.value.reason) == (url, REFUSED)
    assert site.requested == ["/feed.xml"]


@pytest.mark.parametrize(
    "prolog",
    [
        "<!DOCTYPE rss [\n<!ENTITY % p \"<!ENTITY q 'QQQ'>\">\n%p;\n]>",
        '<!DOCTYPE rss [\n<!ENTITY % p SYSTEM "http://127.0.0.1:9/evil.dtd">\n%p;\n]>',
    ],
    ids=["internal", "external"],
)
def test_parameter_entities_are_refused(prolog: str) -> None:
    error = refused_within_bounds(rss(item(title="&q;"), prolog=prolog))

    assert error.reason == REFUSED


def test_an_external_dtd_is_not_fetched_and_the_feed_still_reads(site: Site) -> None:
    site.put("/rss-0.91.dtd", Response('<!ENTITY story "FROM-THE-DTD">'))
    prolog = (
        '<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
        f'"{site.url}/rss-0.91.dtd">'
    )
    url = site.put("/netscape.xml", Response(rss(item(title="Old &amp; fine"), prolog=prolog)))

    result = fetch(url)

    assert titles(result.feed) == ["Old & fine"]
    assert site.requested == ["/netscape.xml"]


def test_html_entity_names_without_a_dtd_still_decode() -> None:
    result = parse(rss(item(title="Caf&eacute;&nbsp;society &hellip; &copy; 2025")))

    assert titles(result) == ["Café society … © 2025"]


def test_an_article_quoting_an_entity_declaration_is_not_refused() -> None:
    quoted = (
        '<![CDATA[<p>Write <code><!ENTITY lol "lol"></code> and watch.</p>]]>'
        " &lt;!ENTITY x SYSTEM &quot;file:///etc/passwd&quot;&gt;"
    )

    (entry,) = parse(rss(item(title="How XML bombs work", body=quoted))).entries

    assert 'Write <!ENTITY lol "lol"> and watch.' in entry.summary


# --- Encodings: declared, undeclared and wrongly declared -----------------------------------


def test_windows_1251_declared_in_the_xml_declaration_is_read() -> None:
    document = rss(
        item(title="Новости"), declaration='<?xml version="1.0" encoding="windows-1251"?>'
    )

    result = parse(document.encode("cp1251"), "application/rss+xml")

    assert (titles(result), result.problems) == (["Новости"], ())


def test_charset_given_only_by_the_http_header_is_read(site: Site) -> None:
    document = rss(item(title="Новости"), declaration='<?xml version="1.0"?>')
    url = site.put("/ru.xml", Response(document.encode("cp1251"), headers={
        "Content-Type": "application/rss+xml; charset=windows-1251"}))  # fmt: skip

    result = fetch(url)

    assert (titles(result.feed), result.problems) == (["Новости"], ())


@pytest.mark.parametrize(
    ("title", "encoding", "read_as"),
    [("Новости дня", "cp1251", "windows-1251"), ("Café crème", "cp1252", "windows-1252")],
)
def test_feed_that_says_utf8_but_is_not_is_read_in_its_real_encoding(
    title: str, encoding: str, read_as: str
) -> None:
    result = parse(rss(item(title=title)).encode(encoding), "application/rss+xml")

    assert titles(result) == [title]
    assert result.problems == (
        "feed declares the wrong character encoding (recovered): "
        f"declared utf-8, read as {read_as}",
    )


@pytest.mark.parametrize(
    ("title", "encoding"), [("Straße in München", "cp1252"), ("Новости", "cp1251")]
)
def test_legacy_feed_with_no_declaration_at_all_is_read(title: str, encoding: str) -> None:
    result = parse(rss(item(title=title), declaration="").encode(encoding))

    assert titles(result) == [title]
    assert result.problems[0].startswith("feed is not UTF-8 and does not say what it is")


def test_utf8_without_any_declaration_is_read_without_a_note() -> None:
    result = parse(rss(item(title="Новости, café"), declaration="").encode())

    assert (titles(result), result.problems) == (["Новости, café"], ())


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
@pytest.mark.parametrize("declaration", ['<?xml version="1.0" encoding="utf-16"?>', ""])
def test_utf16_and_utf32_with_a_byte_order_mark_are_read(encoding: str, declaration: str) -> None:
    document = rss(item(title="Новости, café"), declaration=declaration)
    content = document.encode(encoding)
    if encoding == "utf-16-be":
        content = b"\xfe\xff" + content

    result = parse(content)

    assert titles(result) == ["Новости, café"]


def test_utf8_byte_order_mark_is_skipped_and_beats_a_wrong_declaration() -> None:
    plain = rss(item(title="café"))
    wrong = rss(item(title="Новости"), declaration='<?xml version="1.0" encoding="windows-1251"?>')

    assert titles(parse(b"\xef\xbb\xbf" + plain.encode())) == ["café"]
    result = parse(b"\xef\xbb\xbf" + wrong.encode())
    assert titles(result) == ["Новости"]
    assert result.problems == (
        "feed declares the wrong character encoding (recovered): "
        "declared windows-1251, read as utf-8",
    )


def test_utf8_served_with_a_stale_latin1_charset_is_read_as_utf8() -> None:
    result = parse(rss(item(title="Café – Новости")).encode(), "text/xml; charset=ISO-8859-1")

    assert titles(result) == ["Café – Новости"]
    assert "read as utf-8" in result.problems[0]


def test_text_xml_without_a_charset_is_not_taken_for_ascii() -> None:
    result = parse(rss(item(title="café")).encode(), "text/xml")

    assert (titles(result), result.problems) == (["café"], ())


def test_an_unknown_encoding_name_falls_back_to_utf8_with_a_note() -> None:
    declaration = '<?xml version="1.0" encoding="x-made-up"?>'

    result = parse(rss(item(title="café"), declaration=declaration).encode())

    assert titles(result) == ["café"]
    assert result.problems == (
        "feed declares the wrong character encoding (recovered): declared x-made-up, read as utf-8",
    )


# --- Malformed XML: recovered where feedparser can, a FeedError where it cannot -------------

RECOVERED = "feed is not well-formed XML (recovered): "


def test_unescaped_ampersand_is_recovered_with_a_note() -> None:
    result = parse(rss(item(title="Tom & Jerry", link="https://e.com/a?b=1&c=2") + item()))

    assert titles(result) == ["Tom & Jerry", "Story"]
    assert result.entries[0].url == "https://e.com/a?b=1&c=2"
    assert result.problems[0].startswith(RECOVERED)


def test_unclosed_markup_inside_an_item_is_recovered() -> None:
    broken = "<item><title>One</title><link>https://e.com/1</link><description><b>bold"
    broken += "</description></item>" + item(title="Two", link="https://e.com/2")

    result = parse(rss(broken))

    assert titles(result) == ["One", "Two"]
    assert result.entries[0].summary == "bold"
    assert result.problems[0].startswith(RECOVERED)
    assert result.problems[0].endswith("mismatched tag")


def test_an_entry_mangled_beyond_recovery_is_skipped_with_a_note() -> None:
    # An unclosed <title> swallows its link: feedparser cannot tell where the title ended.
    broken = "<item><title>One<link>https://e.com/1</link></item>"

    result = parse(rss(broken))

    assert result.entries == ()
    assert result.problems[0].startswith(RECOVERED)
    assert result.problems[1] == "entry 1 (no guid or title) has no link: skipped"


def test_missing_closing_tags_at_the_end_are_recovered() -> None:
    document = rss(item(title="One") + item(title="Two")).removesuffix("</channel></rss>")

    result = parse(document)

    assert titles(result) == ["One", "Two"]
    assert result.problems[0].startswith(RECOVERED)


@pytest.mark.parametrize(
    "garbage",
    ["<script>alert(1)</script> &&& <<<", "<html><body>Fatal error: database</body></html>"],
)
def test_garbage_after_the_root_element_is_ignored_with_a_note(garbage: str) -> None:
    result = parse(rss(item(title="One") + item(title="Two")) + garbage)

    assert titles(result) == ["One", "Two"]
    assert result.problems[0].startswith(RECOVERED)
    assert result.problems[0].endswith("junk after document element")


def test_document_cut_off_mid_item_keeps_the_complete_entries() -> None:
    whole = rss(item(title="One") + item(title="Two", body="A long story about something"))

    result = parse(whole[: whole.index("about")])

    assert titles(result) == ["One", "Two"]
    assert result.entries[1].summary == ""  # the half-received description is not used
    assert result.problems[0].startswith(RECOVERED)


def test_link_cut_off_by_truncation_is_never_posted() -> None:
    whole = rss(item(title="One") + item(title="Two", link="https://news.example.com/2025/a-b"))

    result = parse(whole[: whole.index("/2025/a-b")])

    assert titles(result) == ["One"]
    assert result.problems[1] == "entry 2 (title 'Two') has no link: skipped"


def test_document_cut_off_before_any_entry_is_a_feed_error() -> None:
    with pytest.raises(FeedError) as caught:
        parse(rss(item())[:30])

    assert caught.value.feed == BASE
    assert caught.value.reason.startswith("not a feed: ")


@pytest.mark.parametrize(
    "content",
    [b"", b" \n\t", b'{"items": [{"title": "json"}]}', bytes(range(256)) * 4, b"\x00" * 64],
    ids=["empty", "blank", "json", "binary", "nul-bytes"],
)
def test_what_is_not_a_feed_at_all_is_a_feed_error(content: bytes) -> None:
    with pytest.raises(FeedError) as caught:
        parse(content)

    assert caught.value.reason.startswith("not a feed: ")


def test_a_download_cut_off_by_the_network_is_a_feed_error(site: Site) -> None:
    body = rss(item()).encode()
    cut = Response(body[:100], headers={"Content-Length": str(len(body))})
    url = site.put("/cut.xml", cut)

    with pytest.raises(FeedError) as caught:
        fetch(url)

    assert caught.value.feed == url
    assert "server broke the HTTP protocol" in caught.value.reason


# --- Text and links ----------------------------------------------------------------------


def test_control_characters_are_dropped_from_titles_summaries_and_guids() -> None:
    entry = (
        "<item><title>Bad\x00 news\x07</title><link>https://e.com/1</link>"
        '<description>Line\x0bone\x7f</description><guid isPermaLink="false">id\x00-1</guid></item>'
    )

    (result,) = parse(rss(entry)).entries

    assert (result.title, result.summary, result.guid) == ("Bad news", "Line one", "id-1")


def test_relative_links_resolve_in_a_feed_that_had_to_be_recovered() -> None:
    result = parse(
        rss(item(title="Fish & chips", link="../2025/fish") + item(link="//cdn.e.com/b"))
    )

    assert [entry.url for entry in result.entries] == [
        "https://news.example.com/2025/fish",
        "https://cdn.e.com/b",
    ]
    assert result.problems[0].startswith(RECOVERED)


def test_atom_xml_base_resolves_links_and_xhtml_titles_become_plain_text() -> None:
    atom = """<?xml version="1.0" encoding="utf-8"?>
    <feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://news.example.com/section/">
      <title>Atom</title>
      <entry xml:base="/2025/"><id>urn:1</id><link href="story-1"/>
        <title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">Hello <b>world</b>
          &amp; co</div></title>
        <summary type="html">&lt;p&gt;One&lt;/p&gt;&lt;p&gt;Two &amp;amp; three&lt;/p&gt;</summary>
      </entry>
      <entry><id>urn:2</id><link rel="alternate" href="story-2"/>
        <title type="text">Plain &lt;tag&gt; text</title></entry>
    </feed>"""

    first, second = parse(atom).entries

    assert first.url == "https://news.example.com/2025/story-1"
    assert (first.title, first.summary) == ("Hello world & co", "One\n\nTwo & three")
    assert second.url == "https://news.example.com/section/story-2"
    assert second.title == "Plain <tag> text"


def test_character_references_and_double_escaped_html_become_plain_text() -> None:
    title = "It&#8217;s &#x2014; &amp;amp; &lt;b&gt;more&lt;/b&gt;"
    body = "<![CDATA[<p>Para   one\n  wrapped</p><script>evil()</script><p>Two&nbsp;&eacute;</p>]]>"

    (entry,) = parse(rss(item(title=title, body=body))).entries

    assert (entry.title, entry.summary) == ("It’s — & more", "Para one wrapped\n\nTwo é")


def test_a_blank_link_is_skipped_with_a_note_and_a_padded_one_is_trimmed() -> None:
    result = parse(rss(item(title="Blank", link="  \n ") + item(link="\n https://e.com/x \n")))

    assert [entry.url for entry in result.entries] == ["https://e.com/x"]
    assert result.problems == ("entry 1 (title 'Blank') has no link: skipped",)
