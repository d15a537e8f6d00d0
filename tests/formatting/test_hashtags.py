"""Hashtags from categories: spelled so that X and Telegram link them, few and distinct."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syndicator.formatting.hashtags import MAX_HASHTAG_LENGTH, hashtag, hashtags


@pytest.mark.parametrize(
    ("category", "tag"),
    [
        ("Economy", "#Economy"),
        ("economy", "#economy"),
        ("Central Asia", "#CentralAsia"),
        ("central asia", "#CentralAsia"),
        ("COVID-19", "#COVID19"),
        ("Women's rights", "#WomensRights"),
        ("U.S. Politics", "#USPolitics"),
        ("Кыргызстан", "#Кыргызстан"),
        ("東京 オリンピック", "#東京オリンピック"),
        ("हिन्दी समाचार", "#हिन्दीसमाचार"),  # combining vowel signs stay in the word
        ("snake_case", "#snake_case"),
        ("Café", "#Café"),
    ],
)
def test_category_becomes_a_camel_case_hashtag(category: str, tag: str) -> None:
    assert hashtag(category) == tag


@pytest.mark.parametrize("category", ["2024", "", "  ", "+++", "___1", "🌍", "x" * 51])
def test_category_without_a_letter_or_too_long_makes_no_hashtag(category: str) -> None:
    assert hashtag(category) is None


def test_hashtags_are_distinct_ignoring_case_and_at_most_the_limit() -> None:
    categories = ["Economy", "ECONOMY", "2024", "Central Asia", "central-asia", "Energy", "Trade"]
    assert hashtags(categories, 3) == ("#Economy", "#CentralAsia", "#Energy")
    assert hashtags(categories, 0) == ()


# What X and Telegram take as one hashtag: letters, marks, digits, "_", one letter at least.
def valid(tag: str) -> bool:
    body = tag.removeprefix("#")
    categories = [unicodedata.category(c) for c in body]
    return (
        tag.startswith("#")
        and 0 < len(body) <= MAX_HASHTAG_LENGTH
        and all(
            c[0] in "LM" or c == "Nd" or ch == "_" for c, ch in zip(categories, body, strict=True)
        )
        and any(c[0] == "L" for c in categories)
        and categories[0][0] != "M"
        and not re.search(r"\s", body)
    )


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=40), max_size=12), st.integers(0, 10))
def test_every_hashtag_is_valid_and_distinct(categories: list[str], limit: int) -> None:
    tags = hashtags(categories, limit)
    assert len(tags) <= limit
    assert all(valid(tag) for tag in tags)
    assert len({tag.casefold() for tag in tags}) == len(tags)
