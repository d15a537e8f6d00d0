"""Which template a post uses, and broken templates reported at start-up with file and line."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from syndicator.errors import FormattingError, TemplateError
from syndicator.formatting import Formatter
from syndicator.records import Article
from tests.formatting.support import (
    DEFAULT_TEMPLATES,
    article,
    channel,
    copy_templates,
    write,
)

X_TEMPLATE = "{{ tag }}: {{ title }}\n{{ url }}\n{{ attribution }}"


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    return copy_templates(tmp_path)


@pytest.fixture
def in_tmp(tmp_path: Path) -> Iterator[Path]:
    """Run in ``tmp_path``, where a channel's relative template path is resolved."""
    before = Path.cwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(before)


def x_template(tag: str) -> str:
    return X_TEMPLATE.replace("{{ tag }}", tag)


def first_line(formatter: Formatter, source: str = "world", **settings: Any) -> str:
    post = formatter.render(
        channel("twitter", **settings), article(source=source), attribution="Example News"
    )
    return post.text.splitlines()[0]


def test_default_templates_load() -> None:
    Formatter(DEFAULT_TEMPLATES)


def test_source_override_is_used_for_that_sources_articles_only(templates: Path) -> None:
    write(templates / "world" / "twitter.txt.j2", x_template("WORLD"))
    formatter = Formatter(templates, sources=["world", "sport"])
    assert first_line(formatter, "world") == "WORLD: Floods hit riverside town"
    assert first_line(formatter, "sport") == "Floods hit riverside town"


def test_source_override_can_extend_the_default(templates: Path) -> None:
    write(
        templates / "world" / "telegram.html.j2",
        '{% extends "telegram.html.j2" %}',
    )
    write(templates / "world" / "facebook.txt.j2", '🌍 {% include "facebook.txt.j2" %}')
    formatter = Formatter(templates, sources=["world"])
    post = formatter.render(channel("facebook"), article(), attribution="Example News")
    assert post.text.startswith("🌍 Floods hit riverside town")


def test_channel_template_relative_to_the_working_directory_wins(
    templates: Path, in_tmp: Path
) -> None:
    write(templates / "world" / "twitter.txt.j2", x_template("WORLD"))
    write(in_tmp / "config" / "breaking.j2", x_template("BREAKING"))
    breaking = channel("twitter", template=Path("config/breaking.j2"))
    formatter = Formatter(templates, sources=["world"], channels=[breaking])
    assert first_line(formatter, template=Path("config/breaking.j2")) == (
        "BREAKING: Floods hit riverside town"
    )
    assert first_line(formatter) == "WORLD: Floods hit riverside town"


def test_channel_template_for_telegram_autoescapes_whatever_its_name(
    templates: Path, in_tmp: Path
) -> None:
    path = write(
        in_tmp / "tg.txt", '<a href="{{ url }}">{{ title or "Read" }}</a> {{ attribution }}'
    )
    tg = channel("telegram", template=path)
    post = Formatter(templates, channels=[tg]).render(
        tg, article(title="Fish & <chips>"), attribution="A&B"
    )
    assert post.text.endswith(">Fish &amp; &lt;chips&gt;</a> A&amp;B")


def test_override_for_a_source_not_named_at_start_is_found_when_needed(templates: Path) -> None:
    formatter = Formatter(templates)
    write(templates / "world" / "twitter.txt.j2", x_template("LATE"))
    assert first_line(formatter) == "LATE: Floods hit riverside town"


def test_broken_source_override_names_its_file_and_line_at_start_up(templates: Path) -> None:
    path = write(templates / "world" / "twitter.txt.j2", "{{ title }}\n{{ url | shout }}")
    with pytest.raises(TemplateError) as caught:
        Formatter(templates, sources=["world"])
    assert (caught.value.template, caught.value.line) == (str(path), 2)
    assert "shout" in caught.value.reason


def test_source_override_without_the_link_fails_at_start_up(templates: Path) -> None:
    path = write(templates / "world" / "telegram.html.j2", "{{ title }} — {{ attribution }}")
    with pytest.raises(FormattingError, match=str(path)):
        Formatter(templates, sources=["world"])


def test_broken_channel_template_names_its_file_and_line(templates: Path, in_tmp: Path) -> None:
    path = write(in_tmp / "own.j2", "{{ title }}\n{{ url }}\n{% for %}")
    with pytest.raises(TemplateError) as caught:
        Formatter(templates, channels=[channel("facebook", template=path)])
    assert (caught.value.template, caught.value.line) == (str(path), 3)


def test_missing_channel_template_is_a_template_error(templates: Path, in_tmp: Path) -> None:
    with pytest.raises(TemplateError, match="not found") as caught:
        Formatter(templates, channels=[channel("twitter", template=Path("nowhere.j2"))])
    assert caught.value.template == str(in_tmp / "nowhere.j2")


def test_templates_reach_no_file_outside_their_directory(templates: Path, tmp_path: Path) -> None:
    write(tmp_path / "secret.txt", "s3cret")
    write(templates / "twitter.txt.j2", '{% include "../secret.txt" %} {{ url }} {{ attribution }}')
    with pytest.raises(TemplateError, match="not found"):
        Formatter(templates)
    write(
        templates / "twitter.txt.j2", f'{{% include "{tmp_path / "secret.txt"}" %}} {{{{ url }}}}'
    )
    with pytest.raises(TemplateError, match="not found"):
        Formatter(templates)


def test_syntax_error_names_the_file_and_line(templates: Path) -> None:
    path = write(templates / "twitter.txt.j2", "{{ title }}\n{{ url }}\n{% if summary %}\n")
    with pytest.raises(TemplateError) as caught:
        Formatter(templates)
    assert caught.value.template == str(path)
    assert caught.value.line == 3
    assert str(caught.value).startswith(f"{path}:3: ")


