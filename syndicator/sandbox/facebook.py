"""An emulator of the Graph API calls a Page makes: post to the feed, post a photo, read, delete.

facebook-sdk ignores the HTTP status and reads the body of every answer, choosing how by its
``Content-Type``, so every answer here is JSON with ``charset=UTF-8`` and every refusal is
the Graph API's ``{"error": {...}}`` envelope (platforms.md section 3). Any ``/vNN.N/``
prefix is served: Facebook answers calls to expired versions with its oldest live one, and
says which in the ``facebook-api-version`` header. Usage headers go with every answer.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from syndicator.sandbox.base import Emulator
from syndicator.sandbox.credentials import SandboxCredentials
from syndicator.sandbox.faults import Fault, FaultKind
from syndicator.sandbox.forms import Form, parse_form
from syndicator.sandbox.state import StoredPost, Usage

_VERSION = re.compile(r"v([0-9]+)\.([0-9]+)")
_OLDEST_LIVE_VERSION = (21, 0)
_DAY = 24 * 3600.0
_PAGE_CALLS_PER_DAY = 4800  # Pages business-use-case limit for one engaged user
_MAX_MESSAGE_LENGTH = 63_206
_FEED_EDGES = frozenset({"feed", "posts", "published_posts"})
_UNSUPPORTED = (
    "Unsupported {method} request. Object with ID '{id}' does not exist, cannot be loaded due"
    " to missing permissions, or does not support this operation. Please read the Graph API"
    " documentation at https://developers.facebook.com/docs/graph-api"
)
_PST = timedelta(hours=-8)


def graph_json(body: dict[str, Any], status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type="application/json; charset=UTF-8")


class GraphError(Exception):
    """A refusal in the Graph API's error envelope."""

    def __init__(
        self,
        message: str,
        code: int,
        *,
        type: str = "OAuthException",
        subcode: int | None = None,
        status: int = 400,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.error: dict[str, Any] = {"message": message, "type": type, "code": code}
        if subcode is not None:
            self.error["error_subcode"] = subcode
        self.error.update(extra)
        self.status = status

    def response(self) -> JSONResponse:
        trace = hashlib.sha256(f"{time.time_ns()} {self.error}".encode()).hexdigest()[:22]
        return graph_json({"error": {**self.error, "fbtrace_id": trace}}, self.status)


def _unsupported(method: str, object_id: str) -> GraphError:
    message = _UNSUPPORTED.format(method=method.lower(), id=object_id)
    return GraphError(message, 100, type="GraphMethodException", subcode=33)


def _no_field(name: str) -> GraphError:
    return GraphError(f"(#100) Tried accessing nonexisting field ({name}) on node type (Page)", 100)


class FacebookEmulator(Emulator):
    secret_params = frozenset({"access_token", "appsecret_proof"})

    def __init__(self, credentials: SandboxCredentials, clock: Callable[[], float] = time.time):
        self.credentials = credentials
        super().__init__(clock)

    def api_routes(self) -> list[BaseRoute]:
        return [Route("/{path:path}", self._dispatch, methods=["GET", "POST", "DELETE"])]

    def not_found_response(self) -> Response:
        return _unsupported("get", "").response()

    def fault_response(self, fault: Fault) -> Response:
        now = self.clock()
        percent, minutes = _percent(self._usage(now, consume=False)), 0
        if fault.kind is FaultKind.RATE_LIMIT:
            error = GraphError("(#32) Page request limit reached", 32)
            percent, minutes = 100, math.ceil(fault.retry_after / 60)
        elif fault.kind is FaultKind.EXPIRED_TOKEN:
            pacific = datetime.fromtimestamp(now, UTC) + _PST
            stamp = "%A, %d-%b-%y %H:%M:%S PST"
            expired = (pacific - timedelta(hours=1)).strftime(stamp)
            message = (
                f"Error validating access token: Session has expired on {expired}."
                f" The current time is {pacific.strftime(stamp)}."
            )
            error = GraphError(message, 190, subcode=463)
        elif fault.kind is FaultKind.BAD_REQUEST:
            error = GraphError(fault.message or "(#100) Invalid parameter", 100)
        else:
            message = "An unexpected error has occurred. Please retry your request later."
            error = GraphError(message, 2, status=500, is_transient=True)
        response = error.response()
        self._add_usage_headers(response, percent, minutes)
        return response

    async def _dispatch(self, request: Request) -> Response:
        segments = [s for s in request.path_params["path"].split("/") if s]
        version = _served_version(
            segments.pop(0) if segments and _VERSION.fullmatch(segments[0]) else None
        )
        form = parse_form(
            request.headers.get("content-type", ""), await request.body(), request.url.query
        )
        now = self.clock()
        usage = self._usage(now, consume=False)
        try:
            self._authorize(form)
            usage = self._usage(now, consume=True)
            if not usage.allowed:
                raise GraphError("(#32) Page request limit reached", 32)
            response: Response = graph_json(self._route(request, segments, form))
        except GraphError as e:
            response = e.response()
        minutes = 0 if usage.allowed else math.ceil((usage.reset_at - now) / 60)
        self._add_usage_headers(response, _percent(usage), minutes)
        response.headers["facebook-api-version"] = version
        return response

    def _usage(self, now: float, *, consume: bool) -> Usage:
        return self.state.use_quota("page", _PAGE_CALLS_PER_DAY, _DAY, now, consume=consume)

    def _authorize(self, form: Form) -> None:
        token = form.fields.get("access_token", "")
        if not token:
            raise GraphError("An access token is required to request this resource.", 104)
        if not hmac.compare_digest(token.encode(), self.credentials.facebook_page_token.encode()):
            raise GraphError("Invalid OAuth access token - Cannot parse access token", 190)

    def _route(self, request: Request, segments: list[str], form: Form) -> dict[str, Any]:
        method = request.method
        if not segments:
            raise _unsupported(method, "")
        node, edge = segments[0], segments[1] if len(segments) > 1 else None
        page = self.credentials.facebook_page_id
        if node in ("me", page):
            if len(segments) > 2:
                raise _unsupported(method, "/".join(segments))
            if edge is None and method == "GET":
                return self._page(form)
            if edge in _FEED_EDGES and method == "GET":
                return self._feed()
            if edge == "feed" and method == "POST":
                return self._post_to_feed(form)
            if edge == "photos" and method == "POST":
                return self._post_photo(request, form)
            if edge is not None and edge not in _FEED_EDGES and edge != "photos":
                raise _no_field(edge)
            raise _unsupported(method, node)
        post = self._find(node)
        if post is None or edge is not None:
            raise _unsupported(method, node)
        if method == "DELETE":
            self.state.remove_post(post.id)
            return {"success": True}
        if method == "GET":
            return _feed_item(post)
        raise _unsupported(method, node)

    # --- the page ---------------------------------------------------------------------------

    def _page(self, form: Form) -> dict[str, Any]:
        page = {
            "id": self.credentials.facebook_page_id,
            "name": self.credentials.facebook_page_name,
        }
        wanted = [f for f in form.fields.get("fields", "").split(",") if f.strip()]
        if not wanted:
            return page
        for name in wanted:
            if name.strip() not in page:
                raise _no_field(name.strip())
        return {k: page[k] for k in ["id", *(f.strip() for f in wanted)] if k in page}

    def _feed(self) -> dict[str, Any]:
        posts = sorted(self.state.posts(), key=lambda p: p.created_at, reverse=True)
        return {"data": [_feed_item(p) for p in posts], "paging": {}}

    def _post_to_feed(self, form: Form) -> dict[str, Any]:
        message, link = form.fields.get("message", ""), form.fields.get("link", "")
        if not message and not link:
            raise GraphError("(#100) Missing message or attachment", 100)
        if len(message) > _MAX_MESSAGE_LENGTH:
            raise GraphError("(#100) Message is too long", 100)
        if link and not re.match(r"https?://[^/\s]+", link):
            raise GraphError("(#100) link URL is not properly formatted", 100)
        feed = self.state.posts()
        if message and feed and feed[-1].text == message:
            raise GraphError(
                "(#506) Duplicate status message",
                506,
                subcode=1455006,
                is_transient=False,
                error_user_title="Duplicate Status Update",
                error_user_msg="This status update is identical to the last one you posted."
                " Try posting something different, or delete your previous update.",
            )
        post_id = self._new_post_id()
        self._store(post_id, form, text=message, kind="feed", link=link or None)
        return {"id": post_id}

    def _post_photo(self, request: Request, form: Form) -> dict[str, Any]:
        upload, url = form.files.get("source"), form.fields.get("url", "")
        if upload is None and not url:
            raise GraphError("(#324) Requires upload file", 324)
        image = self.file_url(request, upload) if upload is not None else url
        caption = form.fields.get("caption") or form.fields.get("message") or ""
        photo_id = str(self.state.next_id("object", start=1_200_000_000_000_000))
        post_id = self._new_post_id()
        self._store(post_id, form, text=caption, kind="photo", image=image, photo_id=photo_id)
        return {"id": photo_id, "post_id": post_id}

    # --- helpers ----------------------------------------------------------------------------

    def _store(self, post_id: str, form: Form, *, text: str, kind: str, **extra: Any) -> None:
        photo_id = extra.pop("photo_id", None)
        self.state.add_post(
            StoredPost(
                id=post_id,
                target=self.credentials.facebook_page_id,
                text=text,
                kind=kind,
                created_at=self.clock(),
                params=self.public_params(form),
                private={"photo_id": photo_id},
                **extra,
            )
        )

    def _find(self, object_id: str) -> StoredPost | None:
        post = self.state.get_post(object_id)
        if post is not None:
            return post
        return next((p for p in self.state.posts() if p.private.get("photo_id") == object_id), None)

    def _new_post_id(self) -> str:
        number = self.state.next_id("object", start=1_200_000_000_000_000)
        return f"{self.credentials.facebook_page_id}_{number}"

    def _add_usage_headers(self, response: Response, percent: int, minutes: int) -> None:
        usage = {"call_count": percent, "total_cputime": percent, "total_time": percent}
        business = {**usage, "type": "pages", "estimated_time_to_regain_access": minutes}
        response.headers["x-app-usage"] = json.dumps(usage)
        response.headers["x-business-use-case-usage"] = json.dumps(
            {self.credentials.facebook_page_id: [business]}
        )


def _served_version(requested: str | None) -> str:
    match = _VERSION.fullmatch(requested or "")
    if match is None:
        return "v{}.{}".format(*_OLDEST_LIVE_VERSION)
    number = (int(match.group(1)), int(match.group(2)))
    return "v{}.{}".format(*max(number, _OLDEST_LIVE_VERSION))


def _percent(usage: Usage) -> int:
    return min(100, usage.used * 100 // usage.limit)


def _feed_item(post: StoredPost) -> dict[str, Any]:
    created = datetime.fromtimestamp(post.created_at, UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")
    item: dict[str, Any] = {"id": post.id, "created_time": created}
    if post.text:
        item["message"] = post.text
    if post.link:
        item["link"] = post.link
    return item
