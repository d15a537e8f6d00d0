"""A fast path for well-formed feeds that gives exactly what the feedparser path gives, or None.

feedparser spends some 45 ms of CPU on a 100 KB news feed, most of it in pure-Python SAX
callbacks and in sanitizing every HTML field twice over with sgmllib. ``fast_parse`` reads the
same document with lxml and replays feedparser's handling of the elements that ``parse.py``
reads (``fastparse_model``), finishing values the way feedparser and ``parse.py`` do
(``fastparse_fields``). It answers only when it is sure of the same result: UTF-8 (or ASCII)
that both decoding paths read alike, an XML media type, no DOCTYPE or entity declarations,
well-formed XML, RSS 0.9x/2.0, RSS 1.0 or Atom 1.0, and only elements whose effect it
replays. Otherwise it returns None and the caller runs feedparser.
"""

from __future__ import annotations

import codecs
import re
import threading
from collections.abc import Container
from typing import Any

import feedparser
from feedparser.encodings import RE_XML_PI_ENCODING
from lxml import etree  # type: ignore[import-untyped]

from syndicator.records import FeedEntry
from syndicator.sources.fastparse_fields import CANONICAL, Unsure, attributes
from syndicator.sources.fastparse_model import Model
from syndicator.sources.fastparse_record import ParsedFeed, build_entry, feed_link, identify

_ATOM = "http://www.w3.org/2005/Atom"
_RSS1 = "http://purl.org/rss/1.0/"
_RSS090 = "http://my.netscape.com/rdf/simple/0.9/"
_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_CONTENT_TYPE = re.compile(
    r"\s*([\w!#$%&'*+.^`|~-]+/[\w!#$%&'*+.^`|~-]+)\s*"
    r"""(?:;\s*(?i:charset)\s*=\s*(["']?)([\w.:-]+)\2\s*)?;?\s*"""
)
_XML_MEDIA = frozenset({"application/xml", "application/xml-dtd",
                        "application/xml-external-parsed-entity", "text/xml",
                        "text/xml-external-parsed-entity"})  # fmt: skip
