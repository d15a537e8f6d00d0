"""Test builders: a news site whose feed a test can change, the emulators, the CLI.

Behavioural fakes with a small builder API, used across the suite instead of mocks: the code
under test talks to them over real HTTP on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import struct
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from syndicator.sandbox import DEMO_CREDENTIALS, build_sandbox_app
from syndicator.serving import ThreadedServer

ROOT = Path(__file__).resolve().parent.parent
NETWORKS = ("telegram", "x", "facebook")


@dataclass
class Story:
    slug: str
    title: str
    summary: str = "A short summary of the story."
    published: datetime = field(default_factory=lambda: datetime.now(UTC))
    categories: tuple[str, ...] = ()
    image: str | None = None  # a path on the site, e.g. "/images/tram.png"


class NewsSite:
    """A news site with an RSS feed at ``/feed.xml`` that a test adds stories to.

    It answers conditional GETs (ETag), and a test can make it fail (``fail_with``) or slow
    (``delay``); it counts requests and the most it served at once.
    """

    def __init__(self, host: str = "https://www.eurasia-news.com") -> None:
        self.host = host
        self.stories: list[Story] = []
        self.requests = 0
        self.conditional_hits = 0
        self.busiest = 0
        self.delay = 0.0
        self.fail_with: tuple[int, dict[str, str]] | None = None
        self.hub: str | None = None  # a WebSub hub the feed advertises
        self.channel_title = "Eurasia News"  # written as it is: "&" makes the feed malformed
        self._serving = 0
        self._lock = threading.Lock()
        self.images: dict[str, tuple[bytes, str]] = {}  # path -> (body, content type)
        self.server = ThreadedServer(
            Starlette(
                routes=[
                    Route("/feed.xml", self._feed),
                    Route("/{name}.xml", self._feed),
                    Route("/images/{name}", self._image),
                ]
            )
        )

    def url_of(self, story: Story) -> str:
        return f"{self.host}/news/{story.slug}"

    def add(self, title: str, **fields: Any) -> Story:
        with self._lock:
            slug = f"{len(self.stories) + 1:04d}-story"
            when = datetime(2026, 11, 28, 8, 0, tzinfo=UTC) + timedelta(minutes=len(self.stories))
            fields.setdefault("published", when)
            story = Story(slug=slug, title=title, **fields)
            self.stories.append(story)
        return story

    def rss(self) -> str:
        items = "".join(
            f"<item><title>{escape(s.title)}</title><link>{self.url_of(s)}</link>"
            f"<guid>{self.url_of(s)}</guid><description>{escape(s.summary)}</description>"
            + "".join(f"<category>{escape(c)}</category>" for c in s.categories)
            + (
                f'<enclosure url="{self.server.url}{s.image}" type="image/png" length="0"/>'
                if s.image
                else ""
            )
            + f"<pubDate>{format_datetime(s.published)}</pubDate></item>"
            for s in reversed(self.stories)
        )
        links = ""
        if self.hub:
            links = f'<atom:link rel="hub" href="{self.hub}"/>'
            links += f'<atom:link rel="self" href="{self.feed_url}"/>'

        return (
            '<?xml version="1.0" encoding="utf-8"?>'
            '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel>'
            f"<title>{self.channel_title}</title><link>{self.host}/</link>{links}{items}"
            "</channel></rss>"
        )

    async def _feed(self, request: Request) -> Response:
        with self._lock:
            self.requests += 1
            self._serving += 1
            self.busiest = max(self.busiest, self._serving)
            body, failure = self.rss(), self.fail_with
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            if failure is not None:
                status, headers = failure
                return Response("unavailable", status_code=status, headers=headers)
            etag = '"' + hashlib.sha256(body.encode()).hexdigest()[:16] + '"'
            if request.headers.get("if-none-match") == etag:
                with self._lock:
                    self.conditional_hits += 1
                return Response(status_code=304, headers={"ETag": etag})
            return Response(body, media_type="application/rss+xml", headers={"ETag": etag})
        finally:
            with self._lock:
                self._serving -= 1

    async def _image(self, request: Request) -> Response:
        found = self.images.get(request.url.path)
        if found is None:
            return Response("no such image", status_code=404)
        return Response(found[0], media_type=found[1])

    @property
    def feed_url(self) -> str:
        return f"{self.server.url}/feed.xml"

    def __enter__(self) -> NewsSite:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()


def png(width: int = 2, height: int = 2) -> bytes:
    """A real, tiny PNG image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = b"".join(b"\x00" + b"\xcc\x22\x22" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(pixels))
        + chunk(b"IEND", b"")
    )


