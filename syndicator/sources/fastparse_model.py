"""feedparser's reading of a feed's elements, replayed over an lxml tree for the keys we use.

feedparser keys every element by a canonical namespace prefix and a lower-cased local name
(``dc_creator``, ``media_content``, plain ``title`` for RSS and Atom alike) and acts on it with
a ``_start_``/``_end_`` handler, in document order, keeping some state across elements (the
depth of the winning title, whether an entry has content yet, the ``xml:base`` in force).
``Model`` walks the tree with that state: entry elements go to ``fastparse_entry``'s
handlers; elements without a feedparser handler are inert, as in feedparser; feed-level
elements matter only for hub and self links and for where entries may stand. Any element
with a handler that is not replayed, or a shape feedparser would read otherwise (an entry
inside an image, a summary at feed level), raises ``Unsure``.

Each item is fingerprinted as it is reached: its serialized subtree, with everything outside
it that its reading depends on (the base URL in force, its depth, Atom or RSS, the URL the
feed came from). An item whose fingerprint is ``known`` reads as it read before, so it is
not walked again; the entry list holds None in its place.
"""

from __future__ import annotations

from collections.abc import Callable, Container
from typing import Any

from feedparser.api import StrictFeedParser
from feedparser.urls import make_safe_absolute_uri
from lxml import etree  # type: ignore[import-untyped]

from syndicator.sources.fastparse_entry import ENTRY_HANDLERS, Handler, inert
from syndicator.sources.fastparse_fields import (
    RawEntry,
    Unsure,
    attributes,
    leaf_text,
    link_attributes,
)

# An item's fingerprint: Python's own (keyed, 64-bit) hash, so only good within one process.
# Two items of a feed colliding by chance is a one in 10^16 event per poll.
DIGEST_BYTES = 8
# Every element key that some feedparser handler acts on: "_start_dc_creator" -> "dc_creator".
HANDLED = frozenset(
    name.split("_", 2)[2] for name in dir(StrictFeedParser) if name.startswith(("_start_", "_end_"))
)
# Keys that parse.py or the handlers read from an entry, which an unknown element could clobber.
_ENTRY_KEYS = frozenset({"links", "authors", "guidislink", "tags", "content", "summary",
                         "title", "link", "id", "author", "media_content",
                         "media_thumbnail"})  # fmt: skip
# Feed-level elements that change how the first entry is read (its summary or its content).
_FEED_REFUSED = frozenset({"content", "content_encoded", "fullitem", "body", "xhtml_body",
                           "summary", "abstract", "itunes_summary", "source", "tags",
                           "links"})  # fmt: skip
# Feed-level text constructs: markup inside them takes feedparser's inline-content path.
_FEED_TEXT = frozenset({"title", "subtitle", "tagline", "rights", "copyright", "info",
                        "description", "dc_title", "dc_description", "dc_rights", "media_title",
                        "media_description", "itunes_subtitle",
                        "feedburner_browserfriendly"})  # fmt: skip
_FEED_AUTHORS = frozenset({"author", "managingeditor", "dc_creator", "dc_author", "itunes_author"})
# Unprefixed elements that leave feedparser's textinput and image state alone.
_TEXTINPUT_PARTS = frozenset({"title", "link", "description", "name"})
_IMAGE_PARTS = frozenset({"title", "link", "description", "url", "href", "width", "height"})


