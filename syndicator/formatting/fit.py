"""Shortening a post until it fits: pure functions, no templates and no networks.

``fit_post`` is given a ``render(title, summary, extras) -> text`` function and a
``fits(text)`` predicate. It keeps the post whole when it fits; otherwise it drops the
optional extras (hashtags), the last first, then shortens the summary, then drops it and
shortens the title. Text is cut at a word boundary (whitespace, or next to a CJK
character, which needs no spaces) and ends with "…"; a word with no such boundary is
cut between character clusters, never inside one (a letter and its combining marks, an
emoji ZWJ sequence, a flag, a skin-tone modifier). The longest prefix that fits is found
by a galloping binary search, after very long input has been cut to a bound the caller
gives, so that fitting a 100 KB summary takes milliseconds.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

ELLIPSIS = "…"
ZWJ = "\u200d"
# A "cluster" longer than this is not a real character (think Zalgo text): cut it anyway.
MAX_CLUSTER = 32

_NO_BREAK_SPACES = "\u00a0\u2007\u202f"
_SPACE = rf"[^\S{_NO_BREAK_SPACES}]"
_NON_SPACE = rf"[\S{_NO_BREAK_SPACES}]"
_CJK = (
    "[\u3000-\u303f\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff"
    "\uf900-\ufaff\uff01-\uff9f\U00020000-\U0003ffff]"
)
_WORD_CUT = re.compile(
    rf"(?<={_NON_SPACE})(?={_SPACE})|(?<={_CJK})(?={_NON_SPACE})|(?<={_NON_SPACE})(?={_CJK})"
)
_SPACE_RUN = re.compile(rf"{_SPACE}+")
# Runs of spaces, control characters and line separators become one space (other Unicode
# spaces, such as the ideographic one, are kept); characters that only do harm (byte-order
# marks, noncharacters X refuses, bidi embeddings, lone surrogates) go.
_TO_SPACE = re.compile("[ \x00-\x1f\x7f-\x9f\u2028\u2029]+")
_DROPPED = re.compile("[\ufeff\ufffe\uffff\u202a-\u202e\ud800-\udfff]")


@dataclass(frozen=True, slots=True)
class Fitted:
    """A rendering that fits, with the title, summary and number of extras it was made from."""

    text: str
    title: str
    summary: str
    extras: int = 0


def tidy(text: str) -> str:
    """Feed text as a post shows it: NFC, one space for a run of spaces or controls, stripped.

    NFC also matters for counting: Telegram deletes some combining marks and X counts
    after normalising.
    """
    text = unicodedata.normalize("NFC", _DROPPED.sub("", text))
    return _TO_SPACE.sub(" ", text).strip(" ")


def _is_blank(char: str) -> bool:
    return char.isspace() or char == ZWJ


def _trim_end(text: str) -> str:
    """``text`` without trailing space and punctuation, unless that is all there is."""
    end = len(text)
    while end and _is_blank(text[end - 1]):
        end -= 1
    blank_trimmed = end
    while end and (_is_blank(text[end - 1]) or unicodedata.category(text[end - 1])[0] == "P"):
        end -= 1
    return text[: end or blank_trimmed]


def _is_regional(char: str) -> bool:
    return "\U0001f1e6" <= char <= "\U0001f1ff"


def _joined(before: str, after: str, regional_run: int) -> bool:
    """True when ``before`` and ``after`` belong to one character cluster.

    ``regional_run`` is how many regional indicators end at ``before`` (flags are pairs).
    """
    code = ord(after)
    return (
        unicodedata.category(after) in ("Mn", "Mc", "Me")
        or after == ZWJ
        or 0xFE00 <= code <= 0xFE0F  # variation selectors
        or 0xE0100 <= code <= 0xE01EF
        or 0x1F3FB <= code <= 0x1F3FF  # skin-tone modifiers
        or 0xE0020 <= code <= 0xE007F  # emoji tag sequences (subdivision flags)
        or 0x1160 <= code <= 0x11FF  # Hangul vowel and final jamo
        or 0xD7B0 <= code <= 0xD7FF
        or (before == ZWJ and unicodedata.category(after) == "So")
        or (_is_regional(after) and regional_run % 2 == 1)
    )


def is_safe_cut(text: str, at: int) -> bool:
    """True when ``text[:at]`` does not split a character cluster."""
    if at <= 0 or at >= len(text):
        return True
    run = 0
    while run < at and _is_regional(text[at - 1 - run]):
        run += 1
    return not _joined(text[at - 1], text[at], run)


def next_cluster_cut(text: str, at: int) -> int:
    """The first position from ``at`` on where ``text`` may be cut between clusters."""
    start = at
    while at < len(text) and not is_safe_cut(text, at) and at - start < MAX_CLUSTER:
        at += 1
    return at


def next_word_cut(text: str, at: int) -> int | None:
    """The first word boundary from ``at`` on, or None if there is none."""
    match = _WORD_CUT.search(text, at)
    while match is not None and not is_safe_cut(text, match.start()):
        match = _WORD_CUT.search(text, match.start() + 1)
    return None if match is None else match.start()


def shorten(text: str, at: int) -> str:
    """``text[:at]`` without trailing space or punctuation, plus "…"; "" if nothing is left."""
    head = _trim_end(text[:at])
    return head + ELLIPSIS if head else ""


def precut(text: str, bound: int) -> tuple[str, bool]:
    """Cut absurdly long text to about ``bound`` code points so that fitting stays fast.

    Says whether it cut. Prefers the last word boundary in the second half of the bound.
    """
    if len(text) <= bound:
        return text, False
    spaces = list(_SPACE_RUN.finditer(text, bound // 2, bound + 1))
    if spaces:
        return text[: spaces[-1].start()], True
    at = bound
    while at > 1 and not is_safe_cut(text, at) and bound - at < MAX_CLUSTER:
        at -= 1
    return text[:at], True


def _longest(
    next_cut: Callable[[int], int | None],
    attempt: Callable[[int], Fitted | None],
    low: int,
    high: int,
) -> Fitted | None:
    """The attempt at the longest cut in [low, high) that fits.

    Assumes a longer cut never measures shorter. Gallops up from ``low`` before bisecting,
    so that the work grows with the answer, not with the input: measuring is the costly
    part (twitter-text is slow on long texts without spaces).
    """
    best: Fitted | None = None
    step = 1
    while low < high:  # gallop: cuts at growing distances until one does not fit
        cut = next_cut(low + step - 1)
        if cut is None or cut >= high:
            break
        got = attempt(cut)
        if got is None:
            high = cut
            break
        best, low, step = got, cut + 1, step * 2
    while low < high:  # bisect what is left
        middle = (low + high) // 2
        cut = next_cut(middle)
        got = None if cut is None or cut >= high else attempt(cut)
        if cut is None or got is None:
            high = middle
        else:
            best, low = got, cut + 1
    return best


def _shortened(
    text: str, include_end: bool, attempt: Callable[[str], Fitted | None]
) -> Fitted | None:
    """The longest shortened form of ``text`` that fits.

    Word boundaries first; if not even the first word fits, cluster boundaries inside it.
    ``include_end`` allows all of ``text`` plus "…" (for text that ``precut`` shortened).
    """
    content = next((i for i, char in enumerate(text) if not _is_blank(char)), len(text))
    last_word = len(text) + 1  # no word boundary from here on (saves rescanning)

    def word_cut(at: int) -> int | None:
        nonlocal last_word
        cut = next_word_cut(text, at) if at < last_word else None
        if cut is None:
            last_word = min(last_word, at)
            return len(text) if include_end and at <= len(text) else None
        return cut

    def try_cut(at: int) -> Fitted | None:
        return attempt(shorten(text, at))

    end = len(text) + 1
    found = _longest(word_cut, try_cut, content + 1, end)
    if found is None:
        first_word = word_cut(content + 1)
        inside = len(text) if first_word is None else min(len(text), first_word)
        found = _longest(lambda at: next_cluster_cut(text, at), try_cut, content + 1, inside)
    return found


def fit_post(
    render: Callable[[str, str, int], str],
    fits: Callable[[str], bool],
    *,
    title: str,
    summary: str,
    bound: int,
    extras: int = 0,
) -> Fitted | None:
    """The fullest rendering of ``title`` and ``summary`` that fits, or None if none does.

    ``render``'s third argument is how many of the ``extras`` optional items to show.
    Order: everything; fewer extras, down to none; then, without extras, a shortened
    summary; no summary; no summary and a shortened title.
    """

    def attempt(title: str, summary: str, extras: int = 0) -> Fitted | None:
        text = render(title, summary, extras)
        return Fitted(text, title, summary, extras) if fits(text) else None

    title, title_cut = precut(title, bound)
    summary, summary_cut = precut(summary, bound)
    if not title_cut:  # a title that needed a pre-cut leaves no room for a summary
        if not summary_cut:
            for count in range(extras, -1, -1):
                found = attempt(title, summary, count)
                if found is not None:
                    return found
        if summary:
            without_summary = attempt(title, "")
            if without_summary is not None:
                shortened = _shortened(summary, summary_cut, lambda s: attempt(title, s))
                return shortened or without_summary
    if not title:
        return None
    return _shortened(title, title_cut, lambda t: attempt(t, ""))
