"""An emulator of the X API v2 calls we make: create, delete and list posts, and who am I.

Every call needs OAuth 1.0a user context, checked the way X checks it: an HMAC-SHA1
signature by the sandbox consumer and token secrets, and a timestamp within five minutes.
tweepy signs ``https://api.twitter.com/...`` even when its transport carries the call here
(as a forwarding proxy would need), while a client pointed here directly signs this host's
URL, so both are accepted. Errors are RFC 7807 problem objects, and every answer carries the
rate-limit headers tweepy and our adapter read (platforms.md section 2).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import string
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import twitter_text
from oauthlib.oauth1 import Client as OAuthClient
from oauthlib.oauth1.rfc5849 import signature, utils
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from syndicator.sandbox.asgi import route_path
from syndicator.sandbox.base import Emulator
from syndicator.sandbox.credentials import SandboxCredentials
from syndicator.sandbox.faults import Fault, FaultKind
from syndicator.sandbox.state import StoredPost, Usage

_REAL_ROOTS = ("https://api.twitter.com", "https://api.x.com")
_MAX_CLOCK_SKEW = 300.0  # seconds
_WINDOW = 15 * 60.0
_DAY = 24 * 3600.0
_APP_DAILY_POSTS = 10_000
_MAX_WEIGHTED_LENGTH = 280
_TWITTER_EPOCH_MS = 1_288_834_974_657
_BASE62 = string.digits + string.ascii_letters
_INVALID_REQUEST = "https://api.twitter.com/2/problems/invalid-request"
_TOO_LONG = (
    "Your Tweet text is too long. For more information on how Twitter determines text length"
    " see https://github.com/twitter/twitter-text."
)
_DUPLICATE = "You are not allowed to create a Tweet with duplicate content."

Handler = Callable[[Request], Awaitable[Response]]


def problem(status: int, title: str, detail: str | None = None, **extra: Any) -> JSONResponse:
    body = {"title": title, "type": "about:blank", "status": status, "detail": detail or title}
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def invalid_request(message: str, parameters: dict[str, list[str]] | None = None) -> JSONResponse:
    error: dict[str, Any] = {"message": message}
    if parameters is not None:
        error = {"parameters": parameters, "message": message}
    return JSONResponse(
        {
            "errors": [error],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": _INVALID_REQUEST,
        },
        status_code=400,
        media_type="application/problem+json",
    )


class XEmulator(Emulator):
    def __init__(self, credentials: SandboxCredentials, clock: Callable[[], float] = time.time):
        self.credentials = credentials
        self._signer = OAuthClient(
            credentials.x_consumer_key,
            client_secret=credentials.x_consumer_secret,
            resource_owner_key=credentials.x_access_token,
            resource_owner_secret=credentials.x_access_token_secret,
        )
        super().__init__(clock)

    def api_routes(self) -> list[BaseRoute]:
        # Per-user limits per 15 minutes, from X's rate-limit table.
        def endpoint(path: str, method: str, limit: int, handler: Handler) -> Route:
            async def serve(request: Request) -> Response:
                return await self._serve(request, f"{method} {path}", limit, handler)

            return Route(path, serve, methods=[method])

        return [
            endpoint("/2/tweets", "POST", 100, self._create_tweet),
            endpoint("/2/tweets/{id}", "DELETE", 50, self._delete_tweet),
            endpoint("/2/users/me", "GET", 75, self._me),
            endpoint("/2/users/{id}/tweets", "GET", 900, self._user_tweets),
        ]

    def not_found_response(self) -> Response:
        return problem(404, "Not Found Error", "The requested resource could not be found.")

    def fault_response(self, fault: Fault) -> Response:
        now = self.clock()
        if fault.kind is FaultKind.RATE_LIMIT:
            response = problem(429, "Too Many Requests")
            exhausted = Usage(allowed=False, limit=100, used=100, reset_at=now + fault.retry_after)
            _add_limit_headers(response, "x-rate-limit", exhausted)
        elif fault.kind is FaultKind.EXPIRED_TOKEN:
            response = problem(401, "Unauthorized")
        elif fault.kind is FaultKind.BAD_REQUEST:
            response = invalid_request(fault.message or "The request was refused.")
        else:
            response = problem(500, "Internal Server Error")
        daily = self.state.use_quota("app posts", _APP_DAILY_POSTS, _DAY, now, consume=False)
        _add_limit_headers(response, "x-app-limit-24hour", daily)
        return response

    async def _serve(self, request: Request, key: str, limit: int, handler: Handler) -> Response:
        now = self.clock()
        if not self._signed(request, await request.body(), now):
            response: Response = problem(401, "Unauthorized")
            usage = self.state.use_quota(key, limit, _WINDOW, now, consume=False)
        else:
            usage = self.state.use_quota(key, limit, _WINDOW, now)
            if usage.allowed:
                response = await handler(request)
            else:
                response = problem(429, "Too Many Requests")
        daily = self.state.use_quota("app posts", _APP_DAILY_POSTS, _DAY, now, consume=False)
        _add_limit_headers(response, "x-rate-limit", usage)
        _add_limit_headers(response, "x-app-limit-24hour", daily)
        return response

    def _signed(self, request: Request, body: bytes, now: float) -> bool:
        """Checks the OAuth 1.0a HMAC-SHA1 signature of a user-context call."""
        header = request.headers.get("authorization", "")
        if not header.startswith("OAuth "):
            return False
        try:
            oauth = {k: utils.unescape(v) for k, v in utils.parse_authorization_header(header)}
            form = []
            if request.headers.get("content-type", "").startswith(
                "application/x-www-form-urlencoded"
            ):
                form = signature.urldecode(body.decode())
            params = signature.collect_parameters(
                uri_query=request.url.query, body=form, headers={"Authorization": header}
            )
        except ValueError:
            return False
        creds = self.credentials
        timestamp = oauth.get("oauth_timestamp", "")
        if not (
            _same(oauth.get("oauth_consumer_key", ""), creds.x_consumer_key)
            and _same(oauth.get("oauth_token", ""), creds.x_access_token)
            and oauth.get("oauth_signature_method") == "HMAC-SHA1"
            and timestamp.isdigit()
            and abs(now - int(timestamp)) <= _MAX_CLOCK_SKEW
        ):
            return False
        normalized = signature.normalize_parameters(params)
        own = f"{request.url.scheme}://{request.url.netloc}{request.url.path}"
        for uri in (*(root + route_path(request.scope) for root in _REAL_ROOTS), own):
            base = signature.signature_base_string(
                request.method, signature.base_string_uri(uri), normalized
            )
            expected = signature.sign_hmac_sha1_with_client(base, self._signer)
            if _same(expected, oauth.get("oauth_signature", "")):
                return True
        return False

    # --- endpoints --------------------------------------------------------------------------

    async def _create_tweet(self, request: Request) -> Response:
        if not request.headers.get("content-type", "").startswith("application/json"):
            return invalid_request(
                "Requests with bodies must have content-type of application/json."
            )
        try:
            data = json.loads(await request.body())
        except ValueError:
            return invalid_request("Request body is not valid JSON.")
        if not isinstance(data, dict):
            return invalid_request("Request body must be a JSON object.")
        text, media = data.get("text"), data.get("media")
        if text is not None and not isinstance(text, str):
            return invalid_request("$.text: string found, non-string expected")
        if not text and not media:
            return invalid_request("Post text or media is required.")
        text = text or ""
        if twitter_text.parse_tweet(text).weightedLength > _MAX_WEIGHTED_LENGTH:
            return invalid_request(_TOO_LONG, {"text": [text]})
        user_id = self.credentials.x_user_id
        if text and any(p.target == user_id and p.text == text for p in self.state.posts()):
            return problem(403, "Forbidden", _DUPLICATE)
        now = self.clock()
        daily = self.state.use_quota("app posts", _APP_DAILY_POSTS, _DAY, now)
        if not daily.allowed:
            return problem(429, "Too Many Requests")
        tweet_id = _snowflake(now, self.state.next_id("tweet"))
        shown, urls = _shorten_urls(text, tweet_id)
        self.state.add_post(
            StoredPost(
                id=tweet_id,
                target=user_id,
                text=text,
                kind="tweet",
                created_at=now,
                params=self.public_params(data),
                private={"text": shown, "urls": urls},
            )
        )
        tweet = {"id": tweet_id, "text": shown, "edit_history_tweet_ids": [tweet_id]}
        return JSONResponse({"data": tweet}, status_code=201)

    async def _delete_tweet(self, request: Request) -> Response:
        tweet_id = request.path_params["id"]
        post = self.state.get_post(tweet_id)
        if post is None or post.target != self.credentials.x_user_id:
            return JSONResponse({"data": {"deleted": False}})
        self.state.remove_post(tweet_id)
        return JSONResponse({"data": {"deleted": True}})

    async def _me(self, request: Request) -> Response:
        username = self.credentials.x_username
        name = username.replace("_", " ").title()
        return JSONResponse(
            {"data": {"id": self.credentials.x_user_id, "name": name, "username": username}}
        )

    async def _user_tweets(self, request: Request) -> Response:
        raw = request.query_params.get("max_results", "10")
        if not raw.isdigit() or not 5 <= int(raw) <= 100:
            return invalid_request(
                f"The `max_results` query parameter value [{raw}] is not between 5 and 100",
                {"max_results": [raw]},
            )
        user_id = request.path_params["id"]
        fields = set(request.query_params.get("tweet.fields", "").split(","))
        since = _rfc3339(request.query_params.get("start_time"))
        posts = [
            p
            for p in self.state.posts()
            if p.target == user_id and (since is None or p.created_at >= since)
        ]
        newest = sorted(posts, key=lambda p: int(p.id), reverse=True)[: int(raw)]
        if not newest:
            return JSONResponse({"meta": {"result_count": 0}})
        data = [_tweet_json(p, fields) for p in newest]
        meta = {"result_count": len(data), "newest_id": data[0]["id"], "oldest_id": data[-1]["id"]}
        return JSONResponse({"data": data, "meta": meta})


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def _add_limit_headers(response: Response, prefix: str, usage: Usage) -> None:
    response.headers[f"{prefix}-limit"] = str(usage.limit)
    response.headers[f"{prefix}-remaining"] = str(usage.remaining)
    response.headers[f"{prefix}-reset"] = str(math.ceil(usage.reset_at))


def _snowflake(now: float, sequence: int) -> str:
    """An id shaped like X's: milliseconds since X's epoch, then a sequence number."""
    return str(((int(now * 1000) - _TWITTER_EPOCH_MS) << 22) | (sequence & 0x3FFFFF))


def _shorten_urls(text: str, tweet_id: str) -> tuple[str, list[dict[str, Any]]]:
    """X answers with every URL it recognises replaced by a t.co link; and the URL entities."""
    shortened: list[tuple[str, str]] = []
    for found in reversed(twitter_text.extract_urls_with_indices(text)):
        start, end = found["indices"]
        digest = hashlib.sha256(f"{tweet_id} {found['url']}".encode()).digest()
        link = "https://t.co/" + "".join(_BASE62[b % 62] for b in digest[:10])
        text = f"{text[:start]}{link}{text[end:]}"
        shortened.append((link, found["url"]))
    urls, cursor = [], 0
    for link, expanded in reversed(shortened):  # entity offsets in the shortened text
        start = text.index(link, cursor)
        cursor = start + len(link)
        display = expanded.split("://", 1)[-1]
        urls.append(
            {
                "start": start,
                "end": cursor,
                "url": link,
                "expanded_url": expanded,
                "display_url": display if len(display) <= 25 else display[:24] + "…",
            }
        )
    return text, urls


def _tweet_json(post: StoredPost, fields: set[str]) -> dict[str, Any]:
    """A post as GET /2/users/:id/tweets shows it, with the tweet.fields asked for."""
    tweet: dict[str, Any] = {
        "id": post.id,
        "text": post.private["text"],
        "edit_history_tweet_ids": [post.id],
    }
    if "created_at" in fields:
        created = datetime.fromtimestamp(post.created_at, UTC)
        tweet["created_at"] = created.strftime("%Y-%m-%dT%H:%M:%S.") + f"{created:%f}"[:3] + "Z"
    if "entities" in fields and post.private.get("urls"):
        tweet["entities"] = {"urls": post.private["urls"]}
    return tweet


def _rfc3339(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
