"""Sources: where articles come from. Feeds (RSS, Atom) become ``FeedEntry`` records here."""

from syndicator.sources.feed import FeedFetch, fetch_feed, http_client, parse_feed
from syndicator.sources.text import fold_whitespace, html_to_text
from syndicator.sources.urls import is_http_url, normalise_url

__all__ = [
    "FeedFetch",
    "fetch_feed",
    "fold_whitespace",
    "html_to_text",
    "http_client",
    "is_http_url",
    "normalise_url",
    "parse_feed",
]
