"""feedparser's handlers for the elements of an entry, replayed on a ``RawEntry``.

Each handler does what feedparser's ``_start_``/``_end_`` pair for that element does to the
keys ``parse.py`` reads, quirks included: of two titles the shallower wins and a later one
at the same depth is ignored; a second description is read as content, and content stands
in for a missing summary; a permalink guid is resolved and becomes the link unless one is
already there; a ``<link>`` with text is unescaped once more; an author string is rebuilt
from the last author's name and e-mail. ``ENTRY_HANDLERS`` maps feedparser's element keys to
them; ``fastparse_model`` refuses any other element that feedparser has a handler for.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from feedparser.datetimes import _parse_date
from feedparser.mixin import _FeedParserMixin

from syndicator.sources.fastparse_fields import (
    RawEntry,
    Text,
    Unsure,
    attributes,
    enforce_href,
    finish,
    leaf_text,
    link_attributes,
    map_content_type,
    resolve,
)

if TYPE_CHECKING:
    from syndicator.sources.fastparse_model import Model

_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_MEDIA_SCHEME = "http://search.yahoo.com/mrss/category_schema"
_AUTHOR_PARTS = frozenset({"name", "email", "uri", "url", "homepage"})
_EMAIL = re.compile(
    r"(([a-zA-Z0-9\_\-\.\+]+)@((\[[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.)|(([a-zA-Z0-9\-]+\.)+))"
    r"([a-zA-Z]{2,4}|[0-9]{1,3})(\]?))(\?subject=\S+)?"
)  # feedparser's own pattern for an e-mail address in an author string
_LINK_REF = re.compile("&([A-Za-z0-9_]+);")
looks_like_html: Callable[[str], bool] = _FeedParserMixin.looks_like_html

Attrs = dict[str, str]


def _text_construct(model: Model, element: Any, attrs: Attrs, default: str,
                    base: str) -> tuple[Text, str]:  # fmt: skip
    """A title, summary or content: its value and feedparser's final idea of its type."""
    if "mode" in attrs:
        raise Unsure("a base64 or escaped-mode text construct")
    content_type = map_content_type(attrs["type"]) if "type" in attrs else default
    if content_type not in ("text/plain", "text/html"):
        raise Unsure(f"a text construct of type {content_type!r}")
    raw = leaf_text(element)
    if not model.atom and content_type == "text/plain" and raw and looks_like_html(raw):
        content_type = "text/html"  # RSS makes feedparser guess
    return Text(raw, html=content_type == "text/html", base=base), content_type


def title(model: Model, element: Any, key: str, attrs: Attrs, depth: int, base: str) -> None:
    entry = model.current()
    value, content_type = _text_construct(model, element, attrs, "text/plain", base)
    if not -1 < model.title_depth <= depth:
        if entry.title_at is None or depth <= entry.title_at:
            entry.title, entry.title_at = value, depth
        entry.title_detail = (content_type, base)
    if key != "media_title" and not value.is_empty():
        model.title_depth = depth


def description(model: Model, element: Any, key: str, attrs: Attrs, depth: int,
                base: str) -> None:  # fmt: skip
    entry = model.current()
    if entry.summary is not None and not model.has_content:
        content(model, element, key, attrs, depth, base)  # a second one is read as content
        return
    default = "text/plain" if key == "summary" else "text/html"
    value, content_type = _text_construct(model, element, attrs, default, base)
    if entry.summary_at is None or depth <= entry.summary_at:
        entry.summary, entry.summary_at = value, depth
    entry.summary_detail = (content_type, base)


def content(model: Model, element: Any, key: str, attrs: Attrs, depth: int, base: str) -> None:
    entry = model.current()
    model.has_content = True
    default = "text/html" if key == "content_encoded" else "text/plain"
    value, content_type = _text_construct(model, element, attrs, default, base)
    if entry.content is None:
        entry.content, entry.content_type = value, content_type
    if entry.summary is None:
        entry.summary = value  # feedparser copies content to a missing summary, no detail


def guid(model: Model, element: Any, key: str, attrs: Attrs, depth: int, base: str) -> None:
    entry = model.current()
    permalink = attrs.get("ispermalink", "true") == "true"
    text = leaf_text(element)
    value = finish(resolve(base, text) if text and permalink else text)
    if entry.id_at is None or depth <= entry.id_at:
        entry.id, entry.id_at = value, depth
    if permalink and entry.link is None:
        entry.link = value


def link(model: Model, element: Any, key: str, attrs: Attrs, depth: int, base: str) -> None:
    entry = model.current()
    found = link_attributes(attrs, base)
    entry.links.append(found)
    if "href" in found:
        if len(element):
            raise Unsure("markup inside a link")
        if found["rel"] == "alternate" and map_content_type(found["type"]) in _HTML_TYPES:
            entry.link = found["href"]
        return
    text = leaf_text(element)
    value = finish(resolve(base, text) if text else text)
    if "&" in value:
        value = _LINK_REF.sub(r"&\g<1>", value.replace("&amp;", "&"))
    entry.link = value
    if value:
        found["href"] = value


def enclosure(model: Model, element: Any, key: str, attrs: Attrs, depth: int,
              base: str) -> None:  # fmt: skip
    leaf_text(element)
    found = enforce_href(dict(attrs))
    found["rel"] = "enclosure"
    model.current().links.append(found)


def published(model: Model, element: Any, key: str, attrs: Attrs, depth: int,
              base: str) -> None:  # fmt: skip
    model.current().published = _parse_date(finish(leaf_text(element)))


def updated(model: Model, element: Any, key: str, attrs: Attrs, depth: int, base: str) -> None:
    model.current().updated = _parse_date(finish(leaf_text(element)))


