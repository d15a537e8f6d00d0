"""The Bot API's cleaning, trimming and length counting of a parsed text."""

from __future__ import annotations

from syndicator.sandbox.telegram_html import parse_html
from syndicator.sandbox.telegram_text import (
    MAX_CAPTION_LENGTH,
    MAX_MESSAGE_LENGTH,
    MAX_RAW_TEXT_BYTES,
    Entity,
    FormattedText,
    fix_formatted_text,
    is_empty_text,
    message_length,
)


def sent(html: str) -> FormattedText:
    """What a message would carry after the Bot API parsed and cleaned it."""
    return fix_formatted_text(parse_html(html))


# --- cleaning, trimming and length -----------------------------------------------------------


def test_leading_and_trailing_spaces_and_newlines_are_trimmed() -> None:
    ft = sent("\n  <b>Title</b>\n\nbody \n\n ")
    assert ft.text == "Title\n\nbody"
    assert ft.entities == (Entity("bold", 0, 5),)


def test_leading_trim_stops_at_the_first_entity() -> None:
    assert sent("  <b> x</b>") == FormattedText(" x", (Entity("bold", 0, 2),))


def test_an_entity_over_trailing_blanks_is_clipped() -> None:
    assert sent("a <i>b  \n</i>").entities == (Entity("italic", 2, 1),)


def test_control_characters_become_spaces_and_carriage_returns_vanish() -> None:
    assert sent("a\tb\r\nc\x01d").text == "a b\nc d"


def test_deleted_characters_shift_entity_offsets() -> None:
    ft = sent("a\r\u2028\u202e<b>bc</b>")
    assert ft == FormattedText("abc", (Entity("bold", 1, 2),))


def test_combining_ring_and_vertical_lines_are_deleted() -> None:
    assert sent("A\u030a x\u0333\u033f").text == "A x"


def test_runs_of_direction_marks_keep_only_the_last() -> None:
    assert sent("\u200e\u200f\u200ex").text == "\u200c\u200c\u200ex"


def test_text_of_only_blanks_becomes_empty() -> None:
    assert sent(" \n <b> </b>\r\n") == FormattedText("", ())


def test_invisible_characters_count_as_empty_text() -> None:
    assert is_empty_text(sent("\u200b\u00a0\ufeff"))
    assert not is_empty_text(sent("\u200bx"))


def test_length_counts_code_points_not_utf16_units() -> None:
    assert message_length(parse_html("😀" * MAX_MESSAGE_LENGTH)) == MAX_MESSAGE_LENGTH
    assert len(("😀" * MAX_MESSAGE_LENGTH).encode("utf-8")) <= MAX_RAW_TEXT_BYTES


def test_length_ignores_tags_entities_and_trimmed_blanks() -> None:
    html = " \n\n<b>" + "a" * (MAX_CAPTION_LENGTH - 2) + "</b>&amp;&#x1F600;\n \n"
    assert message_length(parse_html(html)) == MAX_CAPTION_LENGTH


def test_one_character_over_the_limit_is_over() -> None:
    assert message_length(parse_html("x" * (MAX_MESSAGE_LENGTH + 1))) == MAX_MESSAGE_LENGTH + 1
