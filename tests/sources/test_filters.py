"""Source filters: what an editor configures is what is kept out, with a reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from syndicator.config import SourceConfig
from syndicator.records import FeedEntry
from syndicator.sources.filters import EntryFilter

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def entry_filter(**options: object) -> EntryFilter:
    fields: dict[str, object] = {
        "name": "s",
        "feed": "f.xml",
        "attribution": "A",
        "channels": ["c"],
    }
    fields.update(options)
    return EntryFilter.of(SourceConfig.model_validate(fields))


def entry(title: str = "A story", summary: str = "", **fields: object) -> FeedEntry:
    return FeedEntry(guid="g", url="https://e.com/a", title=title, summary=summary, **fields)  # type: ignore[arg-type]


def test_no_filters_keep_everything() -> None:
    assert entry_filter().rejection(entry(), NOW) is None


def test_included_categories_keep_only_matching_entries_ignoring_case() -> None:
    only_politics = entry_filter(include_categories=["Politics", "Economy"])
    assert only_politics.rejection(entry(categories=("POLITICS",)), NOW) is None
    reason = only_politics.rejection(entry(categories=("Sport",)), NOW)
    assert reason == "filtered: none of its categories is included (economy, politics)"
    assert only_politics.rejection(entry(), NOW) is not None


def test_keywords_match_whole_words_in_title_or_summary() -> None:
    about_trams = entry_filter(include=["tram line"])
    assert about_trams.rejection(entry("New Tram Line approved"), NOW) is None
    assert about_trams.rejection(entry("Budget", summary="the tram line opens"), NOW) is None
    assert about_trams.rejection(entry("Tramline festival"), NOW) is not None


def test_a_slashed_term_is_a_regular_expression() -> None:
    no_ads = entry_filter(exclude=["/^(sponsored|advert)/"])
    assert no_ads.rejection(entry("Sponsored content"), NOW) is not None
    assert no_ads.rejection(entry("Not sponsored"), NOW) is None


def test_entries_older_than_max_age_are_kept_out_whatever_their_place() -> None:
    recent_only = entry_filter(max_age="2d")
    assert recent_only.rejection(entry(published=NOW - timedelta(days=1)), NOW) is None
    old = recent_only.rejection(entry(published=NOW - timedelta(days=5)), NOW)
    assert old == "filtered: published 5.0 days ago, older than max_age 2.0 days"
    assert recent_only.rejection(entry(published=None), NOW) is None  # no date: no judgement


def test_a_bad_regular_expression_is_a_config_error() -> None:
    with pytest.raises(ValueError, match="not a regular expression"):
        entry_filter(exclude=["/(unclosed/"])
