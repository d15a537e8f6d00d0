"""``syndicator preview``: what each channel would post for an article, measured to its limit."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any
from urllib.parse import urlsplit

import typer
from rich.panel import Panel

from syndicator.channels import ADAPTERS
from syndicator.cli.common import ConfigOption, JsonOption, app, fail, out, settings_or_demo
from syndicator.config import Settings, SourceConfig
from syndicator.daemon import default_templates_dir
from syndicator.errors import ConfigError, FormattingError, SyndicatorError, TemplateError
from syndicator.formatting import Formatter
from syndicator.records import Article
from syndicator.sources.feed import http_client
from syndicator.sources.page import article_from_url
from syndicator.store import Database
from syndicator.store.articles import load_article


def _source_for(settings: Settings, url: str, name: str | None) -> SourceConfig:
    """The named source, else the one whose feed is on the article's site, else the first."""
    if name is not None:
        for source in settings.sources:
            if source.name == name:
                return source
        known = ", ".join(s.name for s in settings.sources) or "none"
        raise ConfigError(settings.source_file, "", f"unknown source {name!r} ({known})")
    if not settings.sources:
        raise ConfigError(settings.source_file, "sources", "no source to take the attribution from")
    host = (urlsplit(url).hostname or "").removeprefix("www.")
    for source in settings.sources:
        if (urlsplit(source.feed).hostname or "").removeprefix("www.") == host:
            return source
    return settings.sources[0]


async def _page_article(url: str, source: str) -> Article:
    async with http_client() as client:
        page = await article_from_url(client, url)
    entry = page.entry
    return Article(
        id=0,
        source=source,
        guid=entry.guid,
        url=entry.url,
        title=entry.title,
        summary=entry.summary,
        published=entry.published,
        categories=entry.categories,
        image_url=entry.image_url,
        author=entry.author,
    )


def _stored_article(settings: Settings, article_id: int) -> Article:
    database = Database(settings.database_url)
    database.upgrade()
    with database.engine.connect() as connection:
        try:
            return load_article(connection, article_id)
        except LookupError:
            where = database.display_url  # the URL without its password
            raise ConfigError(where, "", f"no article with id {article_id}") from None


def renderings(settings: Settings, article: Article, attribution: str) -> list[dict[str, Any]]:
    formatter = Formatter(
        settings.templates_dir or default_templates_dir(),
        sources=[s.name for s in settings.sources],
        channels=settings.channels,
    )
    shown = []
    for channel in settings.channels:
        photo = bool(
            channel.images and article.image_url and ADAPTERS[channel.type].supports_photos
        )
        item: dict[str, Any] = {"channel": channel.name, "type": channel.type.value, "photo": photo}
        try:
            post = formatter.render(channel, article, attribution=attribution, photo=photo)
        except (FormattingError, TemplateError) as exc:
            item |= {"error": str(exc)}
        else:
            item |= {"length": post.length, "limit": post.limit, "text": post.text}
            item |= {"link": post.link}
        shown.append(item)
    return shown


@app.command()
def preview(
    url: Annotated[str | None, typer.Argument(help="An article's web page.")] = None,
    article: Annotated[
        int | None, typer.Option("--article", help="A stored article's id instead of a URL.")
    ] = None,
    source: Annotated[
        str | None, typer.Option(help="Whose attribution and templates to use (default: by site).")
    ] = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show what every channel would post for an article, with its length against the limit."""
    try:
        settings = settings_or_demo(config)
        if (url is None) == (article is None):
            raise ConfigError("preview", "", "give either an article URL or --article ID")
        if article is not None:
            chosen = _stored_article(settings, article)
            attribution_source = _source_for(settings, chosen.url, source or chosen.source)
        else:
            assert url is not None
            attribution_source = _source_for(settings, url, source)
            chosen = asyncio.run(_page_article(url, attribution_source.name))
        shown = renderings(settings, chosen, attribution_source.attribution)
    except SyndicatorError as exc:
        raise fail(exc) from None
    if as_json:
        for item in shown:
            typer.echo(json.dumps({"article_url": chosen.url, **item}, ensure_ascii=False))
        return
    out.print(f"[bold]{chosen.title}[/]\n{chosen.url}\n", highlight=False)
    for item in shown:
        kind = f"{item['type']}, photo caption" if item["photo"] else item["type"]
        if "error" in item:
            title = f"{item['channel']} ({kind}): [bold red]cannot be posted[/]"
            body = item["error"]
        else:
            fits = "[green]fits[/]" if item["length"] <= item["limit"] else "[red]too long[/]"
            title = f"{item['channel']} ({kind}): {item['length']}/{item['limit']} {fits}"
            body = item["text"]
        out.print(Panel(body, title=title, title_align="left", highlight=False))
