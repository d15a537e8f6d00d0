"""How long a post is, as each network counts it, and each network's limit.

The networks disagree on what a character is, and a post that a network measures as too
long is refused, so each measurement follows the network's own rule (platforms.md 1.4,
1.5, 2.4 and 5):

* X: twitter-text's weighted length (URLs 23, emoji and CJK 2), at most 280, and none of
  the characters X refuses.
* Telegram: code points of the visible text after its HTML is parsed, cleaned and trimmed
  the way the Bot API server does it, at most 4096 for a message and 1024 for a photo's
  caption; the raw markup may not exceed 32768 bytes either.
* Facebook: the message in UTF-16 code units (the stricter reading of "characters"),
  at most 63206, for a photo's caption too.

Where our count cannot be exact it errs long: a post we measure as fitting always fits.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import twitter_text

from syndicator.records import ChannelType


@dataclass(frozen=True, slots=True)
class NetworkRules:
    """One network's measure and limits.

    ``precut`` is how many code points of a title or summary are worth looking at: no
    longer text can fit, so longer input is cut to it before the search for a fit starts.
    """

    limit: int
    measure: Callable[[str], int]
    precut: int
    max_bytes: int | None = None
    refused: re.Pattern[str] | None = None  # characters the network refuses outright

    def fits(self, text: str) -> bool:
        """True when the network will accept ``text`` as far as its length goes."""
        if self.max_bytes is not None and len(text.encode("utf-8", "surrogatepass")) > (
            self.max_bytes
        ):
            return False
        if self.refused is not None and self.refused.search(text):
            return False
        return self.measure(text) <= self.limit


# twitter-text's invalid characters: a post holding one is refused whatever its length.
_X_REFUSED = re.compile("[\ufffe\ufeff\uffff]")


def twitter_length(text: str) -> int:
    """X's weighted length of a plain-text post."""
    return int(twitter_text.parse_tweet(text).weightedLength)


def facebook_length(text: str) -> int:
    """A Facebook message's length in UTF-16 code units (never fewer than its code points)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


class MarkupError(ValueError):
    """Text that Telegram's HTML parse mode would refuse (or that we refuse to risk)."""


ALLOWED_TAGS = frozenset(
    {"a", "b", "strong", "i", "em", "s", "strike", "del", "u", "ins", "tg-spoiler",
     "tg-emoji", "tg-time", "span", "pre", "code", "blockquote"}
)  # fmt: skip

# Named entities Telegram decodes; any other name stays literal text.
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY = re.compile(r"&(?:#x([0-9A-Fa-f]*)|#([0-9]*)|([A-Za-z]*));?")
_START_TAG = re.compile(
    r"""<([A-Za-z][A-Za-z0-9-]*)((?:\s+[^\s="'<>/]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[A-Za-z0-9.-]+))?)*)\s*>"""
)
_ATTRIBUTE = re.compile(r"""([^\s="'<>/]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([A-Za-z0-9.-]+)))?""")
_SPECIAL = re.compile("[&<]")
_END_TAG = re.compile(r"</([A-Za-z0-9-]*)\s*>")
# Deleted by the server before counting: CR, U+2028..U+202E and three combining marks.
_DELETED = re.compile("[\r\u2028-\u202e\u030a\u0333\u033f]")
# Other control characters (tab included) become spaces; "\n" is kept.
_CONTROL = re.compile("[\x00-\x09\x0b\x0c\x0e-\x1f]")


@dataclass(frozen=True, slots=True)
class TelegramText:
    """Telegram HTML taken apart: the decoded text, before the server cleans and trims it.

    ``entity_starts`` are where elements with content begin: the server's leading trim
    stops at the first entity.
    """

    text: str
    links: tuple[str, ...]
    entity_starts: tuple[int, ...]


def _decode_entity(markup: str, at: int) -> tuple[str, int] | None:
    """The character an entity at ``at`` stands for and where it ends, or None if literal."""
    match = _ENTITY.match(markup, at)
    if match is None:
        return None
    hex_digits, dec_digits, name = match.groups()
    if name is not None:
        if name not in _NAMED:
            return None
        return _NAMED[name], match.end()
    digits = hex_digits if hex_digits is not None else dec_digits
    prefix = 3 if hex_digits is not None else 2
    if not digits or prefix + len(digits) >= 10:
        return None
    code = int(digits, 16 if hex_digits is not None else 10)
    if code == 0 or code >= 0x10FFFF:
        return None
    if 0xD800 <= code <= 0xDFFF:
        raise MarkupError(f"entity at offset {at} is a lone surrogate")
    return chr(code), match.end()


