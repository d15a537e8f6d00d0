"""Which entries of a source may be posted: categories, keywords, patterns, age.

A pure decision (``now`` passed in) that returns the reason an entry is kept out, so the
posting log can say why an article never went out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from syndicator.config import SourceConfig
from syndicator.records import FeedEntry


def _pattern(term: str) -> re.Pattern[str]:
    """``/regex/`` as written; anything else as a case-insensitive whole word or phrase."""
    if len(term) > 2 and term.startswith("/") and term.endswith("/"):
        return re.compile(term[1:-1], re.IGNORECASE)
    return re.compile(rf"(?<!\w){re.escape(term.strip())}(?!\w)", re.IGNORECASE)


def _age(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours / 24:.1f} days" if hours >= 48 else f"{hours:.1f} hours"


@dataclass(frozen=True, slots=True)
class EntryFilter:
    include_categories: frozenset[str]
    exclude_categories: frozenset[str]
    include: tuple[tuple[str, re.Pattern[str]], ...]
    exclude: tuple[tuple[str, re.Pattern[str]], ...]
    max_age: timedelta | None

    @classmethod
    def of(cls, source: SourceConfig) -> EntryFilter:
        return cls(
            frozenset(c.casefold() for c in source.include_categories),
            frozenset(c.casefold() for c in source.exclude_categories),
            tuple((term, _pattern(term)) for term in source.include),
            tuple((term, _pattern(term)) for term in source.exclude),
            source.max_age,
        )

    def rejection(self, entry: FeedEntry, now: datetime) -> str | None:
        """Why ``entry`` must not be posted, or None if it may be."""
        categories = {c.casefold() for c in entry.categories}
        if self.include_categories and not categories & self.include_categories:
            wanted = ", ".join(sorted(self.include_categories))
            return f"filtered: none of its categories is included ({wanted})"
        excluded = categories & self.exclude_categories
        if excluded:
            return f"filtered: category {sorted(excluded)[0]!r} is excluded"
        text = f"{entry.title}\n{entry.summary}"
        if self.include and not any(p.search(text) for _, p in self.include):
            return "filtered: mentions none of " + ", ".join(t for t, _ in self.include)
        for term, pattern in self.exclude:
            if pattern.search(text):
                return f"filtered: mentions {term!r}, which is excluded"
        if self.max_age is not None and entry.published is not None:
            age = now - entry.published
            if age > self.max_age:
                limit = _age(self.max_age)
                return f"filtered: published {_age(age)} ago, older than max_age {limit}"
        return None
