"""Telegram's HTML parse mode, accepted and refused exactly as the Bot API does.

The Telegram emulator checks our formatter's output against these rules, so they are taken
from the network's own code (TDLib ``MessageEntity.cpp``: ``parse_html``,
``fix_formatted_text``; ``LinkManager::check_link``; ``HttpUrl.cpp``: ``parse_url``), not from
the formatter. The facts are in docs ``platforms.md`` sections 1.4, 1.5 and 5.

TDLib walks the raw UTF-8 bytes of a NUL-terminated string, so the parser does the same: it
reads ``raw[i]`` through :func:`_at`, which answers 0 past the end, and reports errors at
UTF-8 byte offsets. Entity offsets and lengths are in UTF-16 units, as the Bot API reports
them; the length limits count code points of the cleaned, trimmed text.

Not modelled: TDLib's ``fix_entities`` (splitting or dropping entities that nest in ways
Telegram forbids, such as bold inside ``<pre>``), ``tg://user?id=`` links becoming text
mentions (they stay text links here), and the rules for ``<tg-time>`` beyond its attributes.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, replace

MAX_MESSAGE_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_RAW_TEXT_BYTES = 32768


@dataclass(frozen=True, slots=True)
class Entity:
    """A MessageEntity as the Bot API returns it; offsets in UTF-16 code units."""

    type: str
    offset: int
    length: int
    url: str | None = None
    language: str | None = None
    custom_emoji_id: str | None = None
    unix_time: int | None = None
    date_time_format: str | None = None

    def to_dict(self) -> dict[str, object]:
        """The JSON object of a Message's ``entities``: fields that do not apply are left out."""
        extras = {
            "url": self.url,
            "language": self.language,
            "custom_emoji_id": self.custom_emoji_id,
            "unix_time": self.unix_time,
            "date_time_format": self.date_time_format,
        }
        fields = {"offset": self.offset, "length": self.length, "type": self.type}
        return fields | {k: v for k, v in extras.items() if v is not None}


@dataclass(frozen=True, slots=True)
class FormattedText:
    """A text and its entities, as parsing (and then fixing) leaves them."""

    text: str
    entities: tuple[Entity, ...]


class TelegramHtmlError(ValueError):
    """The Bot API's refusal; ``detail`` follows ``"Bad Request: can't parse entities: "``."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


_LT, _GT, _AMP, _SLASH, _EQ = b"<", b">", b"&", b"/", b"="
_QUOTES = frozenset(b"\"'")
_SPACES = frozenset(b" \t\r\n\0\v")  # td::is_space; 0 is also the end of the string
_NAMED_ENTITIES = {b"lt": ord("<"), b"gt": ord(">"), b"amp": ord("&"), b"quot": ord('"')}
_SIMPLE_TYPES = {
    b"b": "bold", b"strong": "bold", b"i": "italic", b"em": "italic",
    b"u": "underline", b"ins": "underline", b"s": "strikethrough", b"strike": "strikethrough",
    b"del": "strikethrough", b"tg-spoiler": "spoiler", b"span": "spoiler",
}  # fmt: skip
_ALLOWED_TAGS = frozenset(
    {*_SIMPLE_TYPES, b"a", b"tg-emoji", b"tg-time", b"pre", b"code", b"blockquote"}
)
# td::MessageEntity::get_type_priority, the tie-breaker of sort_entities.
_PRIORITY = {
    "blockquote": 0, "expandable_blockquote": 0, "pre": 11, "code": 20, "text_link": 49,
    "date_time": 50, "bold": 90, "italic": 91, "underline": 92, "strikethrough": 93,
    "spoiler": 94, "custom_emoji": 99,
}  # fmt: skip
_INTEGER = re.compile(rb"-?[0-9]+")


def _at(raw: bytes, i: int) -> int:
    """The byte at ``i``, or 0 past the end, like reading TDLib's NUL-terminated string."""
    return raw[i] if i < len(raw) else 0


def _is_alpha(c: int) -> bool:
    return ord("a") <= (c | 0x20) <= ord("z")


def _is_digit(c: int) -> bool:
    return ord("0") <= c <= ord("9")


def _is_hex(c: int) -> bool:
    return _is_digit(c) or ord("a") <= (c | 0x20) <= ord("f")


def _to_integer(text: bytes, bits: int) -> int | None:
    """td::to_integer_safe: only the number's canonical spelling, within a signed range."""
    if not _INTEGER.fullmatch(text) or str(int(text)).encode() != text:
        return None
    value = int(text)
    return value if -(1 << (bits - 1)) <= value < (1 << (bits - 1)) else None


def _sort_key(entity: Entity) -> tuple[int, int, int]:
    """td::sort_entities: by offset, longer first, then by type priority (pre+language: 10)."""
    return entity.offset, -entity.length, _PRIORITY[entity.type] - (entity.language is not None)


