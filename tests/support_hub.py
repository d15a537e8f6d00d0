"""A small but real WebSub hub on 127.0.0.1, for the subscriber's tests.

It does what the W3C recommendation asks of a hub, over real HTTP: a subscription request is
answered 202 and then verified by a GET to the callback (the subscription counts only if the
callback echoes the challenge), or denied by a ``hub.mode=denied`` GET; ``publish`` sends
content to every verified subscriber of a topic, signed with its secret. Tests steer it through
plain attributes (``answer_status``, ``deny_reason``) and read what it saw.
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from urllib.parse import parse_qsl

import httpx
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from syndicator.serving import ThreadedServer


@dataclass(frozen=True, slots=True)
class Subscriber:
    callback: str
    topic: str
    secret: str | None
    lease_seconds: int


@dataclass(frozen=True, slots=True)
class Verification:
    """One intent verification the hub made, and whether the callback agreed."""

    mode: str
    topic: str
    status: int
    echoed: bool


class LocalHub:
    """A WebSub hub served from a thread; a context manager."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()
        self._server = ThreadedServer(Starlette(routes=[Route("/", self._hub, methods=["POST"])]))
        self.url = f"{self._server.url}/"

    def __enter__(self) -> LocalHub:
        self._server.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.stop()

    def reset(self) -> None:
        """Forget every request and subscriber, and behave again as a healthy hub."""
        with self._lock:
            self.lease_seconds: int | None = None  # grant this instead of what was asked
            self.answer_status = 202  # anything else: refuse requests with this status
            self.deny_reason: str | None = None  # set: deny every subscription
            self.requests: list[dict[str, str]] = []
            self.verifications: list[Verification] = []
            self.subscribers: dict[tuple[str, str], Subscriber] = {}

    def requests_for(self, mode: str) -> list[dict[str, str]]:
        with self._lock:
            return [request for request in self.requests if request.get("hub.mode") == mode]

    def subscribed(self, topic: str) -> list[Subscriber]:
        with self._lock:
            return [sub for (_, subscribed), sub in self.subscribers.items() if subscribed == topic]

    async def _hub(self, request: Request) -> Response:
        raw = (await request.body()).decode()
        fields = dict(parse_qsl(raw, keep_blank_values=True))
        with self._lock:
            self.requests.append(fields)
        if self.answer_status != 202:  # echoing the request, as careless hubs do
            return Response(f"cannot handle {raw}", status_code=self.answer_status)
        mode, callback, topic = (fields.get(f"hub.{k}", "") for k in ("mode", "callback", "topic"))
        if mode not in ("subscribe", "unsubscribe") or not callback or not topic:
            return Response("hub.mode, hub.callback and hub.topic are required", status_code=400)
        if len(fields.get("hub.secret", "").encode()) >= 200:
            return Response("hub.secret must be shorter than 200 bytes", status_code=400)
        return Response(status_code=202, background=BackgroundTask(self._verify, fields))

    async def _verify(self, fields: dict[str, str]) -> None:
        mode, callback, topic = fields["hub.mode"], fields["hub.callback"], fields["hub.topic"]
        async with httpx.AsyncClient(timeout=10) as client:
            if mode == "subscribe" and self.deny_reason is not None:
                params = {"hub.mode": "denied", "hub.topic": topic, "hub.reason": self.deny_reason}
                response = await client.get(callback, params=params)
                with self._lock:
                    self.verifications.append(
                        Verification("denied", topic, response.status_code, False)
                    )
                return
            challenge = secrets.token_urlsafe(24)
            lease = self.lease_seconds or int(fields.get("hub.lease_seconds") or 86400)
            params = {"hub.mode": mode, "hub.topic": topic, "hub.challenge": challenge}
            if mode == "subscribe":
                params["hub.lease_seconds"] = str(lease)
            response = await client.get(callback, params=params)
        echoed = 200 <= response.status_code < 300 and response.text == challenge
        with self._lock:
            self.verifications.append(Verification(mode, topic, response.status_code, echoed))
            if echoed and mode == "subscribe":
                secret = fields.get("hub.secret") or None
                self.subscribers[callback, topic] = Subscriber(callback, topic, secret, lease)
            elif echoed:
                self.subscribers.pop((callback, topic), None)

    def publish(
        self,
        topic: str,
        body: bytes,
        *,
        method: str = "sha1",
        content_type: str = "application/atom+xml",
    ) -> list[int]:
        """Content distribution: ``body`` to every subscriber of ``topic``, signed; the statuses."""
        statuses = []
        for sub in self.subscribed(topic):
            signature = None
            if sub.secret is not None:
                digest = hmac.new(sub.secret.encode(), body, method).hexdigest()
                signature = f"{method}={digest}"
            statuses.append(self._deliver(sub, body, signature, content_type))
        return statuses

    def publish_forged(self, topic: str, body: bytes, signature: str | None) -> list[int]:
        """As ``publish``, with this ``X-Hub-Signature`` (or none) instead of a true one."""
        return [
            self._deliver(sub, body, signature, "application/atom+xml")
            for sub in self.subscribed(topic)
        ]

    def _deliver(
        self, sub: Subscriber, body: bytes, signature: str | None, content_type: str
    ) -> int:
        headers = {
            "Content-Type": content_type,
            "Link": f'<{self.url}>; rel="hub", <{sub.topic}>; rel="self"',
        }
        if signature is not None:
            headers["X-Hub-Signature"] = signature
        return httpx.post(sub.callback, content=body, headers=headers, timeout=10).status_code


async def eventually(condition: Callable[[], bool], timeout: float = 5.0, what: str = "it") -> None:
    """Wait, without blocking the event loop, until ``condition()`` holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.01)