def test_unknown_filter_names_the_file_and_line(templates: Path) -> None:
    path = write(templates / "facebook.txt.j2", "{{ title }}\n\n{{ summary | shout }}\n{{ url }}")
    with pytest.raises(TemplateError) as caught:
        Formatter(templates)
    assert (caught.value.template, caught.value.line) == (str(path), 3)
    assert "shout" in caught.value.reason


def test_unknown_variable_is_reported_at_start_up(templates: Path) -> None:
    path = write(
        templates / "telegram.html.j2", '<a href="{{ url }}">{{ title }}</a>\n{{ byline }}'
    )
    with pytest.raises(TemplateError) as caught:
        Formatter(templates)
    assert (caught.value.template, caught.value.line) == (str(path), 2)
    assert "byline" in caught.value.reason


def test_template_that_fails_only_without_a_date_is_reported(templates: Path) -> None:
    path = write(templates / "twitter.txt.j2", "{{ url }} {{ attribution }}\n{{ published.year }}")
    with pytest.raises(TemplateError) as caught:
        Formatter(templates)
    assert (caught.value.template, caught.value.line) == (str(path), 2)


def test_template_that_fails_only_on_a_photo_caption_is_reported(templates: Path) -> None:
    path = write(templates / "facebook.txt.j2", "{{ url }} {{ attribution }}\n{{ photo.x() }}")
    with pytest.raises(TemplateError) as caught:
        Formatter(templates)
    assert (caught.value.template, caught.value.line) == (str(path), 2)


def test_missing_default_template_is_a_template_error(templates: Path) -> None:
    (templates / "facebook.txt.j2").unlink()
    with pytest.raises(TemplateError) as caught:
        Formatter(templates)
    assert caught.value.template == str(templates / "facebook.txt.j2")


def test_template_that_is_not_utf8_is_a_template_error(templates: Path) -> None:
    (templates / "twitter.txt.j2").write_bytes(b"{{ url }} \xff\xfe")
    with pytest.raises(TemplateError, match="not UTF-8"):
        Formatter(templates)


def test_sandbox_refuses_python_internals(templates: Path) -> None:
    write(templates / "twitter.txt.j2", "{{ title.__class__.__mro__ }} {{ url }}")
    with pytest.raises(TemplateError, match="unsafe"):
        Formatter(templates)


def test_every_documented_variable_reaches_the_template(templates: Path) -> None:
    write(
        templates / "facebook.txt.j2",
        "{{ title }}|{{ summary }}| {{ url }} | {{ plain_url }} |{{ attribution }}|{{ source }}|"
        "{{ channel }}|{{ categories | join(',') }}|{{ hashtags }}|{{ author }}|"
        "{{ published.isoformat() if published else '' }}|{{ image }}|{{ photo }}",
    )
    item = Article(
        id=7,
        source="world-feed",
        guid="g",
        url="https://news.example.com/a",
        title="Title",
        summary="Summary",
        published=datetime(2024, 5, 1, 12, 0, tzinfo=UTC),
        categories=("World", "Central Asia"),
        image_url="https://news.example.com/a.jpg",
        author="Jo Writer",
    )
    fb = channel("facebook", "fb-main", utm={"source": "fb"}, hashtags=True)
    post = Formatter(templates).render(fb, item, attribution="Example News", photo=True)
    assert post.text == (
        "Title|Summary| https://news.example.com/a?utm_source=fb | https://news.example.com/a |"
        "Example News|world-feed|fb-main|World,Central Asia|#World #CentralAsia|Jo Writer|"
        "2024-05-01T12:00:00+00:00|https://news.example.com/a.jpg|True"
    )


def test_html_templates_escape_and_text_templates_do_not(templates: Path) -> None:
    item = article(url="https://e.com/a?x=1&y=2", title="Fish & <chips>")
    formatter = Formatter(templates)
    telegram = formatter.render(channel("telegram"), item, attribution="A&B")
    twitter = formatter.render(channel("twitter"), item, attribution="A&B")
    assert "Fish &amp; &lt;chips&gt;" in telegram.text
    assert 'href="https://e.com/a?x=1&amp;y=2"' in telegram.text
    assert twitter.text.startswith("Fish & <chips>\n")


def test_template_failing_on_one_article_raises_template_error_when_rendering(
    templates: Path,
) -> None:
    path = write(
        templates / "twitter.txt.j2",
        "{{ title }} {{ url }} {{ attribution }}\n{% if title == 'Boom' %}{{ x }}{% endif %}",
    )
    formatter = Formatter(templates)
    with pytest.raises(TemplateError) as caught:
        formatter.render(channel("twitter"), article(title="Boom"), attribution="A")
    assert (caught.value.template, caught.value.line) == (str(path), 2)


def test_example_templates_in_the_docs_load(templates: Path, in_tmp: Path) -> None:
    examples = DEFAULT_TEMPLATES.parent / "docs" / "examples" / "templates"
    for folder in (p for p in examples.iterdir() if p.is_dir()):
        for file in folder.iterdir():
            write(templates / folder.name / file.name, file.read_text(encoding="utf-8"))
    sources = [p.name for p in examples.iterdir() if p.is_dir()]
    own = [
        channel(kind, f"own-{file.stem}", template=file)
        for file in examples.iterdir()
        if file.is_file()
        for kind in ("telegram", "twitter", "facebook")
        if file.name.startswith(kind)
    ]
    assert sources and own
    formatter = Formatter(templates, sources=sources, channels=own)
    for target in own:
        formatter.render(target, article(source=sources[0]), attribution="Example News")
