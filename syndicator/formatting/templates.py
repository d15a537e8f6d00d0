"""Loading the per-network Jinja2 templates, and what a template can see.

Templates are user-editable, so they run in Jinja's sandbox, undefined names are errors
(``StrictUndefined``) and every template is compiled and rendered with sample articles at
start-up: a broken template stops the daemon with ``file:line: reason`` instead of failing
the first real post. HTML templates (``.html.j2``) autoescape; plain-text ones do not.

Variables a template sees (see ``template_context``):

    title        the article's title, possibly shortened to fit (ends with "…" then)
    summary      the summary, possibly shortened to fit or "" (dropped, or none)
    url          the article's URL, exactly as it must be linked
    attribution  the credit line the publisher requires, from the channel's configuration
    source       the name of the source (feed) the article came from
    channel      the name of the channel the post is for
    categories   the article's categories, a list of str (may be empty)
    author       the author, or ""
    published    when the article was published, a timezone-aware datetime, or None
    image        the URL of the article's image, or ""
"""

from __future__ import annotations

import traceback
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from syndicator.errors import TemplateError
from syndicator.formatting.fit import tidy
from syndicator.records import Article, ChannelType

TEMPLATE_NAMES: Mapping[ChannelType, str] = MappingProxyType(
    {
        ChannelType.TELEGRAM: "telegram.html.j2",
        ChannelType.TWITTER: "twitter.txt.j2",
        ChannelType.FACEBOOK: "facebook.txt.j2",
    }
)

# Two samples, one with every optional field set and one with none, so that both sides
# of a template's {% if %} run at start-up.
SAMPLE_ARTICLES = (
    Article(
        id=0,
        source="sample-feed",
        guid="sample-1",
        url="https://news.example.com/2024/05/01/sample-story?ref=rss&lang=en",
        title='Sample headline with <markup> & "quotes"',
        summary="A sample summary of the story, long enough to have a few words in it.",
        published=datetime(2024, 5, 1, 12, 30, tzinfo=UTC),
        categories=("World", "Politics"),
        image_url="https://news.example.com/images/sample.jpg",
        author="A. Reporter",
    ),
    Article(
        id=0, source="sample-feed", guid="sample-2", url="https://news.example.com/b", title=""
    ),
)
SAMPLE_ATTRIBUTION = "Sample News Agency"
SAMPLE_CHANNEL = "sample-channel"


def template_context(
    article: Article, *, title: str, summary: str, attribution: str, channel: str
) -> dict[str, object]:
    """The variables a template renders with (documented in this module's docstring)."""
    published = article.published
    if published is not None and published.tzinfo is None:
        published = published.replace(tzinfo=UTC)  # the store keeps UTC
    return {
        "title": title,
        "summary": summary,
        "url": article.url,
        "attribution": attribution,
        "source": article.source,
        "channel": channel,
        "categories": [category for category in map(tidy, article.categories) if category],
        "author": tidy(article.author or ""),
        "published": published,
        "image": article.image_url or "",
    }


def make_environment(templates_dir: Path) -> jinja2.Environment:
    """A sandboxed environment that escapes HTML templates and refuses undefined names."""
    return ImmutableSandboxedEnvironment(
        loader=jinja2.FileSystemLoader(templates_dir),
        autoescape=lambda name: name is not None and name.endswith(".html.j2"),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        auto_reload=False,
    )


def _error(exc: BaseException, templates_dir: Path, fallback: str) -> TemplateError:
    """A TemplateError naming the template file and line that ``exc`` came from."""
    if isinstance(exc, jinja2.TemplateNotFound):
        return TemplateError(fallback, None, f"template not found: {exc.name}")
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return TemplateError(exc.filename or fallback, exc.lineno, exc.message or str(exc))
    if isinstance(exc, UnicodeDecodeError):
        return TemplateError(fallback, None, "the file is not UTF-8 text")
    file, line = fallback, None
    root = templates_dir.resolve()
    for frame in traceback.extract_tb(exc.__traceback__):
        path = Path(frame.filename)
        if path.is_file() and path.resolve().is_relative_to(root):
            file, line = frame.filename, frame.lineno
    reason = str(exc) if isinstance(exc, jinja2.TemplateError) else f"{type(exc).__name__}: {exc}"
    return TemplateError(file, line, reason)


class Templates:
    """The three network templates from one directory, checked when loaded."""

    def __init__(self, templates_dir: Path) -> None:
        self.directory = templates_dir
        self._env = make_environment(templates_dir)
        self._templates: dict[ChannelType, jinja2.Template] = {}
        for channel_type, name in TEMPLATE_NAMES.items():
            try:
                self._templates[channel_type] = self._env.get_template(name)
            except (jinja2.TemplateError, UnicodeDecodeError) as exc:
                raise _error(exc, templates_dir, self.path(channel_type)) from exc
            for sample in SAMPLE_ARTICLES:
                context = template_context(
                    sample,
                    title=sample.title,
                    summary=sample.summary,
                    attribution=SAMPLE_ATTRIBUTION,
                    channel=SAMPLE_CHANNEL,
                )
                self.render(channel_type, context)

    def path(self, channel_type: ChannelType) -> str:
        """The file a channel type's template is read from, as error messages name it."""
        return str(self.directory / TEMPLATE_NAMES[channel_type])

    def render(self, channel_type: ChannelType, context: Mapping[str, object]) -> str:
        """Render one template; any failure becomes a TemplateError with file and line."""
        try:
            return self._templates[channel_type].render(context)
        except Exception as exc:
            raise _error(exc, self.directory, self.path(channel_type)) from exc
