"""What a web page says about itself, read with selectolax: every offer for every field.

A news page states its title, summary, image and date several times over: in JSON-LD for
search engines, in OpenGraph and Twitter card tags for social networks, and in the HTML head.
``read_page`` collects all of these as ``Offer`` records, best source first, and
``syndicator.sources.page`` picks the first usable one. Text that is site chrome rather than
story ("Follow us", "Report a mistake ... Ctrl+Enter", a phone number, "A A A", a copyright
line, a cookie notice) is never offered, so it cannot become a post's title or summary. Body
text is offered once, as the last resort for a title: the ``<h1>`` of ``<article>``/``<main>``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from selectolax.lexbor import LexborHTMLParser, LexborNode

from syndicator.sources.chrome import is_chrome
from syndicator.sources.text import html_to_text

JSON_LD = "json-ld"

# schema.org types whose node describes the article itself (Article and its news subtypes).
_ARTICLE_TYPES = frozenset(
    {"Article", "NewsArticle", "ReportageNewsArticle", "AnalysisNewsArticle",
     "OpinionNewsArticle", "BackgroundNewsArticle", "ReviewNewsArticle", "BlogPosting",
     "LiveBlogPosting", "Report"}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Offer:
    """One value a page gives for a field, and where it was found (``og:title``, ...)."""

    source: str
    value: str


@dataclass(frozen=True, slots=True)
class PageMeta:
    """Every offer per field, best source first. Text is plain; URLs are as written."""

    url: tuple[Offer, ...]
    title: tuple[Offer, ...]
    summary: tuple[Offer, ...]
    image: tuple[Offer, ...]
    published: tuple[Offer, ...]
    section: tuple[Offer, ...]
    author: tuple[Offer, ...]
    site_name: tuple[Offer, ...]
    tags: tuple[Offer, ...]


def read_page(html: bytes | str) -> PageMeta:
    """The offers in ``html``; bytes are decoded by their BOM or ``<meta charset>``, else UTF-8."""
    # scripting=True: a <noscript> in the head must not push the rest of the head into <body>.
    tree = LexborHTMLParser(html, encoding=True, scripting=True)
    metas = _meta_tags(tree)
    articles = _json_ld_articles(tree)

    def ld(key: str, *names: str) -> list[Offer]:
        return [
            Offer(JSON_LD, value)
            for node, index in articles
            for value in _values(node.get(key), index, names)
        ]

    def meta(*keys: str) -> list[Offer]:
        return [Offer(_LABELS.get(key, key), value) for key in keys for value in metas.get(key, ())]

    keywords = [Offer(JSON_LD, word) for offer in ld("keywords") for word in offer.value.split(",")]
    image_tags = meta("og:image", "og:image:url", "og:image:secure_url")
    image_tags += meta("twitter:image", "twitter:image:src")
    return PageMeta(
        url=(
            *ld("url"),
            *ld("mainEntityOfPage", "url", "@id"),
            *meta("og:url"),
            *_links(tree, "canonical"),
        ),
        title=_plain(
            ld("headline")
            + ld("name")
            + meta("og:title", "twitter:title")
            + _head_title(tree)
            + _heading(tree)
        ),
        summary=_plain(
            ld("description") + meta("og:description", "twitter:description", "description")
        ),
        image=(*ld("image", "url", "contentUrl"), *image_tags, *_links(tree, "image_src")),
        published=(*ld("datePublished"), *meta("article:published_time"), *_times(tree)),
        section=_plain(ld("articleSection") + meta("article:section")),
        author=_plain(_joined(ld("author", "name")) + meta("article:author", "author")),
        site_name=_plain(ld("publisher", "name") + meta("og:site_name", "application-name")),
        tags=_plain(meta("article:tag") + keywords),
    )


_LABELS = {"description": "meta description", "author": "meta author"}


def _plain(offers: list[Offer]) -> tuple[Offer, ...]:
    """Offers as one line of plain text: JSON-LD strings often carry entities or tags."""
    plain = (
        Offer(o.source, _one_line(html_to_text(o.value)) if o.source == JSON_LD else o.value)
        for o in offers
    )
    return tuple(o for o in plain if o.value and not is_chrome(o.value))


def _one_line(text: str) -> str:
    """Titles and summaries are one line: a newline in the markup is only a space."""
    return " ".join(text.split())


def _meta_tags(tree: LexborHTMLParser) -> dict[str, list[str]]:
    """``<meta property|name=... content=...>`` by lower-cased key; sites mix the two attributes."""
    found: dict[str, list[str]] = {}
    for node in tree.css("meta[content]"):
        content = _one_line(node.attributes.get("content") or "")
        keys = f"{node.attributes.get('property') or ''} {node.attributes.get('name') or ''}"
        for key in dict.fromkeys(keys.lower().split()):
            if content:
                found.setdefault(key, []).append(content)
    return found


def _links(tree: LexborHTMLParser, rel: str) -> list[Offer]:
    return [
        Offer(f"<link rel={rel}>", (node.attributes.get("href") or "").strip())
        for node in tree.css("link[rel][href]")
        if rel in (node.attributes.get("rel") or "").lower().split()
    ]


def _head_title(tree: LexborHTMLParser) -> list[Offer]:
    node = tree.css_first("head > title")  # not an <svg><title> from the body
    return [Offer("<title>", _one_line(node.text()))] if node is not None else []


def _heading(tree: LexborHTMLParser) -> list[Offer]:
    node = tree.css_first("article h1") or tree.css_first("main h1")
    return [Offer("<h1>", _one_line(html_to_text(node.html or "")))] if node is not None else []


def _times(tree: LexborHTMLParser) -> list[Offer]:
    """The article's own ``<time datetime>``: a marked publication time first."""
    nodes = tree.css("article time[itemprop=datePublished], article time[pubdate]")
    nodes += tree.css("article time[datetime]")
    return [Offer("<time datetime>", node.attributes.get("datetime") or "") for node in nodes]


