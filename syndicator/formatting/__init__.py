"""Formatting: an article becomes a post that fits one network, link and attribution kept.

templates  load and check the per-network Jinja2 templates; the variables they see
measure    each network's length rule and limit (X weighted, Telegram visible text)
fit        shorten summary, then title, at word boundaries until the post fits
formatter  Formatter.render(): template + fit + invariants -> Post
"""

from syndicator.formatting.formatter import Formatter

__all__ = ["Formatter"]
