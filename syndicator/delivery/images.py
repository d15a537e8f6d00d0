"""Fetching an article's image to post with it.

syndicator fetches the image itself and uploads the bytes, rather than handing the networks
a URL: the size and type are checked here, and a failure is ours to report ("the post went
out as text because ..."), not a vague refusal from the network.
"""

from __future__ import annotations

import httpx

from syndicator.errors import SyndicatorError
from syndicator.records import Photo

MAX_IMAGE_BYTES = 5 * 1024 * 1024  # Telegram takes 10 MB uploads, Facebook's photos ~4-10 MB
# The formats both networks accept, by their first bytes.
SIGNATURES = {
    b"\xff\xd8\xff": "image/jpeg",
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"GIF87a": "image/gif",
    b"GIF89a": "image/gif",
}


class ImageError(SyndicatorError):
    """The article's image cannot be posted; the post goes out as text."""


def sniff(data: bytes) -> str | None:
    for signature, content_type in SIGNATURES.items():
        if data.startswith(signature):
            return content_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


async def fetch_image(
    client: httpx.AsyncClient, url: str, *, max_bytes: int = MAX_IMAGE_BYTES
) -> Photo:
    """The image at ``url``, checked to be a JPEG, PNG, GIF or WebP of at most ``max_bytes``."""
    try:
        async with client.stream("GET", url) as response:
            if response.status_code != 200:
                raise ImageError(f"image {url}: HTTP {response.status_code}")
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise ImageError(f"image {url}: larger than {max_bytes // 1024 // 1024} MiB")
            data = bytearray()
            async for chunk in response.aiter_bytes():
                data += chunk
                if len(data) > max_bytes:
                    raise ImageError(f"image {url}: larger than {max_bytes // 1024 // 1024} MiB")
    except httpx.TimeoutException as exc:
        raise ImageError(f"image {url}: timed out") from exc
    except httpx.HTTPError as exc:
        raise ImageError(f"image {url}: cannot be fetched ({type(exc).__name__})") from exc
    content_type = sniff(bytes(data[:16]))
    if content_type is None:
        declared_type = response.headers.get("Content-Type", "unknown type")
        raise ImageError(f"image {url}: not a JPEG, PNG, GIF or WebP image ({declared_type})")
    return Photo(bytes(data), content_type, url)
