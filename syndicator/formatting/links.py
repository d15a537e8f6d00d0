"""The article link as a post carries it: checked, tagged with UTM parameters, linkable on X.

The link is the one thing a post may never get wrong, so it is handled as text, never
re-serialised: ``urllib``'s split-and-join would re-encode or drop pieces (an empty
``?``, a ``;params`` part) and turn one URL into another. UTM parameters are appended to
the query, before the fragment; a parameter the URL already carries keeps the URL's own
value (the publisher may tag its feed links on purpose) and is never duplicated.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Mapping
from urllib.parse import quote, unquote_plus, urlsplit

import twitter_text

from syndicator.errors import FormattingError

# Characters a URL may not hold as such: whitespace and controls (Telegram would
# percent-encode them, X would end the link there).
_UNSAFE = re.compile(r"[\x00-\x20\x7f-\x9f\s]")
# Everything a URI may hold literally: reserved and unreserved characters and "%".
_URI_SAFE = "!#$%&'()*+,-./:;=?@[]_~"
_PLAIN = frozenset(string.ascii_letters + string.digits + "-_")
_USERINFO = re.compile(r"//[^/?#]*@")


def shown(url: str) -> str:
    """``url`` as a message may show it: a user name and password in it are masked."""
    return repr(_USERINFO.sub("//***@", url, count=1))


def check_article_url(url: str) -> None:
    """Raise FormattingError unless ``url`` is an http(s) URL a network will link.

    Telegram silently drops links to hosts without a dot (``localhost``) and X does not
    recognise them, so such a post would go out without its hyperlink.
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        raise FormattingError(f"the article link {shown(url)} is not a valid URL") from None
    if parts.scheme.lower() not in ("http", "https") or not host:
        raise FormattingError(f"the article link {shown(url)} is not an http(s) URL")
    if _UNSAFE.search(url):
        raise FormattingError(f"the article link {shown(url)} holds spaces or control characters")
    if "." not in host and ":" not in host:
        raise FormattingError(f"the article link {shown(url)} has a host the networks do not link")


def _query_names(query: str) -> set[str]:
    return {unquote_plus(pair.partition("=")[0]).lower() for pair in query.split("&") if pair}


def _encoded(value: str) -> str:
    """Percent-encoded but for letters, digits, "-" and "_": so that the link's last
    character is one X takes as part of it ("." and "~" are equivalent escaped)."""
    return "".join(
        char if char in _PLAIN else "".join(f"%{byte:02X}" for byte in char.encode("utf-8"))
        for char in value
    )


def add_utm(url: str, utm: Mapping[str, str]) -> str:
    """``url`` with the ``utm`` parameters appended to its query, fragment kept in place.

    ``utm`` maps parameter names (``utm_source``) to values. Existing parameters stay
    exactly as written; one the URL already has (by name, any case) is not added again.
    """
    base, hash_mark, fragment = url.partition("#")
    path, _, query = base.partition("?")
    present = _query_names(query)
    added = [
        f"{_encoded(name)}={_encoded(value)}"
        for name, value in utm.items()
        if name.lower() not in present
    ]
    if not added:
        return url
    joined = "&".join(added)
    query = f"{query}&{joined}" if query and not query.endswith("&") else query + joined
    return f"{path}?{query}{hash_mark}{fragment}"


def as_uri(url: str) -> str:
    """The ASCII form of an IRI: the host in punycode, other non-ASCII percent-encoded (UTF-8).

    The same address, spelled so that any parser takes it whole.
    """
    netloc = urlsplit(url).netloc
    userinfo, at, host_port = netloc.rpartition("@")
    host, colon, port = host_port.partition(":")
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:  # not a valid IDN: percent-encoding is still the same name
            host = quote(host, safe="")
        start = url.index("//") + 2
        url = url[:start] + f"{userinfo}{at}{host}{colon}{port}" + url[start + len(netloc) :]
    return quote(url, safe=_URI_SAFE)


def _extracted_whole(url: str) -> bool:
    return url == unicodedata.normalize("NFC", url) and twitter_text.extract_urls(url) == [url]


def x_link(url: str) -> str:
    """``url`` in a form X recognises whole as a link (X makes links with twitter-text rules).

    twitter-text stops a link at characters it does not expect in a path (CJK, some
    punctuation), which would make X link a different page; such a URL is written in its
    percent-encoded ASCII form instead, which is the same address.
    """
    if _extracted_whole(url):
        return url
    ascii_url = as_uri(url)
    if _extracted_whole(ascii_url):
        return ascii_url
    raise FormattingError(f"X would not link the whole article URL {shown(url)}")


def has_plain_url(text: str, url: str) -> bool:
    """True when ``url`` stands in ``text`` as itself, not as the start of a longer link."""
    start = text.find(url)
    while start >= 0:
        end = start + len(url)
        if end == len(text) or text[end].isspace() or text[end] in "\"'<>)]}":
            before = text[start - 1] if start else " "
            if before.isspace() or before in "\"'<>([{:":
                return True
        start = text.find(url, start + 1)
    return False
