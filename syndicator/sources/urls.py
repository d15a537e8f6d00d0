"""Article URLs as deduplication keys.

One article reaches us under many spellings: from the feed, with a campaign's ``utm_*``
parameters, with a ``#comments`` fragment, with ``:443`` or a trailing slash. The store keys
articles on ``normalise_url`` so that all of them are the same article and none is posted
twice. The key is still a working URL that leads to the same page.
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, unquote_plus, urlsplit, urlunsplit

_SCHEMES = frozenset({"http", "https"})
_DEFAULT_PORTS = {"http": 80, "https": 443}

# Parameters that say how a reader arrived, never which page they asked for.
_TRACKING = frozenset({"fbclid", "gclid", "mc_cid", "mc_eid", "yclid", "igshid", "_ga"})
_TRACKING_PREFIXES = ("utm_",)

# Characters that cannot stand in a host name, whatever urlsplit lets through.
_BAD_HOST_CHARS = frozenset(' \t\r\n<>"{}|\\^`%/?#@')
_USERINFO = re.compile(r"//[^/?#]*@")


def _shown(url: str) -> str:
    """``url`` as an error message may show it: a user name and password are masked."""
    return repr(_USERINFO.sub("//***@", url, count=1))


def _split(url: str) -> SplitResult:
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 -- raises ValueError on a port that is not a number in range
    except ValueError as e:
        raise ValueError(f"not a valid URL: {_shown(url)}: {e}") from None
    if parts.scheme.lower() not in _SCHEMES:
        raise ValueError(f"not an http(s) URL: {_shown(url)}")
    if not parts.hostname:
        raise ValueError(f"URL has no host: {_shown(url)}")
    return parts


def _host(parts: SplitResult, url: str) -> str:
    """The host lower-cased, an IDN in punycode, an IPv6 address in brackets."""
    host = parts.hostname or ""  # urlsplit already lower-cases it
    if ":" in host:  # only an IPv6 literal can hold a colon here
        return f"[{host}]"
    host = host.rstrip(".")  # "example.com." is the same host as "example.com"
    if "" in host.split(".") or _BAD_HOST_CHARS.intersection(host):
        raise ValueError(f"URL has an invalid host: {_shown(url)}")
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError as e:
        raise ValueError(f"URL has an invalid host: {_shown(url)}: {e}") from None


def _is_tracking(pair: str) -> bool:
    name = unquote_plus(pair.partition("=")[0]).lower()
    return name in _TRACKING or name.startswith(_TRACKING_PREFIXES)


def _query(query: str) -> str:
    # Pieces are kept exactly as written: re-encoding could turn one URL into another.
    return "&".join(pair for pair in query.split("&") if pair and not _is_tracking(pair))


def normalise_url(url: str) -> str:
    """The key under which the article at ``url`` is known; ``ValueError`` if not http(s).

    Scheme and host lower-cased, an IDN host in punycode, a default port, the fragment and
    tracking parameters dropped, other parameters kept in order, no trailing slash on the path.
    """
    parts = _split(url)
    scheme = parts.scheme.lower()
    netloc = _host(parts, url)
    if parts.port is not None and parts.port != _DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{parts.port}"
    if "@" in parts.netloc:
        netloc = f"{parts.netloc.rpartition('@')[0]}@{netloc}"
    path = parts.path.rstrip("/") or "/"
    return urlunsplit((scheme, netloc, path, _query(parts.query), ""))


def is_http_url(s: str) -> bool:
    """Whether ``s`` is an absolute http(s) URL with a host, the only kind we link to."""
    try:
        normalise_url(s)
    except ValueError:
        return False
    return True
