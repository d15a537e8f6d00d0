"""Turning a stored article into a post for one channel.

The publisher's rule ("must be hyperlinked when used") is kept here: every post carries
the article's link and the source's attribution. The link gets the channel's UTM
parameters; hashtags come from the categories while they fit. When a post is too long
the hashtags go first (the last first), then the summary, then the title is shortened
(``fit``); the link and the attribution never are. The output is checked for both
(``checks``); a post that breaks the rule is an error, never published.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from syndicator.config import ChannelConfig
from syndicator.errors import FormattingError
from syndicator.formatting.catalog import TemplateCatalog
from syndicator.formatting.checks import check_template, problem
from syndicator.formatting.fit import fit_post, tidy
from syndicator.formatting.hashtags import hashtags
from syndicator.formatting.links import add_utm, check_article_url, shown, x_link
from syndicator.formatting.measure import MarkupError, rules_for
from syndicator.formatting.templates import template_context
from syndicator.records import Article, ChannelType, Post


class Formatter:
    """Renders posts with the templates of one directory, all checked at construction.

    ``sources`` are the names whose override folders (``<templates_dir>/<source>/``) are
    loaded now; ``channels`` bring their own ``template`` files. Raises TemplateError
    (file, line, reason) for a template that does not compile or render, FormattingError
    for one whose sample output lacks the link or the attribution.
    """

    def __init__(
        self,
        templates_dir: Path,
        *,
        sources: Sequence[str] = (),
        channels: Sequence[ChannelConfig] = (),
    ) -> None:
        self._catalog = TemplateCatalog(
            templates_dir, check=check_template, sources=sources, channels=channels
        )

    def render(
        self, channel: ChannelConfig, article: Article, *, attribution: str, photo: bool = False
    ) -> Post:
        """The post for ``article`` on ``channel``, fitted to the network's limit.

        ``photo``: the text is the caption of a photo post (Telegram: at most 1024; Facebook:
        the link in the caption); X has no photo posts here, its link card shows the image.
        Raises FormattingError when no post with the link and the attribution fits or the
        output lacks them; TemplateError when the template fails on this article.
        """
        kind = channel.type
        photo = photo and kind is not ChannelType.TWITTER
        template = self._catalog.choose(channel, article.source)
        where = template.file
        try:
            check_article_url(article.url)
            link = add_utm(article.url, channel.utm)
            if kind is ChannelType.TWITTER:
                link = x_link(link)
        except FormattingError as exc:
            raise FormattingError(f"{where}: {exc}") from exc
        plain = _x_plain(article.url) if kind is ChannelType.TWITTER else article.url
        if not attribution.strip():
            raise FormattingError(f"{where}: the attribution is empty; every post must carry one")
        tags = hashtags(article.categories, channel.max_hashtags) if channel.hashtags else ()
        rules = rules_for(kind, photo=photo)

        def render(title: str, summary: str, shown_tags: int) -> str:
            context = template_context(
                article,
                title=title,
                summary=summary,
                attribution=attribution,
                channel=channel.name,
                url=link,
                plain_url=plain,
                hashtags=" ".join(tags[:shown_tags]),
                photo=photo,
            )
            return template.render(context).strip()

        try:
            fitted = fit_post(
                render,
                rules.fits,
                title=tidy(article.title),
                summary=tidy(article.summary),
                bound=rules.precut,
                extras=len(tags),
            )
        except MarkupError as exc:  # e.g. a template that marks feed text as safe
            raise FormattingError(f"{where}: output is not valid Telegram HTML: {exc}") from exc
        if fitted is None:
            what = "caption" if photo else "post"
            raise FormattingError(
                f"{where}: no {what} for {shown(article.url)} fits {kind}'s limit of "
                f"{rules.limit}, even without a summary and with the title cut to one word"
            )
        reason = problem(kind, fitted.text, link=link, attribution=attribution, photo=photo)
        if reason is not None:
            raise FormattingError(f"{where}: {reason}")
        return Post(
            text=fitted.text,
            link=link,
            image_url=article.image_url,
            length=rules.measure(fitted.text),
            limit=rules.limit,
        )


def _x_plain(url: str) -> str:
    """The plain URL as X links it, if it can; only a template that shows it needs it."""
    try:
        return x_link(url)
    except FormattingError:
        return url
