"""Hashtags made from an article's categories, spelled so that X and Telegram link them.

Both networks make a hashtag of ``#`` followed by letters, combining marks, digits and
underscores, with at least one letter; anything else ends it. So a category keeps only
those characters: its words are joined in CamelCase ("Central Asia" -> ``#CentralAsia``,
"COVID-19" -> ``#COVID19``, "Women's rights" -> ``#WomensRights``), a one-word category
keeps its own spelling, and one with no letter left ("2024", "+++") or too long to be a
topic is dropped. Duplicates (ignoring case) are dropped, the first spelling kept.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

# Longer "categories" are sentences, not topics (and Telegram stops a hashtag at 256).
MAX_HASHTAG_LENGTH = 50
# Dropped inside a word rather than splitting it: "Women's" is one word.
_APOSTROPHES = frozenset("'’ʼ")


def _is_tag_char(char: str) -> bool:
    category = unicodedata.category(char)
    return category[0] in "LM" or category == "Nd" or char == "_"


def _words(text: str) -> list[str]:
    words: list[str] = []
    current: list[str] = []
    for char in unicodedata.normalize("NFC", text):
        if _is_tag_char(char):
            if current or unicodedata.category(char)[0] != "M":  # a mark needs a letter
                current.append(char)
        elif char not in _APOSTROPHES and current:
            words.append("".join(current))
            current = []
    if current:
        words.append("".join(current))
    return words


def hashtag(category: str) -> str | None:
    """The hashtag for one category (with its ``#``), or None when it makes none."""
    if len(category) > 4 * MAX_HASHTAG_LENGTH:  # a text, not a topic: not worth reading
        return None
    words = _words(category)
    if len(words) > 1:
        words = [word[:1].upper() + word[1:] for word in words]
    tag = "".join(words)
    has_letter = any(unicodedata.category(char)[0] == "L" for char in tag)
    if not has_letter or len(tag) > MAX_HASHTAG_LENGTH:
        return None
    return f"#{tag}"


def hashtags(categories: Iterable[str], limit: int) -> tuple[str, ...]:
    """At most ``limit`` distinct hashtags from ``categories``, in their order."""
    found: list[str] = []
    seen: set[str] = set()
    for category in categories:
        if len(found) >= limit:
            break
        tag = hashtag(category)
        if tag is not None and tag.casefold() not in seen:
            seen.add(tag.casefold())
            found.append(tag)
    return tuple(found)
