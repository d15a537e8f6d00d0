"""What every post must carry, checked on each post and, at start-up, on sample posts.

The publisher's rule ("must be hyperlinked when used") is checked on the output, since a
user-edited template may drop the link or the attribution:

* Telegram: valid Telegram HTML, the link as an ``<a href>`` with text in it, the
  attribution in the visible text.
* X: the link where X recognises it whole as a link (twitter-text's rules), the attribution.
* Facebook: the attribution; on a photo post, where no link card is made, also the link
  as a plain URL in the caption (a text post's link travels as the post's ``link``).

Each template is also rendered at load time with sample articles (with and without the
optional fields, hashtags, and a photo), so a template that drops either stops the start.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import twitter_text

from syndicator.errors import FormattingError
from syndicator.formatting.links import add_utm, has_plain_url, x_link
from syndicator.formatting.measure import MarkupError, parse_telegram_html
from syndicator.formatting.templates import Template, template_context
from syndicator.records import Article, ChannelType

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
        categories=("World", "Central Asia"),
        image_url="https://news.example.com/images/sample.jpg",
        author="A. Reporter",
    ),
    Article(
        id=0, source="sample-feed", guid="sample-2", url="https://news.example.com/b", title=""
    ),
)
SAMPLE_ATTRIBUTION = "Sample News Agency"
SAMPLE_CHANNEL = "sample-channel"
# So that a template linking ``plain_url`` where ``url`` belongs shows at start-up.
SAMPLE_UTM = {"utm_source": "sample", "utm_medium": "social"}


def problem(
    channel_type: ChannelType, text: str, *, link: str, attribution: str, photo: bool
) -> str | None:
    """Why ``text`` may not be published on ``channel_type``, or None if it may."""
    if channel_type is ChannelType.TELEGRAM:
        try:
            parsed = parse_telegram_html(text)
        except MarkupError as exc:
            return f"the output is not valid Telegram HTML: {exc}"
        if link not in parsed.links:
            return 'the post lacks the article link as an <a href="{{ url }}"> with text in it'
        shown = parsed.text
    else:
        shown = text
        if channel_type is ChannelType.TWITTER and link not in twitter_text.extract_urls(text):
            return "the post lacks the article link ({{ url }}) where X would link it whole"
        if channel_type is ChannelType.FACEBOOK and photo and not has_plain_url(text, link):
            return "the photo caption lacks the article link ({{ url }}) between spaces"
    if attribution not in shown:
        return "the post lacks the attribution"
    return None


def check_template(template: Template) -> None:
    """Render ``template`` with the sample articles; FormattingError if a post breaks the rule.

    Rendering errors (unknown names, filters) come out as TemplateError with file and line.
    """
    kind = template.channel_type
    photos = (False,) if kind is ChannelType.TWITTER else (False, True)
    for article, tags, photo in itertools.product(SAMPLE_ARTICLES, (False, True), photos):
        plain = x_link(article.url) if kind is ChannelType.TWITTER else article.url
        link = add_utm(plain, SAMPLE_UTM)
        context = template_context(
            article,
            title=article.title,
            summary=article.summary,
            attribution=SAMPLE_ATTRIBUTION,
            channel=SAMPLE_CHANNEL,
            url=link,
            plain_url=plain,
            hashtags="#World #CentralAsia" if tags else "",
            photo=photo,
        )
        text = template.render(context).strip()
        reason = problem(kind, text, link=link, attribution=SAMPLE_ATTRIBUTION, photo=photo)
        if reason is not None:
            sample = "a sample article" + (" as a photo caption" if photo else "")
            raise FormattingError(f"{template.file}: with {sample}, {reason}")