def _sorted(entities: list[Entity]) -> tuple[Entity, ...]:
    return tuple(sorted(entities, key=_sort_key))


def _decode_entity(raw: bytes, pos: int) -> tuple[int, int]:
    """TDLib decode_html_entity at the '&' at ``pos``: (code point, end) or (0, pos).

    Only &lt; &gt; &amp; &quot; are named; numeric references need a lower-case 'x' for hex,
    at most 7 decimal or 6 hex digits and 0 < code < 0x10FFFF; the ';' is optional.
    """
    end, code = pos + 1, 0
    if _at(raw, end) == ord("#"):
        end += 1
        base, digit = (10, _is_digit)
        if _at(raw, end) == ord("x"):
            end, base, digit = end + 1, 16, _is_hex
        start = end
        while digit(_at(raw, end)):
            end += 1
        code = int(raw[start:end], base) if end > start else 0
        if code == 0 or code >= 0x10FFFF or end - pos >= 10:
            return 0, pos
    else:
        while _is_alpha(_at(raw, end)):
            end += 1
        code = _NAMED_ENTITIES.get(raw[pos + 1 : end], 0)
        if code == 0:
            return 0, pos
    return code, end + 1 if _at(raw, end) == ord(";") else end


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
            elif _at(raw, i + 1) == _SLASH[0]:
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
        return FormattedText(text, _sorted([_drop_code_language(e) for e in self.entities]))

    def _emit(self, code: int) -> None:
        self.utf16 += 2 if code > 0xFFFF else 1
        self.surrogate_seen |= 0xD800 <= code <= 0xDFFF
        self.out += chr(code).encode("utf-8", "surrogatepass")

    def _skip_spaces(self, i: int) -> int:
        while _at(self.raw, i) != 0 and _at(self.raw, i) in _SPACES:
            i += 1
        return i

    def _start_tag(self, begin: int) -> int:
        """Reads ``<name attr=value ...>``; returns the position after '>'."""
        raw, i = self.raw, begin + 1
        while _at(raw, i) not in _SPACES and _at(raw, i) != _GT[0]:
            i += 1
        if _at(raw, i) == 0:
            raise TelegramHtmlError(f"Unclosed start tag at byte offset {begin}")
        tag = _OpenTag(raw[begin + 1 : i].lower(), b"", self.utf16, len(self.out))
        shown = tag.name.decode(errors="replace")
        if tag.name not in _ALLOWED_TAGS:
            raise TelegramHtmlError(f'Unsupported start tag "{shown}" at byte offset {begin}')
        while _at(raw, i) != _GT[0]:
            i = self._skip_spaces(i)
            if _at(raw, i) == _GT[0]:
                break
            name_begin = i
            while _at(raw, i) not in _SPACES and _at(raw, i) not in b"=>/\"'":
                i += 1
            name = raw[name_begin:i]
            if not name:
                raise TelegramHtmlError(
                    f'Empty attribute name in the tag "{shown}" at byte offset {begin}'
                )
            i = self._skip_spaces(i)
            if _at(raw, i) != _EQ[0]:  # an attribute without a value
                if _at(raw, i) == 0:
                    raise TelegramHtmlError(f'Unclosed start tag "{shown}" at byte offset {begin}')
                if tag.name == b"blockquote" and name == b"expandable":
                    tag.argument = b"1"
                continue
            i = self._skip_spaces(i + 1)
            if _at(raw, i) == 0:
                raise TelegramHtmlError(f'Unclosed start tag "{shown}" at byte offset {begin}')
            value, i = self._attribute_value(i)
            if _at(raw, i) == 0:
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
        quote = _at(raw, i)
        if quote not in _QUOTES:
            begin = i
            while _is_alpha(_at(raw, i)) or _is_digit(_at(raw, i)) or _at(raw, i) in b".-":
                i += 1
            if _at(raw, i) not in _SPACES and _at(raw, i) != _GT[0]:
                raise TelegramHtmlError(f"Unexpected end of name token at byte offset {begin}")
            return raw[begin:i].lower(), i
        value = bytearray()
        i += 1
        while _at(raw, i) not in (quote, 0):
            if raw[i] == _AMP[0]:
                code, end = _decode_entity(raw, i)
                if code:
                    value += chr(code).encode("utf-8", "surrogatepass")
                    i = end
                    continue
            value.append(raw[i])
            i += 1
        return bytes(value), i + 1 if _at(raw, i) == quote else i

    def _end_tag(self, begin: int) -> int:
        """Reads ``</name>`` (or ``</>``, which closes the innermost tag) and makes the entity."""
        if not self.open:
            raise TelegramHtmlError(f"Unexpected end tag at byte offset {begin}")
        raw, i = self.raw, begin + 1
        while _at(raw, i) not in _SPACES and _at(raw, i) != _GT[0]:
            i += 1
        name = raw[begin + 2 : i].lower()
        i = self._skip_spaces(i)
        if _at(raw, i) != _GT[0]:
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
            emoji_id = _to_integer(tag.argument, 64)
            if not emoji_id:
                raise TelegramHtmlError("Invalid custom emoji identifier specified")
            self.entities.append(
                Entity("custom_emoji", offset, length, custom_emoji_id=str(emoji_id))
            )
        elif tag.name == b"a":
            url = _checked_link(tag.argument or bytes(self.out[tag.out_start :]))
            if url is not None:  # a refused link silently loses its entity
                self.entities.append(Entity("text_link", offset, length, url=url))
        elif tag.name == b"pre" and last and same_span and last.type == "code" and last.language:
            self.entities[-1] = replace(last, type="pre")  # <code class=...> inside <pre>
        elif tag.name == b"code" and last and same_span and last.type == "pre" and tag.argument:
            self.entities[-1] = replace(last, language=_text(tag.argument))
        elif tag.name in (b"pre", b"code"):
            language = _text(tag.argument) if tag.argument else None
            self.entities.append(Entity(tag.name.decode(), offset, length, language=language))
        elif tag.name == b"blockquote":
            kind = "expandable_blockquote" if tag.argument else "blockquote"
            self.entities.append(Entity(kind, offset, length))
        elif tag.name == b"tg-time":
            unix_time = _to_integer(tag.argument, 32)
            if unix_time is not None and unix_time >= 0:  # UNCONFIRMED: TDLib's exact rule
                fmt = _text(tag.time_format) if tag.time_format is not None else None
                self.entities.append(
                    Entity("date_time", offset, length, unix_time=unix_time, date_time_format=fmt)
                )


