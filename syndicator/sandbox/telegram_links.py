"""Which links Telegram keeps in an ``<a href>``, and how it rewrites them.

Taken from TDLib (``LinkManager::get_checked_link`` over ``HttpUrl.cpp``: ``parse_url``), not
from our formatter: a link Telegram refuses does not fail the message, its entity is silently
dropped and the text kept, so the emulator must drop it too. Kept links come back normalised
(scheme and host lower-cased, a ``/`` path added). The facts are in docs ``platforms.md``
sections 1.4, 1.5 and 5.

Not modelled: ``tg://user?id=`` links becoming text mentions (they stay text links here).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from syndicator.sandbox.telegram_bytes import SPACES, to_integer, utf8_text

_HOST_SYMBOLS = frozenset(b"abcdefghijklmnopqrstuvwxyz0123456789.-_!$,~*'();&+=")
_LOWER_HEX = frozenset(b"0123456789abcdef")
_TG_HOST = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


@dataclass(frozen=True, slots=True)
class _Url:
    https: bool
    userinfo: bytes
    host: bytes
    ipv6: bool
    port: int  # 0 when the URL names none
    path: bytes  # always begins with '/'


def checked_link(link: bytes) -> str | None:
    """The normalised URL Telegram keeps for an ``<a href>``, or None if it drops the link."""
    scheme = None
    for prefix in (b"tg:", b"ton:", b"tonsite:"):
        if link[: len(prefix)].lower() == prefix:
            scheme, link = prefix[:-1], link[len(prefix) :]
            link = link[2:] if link.startswith(b"//") else link
            break
    url = _parse_url(link)
    if url is None:
        return None
    if scheme is not None:
        if link[:7].lower() == b"http://" or url.https or url.userinfo or url.port or url.ipv6:
            return None
        allowed = _TG_HOST | ({ord(".")} if scheme == b"tonsite" else set())
        if any(c not in allowed for c in url.host):
            return None
        path = url.path[1:] if url.path[1:2] == b"?" else url.path
        return utf8_text(scheme + b"://" + url.host + path)
    if b"." not in url.host and not url.ipv6:  # localhost, intranet names: refused
        return None
    userinfo = url.userinfo + b"@" if url.userinfo else b""
    port = b":%d" % url.port if url.port else b""
    return utf8_text(
        (b"https://" if url.https else b"http://") + userinfo + url.host + port + url.path
    )


def _parse_url(url: bytes) -> _Url | None:
    """td::parse_url: ``[http[s]://][userinfo@]host[:port][/path...]``, lower-cased host."""
    scheme_end = next((k for k, c in enumerate(url) if c in b":/?#@[]"), len(url))
    https, rest = False, url
    if url[scheme_end : scheme_end + 3] == b"://":
        scheme = url[:scheme_end].lower()
        if scheme not in (b"http", b"https"):
            return None
        https, rest = scheme == b"https", url[scheme_end + 3 :]
    authority_end = next((k for k, c in enumerate(rest) if c in b"/?#"), len(rest))
    authority, path = rest[:authority_end], rest[authority_end:]

    k = len(authority) - 1
    while k > 0 and authority[k] not in b":]@":
        k -= 1
    port = 0
    if k > 0 and authority[k] == ord(":"):
        digits = authority[k + 1 :]
        while len(digits) > 1 and digits[0] == ord("0"):
            digits = digits[1:]
        number = to_integer(digits, 32)
        port = number if number else -1
        authority = authority[:k]
    if not 0 <= port <= 65535:
        return None
    at = authority.rfind(b"@")
    userinfo, host = (authority[:at], authority[at + 1 :]) if at >= 0 else (b"", authority)

    ipv6 = len(host) >= 2 and host[0] == ord("[") and host[-1] == ord("]")
    if ipv6:
        try:
            ipaddress.IPv6Address(host[1:-1].decode("ascii"))
        except ValueError:
            return None
    if not host or host == b".":
        return None
    host = host.lower()
    if not _host_is_valid(host, ipv6):
        return None

    path = path.rstrip(bytes(SPACES)) or b"/"
    path = path if path.startswith(b"/") else b"/" + path
    path = b"".join(b"%%%02X" % c if c <= 0x20 else bytes([c]) for c in path)
    return _Url(https, userinfo, host, ipv6, port, path)


def _host_is_valid(host: bytes, ipv6: bool) -> bool:
    """RFC 3986 host symbols, %-escapes with lower-case hex, and raw UTF-8 are allowed."""
    if ipv6:
        return all(
            k in (0, len(host) - 1) or c in b":0123456789abcdef." for k, c in enumerate(host)
        )
    k = 0
    while k < len(host):
        c = host[k]
        if c == ord("%"):
            if host[k + 1 : k + 2] == b"" or host[k + 1] not in _LOWER_HEX:
                return False
            if host[k + 2 : k + 3] == b"" or host[k + 2] not in _LOWER_HEX:
                return False
            k += 2
        elif c not in _HOST_SYMBOLS and c < 0x80:
            return False
        k += 1
    return True
