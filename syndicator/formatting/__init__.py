"""Formatting: an article becomes a post that fits one network, link and attribution kept.

templates  compile Jinja2 templates in the sandbox; the variables they see
catalog    which template a post uses: the channel's own, the source's, or the default
links      the article link: checked, with UTM parameters, in a form X links whole
hashtags   hashtags from categories, spelled so that X and Telegram link them
measure    each network's length rule and limit (X weighted, Telegram visible text)
fit        drop hashtags, then shorten summary and title at word boundaries until it fits
checks     what every post must carry; sample posts checked when a template is loaded
formatter  Formatter.render(): template + fit + checks -> Post
"""

from syndicator.formatting.formatter import Formatter

__all__ = ["Formatter"]
