"""Turning a stored article into a post for one network.

The publisher's rule ("must be hyperlinked when used") is kept here: every post carries
the article's URL as a link and the source's attribution. When a post is too long the
summary, then the title, is shortened (``fit``); the link and the attribution never are.
After rendering, the post is checked for both, since a user-edited template may have
dropped them; a post that breaks the rule is an error, never published.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from syndicator.errors import FormattingError
from syndicator.formatting.fit import fit_post, tidy
from syndicator.formatting.measure import RULES, MarkupError, parse_telegram_html
from syndicator.formatting.templates import Templates, template_context
from syndicator.records import Article, ChannelType, Post

# Characters that would continue a URL in plain text, so that "url" + one of them is a
# different link.
_URL_CONTINUES = frozenset("/?#&=%-_~+.@:;,!*'()[]$")


class Formatter:
    """Renders posts from the templates in one directory (checked at construction)."""

    def __init__(self, templates_dir: Path) -> None:
        self._templates = Templates(templates_dir)

    def render(
        self, channel_type: ChannelType, article: Article, *, attribution: str, channel: str
    ) -> Post:
        """The post for ``article`` on a ``channel_type`` channel, fitted to its limit.

        Raises FormattingError when no post with the link and attribution fits, or the
        template's output lacks them; TemplateError when the template fails to render.
        """
        where = self._templates.path(channel_type)
        _check_inputs(article, attribution, where)
        rules = RULES[channel_type]

        def render(title: str, summary: str) -> str:
            context = template_context(
                article, title=title, summary=summary, attribution=attribution, channel=channel
            )
            return self._templates.render(channel_type, context).strip()

        try:
            fitted = fit_post(
                render,
                rules.fits,
                title=tidy(article.title),
                summary=tidy(article.summary),
                bound=rules.precut,
            )
        except MarkupError as exc:
            raise FormattingError(f"{where}: output is not valid Telegram HTML: {exc}") from exc
        if fitted is None:
            raise FormattingError(
                f"{where}: no post for {article.url} fits {channel_type}'s limit of "
                f"{rules.limit}, even without a summary and with the title cut to one word"
            )
        _check_output(channel_type, fitted.text, article.url, attribution, where)
        return Post(
            text=fitted.text,
            link=article.url,
            image_url=article.image_url,
            length=rules.measure(fitted.text),
            limit=rules.limit,
        )


def _check_inputs(article: Article, attribution: str, where: str) -> None:
    parts = urlsplit(article.url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise FormattingError(f"{where}: the article link {article.url!r} is not an http(s) URL")
    if not attribution.strip():
        raise FormattingError(f"{where}: the attribution is empty; every post must carry one")


def _has_plain_url(text: str, url: str) -> bool:
    """True when ``url`` stands in ``text`` as itself, not as the start of a longer link."""
    start = text.find(url)
    while start >= 0:
        end = start + len(url)
        if end == len(text) or (text[end] not in _URL_CONTINUES and not text[end].isalnum()):
            return True
        start = text.find(url, start + 1)
    return False


def _check_output(
    channel_type: ChannelType, text: str, url: str, attribution: str, where: str
) -> None:
    """Raise FormattingError unless the post carries the link and the attribution."""
    if channel_type is ChannelType.TELEGRAM:
        parsed = parse_telegram_html(text)
        has_link = url in parsed.links
        has_attribution = attribution in parsed.text
        link_shape = 'an <a href="..."> link'
    else:
        has_link = channel_type is ChannelType.FACEBOOK or _has_plain_url(text, url)
        has_attribution = attribution in text
        link_shape = "the plain URL"
    if not has_link:
        raise FormattingError(f"{where}: the post lacks the article link as {link_shape}")
    if not has_attribution:
        raise FormattingError(f"{where}: the post lacks the attribution")