_DECLARATION = re.compile(
    rb"""<\?xml\s+version\s*=\s*(["'])1\.[0-9]\1(?:\s+encoding\s*=\s*(["'])([A-Za-z][\w.-]*)\2)?"""
    rb"""(?:\s+standalone\s*=\s*(["'])(?:yes|no)\4)?\s*\?>"""
)
_FEEDPARSER_DECLARATION = re.compile(rb"^<\?xml[^>]*?>")  # what feedparser replaces
_UTF8_DECLARATION = b"<?xml version='1.0' encoding='utf-8'?>"
_PROLOG = re.compile(rb"(?:\s+|<\?.*?\?>|<!--.*?-->)*(?=<[A-Za-z_:])", re.DOTALL)
_DECLARES = re.compile(rb"<!\s*(?:ENTITY|DOCTYPE)", re.IGNORECASE)
_PI_TARGET = re.compile(rb"<\?([^\s?>]*)")
_NAMESPACE = re.compile(rb"""xmlns:([^\s=>/]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_CANONICAL_PREFIXES = frozenset(prefix.lower() for prefix in CANONICAL.values() if prefix)
# Encodings that read ASCII as ASCII: any of them may label an all-ASCII document.
_ASCII_LABELS = frozenset({"utf-8", "ascii", "iso8859-1", "iso8859-15", "cp1252", "latin-1"})
_local = threading.local()  # an lxml parser may not be shared between threads


def fast_parse(
    content: bytes,
    *,
    base_url: str,
    content_type: str | None = None,
    known: Container[bytes] = frozenset(),
) -> ParsedFeed | None:
    """What ``parse_feed`` makes of a well-formed RSS or Atom feed, or None if not sure.

    None means only "ask feedparser": a malformed, unusual or non-feed document, one that
    would need its encoding guessed, or an element whose effect this path does not replay.
    An item whose fingerprint is in ``known`` is the same item, read in the same place of
    the same kind of document, as one this path has read before: it is left out, unread.
    """
    if not base_url or not (feedparser.SANITIZE_HTML and feedparser.RESOLVE_RELATIVE_URIS):
        return None
    document = _utf8_document(content, content_type)
    if document is None:
        return None
    try:
        root = etree.fromstring(document, _parser())
    except (etree.LxmlError, ValueError):
        return None
    try:
        model = _read(root, document, base_url, known)
    except Unsure:
        return None
    if not model.entries:
        return None  # an empty or broken feed: parse_feed decides what to say about it
    entries: list[FeedEntry] = []
    problems: list[str] = []
    for number, raw in enumerate(model.entries, start=1):
        if raw is None:
            continue  # unchanged since it was read before
        entry = build_entry(raw, base_url)
        if isinstance(entry, FeedEntry):
            entries.append(entry)
        else:
            title = raw.title.value if raw.title is not None else None
            problems.append(f"entry {number} ({identify(raw.id, title)}) {entry}: skipped")
    hub = feed_link(model.feed_links, "hub", base_url)
    self_url = feed_link(model.feed_links, "self", base_url)
    unchanged = model.entries.count(None)
    return ParsedFeed(tuple(entries), tuple(problems), hub, self_url, unchanged, model.digests())


def _parser() -> Any:
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = _local.parser = etree.XMLParser(
            resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
            remove_comments=True, remove_pis=True,
        )  # fmt: skip
    return parser


def _utf8_document(content: bytes, content_type: str | None) -> bytes | None:
    """The bytes feedparser's SAX parser would read, if every decoding path agrees on them.

    The document must be UTF-8 by every label it carries (or ASCII, which every usual label
    reads alike), served as XML, with nothing but comments and processing instructions before
    its root element. feedparser gets the same text with its declaration rewritten to UTF-8.
    (Bytes that turn out not to be UTF-8 after all, lxml refuses.)
    """
    body = content[3:] if content.startswith(codecs.BOM_UTF8) else content
    if content.startswith(_BOMS) or body.startswith(_BOMS):
        return None
    matched = _CONTENT_TYPE.fullmatch(content_type or "application/xml")
    if matched is None:
        return None
    media, charset = matched.group(1), matched.group(3)
    text_media = media.startswith("text/")
    if media not in _XML_MEDIA and not (
        media.endswith("+xml") and media.startswith(("application/", "text/"))
    ):
        return None
    ascii_only = body.isascii()
    if text_media and charset is None and not ascii_only:
        return None  # feedparser alone would read text/xml without a charset as ASCII
    labels = [charset] if charset else []
    if body.startswith(b"<?"):
        declaration = _DECLARATION.match(body)
        if declaration is None:
            return None
        if declaration.group(3):
            labels.append(declaration.group(3).decode("ascii"))
    sniffed = RE_XML_PI_ENCODING.match(body)
    if sniffed:
        labels.append(sniffed.group(1).decode("latin-1"))
    marked = body is not content  # a UTF-8 byte order mark: labels must say UTF-8 too
    if not all(_reads_as_utf8(label, ascii_only and not marked) for label in labels):
        return None
    declared = _FEEDPARSER_DECLARATION.match(body)
    document = _UTF8_DECLARATION + (body[declared.end() :] if declared else b"\n" + body)
    prolog = _PROLOG.match(document, len(_UTF8_DECLARATION))
    if prolog is None or _DECLARES.search(document, 0, prolog.end()):
        return None
    return document


def _reads_as_utf8(label: str, ascii_only: bool) -> bool:
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return False
    return name == "utf-8" or (ascii_only and name in _ASCII_LABELS)


def _read(root: Any, document: bytes, base_url: str, known: Container[bytes]) -> Model:
    """Runs the model over the tree, once the document's names are known to read alike."""
    _check_names(document)
    root_key, _ = _element_key(root)
    namespaces = {(uri or "").lower() for uri in root.nsmap.values()}
    if root_key == "rss":
        atom = False
    elif root.tag == f"{{{_ATOM}}}feed" and not namespaces & {_RSS1, _RSS090}:
        atom = True
    elif (
        root_key == "rdf_rdf"
        and _ATOM.lower() not in namespaces
        and (_RSS1 in namespaces or root.nsmap.get(None) == _RSS090)
    ):
        atom = False
    else:
        raise Unsure("not RSS 0.9x/2.0, RSS 1.0 or Atom 1.0")
    model = Model(atom=atom, key=_element_key, known=known, context=base_url)
    attrs = attributes(root.items())
    base = model.rebase(base_url, attrs.get("xml:base", attrs.get("base")))
    model.feed_element(root, root_key, attrs, 1, base)
    return model


def _element_key(element: Any) -> tuple[str, bool]:
    """feedparser's key for an element, and whether it carries a namespace prefix."""
    tag: str = element.tag
    if tag[0] != "{":
        if not tag.isascii():
            raise Unsure("a non-ASCII element name")  # expat and libxml2 disagree on these
        return tag.lower(), False
    uri, local = tag[1:].split("}", 1)
    if not local.isascii():
        raise Unsure("a non-ASCII element name")
    prefix = _canonical(uri)
    if prefix is None:
        prefix = element.prefix
        if not prefix:
            raise Unsure("an element in an unknown default namespace")
    return (f"{prefix}_{local}" if prefix else local).lower(), bool(prefix)


def _check_names(document: bytes) -> None:
    """Prefixes bound so that feedparser's one global prefix table reads them as we do.

    feedparser keys an element of an unknown namespace by the prefix it was declared with,
    and that of a known one by its canonical prefix, in tables it never scopes: a prefix
    bound to two namespaces, one namespace under two prefixes, or an unknown namespace under a
    known namespace's canonical prefix would make it read elements otherwise. Processing
    instruction targets must be ASCII, where expat and libxml2 agree on names.
    """
    if not all(target.isascii() for target in _PI_TARGET.findall(document)):
        raise Unsure("a non-ASCII processing instruction")
    bound: dict[str, str] = {}
    for raw_prefix, double, single in _NAMESPACE.findall(document):
        if not raw_prefix.isascii():
            raise Unsure("a non-ASCII namespace prefix")
        prefix, uri = raw_prefix.decode("ascii").lower(), (double or single).decode("utf-8")
        if "&" in uri:
            raise Unsure("a namespace written with a character reference")  # seen unresolved
        if bound.setdefault(prefix, uri) != uri:
            raise Unsure(f"prefix {prefix!r} bound to two namespaces")
    canonical = {prefix: _canonical(uri) for prefix, uri in bound.items()}
    in_use = {name.lower() for name in canonical.values() if name}
    unknown: dict[str, str] = {}
    for prefix, name in canonical.items():
        if name is None:  # an unknown namespace: its elements are keyed by this prefix
            if prefix in in_use or unknown.setdefault(bound[prefix], prefix) != prefix:
                raise Unsure(f"namespace {bound[prefix]!r} under a prefix read otherwise")
        elif prefix != name.lower() and prefix in _CANONICAL_PREFIXES:
            raise Unsure(f"prefix {prefix!r} stands for another known namespace")


def _canonical(uri: str) -> str | None:
    """feedparser's canonical prefix for a namespace ("" for RSS and Atom), None if unknown."""
    lowered = uri.lower()
    return "" if "backend.userland.com/rss" in lowered else CANONICAL.get(lowered)
