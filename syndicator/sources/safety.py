"""What stands between a feed's untrusted bytes and feedparser: the right text, no entity tricks.

feedparser 6 decodes and parses whatever it is handed, and gets two things wrong:

- **Entity declarations.** Its strict parser (expat) expands internal entities until expat's
  amplification guard trips, some 8 MiB in; its fallback parser then expands the entities it
  judged "safe" itself, with no limit at all: one 100 KB entity used 10,000 times took 3 GB
  and 40 s. It strips most declarations first, but by line-based patterns that a comment or
  a one-line DOCTYPE slips past. No RSS or Atom feed needs an entity of its own (HTML names
  such as ``&nbsp;`` work without any), so a document that declares one is refused before
  either parser runs. External entities are never fetched by either parser, but are refused
  all the same: a feed that asks for a local file is hostile.
- **Encodings.** A byte order mark is ignored when the XML declaration disagrees, and a
  document whose declared encoding fails is read as windows-1252, Cyrillic included.

So ``decode_feed`` chooses the encoding (BOM, then the HTTP charset, then the XML declaration,
with a guess when they are wrong) and ``declares_entities`` checks the prolog; feedparser is
then handed UTF-8 that says so.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from dataclasses import dataclass
from xml.parsers import expat

_BOMS = (  # UTF-32 first: its little-endian mark begins with UTF-16's
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# How "<" opens a document in the wide encodings when there is no BOM.
_UNMARKED = ((b"\0\0\0<", "utf-32-be"), (b"<\0\0\0", "utf-32-le"), (b"\0<", "utf-16-be"),
             (b"<\0", "utf-16-le"))  # fmt: skip
_XML_ENCODING = re.compile(r"""\s*<\?xml\s[^>]*?\bencoding\s*=\s*["']([A-Za-z][\w.:-]*)["']""")
_CHARSET = re.compile(r""";\s*charset\s*=\s*["']?([^"';\s]+)""", re.IGNORECASE)
_SUPERSETS = {"gb2312": "gb18030"}  # feeds that say GB2312 use GBK's characters too
# When nothing declared fits: the legacy encodings of Western and of Cyrillic news sites.
_GUESSES = ("windows-1252", "windows-1251")
_SAMPLE_BYTES = 64 * 1024  # enough words to tell them apart
_WORD = re.compile(r"[^\W\d_]+")


@dataclass(frozen=True, slots=True)
class Decoded:
    """A feed document as text, the encoding it was read in, and why if not as declared."""

    text: str
    encoding: str
    note: str | None = None


def decode_feed(content: bytes, content_type: str | None) -> Decoded:
    """``content`` as text. A BOM is authoritative; else the HTTP charset, then the document's
    XML declaration, then UTF-8 (XML's default). Where what is declared cannot be right,
    the note says so and what was used instead.
    """
    for mark, encoding in _BOMS:
        if content.startswith(mark):
            body = content[len(mark) :]
            declared = _declared(body, content_type, encoding)
            # A stray bad byte becomes U+FFFD rather than losing the feed.
            return Decoded(body.decode(encoding, "replace"), encoding, _note(declared, encoding))
    wide = next((encoding for mark, encoding in _UNMARKED if content.startswith(mark)), None)
    declared = _declared(content, content_type, wide)
    if wide is not None:
        return Decoded(content.decode(wide, "replace"), wide, _note(declared, wide))
    utf8 = _strict(content, "utf-8")
    if utf8 is not None:
        # Text in a legacy encoding is almost never valid UTF-8, unless it is all ASCII, which
        # reads the same in all of them: a label that says otherwise is stale.
        return Decoded(utf8, "utf-8", None if content.isascii() else _note(declared, "utf-8"))
    for name in declared:
        text = None if _is_wide(name) else _strict(content, name)  # ASCII bytes: not wide
        if text is not None:
            return Decoded(text, name, _note(declared, name))
    sample = content[:_SAMPLE_BYTES]
    best = min(_GUESSES, key=lambda name: _oddities(sample.decode(name, "replace")))
    note = _note(declared, best) or f"feed is not UTF-8 and does not say what it is: read as {best}"
    return Decoded(content.decode(best, "replace"), best, note)


def declares_entities(document: bytes) -> bool:
    """Whether a UTF-8 document's prolog declares XML entities, or seems to.

    expat reads the prolog, stopping at the root element, and reports any declaration
    (general or parameter, internal or external). A declaration text that expat does not see
    (in a comment) counts too, as does one anywhere before feedparser's own idea of where the
    prolog ends (the first ``<`` and ASCII letter); when expat cannot find a root at all, one
    anywhere in the document does.
    """
    parser = expat.ParserCreate("utf-8")  # overrides the declaration: the bytes are UTF-8
    parser.EntityDeclHandler = _refuse_entity
    parser.StartElementHandler = _stop_at_root
    prolog_end = len(document)
    try:
        parser.Parse(document, True)
    except _EntityDeclared:
        return True
    except _RootReached:
        prolog_end = parser.CurrentByteIndex
    except expat.ExpatError:
        pass  # not well-formed before any root: the whole document counts as prolog
    first_tag = re.search(rb"<\w", document)
    if first_tag is not None:
        prolog_end = max(prolog_end, first_tag.end())
    return re.search(rb"<!\s*ENTITY", document[:prolog_end], re.IGNORECASE) is not None


class _EntityDeclared(Exception):
    pass


class _RootReached(Exception):
    pass


def _refuse_entity(*declaration: object) -> None:
    raise _EntityDeclared


def _stop_at_root(name: str, attributes: object) -> None:
    raise _RootReached


def _declared(content: bytes, content_type: str | None, wide: str | None) -> list[str]:
    """The encodings a document is declared in, most authoritative first, as codec names."""
    labels = []
    charset = _CHARSET.search(content_type or "")
    if charset:
        labels.append(charset.group(1))
    head = content[:1024].decode(wide or "latin-1", "replace")
    declaration = _XML_ENCODING.match(head)
    if declaration:
        labels.append(declaration.group(1))
    names: list[str] = []
    for label in labels:
        name = _codec(label)
        if name not in names:
            names.append(name)
    return names


def _codec(label: str) -> str:
    """Python's name for an encoding label; an unknown label is kept, to be reported."""
    label = label.strip().lower()
    label = _SUPERSETS.get(label, label)
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return label
    # Notes name the Windows code pages as sites declare them, not by Python's "cp1251".
    return "utf-8" if name == "utf-8-sig" else name.replace("cp125", "windows-125")


def _is_wide(name: str) -> bool:
    return name.startswith(("utf-16", "utf-32"))


def _strict(content: bytes, name: str) -> str | None:
    try:
        return content.decode(name)
    except (LookupError, UnicodeDecodeError):
        return None


def _note(declared: list[str], used: str) -> str | None:
    if not declared or _same(declared[0], used):
        return None
    wrong = f"declared {declared[0]}, read as {used}"
    return f"feed declares the wrong character encoding (recovered): {wrong}"


def _same(declared: str, used: str) -> bool:
    """Whether two codec names agree; "utf-16" says nothing about byte order, so it fits both."""
    return declared == used or (_is_wide(declared) and used.startswith(declared))


def _oddities(text: str) -> int:
    """How many words look like text read in the wrong single-byte encoding.

    A word mixing alphabets ("cafй": é read as windows-1251) or a Latin word of three or more
    letters with no ASCII letter in it ("Íîâîñòè": Cyrillic read as windows-1252).
    """
    odd = 0
    for word in _WORD.findall(text):
        if word.isascii():
            continue
        scripts = {unicodedata.name(char, "?").split(" ")[0] for char in word}
        if len(scripts) > 1 or (scripts == {"LATIN"} and len(word) >= 3 and not _has_ascii(word)):
            odd += 1
    return odd


def _has_ascii(word: str) -> bool:
    return any(char.isascii() for char in word)
