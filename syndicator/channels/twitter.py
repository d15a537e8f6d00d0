"""X (Twitter) accounts through tweepy: ``Client.create_tweet``, OAuth 1.0a user context."""

from __future__ import annotations

import time
from datetime import datetime

import tweepy
from pydantic import SecretStr

from syndicator.channels.base import BlockingChannel, same_link
from syndicator.channels.http import api_session
from syndicator.config import TwitterChannelConfig
from syndicator.errors import AuthError, PermanentError, PublishError, RateLimited, TransientError
from syndicator.records import ChannelType, Post, Receipt

API_ROOT = "https://api.twitter.com"
DEFAULT_RATE_LIMIT_WAIT = 15 * 60.0  # X's rate windows are 15 minutes


def _reason(exc: tweepy.HTTPException) -> str:
    details = "; ".join(str(m) for m in exc.api_messages) or exc.response.reason
    return f"X: {exc.response.status_code} {details}"


def error_code(exc: tweepy.HTTPException) -> str | None:
    """X's own code for a refusal: a v1.1 ``errors[].code`` (tweepy's ``api_codes``), else the
    v2 problem's ``type`` (its last segment, e.g. "usage-capped"), else its ``title`` when the
    type is the generic "about:blank" (e.g. "Too Many Requests")."""
    if exc.api_codes:
        return str(exc.api_codes[0])
    try:
        problem = exc.response.json()
    except ValueError:  # not JSON: a proxy's page, an outage
        return None
    if not isinstance(problem, dict):
        return None
    kind, title = problem.get("type"), problem.get("title")
    if isinstance(kind, str) and kind.strip("/") and kind != "about:blank":
        return kind.rstrip("/").rsplit("/", 1)[-1]
    return title if isinstance(title, str) and title else None


class TwitterChannel(BlockingChannel):
    type = ChannelType.TWITTER
    network = "X"
    can_find = True

    def __init__(self, config: TwitterChannelConfig, secrets: dict[str, SecretStr]) -> None:
        super().__init__(config.name)
        self._client = tweepy.Client(
            consumer_key=secrets["consumer_key"].get_secret_value(),
            consumer_secret=secrets["consumer_secret"].get_secret_value(),
            access_token=secrets["access_token"].get_secret_value(),
            access_token_secret=secrets["access_token_secret"].get_secret_value(),
        )
        self._client.session = self.watch(
            api_session(API_ROOT, config.api_base_url, read_timeout=config.timeout.total_seconds())
        )

    async def publish(self, post: Post) -> Receipt:
        def send() -> Receipt:
            response = self._client.create_tweet(text=post.text, user_auth=True)
            tweet_id = str(response.data["id"])
            return self.receipt(tweet_id, f"https://x.com/i/web/status/{tweet_id}")

        return await self._call(send)

    async def find(self, link: str, since: datetime) -> Receipt | None:
        def look() -> Receipt | None:
            me = self._client.get_me(user_auth=True).data
            response = self._client.get_users_tweets(
                me.id,
                max_results=100,
                start_time=since,
                tweet_fields=["entities", "created_at"],
                user_auth=True,
            )
            for tweet in response.data or []:
                urls = (tweet.entities or {}).get("urls", [])
                if any(same_link(u.get("expanded_url", ""), link) for u in urls):
                    tweet_id = str(tweet.id)
                    return Receipt(tweet_id, f"https://x.com/i/web/status/{tweet_id}")
            return None

        return await self._call(look)

    async def check(self) -> str:
        def me() -> str:
            response = self._client.get_me(user_auth=True)
            return f"@{response.data.username}"

        return await self._call(me)

    def translate(self, exc: Exception) -> PublishError:
        if not isinstance(exc, tweepy.HTTPException):
            raise exc
        return _kind_of(exc).answered(exc.response.status_code, error_code(exc))


def _kind_of(exc: tweepy.HTTPException) -> PublishError:
    """Which kind of failure X's refusal is."""
    if isinstance(exc, tweepy.TooManyRequests):
        wait = DEFAULT_RATE_LIMIT_WAIT
        if exc.reset_time is not None:
            wait = max(1.0, exc.reset_time - time.time())
        return RateLimited(_reason(exc), retry_after=wait)
    if isinstance(exc, tweepy.Unauthorized):
        return AuthError("X: the credentials were refused (401 Unauthorized)")
    if isinstance(exc, tweepy.Forbidden):
        reason = _reason(exc)
        if "duplicate" in reason.lower():
            return PermanentError(reason)
        # Write permission missing, app not enrolled, account locked: an operator must act.
        return AuthError(reason)
    if isinstance(exc, tweepy.BadRequest | tweepy.NotFound):
        return PermanentError(_reason(exc))
    return TransientError(_reason(exc))
