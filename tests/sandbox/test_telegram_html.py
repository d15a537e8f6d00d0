"""The emulator's HTML rules are Telegram's: what the Bot API accepts, refuses and makes of it."""

from __future__ import annotations

import html as html_lib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syndicator.sandbox.telegram_html import TelegramHtmlError, parse_html
from syndicator.sandbox.telegram_text import Entity, FormattedText, fix_formatted_text


def refusal(html: str) -> str:
    with pytest.raises(TelegramHtmlError) as caught:
        parse_html(html)
    return caught.value.detail


def sent(html: str) -> FormattedText:
    """What a message would carry after the Bot API parsed and cleaned it."""
    return fix_formatted_text(parse_html(html))


# --- refusals: every row of the error table in platforms.md 1.5 --------------------------


@pytest.mark.parametrize(
    ("html", "detail"),
    [
        ("<p>x</p>", 'Unsupported start tag "p" at byte offset 0'),
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("<b", "Unclosed start tag at byte offset 0"),
        ('<a href="x"', "Unclosed start tag at byte offset 0"),
        ("<a href", 'Unclosed start tag "a" at byte offset 0'),
        ("<a href=", 'Unclosed start tag "a" at byte offset 0'),
        ("<b =x>", 'Empty attribute name in the tag "b" at byte offset 0'),
        ('<a href=x"y>', "Unexpected end of name token at byte offset 8"),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<b>x</b", "Unclosed end tag at byte offset 4"),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ('<tg-emoji emoji-id="abc">👍</tg-emoji>', "Invalid custom emoji identifier specified"),
        (
            "&#xD800;",
            "Text contains invalid Unicode characters after decoding HTML entities, "
            "check for unmatched surrogate code units",
        ),
    ],
)
def test_malformed_html_is_refused_with_telegrams_exact_detail(html: str, detail: str) -> None:
    assert refusal(html) == detail


def test_error_offsets_count_utf8_bytes_of_the_raw_text() -> None:
    # "é" is 2 bytes, "€" 3, "😀" 4: the tag starts at byte 9, character 3.
    assert refusal("é€😀<p>") == 'Unsupported start tag "p" at byte offset 9'
    assert refusal("Привет</b>") == "Unexpected end tag at byte offset 12"
    assert refusal("&amp;<b>x</i>") == (
        'Unmatched end tag at byte offset 9, expected "</b>", found "</i>"'
    )


def test_tag_names_are_case_insensitive_and_reported_lower_case() -> None:
    assert refusal("<DIV>x</DIV>") == 'Unsupported start tag "div" at byte offset 0'
    assert sent("<B>x</b>").entities == (Entity("bold", 0, 1),)


def test_br_and_self_closing_tags_are_refused() -> None:
    assert refusal("a<br>b") == 'Unsupported start tag "br" at byte offset 1'
    assert refusal("a<br/>b") == 'Unsupported start tag "br/" at byte offset 1'
    assert refusal('<a href="https://example.com/" />') == (
        'Empty attribute name in the tag "a" at byte offset 0'
    )


def test_a_lone_surrogate_is_refused_even_when_its_pair_follows() -> None:
    assert refusal("&#xD83D;&#xDE00;").startswith("Text contains invalid Unicode characters")
    assert sent("&#x1F600;").text == "😀"


def test_a_missing_end_tag_is_reported_before_a_bad_surrogate() -> None:
    assert refusal("&#xD800;<b>x") == 'Can\'t find end tag corresponding to start tag "b"'


# --- escaping ------------------------------------------------------------------------------


def test_bare_greater_than_and_ampersand_are_accepted_literally() -> None:
    assert sent("Q&A: 3 > 2 && x").text == "Q&A: 3 > 2 && x"


@given(st.text(st.characters(exclude_categories=["Cs"])))
def test_any_text_escaped_as_the_docs_say_comes_through_unchanged(text: str) -> None:
    assert parse_html(html_lib.escape(text, quote=False)).text == text


@given(st.text(st.sampled_from(["<", ">", "/", "&", "#", ";", "=", '"', " ", "a", "b", "x", "1"])))
def test_any_input_is_either_parsed_or_refused_with_a_detail(text: str) -> None:
    try:
        ft = fix_formatted_text(parse_html(text))
    except TelegramHtmlError as refused:
        assert refused.detail
    else:
        assert fix_formatted_text(ft) == ft