class Model:
    """One pass over the document with feedparser's state: entries and feed links come out."""

    def __init__(
        self,
        *,
        atom: bool,
        key: Callable[[Any], tuple[str, bool]],
        known: Container[bytes] = frozenset(),
        context: str = "",
    ) -> None:
        self.atom = atom  # feedparser's version starts with "atom": it never sniffs for HTML
        self.key = key  # element -> (feedparser's key, whether it has a namespace prefix)
        self.known = known  # fingerprints of items read before
        self._context = (atom, context)
        self._digests: list[bytes] = []
        self.entries: list[RawEntry | None] = []  # None: an item known from before
        self.feed_links: list[dict[str, str]] = []
        self.entry: RawEntry | None = None
        self.in_image = self.in_textinput = self.in_author = False
        self.has_content = False  # feedparser's hasContent, reset after each entry
        self.title_depth = -1  # depth of the title that won, or -1
        self._bases: dict[tuple[str, str | None], str] = {}
        self._keys: dict[str, tuple[str, bool]] = {}  # by tag: a prefix names one namespace
        self._handlers: dict[str, tuple[str, Handler]] = {}

    def current(self) -> RawEntry:
        assert self.entry is not None
        return self.entry

    def key_of(self, element: Any) -> tuple[str, bool]:
        found = self._keys.get(element.tag)
        if found is None:
            found = self._keys[element.tag] = self.key(element)
        return found

    def rebase(self, base: str, declared: str | None) -> str:
        """feedparser's base for an element: its xml:base if safe, else its parent's."""
        cached = self._bases.get((base, declared))
        if cached is None:
            cached = make_safe_absolute_uri(base, declared or base) or base
            self._bases[(base, declared)] = cached
        return cached

    def children(self, parent: Any, depth: int, base: str) -> None:
        """Replays feedparser's handlers on each child element, in document order."""
        if self.entry is not None:
            self._entry_children(parent, depth + 1, base)
            return
        inherited = ""  # the base of children without xml:base, worked out once
        for element in parent:
            key, prefixed = self.key_of(element)
            items = element.items()
            attrs = attributes(items) if items else {}
            declared = attrs.get("xml:base", attrs.get("base")) if items else None
            if declared:
                child_base = self.rebase(base, declared)
            else:
                child_base = inherited = inherited or self.rebase(base, None)
            if not prefixed:  # feedparser's guard against stray textinput and image state
                self.in_textinput = self.in_textinput and key in _TEXTINPUT_PARTS
                self.in_image = self.in_image and key in _IMAGE_PARTS
            self.feed_element(element, key, attrs, depth + 1, child_base)

    def _entry_children(self, parent: Any, depth: int, base: str) -> None:
        """``children`` inside an entry, where no image or textinput state can arise."""
        handlers = self._handlers
        inherited = ""
        for element in parent:
            found = handlers.get(element.tag)
            key, handler = found if found is not None else self._entry_handler(element)
            if handler is inert:  # nothing to replay, and no base to work out for a leaf
                if len(element):
                    if key in HANDLED:
                        raise Unsure(f"markup inside {key!r}")
                    self._entry_children(element, depth + 1, self._base(element, base))
                elif not all(name.isascii() for name in element.attrib):
                    raise Unsure("a non-ASCII attribute name")  # expat and libxml2 disagree
                continue
            items = element.items()
            attrs = attributes(items) if items else {}
            declared = attrs.get("xml:base", attrs.get("base")) if items else None
            if declared:
                child_base = self.rebase(base, declared)
            else:
                child_base = inherited = inherited or self.rebase(base, None)
            handler(self, element, key, attrs, depth, child_base)

    def _entry_handler(self, element: Any) -> tuple[str, Handler]:
        """The handler for an element inside an entry: ``inert`` for one without effect."""
        key, _ = self.key_of(element)
        handler = ENTRY_HANDLERS.get(key)
        if handler is None:
            if key in HANDLED:
                raise Unsure(f"entry element {key!r}")
            if key in _ENTRY_KEYS or key.endswith(("_detail", "_parsed")):
                raise Unsure(f"element {key!r} would overwrite a key we read")
            handler = inert  # feedparser has no handler: it keeps the text under a key we ignore
        found = self._handlers[element.tag] = (key, handler)
        return found

    def _base(self, element: Any, base: str) -> str:
        items = element.items()
        attrs = attributes(items) if items else {}
        return self.rebase(base, attrs.get("xml:base", attrs.get("base")))

    def feed_element(self, element: Any, key: str, attrs: dict[str, str], depth: int,
                     base: str) -> None:  # fmt: skip
        if key in ("item", "entry"):
            if depth > 3 or self.in_image or self.in_textinput or self.in_author:
                raise Unsure("an entry out of place")
            self._item(element, attrs, depth, base)
        elif key == "link":
            self._feed_link(element, attrs, base)
        elif key in _FEED_REFUSED:
            raise Unsure(f"feed element {key!r}")
        elif key in _FEED_TEXT:
            leaf_text(element)
        elif key in ("image", "textinput"):
            self.in_image, self.in_textinput = key == "image", key == "textinput"
            self.children(element, depth, base)
            self.in_image = self.in_textinput = False
        elif key in _FEED_AUTHORS:
            self.in_author = True
            self.children(element, depth, base)
            self.in_author = False
        else:
            if key == "channel" and ("lastmod" in attrs or "href" in attrs):
                raise Unsure("a CDF channel")
            self.children(element, depth, base)

    def _feed_link(self, element: Any, attrs: dict[str, str], base: str) -> None:
        link = link_attributes(attrs, base)
        if link.get("rel") not in ("hub", "self"):
            return
        if "href" not in link or self.in_image or self.in_textinput or len(element):
            raise Unsure("a hub or self link that feedparser reads its own way")
        self.feed_links.append(link)

    def digests(self) -> frozenset[bytes]:
        """The fingerprints of every item in the document."""
        return frozenset(self._digests)

    def _item(self, element: Any, attrs: dict[str, str], depth: int, base: str) -> None:
        if "lastmod" in attrs or "href" in attrs:
            raise Unsure("a CDF item")
        serialized = etree.tostring(element, encoding="utf-8", with_tail=False)
        digest = hash((self._context, depth, base, serialized)).to_bytes(DIGEST_BYTES, signed=True)
        self._digests.append(digest)
        if digest in self.known:
            self.entries.append(None)
            return
        entry = self.entry = RawEntry()
        self.entries.append(entry)
        self.title_depth = -1
        about = attrs.get("rdf:about")
        if about:
            entry.id = about  # set as it is: not resolved, not finished
        self.children(element, depth, base)
        self.entry = None
        self.has_content = False