def _text(value: bytes) -> str:
    return value.decode("utf-8", errors="replace")


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


# --- links: LinkManager::get_checked_link over td::parse_url -----------------------------

_HOST_SYMBOLS = frozenset(b"abcdefghijklmnopqrstuvwxyz0123456789.-_!$,~*'();&+=")
_LOWER_HEX = frozenset(b"0123456789abcdef")
_TG_HOST = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


@dataclass(frozen=True, slots=True)
class _Url:
    https: bool
    userinfo: bytes
    host: bytes
    ipv6: bool
    port: int  # 0 when the URL names none
    path: bytes  # always begins with '/'


def _checked_link(link: bytes) -> str | None:
    """The normalised URL Telegram keeps for an ``<a href>``, or None if it drops the link."""
    scheme = None
    for prefix in (b"tg:", b"ton:", b"tonsite:"):
        if link[: len(prefix)].lower() == prefix:
            scheme, link = prefix[:-1], link[len(prefix) :]
            link = link[2:] if link.startswith(b"//") else link
            break
    url = _parse_url(link)
    if url is None:
        return None
    if scheme is not None:
        if link[:7].lower() == b"http://" or url.https or url.userinfo or url.port or url.ipv6:
            return None
        allowed = _TG_HOST | ({ord(".")} if scheme == b"tonsite" else set())
        if any(c not in allowed for c in url.host):
            return None
        path = url.path[1:] if url.path[1:2] == b"?" else url.path
        return _text(scheme + b"://" + url.host + path)
    if b"." not in url.host and not url.ipv6:  # localhost, intranet names: refused
        return None
    userinfo = url.userinfo + b"@" if url.userinfo else b""
    port = b":%d" % url.port if url.port else b""
    return _text((b"https://" if url.https else b"http://") + userinfo + url.host + port + url.path)


def _parse_url(url: bytes) -> _Url | None:
    """td::parse_url: ``[http[s]://][userinfo@]host[:port][/path...]``, lower-cased host."""
    scheme_end = next((k for k, c in enumerate(url) if c in b":/?#@[]"), len(url))
    https, rest = False, url
    if url[scheme_end : scheme_end + 3] == b"://":
        scheme = url[:scheme_end].lower()
        if scheme not in (b"http", b"https"):
            return None
        https, rest = scheme == b"https", url[scheme_end + 3 :]
    authority_end = next((k for k, c in enumerate(rest) if c in b"/?#"), len(rest))
    authority, path = rest[:authority_end], rest[authority_end:]

    k = len(authority) - 1
    while k > 0 and authority[k] not in b":]@":
        k -= 1
    port = 0
    if k > 0 and authority[k] == ord(":"):
        digits = authority[k + 1 :]
        while len(digits) > 1 and digits[0] == ord("0"):
            digits = digits[1:]
        number = _to_integer(digits, 32)
        port = number if number else -1
        authority = authority[:k]
    if not 0 <= port <= 65535:
        return None
    at = authority.rfind(b"@")
    userinfo, host = (authority[:at], authority[at + 1 :]) if at >= 0 else (b"", authority)

    ipv6 = len(host) >= 2 and host[0] == ord("[") and host[-1] == ord("]")
    if ipv6:
        try:
            ipaddress.IPv6Address(host[1:-1].decode("ascii"))
        except ValueError:
            return None
    if not host or host == b".":
        return None
    host = host.lower()
    if not _host_is_valid(host, ipv6):
        return None

    path = path.rstrip(bytes(_SPACES)) or b"/"
    path = path if path.startswith(b"/") else b"/" + path
    path = b"".join(b"%%%02X" % c if c <= 0x20 else bytes([c]) for c in path)
    return _Url(https, userinfo, host, ipv6, port, path)