def test_the_four_named_entities_are_decoded_with_or_without_semicolon() -> None:
    assert sent("&lt;b&gt; &amp; &quot;hi&quot; &lt 3").text == '<b> & "hi" < 3'


def test_a_named_entity_runs_to_the_last_letter() -> None:
    assert sent("&ltx &amp1").text == "&ltx &1"


def test_unknown_named_entities_stay_as_written() -> None:
    assert sent("a&nbsp;b &apos;c&apos; &LT;").text == "a&nbsp;b &apos;c&apos; &LT;"


def test_numeric_entities_are_decoded_in_decimal_and_lower_case_hex() -> None:
    assert sent("&#65;&#x42;&#x43 &#8212; &#x1f600;").text == "ABC — 😀"


def test_upper_case_hex_marker_is_not_an_entity() -> None:
    assert sent("&#X41;").text == "&#X41;"


def test_numeric_entities_out_of_range_or_too_long_stay_literal() -> None:
    assert sent("&#1234567;").text == "&#1234567;"  # above U+10FFFF
    assert sent("&#0000065;").text == "A"  # seven digits are fine
    assert sent("&#00000065;").text == "&#00000065;"  # eight is too many
    assert sent("&#x000041;").text == "A"
    assert sent("&#x0000041;").text == "&#x0000041;"
    assert sent("&#0; &#x10FFFF;").text == "&#0; &#x10FFFF;"


def test_entities_in_attribute_values_are_decoded() -> None:
    link = sent('<a href="https://example.com/?a=1&amp;b=2">x</a>').entities[0]
    assert link.url == "https://example.com/?a=1&b=2"


# --- entities and their offsets ------------------------------------------------------------


def test_entity_offsets_are_utf16_units_after_an_emoji() -> None:
    ft = sent("😀 <b>bold</b> é <i>it</i>")
    assert ft.text == "😀 bold é it"
    assert ft.entities == (Entity("bold", 3, 4), Entity("italic", 10, 2))


def test_an_emoji_inside_an_entity_counts_two_units() -> None:
    assert sent("<u>a😀b</u>").entities == (Entity("underline", 0, 4),)


def test_nested_tags_make_nested_entities() -> None:
    ft = sent("<b>bold <i>both</i></b> <s>gone</s> <tg-spoiler>x</tg-spoiler>")
    assert ft.text == "bold both gone x"
    assert ft.entities == (
        Entity("bold", 0, 9),
        Entity("italic", 5, 4),
        Entity("strikethrough", 10, 4),
        Entity("spoiler", 15, 1),
    )


def test_tag_synonyms_make_the_same_entities() -> None:
    ft = sent("<strong>a</strong><em>b</em><ins>c</ins><del>d</del><strike>e</strike>")
    assert [e.type for e in ft.entities] == [
        "bold",
        "italic",
        "underline",
        "strikethrough",
        "strikethrough",
    ]


def test_empty_end_tag_closes_the_innermost_open_tag() -> None:
    ft = sent("<b>a<i>b</>c</>")
    assert ft.text == "abc"
    assert ft.entities == (Entity("bold", 0, 3), Entity("italic", 1, 1))


def test_empty_elements_make_no_entity() -> None:
    assert sent("<b></b>x<i></i>") == FormattedText("x", ())


def test_span_with_the_spoiler_class_is_a_spoiler() -> None:
    assert sent('<span class="tg-spoiler">x</span>').entities == (Entity("spoiler", 0, 1),)


def test_unknown_attributes_are_ignored() -> None:
    assert sent('<b style="color:red" data-x=1>x</b>').entities == (Entity("bold", 0, 1),)


def test_code_language_counts_only_inside_pre() -> None:
    ft = sent(
        '<pre><code class="language-python">x = 1</code></pre> <code class="language-c">y</code>'
    )
    assert ft.entities == (Entity("pre", 0, 5, language="python"), Entity("code", 6, 1))


def test_blockquote_can_be_expandable() -> None:
    ft = sent("<blockquote>a</blockquote>\n<blockquote expandable>b</blockquote>")
    assert [e.type for e in ft.entities] == ["blockquote", "expandable_blockquote"]


def test_custom_emoji_keeps_its_identifier() -> None:
    ft = sent('<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>')
    assert ft.entities == (Entity("custom_emoji", 0, 2, custom_emoji_id="5368324170671202286"),)
