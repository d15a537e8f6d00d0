"""Facebook Pages through facebook-sdk: ``GraphAPI.put_object(page_id, "feed", ...)``."""

from __future__ import annotations

import io
import json
from datetime import datetime
from typing import Any

import facebook
import requests
from pydantic import SecretStr

from syndicator.channels.base import BlockingChannel, same_link
from syndicator.channels.http import api_session
from syndicator.config import FacebookChannelConfig
from syndicator.errors import AuthError, PermanentError, PublishError, RateLimited, TransientError
from syndicator.records import ChannelType, Post, Receipt

API_ROOT = "https://graph.facebook.com"
AUTH_CODES = {102, 190, 10} | set(range(200, 300))
RATE_LIMIT_CODES = {4, 17, 32, 613, 80001}
TRANSIENT_CODES = {1, 2}
DEFAULT_RATE_LIMIT_WAIT = 15 * 60.0


def regain_access_seconds(headers: requests.structures.CaseInsensitiveDict[str]) -> float | None:
    """The longest ``estimated_time_to_regain_access`` (minutes) in the usage headers."""
    raw = headers.get("X-Business-Use-Case-Usage")
    if not raw:
        return None
    try:
        usage: dict[str, list[dict[str, Any]]] = json.loads(raw)
        minutes = max(
            float(entry.get("estimated_time_to_regain_access", 0))
            for entries in usage.values()
            for entry in entries
        )
    except (ValueError, TypeError, AttributeError):
        return None
    return minutes * 60 if minutes > 0 else None


class FacebookChannel(BlockingChannel):
    type = ChannelType.FACEBOOK
    network = "Facebook"
    supports_photos = True
    can_find = True

    def __init__(self, config: FacebookChannelConfig, secrets: dict[str, SecretStr]) -> None:
        super().__init__(config.name)
        self.page_id = config.page_id
        timeout = config.timeout.total_seconds()
        # facebook-sdk hides the response from its errors (status, rate-limit hint): watched.
        session = self.watch(api_session(API_ROOT, config.api_base_url, read_timeout=timeout))
        # facebook-sdk only accepts its own 2.x/3.x version list when constructed, so it is
        # built with one of those and then pointed at the configured (current) version.
        self._graph = facebook.GraphAPI(
            access_token=secrets["page_token"].get_secret_value(),
            timeout=timeout,
            version="3.1",
            session=session,
        )
        self._graph.version = config.api_version

    async def publish(self, post: Post) -> Receipt:
        def send() -> Receipt:
            if post.photo is not None:
                # A photo post: no link card, so the caption carries the link.
                result = self._graph.put_photo(
                    image=io.BytesIO(post.photo.data),
                    album_path=f"{self.page_id}/photos",
                    caption=post.text,
                )
                post_id = str(result.get("post_id") or result["id"])
            else:
                result = self._graph.put_object(
                    self.page_id, "feed", message=post.text, link=post.link
                )
                post_id = str(result["id"])
            return self.receipt(post_id, f"https://www.facebook.com/{post_id}")

        return await self._call(send)

    async def find(self, link: str, since: datetime) -> Receipt | None:
        def look() -> Receipt | None:
            feed = self._graph.get_connections(
                self.page_id,
                "feed",
                fields="id,message,link,created_time",
                since=int(since.timestamp()),
                limit=100,
            )
            for item in feed.get("data", []):
                carried = same_link(item.get("link", ""), link) or link in item.get("message", "")
                if carried:
                    post_id = str(item["id"])
                    return Receipt(post_id, f"https://www.facebook.com/{post_id}")
            return None

        return await self._call(look)

    async def check(self) -> str:
        def me() -> str:
            page = self._graph.get_object(self.page_id, fields="id,name")
            return f"{page.get('name', '?')} ({page['id']})"

        return await self._call(me)

    def translate(self, exc: Exception) -> PublishError:
        if not isinstance(exc, facebook.GraphAPIError):
            if isinstance(exc, KeyError | ValueError):
                return TransientError(f"Facebook: unreadable answer ({type(exc).__name__})")
            raise exc
        error = exc.result.get("error", {}) if isinstance(exc.result, dict) else {}
        code = error.get("code") if isinstance(error, dict) else None
        subcode = error.get("error_subcode") if isinstance(error, dict) else None
        if code is None:  # not a Graph API error body: a proxy's page, an outage
            return TransientError(f"Facebook: unexpected answer: {exc.message}"[:300])
        label = f"#{code}" + (f"/{subcode}" if subcode else "")
        message = f"Facebook: ({label}) {exc.message}"
        if code in RATE_LIMIT_CODES:
            answer = self.last_answer()
            regain = regain_access_seconds(answer.headers) if answer is not None else None
            wait = regain or DEFAULT_RATE_LIMIT_WAIT
            return RateLimited(message, retry_after=wait, code=str(code))
        if code in AUTH_CODES:
            return AuthError(message, code=str(code))
        if code in TRANSIENT_CODES:
            return TransientError(message, code=str(code))
        return PermanentError(message, code=str(code))