class Sandbox:
    """The three emulators in a background server, and what they received."""

    def __init__(self) -> None:
        self.server = ThreadedServer(build_sandbox_app(DEMO_CREDENTIALS))

    @property
    def url(self) -> str:
        return self.server.url

    def posts(self, network: str) -> list[dict[str, Any]]:
        response = httpx.get(f"{self.url}/{network}/__sandbox/posts", timeout=10)
        response.raise_for_status()
        posts: list[dict[str, Any]] = response.json()["posts"]
        return posts

    def inject(self, network: str, fault: dict[str, Any]) -> None:
        response = httpx.post(f"{self.url}/{network}/__sandbox/faults", json=fault, timeout=10)
        response.raise_for_status()

    def reset(self, network: str) -> None:
        """Forget what the emulator received, and any fault still queued."""
        for control in ("posts", "faults"):
            httpx.delete(f"{self.url}/{network}/__sandbox/{control}", timeout=10).raise_for_status()

    def __enter__(self) -> Sandbox:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()


def sandbox_env(**overrides: str) -> dict[str, str]:
    """The environment a configured syndicator reads its (sandbox) secrets from."""
    creds = DEMO_CREDENTIALS
    env = {
        "TELEGRAM_BOT_TOKEN": creds.telegram_bot_token,
        "X_CONSUMER_KEY": creds.x_consumer_key,
        "X_CONSUMER_SECRET": creds.x_consumer_secret,
        "X_ACCESS_TOKEN": creds.x_access_token,
        "X_ACCESS_TOKEN_SECRET": creds.x_access_token_secret,
        "FACEBOOK_PAGE_TOKEN": creds.facebook_page_token,
    }
    env.update(overrides)
    return env


def write_config(
    directory: Path,
    *,
    feed: str,
    sandbox: str,
    attribution: str = "EurasiaNews",
    backfill: int = 10,
    every: str = "1s",
    extra: str = "",
    source_options: str = "",
    more_sources: str = "",
    pacing: str = 'min_spacing = "0s"',
    channel_options: dict[str, str] | None = None,
    database_url: str | None = None,
    daemon_options: str = "",
    polling_options: str = "",
) -> Path:
    """A configuration for the three emulated channels. ``pacing`` goes into every channel
    (by default no spacing, so that tests run fast), ``channel_options`` into the named one;
    ``daemon_options`` and ``polling_options`` into those sections. The database is SQLite
    in ``directory`` unless ``database_url`` names another.
    """
    database = f'[database]\nurl = "{database_url}"\n' if database_url else ""
    options = {}
    for name in NETWORKS:
        own = (channel_options or {}).get(name, "")
        options[name] = own if "min_spacing" in own else f"{pacing}\n{own}"
    path = directory / "syndicator.toml"
    path.write_text(
        f"""
data_dir = "{directory / "data"}"
templates_dir = "{ROOT / "templates"}"
{extra}
{database}
[daemon]
dispatch_every = "1s"
{daemon_options}

[polling]
{polling_options}

[[sources]]
name = "eurasia-news"
feed = "{feed}"
every = "{every}"
attribution = "{attribution}"
channels = ["telegram", "x", "facebook"]
backfill = {backfill}
{source_options}
{more_sources}

[[channels]]
name = "telegram"
type = "telegram"
chat_id = "@eurasianews"
api_base_url = "{sandbox}/telegram"
{options["telegram"]}

[[channels]]
name = "x"
type = "twitter"
api_base_url = "{sandbox}/x"
{options["x"]}

[[channels]]
name = "facebook"
type = "facebook"
page_id = "{DEMO_CREDENTIALS.facebook_page_id}"
api_base_url = "{sandbox}/facebook"
{options["facebook"]}
""",
        encoding="utf-8",
    )
    return path


def cli_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNDICATOR_")}
    env.update(extra or {})
    env["PYTHONUNBUFFERED"] = "1"
    return env


def syndicator(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the ``syndicator`` command as a user would, and wait for it."""
    return subprocess.run(
        [sys.executable, "-m", "syndicator", *args],
        env=cli_env(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@dataclass
class Running:
    """A ``syndicator`` process in the background, its output going to a file."""

    process: subprocess.Popen[str]
    output_file: Path

    def output(self) -> str:
        return self.output_file.read_text(encoding="utf-8", errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None


@contextmanager
def daemon(*args: str, env: dict[str, str] | None = None, cwd: Path) -> Iterator[Running]:
    """Start ``syndicator`` in the background; killed at exit if it is still running."""
    output_file = cwd / "daemon-output.txt"
    with output_file.open("w", encoding="utf-8") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "syndicator", *args],
            env=cli_env(env),
            cwd=cwd,
            stdout=sink,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:
        yield Running(process, output_file)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


def wait_for(condition: Callable[[], bool], timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
