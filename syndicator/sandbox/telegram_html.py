"""Telegram's HTML parse mode, accepted and refused exactly as the Bot API does.

The Telegram emulator checks our formatter's output against these rules, so they are taken
from the network's own code (TDLib ``MessageEntity.cpp``: ``parse_html``), not from the
formatter. The facts are in docs ``platforms.md`` sections 1.4, 1.5 and 5.

TDLib walks the raw UTF-8 bytes of a NUL-terminated string, so the parser does the same (see
:mod:`~syndicator.sandbox.telegram_bytes`) and reports errors at UTF-8 byte offsets. Entity
offsets and lengths are in UTF-16 units, as the Bot API reports them. What the Bot API then
does to the text is in :mod:`~syndicator.sandbox.telegram_text`, which links it keeps in
:mod:`~syndicator.sandbox.telegram_links`.

Not modelled: the rules for ``<tg-time>`` beyond its attributes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from syndicator.sandbox.telegram_bytes import (
    SPACES,
    byte_at,
    is_alpha,
    is_digit,
    is_hex,
    to_integer,
    utf8_text,
)
from syndicator.sandbox.telegram_links import checked_link
from syndicator.sandbox.telegram_text import Entity, FormattedText, sorted_entities


class TelegramHtmlError(ValueError):
    """The Bot API's refusal; ``detail`` follows ``"Bad Request: can't parse entities: "``."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


_LT, _GT, _AMP, _SLASH, _EQ = b"<", b">", b"&", b"/", b"="
_QUOTES = frozenset(b"\"'")
_NAMED_ENTITIES = {b"lt": ord("<"), b"gt": ord(">"), b"amp": ord("&"), b"quot": ord('"')}
_SIMPLE_TYPES = {
    b"b": "bold", b"strong": "bold", b"i": "italic", b"em": "italic",
    b"u": "underline", b"ins": "underline", b"s": "strikethrough", b"strike": "strikethrough",
    b"del": "strikethrough", b"tg-spoiler": "spoiler", b"span": "spoiler",
}  # fmt: skip
_ALLOWED_TAGS = frozenset(
    {*_SIMPLE_TYPES, b"a", b"tg-emoji", b"tg-time", b"pre", b"code", b"blockquote"}
)


def _decode_entity(raw: bytes, pos: int) -> tuple[int, int]:
    """TDLib decode_html_entity at the '&' at ``pos``: (code point, end) or (0, pos).

    Only &lt; &gt; &amp; &quot; are named; numeric references need a lower-case 'x' for hex,
    at most 7 decimal or 6 hex digits and 0 < code < 0x10FFFF; the ';' is optional.
    """
    end, code = pos + 1, 0
    if byte_at(raw, end) == ord("#"):
        end += 1
        base, digit = (10, is_digit)
        if byte_at(raw, end) == ord("x"):
            end, base, digit = end + 1, 16, is_hex
        start = end
        while digit(byte_at(raw, end)):
            end += 1
        code = int(raw[start:end], base) if end > start else 0
        if code == 0 or code >= 0x10FFFF or end - pos >= 10:
            return 0, pos
    else:
        while is_alpha(byte_at(raw, end)):
            end += 1
        code = _NAMED_ENTITIES.get(raw[pos + 1 : end], 0)
        if code == 0:
            return 0, pos
    return code, end + 1 if byte_at(raw, end) == ord(";") else end


@dataclass(slots=True)
class _OpenTag:
    name: bytes
    argument: bytes  # href, language, span class, emoji id, "1" if expandable, unix time
    utf16_start: int
    out_start: int
    time_format: bytes | None = None


