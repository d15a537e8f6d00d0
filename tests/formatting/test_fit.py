"""Shortening text to fit, with plain functions standing in for a template and a network."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from syndicator.formatting.fit import ELLIPSIS, fit_post, is_safe_cut, precut, shorten, tidy

TAGS = ("#one", "#two", "#three")


def render(title: str, summary: str, extras: int = 0) -> str:
    tags = "".join(f" {tag}" for tag in TAGS[:extras])
    return (f"{title}\n{summary}" if summary else title) + f"\nLINK{tags}"


def fits_in(limit: int) -> Callable[[str], bool]:
    return lambda text: len(text) <= limit


def test_post_that_fits_is_left_whole() -> None:
    fitted = fit_post(render, fits_in(100), title="Title", summary="A short summary.", bound=1000)
    assert fitted is not None
    assert fitted.text == "Title\nA short summary.\nLINK"


def test_long_summary_is_cut_at_a_word_boundary_with_an_ellipsis() -> None:
    summary = "one two three four five six seven eight nine ten"
    fitted = fit_post(render, fits_in(30), title="T", summary=summary, bound=1000)
    assert fitted is not None
    assert fitted.summary == "one two three four…"  # "…five…" would make 31
    assert len(fitted.text) <= 30
    assert fitted.text.endswith("\nLINK")


def test_trailing_punctuation_is_dropped_before_the_ellipsis() -> None:
    fitted = fit_post(render, fits_in(20), title="T", summary="Hello, world. Again", bound=1000)
    assert fitted is not None
    assert fitted.summary == "Hello, world…"


def test_summary_is_dropped_when_no_word_of_it_fits() -> None:
    fitted = fit_post(render, fits_in(12), title="Title", summary="Summarising", bound=1000)
    assert fitted is not None
    assert fitted.text == "Title\nLINK"


def test_title_is_shortened_when_even_no_summary_is_too_long() -> None:
    fitted = fit_post(
        render, fits_in(20), title="A rather long title here", summary="S", bound=1000
    )
    assert fitted is not None
    assert fitted.text == "A rather long…\nLINK"
    assert fitted.summary == ""


def test_nothing_fits_returns_none() -> None:
    assert fit_post(render, fits_in(5), title="Title", summary="S", bound=1000) is None


def test_text_without_spaces_is_cut_between_characters() -> None:
    fitted = fit_post(render, fits_in(12), title="日本語のニュースです", summary="", bound=1000)
    assert fitted is not None
    assert fitted.title == "日本語のニュ…"


def test_cjk_text_breaks_next_to_ideographs_before_falling_back() -> None:
    fitted = fit_post(render, fits_in(14), title="Tokyo東京都庁 news", summary="", bound=1000)
    assert fitted is not None
    assert fitted.title == "Tokyo東京都…"


@pytest.mark.parametrize(
    ("text", "unsafe"),
    [
        ("👨\u200d👩\u200d👧", [1, 2, 3, 4]),  # a ZWJ family is one cluster
        ("👍🏽", [1]),  # skin-tone modifier stays with its emoji
        ("🇯🇵🇫🇷", [1, 3]),  # flags are pairs of regional indicators
        ("e\u0301x", [1]),  # combining accent stays with its letter
        ("❤\ufe0fx", [1]),  # variation selector stays with its symbol
    ],
)
def test_cuts_never_split_a_character_cluster(text: str, unsafe: list[int]) -> None:
    for at in range(len(text) + 1):
        assert is_safe_cut(text, at) is (at not in unsafe), at


def test_shortening_emoji_text_never_leaves_half_an_emoji() -> None:
    title = "👨\u200d👩\u200d👧" * 3 + "🇯🇵" * 3 + "👍🏽" * 3
    for limit in range(6, 40):
        fitted = fit_post(render, fits_in(limit), title=title, summary="", bound=1000)
        if fitted is None:
            continue
        head = fitted.title.removesuffix(ELLIPSIS)
        assert title.startswith(head)
        assert is_safe_cut(title, len(head))
        assert not head.endswith("\u200d")


def test_shorten_keeps_punctuation_only_when_it_is_all_there_is() -> None:
    assert shorten("Hello, world", 6) == "Hello…"
    assert shorten("?!?! what", 4) == "?!?!…"
    assert shorten(" \u200d ", 3) == ""


def test_tidy_normalises_whitespace_controls_and_composition() -> None:
    assert tidy("  Breaking:\n\tfloods\x00hit   town\ufeff ") == "Breaking: floods hit town"
    assert tidy("A\u030a") == "Å"  # NFC, or Telegram would delete the ring
    assert tidy("10\u00a0km") == "10\u00a0km"  # no-break spaces are kept
    assert tidy("東京\u3000大阪") == "東京\u3000大阪"  # so is the ideographic space


def test_precut_cuts_huge_input_at_a_word_boundary() -> None:
    text, cut = precut("word " * 1000, 100)
    assert cut is True
    assert len(text) <= 100
    assert text.endswith("word")
    assert precut("short", 100) == ("short", False)


def test_extras_are_dropped_last_first_before_the_summary_is_cut() -> None:
    full = render("Title", "A summary", 3)
    fitted = fit_post(
        render, fits_in(len(full) - 1), title="Title", summary="A summary", bound=1000, extras=3
    )
    assert fitted is not None
    assert (fitted.text, fitted.extras) == ("Title\nA summary\nLINK #one #two", 2)
    fitted = fit_post(render, fits_in(16), title="Title", summary="A summary", bound=1000, extras=3)
    assert fitted is not None
    assert (fitted.text, fitted.extras) == ("Title\nA…\nLINK", 0)


def test_all_extras_are_kept_when_they_fit() -> None:
    fitted = fit_post(render, fits_in(100), title="T", summary="S", bound=1000, extras=3)
    assert fitted is not None
    assert fitted.text == "T\nS\nLINK #one #two #three"


def test_precut_text_keeps_its_ellipsis_when_it_fits_whole() -> None:
    fitted = fit_post(render, lambda text: True, title="T", summary="x " * 100, bound=50)
    assert fitted is not None
    assert fitted.summary.endswith(ELLIPSIS)