def category(model: Model, element: Any, key: str, attrs: Attrs, depth: int, base: str) -> None:
    entry = model.current()
    scheme = attrs.get("scheme", attrs.get("domain"))
    if key == "media_category" and "scheme" not in attrs:
        scheme = _MEDIA_SCHEME
    _add_tag(entry, attrs.get("term"), scheme, attrs.get("label"))
    value = finish(leaf_text(element))
    if value:
        if entry.tags and not entry.tags[-1][0]:
            entry.tags[-1][0] = value
        else:
            _add_tag(entry, value, None, None)


def keywords(model: Model, element: Any, key: str, attrs: Attrs, depth: int, base: str) -> None:
    if attrs:
        raise Unsure("media:keywords with attributes")  # feedparser trips over these
    entry = model.current()
    for term in finish(leaf_text(element)).split(","):
        if term.strip():
            _add_tag(entry, term.strip(), None, None)


def author(model: Model, element: Any, key: str, attrs: Attrs, depth: int, base: str) -> None:
    entry = model.current()
    entry.authors.append({})
    text = element.text or ""
    for part in element:
        part_key, _ = model.key_of(part)
        if part_key not in _AUTHOR_PARTS:
            raise Unsure(f"{part_key!r} inside an author")
        items = part.items()
        part_attrs = attributes(items) if items else {}
        part_base = model.rebase(base, part_attrs.get("xml:base", part_attrs.get("base")))
        value = leaf_text(part)
        if part_key in ("name", "email"):
            _save_author(entry, part_key, value)
        else:
            _save_author(entry, "href", finish(resolve(part_base, value) if value else value))
        text += part.tail or ""
    value = finish(text.strip())
    if entry.author_at is None or depth <= entry.author_at:
        entry.author, entry.author_at = value, depth
    _sync_author(entry)


def source(model: Model, element: Any, key: str, attrs: Attrs, depth: int, base: str) -> None:
    leaf_text(element)
    model.title_depth = -1


def media_content(model: Model, element: Any, key: str, attrs: Attrs, depth: int,
                  base: str) -> None:  # fmt: skip
    model.current().media_content.append(attrs)
    model.children(element, depth, base)


def media_thumbnail(model: Model, element: Any, key: str, attrs: Attrs, depth: int,
                    base: str) -> None:  # fmt: skip
    thumbnail = dict(attrs)
    model.current().media_thumbnail.append(thumbnail)
    text = leaf_text(element)
    url = finish(resolve(base, text) if text else text)
    if url.strip() and "url" not in thumbnail:
        thumbnail["url"] = url


def container(model: Model, element: Any, key: str, attrs: Attrs, depth: int, base: str) -> None:
    model.children(element, depth, base)


def inert(model: Model, element: Any, key: str, attrs: Attrs, depth: int, base: str) -> None:
    leaf_text(element)  # its handler sets keys we never read; markup inside is a surprise


def _add_tag(entry: RawEntry, term: str | None, scheme: str | None, label: str | None) -> None:
    if not term and not scheme and not label:
        return
    tag: list[str | None] = [term, scheme, label]
    if tag not in entry.tags:
        entry.tags.append(tag)


def _save_author(entry: RawEntry, key: str, value: str) -> None:
    _sync_author(entry)
    if not entry.authors:
        entry.authors.append({})
    entry.authors[-1][key] = value


def _sync_author(entry: RawEntry) -> None:
    """feedparser's ``_sync_author_detail``: the author string from the last author."""
    detail = entry.authors[-1] if entry.authors else {}
    if detail:
        name, email = detail.get("name"), detail.get("email")
        if name and email:
            entry.author = f"{name} ({email})"
        elif name or email:
            entry.author = name or email
        return
    found = entry.author
    if not found:
        return
    email = None
    match = _EMAIL.search(found)
    if match:
        email = match.group(0)
        found = found.replace(email, "").replace("()", "").replace("<>", "")
        found = found.replace("&lt;&gt;", "").strip()
        found = found[1:] if found[:1] == "(" else found
        found = (found[:-1] if found[-1:] == ")" else found).strip()
    if found:
        detail["name"] = found
    if email:
        detail["email"] = email


Handler = Callable[["Model", Any, str, Attrs, int, str], None]
ENTRY_HANDLERS: dict[str, Handler] = {
    **dict.fromkeys(("title", "dc_title", "media_title"), title),
    **dict.fromkeys(("description", "dc_description", "media_description", "summary"),
                    description),
    **dict.fromkeys(("content", "content_encoded"), content),
    **dict.fromkeys(("guid", "id"), guid),
    "link": link,
    "enclosure": enclosure,
    **dict.fromkeys(("pubdate", "published", "issued", "dcterms_issued"), published),
    **dict.fromkeys(("updated", "modified", "lastbuilddate", "dc_date", "dcterms_modified"),
                    updated),
    **dict.fromkeys(("category", "dc_subject", "media_category"), category),
    "media_keywords": keywords,
    **dict.fromkeys(("author", "dc_creator", "dc_author"), author),
    "source": source,
    "media_content": media_content,
    "media_thumbnail": media_thumbnail,
    "media_group": container,
    # Handlers that only set keys parse.py never reads.
    **dict.fromkeys(("media_credit", "media_rating", "media_restriction", "media_license",
                     "media_player", "created", "dcterms_created", "expirationdate",
                     "dc_publisher", "dc_rights", "rights", "copyright", "dc_language",
                     "language", "width", "height", "name", "email", "url", "uri",
                     "homepage"), inert),
}  # fmt: skip