class _HtmlParser:
    """One run of TDLib parse_html over the raw bytes of a text."""

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self.out = bytearray()
        self.utf16 = 0
        self.open: list[_OpenTag] = []
        self.entities: list[Entity] = []
        self.surrogate_seen = False

    def run(self) -> FormattedText:
        raw, i = self.raw, 0
        while i < len(raw):
            c = raw[i]
            if c == _AMP[0]:
                code, end = _decode_entity(raw, i)
                if code:
                    self._emit(code)
                    i = end
                    continue
            if c != _LT[0]:
                if c & 0xC0 != 0x80:  # first byte of a character; 4-byte ones are two units
                    self.utf16 += 2 if c >= 0xF0 else 1
                self.out.append(c)
                i += 1
            elif byte_at(raw, i + 1) == _SLASH[0]:
                i = self._end_tag(i)
            else:
                i = self._start_tag(i)
        if self.open:
            name = self.open[-1].name.decode(errors="replace")
            raise TelegramHtmlError(f'Can\'t find end tag corresponding to start tag "{name}"')
        try:
            text = self.out.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        if text is None or self.surrogate_seen:
            raise TelegramHtmlError(
                "Text contains invalid Unicode characters after decoding HTML entities, "
                "check for unmatched surrogate code units"
            )
        return FormattedText(text, sorted_entities([_drop_code_language(e) for e in self.entities]))

    def _emit(self, code: int) -> None:
        self.utf16 += 2 if code > 0xFFFF else 1
        self.surrogate_seen |= 0xD800 <= code <= 0xDFFF
        self.out += chr(code).encode("utf-8", "surrogatepass")

    def _skip_spaces(self, i: int) -> int:
        while byte_at(self.raw, i) != 0 and byte_at(self.raw, i) in SPACES:
            i += 1
        return i

    def _start_tag(self, begin: int) -> int:
        """Reads ``<name attr=value ...>``; returns the position after '>'."""
        raw, i = self.raw, begin + 1
        while byte_at(raw, i) not in SPACES and byte_at(raw, i) != _GT[0]:
            i += 1
        if byte_at(raw, i) == 0:
            raise TelegramHtmlError(f"Unclosed start tag at byte offset {begin}")
        tag = _OpenTag(raw[begin + 1 : i].lower(), b"", self.utf16, len(self.out))
        shown = tag.name.decode(errors="replace")
        if tag.name not in _ALLOWED_TAGS:
            raise TelegramHtmlError(f'Unsupported start tag "{shown}" at byte offset {begin}')
        while byte_at(raw, i) != _GT[0]:
            i = self._skip_spaces(i)
            if byte_at(raw, i) == _GT[0]:
                break
            name_begin = i
            while byte_at(raw, i) not in SPACES and byte_at(raw, i) not in b"=>/\"'":
                i += 1
            name = raw[name_begin:i]
            if not name:
                raise TelegramHtmlError(
                    f'Empty attribute name in the tag "{shown}" at byte offset {begin}'
                )
            i = self._skip_spaces(i)
            if byte_at(raw, i) != _EQ[0]:  # an attribute without a value
                if byte_at(raw, i) == 0:
                    raise TelegramHtmlError(f'Unclosed start tag "{shown}" at byte offset {begin}')
                if tag.name == b"blockquote" and name == b"expandable":
                    tag.argument = b"1"
                continue
            i = self._skip_spaces(i + 1)
            if byte_at(raw, i) == 0:
                raise TelegramHtmlError(f'Unclosed start tag "{shown}" at byte offset {begin}')
            value, i = self._attribute_value(i)
            if byte_at(raw, i) == 0:
                raise TelegramHtmlError(f"Unclosed start tag at byte offset {begin}")
            _set_attribute(tag, name, value)
        if tag.name == b"span" and tag.argument != b"spoiler":
            raise TelegramHtmlError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {begin}'
            )
        self.open.append(tag)
        return i + 1

    def _attribute_value(self, i: int) -> tuple[bytes, int]:
        """A quoted string (entities decoded) or an unquoted name token (lower-cased)."""
        raw = self.raw
        quote = byte_at(raw, i)
        if quote not in _QUOTES:
            begin = i
            while (
                is_alpha(byte_at(raw, i)) or is_digit(byte_at(raw, i)) or byte_at(raw, i) in b".-"
            ):
                i += 1
            if byte_at(raw, i) not in SPACES and byte_at(raw, i) != _GT[0]:
                raise TelegramHtmlError(f"Unexpected end of name token at byte offset {begin}")
            return raw[begin:i].lower(), i
        value = bytearray()
        i += 1
        while byte_at(raw, i) not in (quote, 0):
            if raw[i] == _AMP[0]:
                code, end = _decode_entity(raw, i)
                if code:
                    value += chr(code).encode("utf-8", "surrogatepass")
                    i = end
                    continue
            value.append(raw[i])
            i += 1
        return bytes(value), i + 1 if byte_at(raw, i) == quote else i

    def _end_tag(self, begin: int) -> int:
        """Reads ``</name>`` (or ``</>``, which closes the innermost tag) and makes the entity."""
        if not self.open:
            raise TelegramHtmlError(f"Unexpected end tag at byte offset {begin}")
        raw, i = self.raw, begin + 1
        while byte_at(raw, i) not in SPACES and byte_at(raw, i) != _GT[0]:
            i += 1
        name = raw[begin + 2 : i].lower()
        i = self._skip_spaces(i)
        if byte_at(raw, i) != _GT[0]:
            raise TelegramHtmlError(f"Unclosed end tag at byte offset {begin}")
        tag = self.open.pop()
        if name and name != tag.name:
            expected, found = tag.name.decode(errors="replace"), name.decode(errors="replace")
            raise TelegramHtmlError(
                f'Unmatched end tag at byte offset {begin}, expected "</{expected}>", '
                f'found "</{found}>"'
            )
        if self.utf16 > tag.utf16_start:  # empty elements make no entity, and no error
            self._close(tag, tag.utf16_start, self.utf16 - tag.utf16_start)
        return i + 1

    def _close(self, tag: _OpenTag, offset: int, length: int) -> None:
        last = self.entities[-1] if self.entities else None
        same_span = last is not None and (last.offset, last.length) == (offset, length)
        if tag.name in _SIMPLE_TYPES:
            self.entities.append(Entity(_SIMPLE_TYPES[tag.name], offset, length))
        elif tag.name == b"tg-emoji":
            emoji_id = to_integer(tag.argument, 64)
            if not emoji_id:
                raise TelegramHtmlError("Invalid custom emoji identifier specified")
            self.entities.append(
                Entity("custom_emoji", offset, length, custom_emoji_id=str(emoji_id))
            )
        elif tag.name == b"a":
            url = checked_link(tag.argument or bytes(self.out[tag.out_start :]))
            if url is not None:  # a refused link silently loses its entity
                self.entities.append(Entity("text_link", offset, length, url=url))
        elif tag.name == b"pre" and last and same_span and last.type == "code" and last.language:
            self.entities[-1] = replace(last, type="pre")  # <code class=...> inside <pre>
        elif tag.name == b"code" and last and same_span and last.type == "pre" and tag.argument:
            self.entities[-1] = replace(last, language=utf8_text(tag.argument))
        elif tag.name in (b"pre", b"code"):
            language = utf8_text(tag.argument) if tag.argument else None
            self.entities.append(Entity(tag.name.decode(), offset, length, language=language))
        elif tag.name == b"blockquote":
            kind = "expandable_blockquote" if tag.argument else "blockquote"
            self.entities.append(Entity(kind, offset, length))
        elif tag.name == b"tg-time":
            unix_time = to_integer(tag.argument, 32)
            if unix_time is not None and unix_time >= 0:  # UNCONFIRMED: TDLib's exact rule
                fmt = utf8_text(tag.time_format) if tag.time_format is not None else None
                self.entities.append(
                    Entity("date_time", offset, length, unix_time=unix_time, date_time_format=fmt)
                )