def _joined(offers: list[Offer]) -> list[Offer]:
    """Several JSON-LD authors make one byline."""
    names = list(dict.fromkeys(o.value for o in offers))
    return [Offer(JSON_LD, ", ".join(names))] if names else []


# --- JSON-LD ---------------------------------------------------------------------------

_Node = dict[str, Any]
_MAX_DEPTH = 40


def _json_ld_articles(tree: LexborHTMLParser) -> list[tuple[_Node, dict[str, _Node]]]:
    """Each article node with the index of ``@id``s of its script, to resolve references."""
    found: list[tuple[_Node, dict[str, _Node]]] = []
    for script in tree.css("script[type]"):
        kind = (script.attributes.get("type") or "").partition(";")[0].strip().lower()
        if kind != "application/ld+json":
            continue
        nodes = list(_walk(_load(script)))
        index = {n["@id"]: n for n in nodes if isinstance(n.get("@id"), str) and len(n) > 1}
        found += [(n, index) for n in nodes if _types(n) & _ARTICLE_TYPES]
    return found


def _load(script: LexborNode) -> Any:
    text = script.text().strip()
    for wrapper in (("<!--", "-->"), ("<![CDATA[", "]]>")):  # left by old CMS templates
        text = text.removeprefix(wrapper[0]).removesuffix(wrapper[1]).strip()
    try:
        return json.loads(text, strict=False)  # strict=False: raw newlines inside strings
    except (ValueError, RecursionError):
        return None  # a broken block is skipped; the page's other metadata still counts


def _walk(data: Any, depth: int = 0) -> Iterator[_Node]:
    """Every object in the JSON, in document order: ``@graph``, lists and nesting included.

    Only so deep: no article is described forty levels down, and a hostile page could nest
    far enough to exhaust the stack.
    """
    if depth > _MAX_DEPTH:
        return
    if isinstance(data, list):
        for item in data:
            yield from _walk(item, depth + 1)
    elif isinstance(data, dict):
        yield data
        for value in data.values():
            yield from _walk(value, depth + 1)


def _types(node: _Node) -> set[str]:
    """``NewsArticle`` from ``NewsArticle``, ``schema:NewsArticle`` or a schema.org URL."""
    kinds = node.get("@type")
    names = kinds if isinstance(kinds, list) else [kinds]
    return {
        name.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
        for name in names
        if isinstance(name, str)
    }


def _values(value: Any, index: dict[str, _Node], keys: tuple[str, ...]) -> Iterator[str]:
    """Strings in ``value``: itself, each list item, or an object's first key of ``keys``."""
    if isinstance(value, str):
        if value.strip():
            yield value.strip()
    elif isinstance(value, list):  # one level: a list of strings or of objects
        for item in value:
            if not isinstance(item, list):
                yield from _values(item, index, keys)
    elif isinstance(value, dict):
        ref = value.get("@id")
        node = index.get(ref, value) if isinstance(ref, str) and len(value) == 1 else value
        for key in keys:
            if key in node:
                yield from _values(node[key], index, ())  # no deeper: a name is a string
                return
