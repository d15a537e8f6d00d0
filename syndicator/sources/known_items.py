"""Items read before, left out of a document that feedparser must read whole.

A malformed feed cannot take the fast path, and feedparser spends some 45 ms on a 100 KB one,
nearly all of it on items it has read at the previous poll. Here the document's items are
cut out as byte ranges; an item identical to one of the previous reading, in the same
surroundings, is removed before feedparser sees the document, so that it reads only the
new and the changed ones.

Removing an item must not change how feedparser reads anything else, so an item is left out
only where feedparser's state is provably the same after it as before it:

- the document is scanned for tags (CDATA, comments and processing instructions skipped);
  every element opened in the item is closed in it, in order, and the item holds no other
  item. At the first tag that is unbalanced, not understood, or declares a namespace (for
  feedparser, a declaration anywhere holds for the rest of the document), nothing further
  is left out;
- feedparser must read what remains with the same parser as the whole: strictly if the
  document is well-formed, else leniently. If the items left out held the document's only
  flaw, the first of them that is not well-formed on its own stays in;
- an item's fingerprint covers its bytes, the feed's address and media type, which parser
  reads the document, the start tags of the elements around it and every namespace
  declaration before it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Container
from dataclasses import dataclass
from typing import Any

from lxml import etree  # type: ignore[import-untyped]

from syndicator.sources.fastparse_model import DIGEST_BYTES

_ITEMS = frozenset({b"item", b"entry"})
# One token: markup whose content is text (CDATA, comment, processing instruction), a tag
# with quoted attributes, or any other "<", which ends the scan: it is not understood.
_TOKEN = re.compile(
    rb"<!\[CDATA\[.*?\]\]>|<!--.*?-->|<\?[^>]*\?>"
    rb"|<(/?)([A-Za-z_][\w.:-]*)((?:\s+[A-Za-z_][\w.:-]*\s*=\s*(?:\"[^\"<]*\"|'[^'<]*'))*)\s*(/?)>"
    rb"|<",
    re.DOTALL,
)
_NAMESPACE = re.compile(rb"""\sxmlns(?::[A-Za-z_][\w.-]*)?\s*=\s*(?:"[^"]*"|'[^']*')""")
_DECLARATION = re.compile(rb"^<\?xml[^>]*?>")
_local = threading.local()  # an lxml parser may not be shared between threads


@dataclass(frozen=True, slots=True)
class Skimmed:
    """The document feedparser reads, and what was left out of it."""

    document: bytes
    left_out: int  # items removed: known from the previous reading
    digests: frozenset[bytes]  # fingerprints of every item that may be left out next time


@dataclass(frozen=True, slots=True)
class _Item:
    start: int
    end: int
    digest: bytes
    namespaces: bytes  # the declarations in force, for reading the item on its own


def leave_out_known(
    document: bytes, *, base_url: str, content_type: str | None, known: Container[bytes]
) -> Skimmed:
    """``document`` without the items whose fingerprint is in ``known``."""
    # feedparser is told the text is UTF-8, whatever its declaration says (parse.py)
    lenient = not _well_formed(_DECLARATION.sub(b"", document, count=1))
    items = _items(document, (base_url, content_type, lenient))
    digests = frozenset(item.digest for item in items)
    left_out = [item for item in items if item.digest in known]
    if not left_out:
        return Skimmed(document, 0, digests)
    skimmed = _without(document, left_out)
    if lenient and _well_formed(skimmed):  # its flaw was left out: one flawed item stays
        flawed = next((item for item in left_out if not _item_well_formed(document, item)), None)
        left_out = [item for item in left_out if item is not flawed]
        skimmed = _without(document, left_out) if flawed is not None else document
        if not left_out or _well_formed(skimmed):
            return Skimmed(document, 0, digests)
    return Skimmed(skimmed, len(left_out), digests)


def _without(document: bytes, items: list[_Item]) -> bytes:
    kept, position = [], 0
    for item in items:
        kept.append(document[position : item.start])
        position = item.end
    kept.append(document[position:])
    return b"".join(kept)


def _items(document: bytes, context: tuple[str, str | None, bool]) -> list[_Item]:
    """The items that may be left out: balanced, up to the first tag that is not understood."""
    open_tags: list[tuple[bytes, bytes]] = []  # (name, start tag) of each open element
    declarations: list[bytes] = []  # start tags that declare namespaces, in order
    items: list[_Item] = []
    item_at: tuple[int, int] | None = None  # (offset, depth) of the item being read
    for token in _TOKEN.finditer(document):
        closing, name, attributes, empty = token.groups()
        if name is None:
            if token.end() - token.start() == 1:  # a lone "<": not understood
                break
            continue
        if closing:
            if not open_tags or open_tags[-1][0] != name or attributes or empty:
                break
            open_tags.pop()
            if item_at is not None and len(open_tags) == item_at[1]:
                items.append(_item(document, item_at[0], token.end(), open_tags, declarations,
                                   context))  # fmt: skip
                item_at = None
            continue
        if attributes and b"xmlns" in attributes and _NAMESPACE.search(attributes):
            if item_at is not None or name in _ITEMS:
                break  # declared in an item: left out, it would be missed by what follows
            declarations.append(token.group())
        if name in _ITEMS:
            if item_at is not None or empty:
                break
            item_at = (token.start(), len(open_tags))
        if not empty:
            open_tags.append((name, token.group()))
    return items


def _item(
    document: bytes,
    start: int,
    end: int,
    around: list[tuple[bytes, bytes]],
    declarations: list[bytes],
    context: tuple[str, str | None, bool],
) -> _Item:
    surroundings = tuple(tag for _, tag in around)
    key = (context, surroundings, tuple(declarations), document[start:end])
    digest = hash(key).to_bytes(DIGEST_BYTES, signed=True)
    declared = {}  # by name: a name declared again around the item means the inner one
    for tag in declarations:
        for found in _NAMESPACE.findall(tag):
            declared[found.split(b"=", 1)[0].strip()] = found
    namespaces = b"".join(declared.values())
    return _Item(start, end, digest, namespaces)


def _well_formed(document: bytes) -> bool:
    try:
        etree.fromstring(document, _parser())
    except (etree.LxmlError, ValueError):
        return False
    return True


def _item_well_formed(document: bytes, item: _Item) -> bool:
    """Whether the item alone is well-formed XML, with the namespaces declared around it."""
    return _well_formed(b"<x" + item.namespaces + b">" + document[item.start : item.end] + b"</x>")


def _parser() -> Any:
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = _local.parser = etree.XMLParser(
            resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
        )
    return parser


__all__ = ["Skimmed", "leave_out_known"]
