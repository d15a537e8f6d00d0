"""Telegram's formatted text: its entities, and what the Bot API does to a text after parsing.

A text and its entities come from :func:`~syndicator.sandbox.telegram_html.parse_html` (or, in
the other parse modes, as sent). Before checking a message, the Bot API cleans and trims it
(TDLib ``MessageEntity.cpp``: ``fix_formatted_text``); the length limits count code points of
that cleaned text, while entity offsets and lengths are in UTF-16 units, as the Bot API reports
them. The facts are in docs ``platforms.md`` sections 1.4, 1.5 and 5.

Not modelled: TDLib's ``fix_entities`` (splitting or dropping entities that nest in ways
Telegram forbids, such as bold inside ``<pre>``).
"""

from __future__ import annotations

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


# td::MessageEntity::get_type_priority, the tie-breaker of sort_entities.
_PRIORITY = {
    "blockquote": 0, "expandable_blockquote": 0, "pre": 11, "code": 20, "text_link": 49,
    "date_time": 50, "bold": 90, "italic": 91, "underline": 92, "strikethrough": 93,
    "spoiler": 94, "custom_emoji": 99,
}  # fmt: skip


def _sort_key(entity: Entity) -> tuple[int, int, int]:
    """td::sort_entities: by offset, longer first, then by type priority (pre+language: 10)."""
    return entity.offset, -entity.length, _PRIORITY[entity.type] - (entity.language is not None)


def sorted_entities(entities: list[Entity]) -> tuple[Entity, ...]:
    return tuple(sorted(entities, key=_sort_key))


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
    return FormattedText("".join(kept[lead:]), sorted_entities(entities))


def is_empty_text(ft: FormattedText) -> bool:
    """td is_empty_string on fixed text: only blanks and invisible marks ("must be non-empty").

    TDLib applies this to message texts, not to captions (those may be empty).
    """
    return all(c in _INVISIBLE or 0xE0000 <= ord(c) <= 0xE007F for c in ft.text)


def message_length(ft: FormattedText) -> int:
    """Code points of the fixed text: what the 4096 and 1024 limits are checked against."""
    return len(fix_formatted_text(ft).text)