def _host_is_valid(host: bytes, ipv6: bool) -> bool:
    """RFC 3986 host symbols, %-escapes with lower-case hex, and raw UTF-8 are allowed."""
    if ipv6:
        return all(
            k in (0, len(host) - 1) or c in b":0123456789abcdef." for k, c in enumerate(host)
        )
    k = 0
    while k < len(host):
        c = host[k]
        if c == ord("%"):
            if host[k + 1 : k + 2] == b"" or host[k + 1] not in _LOWER_HEX:
                return False
            if host[k + 2 : k + 3] == b"" or host[k + 2] not in _LOWER_HEX:
                return False
            k += 2
        elif c not in _HOST_SYMBOLS and c < 0x80:
            return False
        k += 1
    return True


# --- fix_formatted_text: what the Bot API does to the text after parsing ------------------

_LTR_RTL_MARKS = frozenset("\u200e\u200f")
_ZWNJ = "\u200c"
_DELETED = frozenset("\r\u030a\u0333\u033f" + "".join(map(chr, range(0x2028, 0x202F))))
_TO_SPACE = frozenset(chr(c) for c in range(32) if c not in (10, 13))
_INVISIBLE = frozenset(
    " \n\u00a0\u1680\u180e\u200b\u200c\u200d\u200e\u200f\u202e\u202f\u205f\u2800\u3000\ufeff\ufffc"
    + "".join(map(chr, range(0x2000, 0x200B)))
)


def _units(char: str) -> int:
    return 2 if ord(char) > 0xFFFF else 1


def fix_formatted_text(ft: FormattedText) -> FormattedText:
    """td fix_formatted_text for a bot's message: clean characters, then trim.

    Control characters other than \\n become spaces; \\r, U+2028-U+202E and the combining
    marks U+030A, U+0333, U+033F are deleted; in a run of LRM/RLM marks all but the last
    become zero-width non-joiners. Spaces and newlines are trimmed at the end, and at the
    start up to the first entity. Entities follow the characters and are clipped to the text.
    """
    kept: list[str] = []
    new_offset: dict[int, int] = {}  # old UTF-16 offset -> new one, at character starts
    old = new = 0
    for char in ft.text:
        new_offset[old] = new
        old += _units(char)
        if char in _DELETED:
            continue
        kept.append(" " if char in _TO_SPACE else char)
        new += _units(char)
    new_offset[old] = new
    for k, char in enumerate(kept[:-1]):
        if char in _LTR_RTL_MARKS and kept[k + 1] in _LTR_RTL_MARKS:
            kept[k] = _ZWNJ

    def moved(offset: int) -> int:
        offset = min(max(offset, 0), old)
        while offset not in new_offset:  # inside a surrogate pair: round down
            offset -= 1
        return new_offset[offset]

    entities = []
    for e in ft.entities:
        start, end = moved(e.offset), moved(e.offset + e.length)
        if end > start and (e.type != "text_link" or e.url):
            entities.append(replace(e, offset=start, length=end - start))

    last = next((k for k in range(len(kept) - 1, -1, -1) if kept[k] not in " \n"), None)
    if last is None:
        return FormattedText("", ())
    kept = kept[: last + 1]
    end = sum(map(_units, kept))
    entities = [
        replace(e, length=min(e.length, end - e.offset)) for e in entities if e.offset < end
    ]
    first_entity = min((e.offset for e in entities), default=len(kept))
    lead = 0
    while lead < min(first_entity, len(kept)) and kept[lead] in " \n":
        lead += 1
    entities = [replace(e, offset=e.offset - lead) for e in entities]
    return FormattedText("".join(kept[lead:]), _sorted(entities))


def is_empty_text(ft: FormattedText) -> bool:
    """td is_empty_string on fixed text: only blanks and invisible marks ("must be non-empty").

    TDLib applies this to message texts, not to captions (those may be empty).
    """
    return all(c in _INVISIBLE or 0xE0000 <= ord(c) <= 0xE007F for c in ft.text)


def message_length(ft: FormattedText) -> int:
    """Code points of the fixed text: what the 4096 and 1024 limits are checked against."""
    return len(fix_formatted_text(ft).text)
