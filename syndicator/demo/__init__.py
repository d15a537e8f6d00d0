"""The embedded demo: what ``syndicator run`` does when there is no configuration.

A bundled news feed that gains an article every ~30 s, the three network emulators, and a
SQLite file in ``data/``, all in one process and with no credentials: a newcomer sees the
whole pipeline work before configuring anything.
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from pathlib import Path

from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.routing import Mount

from syndicator.config import Settings, settings_from_mapping
from syndicator.daemon import open_daemon
from syndicator.demo.feed import DemoFeed, bundled_articles
from syndicator.sandbox import DEMO_CREDENTIALS, SandboxCredentials, build_sandbox_app
from syndicator.serving import ServedApp, bind_preferred

DEMO_PORT = 8765
DEMO_DATA_DIR = Path("data")
DEMO_DATABASE = DEMO_DATA_DIR / "demo.db"


def demo_settings(root_url: str = f"http://127.0.0.1:{DEMO_PORT}") -> Settings:
    creds = DEMO_CREDENTIALS
    return settings_from_mapping(
        {
            "data_dir": str(DEMO_DATA_DIR),
            "database": {"url": f"sqlite:///{DEMO_DATABASE}"},
            "daemon": {"dispatch_every": "2s"},
            "sources": [
                {
                    "name": "demo-daily",
                    "feed": f"{root_url}/demo/feed.xml",
                    "every": "10s",
                    "attribution": "Demo Daily",
                    "channels": ["telegram", "x", "facebook"],
                    "backfill": 3,
                }
            ],
            "channels": [
                {
                    "name": "telegram",
                    "type": "telegram",
                    "chat_id": "@demo_daily",
                    "api_base_url": f"{root_url}/telegram",
                },
                {"name": "x", "type": "twitter", "api_base_url": f"{root_url}/x"},
                {
                    "name": "facebook",
                    "type": "facebook",
                    "page_id": creds.facebook_page_id,
                    "api_base_url": f"{root_url}/facebook",
                },
            ],
        },
        "<embedded demo>",
    )


def demo_secrets(creds: SandboxCredentials = DEMO_CREDENTIALS) -> dict[str, dict[str, SecretStr]]:
    return {
        "telegram": {"token": SecretStr(creds.telegram_bot_token)},
        "x": {
            "consumer_key": SecretStr(creds.x_consumer_key),
            "consumer_secret": SecretStr(creds.x_consumer_secret),
            "access_token": SecretStr(creds.x_access_token),
            "access_token_secret": SecretStr(creds.x_access_token_secret),
        },
        "facebook": {"page_token": SecretStr(creds.facebook_page_token)},
    }


def banner(url: str) -> str:
    return f"""
syndicator demo: no configuration found, so the built-in demo runs (no credentials needed).

  News site feed   {url}/demo/feed.xml   (a new article about every 30 s)
  What the networks received (emulators on this machine):
    Telegram       {url}/telegram/__sandbox/posts
    X              {url}/x/__sandbox/posts
    Facebook       {url}/facebook/__sandbox/posts
  Posting log      syndicator log          (database: {DEMO_DATABASE}, new at each start)

  Your own site:   cp config/syndicator.example.toml config/syndicator.toml, then edit it
                   (see docs/configuration.md). Press Ctrl+C to stop.
"""


def reset_database() -> None:
    """Each demo starts from nothing: its feed starts over, so its history must too."""
    for path in DEMO_DATA_DIR.glob(DEMO_DATABASE.name + "*"):
        path.unlink()


async def run_demo(stop: asyncio.Event, *, port: int = DEMO_PORT, feed_every: float = 30.0) -> None:
    reset_database()
    feed = DemoFeed(bundled_articles(), every=feed_every)
    app = Starlette(
        routes=[Mount("/demo", app=feed.app()), Mount("", app=build_sandbox_app(DEMO_CREDENTIALS))]
    )
    server = ServedApp(app, bind_preferred("127.0.0.1", port))
    await server.start()
    try:
        print(banner(server.url), flush=True)
        async with AsyncExitStack() as stack:
            daemon = await open_daemon(stack, demo_settings(server.url), demo_secrets())
            await daemon.run(stop)
    finally:
        await server.stop()
