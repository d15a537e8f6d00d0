"""A fresh sandbox per test, and the real client libraries pointed at it.

One server runs for the whole session (starting and stopping uvicorn costs more than most
tests); each test swaps a newly built sandbox app in behind it, so no state is shared.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import facebook
import pytest
import requests
import telegram
import tweepy
from starlette.types import ASGIApp, Receive, Scope, Send
from telegram.request import HTTPXRequest

from syndicator.channels.http import ApiHostAdapter, api_session
from syndicator.sandbox import DEMO_CREDENTIALS, SandboxControl, build_sandbox_app
from syndicator.serving import ThreadedServer

C = DEMO_CREDENTIALS
X_ROOT = "https://api.twitter.com"
GRAPH_ROOT = "https://graph.facebook.com"


class _Swappable:
    """An ASGI app that forwards to whichever app the current test put in."""

    def __init__(self) -> None:
        self.app: ASGIApp = build_sandbox_app()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


@pytest.fixture(scope="session")
def _served() -> Iterator[tuple[ThreadedServer, _Swappable]]:
    swappable = _Swappable()
    with ThreadedServer(swappable) as server:
        yield server, swappable


@pytest.fixture
def sandbox(_served: tuple[ThreadedServer, _Swappable]) -> ThreadedServer:
    server, swappable = _served
    swappable.app = build_sandbox_app()
    return server


@pytest.fixture
def tg(sandbox: ThreadedServer) -> SandboxControl:
    return SandboxControl(sandbox.url, "telegram")


@pytest.fixture
def x(sandbox: ThreadedServer) -> SandboxControl:
    return SandboxControl(sandbox.url, "x")


@pytest.fixture
def fb(sandbox: ThreadedServer) -> SandboxControl:
    return SandboxControl(sandbox.url, "facebook")


@pytest.fixture
def make_bot(sandbox: ThreadedServer) -> Callable[..., telegram.Bot]:
    def make(token: str = C.telegram_bot_token, read_timeout: float = 5.0) -> telegram.Bot:
        return telegram.Bot(
            token,
            base_url=f"{sandbox.url}/telegram/bot",
            base_file_url=f"{sandbox.url}/telegram/file/bot",
            request=HTTPXRequest(read_timeout=read_timeout),
        )

    return make


@pytest.fixture
def make_x_client(sandbox: ThreadedServer) -> Callable[..., tweepy.Client]:
    def make(read_timeout: float = 5.0, **overrides: Any) -> tweepy.Client:
        credentials = {
            "consumer_key": C.x_consumer_key,
            "consumer_secret": C.x_consumer_secret,
            "access_token": C.x_access_token,
            "access_token_secret": C.x_access_token_secret,
            **overrides,
        }
        client = tweepy.Client(**credentials)
        session = requests.Session()
        adapter = ApiHostAdapter(X_ROOT, f"{sandbox.url}/x", timeout=(5.0, read_timeout))
        session.mount(X_ROOT + "/", adapter)
        client.session = session
        return client

    return make


@pytest.fixture
def make_graph(sandbox: ThreadedServer) -> Callable[..., facebook.GraphAPI]:
    def make(token: str = C.facebook_page_token, timeout: float | None = None) -> facebook.GraphAPI:
        graph = facebook.GraphAPI(
            access_token=token,
            version="3.1",
            timeout=timeout,
            session=api_session(GRAPH_ROOT, f"{sandbox.url}/facebook"),
        )
        graph.version = "v26.0"
        return graph

    return make