def _drop_code_language(entity: Entity) -> Entity:
    """A class="language-x" counts only inside <pre>; a plain code entity drops it."""
    return replace(entity, language=None) if entity.type == "code" else entity


def _set_attribute(tag: _OpenTag, name: bytes, value: bytes) -> None:
    """The attributes TDLib reads (names are case-sensitive); all others are ignored."""
    if tag.name == b"a" and name == b"href":
        tag.argument = value
    elif tag.name == b"code" and name == b"class" and value.startswith(b"language-"):
        tag.argument = value[len(b"language-") :]
    elif tag.name == b"span" and name == b"class" and value.startswith(b"tg-"):
        tag.argument = value[len(b"tg-") :]
    elif tag.name == b"tg-emoji" and name == b"emoji-id":
        tag.argument = value
    elif tag.name == b"blockquote" and name == b"expandable":
        tag.argument = b"1"
    elif tag.name == b"tg-time" and name == b"unix":
        tag.argument = value
    elif tag.name == b"tg-time" and name == b"format":
        tag.time_format = value


def parse_html(text: str) -> FormattedText:
    """Parses ``text`` as Telegram's HTML; raises :class:`TelegramHtmlError` where TDLib does."""
    return _HtmlParser(text.encode("utf-8", "surrogatepass")).run()
