"""Site furniture never reaches a post: the footer lines of feed summaries are left out."""

from __future__ import annotations

from pathlib import Path

import pytest

from syndicator.sources import parse_feed
from syndicator.sources.chrome import is_chrome, without_trailing_chrome

FOOTER_FEED = Path(__file__).parent / "corpus" / "rss_site_footer.xml"


@pytest.mark.parametrize(
    "text",
    [
        "© EurasiaDiary — must be hyperlinked when used",
        "Report a mistake by marking it and pressing Ctrl+Enter",
        "Follow us on Telegram",
        "A A A",
        "Tel.: +994 12 505 50 50",
        "We use cookies to improve your experience",
    ],
)
def test_site_furniture_is_chrome(text: str) -> None:
    assert is_chrome(text)


@pytest.mark.parametrize(
    "text",
    ["Ministers agree on the new rail corridor", "The court sat for three hours on Tuesday"],
)
def test_story_text_is_not_chrome(text: str) -> None:
    assert not is_chrome(text)


def test_footer_paragraphs_at_the_end_go_and_the_story_stays() -> None:
    text = "The corridor opens.\n\nWork starts next year.\n\n© Site — must be hyperlinked when used"
    assert without_trailing_chrome(text) == "The corridor opens.\n\nWork starts next year."


def test_chrome_in_the_middle_and_long_paragraphs_stay() -> None:
    middle = "Follow us on Telegram\n\nThe corridor opens."
    assert without_trailing_chrome(middle) == middle
    long = "The corridor opens.\n\n" + "A court said the copyright © stays. " * 12
    assert without_trailing_chrome(long) == long


def test_a_summary_of_one_paragraph_is_kept_whatever_it_says() -> None:
    assert without_trailing_chrome("© 2026 the court ruled") == "© 2026 the court ruled"


def test_a_feed_summary_loses_the_sites_footer_lines() -> None:
    feed = parse_feed(FOOTER_FEED.read_bytes(), base_url="https://eurasia.example/rss")
    rail, court = feed.entries
    assert rail.summary == (
        "The corridor links the port with the border crossing in the north.\n\n"
        "Work starts next year."
    )
    assert court.summary.startswith("© 2026: the court said")  # the story itself: kept
