"""Broken templates are reported at start-up, with the file and the line."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from syndicator.errors import TemplateError
from syndicator.formatting import Formatter
from syndicator.records import Article, ChannelType

DEFAULT_TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    """A writable copy of the default templates."""
    return Path(shutil.copytree(DEFAULT_TEMPLATES, tmp_path / "templates"))


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def test_default_templates_load() -> None:
    Formatter(DEFAULT_TEMPLATES)


def test_syntax_error_names_the_file_and_line(templates: Path) -> None:
    path = write(templates, "twitter.txt.j2", "{{ title }}\n{{ url }}\n{% if summary %}\n")
    with pytest.raises(TemplateError) as caught:
        Formatter(templates)
    assert caught.value.template == str(path)
    assert caught.value.line == 3
    assert str(caught.value).startswith(f"{path}:3: ")


def test_unknown_filter_names_the_file_and_line(templates: Path) -> None:
    path = write(templates, "facebook.txt.j2", "{{ title }}\n\n{{ summary | shout }}\n{{ url }}")
    with pytest.raises(TemplateError) as caught:
        Formatter(templates)
    assert (caught.value.template, caught.value.line) == (str(path), 3)
    assert "shout" in caught.value.reason


def test_unknown_variable_is_reported_at_start_up(templates: Path) -> None:
    path = write(templates, "telegram.html.j2", '<a href="{{ url }}">{{ title }}</a>\n{{ byline }}')
    with pytest.raises(TemplateError) as caught:
        Formatter(templates)
    assert (caught.value.template, caught.value.line) == (str(path), 2)
    assert "byline" in caught.value.reason


def test_template_that_fails_only_without_a_date_is_reported(templates: Path) -> None:
    path = write(templates, "twitter.txt.j2", "{{ title }} {{ url }}\n{{ published.year }}")
    with pytest.raises(TemplateError) as caught:
        Formatter(templates)
    assert (caught.value.template, caught.value.line) == (str(path), 2)


def test_missing_template_is_a_template_error(templates: Path) -> None:
    (templates / "facebook.txt.j2").unlink()
    with pytest.raises(TemplateError) as caught:
        Formatter(templates)
    assert caught.value.template == str(templates / "facebook.txt.j2")


def test_sandbox_refuses_python_internals(templates: Path) -> None:
    write(templates, "twitter.txt.j2", "{{ title.__class__.__mro__ }} {{ url }}")
    with pytest.raises(TemplateError, match="unsafe"):
        Formatter(templates)


def test_every_documented_variable_reaches_the_template(templates: Path) -> None:
    write(
        templates,
        "facebook.txt.j2",
        "{{ title }}|{{ summary }}|{{ url }}|{{ attribution }}|{{ source }}|{{ channel }}|"
        "{{ categories | join(',') }}|{{ author }}|"
        "{{ published.isoformat() if published else '' }}|{{ image }}",
    )
    article = Article(
        id=7,
        source="world-feed",
        guid="g",
        url="https://news.example.com/a",
        title="Title",
        summary="Summary",
        published=datetime(2024, 5, 1, 12, 0, tzinfo=UTC),
        categories=("World", "Europe"),
        image_url="https://news.example.com/a.jpg",
        author="Jo Writer",
    )
    post = Formatter(templates).render(
        ChannelType.FACEBOOK, article, attribution="Example News", channel="fb-main"
    )
    assert post.text == (
        "Title|Summary|https://news.example.com/a|Example News|world-feed|fb-main|"
        "World,Europe|Jo Writer|2024-05-01T12:00:00+00:00|https://news.example.com/a.jpg"
    )


def test_html_templates_escape_and_text_templates_do_not(templates: Path) -> None:
    article = Article(
        id=1, source="s", guid="g", url="https://e.com/a?x=1&y=2", title="Fish & <chips>"
    )
    formatter = Formatter(templates)
    telegram = formatter.render(ChannelType.TELEGRAM, article, attribution="A&B", channel="t")
    twitter = formatter.render(ChannelType.TWITTER, article, attribution="A&B", channel="x")
    assert "Fish &amp; &lt;chips&gt;" in telegram.text
    assert 'href="https://e.com/a?x=1&amp;y=2"' in telegram.text
    assert twitter.text.startswith("Fish & <chips>\n")


def test_template_failing_on_one_article_raises_template_error_when_rendering(
    templates: Path,
) -> None:
    path = write(
        templates,
        "twitter.txt.j2",
        "{{ title }} {{ url }}\n{% if title == 'Boom' %}{{ x }}{% endif %}",
    )
    formatter = Formatter(templates)
    article = Article(id=1, source="s", guid="g", url="https://e.com/a", title="Boom")
    with pytest.raises(TemplateError) as caught:
        formatter.render(ChannelType.TWITTER, article, attribution="A", channel="x")
    assert (caught.value.template, caught.value.line) == (str(path), 2)
