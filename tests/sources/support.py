"""What the parser tests share: ways to change a corpus feed as a site's next version would."""

from __future__ import annotations

import re


def first_item_retitled(content: bytes) -> bytes:
    """``content`` with "Updated: " before the title of its first item or entry."""
    first = re.search(rb"<(?:item|entry)[\s>]", content)
    assert first is not None
    title = content.index(b"<title", first.start())
    end = content.index(b">", title) + 1
    return content[:end] + b"Updated: " + content[end:]