def _decode_value(value: str) -> str:
    """An attribute's value with its entities decoded (a link's ``&amp;`` between parameters)."""
    parts: list[str] = []
    i = 0
    while (amp := value.find("&", i)) >= 0:  # from one "&" to the next: links are long
        parts.append(value[i:amp])
        decoded = _decode_entity(value, amp)
        if decoded is None:
            parts.append("&")
            i = amp + 1
        else:
            parts.append(decoded[0])
            i = decoded[1]
    parts.append(value[i:])
    return "".join(parts)


def _open_tag(markup: str, at: int) -> tuple[str, dict[str, str], int]:
    match = _START_TAG.match(markup, at)
    if match is None:
        raise MarkupError(f"malformed or unsupported tag at offset {at}")
    name = match.group(1).lower()
    if name not in ALLOWED_TAGS:
        raise MarkupError(f'unsupported tag "{name}" at offset {at}')
    attributes: dict[str, str] = {}
    for attr in _ATTRIBUTE.finditer(match.group(2)):
        quoted = attr.group(2) if attr.group(2) is not None else attr.group(3)
        value = _decode_value(quoted) if quoted is not None else (attr.group(4) or "").lower()
        attributes[attr.group(1)] = value
    if name == "span" and attributes.get("class") != "tg-spoiler":
        raise MarkupError(f'tag "span" at offset {at} must have class "tg-spoiler"')
    if name == "tg-emoji" and not attributes.get("emoji-id", "").isdigit():
        raise MarkupError(f'tag "tg-emoji" at offset {at} needs a numeric emoji-id')
    return name, attributes, match.end()


def parse_telegram_html(markup: str) -> TelegramText:
    """Parse Telegram's HTML subset strictly; raise MarkupError where Telegram might refuse."""
    parts: list[str] = []
    size = 0
    stack: list[tuple[str, int, str]] = []
    links: list[str] = []
    entity_starts: list[int] = []
    i = 0
    while i < len(markup):
        char = markup[i]
        decoded = _decode_entity(markup, i) if char == "&" else None
        if decoded is not None:
            parts.append(decoded[0])
            size += 1
            i = decoded[1]
        elif char != "<":
            special = _SPECIAL.search(markup, i + 1)
            stop = len(markup) if special is None else special.start()
            parts.append(markup[i:stop])
            size += stop - i
            i = stop
        elif markup.startswith("</", i):
            match = _END_TAG.match(markup, i)
            if match is None:
                raise MarkupError(f"malformed end tag at offset {i}")
            if not stack:
                raise MarkupError(f"unexpected end tag at offset {i}")
            name, start, href = stack.pop()
            if match.group(1) and match.group(1) != name:
                raise MarkupError(f'end tag at offset {i} does not close "{name}"')
            if size > start:  # an empty element makes no entity: an empty link no link
                entity_starts.append(start)
                if name == "a":
                    links.append(href)
            i = match.end()
        else:
            name, attributes, i = _open_tag(markup, i)
            stack.append((name, size, attributes.get("href", "")))
    if stack:
        raise MarkupError(f'no end tag for "{stack[-1][0]}"')
    return TelegramText("".join(parts), tuple(links), tuple(entity_starts))


def _clean(text: str) -> str:
    return _CONTROL.sub(" ", _DELETED.sub("", text))


def telegram_visible_text(markup: str) -> str:
    """The text Telegram stores for ``markup``: decoded, cleaned, trimmed.

    Leading spaces and newlines are trimmed only up to the first entity (the server keeps
    entities in place); trailing ones always. Trimming less than the server may (when it
    drops an entity, such as a link it refuses) only makes the count longer.
    """
    parsed = parse_telegram_html(markup)
    stop = min(parsed.entity_starts, default=len(parsed.text))
    head = _clean(parsed.text[:stop]).lstrip(" \n")
    return (head + _clean(parsed.text[stop:])).rstrip(" \n")


def telegram_length(markup: str) -> int:
    """Telegram's length of an HTML message: code points of the visible text."""
    return len(telegram_visible_text(markup))


RULES: Mapping[ChannelType, NetworkRules] = MappingProxyType(
    {
        ChannelType.TWITTER: NetworkRules(
            limit=280, measure=twitter_length, precut=1120, refused=_X_REFUSED
        ),
        ChannelType.TELEGRAM: NetworkRules(
            limit=4096, measure=telegram_length, precut=8192, max_bytes=32768
        ),
        # UTF-16 units are never fewer than code points, so nothing longer can fit.
        ChannelType.FACEBOOK: NetworkRules(limit=63206, measure=facebook_length, precut=63206),
    }
)
TELEGRAM_CAPTION = NetworkRules(limit=1024, measure=telegram_length, precut=2048, max_bytes=32768)


def rules_for(channel_type: ChannelType, *, photo: bool = False) -> NetworkRules:
    """The rules for a post on ``channel_type``; ``photo``: the text is a photo's caption."""
    if photo and channel_type is ChannelType.TELEGRAM:
        return TELEGRAM_CAPTION
    return RULES[channel_type]
