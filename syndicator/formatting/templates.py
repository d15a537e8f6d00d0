"""Loading Jinja2 templates safely, and what a template can see.

Templates are user-editable, so they run in Jinja's sandbox, undefined names are errors
(``StrictUndefined``) and a failure names the template's file and line (``TemplateError``).
A template used for Telegram autoescapes, whatever its file is called: its output is
HTML and feed text must not become markup. Names in ``{% include %}`` and
``{% extends %}`` are relative to the templates directory, so an override can extend the
default (``{% extends "twitter.txt.j2" %}``); no other file on disk can be reached.

Variables a template sees (see ``template_context``; every one is in docs/templates.md):

    title        the article's title, possibly shortened to fit (ends with "…" then)
    summary      the summary, possibly shortened to fit or "" (dropped, or none)
    url          the link to the article, with the channel's UTM parameters
    plain_url    the article's URL without UTM parameters (for the attribution link)
    attribution  the credit line the publisher requires, from the source's configuration
    source       the name of the source (feed) the article came from
    channel      the name of the channel the post is for
    categories   the article's categories, a list of str (may be empty)
    hashtags     hashtags made from the categories ("#Economy #CentralAsia"), or ""
    author       the author, or ""
    published    when the article was published, a timezone-aware datetime, or None
    image        the URL of the article's image, or ""
    photo        True when the text is the caption of a photo post
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable, Mapping
from datetime import UTC
from pathlib import Path
from types import MappingProxyType

import jinja2
from jinja2.loaders import split_template_path
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


def template_context(
    article: Article,
    *,
    title: str,
    summary: str,
    attribution: str,
    channel: str,
    url: str | None = None,
    plain_url: str | None = None,
    hashtags: str = "",
    photo: bool = False,
) -> dict[str, object]:
    """The variables a template renders with (documented in this module's docstring).

    ``url`` and ``plain_url`` default to the article's URL.
    """
    published = article.published
    if published is not None and published.tzinfo is None:
        published = published.replace(tzinfo=UTC)  # the store keeps UTC
    return {
        "title": title,
        "summary": summary,
        "url": article.url if url is None else url,
        "plain_url": article.url if plain_url is None else plain_url,
        "attribution": attribution,
        "source": article.source,
        "channel": channel,
        "categories": [category for category in map(tidy, article.categories) if category],
        "hashtags": hashtags,
        "author": tidy(article.author or ""),
        "published": published,
        "image": article.image_url or "",
        "photo": photo,
    }


class _Loader(jinja2.BaseLoader):
    """Names relative to the templates directory, and the absolute paths of known files.

    A channel's own template may live anywhere; only the files registered with ``allow``
    are reachable by absolute path, so a template cannot include an arbitrary file.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.allowed: set[str] = set()

    def allow(self, path: Path) -> str:
        name = os.path.abspath(path)
        self.allowed.add(name)
        return name

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        if template in self.allowed:
            path = Path(template)
        else:
            path = self.root.joinpath(*split_template_path(template))
        try:
            source = path.read_text(encoding="utf-8")
            mtime = path.stat().st_mtime
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise jinja2.TemplateNotFound(template) from None
        return source, str(path), lambda: path.is_file() and path.stat().st_mtime == mtime


class Template:
    """One compiled template, for one channel type; rendering failures name its file."""

    def __init__(self, file: str, channel_type: ChannelType, compiled: jinja2.Template) -> None:
        self.file = file
        self.channel_type = channel_type
        self._compiled = compiled

    def render(self, context: Mapping[str, object]) -> str:
        """The template's output; any failure becomes a TemplateError with file and line."""
        try:
            return self._compiled.render(context)
        except Exception as exc:
            raise template_error(exc, self.file) from exc


class TemplateLoader:
    """Compiles templates from one directory (and channels' own files), two environments.

    Telegram's environment autoescapes; the plain-text ones do not.
    """

    def __init__(self, templates_dir: Path) -> None:
        self.directory = templates_dir
        self._loader = _Loader(templates_dir)
        self._environments = {
            escape: ImmutableSandboxedEnvironment(
                loader=self._loader,
                autoescape=escape,
                undefined=jinja2.StrictUndefined,
                trim_blocks=True,
                lstrip_blocks=True,
                keep_trailing_newline=False,
                auto_reload=False,
            )
            for escape in (False, True)
        }

    def path(self, name: str) -> Path:
        """Where the template called ``name`` (relative to the directory) is read from."""
        return self.directory.joinpath(*split_template_path(name))

    def load(self, name_or_path: str | Path, channel_type: ChannelType) -> Template:
        """Compile a template: a name in the directory (str) or any file (Path)."""
        if isinstance(name_or_path, Path):
            name = file = self._loader.allow(name_or_path)
        else:
            name, file = name_or_path, str(self.path(name_or_path))
        environment = self._environments[channel_type is ChannelType.TELEGRAM]
        try:
            compiled = environment.get_template(name)
        except (jinja2.TemplateError, UnicodeDecodeError, OSError) as exc:
            raise template_error(exc, file) from exc
        return Template(file, channel_type, compiled)


def template_error(exc: BaseException, file: str) -> TemplateError:
    """A TemplateError naming the template file and line that ``exc`` came from.

    ``file`` is the template being loaded or rendered; an error inside a template it
    includes names that one instead.
    """
    if isinstance(exc, jinja2.TemplateNotFound):
        return TemplateError(file, None, f"template not found: {exc.name}")
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return TemplateError(exc.filename or file, exc.lineno, exc.message or str(exc))
    if isinstance(exc, UnicodeDecodeError):
        return TemplateError(file, None, "the file is not UTF-8 text")
    if isinstance(exc, OSError):
        return TemplateError(file, None, f"cannot read the file: {exc.strerror or exc}")
    where, line = file, None
    for frame in traceback.extract_tb(exc.__traceback__):
        if not frame.filename.endswith(".py") and Path(frame.filename).is_file():
            where, line = frame.filename, frame.lineno  # a frame of compiled template code
    reason = str(exc) if isinstance(exc, jinja2.TemplateError) else f"{type(exc).__name__}: {exc}"
    return TemplateError(where, line, reason)
