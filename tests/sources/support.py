"""What the parser tests share: ways to change a corpus feed as a site's next version would."""

from __future__ import annotations

import codecs
import re


def first_item_retitled(content: bytes) -> bytes:
    """``content`` with "Updated: " before the title of its first item or entry (a UTF-16
    document stays UTF-16)."""
    if content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return (
            first_item_retitled(content.decode("utf-16").encode("utf-8")).decode().encode("utf-16")
        )
    first = re.search(rb"<(?:item|entry)[\s>]", content)
    assert first is not None
    title = content.index(b"<title", first.start())
    end = content.index(b">", title) + 1
    return content[:end] + b"Updated: " + content[end:]
