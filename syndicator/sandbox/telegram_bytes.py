"""TDLib's string primitives over raw UTF-8 bytes, shared by the HTML parser and link checker.

TDLib walks the bytes of a NUL-terminated string, and so do :mod:`telegram_html` and
:mod:`telegram_links`: they read ``raw[i]`` through :func:`byte_at`, which answers 0 past the
end, and take letters, digits and hex digits to be ASCII ones only, as TDLib does.
"""

from __future__ import annotations

import re

SPACES = frozenset(b" \t\r\n\0\v")  # td::is_space; 0 is also the end of the string
_INTEGER = re.compile(rb"-?[0-9]+")


def byte_at(raw: bytes, i: int) -> int:
    """The byte at ``i``, or 0 past the end, like reading TDLib's NUL-terminated string."""
    return raw[i] if i < len(raw) else 0


def is_alpha(c: int) -> bool:
    return ord("a") <= (c | 0x20) <= ord("z")


def is_digit(c: int) -> bool:
    return ord("0") <= c <= ord("9")


def is_hex(c: int) -> bool:
    return is_digit(c) or ord("a") <= (c | 0x20) <= ord("f")


def to_integer(text: bytes, bits: int) -> int | None:
    """td::to_integer_safe: only the number's canonical spelling, within a signed range."""
    if not _INTEGER.fullmatch(text) or str(int(text)).encode() != text:
        return None
    value = int(text)
    return value if -(1 << (bits - 1)) <= value < (1 << (bits - 1)) else None


def utf8_text(value: bytes) -> str:
    """Bytes as text; invalid UTF-8 is replaced, not refused."""
    return value.decode("utf-8", errors="replace")
