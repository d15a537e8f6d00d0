"""Site furniture, not story: what must never become a post's title or summary.

Pages and feeds carry the site's chrome beside the story: "Follow us", "Report a mistake by
marking it and pressing Ctrl+Enter", phone numbers, font-size controls ("A A A"), copyright
and "must be hyperlinked when used" lines, cookie notices. The attribution a post needs is the
formatter's to add, from the source's configuration; the site's own line in a feed summary
would only repeat it, badly cut.
"""

from __future__ import annotations

import re

# Site furniture, not story: a title or summary containing any of these is passed over.
_CHROME = re.compile(
    "|".join((
        r"report (?:a|an) (?:mistake|error|typo)", r"ctrl\s*\+\s*enter",
        r"\bfollow us\b", r"\bsubscribe (?:to (?:our|us)|now|here|on)\b",
        r"\bsign up for (?:our|the) newsletter",
        r"\bshare (?:this (?:article|story|post|page)|on (?:facebook|twitter|x|telegram)\b)",
        r"\b(?:tel|phone|fax)\s*[.:]\s*\+?\d", r"\bcall us (?:at|on|now)\b",
        r"\b(?:font|text) size\b", r"\b(?:increase|decrease) (?:the )?font\b",
        r"©", r"\(c\) \d{4}", r"\bcopyright\s*(?:\(c\)|\d{4})", r"all rights reserved",
        r"must be hyperlinked", r"hyperlink[^.]{0,80} is (?:required|mandatory|obligatory)",
        r"we use cookies", r"\b(?:site|website) uses cookies", r"\baccept (?:all )?cookies",
        r"\bcookie (?:policy|settings|preferences)",
    )),
    re.IGNORECASE,
)  # fmt: skip
_PHONE = re.compile(r"(?<![\w+])\+\d[\d\s().-]{7,20}\d")  # "+994 12 505 50 50"
_FONT_SIZES = re.compile(r"(?<!\w)A[-+]?\s+A[-+]?\s+A[-+]?(?!\w)")  # "A A A", "A- A A+"


def is_chrome(text: str) -> bool:
    """Whether ``text`` reads like the site's furniture rather than an article's words."""
    if _CHROME.search(text) or _FONT_SIZES.search(text):
        return True
    return any(sum(c.isdigit() for c in m.group()) >= 9 for m in _PHONE.finditer(text))


def without_trailing_chrome(text: str, *, longest: int = 300) -> str:
    """``text`` without the short chrome paragraphs at its end (a feed summary's footer).

    Only whole paragraphs (separated by a blank line) at the end go, and only short ones: a
    long paragraph that happens to say "copyright" is story, not furniture. Text that is
    chrome through and through comes back as it was, for the caller to judge.
    """
    paragraphs = text.split("\n\n")
    kept = len(paragraphs)
    while kept > 1 and len(paragraphs[kept - 1]) <= longest and is_chrome(paragraphs[kept - 1]):
        kept -= 1
    return text if kept == len(paragraphs) else "\n\n".join(paragraphs[:kept])
