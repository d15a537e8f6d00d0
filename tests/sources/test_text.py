"""html_to_text: what a reader would see, as plain text."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syndicator.sources import fold_whitespace, html_to_text


def test_tags_are_dropped_and_entities_decoded() -> None:
    assert html_to_text('<a href="/x">Rates</a> &amp; <b>bonds</b> &#8212; &eacute;') == (
        "Rates & bonds — é"
    )


def test_script_and_style_content_is_dropped_entirely() -> None:
    html = "<style>p { color: red }</style><p>News</p><script>alert('<p>x</p>')</script>"

    assert html_to_text(html) == "News"


def test_paragraphs_are_separated_by_one_blank_line() -> None:
    html = "<h2>Title</h2>\n<p>First\n  paragraph.</p><p></p><p></p><div>Second.</div>"

    assert html_to_text(html) == "Title\n\nFirst paragraph.\n\nSecond."


def test_line_breaks_and_list_items_start_new_lines() -> None:
    assert html_to_text("one<br>two<br/>three") == "one\ntwo\nthree"
    assert html_to_text("<ul>\n <li>a</li>\n <li>b</li>\n</ul>after") == "a\nb\n\nafter"


def test_two_line_breaks_make_a_paragraph_but_no_more() -> None:
    assert html_to_text("one<br><br><br><br>two") == "one\n\ntwo"


def test_whitespace_is_folded_and_trimmed() -> None:
    assert html_to_text("  <p>  lots   of\t\tspace&nbsp;&nbsp;here </p>  ") == "lots of space here"


def test_inline_elements_do_not_break_words_apart() -> None:
    assert html_to_text("un<b>break</b>able <i>words</i>") == "unbreakable words"


@pytest.mark.parametrize("plain", ["AT&T < 5", "Tom & Jerry <3", "5<6 and 7>2", "Q&A: 100%"])
def test_plain_text_passes_through_unchanged(plain: str) -> None:
    assert html_to_text(plain) == plain


def test_plain_text_keeps_its_paragraphs() -> None:
    assert html_to_text("One.\n\n\n\nTwo,\n  continued.") == "One.\n\nTwo,\ncontinued."


def test_empty_input_gives_empty_text() -> None:
    assert html_to_text("") == ""
    assert html_to_text("<p> </p><br>") == ""


# Plain text as feeds have it: ampersands and angle brackets, but no tag and no entity name.
_PLAIN = [*"xyz 5.%;>\n\t", "& ", "&", "< ", "<3", "<=", "AT&T"]


@given(st.lists(st.sampled_from(_PLAIN), max_size=30).map("".join))
def test_plain_text_only_has_its_whitespace_tidied(plain: str) -> None:
    assert html_to_text(plain) == fold_whitespace(plain)


_HTML = [*"ab p\n", "<p>", "</p>", "<br>", "<li>", "</div>", "&amp;", "<b>", "</b>", "<script>"]


@given(st.lists(st.sampled_from(_HTML), max_size=30).map("".join))
def test_text_made_from_html_comes_back_unchanged_from_a_second_pass(html: str) -> None:
    text = html_to_text(html)

    assert html_to_text(text) == text


# Every character str.split() and \s treat as whitespace, the controls, and a few letters.
_SPACES_AND_CONTROLS = [chr(c) for c in range(0x110000) if chr(c).isspace()] + [
    "\x00", "\x08", "\x1b", "\x7f", "\x85", "\x9f", "\r\n", "a", "b", " ",
]  # fmt: skip


def _folded_by_regular_expressions(text: str) -> str:
    """How fold_whitespace read before it used str.split: the definition it must keep."""
    text = re.sub(r"[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f]", "", text).replace("\r\n", "\n")
    lines = (re.sub(r"[^\S\n]+", " ", line).strip() for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


@given(st.lists(st.sampled_from(_SPACES_AND_CONTROLS)).map("".join) | st.text())
def test_every_kind_of_whitespace_folds_as_the_regular_expression_says(text: str) -> None:
    assert fold_whitespace(text) == _folded_by_regular_expressions(text)
